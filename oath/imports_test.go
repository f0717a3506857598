package oath_test

import (
	"go/build"
	"strings"
	"testing"
)

// TestPackage_Imports enforces the package contract: oath imports only the
// standard library (DESIGN.md allows pquerna/otp; we do not need it).
func TestPackage_Imports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatalf("read package: %v", err)
	}
	for _, imp := range pkg.Imports {
		if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") {
			t.Errorf("oath imports %q: only the standard library is allowed", imp)
		}
		if imp == "testing" {
			t.Errorf("a non-test file of oath imports testing")
		}
	}
}

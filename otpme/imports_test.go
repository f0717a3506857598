package otpme_test

import (
	"go/build"
	"strings"
	"testing"
)

// TestPackage_Imports enforces the package contract (doc.go): otpme
// imports the standard library and, of this module, only oath and schema;
// storetest adds testing, testify and otpme.
func TestPackage_Imports(t *testing.T) {
	const module = "github.com/ldapotp/ldapotp/"
	tests := []struct {
		dir     string
		allowed []string
	}{
		{".", []string{module + "oath", module + "schema"}},
		{"storetest", []string{"testing", "github.com/stretchr/testify/assert", "github.com/stretchr/testify/require", module + "otpme"}},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.dir, ".", "otpme"), func(t *testing.T) {
			pkg, err := build.ImportDir(tt.dir, 0)
			if err != nil {
				t.Fatalf("read package: %v", err)
			}
			for _, imp := range pkg.Imports {
				std := !strings.Contains(strings.Split(imp, "/")[0], ".") && imp != "testing"
				if !std && !contains(tt.allowed, imp) {
					t.Errorf("%s imports %q", tt.dir, imp)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

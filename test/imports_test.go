package test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ldapotp/ldapotp/test/slapdtest"
)

const module = "github.com/ldapotp/ldapotp/"

// importRules: for each package directory, the imports its non-test files
// may use beyond the standard library (prefix match), and why.
var importRules = map[string][]string{
	"oath":   {},                                   // pure OTP math: std lib only
	"schema": {module + "oath"},                    // names and decoding
	"otpme":  {module + "oath", module + "schema"}, // policy engine, no I/O libraries
	"proxy": {module + "oath", module + "schema", module + "otpme",
		"github.com/go-asn1-ber/asn1-ber", "github.com/go-ldap/ldap/v3",
		"golang.org/x/text/unicode/norm"}, // DN keys of the user index (dnkey.go)
}

// relayFiles make up the wire-level relay, which knows nothing about OTP.
var relayFiles = []string{"proxy/wire.go", "proxy/conn.go", "proxy/conn_tls.go", "proxy/upstream.go", "proxy/dial.go"}

// testingAllowed are the non-test packages that are test helpers.
var testingAllowed = []string{"test/slapdtest", "otpme/storetest", "otpme/guidetest"}

// TestImports enforces the import graph of DESIGN.md and STYLE.md.
func TestImports(t *testing.T) {
	root := slapdtest.ModuleRoot(t)
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		imports := fileImports(t, path)
		files++
		checkFile(t, rel, imports)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d non-test files checked", files)
}

func fileImports(t *testing.T, path string) []string {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var out []string
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		out = append(out, p)
	}
	return out
}

func checkFile(t *testing.T, rel string, imports []string) {
	dir := filepath.ToSlash(filepath.Dir(rel))
	for _, imp := range imports {
		if strings.HasPrefix(imp, module+"cmd") {
			t.Errorf("%s imports %s: nothing imports cmd", rel, imp)
		}
		if imp == "testing" && !hasPrefixAny(dir, testingAllowed) {
			t.Errorf("%s imports testing outside a test helper package", rel)
		}
		if allowed, ok := importRules[dir]; ok && strings.Contains(strings.Split(imp, "/")[0], ".") && !hasPrefixAny(imp, allowed) {
			t.Errorf("%s imports %s, not allowed in %s (allowed: %v)", rel, imp, dir, allowed)
		}
		for _, f := range relayFiles {
			if rel == f && (imp == module+"oath" || imp == module+"schema" || imp == module+"otpme") {
				t.Errorf("%s is part of the relay and imports %s: the relay knows nothing about OTP", rel, imp)
			}
		}
	}
}

func hasPrefixAny(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

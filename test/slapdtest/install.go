package slapdtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// installHint is how to get what this package needs on Debian and Ubuntu.
const installHint = "apt-get install -y slapd ldap-utils (or, as root: make deps)"

// install is what Start needs from the OpenLDAP installed on this machine.
type install struct {
	slapd     string // the slapd binary
	moduleDir string // where back_mdb.so and otp.so live; "" if none was found
	schemaDir string // where core.schema and friends live
}

// Places distributions put slapd, its modules and its schema files; the
// first that exists wins (Debian/Ubuntu first).
var (
	slapdPaths     = []string{"/usr/sbin/slapd", "/usr/local/sbin/slapd", "/usr/libexec/slapd", "/usr/local/libexec/slapd"}
	moduleDirPaths = []string{"/usr/lib/ldap", "/usr/lib64/openldap", "/usr/lib/openldap", "/usr/libexec/openldap", "/usr/local/libexec/openldap"}
	schemaDirPaths = []string{"/etc/ldap/schema", "/etc/openldap/schema", "/usr/local/etc/openldap/schema"}
)

var (
	findOnce sync.Once
	found    install
	errFind  error
)

// findInstall locates slapd, its module directory and its schema directory
// once per test binary.
func findInstall() (install, error) {
	findOnce.Do(func() { found, errFind = lookInstall() })
	return found, errFind
}

func lookInstall() (install, error) {
	var in install
	if p, err := exec.LookPath("slapd"); err == nil {
		in.slapd = p
	} else if in.slapd = firstExisting(slapdPaths, ""); in.slapd == "" {
		return in, errors.New("slapd is not installed (not in PATH nor in /usr/sbin)")
	}
	if in.schemaDir = firstExisting(schemaDirPaths, "core.schema"); in.schemaDir == "" {
		return in, fmt.Errorf("slapd is installed (%s) but no schema directory with core.schema was found in %v", in.slapd, schemaDirPaths)
	}
	in.moduleDir = firstExisting(moduleDirPaths, "back_mdb.so")
	if in.moduleDir == "" {
		in.moduleDir = firstExisting(moduleDirPaths, "otp.so")
	}
	return in, nil
}

// firstExisting returns the first directory (or file, when name is "") of
// paths that exists and, with name set, contains name.
func firstExisting(paths []string, name string) string {
	for _, p := range paths {
		if _, err := os.Stat(filepath.Join(p, name)); err == nil {
			return p
		}
	}
	return ""
}

// tool returns the path of an OpenLDAP tool (slaptest, slapmodify, ...)
// installed beside slapd, or "" if there is none.
func (in install) tool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return firstExisting([]string{filepath.Join(filepath.Dir(in.slapd), name)}, "")
}

// Require skips the test when slapd is not installed, saying why and how
// to install it. Under CI (CI=true) it fails the test instead: CI must
// never skip the slapd suites silently. Start calls it; call it yourself
// before expensive set-up that is useless without slapd.
func Require(t testing.TB) {
	t.Helper()
	requireKind(t, Plain)
}

// requireKind is Require for one kind of server: Oracle also needs the
// slapo-otp module, otp.so.
func requireKind(t testing.TB, kind Kind) install {
	t.Helper()
	in, err := findInstall()
	if err == nil && kind == Oracle && (in.moduleDir == "" || !exists(filepath.Join(in.moduleDir, "otp.so"))) {
		err = fmt.Errorf("the slapo-otp module otp.so was not found in %v (Debian ships it in the slapd package)", moduleDirPaths)
	}
	if err != nil {
		missing(t, err)
	}
	return in
}

func missing(t testing.TB, reason error) {
	t.Helper()
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("slapd missing under CI: %v; the CI set-up must install it: %s", reason, installHint)
		return
	}
	t.Skipf("skipping: needs a real slapd: %v; install it with: %s", reason, installHint)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// ModuleRoot returns the directory holding go.mod, found by walking up from
// the test's working directory (the package directory under go test).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("module root: %v", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if exists(filepath.Join(d, "go.mod")) {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("module root: no go.mod in %s or any parent", dir)
		}
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another
// process may take it before the caller listens on it; Start retries with a
// new port when that happens.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	return port
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("listen on 127.0.0.1:0: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("close probe listener: %w", err)
	}
	return port, nil
}

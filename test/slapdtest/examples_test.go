package slapdtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestExamples_ACLLDIF checks that examples/slapd/acl.ldif holds the rules
// of acl.conf: slapd's own tools turn acl.conf (via slapd.conf) and
// acl.ldif (applied with slapmodify to a cn=config without rules, then
// loaded again, which parses every rule) into the same olcAccess values.
func TestExamples_ACLLDIF(t *testing.T) {
	t.Parallel()
	in := requireKind(t, Plain)
	root := ModuleRoot(t)
	dir := t.TempDir()

	want := olcAccess(t, toConfigDir(t, in, root, filepath.Join(dir, "from-conf"), filepath.Join(root, "examples", "slapd", "acl.conf")))

	empty := filepath.Join(dir, "empty.conf")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := toConfigDir(t, in, root, filepath.Join(dir, "from-ldif"), empty)
	runTool(t, in, "slapmodify", "-F", cfg, "-n0", "-l", filepath.Join(root, "examples", "slapd", "acl.ldif"))
	runTool(t, in, "slaptest", "-F", cfg, "-n0", "-u")
	got := olcAccess(t, cfg)

	if !slices.Equal(got, want) {
		t.Errorf("acl.ldif and acl.conf differ.\nacl.ldif:\n  %s\nacl.conf:\n  %s",
			strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestExamples_SlapdConf checks examples/slapd/slapd.conf with slaptest,
// its paths pointed at this machine's and this repository's files.
func TestExamples_SlapdConf(t *testing.T) {
	t.Parallel()
	in := requireKind(t, Plain)
	root := ModuleRoot(t)
	dir := t.TempDir()
	text, err := os.ReadFile(filepath.Join(root, "examples", "slapd", "slapd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(text)
	for _, r := range [][2]string{ // most specific first
		{"/etc/ldap/schema/oath.schema", filepath.Join(root, "schema", "oath.schema")},
		{"/etc/ldap/schema/otpme.schema", filepath.Join(root, "schema", "otpme.schema")},
		{"/etc/ldap/ldapotp-acl.conf", filepath.Join(root, "examples", "slapd", "acl.conf")},
		{"/etc/ldap/schema", in.schemaDir},
		{"/usr/lib/ldap", in.moduleDir},
		{"/var/run/slapd", dir},
		{"/var/lib/ldap", dir},
	} {
		if !strings.Contains(conf, r[0]) {
			t.Fatalf("examples/slapd/slapd.conf no longer mentions %s: update this test", r[0])
		}
		conf = strings.ReplaceAll(conf, r[0], r[1])
	}
	path := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	runTool(t, in, "slaptest", "-f", path, "-u")
}

// toConfigDir converts the harness's slapd.conf, with acl as its access
// rules, into a cn=config directory at dir and returns its path.
func toConfigDir(t *testing.T, in install, root, dir, acl string) string {
	t.Helper()
	c := config{
		Test: t.Name(), ModuleDir: in.moduleDir, MDBModule: exists(filepath.Join(in.moduleDir, "back_mdb.so")),
		SchemaDir: in.schemaDir, OATHSchema: filepath.Join(root, "schema", "oath.schema"),
		OTPmeSchema: filepath.Join(root, "schema", "otpme.schema"),
		Dir:         dir, BaseDN: baseDN, RootDN: rootDN, RootPW: SSHA("x"), ACL: acl,
	}
	text, err := c.render()
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "slapd.d")
	for _, d := range []string{cfg, filepath.Join(dir, "db")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	runTool(t, in, "slaptest", "-f", conf, "-F", cfg, "-n0")
	return cfg
}

var ruleIndex = regexp.MustCompile(`^\{\d+\}`)

// olcAccess returns the access rules of the mdb database in a cn=config
// directory, normalised: no {n} prefix, single spaces, and dn.exact
// written as its synonym dn.base (as slapd writes it).
func olcAccess(t *testing.T, cfg string) []string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(cfg, "cn=config", "olcDatabase={1}mdb.ldif"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := parseLDIF(string(text))
	if err != nil || len(entries) != 1 {
		t.Fatalf("parse olcDatabase={1}mdb.ldif: %v (%d entries)", err, len(entries))
	}
	var rules []string
	for _, a := range entries[0].Attrs {
		if !strings.EqualFold(a.Name, "olcAccess") {
			continue
		}
		for _, v := range a.Values {
			v = strings.Join(strings.Fields(ruleIndex.ReplaceAllString(v, "")), " ")
			rules = append(rules, strings.ReplaceAll(v, "dn.exact=", "dn.base="))
		}
	}
	if len(rules) == 0 {
		t.Fatalf("%s: no olcAccess rules", cfg)
	}
	return rules
}

// runTool runs an OpenLDAP tool installed beside slapd.
func runTool(t *testing.T, in install, name string, args ...string) {
	t.Helper()
	path := in.tool(name)
	if path == "" {
		missing(t, &exec.Error{Name: name, Err: exec.ErrNotFound})
	}
	if out, err := exec.Command(path, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

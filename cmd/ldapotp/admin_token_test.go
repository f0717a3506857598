package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// adminEnv is a real slapd and an admin config file for it.
type adminEnv struct {
	srv *slapdtest.Server
	cfg string
}

func newAdminEnv(t *testing.T) *adminEnv {
	t.Helper()
	srv := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true, LogLevel: "0"})
	pw := writeFile(t, "admin.pw", srv.RootPassword+"\n")
	cfg := writeFile(t, "ldapotp.yaml", "upstream: "+srv.URL+"\nadmin_dn: "+srv.RootDN+
		"\nadmin_password_file: "+pw+"\notpme_base: ou=otpme,"+srv.BaseDN+"\n")
	return &adminEnv{srv: srv, cfg: cfg}
}

// run runs an admin command line with stdin; it returns the exit code,
// stdout and stderr.
func (e *adminEnv) run(stdin string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := runAdmin(append([]string{"-c", e.cfg}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// ok runs an admin command line and requires it to succeed.
func (e *adminEnv) ok(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errOut := e.run(stdin, args...)
	require.Equal(t, exitOK, code, "ldapotp %s: %s", strings.Join(args, " "), errOut)
	return out
}

// attr reads attr of the OTPme object of class called name, as the rootdn.
func (e *adminEnv) attr(t *testing.T, class, name, attr string) string {
	t.Helper()
	req := ldap.NewSearchRequest("ou=otpme,"+e.srv.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		fmt.Sprintf("(&(objectClass=%s)(otpmeName=%s))", class, ldap.EscapeFilter(name)), []string{attr}, nil)
	res, err := e.srv.Admin(t).Search(req)
	require.NoError(t, err)
	require.Len(t, res.Entries, 1)
	return res.Entries[0].GetAttributeValue(attr)
}

// TestAdmin_TokenPassword: "token password USER/NAME -" takes the new
// password from stdin, so that it is not in the process list.
func TestAdmin_TokenPassword(t *testing.T) {
	e := newAdminEnv(t)
	e.ok(t, "", "user", "add", "alice")
	e.ok(t, "", "token", "add", "alice/laptop", "password")

	out := e.ok(t, "new-device-password-from-stdin\n", "token", "password", "alice/laptop", "-")
	assert.NotContains(t, out, "new-device-password-from-stdin", "a given password is not printed")
	hash := e.attr(t, "otpmeToken", "laptop", "otpmePasswordHash")
	assert.True(t, otpme.CheckPassword(hash, otpme.Secret("new-device-password-from-stdin")), "the password read from stdin is set")
	assert.False(t, otpme.CheckPassword(hash, otpme.Secret("-")))

	code, _, errOut := e.run("\n", "token", "password", "alice/laptop", "-")
	assert.Equal(t, exitUsage, code, "an empty password is refused")
	assert.Contains(t, errOut, "empty")
	assert.Equal(t, hash, e.attr(t, "otpmeToken", "laptop", "otpmePasswordHash"), "and changes nothing")
}

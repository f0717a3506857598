package test

import (
	"crypto/rand"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// helpVerb matches the verb lines of `ldapotp --help`.
var helpVerb = regexp.MustCompile(`(?m)^    ldapotp (user|token|group|client|session|auth|tool) ([a-z_]+)`)

// TestCLI_EveryVerb runs every admin verb `ldapotp --help` lists at least
// once against a real slapd, in an order that makes each one meaningful,
// checks a few effects in the show tables, and fails if help lists a verb
// this tour does not run (so a new verb needs a test).
func TestCLI_EveryVerb(t *testing.T) {
	s := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	c := newAdminCLI(t, s, key)
	help, _, _ := c.run("--help")
	listed := map[string]bool{}
	for _, m := range helpVerb.FindAllStringSubmatch(help, -1) {
		listed[m[1]+" "+m[2]] = true
	}
	ran := map[string]bool{}
	do := func(args ...string) string {
		t.Helper()
		ran[args[0]+" "+strings.ReplaceAll(args[1], "-", "_")] = true
		return c.ok(append(args, "-y")...)
	}
	do("user", "add", "alice")
	do("user", "add", "bob")
	do("user", "rename", "bob", "robert")
	do("user", "disable", "robert")
	do("user", "enable", "robert")
	do("user", "enable_sessions", "alice")
	do("user", "disable_sessions", "alice")
	do("user", "max_fail", "alice", "7")
	do("user", "description", "alice", "verb tour")
	do("user", "bind_dn", "robert", "uid=robert,ou=people,dc=example,dc=com")
	do("user", "unlock", "alice")
	assert.Contains(t, do("user", "show", "alice"), "max_fail:     7")
	do("token", "add", "alice/laptop", "password")
	do("token", "add", "alice/phone", "hotp", "--look-ahead", "3")
	do("token", "rename", "alice/laptop", "notebook")
	do("token", "disable", "alice/notebook")
	do("token", "enable", "alice/notebook")
	do("token", "password", "alice/notebook", "a-new-device-password")
	registerSecret("a-new-device-password")
	do("token", "description", "alice/notebook", "the laptop")
	do("token", "gen", "alice/phone")
	do("token", "import", "alice/app", "otpauth://totp/x:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=6&period=30")
	do("token", "import", "alice/hw", "otpauth://hotp/x:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=6&counter=0")
	do("token", "resync", "alice/hw", "254676", "287922") // RFC 4226 codes of counters 5 and 6
	do("group", "add", "webmail")
	do("group", "add", "imap")
	do("group", "add", "spare")
	do("group", "rename", "spare", "extra")
	do("group", "add_child_group", "webmail", "imap")
	do("group", "remove_child_group", "webmail", "imap")
	do("group", "add_child_session", "webmail", "imap")
	do("group", "remove_child_session", "webmail", "imap")
	do("group", "enable_sessions", "webmail")
	do("group", "disable_sessions", "imap")
	do("group", "enable_session_master", "webmail")
	do("group", "disable_session_master", "webmail")
	do("group", "max_login", "webmail", "3")
	do("group", "max_fail", "webmail", "4")
	do("group", "timeout", "webmail", "10")
	do("group", "unused_timeout", "webmail", "2")
	do("group", "disable", "extra")
	do("group", "enable", "extra")
	do("group", "description", "webmail", "the webmail")
	assert.Contains(t, do("group", "show"), "webmail")
	do("token", "add_group", "alice/notebook", "webmail")
	do("token", "remove_group", "alice/notebook", "webmail")
	do("token", "add_group", "alice/notebook", "extra")
	assert.Contains(t, do("token", "show", "alice"), "notebook")
	do("group", "del", "extra")
	do("client", "add", "roundcube")
	do("client", "add", "spare")
	do("client", "rename", "spare", "other")
	do("client", "access_group", "roundcube", "webmail")
	do("client", "add_address", "roundcube", "192.0.2.0/24")
	do("client", "del_address", "roundcube", "192.0.2.0/24")
	do("client", "secret", "roundcube", "a-client-secret-of-some-length")
	registerSecret("a-client-secret-of-some-length")
	do("client", "enable_tp", "roundcube")
	do("client", "disable_tp", "roundcube")
	do("client", "disable", "other")
	do("client", "enable", "other")
	do("client", "description", "roundcube", "webmail front end")
	assert.True(t, hasRow(do("client", "show"), "roundcube", "Enabled", "Disabled", "webmail", "webmail", "front", "end"),
		"client table:\n%s", do("client", "show"))
	do("client", "del", "other")
	do("token", "add", "alice/m", "motp")
	do("token", "add_group", "alice/m", "webmail")
	lines := strings.Split(strings.TrimSpace(do("token", "gen", "alice/m")), "\n")
	code := strings.TrimSpace(lines[len(lines)-1])
	assert.Contains(t, c.ok("auth", "verify", "alice", code, "roundcube"), "Accept")
	ran["auth verify"] = true
	assert.Contains(t, do("session", "show"), "alice")
	do("session", "del", "--user", "alice")
	do("tool", "gen_logout", "some-session-password")
	do("tool", "gen_client_tp", "roundcube", "123456")
	_, _, exit := c.run("auth", "verify", "alice", "a-new-device-password")
	assert.Equal(t, 1, exit, "Reject: no client, no access group")
	do("token", "del", "alice/app")
	do("user", "del", "robert")

	for v := range listed {
		assert.True(t, ran[v], "`ldapotp --help` lists %q, which this tour does not run", v)
	}
	assert.GreaterOrEqual(t, len(listed), 50, "verbs found in --help")
	t.Logf("%d verbs listed in --help, all run", len(listed))
}

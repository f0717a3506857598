package main

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/oath"
	"github.com/ldapotp/ldapotp/otpme"
)

func TestObject_FindVerb(t *testing.T) {
	tests := []struct {
		object, spelling, want string
	}{
		{"user", "enable_sessions", "enable_sessions"},
		{"user", "enable-sessions", "enable_sessions"},
		{"group", "add-child-session", "add_child_session"},
		{"group", "remove_child", "remove_child_group"},
		{"client", "add-address", "add_address"},
		{"client", "remove_address", "del_address"},
		{"tool", "gen-client-tp", "gen_client_tp"},
		{"user", "frobnicate", ""},
	}
	for _, tt := range tests {
		t.Run(tt.object+"-"+tt.spelling, func(t *testing.T) {
			o, ok := findObject(tt.object)
			require.True(t, ok)
			v, ok := o.findVerb(tt.spelling)
			assert.Equal(t, tt.want != "", ok)
			assert.Equal(t, tt.want, v.name)
		})
	}
}

func TestAdmin_ParseVerb(t *testing.T) {
	o, _ := findObject("token")
	add, _ := o.findVerb("add")
	a := &admin{}
	pos, err := a.parseVerb(add, []string{"alice/phone", "--digits", "8", "totp", "--upstream", "ldap://x", "-y", "--period=60"})
	require.NoError(t, err)
	assert.Equal(t, []string{"alice/phone", "totp"}, pos)
	assert.Equal(t, 8, a.o.digits)
	assert.Equal(t, int64(60), a.o.period)
	assert.Equal(t, "ldap://x", a.g.cfg.Upstream)
	assert.True(t, a.g.yes)

	a = &admin{}
	pos, err = a.parseVerb(add, []string{"alice/x", "--", "-odd"})
	require.NoError(t, err)
	assert.Equal(t, []string{"alice/x", "-odd"}, pos)

	for name, args := range map[string][]string{
		"too-few":      {"alice/phone"},
		"too-many":     {"a/b", "hotp", "extra"},
		"unknown-flag": {"a/b", "hotp", "--frobnicate"},
		"flag-value":   {"a/b", "hotp", "--digits", "six"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := (&admin{}).parseVerb(add, args)
			var ue usageError
			assert.True(t, errors.As(err, &ue), "%v", err)
		})
	}
}

// TestAdmin_FlagsBeforeVerbSurvive: global flags before the object and
// -d between object and verb keep their values through the verb's parse.
func TestAdmin_FlagsBeforeVerbSurvive(t *testing.T) {
	a := &admin{ctx: context.Background(), out: &bytes.Buffer{}, errw: &bytes.Buffer{}}
	_, err := a.dispatch([]string{"--upstream", "ldap://127.0.0.1:1", "--otpme-base", "ou=otpme,dc=x", "auth", "-d", "verify"})
	var ue usageError
	require.True(t, errors.As(err, &ue), "%v", err)
	assert.Contains(t, err.Error(), "usage: ldapotp auth verify")
	assert.True(t, a.o.debug)
	assert.Equal(t, "ldap://127.0.0.1:1", a.g.cfg.Upstream)
	assert.Equal(t, "ou=otpme,dc=x", a.g.cfg.OTPmeBase)
}

func TestRun_AdminExitCodes(t *testing.T) {
	t.Setenv("LDAPOTP_CONFIG", "")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown-verb", []string{"user", "frobnicate"}, `unknown verb "frobnicate"`},
		{"no-verb", []string{"group"}, "no verb given"},
		{"missing-argument", []string{"user", "add"}, "usage: ldapotp user add NAME"},
		{"no-config", []string{"user", "add", "alice"}, "upstream: not set"},
		{"bad-token-name", []string{"token", "add", "alice", "hotp", "--upstream", "ldap://x"}, `token "alice": want USER/NAME`},
		{"global-flags-first", []string{"--json", "frob"}, `unknown object "frob"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCLI(tt.args...)
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, errOut, tt.want)
		})
	}
}

// TestRun_HelpListsEveryVerb: "ldapotp --help" lists every verb of every
// object.
func TestRun_HelpListsEveryVerb(t *testing.T) {
	code, out, _ := runCLI("--help")
	require.Equal(t, exitOK, code)
	for _, o := range objects() {
		for _, v := range o.verbs {
			assert.Contains(t, out, "ldapotp "+o.name+" "+v.name+" ")
		}
	}
	assert.Contains(t, out, "--admin-password-file")
}

func TestAdminConfig_Load(t *testing.T) {
	pw := writeFile(t, "pw", "x\n")
	file := writeFile(t, "ldapotp.yaml", "listen: [127.0.0.1:1389]\nupstream: ldap://file:389\nservice_dn: cn=svc\n"+
		"otpme_base: ou=otpme,dc=example,dc=com\nadmin_dn: cn=admin,dc=example,dc=com\nadmin_password_file: "+pw+
		"\npeople_base: ou=staff,dc=example,dc=com\nmax_pending: 10\n")
	g := globalFlags{file: file}
	g.cfg.Upstream = "ldap://flag:389"
	cfg, err := g.load()
	require.NoError(t, err)
	require.NoError(t, cfg.validate())
	assert.Equal(t, "ldap://flag:389", cfg.Upstream, "flags override the file")
	assert.Equal(t, "cn=admin,dc=example,dc=com", cfg.AdminDN)
	assert.Equal(t, "memory", cfg.Store)
	assert.Equal(t, "ou=staff,dc=example,dc=com", cfg.base(cfg.PeopleBase, "people"))
	assert.Equal(t, "ou=tokens,dc=example,dc=com", cfg.base(cfg.TokensBase, "tokens"))
	assert.Equal(t, "ou=params,dc=example,dc=com", cfg.base(cfg.ParamsBase, "params"))

	err = (&adminConfig{Store: "disk"}).validate()
	for _, want := range []string{"upstream: not set", "admin_dn: not set", "admin_password_file: not set",
		"otpme_base: not set", `store: "disk"`} {
		assert.ErrorContains(t, err, want)
	}
	err = (&adminConfig{AdminKeys: AdminKeys{AdminDN: "d", AdminPasswordFile: "f"}, Upstream: "u", OTPmeBase: "b", Store: "directory"}).validate()
	assert.ErrorContains(t, err, "otpme_key_file")

	// serve reads the same file: the admin keys are accepted there.
	code, out, errOut := runCLI("serve", "-c", file, "--service-password-file", pw, "--check-config")
	assert.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "configuration ok")
}

func TestAdmin_Confirm(t *testing.T) {
	var out bytes.Buffer
	a := &admin{out: &out}
	err := a.confirm("Group 'x' is used by this tokens: a/b", "Delete group x?")
	assert.ErrorContains(t, err, "Group 'x' is used by this tokens: a/b: give -y")
	a.g.yes = true
	assert.NoError(t, a.confirm("why", "Delete?"))

	a = &admin{out: &out, interactive: true, in: strings.NewReader("y\n")}
	assert.NoError(t, a.confirm("why", "Delete group x?"))
	assert.Contains(t, out.String(), "Delete group x?: ")
	a = &admin{out: &out, interactive: true, in: strings.NewReader("no\n")}
	assert.ErrorIs(t, a.confirm("why", "Delete?"), errNotConfirmed)
	a = &admin{out: &out, interactive: true, in: strings.NewReader("")}
	assert.ErrorIs(t, a.confirm("why", "Delete?"), errNotConfirmed)
}

func TestTable_Write(t *testing.T) {
	var b bytes.Buffer
	table{head: []string{"name", "status", "description"}, rows: [][]string{
		{"testuser1", "Enabled", ""}, {"x", "Disabled", "a user"},
	}}.write(&b, "  ")
	assert.Equal(t, ""+
		"  name       status    description\n"+
		"  --------------------------------\n"+
		"  testuser1  Enabled\n"+
		"  x          Disabled  a user\n", b.String())
}

// TestShowTables: the guide's columns, one row per object.
func TestShowTables(t *testing.T) {
	row := func(tb table, i int) string { return strings.Join(strings.Fields(strings.Join(tb.rows[i], " ")), " ") }
	users := []otpme.User{{Name: "testuser1", Enabled: true, MaxFail: 5}}
	assert.Equal(t, "testuser1 Enabled Disabled 7 5", row(userTable(users, map[string]int{"testuser1": 7}), 0))

	gs := []otpme.Group{{Name: "webmail", Enabled: true, MaxFail: 5, Sessions: true, ChildSessions: []string{"imap", "smtp"},
		SessionMaster: true, MaxLogin: 1, Timeout: 10 * time.Hour, UnusedTimeout: time.Hour}}
	assert.Equal(t, "webmail Enabled 5 Enabled imap,smtp True 1 600 60", row(groupTable(gs), 0))

	cs := []otpme.Client{{Name: "roundcube", Enabled: true, TrustCheck: true, AccessGroup: "webmail",
		Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, Secret: otpme.Secret("dbf549610e49f02a")}}
	assert.Equal(t, "roundcube Enabled Enabled webmail 10.0.0.0/8", row(clientTable(cs), 0))

	toks := []otpme.Token{{Name: "notebook", Type: otpme.TokenPassword, Enabled: true, Groups: []string{"wlan"}}}
	assert.Equal(t, "notebook password Enabled wlan", row(tokenTable(toks), 0))

	var b bytes.Buffer
	userInfo(&b, users[0], otpme.Status{Fails: 7, Locked: true}, toks)
	assert.Contains(t, b.String(), "locked!!! (7 failed logins)")
	assert.Contains(t, b.String(), "user tokens:")
}

// TestJSON_NoSecrets: the --json views carry no secret of any object.
func TestJSON_NoSecrets(t *testing.T) {
	var b bytes.Buffer
	c := otpme.Client{Name: "roundcube", Secret: otpme.Secret("dbf549610e49f02a")}
	tok := otpme.Token{Name: "m", Type: otpme.TokenMOTP, Secret: otpme.Secret("0123456789abcdef"), PIN: otpme.Secret("9876"),
		PasswordHash: "{SSHA256}hash"}
	require.NoError(t, writeJSON(&b, []any{toClientJSON(c), toUserJSON(otpme.User{Name: "u"}, otpme.Status{}, []otpme.Token{tok})}))
	for _, s := range []string{"dbf549610e49f02a", "0123456789abcdef", "9876", "SSHA256", "MDEyMzQ1"} {
		assert.NotContains(t, b.String(), s)
	}
	assert.Contains(t, b.String(), `"has_secret": true`)
}

func TestSplitToken(t *testing.T) {
	u, n, err := splitToken("testuser1/mobile-otp")
	require.NoError(t, err)
	assert.Equal(t, []string{"testuser1", "mobile-otp"}, []string{u, n})
	for _, bad := range []string{"testuser1", "/x", "x/", "a/b/c"} {
		_, _, err := splitToken(bad)
		assert.Error(t, err, bad)
	}
}

func TestParseMinutes(t *testing.T) {
	d, err := parseMinutes("600")
	require.NoError(t, err)
	assert.Equal(t, 10*time.Hour, d)
	d, err = parseMinutes("90s")
	require.NoError(t, err)
	assert.Equal(t, 90*time.Second, d)
	for _, bad := range []string{"0", "-5", "soon"} {
		_, err := parseMinutes(bad)
		assert.Error(t, err, bad)
	}
}

func TestOATHSpecFromFlags(t *testing.T) {
	a := &admin{o: opts{digits: 8, algorithm: "SHA256", period: 60, lookAhead: 3, window: 1}}
	s, err := a.oathSpecFromFlags(otpme.TokenTOTP)
	require.NoError(t, err)
	assert.Equal(t, 32, s.secretSize())
	assert.Equal(t, "1.2.840.113549.2.9", s.alg.OID())
	for name, o := range map[string]opts{
		"digits-7":   {digits: 7, algorithm: "sha1", period: 30},
		"md5":        {digits: 6, algorithm: "md5", period: 30},
		"sha224":     {digits: 6, algorithm: "sha224", period: 30},
		"period-0":   {digits: 6, algorithm: "sha1"},
		"look-ahead": {digits: 6, algorithm: "sha1", period: 30, lookAhead: -1},
	} {
		_, err := (&admin{o: o}).oathSpecFromFlags(otpme.TokenHOTP)
		assert.Error(t, err, name)
	}
}

func TestParseOTPAuth(t *testing.T) {
	s, key, last, err := parseOTPAuth("otpauth://hotp/ldapotp:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA256&digits=8&counter=5")
	require.NoError(t, err)
	assert.Equal(t, otpme.TokenHOTP, s.kind)
	assert.Equal(t, "SHA256", s.alg.URIName())
	assert.Equal(t, 8, s.digits)
	assert.Equal(t, []byte("12345678901234567890"), key)
	assert.Equal(t, "4", last)
	s, _, last, err = parseOTPAuth("otpauth://totp/a?secret=GEZDGNBV")
	require.NoError(t, err)
	assert.Equal(t, int64(30), s.period)
	assert.Equal(t, "", last)
	for _, bad := range []string{"http://x", "otpauth://motp/a?secret=GEZDGNBV", "otpauth://totp/a", "otpauth://totp/a?secret=GEZDGNBV&digits=9",
		"otpauth://totp/a?secret=GEZDGNBV&algorithm=md5", "otpauth://hotp/a?secret=GEZDGNBV&counter=-1"} {
		_, _, _, err := parseOTPAuth(bad)
		assert.Error(t, err, bad)
	}
}

func TestFindConsecutive(t *testing.T) {
	st := oathState{secret: []byte("12345678901234567890"), alg: oath.SHA1, digits: 6, last: 3}
	c, ok := findConsecutive(st, oath.Code(oath.SHA1, st.secret, 40, 6), oath.Code(oath.SHA1, st.secret, 41, 6))
	require.True(t, ok)
	assert.Equal(t, int64(40), c)
	_, ok = findConsecutive(st, oath.Code(oath.SHA1, st.secret, 41, 6), oath.Code(oath.SHA1, st.secret, 40, 6))
	assert.False(t, ok, "out of order")
	_, ok = findConsecutive(st, oath.Code(oath.SHA1, st.secret, 2, 6), oath.Code(oath.SHA1, st.secret, 3, 6))
	assert.False(t, ok, "at or before the last used")
}

// TestCompletion: both scripts offer every object and verb; the bash one
// parses (when bash is installed).
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh"} {
		code, out, _ := runCLI("completion", shell)
		require.Equal(t, exitOK, code)
		for _, o := range objects() {
			for _, v := range o.verbs {
				assert.Contains(t, out, v.name, shell)
			}
		}
		assert.Contains(t, out, "--admin-dn")
		if shell != "bash" {
			continue
		}
		bash, err := exec.LookPath("bash")
		if err != nil {
			t.Log("bash not installed: syntax check skipped")
			continue
		}
		cmd := exec.Command(bash, "-n")
		cmd.Stdin = strings.NewReader(out)
		outB, err := cmd.CombinedOutput()
		assert.NoError(t, err, "bash -n: %s", outB)
	}
	code, _, errOut := runCLI("completion", "fish")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, `unknown shell "fish"`)
}

func TestRun_VerbHelp(t *testing.T) {
	code, out, _ := runCLI("group", "add-child-session", "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "usage: ldapotp group add_child_session PARENT CHILD")
}

// TestAdminConfig_UpstreamTLS: the admin verbs refuse a CA file the
// upstream URL would ignore, as serve does, instead of sending the
// service password in the clear.
func TestAdminConfig_UpstreamTLS(t *testing.T) {
	for _, tc := range []struct {
		c    adminConfig
		want string // in the error; "" for none
	}{
		{adminConfig{Upstream: "ldap://127.0.0.1:389"}, ""},
		{adminConfig{Upstream: "ldap://127.0.0.1:389", UpstreamCAFile: "/nonexistent/ca.pem"}, "is plain LDAP"},
		{adminConfig{Upstream: "ldapi://%2Frun%2Fslapd%2Fldapi", UpstreamStartTLS: true}, "upstream_starttls: an ldapi://"},
	} {
		_, err := tc.c.target()
		if tc.want == "" {
			assert.NoError(t, err, tc.c.Upstream)
			continue
		}
		require.Error(t, err, "%+v", tc.c)
		assert.Contains(t, err.Error(), tc.want)
	}
}

package test

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/oath"
	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// adminCLI runs the built binary's admin verbs against one slapd.
type adminCLI struct {
	t   *testing.T
	bin string
	env []string
}

// run runs the binary with args (no stdin, no terminal) and returns
// stdout, stderr and the exit code.
func (c *adminCLI) run(args ...string) (string, string, int) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(c.bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = c.env, &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(c.t, err, "run %v", args)
	}
	return out.String(), errOut.String(), code
}

// ok runs args and requires exit 0; it returns stdout.
func (c *adminCLI) ok(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	require.Equal(c.t, 0, code, "ldapotp %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out, errOut)
	return out
}

// readAttrs reads every value of one attribute as the rootdn.
func readAttrs(t *testing.T, admin *ldap.Conn, dn, attr string) []string {
	t.Helper()
	res, err := admin.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{attr}, nil))
	require.NoError(t, err, "read %s of %s", attr, dn)
	require.Len(t, res.Entries, 1)
	return res.Entries[0].GetAttributeValues(attr)
}

// with returns c reporting to t (a subtest).
func (c *adminCLI) with(t *testing.T) *adminCLI { return &adminCLI{t: t, bin: c.bin, env: c.env} }

// hasRow reports whether out has a line whose fields are fields.
func hasRow(out string, fields ...string) bool {
	want := strings.Join(fields, " ")
	for _, l := range strings.Split(out, "\n") {
		if strings.Join(strings.Fields(l), " ") == want {
			return true
		}
	}
	return false
}

// newAdminCLI builds the binary and writes a config file for s: the
// rootdn as admin, OTPme under ou=otpme, the directory store with key.
func newAdminCLI(t *testing.T, s *slapdtest.Server, key []byte) *adminCLI {
	dir := t.TempDir()
	pw := filepath.Join(dir, "admin.pw")
	require.NoError(t, os.WriteFile(pw, []byte(s.RootPassword+"\n"), 0o600))
	keyFile := filepath.Join(dir, "otpme.key")
	require.NoError(t, os.WriteFile(keyFile, key, 0o600))
	cfg := filepath.Join(dir, "ldapotp.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("listen: [127.0.0.1:1389]\nupstream: "+s.URL+
		"\nadmin_dn: "+s.RootDN+"\nadmin_password_file: "+pw+"\notpme_base: ou=otpme,dc=example,dc=com"+
		"\nstore: directory\notpme_key_file: "+keyFile+"\nlog_level: info\n"), 0o600))
	registerSecret(s.RootPassword)
	return &adminCLI{t: t, bin: buildBinary(t), env: append(os.Environ(), "LDAPOTP_CONFIG="+cfg)}
}

// TestCLI_AdminWalkthrough drives a part of the OTPme guide through the
// admin verbs of the real binary against a real slapd, then binds through
// a proxy with tokens the CLI made.
func TestCLI_AdminWalkthrough(t *testing.T) {
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true, GlobalConfig: authzPolicy})
	allowProxyAuthz(t, plain)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cli := newAdminCLI(t, plain, key)
	staticPW := "alice-static-" + strings.ToLower(rand.Text()[:8])
	registerSecret(staticPW)
	pwFile := filepath.Join(t.TempDir(), "alice.pw")
	require.NoError(t, os.WriteFile(pwFile, []byte(staticPW+"\n"), 0o600))
	const aliceDN = "uid=alice,ou=people,dc=example,dc=com"

	t.Run("user-add", func(t *testing.T) {
		cli := cli.with(t)
		assert.Contains(t, cli.ok("user", "add", "alice", "--password-file", pwFile), "Created entry "+aliceDN)
		out := cli.ok("user", "show")
		assert.True(t, hasRow(out, "alice", "Enabled", "Disabled", "0", "5"), out)
		assert.Contains(t, out, "user name")
	})

	var devicePW string
	t.Run("token-add-password", func(t *testing.T) {
		cli := cli.with(t)
		out := cli.ok("token", "add", "alice/notebook", "password")
		m := regexp.MustCompile(`Token password: (\S+)`).FindStringSubmatch(out)
		require.Len(t, m, 2, out)
		devicePW = m[1]
		registerSecret(devicePW)
	})

	pngFile := filepath.Join(t.TempDir(), "phone.png")
	var hotpKey []byte
	t.Run("token-add-hotp-qr", func(t *testing.T) {
		cli := cli.with(t)
		out := cli.ok("token", "add", "alice/phone", "hotp", "--qr", pngFile)
		m := regexp.MustCompile(`otpauth://hotp/\S+`).FindString(out)
		require.NotEmpty(t, m, out)
		u, err := url.Parse(m)
		require.NoError(t, err)
		assert.Equal(t, "0", u.Query().Get("counter"))
		assert.Equal(t, "6", u.Query().Get("digits"))
		hotpKey, err = base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(u.Query().Get("secret"))
		require.NoError(t, err)
		assert.Contains(t, out, "█", "a terminal QR code")
		png, err := os.ReadFile(pngFile)
		require.NoError(t, err)
		assert.True(t, bytes.HasPrefix(png, []byte("\x89PNG")), "a PNG file")

		admin := plain.Admin(t)
		tokDN, paramsDN := "cn=alice/phone,ou=tokens,dc=example,dc=com", "cn=alice/phone,ou=params,dc=example,dc=com"
		assert.Equal(t, paramsDN, readAttr(t, admin, tokDN, "oathHOTPParams"))
		assert.Equal(t, string(hotpKey), readAttr(t, admin, tokDN, "oathSecret"))
		assert.Equal(t, "1.2.840.113549.2.7", readAttr(t, admin, paramsDN, "oathHMACAlgorithm"))
		assert.Equal(t, "6", readAttr(t, admin, paramsDN, "oathOTPLength"))
		assert.Equal(t, tokDN, readAttr(t, admin, aliceDN, "oathHOTPToken"))
	})

	t.Run("groups-and-clients", func(t *testing.T) {
		cli := cli.with(t)
		for _, args := range [][]string{
			{"group", "add", "wlan"}, {"group", "add", "webmail"}, {"group", "add", "smtp"},
			{"group", "enable-sessions", "webmail"},
			{"client", "add", "linksys1"}, {"client", "access_group", "linksys1", "wlan"},
			{"client", "add_address", "linksys1", "127.0.0.2/32"},
			{"client", "add", "roundcube"}, {"client", "access-group", "roundcube", "webmail"},
			{"client", "add-address", "roundcube", "127.0.0.3"},
			{"token", "add_group", "alice/notebook", "wlan"}, {"token", "add_group", "alice/phone", "webmail"},
			{"token", "add_group", "alice/phone", "smtp"},
		} {
			cli.ok(args...)
		}
		out := cli.ok("user", "show", "alice")
		assert.Contains(t, out, "active (0 failed logins)")
		assert.True(t, hasRow(out, "notebook", "password", "Enabled", "wlan"), out)
		assert.True(t, hasRow(out, "phone", "hotp", "Enabled", "webmail,smtp"), out)
		out = cli.ok("client", "show")
		assert.True(t, hasRow(out, "linksys1", "Enabled", "Disabled", "wlan", "127.0.0.2/32"), out)
		out = cli.ok("group", "show")
		assert.True(t, hasRow(out, "webmail", "Enabled", "5", "Enabled", "False", "0", "30", "5"), out)
		assert.True(t, hasRow(out, "wlan", "Enabled", "5", "Disabled", "False", "0", "30", "5"), out)
	})

	t.Run("auth-verify", func(t *testing.T) {
		cli := cli.with(t)
		assert.Equal(t, "Accept\n", cli.ok("auth", "verify", "--client-ip", "127.0.0.2", "alice", devicePW, "linksys1"))
		out, _, code := cli.run("auth", "verify", "alice", "wrong-password", "linksys1", "--client-ip", "127.0.0.2")
		assert.Equal(t, 1, code)
		assert.Equal(t, "Reject\n", out)
		out = cli.ok("auth", "-d", "verify", "alice", devicePW, "linksys1", "--client-ip=127.0.0.2")
		assert.Contains(t, out, "INFO: AUTH_OK_STATIC: user=alice token=notebook access_group=wlan client=linksys1")
		assert.True(t, strings.HasSuffix(out, "Accept\n"), out)
		out, _, code = cli.run("auth", "verify", "-d", "alice", devicePW, "roundcube", "--client-ip", "127.0.0.3")
		assert.Equal(t, 1, code, "the device password is not allowed for webmail")
		assert.Contains(t, out, "Reject")
	})

	t.Run("client-rename", func(t *testing.T) {
		cli := cli.with(t)
		cli.ok("client", "rename", "roundcube", "cyrus-imap")
		out := cli.ok("client", "show")
		assert.True(t, hasRow(out, "cyrus-imap", "Enabled", "Disabled", "webmail", "127.0.0.3/32"), out)
		assert.False(t, hasRow(out, "roundcube", "Enabled", "Disabled", "webmail", "127.0.0.3/32"), out)
	})

	t.Run("group-del-asks", func(t *testing.T) {
		cli := cli.with(t)
		out, errOut, code := cli.run("group", "del", "smtp")
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "Group 'smtp' is used by this tokens: alice/phone")
		assert.Contains(t, errOut, "give -y")
		assert.Empty(t, out)
		assert.Contains(t, cli.ok("group", "show", "smtp"), "smtp")
		cli.ok("group", "del", "-y", "smtp")
		_, errOut, code = cli.run("group", "show", "smtp")
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, `access group "smtp"`)
		assert.True(t, hasRow(cli.ok("user", "show", "alice"), "phone", "hotp", "Enabled", "webmail"))
	})

	t.Run("bind-through-proxy", func(t *testing.T) {
		cli := cli.with(t)
		p := startProxy(t, plain, func(c *proxy.Config) {
			c.OTPmeBase, c.Store, c.OTPmeKey, c.OTPmeRefresh = "ou=otpme,dc=example,dc=com", "directory", proxy.NewSecret(key), 200*time.Millisecond
		})
		code := oath.Code(oath.SHA1, hotpKey, 0, 6)
		c := dialFrom(t, p.URL, "127.0.0.3")
		require.NoError(t, c.Bind(aliceDN, staticPW+code), "static password + HOTP code through cyrus-imap")
		assert.Contains(t, p.Log.String(), "AUTH_OK_OTP")
		assert.Error(t, dialFrom(t, p.URL, "127.0.0.3").Bind(aliceDN, devicePW), "the device password is for wlan only")
		assert.NoError(t, dialFrom(t, p.URL, "127.0.0.2").Bind(aliceDN, devicePW), "the device password through linksys1")

		// auth verify checks HOTP as the proxy does: the code after the
		// one the proxy spent, once, and only with the right static part.
		code1 := oath.Code(oath.SHA1, hotpKey, 1, 6)
		out, _, exit := cli.run("auth", "verify", "--client-ip", "127.0.0.3", "alice", "wrong"+code1, "cyrus-imap")
		assert.Equal(t, "Reject\n", out)
		assert.Equal(t, 1, exit)
		code2 := oath.Code(oath.SHA1, hotpKey, 2, 6)
		out = cli.ok("auth", "verify", "-d", "--client-ip", "127.0.0.3", "alice", staticPW+code2, "cyrus-imap")
		assert.Contains(t, out, "AUTH_OK_OTP: user=alice token=phone access_group=webmail client=cyrus-imap")
		assert.Equal(t, "2", readAttr(t, plain.Admin(t), "cn=alice/phone,ou=tokens,dc=example,dc=com", "oathHOTPCounter"))
		assert.Equal(t, 49, bindCode(t, p.URL, aliceDN, staticPW+code1, 5*time.Second), "codes up to 2 are spent")
	})

	t.Run("session-show", func(t *testing.T) {
		cli := cli.with(t)
		out := cli.ok("session", "show")
		assert.Contains(t, out, "session id")
		var rows [][]string
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "alice") {
				rows = append(rows, strings.Fields(l))
			}
		}
		require.Len(t, rows, 2, "the proxy's session and auth verify's:\n%s", out)
		for _, f := range rows {
			require.GreaterOrEqual(t, len(f), 7, out)
			assert.Equal(t, []string{"alice", "phone", "clear-text", "webmail", "cyrus-imap", "127.0.0.3"}, f[1:7])
		}
		assert.Equal(t, "1 session(s) deleted\n", cli.ok("session", "del", rows[0][0]))
		assert.Equal(t, "1 session(s) deleted\n", cli.ok("session", "del", "--user", "alice"))
		assert.NotContains(t, cli.ok("session", "show"), "alice")
	})
}

// TestCLI_AdminOATHLifecycle: a TOTP token with non-default parameters,
// its code from "token gen", and "user del" asking, then removing the
// token, params and (with --entry) user entries.
func TestCLI_AdminOATHLifecycle(t *testing.T) {
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cli := newAdminCLI(t, plain, key)
	const bobDN = "uid=bob,ou=people,dc=example,dc=com"
	tokDN, paramsDN := "cn=bob/app,ou=tokens,dc=example,dc=com", "cn=bob/app,ou=params,dc=example,dc=com"
	cli.ok("user", "add", "bob")
	out := cli.ok("token", "add", "bob/app", "totp", "--digits", "8", "--algorithm", "sha256", "--period", "60")
	u, err := url.Parse(regexp.MustCompile(`otpauth://totp/\S+`).FindString(out))
	require.NoError(t, err)
	assert.Equal(t, "SHA256", u.Query().Get("algorithm"))
	assert.Equal(t, "60", u.Query().Get("period"))
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(u.Query().Get("secret"))
	require.NoError(t, err)
	assert.Len(t, secret, 32)

	admin := plain.Admin(t)
	assert.Equal(t, "1.2.840.113549.2.9", readAttr(t, admin, paramsDN, "oathHMACAlgorithm"))
	assert.Equal(t, "60", readAttr(t, admin, paramsDN, "oathTOTPTimeStepPeriod"))
	assert.Equal(t, "1", readAttr(t, admin, paramsDN, "oathTOTPTimeStepWindow"))
	assert.Equal(t, tokDN, readAttr(t, admin, bobDN, "oathTOTPToken"))

	before := time.Now().Unix() / 60
	code := strings.TrimSpace(cli.ok("token", "gen", "bob/app"))
	after := time.Now().Unix() / 60
	assert.Contains(t, []string{oath.Code(oath.SHA256, secret, before, 8), oath.Code(oath.SHA256, secret, after, 8)}, code)

	// import (HOTP, next counter 5) and resync with codes 20 and 21.
	hkey := []byte("12345678901234567890")
	uri := "otpauth://hotp/x:bob?secret=" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(hkey) + "&counter=5&digits=6"
	assert.Contains(t, cli.ok("token", "import", "bob/key", uri), "imported")
	keyDN := "cn=bob/key,ou=tokens,dc=example,dc=com"
	assert.Equal(t, "4", readAttr(t, admin, keyDN, "oathHOTPCounter"))
	assert.Equal(t, oath.Code(oath.SHA1, hkey, 5, 6)+"\n", cli.ok("token", "gen", "bob/key"))
	cli.ok("token", "resync", "bob/key", oath.Code(oath.SHA1, hkey, 20, 6), oath.Code(oath.SHA1, hkey, 21, 6))
	assert.Equal(t, "21", readAttr(t, admin, keyDN, "oathHOTPCounter"))
	cli.ok("token", "del", "bob/app")
	assert.Empty(t, readAttr(t, admin, bobDN, "oathTOTPToken"), "the pointer is gone")
	assert.NotContains(t, strings.ToLower(strings.Join(readAttrs(t, admin, bobDN, "objectClass"), " ")), "oathtotpuser")

	_, errOut, exit := cli.run("token", "resync", "bob/key", "000000", "111111")
	assert.Equal(t, 1, exit)
	assert.Contains(t, errOut, "not two consecutive codes")

	_, errOut, exit = cli.run("user", "del", "bob")
	assert.Equal(t, 1, exit)
	assert.Contains(t, errOut, "User 'bob' has these tokens: bob/key")
	cli.ok("user", "del", "bob", "--entry", "--yes")
	for _, dn := range []string{tokDN, paramsDN, keyDN, bobDN} {
		res, err := admin.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"1.1"}, nil))
		assert.True(t, ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject), "%s still there: %v %v", dn, res, err)
	}
	assert.False(t, hasRow(cli.ok("user", "show"), "bob", "Enabled", "Disabled", "0", "5"))
}

// TestCLI_AdminFlagsOnly: scripts need no config file, and mistakes exit
// 2 with a message naming what is wrong.
func TestCLI_AdminFlagsOnly(t *testing.T) {
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	pw := filepath.Join(t.TempDir(), "admin.pw")
	require.NoError(t, os.WriteFile(pw, []byte(plain.RootPassword), 0o600))
	cli := &adminCLI{t: t, bin: buildBinary(t), env: append(os.Environ(), "LDAPOTP_CONFIG=")}
	g := []string{"--upstream", plain.URL, "--admin-dn", plain.RootDN, "--admin-password-file", pw,
		"--otpme-base", "ou=otpme,dc=example,dc=com"}
	cli.ok(append(g, "client", "add", "postfix")...)
	cli.ok(append([]string{"client", "add_address", "postfix", "10.0.0.0/8"}, g...)...)
	out := cli.ok(append(g, "client", "show", "--json")...)
	assert.Contains(t, out, `"addresses": [`+"\n"+`      "10.0.0.0/8"`)

	_, errOut, code := cli.run("client", "add", "x")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "upstream: not set")
	_, errOut, code = cli.run(append(g, "client", "add")...)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "usage: ldapotp client add NAME")
	_, errOut, code = cli.run(append(g, "token", "add", "nobody/x", "hotp", "--digits", "7")...)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--digits 7: must be 6 or 8")
	_, errOut, code = cli.run(append(g, "client", "del", "nosuch")...)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `client "nosuch"`)
}

// nextMOTPCode polls "token gen" until the mOTP code differs from prev
// (mOTP codes change every 10 seconds).
func (c *adminCLI) nextMOTPCode(tok, prev string) string {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code := strings.TrimSpace(c.ok("token", "gen", tok))
		if code != prev {
			return code
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the mOTP code of %s did not change within 15 s", tok)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestCLI_AdminGuideFirstSteps follows the guide's first part through the
// CLI (ALLOW_GROUP_MISSING, the directory store): failed logins counted
// once per password and locking, unlock, a static password token, an mOTP
// token and its replay, user sessions, the session logout password, and
// the client trust password.
func TestCLI_AdminGuideFirstSteps(t *testing.T) {
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	c := newAdminCLI(t, plain, key)
	verify := func(args ...string) (string, int) {
		out, _, code := c.run(append([]string{"auth", "-d", "verify", "--allow-group-missing"}, args...)...)
		return out, code
	}
	assert.Equal(t, "user name", strings.Fields(c.ok("user", "show"))[0]+" "+strings.Fields(c.ok("user", "show"))[1])
	c.ok("user", "add", "testuser1")
	assert.True(t, hasRow(c.ok("user", "show"), "testuser1", "Enabled", "Disabled", "0", "5"))

	out, code := verify("testuser1", "somepass")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "WARNING: AUTH_TOKEN_MISSING: user=testuser1 token= access_group= client=")
	verify("testuser1", "somepass")
	assert.Contains(t, c.ok("user", "show", "testuser1"), "active (1 failed logins)", "one count per password")
	for i := range 6 {
		verify("testuser1", "random-"+strings.Repeat("x", i))
	}
	assert.Contains(t, c.ok("user", "show", "testuser1"), "locked!!! (7 failed logins)")

	pw := regexp.MustCompile(`Token password: (\S+)`).FindStringSubmatch(c.ok("token", "add", "testuser1/notebook", "password"))[1]
	out, _ = verify("testuser1", pw)
	assert.Contains(t, out, "AUTH_USER_LOCKED")
	c.ok("user", "unlock", "testuser1")
	assert.Contains(t, c.ok("user", "show", "testuser1"), "active (0 failed logins)")
	out, code = verify("testuser1", pw)
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "INFO: AUTH_OK_STATIC: user=testuser1 token=notebook")

	assert.Contains(t, c.ok("token", "add", "testuser1/mobile-otp", "motp"), "mOTP PIN: ")
	code1 := c.nextMOTPCode("testuser1/mobile-otp", "")
	out, _ = verify("testuser1", code1)
	assert.Contains(t, out, "AUTH_OK_OTP: user=testuser1 token=mobile-otp")
	out, _ = verify("testuser1", code1)
	assert.Contains(t, out, "AUTH_OTP_ALREADY_USED")
	assert.True(t, strings.HasSuffix(out, "Reject\n"))

	c.ok("user", "enable_sessions", "testuser1")
	code2 := c.nextMOTPCode("testuser1/mobile-otp", code1)
	out, _ = verify("testuser1", code2)
	assert.Contains(t, out, "DEBUG: Creating session 'testuser1:clear-text:")
	out, _ = verify("testuser1", code2)
	assert.Contains(t, out, "INFO: AUTH_OK_SESSION: user=testuser1 token=mobile-otp")
	assert.Contains(t, c.ok("session", "show", "testuser1"), "mobile-otp")
	slp := strings.TrimSpace(c.ok("tool", "gen_logout", code2))
	out, _ = verify("testuser1", slp)
	assert.Contains(t, out, "AUTH_SESSION_LOGOUT")
	assert.NotContains(t, c.ok("session", "show"), "mobile-otp")

	for _, args := range [][]string{{"group", "add", "webmail"}, {"token", "add_group", "testuser1/mobile-otp", "webmail"},
		{"client", "add", "roundcube"}, {"client", "access_group", "roundcube", "webmail"}, {"client", "enable_tp", "roundcube"}} {
		c.ok(args...)
	}
	assert.Regexp(t, `^New secret: [0-9a-f]{32}\n$`, c.ok("client", "secret", "roundcube"))
	assert.True(t, hasRow(c.ok("client", "show"), "roundcube", "Enabled", "Enabled", "webmail"))
	code3 := c.nextMOTPCode("testuser1/mobile-otp", code2)
	ctp := strings.TrimSpace(c.ok("tool", "gen_client_tp", "roundcube", code3))
	out, code = verify("testuser1", ctp, "roundcube")
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "AUTH_OK_TRUST_PW: user=testuser1 token=mobile-otp access_group=webmail client=roundcube")
}

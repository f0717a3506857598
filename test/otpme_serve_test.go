package test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// TestOTPme_ConfiguredServers: two proxies configured only by keys
// (otpme_base, store: directory, one key), as `ldapotp serve` builds them,
// share OTPme objects and sessions through the directory: a one-time code
// used through the first opens a session the second accepts, and an edit
// made by an admin reaches both within otpme_refresh.
func TestOTPme_ConfiguredServers(t *testing.T) {
	ctx := context.Background()
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true, GlobalConfig: authzPolicy})
	allowProxyAuthz(t, plain)
	sc := scenario{users: map[string]userDef{"a": {plain: true}}}
	d := &dataset{prefix: "cfg", keys: newKeys(sc.tokens)}
	d.load(t, plain, sc)

	const base = "ou=otpme,dc=example,dc=com"
	admin := otpmeAdmin(t, plain, base)
	secret, pin := otpme.Secret("fedcba9876543210"), otpme.Secret("4321")
	editObjects(t, admin, func(m *otpme.MemObjects) []error {
		return []error{
			m.AddUser(ctx, "alice"), m.SetUserBindDN(ctx, "alice", d.userDN("a")),
			m.AddMOTPToken(ctx, "alice", "phone", secret, pin), m.AddGroup(ctx, "webmail"),
			m.SetGroupSessions(ctx, "webmail", true), m.TokenAddGroup(ctx, "alice", "phone", "webmail"),
			m.AddClient(ctx, "roundcube"), m.SetClientAccessGroup(ctx, "roundcube", "webmail"),
			m.AddClientAddress(ctx, "roundcube", "127.0.0.0/8"),
		}
	})

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	configured := func(c *proxy.Config) {
		c.OTPmeBase, c.Store, c.OTPmeKey, c.OTPmeRefresh = base, "directory", proxy.NewSecret(key), 200*time.Millisecond
	}
	p1, p2 := startProxy(t, plain, configured), startProxy(t, plain, configured)

	code := otpme.MOTPCode(secret, pin, time.Now())
	c := dialFrom(t, p1.URL, "127.0.0.3")
	require.NoError(t, c.Bind(d.userDN("a"), code), "mOTP code through the first proxy")
	res, err := c.WhoAmI(nil)
	require.NoError(t, err)
	assert.Equal(t, "dn:"+d.userDN("a"), res.AuthzID)
	assert.NoError(t, dialFrom(t, p2.URL, "127.0.0.3").Bind(d.userDN("a"), code), "the session, through the second proxy")
	assert.Contains(t, p2.Log.String(), "AUTH_OK_SESSION")

	require.NoError(t, admin.Edit(ctx, func(m *otpme.MemObjects) error { return m.SetUserEnabled(ctx, "alice", false) }))
	waitFor(t, "both proxies refuse the disabled user", func() bool {
		return tryBind(p1.URL, d.userDN("a"), code) == 49 && tryBind(p2.URL, d.userDN("a"), code) == 49
	})
}

// otpmeAdmin returns the OTPme objects under base as the admin verbs edit
// them, through the service account.
func otpmeAdmin(t *testing.T, s *slapdtest.Server, base string) *proxy.DirObjects {
	t.Helper()
	return proxy.NewDirObjects(proxy.ServiceObjectDirectory(proxy.NewServiceDirectory(mustTarget(t, s.URL),
		s.ServiceDN, proxy.NewSecret([]byte(s.ServicePassword)), 1, 5*time.Second)), base, time.Second, nil,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// editObjects runs one Edit of admin made of steps (all must succeed).
func editObjects(t *testing.T, admin *proxy.DirObjects, steps func(m *otpme.MemObjects) []error) {
	t.Helper()
	require.NoError(t, admin.Edit(context.Background(), func(m *otpme.MemObjects) error { return errors.Join(steps(m)...) }))
}

func mustTarget(t *testing.T, url string) proxy.Target {
	t.Helper()
	tg, err := proxy.ParseTarget(url)
	require.NoError(t, err)
	return tg
}

// TestOTPme_BindDNSpellings: whether an OTPme user's bind is decided by
// OTPme must not depend on how the DN is spelled. slapd binds each of these
// spellings as the user with the directory password alone; through the
// proxy that password alone is refused and the user's mOTP code accepted.
// A user whose OTPme entry became invalid is refused, not passed on to a
// password-only bind.
func TestOTPme_BindDNSpellings(t *testing.T) {
	ctx := context.Background()
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true, GlobalConfig: authzPolicy})
	allowProxyAuthz(t, plain)
	sc := scenario{users: map[string]userDef{"a": {plain: true}, "b": {plain: true}}}
	d := &dataset{prefix: "spell", keys: newKeys(sc.tokens)}
	d.load(t, plain, sc)
	require.Equal(t, "uid=spell-a,ou=people,dc=example,dc=com", d.userDN("a"))

	const base = "ou=otpme,dc=example,dc=com"
	admin := otpmeAdmin(t, plain, base)
	secret, pin := otpme.Secret("fedcba9876543210"), otpme.Secret("4321")
	editObjects(t, admin, func(m *otpme.MemObjects) []error {
		return []error{
			m.AddUser(ctx, "alice"), m.SetUserBindDN(ctx, "alice", d.userDN("a")),
			m.AddMOTPToken(ctx, "alice", "phone", secret, pin),
			m.AddUser(ctx, "bob"), m.SetUserBindDN(ctx, "bob", d.userDN("b")),
			m.AddMOTPToken(ctx, "bob", "phone", secret, pin),
			m.AddGroup(ctx, "webmail"), m.SetGroupSessions(ctx, "webmail", true),
			m.TokenAddGroup(ctx, "alice", "phone", "webmail"), m.TokenAddGroup(ctx, "bob", "phone", "webmail"),
			m.AddClient(ctx, "roundcube"), m.SetClientAccessGroup(ctx, "roundcube", "webmail"),
			m.AddClientAddress(ctx, "roundcube", "127.0.0.0/8"),
		}
	})
	p := startProxy(t, plain, func(c *proxy.Config) { c.OTPmeBase, c.OTPmeRefresh = base, 200*time.Millisecond })

	spellings := []string{
		d.userDN("a"),
		"UID=Spell-A, OU=People, DC=Example, DC=Com",
		"userid=spell-a,ou=people,dc=example,dc=com",
		"0.9.2342.19200300.100.1.1=spell-a,organizationalUnitName=people,dc=example,dc=com",
		"uid=ｓｐｅｌｌ-a,ou=people,dc=example,dc=com",
	}
	code := otpme.MOTPCode(secret, pin, time.Now())
	for _, dn := range spellings {
		require.Equal(t, 0, bindCode(t, plain.URL, dn, userPassword("a"), 5*time.Second), "slapd binds %q as the user", dn)
		assert.Equal(t, 49, bindCode(t, p.URL, dn, userPassword("a"), 5*time.Second), "the directory password alone, as %q", dn)
		assert.Equal(t, 0, bindCode(t, p.URL, dn, string(code), 5*time.Second), "the mOTP code, as %q", dn)
	}
	assert.Contains(t, p.Log.String(), "AUTH_OK_SESSION", "the later spellings found alice's session")

	// bob's OTPme entry becomes invalid: it is left out of the objects,
	// and his binds are refused rather than passed on as plain binds.
	res, err := plain.Admin(t).Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(otpmeBindDN="+d.userDN("b")+")", []string{"1.1"}, nil))
	require.NoError(t, err)
	require.Len(t, res.Entries, 1)
	mod := ldap.NewModifyRequest(res.Entries[0].DN, nil)
	mod.Replace("otpmeMaxFail", []string{"-1"})
	require.NoError(t, plain.Admin(t).Modify(mod))
	waitFor(t, "the objects reloaded, the invalid entry logged", func() bool {
		tryBind(p.URL, d.userDN("a"), string(code)) // a bind reloads objects older than otpme_refresh
		return strings.Contains(p.Log.String(), "entry skipped")
	})
	for _, dn := range []string{d.userDN("b"), "userid=spell-b,ou=people,dc=example,dc=com"} {
		require.Equal(t, 0, bindCode(t, plain.URL, dn, userPassword("b"), 5*time.Second))
		assert.Equal(t, 49, bindCode(t, p.URL, dn, userPassword("b"), 5*time.Second), "bob's password alone, as %q", dn)
	}
	assert.Equal(t, 0, bindCode(t, p.URL, d.userDN("a"), string(code), 5*time.Second), "alice is unaffected")
}

package test

import (
	"context"
	"net"
	"net/netip"
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

// memOTPmeDir adapts otpme.MemObjects to proxy.OTPmeDirectory for tests
// that keep the OTPme objects in memory (the directory-backed one has its
// own tests).
type memOTPmeDir struct {
	objs  *otpme.MemObjects
	users map[string]string // lower-case bind DN -> OTPme user
}

func (m *memOTPmeDir) UserByBindDN(ctx context.Context, dn string) (otpme.User, bool, error) {
	name, ok := m.users[strings.ToLower(dn)]
	if !ok {
		return otpme.User{}, false, nil
	}
	u, err := m.objs.User(ctx, name)
	return u, err == nil, err
}

// ResemblesBindDN: these tests bind with the DNs as written (DirObjects,
// which resolves other spellings, has its own tests).
func (m *memOTPmeDir) ResemblesBindDN(context.Context, string) (bool, bool, error) {
	return false, false, nil
}

func (m *memOTPmeDir) MatchClient(ctx context.Context, cm proxy.ClientMatch) (string, error) {
	clients, err := m.objs.Clients(ctx)
	if err != nil {
		return "", err
	}
	for _, c := range clients {
		if cm.Marker != "" {
			if strings.EqualFold(c.Name, cm.Marker) {
				return c.Name, nil
			}
			continue
		}
		ip, err := netip.ParseAddr(cm.IP)
		for _, p := range c.Addresses {
			if err == nil && p.Contains(ip) {
				return c.Name, nil
			}
		}
	}
	return "", nil
}

// dialFrom connects from a given loopback source address, so that the
// proxy tells clients apart exactly as in production.
func dialFrom(t *testing.T, url, source string) *ldap.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}
	c, err := ldap.DialURL(url, ldap.DialWithDialer(d))
	require.NoError(t, err)
	c.SetTimeout(5 * time.Second)
	t.Cleanup(func() { c.Close() })
	return c
}

// authzSetup lets the service account act for users (RFC 4370 proxied
// authorization): slapd's authz-policy and the account's authzTo.
const authzPolicy = "authz-policy to"

func allowProxyAuthz(t *testing.T, s *slapdtest.Server) {
	t.Helper()
	req := ldap.NewModifyRequest(s.ServiceDN, nil)
	req.Add("authzTo", []string{"dn.subtree:ou=people,dc=example,dc=com"})
	require.NoError(t, s.Admin(t).Modify(req))
}

// TestOTPme_Binds: the OTPme step over real binds, clients told apart by
// source address: a device password for the Wi-Fi, a one-time code for
// the webmail and its session re-used, an OATH token checked with
// slapo-otp's rules, the marker RDN, and proxied authorization after
// logins without a directory password.
func TestOTPme_Binds(t *testing.T) {
	ctx := context.Background()
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true, GlobalConfig: authzPolicy})
	allowProxyAuthz(t, plain)
	sc := scenario{tokens: map[string]tokenDef{"h": {}}, users: map[string]userDef{"a": {}}}
	d := &dataset{prefix: "om", keys: newKeys(sc.tokens)}
	d.load(t, plain, sc)
	e := &env{sc: sc, data: d}

	objs := otpme.NewMemObjects()
	require.NoError(t, objs.AddUser(ctx, "alice"))
	notebook, err := objs.AddPasswordToken(ctx, "alice", "notebook")
	require.NoError(t, err)
	registerSecret(string(notebook))
	secret, pin := otpme.Secret("0123456789abcdef"), otpme.Secret("1234")
	require.NoError(t, objs.AddMOTPToken(ctx, "alice", "mobile", secret, pin))
	require.NoError(t, objs.AddOATHToken(ctx, "alice", "hw", otpme.TokenHOTP, d.tokenDN("h")))
	for _, g := range []string{"wlan", "webmail", "vpn"} {
		require.NoError(t, objs.AddGroup(ctx, g))
	}
	require.NoError(t, objs.SetGroupSessions(ctx, "webmail", true))
	require.NoError(t, objs.TokenAddGroup(ctx, "alice", "notebook", "wlan"))
	require.NoError(t, objs.TokenAddGroup(ctx, "alice", "mobile", "webmail"))
	require.NoError(t, objs.TokenAddGroup(ctx, "alice", "hw", "vpn"))
	for i, c := range []struct{ name, group string }{{"linksys1", "wlan"}, {"roundcube", "webmail"}, {"vpn", "vpn"}} {
		require.NoError(t, objs.AddClient(ctx, c.name))
		require.NoError(t, objs.SetClientAccessGroup(ctx, c.name, c.group))
		require.NoError(t, objs.AddClientAddress(ctx, c.name, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}[i]))
	}
	require.NoError(t, objs.AddClient(ctx, "imap")) // no address list: reached only by its marker
	require.NoError(t, objs.SetClientAccessGroup(ctx, "imap", "webmail"))
	engine, err := otpme.New(otpme.Config{Objects: objs, Store: otpme.NewMemStore(), OATH: proxy.OATHFromBind{},
		Key: otpme.Secret(strings.Repeat("k", 32))})
	require.NoError(t, err)
	dir := &memOTPmeDir{objs: objs, users: map[string]string{strings.ToLower(d.userDN("a")): "alice"}}
	p := startProxyOpts(t, plain, []proxy.Option{proxy.WithOTPme(engine, dir)})
	userDN := d.userDN("a")
	whoami := func(c *ldap.Conn) string {
		res, err := c.WhoAmI(nil)
		require.NoError(t, err)
		return res.AuthzID
	}

	t.Run("wlan-device-password-acts-for-the-user", func(t *testing.T) {
		c := dialFrom(t, p.URL, "127.0.0.2")
		require.NoError(t, c.Bind(userDN, string(notebook)))
		assert.Equal(t, "dn:"+userDN, whoami(c), "the directory sees the user (proxied authorization)")
	})
	t.Run("webmail-refuses-the-device-password", func(t *testing.T) {
		c := dialFrom(t, p.URL, "127.0.0.3")
		assert.Equal(t, 49, resultCode(c.Bind(userDN, string(notebook))))
		assert.Equal(t, "", whoami(c), "anonymous after a refused bind")
	})
	code := otpme.MOTPCode(secret, pin, time.Now())
	registerSecret(code + "-never") // codes are 6 characters: not scanned by themselves
	t.Run("webmail-motp-then-session", func(t *testing.T) {
		c := dialFrom(t, p.URL, "127.0.0.3")
		require.NoError(t, c.Bind(userDN, code))
		assert.Equal(t, "dn:"+userDN, whoami(c))
		c2 := dialFrom(t, p.URL, "127.0.0.3")
		require.NoError(t, c2.Bind(userDN, code), "the same code again: the session")
		assert.Contains(t, p.Log.String(), "AUTH_OK_SESSION")
	})
	t.Run("session-rebind-on-one-connection-binds-upstream-once", func(t *testing.T) {
		c := dialFrom(t, p.URL, "127.0.0.3")
		require.NoError(t, c.Bind(userDN, code))
		assert.Equal(t, "dn:"+userDN, whoami(c))
		upstream := whoamiConn(t, plain, 1)
		serviceBinds := func() int {
			return countConnBinds(settled(plain), upstream, plain.ServiceDN)
		}
		// The upstream connection may be a parked one with binds of
		// earlier clients in its history: count from here.
		first := serviceBinds()
		require.GreaterOrEqual(t, first, 1)
		for range 3 {
			require.NoError(t, c.Bind(userDN, code))
			assert.Equal(t, "dn:"+userDN, whoami(c))
		}
		assert.Equal(t, first, serviceBinds(), "still bound as the service account: no bind upstream")
		assert.Equal(t, 49, resultCode(c.Bind(userDN, "wrong")))
		assert.Equal(t, "", whoami(c), "anonymous after a refused bind")
		require.NoError(t, c.Bind(userDN, code))
		assert.Equal(t, "dn:"+userDN, whoami(c))
		assert.Equal(t, first+1, serviceBinds(), "bound again after the refused bind")
	})
	t.Run("marker-rdn-names-the-client", func(t *testing.T) {
		marked := strings.Replace(userDN, ",ou=people", ",dc=imap,ou=people", 1)
		c := dialFrom(t, p.URL, "127.0.0.9")
		require.NoError(t, c.Bind(marked, code), "the webmail session, client named by the marker")
		assert.Equal(t, "dn:"+userDN, whoami(c), "the marker is stripped")
	})
	t.Run("oath-token-through-otpme", func(t *testing.T) {
		c := dialFrom(t, p.URL, "127.0.0.4")
		require.NoError(t, c.Bind(userDN, pwA+e.hotp("h", 0)))
		assert.Equal(t, "dn:"+userDN, whoami(c), "bound as the user itself")
		assert.Equal(t, "0", readAttr(t, plain.Admin(t), d.tokenDN("h"), counterAttr))
		c2 := dialFrom(t, p.URL, "127.0.0.4")
		assert.Equal(t, 49, resultCode(c2.Bind(userDN, pwA+e.hotp("h", 0))), "replay")
	})
	t.Run("unknown-client-refused", func(t *testing.T) {
		c := dialFrom(t, p.URL, "127.0.0.9")
		assert.Equal(t, 49, resultCode(c.Bind(userDN, string(notebook))), "no client, no access group: AUTH_GROUP_MISSING")
	})
}

// settled returns slapd's log once it has stopped growing (slapd writes
// it after answering).
func settled(s *slapdtest.Server) string {
	prev := s.Log()
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		cur := s.Log()
		if cur == prev {
			return cur
		}
		prev = cur
	}
	return prev
}

// whoamiConn returns the "conn=N" of the last connection slapd answered a
// Who am I? on, checking that there are at least n such operations.
func whoamiConn(t *testing.T, s *slapdtest.Server, n int) string {
	t.Helper()
	var conn string
	count := 0
	for _, line := range strings.Split(settled(s), "\n") {
		if !strings.Contains(line, "EXT oid=1.3.6.1.4.1.4203.1.11.3") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "conn=") {
				conn, count = f, count+1
			}
		}
	}
	require.GreaterOrEqual(t, count, n, "Who am I? operations in slapd's log")
	return conn
}

// countConnBinds counts the simple binds as dn on one slapd connection.
func countConnBinds(log, conn, dn string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, conn+" ") && strings.Contains(line, `BIND dn="`+dn+`" method=128`) {
			n++
		}
	}
	return n
}

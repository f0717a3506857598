package test

import (
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// TestLimits: each limit answers (busy, or a notice of disconnection) and
// never hangs; the proxy keeps serving within the limits.
func TestLimits(t *testing.T) {
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	sc := scenario{tokens: map[string]tokenDef{"h": {lookAhead: "20"}}, users: map[string]userDef{"a": {hotp: "h"}, "b": {plain: true}}}
	d := &dataset{prefix: "lim", keys: newKeys(sc.tokens)}
	d.load(t, plain, sc)
	e := &env{sc: sc, data: d}

	t.Run("max-connections", func(t *testing.T) {
		p := startProxy(t, plain, func(c *proxy.Config) { c.MaxConnections = 2 })
		dial(t, p.URL, 5*time.Second)
		dial(t, p.URL, 5*time.Second)
		waitFor(t, "two connections open", func() bool { return p.srv.Stats().ClientConns == 2 })
		third := rawDial(t, p.URL)
		id, tag, code := result(t, third.read())
		assert.Equal(t, []int{0, 24, 51}, []int{int(id), tag, code}, "notice of disconnection: busy")
		assert.Nil(t, third.read(), "then closed")
	})
	t.Run("bind-rate-per-dn", func(t *testing.T) {
		p := startProxy(t, plain, func(c *proxy.Config) { c.BindRatePerDN = 3 })
		for range 3 {
			assert.Equal(t, 49, bindCode(t, p.URL, d.userDN("b"), "wrong-password", 5*time.Second))
		}
		assert.Equal(t, int(ldap.LDAPResultBusy), bindCode(t, p.URL, d.userDN("b"), userPassword("b"), 5*time.Second))
		assert.Equal(t, 0, bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 0), 5*time.Second), "other DNs unaffected")
	})
	// The spellings of one DN slapd takes for the same entry share one
	// bucket: a guesser cannot get a fresh limit by rewriting the DN.
	t.Run("bind-rate-per-dn-whatever-the-spelling", func(t *testing.T) {
		require.Equal(t, "uid=lim-b,ou=people,dc=example,dc=com", d.userDN("b"))
		spellings := []string{
			"UID=LIM-B, OU=People, DC=Example, DC=Com",
			"0.9.2342.19200300.100.1.1=lim-b,ou=people,dc=example,dc=com",
			`uid=\6cim\2db,ou=people,dc=example,dc=com`,
			`uid="lim-b";ou=people;dc=example;dc=com`,
			"uid=ｌｉｍ-b,organizationalUnitName=people,domainComponent=example,dc=com",
			"userid=lim-b,ou=people,dc=example,dc=com",
			d.userDN("b"),
		}
		for _, dn := range spellings {
			require.Equal(t, 0, bindCode(t, plain.URL, dn, userPassword("b"), 5*time.Second), "slapd binds %q as the user", dn)
		}
		p := startProxy(t, plain, func(c *proxy.Config) { c.BindRatePerDN = 3 })
		for _, dn := range spellings[:3] {
			assert.Equal(t, 49, bindCode(t, p.URL, dn, "wrong-password", 5*time.Second), dn)
		}
		for _, dn := range spellings[3:] {
			assert.Equal(t, int(ldap.LDAPResultBusy), bindCode(t, p.URL, dn, userPassword("b"), 5*time.Second), dn)
		}
	})
	t.Run("bind-rate-per-ip", func(t *testing.T) {
		p := startProxy(t, plain, func(c *proxy.Config) { c.BindRatePerIP = 2 })
		assert.Equal(t, 0, bindCode(t, p.URL, d.userDN("b"), userPassword("b"), 5*time.Second))
		assert.Equal(t, 0, bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 1), 5*time.Second))
		assert.Equal(t, int(ldap.LDAPResultBusy), bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 2), 5*time.Second))
		assert.Equal(t, "1", readAttr(t, plain.Admin(t), d.tokenDN("h"), counterAttr), "a refused bind spends nothing")
	})
	t.Run("idle-timeout", func(t *testing.T) {
		p := startProxy(t, plain, func(c *proxy.Config) { c.IdleTimeout = 200 * time.Millisecond })
		c := rawDial(t, p.URL)
		start := time.Now()
		assert.Nil(t, c.read(), "closed")
		assert.Less(t, time.Since(start), 3*time.Second)
	})
	t.Run("max-message-size", func(t *testing.T) {
		p := startProxy(t, plain, func(c *proxy.Config) { c.MaxMessageSize = 4096 })
		c := rawDial(t, p.URL)
		c.send(simpleBind(1, 3, d.userDN("b"), make([]byte, 5000)))
		id, tag, code := result(t, c.read())
		assert.Equal(t, []int{0, 24, 2}, []int{int(id), tag, code})
		require.Equal(t, 0, bindCode(t, p.URL, d.userDN("b"), userPassword("b"), 5*time.Second))
	})
}

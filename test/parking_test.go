package test

import (
	"net"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// TestParkedUpstream: the upstream connection of a client that left is
// handed to the next client, anonymous, and only when nothing of the first
// client can still arrive on it.
func TestParkedUpstream(t *testing.T) {
	s := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	sc := scenario{tokens: map[string]tokenDef{}, users: map[string]userDef{"a": {}}}
	d := &dataset{prefix: "park", keys: newKeys(sc.tokens)}
	d.load(t, s, sc)
	p := startProxy(t, s)
	userDN := d.userDN("a")
	parked := func(n int64) func() bool {
		return func() bool { st := p.srv.Stats(); return st.ParkedConns == n && st.UpstreamConns == n }
	}
	whoami := func(c *ldap.Conn) string {
		res, err := c.WhoAmI(nil)
		require.NoError(t, err)
		return res.AuthzID
	}

	t.Run("next-client-gets-it-anonymous", func(t *testing.T) {
		a := dial(t, p.URL, 5*time.Second)
		require.NoError(t, a.Bind(userDN, pwA))
		require.Equal(t, "dn:"+userDN, whoami(a))
		a.Close()
		waitFor(t, "the upstream connection parked", parked(1))
		b := dial(t, p.URL, 5*time.Second)
		assert.Equal(t, "", whoami(b), "the next client is anonymous, not the user before it")
		assert.EqualValues(t, 1, p.srv.Stats().UpstreamConns, "and uses the parked connection")
		log := settled(s)
		assert.Equal(t, 1, countConnBinds(log, whoamiConn(t, s, 2), ""), "one anonymous bind, when the first client left")
		require.NoError(t, b.Bind(userDN, pwA))
		assert.Equal(t, "dn:"+userDN, whoami(b))
		b.Close()
		waitFor(t, "parked again", parked(1))
	})
	t.Run("abandoned-operation-closes-it", func(t *testing.T) {
		nc, err := net.DialTimeout("tcp", strings.TrimPrefix(p.URL, "ldap://"), 5*time.Second)
		require.NoError(t, err)
		defer nc.Close()
		oid := "1.3.6.1.4.1.4203.1.11.3" // Who am I?, relayed upstream
		whoamiReq := append([]byte{0x30, byte(7 + len(oid)), 0x02, 0x01, 0x01, 0x77, byte(2 + len(oid)), 0x80, byte(len(oid))}, oid...)
		_, err = nc.Write(whoamiReq)
		require.NoError(t, err)
		require.NoError(t, nc.SetReadDeadline(time.Now().Add(5*time.Second)))
		_, err = nc.Read(make([]byte, 512))
		require.NoError(t, err)
		_, err = nc.Write([]byte{0x30, 0x06, 0x02, 0x01, 0x02, 0x50, 0x01, 0x07}) // abandon 7
		require.NoError(t, err)
		time.Sleep(50 * time.Millisecond)
		nc.Close()
		waitFor(t, "closed, not parked", parked(0))
	})
	// A client that sends a message ID still outstanding: the first final
	// answer clears the ID while the other operation may still run, so
	// the connection is not handed to the next client.
	t.Run("reused-message-id-closes-it", func(t *testing.T) {
		c := rawDial(t, p.URL)
		op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 23, nil, "")
		op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, "1.3.6.1.4.1.4203.1.11.3", ""))
		req := message(7, op)
		c.send(append(append([]byte(nil), req...), req...))
		for range 2 {
			id, tag, code := result(t, c.read())
			require.Equal(t, []any{int64(7), 24, 0}, []any{id, tag, code})
		}
		c.nc.Close()
		waitFor(t, "closed, not parked", parked(0))
	})
	t.Run("parked-connection-that-ends-is-not-handed-out", func(t *testing.T) {
		a := dial(t, p.URL, 5*time.Second)
		require.Equal(t, "", whoami(a))
		a.Close()
		waitFor(t, "parked", parked(1))
		s.Restart(t)
		waitFor(t, "the dead connection dropped", parked(0))
		assert.Equal(t, 0, bindCode(t, p.URL, userDN, pwA, 5*time.Second), "the next client dials anew")
	})
	t.Run("off", func(t *testing.T) {
		q := startProxy(t, s, func(c *proxy.Config) { c.UpstreamIdle = -1 })
		assert.Equal(t, 0, bindCode(t, q.URL, userDN, pwA, 5*time.Second))
		waitFor(t, "closed, not parked", func() bool { return q.srv.Stats().UpstreamConns == 0 })
	})
	assert.False(t, strings.Contains(p.Log.String(), "panic"))
}

// TestBindOnlyClientAcrossRestart: a client that only binds (a mail
// server's authentication connection) has no reader on its upstream
// connection; when slapd restarts in between, its next bind notices the
// closed connection and goes over a new one instead of failing, and the
// proxy's count of upstream connections stays exact.
func TestBindOnlyClientAcrossRestart(t *testing.T) {
	s := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	sc := scenario{tokens: map[string]tokenDef{}, users: map[string]userDef{"a": {plain: true}, "b": {plain: true}}}
	d := &dataset{prefix: "bindonly", keys: newKeys(sc.tokens)}
	d.load(t, s, sc)
	p := startProxy(t, s)
	c := dial(t, p.URL, 5*time.Second)
	for range 3 {
		require.NoError(t, c.Bind(d.userDN("a"), userPassword("a")))
		require.Error(t, c.Bind(d.userDN("b"), "wrong"))
	}
	require.Equal(t, int64(1), p.srv.Stats().UpstreamConns)
	s.Restart(t)
	require.NoError(t, c.Bind(d.userDN("b"), userPassword("b")), "the bind after the restart goes through")
	res, err := c.WhoAmI(nil)
	require.NoError(t, err)
	assert.Equal(t, "dn:"+d.userDN("b"), res.AuthzID, "the new upstream connection holds the new identity")
	assert.Equal(t, int64(1), p.srv.Stats().UpstreamConns, "the dead connection is no longer counted")
	c.Close()
	waitFor(t, "parked", func() bool { st := p.srv.Stats(); return st.UpstreamConns == st.ParkedConns })
}

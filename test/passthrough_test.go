package test

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// scratchACL lets authenticated users write a scratch subtree, so that a
// user bound through the proxy can exercise every operation.
const scratchACL = `access to dn.subtree="ou=scratch,dc=example,dc=com"
	by users write
	by * none`

// TestPassthrough_Operations: after a two-factor bind, every other
// operation reaches the directory unchanged, as the user, on the client's
// own upstream connection.
func TestPassthrough_Operations(t *testing.T) {
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true, ExtraConfig: scratchACL})
	p := startProxy(t, plain)
	sc := scenario{tokens: map[string]tokenDef{"h": {}}, users: map[string]userDef{"a": {hotp: "h"}}}
	d := &dataset{prefix: "pass", keys: newKeys(sc.tokens)}
	d.load(t, plain, sc)
	e := &env{sc: sc, data: d}
	add(t, plain.Admin(t), "ou=scratch,dc=example,dc=com", map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"scratch"}})

	t.Run("anonymous-root-dse-before-bind", func(t *testing.T) {
		c := dial(t, p.URL, 5*time.Second)
		res, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"supportedLDAPVersion", "supportedControl"}, nil))
		require.NoError(t, err)
		require.Len(t, res.Entries, 1)
		assert.Equal(t, "3", res.Entries[0].GetAttributeValue("supportedLDAPVersion"))
	})

	c := dial(t, p.URL, 5*time.Second)
	require.NoError(t, c.Bind(d.userDN("a"), pwA+e.hotp("h", 0)))
	scratch := func(cn string) string { return fmt.Sprintf("cn=%s,ou=scratch,dc=example,dc=com", cn) }

	t.Run("whoami", func(t *testing.T) {
		res, err := c.WhoAmI(nil)
		require.NoError(t, err)
		assert.Equal(t, "dn:"+d.userDN("a"), res.AuthzID)
	})
	t.Run("add", func(t *testing.T) {
		for i := range 5 {
			req := ldap.NewAddRequest(scratch(fmt.Sprint("e", i)), nil)
			req.Attribute("objectClass", []string{"organizationalRole"})
			req.Attribute("cn", []string{fmt.Sprint("e", i)})
			require.NoError(t, c.Add(req))
		}
	})
	t.Run("paged-search", func(t *testing.T) {
		req := ldap.NewSearchRequest("ou=scratch,dc=example,dc=com", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=organizationalRole)", []string{"cn"}, nil)
		res, err := c.SearchWithPaging(req, 2)
		require.NoError(t, err)
		assert.Len(t, res.Entries, 5)
	})
	t.Run("compare", func(t *testing.T) {
		ok, err := c.Compare(scratch("e1"), "cn", "e1")
		require.NoError(t, err)
		assert.True(t, ok)
		ok, err = c.Compare(scratch("e1"), "cn", "nope")
		require.NoError(t, err)
		assert.False(t, ok)
	})
	t.Run("modify", func(t *testing.T) {
		req := ldap.NewModifyRequest(scratch("e1"), nil)
		req.Add("description", []string{"changed through ldapotp"})
		require.NoError(t, c.Modify(req))
		assert.Equal(t, "changed through ldapotp", readAttr(t, plain.Admin(t), scratch("e1"), "description"))
	})
	t.Run("modify-dn", func(t *testing.T) {
		require.NoError(t, c.ModifyDN(ldap.NewModifyDNRequest(scratch("e2"), "cn=e2b", true, "")))
		assert.Equal(t, "e2b", readAttr(t, plain.Admin(t), scratch("e2b"), "cn"))
	})
	t.Run("delete", func(t *testing.T) {
		require.NoError(t, c.Del(ldap.NewDelRequest(scratch("e3"), nil)))
		err := c.Del(ldap.NewDelRequest(scratch("e3"), nil))
		assert.Equal(t, int(ldap.LDAPResultNoSuchObject), resultCode(err), "upstream result codes pass through")
	})
	t.Run("unknown-critical-control-reaches-the-directory", func(t *testing.T) {
		req := ldap.NewSearchRequest(scratch("e1"), ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", nil, []ldap.Control{ldap.NewControlString("1.2.3.4.5.6.7", true, "")})
		_, err := c.Search(req)
		assert.Equal(t, int(ldap.LDAPResultUnavailableCriticalExtension), resultCode(err))
	})
	t.Run("password-modify", func(t *testing.T) {
		_, err := c.PasswordModify(ldap.NewPasswordModifyRequest("", pwA, "new-secret"))
		require.NoError(t, err)
		assert.Equal(t, 49, bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 1), 5*time.Second), "old password, code 1 burnt")
		assert.Equal(t, 0, bindCode(t, p.URL, d.userDN("a"), "new-secret"+e.hotp("h", 2), 5*time.Second))
	})
	t.Run("unbind-releases-upstream", func(t *testing.T) {
		require.NotZero(t, p.srv.Stats().UpstreamConns)
		c.Unbind()
		waitFor(t, "upstream connections closed or parked for the next client", func() bool {
			st := p.srv.Stats()
			return st.UpstreamConns == st.ParkedConns
		})
		waitFor(t, "client connections closed", func() bool { return p.srv.Stats().ClientConns == 0 })
	})
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPassthrough_BindControls: a bind's controls reach slapd as the
// client sent them, for a plain user and for an OTP user: slapd ignores an
// unknown control that is not critical and refuses one that is (12).
func TestPassthrough_BindControls(t *testing.T) {
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	p := startProxy(t, plain)
	sc := scenario{tokens: map[string]tokenDef{"h": {}}, users: map[string]userDef{"a": {hotp: "h"}, "b": {plain: true}}}
	d := &dataset{prefix: "bindctl", keys: newKeys(sc.tokens)}
	d.load(t, plain, sc)
	e := &env{sc: sc, data: d}
	counter := int64(0)
	for _, critical := range []bool{false, true} {
		want := int(ldap.LDAPResultSuccess)
		if critical {
			want = int(ldap.LDAPResultUnavailableCriticalExtension)
		}
		ctl := []ldap.Control{ldap.NewControlString("1.3.6.1.4.1.99999.1", critical, "x")}
		for _, who := range []struct{ dn, pw string }{
			{d.userDN("b"), userPassword("b")},
			{d.userDN("a"), pwA + e.hotp("h", counter)},
		} {
			c := dial(t, p.URL, 5*time.Second)
			_, err := c.SimpleBind(&ldap.SimpleBindRequest{Username: who.dn, Password: who.pw, Controls: ctl})
			assert.Equal(t, want, resultCode(err), "%s, critical %v", who.dn, critical)
			c.Close()
		}
		counter++
	}
}

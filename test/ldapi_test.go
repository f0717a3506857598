package test

import (
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// TestUpstreamLDAPI: a proxy on the directory's machine reaches slapd over
// its Unix socket, written as slapd -h takes it (ldapi://%2F…): the
// service account, the user index's syncrepl, the clients' binds and the
// counter's compare-and-swap all go over the socket.
func TestUpstreamLDAPI(t *testing.T) {
	s := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true, ExtraConfig: syncprov, LDAPI: true})
	require.True(t, strings.HasPrefix(s.LDAPIURL, "ldapi://%2F"), s.LDAPIURL)
	p := startProxyAt(t, s, s.LDAPIURL, func(c *proxy.Config) { c.UserIndexBases = []string{"ou=people,dc=example,dc=com"} })
	waitForIndex(t, p, func(st proxy.IndexStats) bool { return st.Live && st.Users == 0 })

	sc := scenario{tokens: map[string]tokenDef{"h": {}}, users: map[string]userDef{"a": {hotp: "h"}, "b": {plain: true}}}
	d := &dataset{prefix: "ldapi", keys: newKeys(sc.tokens)}
	d.load(t, s, sc)
	e := &env{sc: sc, data: d}
	waitForIndex(t, p, func(st proxy.IndexStats) bool { return st.Users == 1 })

	assert.Equal(t, 0, bindCode(t, p.URL, d.userDN("b"), userPassword("b"), 5*time.Second), "plain user, passed through")
	assert.Equal(t, 49, bindCode(t, p.URL, d.userDN("a"), pwA, 5*time.Second), "OTP user without a code")
	assert.Equal(t, 0, bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 0), 5*time.Second))
	assert.Equal(t, "0", readAttr(t, s.Admin(t), d.tokenDN("h"), counterAttr), "code 0 spent over the socket")
	assert.Equal(t, 49, bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 0), 5*time.Second), "replay")

	c := dial(t, p.URL, 5*time.Second)
	defer c.Close()
	require.NoError(t, c.Bind(d.userDN("b"), userPassword("b")))
	who, err := c.WhoAmI(nil)
	require.NoError(t, err)
	assert.Equal(t, "dn:"+d.userDN("b"), who.AuthzID)
	res, err := c.Search(ldap.NewSearchRequest(d.userDN("b"), ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 5, false,
		"(objectClass=*)", []string{"cn"}, nil))
	require.NoError(t, err)
	require.Len(t, res.Entries, 1)
	assert.Equal(t, "b", res.Entries[0].GetAttributeValue("cn"))
}

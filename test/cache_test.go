package test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/oath"
	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// TestTokenCache_SecretRotated: the proxy caches token entries
// (token_cache_ttl), but a code of a secret the admin has since replaced is
// refused at once — the commit asserts the cached secret — and the new
// secret's codes work.
func TestTokenCache_SecretRotated(t *testing.T) {
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	p := startProxy(t, plain, func(c *proxy.Config) { c.TokenCacheTTL = time.Hour })
	sc := scenario{tokens: map[string]tokenDef{"h": {lookAhead: "5"}}, users: map[string]userDef{"a": {hotp: "h"}}}
	d := &dataset{prefix: "rot", keys: newKeys(sc.tokens)}
	d.load(t, plain, sc)
	e := &env{sc: sc, data: d}
	require.Equal(t, 0, bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 0), 5*time.Second), "the token is now cached")

	newKey := make([]byte, 20)
	_, _ = rand.Read(newKey)
	registerSecret(string(newKey))
	req := ldap.NewModifyRequest(d.tokenDN("h"), nil)
	req.Replace("oathSecret", []string{string(newKey)})
	require.NoError(t, plain.Admin(t).Modify(req))

	assert.Equal(t, 49, bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 1), 5*time.Second), "old secret refused despite the cache")
	assert.Equal(t, "0", readAttr(t, plain.Admin(t), d.tokenDN("h"), counterAttr), "nothing spent")
	assert.Equal(t, 0, bindCode(t, p.URL, d.userDN("a"), pwA+oath.Code(oath.SHA1, newKey, 1, 6), 5*time.Second), "new secret works")
	assert.Equal(t, "1", readAttr(t, plain.Admin(t), d.tokenDN("h"), counterAttr))
}

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
	plain, p, d, e := cacheSetup(t, "rot")
	require.Equal(t, 0, bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 0), 5*time.Second), "the token is now cached")
	newKey := replaceSecret(t, plain, d.tokenDN("h"), nil)

	assert.Equal(t, 49, bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 1), 5*time.Second), "old secret refused despite the cache")
	assert.Equal(t, "0", readAttr(t, plain.Admin(t), d.tokenDN("h"), counterAttr), "nothing spent")
	assert.Equal(t, 0, bindCode(t, p.URL, d.userDN("a"), pwA+oath.Code(oath.SHA1, newKey, 1, 6), 5*time.Second), "new secret works")
	assert.Equal(t, "1", readAttr(t, plain.Admin(t), d.tokenDN("h"), counterAttr))
}

// TestTokenCache_NewSecretFirst: a user re-enrolled with a new secret whose
// first code is the new secret's is let in at once, though the proxy still
// caches the old entry (a refusal on a cached entry reads it again).
func TestTokenCache_NewSecretFirst(t *testing.T) {
	plain, p, d, e := cacheSetup(t, "nsf")
	require.Equal(t, 0, bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 0), 5*time.Second), "the token is now cached")
	newKey := replaceSecret(t, plain, d.tokenDN("h"), func(req *ldap.ModifyRequest) { req.Replace(counterAttr, []string{"0"}) })

	assert.Equal(t, 0, bindCode(t, p.URL, d.userDN("a"), pwA+oath.Code(oath.SHA1, newKey, 1, 6), 5*time.Second))
	assert.Equal(t, "1", readAttr(t, plain.Admin(t), d.tokenDN("h"), counterAttr))
}

// TestTokenCache_CounterLowered: an admin sets a counter back (a token
// resynchronised); the codes from there on work at once, and a code the
// lowered counter has already passed is still refused.
func TestTokenCache_CounterLowered(t *testing.T) {
	plain, p, d, e := cacheSetup(t, "low")
	for i := range int64(4) {
		require.Equal(t, 0, bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", i), 5*time.Second))
	}
	req := ldap.NewModifyRequest(d.tokenDN("h"), nil)
	req.Replace(counterAttr, []string{"1"})
	require.NoError(t, plain.Admin(t).Modify(req))

	assert.Equal(t, 49, bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 1), 5*time.Second), "at the lowered counter: spent")
	assert.Equal(t, 0, bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 2), 5*time.Second), "after it: valid again")
	assert.Equal(t, "2", readAttr(t, plain.Admin(t), d.tokenDN("h"), counterAttr))
}

// cacheSetup: a proxy that caches token and params entries for an hour,
// and one user with an HOTP token (look-ahead 5).
func cacheSetup(t *testing.T, prefix string) (*slapdtest.Server, *runningProxy, *dataset, *env) {
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	p := startProxy(t, plain, func(c *proxy.Config) { c.TokenCacheTTL, c.ParamsCacheTTL = time.Hour, time.Hour })
	sc := scenario{tokens: map[string]tokenDef{"h": {lookAhead: "5"}}, users: map[string]userDef{"a": {hotp: "h"}}}
	d := &dataset{prefix: prefix, keys: newKeys(sc.tokens)}
	d.load(t, plain, sc)
	return plain, p, d, &env{sc: sc, data: d}
}

// replaceSecret gives the token a new random secret, as a re-enrolment
// does (more changes in the same modify if also is set), and returns it.
func replaceSecret(t *testing.T, s *slapdtest.Server, dn string, also func(*ldap.ModifyRequest)) []byte {
	t.Helper()
	key := make([]byte, 20)
	_, _ = rand.Read(key)
	registerSecret(string(key))
	req := ldap.NewModifyRequest(dn, nil)
	req.Replace("oathSecret", []string{string(key)})
	if also != nil {
		also(req)
	}
	require.NoError(t, s.Admin(t).Modify(req))
	return key
}

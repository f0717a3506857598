package test

import (
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// copyEntries copies entries verbatim (every user attribute, as the
// rootdn) from one directory to another: the whole "migration".
func copyEntries(t *testing.T, from, to *slapdtest.Server, dns ...string) {
	t.Helper()
	src, dst := from.Admin(t), to.Admin(t)
	for _, dn := range dns {
		res, err := src.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"*"}, nil))
		require.NoError(t, err, "read %s", dn)
		require.Len(t, res.Entries, 1)
		req := ldap.NewAddRequest(dn, nil)
		for _, a := range res.Entries[0].Attributes {
			vals := make([]string, len(a.ByteValues))
			for i, v := range a.ByteValues {
				vals[i] = string(v)
			}
			req.Attribute(a.Name, vals)
		}
		require.NoError(t, dst.Add(req), "add %s", dn)
	}
}

// TestMigration_SlapoOTPAndBack: a directory moves from ldapotp to
// slapo-otp and back with a plain copy of its entries, and the token state
// written by one is honoured by the other (codes spent on one side stay
// spent on the other).
func TestMigration_SlapoOTPAndBack(t *testing.T) {
	sc := scenario{tokens: map[string]tokenDef{"h": {}, "t": {totp: true, window: "1"}},
		users: map[string]userDef{"a": {hotp: "h"}, "b": {totp: "t"}}}
	waitForStepHeadroom(sc)
	d := &dataset{prefix: "mig", keys: newKeys(sc.tokens), step0: map[string]int64{"t": currentStep(30)}}
	e := &env{sc: sc, data: d}
	dns := []string{d.paramsDN("h"), d.paramsDN("t"), d.tokenDN("h"), d.tokenDN("t"), d.userDN("a"), d.userDN("b")}
	bind := func(url, user, pw string) int { return bindCode(t, url, d.userDN(user), pw, 5*time.Second) }

	first := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	d.load(t, first, sc)
	p1 := startProxy(t, first)
	require.Equal(t, 0, bind(p1.URL, "a", pwA+e.hotp("h", 0)))
	require.Equal(t, 0, bind(p1.URL, "b", "secret-b"+e.totp("t", -1)))

	oracle := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Oracle, NoSync: true})
	copyEntries(t, first, oracle, dns...)
	assert.Equal(t, 49, bind(oracle.URL, "a", pwA+e.hotp("h", 0)), "slapo-otp: code spent through ldapotp stays spent")
	assert.Equal(t, 0, bind(oracle.URL, "a", pwA+e.hotp("h", 1)))
	assert.Equal(t, 49, bind(oracle.URL, "b", "secret-b"+e.totp("t", -1)), "slapo-otp: TOTP step spent through ldapotp")
	assert.Equal(t, 0, bind(oracle.URL, "b", "secret-b"+e.totp("t", 0)))

	back := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	copyEntries(t, oracle, back, dns...)
	p2 := startProxy(t, back)
	assert.Equal(t, 49, bind(p2.URL, "a", pwA+e.hotp("h", 1)), "ldapotp: code spent through slapo-otp stays spent")
	assert.Equal(t, 0, bind(p2.URL, "a", pwA+e.hotp("h", 2)))
	assert.Equal(t, 49, bind(p2.URL, "b", "secret-b"+e.totp("t", 0)))
	assert.Equal(t, 0, bind(p2.URL, "b", "secret-b"+e.totp("t", 1)))
	assert.Equal(t, "2", readAttr(t, back.Admin(t), d.tokenDN("h"), counterAttr))
}

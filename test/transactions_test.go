package test

import (
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// TestTransactionsNotRelayed: Start Transaction (RFC 5805) is answered by
// the proxy (53) unless relay_transactions is set; slapd 2.5.13 with
// syncprov crashes committing transactions (docs/security.md).
func TestTransactionsNotRelayed(t *testing.T) {
	s := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	for _, relay := range []bool{false, true} {
		p := startProxy(t, s, func(c *proxy.Config) { c.RelayTransactions = relay })
		c := dial(t, p.URL, 5*time.Second)
		require.NoError(t, c.Bind(s.ServiceDN, s.ServicePassword))
		_, err := c.Extended(ldap.NewExtendedRequest("1.3.6.1.1.21.1", nil))
		if relay {
			assert.NoError(t, err, "relayed: slapd starts the transaction")
			continue
		}
		assert.Equal(t, int(ldap.LDAPResultUnwillingToPerform), resultCode(err))
		_, err = c.Extended(ldap.NewExtendedRequest("1.3.6.1.1.21.3", nil))
		assert.Equal(t, int(ldap.LDAPResultUnwillingToPerform), resultCode(err))
		res, err := c.WhoAmI(nil)
		require.NoError(t, err, "the connection goes on")
		assert.Equal(t, "dn:"+s.ServiceDN, res.AuthzID)
	}
}

// TestTransactionsNotRelayed_AnyTag: slapd reads an ExtendedRequest's name
// whatever its tag, so a Start Transaction whose name is not tagged [0]
// still starts one there; the proxy refuses it all the same.
func TestTransactionsNotRelayed_AnyTag(t *testing.T) {
	s := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	p := startProxy(t, s)
	txnStart := func(id int64, tag ber.Tag, class ber.Class) []byte {
		op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 23, nil, "")
		op.AppendChild(ber.NewString(class, ber.TypePrimitive, tag, "1.3.6.1.1.21.1", ""))
		return message(id, op)
	}
	for _, tc := range []struct {
		name  string
		tag   ber.Tag
		class ber.Class
	}{
		{"OCTET STRING", ber.TagOctetString, ber.ClassUniversal},
		{"[1]", 1, ber.ClassContext},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, target := range []struct {
				url  string
				code int
			}{
				{s.URL, int(ldap.LDAPResultSuccess)},            // slapd itself starts the transaction
				{p.URL, int(ldap.LDAPResultUnwillingToPerform)}, // the proxy does not relay it
			} {
				c := rawDial(t, target.url)
				c.send(simpleBind(1, 3, s.ServiceDN, []byte(s.ServicePassword)))
				_, _, code := result(t, c.read())
				require.Equal(t, 0, code)
				c.send(txnStart(2, tc.tag, tc.class))
				id, tag, code := result(t, c.read())
				assert.Equal(t, int64(2), id)
				assert.Equal(t, 24, tag, "an ExtendedResponse")
				assert.Equal(t, target.code, code, target.url)
			}
		})
	}
}

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

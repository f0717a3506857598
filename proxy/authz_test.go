package proxy

import (
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithProxiedAuthz(t *testing.T) {
	plain := searchRequest(7)
	withClientAuthz := func() []byte {
		p, err := ber.DecodePacketErr(searchRequest(8))
		require.NoError(t, err)
		ctrls := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
		ctrls.AppendChild(ldap.NewControlString(oidProxiedAuthz, true, "dn:cn=admin,dc=example,dc=com").Encode())
		ctrls.AppendChild(ldap.NewControlString("1.2.3.4", false, "keep").Encode())
		p.AppendChild(ctrls)
		return p.Bytes()
	}()
	for name, in := range map[string][]byte{"no-controls": plain, "client-sent-its-own": withClientAuthz} {
		t.Run(name, func(t *testing.T) {
			out, err := withProxiedAuthz(in, "dn:uid=alice,dc=example,dc=com")
			require.NoError(t, err)
			p, err := ber.DecodePacketErr(out)
			require.NoError(t, err)
			env, err := peekEnvelope(out)
			require.NoError(t, err)
			assert.Equal(t, tagSearchRequest, env.Tag)
			require.Len(t, p.Children, 3)
			var authz []string
			var others int
			for _, c := range p.Children[2].Children {
				ctrl, err := ldap.DecodeControl(c)
				require.NoError(t, err)
				if ctrl.GetControlType() == oidProxiedAuthz {
					authz = append(authz, ctrl.(*ldap.ControlString).ControlValue)
					assert.True(t, ctrl.(*ldap.ControlString).Criticality)
				} else {
					others++
				}
			}
			assert.Equal(t, []string{"dn:uid=alice,dc=example,dc=com"}, authz, "exactly ours")
			if name == "client-sent-its-own" {
				assert.Equal(t, 1, others, "other controls kept")
			}
		})
	}
	_, err := withProxiedAuthz([]byte{0x30, 0x03, 0x02, 0x01}, "dn:x")
	assert.ErrorIs(t, err, ErrMalformed)
}

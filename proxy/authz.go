package proxy

import (
	"fmt"
)

// oidProxiedAuthz is the proxied authorization control (RFC 4370).
const oidProxiedAuthz = "2.16.840.1.113730.3.4.18"

// element splits b into its first BER element (whole, with tag and length)
// and the rest. Only single-octet tags and definite lengths (as LDAP
// requires) are accepted.
func element(b []byte) (elem, rest []byte, err error) {
	if len(b) < 2 || b[0]&0x1f == 0x1f {
		return nil, nil, fmt.Errorf("%w: bad element", ErrMalformed)
	}
	_, after, err := tlv(b, b[0])
	if err != nil {
		return nil, nil, err
	}
	n := len(b) - len(after)
	return b[:n], after, nil
}

// proxiedAuthzControl encodes the control acting for authzID, critical as
// RFC 4370 requires.
func proxiedAuthzControl(authzID string) []byte {
	var c []byte
	c = appendTLV(c, 0x04, oidProxiedAuthz)
	c = appendTLV(c, 0x01, []byte{0xff})
	c = appendTLV(c, 0x04, authzID)
	return appendTLV(nil, 0x30, c)
}

// withProxiedAuthz returns msg with the proxied-authorization control for
// authzID added, and any such control the client sent removed (a client
// must not choose whom the service account acts for).
func withProxiedAuthz(msg []byte, authzID string) ([]byte, error) {
	body, _, err := tlv(msg, 0x30)
	if err != nil {
		return nil, err
	}
	id, rest, err := element(body)
	if err != nil {
		return nil, err
	}
	op, rest, err := element(rest)
	if err != nil {
		return nil, err
	}
	var controls []byte
	if len(rest) > 0 {
		if controls, _, err = tlv(rest, 0xa0); err != nil {
			return nil, err
		}
	}
	kept, err := dropControl(controls, oidProxiedAuthz)
	if err != nil {
		return nil, err
	}
	kept = append(kept, proxiedAuthzControl(authzID)...)
	out := append(append(append([]byte(nil), id...), op...), appendTLV(nil, 0xa0, kept)...)
	return appendTLV(nil, 0x30, out), nil
}

// dropControl returns the controls (the content of [0] Controls) without
// those of type oid.
func dropControl(controls []byte, oid string) ([]byte, error) {
	var kept []byte
	for len(controls) > 0 {
		c, rest, err := element(controls)
		if err != nil {
			return nil, err
		}
		content, _, err := tlv(c, 0x30)
		if err != nil {
			return nil, err
		}
		typ, _, err := tlv(content, 0x04)
		if err != nil {
			return nil, err
		}
		if string(typ) != oid {
			kept = append(kept, c...)
		}
		controls = rest
	}
	return kept, nil
}

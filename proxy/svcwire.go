package proxy

import (
	"fmt"

	"github.com/ldapotp/ldapotp/schema"
)

// The requests and answers of the service connections, encoded and parsed
// directly on byte slices (RFC 4511 §4.5.1, §4.6; RFC 4528 for the
// assertion control). Only what the bind path asks is covered: base-object
// reads and compare-and-swap modifies.

// BER identifier octets used below.
const (
	berBoolean     = 0x01
	berInteger     = 0x02
	berOctetString = 0x04
	berEnumerated  = 0x0a
	berSequence    = 0x30
	berSet         = 0x31
	berPresent     = 0x87 // Filter.present [7], primitive
	berEquality    = 0xa3 // Filter.equalityMatch [3], constructed
	berAnd         = 0xa0 // Filter.and [0], constructed
	berOr          = 0xa1 // Filter.or [1], constructed
	berControls    = 0xa0 // LDAPMessage.controls [0], constructed
)

// appendLength appends a BER definite length.
func appendLength(dst []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n <= 0xff:
		return append(dst, 0x81, byte(n))
	case n <= 0xffff:
		return append(dst, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// appendTLV appends one element with the given identifier and content.
func appendTLV[T ~string | ~[]byte](dst []byte, id byte, content T) []byte {
	dst = appendLength(append(dst, id), len(content))
	return append(dst, content...)
}

// appendInt appends a non-negative INTEGER or ENUMERATED.
func appendInt(dst []byte, id byte, v int64) []byte {
	n := 1
	for x := v; x > 0x7f; x >>= 8 {
		n++
	}
	dst = append(dst, id, byte(n))
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}

// encodeMessage wraps a protocol operation (its identifier and content)
// and optional controls (a complete [0] element) into an LDAPMessage.
func encodeMessage(id int32, opID byte, op, controls []byte) []byte {
	body := appendInt(make([]byte, 0, 8+len(op)+len(controls)), berInteger, int64(id))
	body = appendTLV(body, opID, op)
	body = append(body, controls...)
	msg := appendTLV(make([]byte, 0, len(body)+6), berSequence, body)
	clear(body)
	return msg
}

// encodeBaseRead builds a base-object search for dn returning attrs, with
// the filter (objectClass=*).
func encodeBaseRead(id int32, dn string, attrs []string, timeLimit int) []byte {
	return encodeSearch(id, dn, scopeBase, 1, timeLimit, presentObjectClass, attrs)
}

// Search scopes (RFC 4511 §4.5.1.2).
const (
	scopeBase     = 0
	scopeOneLevel = 1
)

// presentObjectClass is the filter (objectClass=*).
var presentObjectClass = appendTLV(nil, berPresent, "objectClass")

// encodeSearch builds a SearchRequest; filter is an encoded Filter.
func encodeSearch(id int32, base string, scope, sizeLimit, timeLimit int, filter []byte, attrs []string) []byte {
	var list []byte
	for _, a := range attrs {
		list = appendTLV(list, berOctetString, a)
	}
	op := make([]byte, 0, len(base)+len(filter)+len(list)+32)
	op = appendTLV(op, berOctetString, base)
	op = appendInt(op, berEnumerated, int64(scope))
	op = appendInt(op, berEnumerated, 0) // derefAliases: never
	op = appendInt(op, berInteger, int64(sizeLimit))
	op = appendInt(op, berInteger, int64(timeLimit))
	op = append(op, berBoolean, 1, 0) // typesOnly: false
	op = append(op, filter...)
	op = appendTLV(op, berSequence, list)
	return encodeMessage(id, 0x60|tagSearchRequest, op, nil)
}

// encodeSwap builds the modify of Directory.Swap: per swap a delete of the
// old value (unless there is none) and an add of the new one, and, if
// assert is set, a critical assertion control. Intermediate buffers that
// held the asserted value are cleared.
func encodeSwap(id int32, dn string, swaps []Swap, assert *Assertion) []byte {
	var changes []byte
	for _, s := range swaps {
		if s.Old != "" {
			changes = appendChange(changes, 1, s.Attr, s.Old) // delete
		}
		changes = appendChange(changes, 0, s.Attr, s.New) // add
	}
	op := appendTLV(appendTLV(nil, berOctetString, dn), berSequence, changes)
	var controls []byte
	if assert != nil {
		ava := appendTLV(appendTLV(nil, berOctetString, assert.Attr), berOctetString, assert.Value)
		filter := appendTLV(nil, berEquality, ava)
		ctrl := appendTLV(appendTLV(nil, berOctetString, oidAssertion), berBoolean, []byte{0xff})
		ctrl = appendTLV(ctrl, berOctetString, filter)
		controls = appendTLV(nil, berControls, appendTLV(nil, berSequence, ctrl))
		clear(ava)
		clear(filter)
		clear(ctrl)
	}
	msg := encodeMessage(id, 0x60|tagModifyRequest, op, controls)
	clear(controls)
	return msg
}

// appendChange appends one modify change (operation 0 add, 1 delete) of a
// single value.
func appendChange(dst []byte, operation int64, attr, value string) []byte {
	partial := appendTLV(nil, berOctetString, attr)
	partial = appendTLV(partial, berSet, appendTLV(nil, berOctetString, value))
	change := appendTLV(appendInt(nil, berEnumerated, operation), berSequence, partial)
	return appendTLV(dst, berSequence, change)
}

// splitMessage returns the message ID, the protocol operation's tag and
// its content.
func splitMessage(msg []byte) (id int64, tag int, op []byte, err error) {
	body, _, err := tlv(msg, berSequence)
	if err != nil {
		return 0, 0, nil, err
	}
	idBytes, rest, err := tlv(body, berInteger)
	if err != nil {
		return 0, 0, nil, err
	}
	if id, err = parseUint(idBytes); err != nil {
		return 0, 0, nil, fmt.Errorf("%w: message id: %w", ErrMalformed, err)
	}
	if len(rest) == 0 || rest[0]&0xc0 != 0x40 || rest[0]&0x1f == 0x1f {
		return 0, 0, nil, fmt.Errorf("%w: no protocol operation", ErrMalformed)
	}
	if op, _, err = tlv(rest, rest[0]); err != nil {
		return 0, 0, nil, err
	}
	return id, int(rest[0] & 0x1f), op, nil
}

// parseUint parses a non-negative INTEGER or ENUMERATED of up to 4 bytes.
func parseUint(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 4 || b[0]&0x80 != 0 {
		return 0, fmt.Errorf("%d bytes, or negative", len(b))
	}
	var v int64
	for _, c := range b {
		v = v<<8 | int64(c)
	}
	return v, nil
}

// parseLDAPResult reads resultCode and diagnosticMessage of an
// LDAPResult-shaped operation.
func parseLDAPResult(op []byte) (ResultCode, string, error) {
	r, _, err := ldapResult(op)
	return r.Code, r.Message, err
}

// ldapResult reads the three LDAPResult components at the start of op and
// returns what follows them (referral, serverSaslCreds, …).
func ldapResult(op []byte) (result, []byte, error) {
	codeBytes, rest, err := tlv(op, berEnumerated)
	if err != nil {
		return result{}, nil, err
	}
	code, err := parseUint(codeBytes)
	if err != nil {
		return result{}, nil, fmt.Errorf("%w: result code: %w", ErrMalformed, err)
	}
	matched, rest, err := tlv(rest, berOctetString)
	if err != nil {
		return result{}, nil, err
	}
	message, rest, err := tlv(rest, berOctetString)
	if err != nil {
		return result{}, nil, err
	}
	return result{Code: ResultCode(code), MatchedDN: string(matched), Message: string(message)}, rest, nil
}

// parseSearchEntry reads a SearchResultEntry. The values share memory
// with op.
func parseSearchEntry(op []byte) (schema.Entry, error) {
	dn, rest, err := tlv(op, berOctetString)
	if err != nil {
		return schema.Entry{}, err
	}
	list, _, err := tlv(rest, berSequence)
	if err != nil {
		return schema.Entry{}, err
	}
	e := schema.Entry{DN: string(dn), Attributes: map[string][][]byte{}}
	for len(list) > 0 {
		var attr, name, set []byte
		if attr, list, err = tlv(list, berSequence); err != nil {
			return schema.Entry{}, err
		}
		if name, attr, err = tlv(attr, berOctetString); err != nil {
			return schema.Entry{}, err
		}
		if set, _, err = tlv(attr, berSet); err != nil {
			return schema.Entry{}, err
		}
		var vals [][]byte
		for len(set) > 0 {
			var v []byte
			if v, set, err = tlv(set, berOctetString); err != nil {
				return schema.Entry{}, err
			}
			vals = append(vals, v)
		}
		e.Attributes[string(name)] = vals
	}
	return e, nil
}

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

// berWriter encodes nested BER elements into one buffer: start writes an
// identifier and a one-byte length, end fills the length in, moving the
// element's content up when its length takes more bytes. A message costs
// one allocation when its size was guessed right. A buffer that has to
// grow is cleared behind it, so a password or secret written into it is
// not left in a copy.
type berWriter struct {
	b     []byte
	open  [8]int // where the lengths of the open elements are
	depth int
}

// newMessage starts an LDAPMessage with its message ID and opens its
// protocol operation; size is the guess of the operation's content.
func newMessage(size int, id int64, opID byte) berWriter {
	w := berWriter{b: make([]byte, 0, size+24)}
	w.start(berSequence)
	w.integer(berInteger, id)
	w.start(opID)
	return w
}

// reserve makes room for n more bytes.
func (w *berWriter) reserve(n int) {
	if len(w.b)+n <= cap(w.b) {
		return
	}
	b := make([]byte, len(w.b), 2*cap(w.b)+n)
	copy(b, w.b)
	clear(w.b)
	w.b = b
}

// start opens a constructed element.
func (w *berWriter) start(id byte) {
	w.reserve(2)
	w.b = append(w.b, id, 0)
	w.open[w.depth] = len(w.b) - 1
	w.depth++
}

// end closes the element opened last.
func (w *berWriter) end() {
	w.depth--
	at := w.open[w.depth]
	n := len(w.b) - at - 1
	if n < 0x80 {
		w.b[at] = byte(n)
		return
	}
	k := 1
	for x := n >> 8; x > 0; x >>= 8 {
		k++
	}
	w.reserve(k)
	w.b = w.b[:len(w.b)+k]
	copy(w.b[at+1+k:], w.b[at+1:len(w.b)-k])
	w.b[at] = 0x80 | byte(k)
	for i := range k {
		w.b[at+1+i] = byte(n >> (8 * (k - 1 - i)))
	}
}

// str writes a primitive element holding s.
func (w *berWriter) str(id byte, s string) {
	w.reserve(len(s) + 6)
	w.b = appendTLV(w.b, id, s)
}

// octets writes a primitive element holding v.
func (w *berWriter) octets(id byte, v []byte) {
	w.reserve(len(v) + 6)
	w.b = appendTLV(w.b, id, v)
}

// integer writes a non-negative INTEGER or ENUMERATED.
func (w *berWriter) integer(id byte, v int64) {
	w.reserve(10)
	w.b = appendInt(w.b, id, v)
}

// raw writes bytes that are already encoded.
func (w *berWriter) raw(b ...byte) {
	w.reserve(len(b))
	w.b = append(w.b, b...)
}

// done closes the operation and the message and returns the message.
func (w *berWriter) done() []byte {
	for w.depth > 0 {
		w.end()
	}
	return w.b
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
	size := len(base) + len(filter) + 32
	for _, a := range attrs {
		size += len(a) + 2
	}
	w := newMessage(size, int64(id), 0x60|tagSearchRequest)
	w.str(berOctetString, base)
	w.integer(berEnumerated, int64(scope))
	w.integer(berEnumerated, 0) // derefAliases: never
	w.integer(berInteger, int64(sizeLimit))
	w.integer(berInteger, int64(timeLimit))
	w.raw(berBoolean, 1, 0) // typesOnly: false
	w.raw(filter...)
	w.start(berSequence)
	for _, a := range attrs {
		w.str(berOctetString, a)
	}
	w.end()
	return w.done()
}

// encodeSwap builds the modify of Directory.Swap: per swap a delete of the
// old value (unless there is none) and an add of the new one, and, if
// assert is set, a critical assertion control.
func encodeSwap(id int32, dn string, swaps []Swap, assert *Assertion) []byte {
	size := len(dn) + 8
	for _, s := range swaps {
		size += 2*len(s.Attr) + len(s.Old) + len(s.New) + 48
	}
	if assert != nil {
		size += len(oidAssertion) + len(assert.Attr) + len(assert.Value) + 32
	}
	w := newMessage(size, int64(id), 0x60|tagModifyRequest)
	w.str(berOctetString, dn)
	w.start(berSequence)
	for _, s := range swaps {
		if s.Old != "" {
			w.change(1, s.Attr, s.Old) // delete
		}
		w.change(0, s.Attr, s.New) // add
	}
	w.end()
	w.end() // the operation
	if assert != nil {
		w.start(berControls)
		w.start(berSequence)
		w.str(berOctetString, oidAssertion)
		w.raw(berBoolean, 1, 0xff) // criticality: true
		w.start(berOctetString)    // controlValue: the Filter
		w.start(berEquality)
		w.str(berOctetString, assert.Attr)
		w.octets(berOctetString, assert.Value)
	}
	return w.done()
}

// change writes one modify change (operation 0 add, 1 delete) of a single
// value.
func (w *berWriter) change(operation int64, attr, value string) {
	w.start(berSequence)
	w.integer(berEnumerated, operation)
	w.start(berSequence)
	w.str(berOctetString, attr)
	w.start(berSet)
	w.str(berOctetString, value)
	w.end()
	w.end()
	w.end()
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

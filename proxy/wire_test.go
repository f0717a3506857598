package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadMessage(t *testing.T) {
	bind := encodeSimpleBind(7, "cn=a,dc=x", NewSecret([]byte("pw")), nil)
	tests := []struct {
		name string
		in   []byte
		max  int
		want error
	}{
		{"whole-message", bind, 1 << 10, nil},
		{"over-limit-before-allocating", []byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff}, 1 << 20, ErrMessageTooLarge},
		{"indefinite-length", []byte{0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00}, 1 << 10, ErrMalformed},
		{"five-length-octets", []byte{0x30, 0x85, 0, 0, 0, 0, 1}, 1 << 10, ErrMalformed},
		{"not-a-sequence", []byte{0x04, 0x01, 0x00}, 1 << 10, ErrMalformed},
		{"truncated-body", bind[:len(bind)-1], 1 << 10, io.ErrUnexpectedEOF},
		{"truncated-length", []byte{0x30, 0x82, 0x01}, 1 << 10, io.ErrUnexpectedEOF},
		{"empty", nil, 1 << 10, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readMessage(bufio.NewReader(bytes.NewReader(tt.in)), tt.max)
			if tt.want != nil {
				assert.True(t, errors.Is(err, tt.want), "err = %v, want %v", err, tt.want)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.in, got)
		})
	}
}

func TestPeekEnvelope(t *testing.T) {
	env, err := peekEnvelope(encodeSimpleBind(300, "", Secret{}, nil))
	require.NoError(t, err)
	assert.Equal(t, envelope{ID: 300, Tag: tagBindRequest}, env)

	for name, in := range map[string][]byte{
		"no-id":            {0x30, 0x02, 0x60, 0x00},
		"negative-id":      {0x30, 0x05, 0x02, 0x01, 0xff, 0x42, 0x00},
		"id-too-long":      {0x30, 0x09, 0x02, 0x05, 1, 2, 3, 4, 5, 0x42, 0x00},
		"no-op":            {0x30, 0x03, 0x02, 0x01, 0x01},
		"universal-op":     {0x30, 0x05, 0x02, 0x01, 0x01, 0x04, 0x00},
		"length-past-end":  {0x30, 0x05, 0x02, 0x09, 0x01},
		"empty":            {},
		"high-tag-form-op": {0x30, 0x06, 0x02, 0x01, 0x01, 0x7f, 0x01, 0x00},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := peekEnvelope(in)
			assert.ErrorIs(t, err, ErrMalformed)
		})
	}
}

// TestExtendedOID: the requestName is read whatever its tag, as slapd
// reads it, so that no spelling of TxnStart or StartTLS gets past the
// proxy's checks; a name slapd would read differently is refused.
func TestExtendedOID(t *testing.T) {
	extended := func(op ...byte) []byte {
		return appendTLV(nil, 0x30, append([]byte{0x02, 0x01, 0x01}, appendTLV(nil, 0x77, op)...))
	}
	for name, tc := range map[string]struct {
		msg []byte
		oid string
		ok  bool
	}{
		"[0] name":                {extended(appendTLV(nil, 0x80, oidTxnStart)...), oidTxnStart, true},
		"OCTET STRING name":       {extended(appendTLV(nil, 0x04, oidTxnStart)...), oidTxnStart, true},
		"[1] name":                {extended(appendTLV(nil, 0x81, oidTxnEnd)...), oidTxnEnd, true},
		"constructed name":        {extended(appendTLV(nil, 0xa0, oidStartTLS)...), oidStartTLS, true},
		"name and value":          {extended(append(appendTLV(nil, 0x80, oidTxnEnd), appendTLV(nil, 0x81, "x")...)...), oidTxnEnd, true},
		"no name":                 {extended(), "", true},
		"multi-byte tag":          {extended(append([]byte{0x9f, 0x20, byte(len(oidTxnStart))}, oidTxnStart...)...), "", false},
		"name longer than its op": {extended(0x80, 0x7f, '1'), "", false},
		"truncated":               {extended(appendTLV(nil, 0x80, oidStartTLS)...)[:10], "", false},
	} {
		t.Run(name, func(t *testing.T) {
			oid, ok := extendedOID(tc.msg)
			assert.Equal(t, tc.oid, oid)
			assert.Equal(t, tc.ok, ok)
		})
	}
}

// FuzzReadMessage feeds arbitrary bytes to the framing and envelope code:
// it must never panic, and whatever it accepts must be a well-framed
// message no longer than the limit.
func FuzzReadMessage(f *testing.F) {
	f.Add(encodeSimpleBind(1, "cn=x", NewSecret([]byte("secret123456")), nil))
	f.Add([]byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, in []byte) {
		msg, err := readMessage(bufio.NewReader(bytes.NewReader(in)), 4096)
		if err != nil {
			return
		}
		if len(msg) > 4096+6 {
			t.Fatalf("accepted %d bytes over the limit", len(msg))
		}
		if env, err := peekEnvelope(msg); err == nil && env.Tag == tagBindRequest {
			var req BindRequest
			_ = decodeBind(msg, &req)
		}
		_, _ = extendedOID(msg)
	})
}

// bindBER is a simple BindRequest built with asn1-ber, the reference the
// byte-level encoder and decoder are held to.
func bindBER(id int64, dn string, pw []byte, controls *ber.Packet) []byte {
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAPMessage")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "messageID"))
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tagBindRequest, nil, "BindRequest")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(3), "version"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "name"))
	simple := ber.Encode(ber.ClassContext, ber.TypePrimitive, 0, nil, "simple")
	simple.Data.Write(pw)
	op.AppendChild(simple)
	msg.AppendChild(op)
	if controls != nil {
		msg.AppendChild(controls)
	}
	return msg.Bytes()
}

// The byte-level encoders and decoders of a bind write and read exactly
// what asn1-ber does.
func TestBindFastPathsMatchBER(t *testing.T) {
	long := strings.Repeat("x", 70000)
	for _, id := range []int64{0, 1, 127, 128, 255, 256, 65535, 1<<31 - 1} {
		for _, code := range []ResultCode{Success, InvalidCredentials, Other, assertionFailed, 4096} {
			for _, text := range []string{"", "uid=a,dc=x", long} {
				r := result{Code: code, MatchedDN: text, Message: "m" + text}
				fast := encodeResponse(id, tagBindResponse, r)
				require.Equal(t, encodeResponseBER(id, tagBindResponse, r), fast, "id %d code %d", id, code)
				got, err := parseBindResponse(fast)
				require.NoError(t, err)
				assert.Equal(t, r, got)
			}
			pw := []byte("secret" + fmt.Sprint(id))
			fast := encodeSimpleBind(id, "uid=a,dc=x", NewSecret(pw), nil)
			require.Equal(t, bindBER(id, "uid=a,dc=x", pw, nil), fast)
			var a BindRequest
			require.NoError(t, decodeBind(fast, &a))
			assert.Equal(t, []any{"uid=a,dc=x", int64(3), pw}, []any{a.DN, a.Version, a.Password.Bytes()})
		}
	}

	ctrl := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
	c := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	c.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "1.3.6.1.4.1.42.2.27.8.5.1", "ppolicy"))
	ctrl.AppendChild(c)
	withCtrl := encodeResponse(7, tagBindResponse, result{Code: InvalidCredentials, Controls: ctrl})
	got, err := parseBindResponse(withCtrl)
	require.NoError(t, err)
	require.NotNil(t, got.Controls, "controls of the upstream's answer are kept")
	assert.Equal(t, InvalidCredentials, got.Code)

	bind := bindBER(9, "uid=a,dc=x", []byte("pw"), ctrl)
	var req BindRequest
	require.NoError(t, decodeBind(bind, &req))
	assert.Equal(t, ctrl.Bytes(), req.Controls, "controls are kept as sent")
	assert.Equal(t, "pw", string(req.Password.Bytes()))
	assert.Equal(t, bindBER(9, "uid=a,dc=x", []byte("pw"), ctrl), encodeSimpleBind(9, "uid=a,dc=x", NewSecret([]byte("pw")), req.Controls),
		"and passed on")

	plain := encodeSimpleBind(3, "uid=b", NewSecret([]byte("hunter2")), nil)
	require.NoError(t, decodeBind(plain, &req))
	assert.NotContains(t, string(plain), "hunter2", "the password is cleared in the message read")
}

// BenchmarkBindWire: the messages of one simple bind (the client's
// request read, the upstream request written, its answer read, the
// client's answer written), byte-level against asn1-ber.
func BenchmarkBindWire(b *testing.B) {
	pw := NewSecret([]byte("secret-a123456"))
	answer := encodeResponse(5, tagBindResponse, result{Code: Success})
	b.Run("bytes", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var req BindRequest
			if err := decodeBind(encodeSimpleBind(5, "uid=alice,ou=people,dc=example,dc=com", pw, nil), &req); err != nil {
				b.Fatal(err)
			}
			if _, err := parseBindResponse(answer); err != nil {
				b.Fatal(err)
			}
			_ = encodeResponse(5, tagBindResponse, result{Code: Success})
		}
	})
	b.Run("asn1-ber", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := ber.DecodePacketErr(bindBER(5, "uid=alice,ou=people,dc=example,dc=com", pw.Bytes(), nil)); err != nil {
				b.Fatal(err)
			}
			p, err := ber.DecodePacketErr(answer)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := parseResult(p); err != nil {
				b.Fatal(err)
			}
			_ = encodeResponseBER(5, tagBindResponse, result{Code: Success})
		}
	})
}

// TestBERWriter_Lengths: nested elements whose lengths take one to four
// bytes decode as written.
func TestBERWriter_Lengths(t *testing.T) {
	for _, n := range []int{0, 127, 128, 255, 256, 65535, 65536, 1 << 24} {
		v := strings.Repeat("v", n)
		w := newMessage(0, 7, 0x60|tagCompareRequest) // a size guess far too small: the buffer grows
		w.start(berSequence)
		w.str(berOctetString, v)
		w.end()
		p, err := ber.DecodePacketErr(w.done())
		require.NoError(t, err, n)
		require.Len(t, p.Children, 2)
		assert.Equal(t, int64(7), p.Children[0].Value)
		got := p.Children[1].Children[0].Children[0].Data.String()
		assert.Equal(t, n, len(got))
		assert.Equal(t, v, got)
	}
}

// TestBERWriter_GrowClears: the array a growing message leaves behind
// holds nothing of what was written into it.
func TestBERWriter_GrowClears(t *testing.T) {
	w := newMessage(0, 1, 0x60|tagBindRequest)
	w.octets(0x80, []byte("secret-one"))
	old := w.b[:cap(w.b)]
	require.True(t, bytes.Contains(old, []byte("secret-one")))
	w.octets(0x80, bytes.Repeat([]byte("x"), 2*cap(w.b))) // cannot fit: grows
	assert.Equal(t, make([]byte, len(old)), old, "the old array is cleared")
	assert.True(t, bytes.Contains(w.done(), []byte("secret-one")))
}

// BenchmarkEncodeSwap: the counter write of an OTP bind, with its
// assertion control.
func BenchmarkEncodeSwap(b *testing.B) {
	b.ReportAllocs()
	swaps := []Swap{{Attr: "oathHOTPCounter", Old: "1234", New: "1235"}}
	as := &Assertion{Attr: "oathSecret", Value: []byte("12345678901234567890")}
	for b.Loop() {
		_ = encodeSwap(42, "cn=alice-hotp,ou=tokens,dc=example,dc=com", swaps, as)
	}
}

// TestDecodeBind_Shapes: what a bind request may carry, and what it may
// not, read without asn1-ber.
func TestDecodeBind_Shapes(t *testing.T) {
	bind := func(auth []byte, rest ...byte) []byte {
		op := append(appendTLV([]byte{0x02, 0x01, 0x03}, berOctetString, "uid=a"), auth...)
		return appendTLV(nil, berSequence, append(append([]byte{0x02, 0x01, 0x05}, appendTLV(nil, 0x60, op)...), rest...))
	}
	simple := appendTLV(nil, 0x80, "pw")
	control := appendTLV(nil, berSequence, appendTLV(nil, berOctetString, "1.2.3"))
	for name, tc := range map[string]struct {
		msg  []byte
		err  bool
		sasl string
	}{
		"simple":                     {msg: bind(simple)},
		"simple with controls":       {msg: bind(simple, appendTLV(nil, berControls, append(control, control...))...)},
		"sasl":                       {msg: bind(appendTLV(nil, 0xa3, appendTLV(nil, berOctetString, "EXTERNAL"))), sasl: "EXTERNAL"},
		"sasl without a mechanism":   {msg: bind(appendTLV(nil, 0xa3, "")), err: true},
		"unknown choice":             {msg: bind(appendTLV(nil, 0x81, "pw")), err: true},
		"no choice":                  {msg: bind(nil), err: true},
		"bytes after the choice":     {msg: bind(append(simple, 0x04, 0x00)), err: true},
		"control not a sequence":     {msg: bind(simple, appendTLV(nil, berControls, []byte{0x04, 0x00})...), err: true},
		"control without a type":     {msg: bind(simple, appendTLV(nil, berControls, appendTLV(nil, berSequence, ""))...), err: true},
		"bytes after the controls":   {msg: bind(simple, append(appendTLV(nil, berControls, control), 0x04, 0x00)...), err: true},
		"something else as controls": {msg: bind(simple, appendTLV(nil, 0x81, "x")...), err: true},
	} {
		t.Run(name, func(t *testing.T) {
			var req BindRequest
			err := decodeBind(tc.msg, &req)
			if tc.err {
				assert.ErrorIs(t, err, ErrMalformed)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "uid=a", req.DN)
			assert.Equal(t, tc.sasl, req.SASL)
		})
	}
}

// TestDecodeBind_ControlsCostTheirSize: a bind's controls cost the proxy
// about their own size, whatever their number (asn1-ber built a packet of
// about 200 bytes for each 2 bytes of them).
func TestDecodeBind_ControlsCostTheirSize(t *testing.T) {
	control := appendTLV(nil, berSequence, appendTLV(nil, berOctetString, ""))
	list := bytes.Repeat(control, 100_000)
	controls := appendTLV(nil, berControls, list)
	msg := bindBER(1, "uid=a", []byte("pw"), nil)
	msg = appendTLV(nil, berSequence, append(msg[2:], controls...))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var req BindRequest
	require.NoError(t, decodeBind(msg, &req))
	runtime.ReadMemStats(&after)
	assert.True(t, bytes.Equal(controls, req.Controls), "the controls are kept as sent")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(2*len(msg)), "bytes allocated for a %d-byte bind", len(msg))
}

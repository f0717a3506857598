package test

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// rawClient speaks bytes to a listener, for inputs no LDAP library sends.
type rawClient struct {
	t  *testing.T
	nc net.Conn
}

func rawDial(t *testing.T, url string) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "ldap://"), 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc}
}

func (r *rawClient) send(b []byte) {
	r.t.Helper()
	_ = r.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := r.nc.Write(b)
	require.NoError(r.t, err)
}

// read returns the next message, or nil once the server closed the
// connection (or sent nothing for 5 s).
func (r *rawClient) read() *ber.Packet {
	_ = r.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	p, err := ber.ReadPacket(r.nc)
	if err != nil {
		return nil
	}
	return p
}

// result returns (message ID, application tag, result code) of a response.
func result(t *testing.T, p *ber.Packet) (int64, int, int) {
	t.Helper()
	require.NotNil(t, p, "expected a response, the connection was closed")
	require.GreaterOrEqual(t, len(p.Children), 2)
	op := p.Children[1]
	id, _ := p.Children[0].Value.(int64)
	code := -1
	if len(op.Children) > 0 {
		if c, ok := op.Children[0].Value.(int64); ok {
			code = int(c)
		}
	}
	return id, int(op.Tag), code
}

func message(id int64, op *ber.Packet) []byte {
	m := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	m.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	m.AppendChild(op)
	return m.Bytes()
}

func simpleBind(id, version int64, dn string, pw []byte) []byte {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 0, nil, "")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, version, ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, ""))
	p := ber.Encode(ber.ClassContext, ber.TypePrimitive, 0, nil, "")
	p.Data.Write(pw)
	op.AppendChild(p)
	return message(id, op)
}

func saslBind(id int64, dn, mech string) []byte {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 0, nil, "")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(3), ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, ""))
	sasl := ber.Encode(ber.ClassContext, ber.TypeConstructed, 3, nil, "")
	sasl.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, mech, ""))
	op.AppendChild(sasl)
	return message(id, op)
}

func abandon(id, target int64) []byte {
	return message(id, ber.NewInteger(ber.ClassApplication, ber.TypePrimitive, 16, target, ""))
}

// hostileSetup is one proxy in front of one slapd with an OTP user.
type hostileSetup struct {
	url  string
	dn   string
	e    *env
	next int64 // next unused HOTP counter
}

func newHostileSetup(t *testing.T) *hostileSetup {
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	p := startProxy(t, plain)
	sc := scenario{tokens: map[string]tokenDef{"h": {}}, users: map[string]userDef{"a": {hotp: "h"}}}
	d := &dataset{prefix: "hostile", keys: newKeys(sc.tokens)}
	d.load(t, plain, sc)
	return &hostileSetup{url: p.URL, dn: d.userDN("a"), e: &env{sc: sc, data: d}}
}

// stillServing checks that a normal two-factor bind works on a new
// connection.
func (h *hostileSetup) stillServing(t *testing.T) {
	t.Helper()
	pw := pwA + h.e.hotp("h", h.next)
	h.next++
	assert.Equal(t, 0, bindCode(t, h.url, h.dn, pw, 5*time.Second), "the proxy keeps serving")
}

// TestHostile_Binds: each hostile bind gets a defined LDAP result and the
// proxy keeps serving.
func TestHostile_Binds(t *testing.T) {
	h := newHostileSetup(t)
	big := bytes.Repeat([]byte("x"), 1<<20)
	tests := []struct {
		name string
		msg  []byte
		want []int // acceptable result codes
	}{
		{"filter-injection-in-dn", simpleBind(1, 3, "uid=a*)(uid=*,ou=people,dc=example,dc=com", []byte("pw123456")), []int{34, 49}},
		{"nul-in-dn", simpleBind(1, 3, h.dn+"\x00", []byte("pw123456")), []int{34, 49}},
		{"nul-in-password", simpleBind(1, 3, h.dn, []byte("secret-a\x00123456")), []int{49}},
		{"non-utf8-dn", simpleBind(1, 3, "uid=\xff\xfe,dc=example,dc=com", []byte("pw")), []int{34, 49}},
		{"one-mib-password", simpleBind(1, 3, h.dn, big), []int{49}},
		{"one-mib-dn", simpleBind(1, 3, "uid="+string(big), []byte("pw")), []int{34}},
		{"unauthenticated", simpleBind(1, 3, h.dn, nil), []int{53}},
		{"empty-dn-with-password", simpleBind(1, 3, "", []byte("pw")), []int{49}},
		{"anonymous-disallowed", simpleBind(1, 3, "", nil), []int{48}},
		{"ldap-v2", simpleBind(1, 2, h.dn, []byte("pw")), []int{2}},
		{"sasl-external", saslBind(1, "", "EXTERNAL"), []int{7}},
		{"sasl-plain", saslBind(1, h.dn, "PLAIN"), []int{7}},
		{"huge-message-id", simpleBind(2147483647, 3, h.dn, []byte("pw123456")), []int{49}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := rawDial(t, h.url)
			c.send(tt.msg)
			_, tag, code := result(t, c.read())
			assert.Equal(t, 1, tag, "a BindResponse")
			assert.Contains(t, tt.want, code)
		})
	}
	h.stillServing(t)
}

// TestHostile_Sequences: bind during bind, operations before bind, and an
// abandon of a bind.
func TestHostile_Sequences(t *testing.T) {
	h := newHostileSetup(t)
	t.Run("bind-during-bind", func(t *testing.T) {
		c := rawDial(t, h.url)
		c.send(append(simpleBind(1, 3, h.dn, []byte("wrong123456")), simpleBind(2, 3, h.dn, []byte(pwA+h.e.hotp("h", h.next)))...))
		h.next++
		id1, _, code1 := result(t, c.read())
		id2, _, code2 := result(t, c.read())
		assert.Equal(t, []int64{1, 2}, []int64{id1, id2}, "answered in order")
		assert.Equal(t, []int{49, 0}, []int{code1, code2})
	})
	t.Run("search-before-bind", func(t *testing.T) {
		c := dial(t, h.url, 5*time.Second)
		_, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil))
		assert.NoError(t, err)
	})
	t.Run("abandon-of-a-bind", func(t *testing.T) {
		c := rawDial(t, h.url)
		c.send(append(simpleBind(1, 3, h.dn, []byte("wrong123456")), abandon(2, 1)...))
		_, tag, code := result(t, c.read())
		assert.Equal(t, []int{1, 49}, []int{tag, code})
		c.send(simpleBind(3, 3, h.dn, []byte(pwA+h.e.hotp("h", h.next))))
		h.next++
		id, _, code := result(t, c.read())
		assert.Equal(t, []int{3, 0}, []int{int(id), code}, "the connection is still usable")
	})
	h.stillServing(t)
}

// TestHostile_Frames: malformed BER closes the connection with a notice of
// disconnection (or silently); the proxy keeps serving.
func TestHostile_Frames(t *testing.T) {
	h := newHostileSetup(t)
	frames := map[string][]byte{
		"not-a-sequence":           {0x04, 0x03, 'a', 'b', 'c'},
		"indefinite-length":        {0x30, 0x80, 0x02, 0x01, 0x01, 0x42, 0x00, 0x00, 0x00},
		"length-2gib":              {0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02},
		"length-over-limit-17mib":  {0x30, 0x84, 0x01, 0x10, 0x00, 0x00},
		"no-message-id":            {0x30, 0x02, 0x60, 0x00},
		"negative-message-id":      {0x30, 0x05, 0x02, 0x01, 0xff, 0x42, 0x00},
		"bind-with-garbage-inside": {0x30, 0x07, 0x02, 0x01, 0x01, 0x60, 0x02, 0xff, 0xff},
		"bind-missing-password":    {0x30, 0x0a, 0x02, 0x01, 0x01, 0x60, 0x05, 0x02, 0x01, 0x03, 0x04, 0x00},
		"deep-nesting":             append([]byte{0x30, 0x82, 0x07, 0xd0}, bytes.Repeat([]byte{0x30, 0x80}, 1000)...),
	}
	for name, frame := range frames {
		t.Run(name, func(t *testing.T) {
			c := rawDial(t, h.url)
			c.send(frame)
			for p := c.read(); p != nil; p = c.read() {
				id, tag, code := result(t, p)
				if id == 0 {
					assert.Equal(t, 24, tag, "notice of disconnection")
					assert.Equal(t, 2, code, "protocolError")
				}
			}
		})
	}
	h.stillServing(t)
}

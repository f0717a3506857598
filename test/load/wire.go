package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"
)

// The load client speaks just enough LDAP (RFC 4511) for its modes: simple
// bind, base-object search, unbind. It is hand-written rather than go-ldap
// so that the load generator, which shares the machine's cores with the
// servers it measures, spends as little CPU per operation as it can.

// BER tags of the messages the client sends and reads.
const (
	tagSequence       = 0x30
	tagInteger        = 0x02
	tagEnumerated     = 0x0a
	tagBoolean        = 0x01
	tagOctetString    = 0x04
	tagBindRequest    = 0x60
	tagBindResponse   = 0x61
	tagUnbindRequest  = 0x42
	tagSearchRequest  = 0x63
	tagSearchEntry    = 0x64
	tagSearchDone     = 0x65
	tagSearchRef      = 0x73
	tagExtendedResp   = 0x78
	tagSimplePassword = 0x80
	tagFilterPresent  = 0x87
)

// opTimeout bounds every request; a server that does not answer in time
// is an error, never a hang.
const opTimeout = 10 * time.Second

// dialTimeout bounds the TCP connect.
const dialTimeout = 5 * time.Second

// errDisconnected: the server sent a notice of disconnection.
var errDisconnected = errors.New("notice of disconnection")

// client is one LDAP connection of a worker.
type client struct {
	nc   net.Conn
	r    *bufio.Reader
	id   int64
	op   []byte // request buffers, reused
	body []byte
	req  []byte
	msg  []byte // response buffer, reused
}

// dial connects to addr (host:port).
func dial(ctx context.Context, addr string) (*client, error) {
	d := net.Dialer{Timeout: dialTimeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return &client{nc: nc, r: bufio.NewReaderSize(nc, 4096)}, nil
}

// bind sends a simple bind and returns its result code.
func (c *client) bind(dn string, password []byte) (int, error) {
	c.id++
	op := appendInteger(c.op[:0], tagInteger, 3)
	op = appendTLV(op, tagOctetString, []byte(dn))
	op = appendTLV(op, tagSimplePassword, password)
	c.op = op
	if err := c.send(tagBindRequest, op); err != nil {
		return 0, err
	}
	return c.await(tagBindResponse)
}

// search sends a base-object search of base for (objectClass=*) returning
// attrs, reads the entries and returns the result code.
func (c *client) search(base string, attrs []string) (int, error) {
	c.id++
	op := appendTLV(c.op[:0], tagOctetString, []byte(base))
	op = appendInteger(op, tagEnumerated, 0) // baseObject
	op = appendInteger(op, tagEnumerated, 0) // neverDerefAliases
	op = appendInteger(op, tagInteger, 0)    // no size limit
	op = appendInteger(op, tagInteger, 0)    // no time limit
	op = appendTLV(op, tagBoolean, []byte{0})
	op = appendTLV(op, tagFilterPresent, []byte("objectClass"))
	var list []byte
	for _, a := range attrs {
		list = appendTLV(list, tagOctetString, []byte(a))
	}
	op = appendTLV(op, tagSequence, list)
	c.op = op
	if err := c.send(tagSearchRequest, op); err != nil {
		return 0, err
	}
	return c.await(tagSearchDone)
}

// close sends an unbind and closes the connection.
func (c *client) close() {
	c.id++
	_ = c.nc.SetWriteDeadline(time.Now().Add(opTimeout))
	_ = c.send(tagUnbindRequest, nil)
	_ = c.nc.Close()
}

// send writes one LDAPMessage with the next message ID.
func (c *client) send(tag byte, op []byte) error {
	c.body = appendInteger(c.body[:0], tagInteger, c.id)
	c.body = appendTLV(c.body, tag, op)
	c.req = appendTLV(c.req[:0], tagSequence, c.body)
	if err := c.nc.SetDeadline(time.Now().Add(opTimeout)); err != nil {
		return fmt.Errorf("set deadline: %w", err)
	}
	if _, err := c.nc.Write(c.req); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

// await reads messages until the response with tag to the current request
// and returns its result code. Search entries and references are skipped.
func (c *client) await(tag byte) (int, error) {
	for {
		id, op, body, err := c.read()
		if err != nil {
			return 0, err
		}
		switch {
		case id == 0 && op == tagExtendedResp:
			return 0, errDisconnected
		case id != c.id:
			return 0, fmt.Errorf("response to message %d, want %d", id, c.id)
		case op == tagSearchEntry || op == tagSearchRef:
			continue
		case op != tag:
			return 0, fmt.Errorf("response tag %#x, want %#x", op, tag)
		}
		return resultCode(body)
	}
}

// read reads one LDAPMessage and returns its ID, protocolOp tag and the
// protocolOp's contents.
func (c *client) read() (id int64, op byte, body []byte, err error) {
	tag, err := c.r.ReadByte()
	if err != nil {
		return 0, 0, nil, fmt.Errorf("read response: %w", err)
	}
	if tag != tagSequence {
		return 0, 0, nil, fmt.Errorf("response starts with %#x, not a SEQUENCE", tag)
	}
	n, err := readLength(c.r)
	if err != nil {
		return 0, 0, nil, err
	}
	if cap(c.msg) < n {
		c.msg = make([]byte, n)
	}
	c.msg = c.msg[:n]
	if _, err := io.ReadFull(c.r, c.msg); err != nil {
		return 0, 0, nil, fmt.Errorf("read response: %w", err)
	}
	return parseMessage(c.msg)
}

// parseMessage splits the contents of an LDAPMessage SEQUENCE.
func parseMessage(b []byte) (id int64, op byte, body []byte, err error) {
	t, v, rest, err := readTLV(b)
	if err != nil || t != tagInteger || len(v) == 0 || len(v) > 4 {
		return 0, 0, nil, fmt.Errorf("bad message ID in response: %w", errOr(err))
	}
	for _, x := range v {
		id = id<<8 | int64(x)
	}
	op, body, _, err = readTLV(rest)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("bad protocolOp in response: %w", err)
	}
	return id, op, body, nil
}

// resultCode returns the resultCode of an LDAPResult's contents.
func resultCode(body []byte) (int, error) {
	t, v, _, err := readTLV(body)
	if err != nil || t != tagEnumerated || len(v) == 0 || len(v) > 2 {
		return 0, fmt.Errorf("bad resultCode: %w", errOr(err))
	}
	code := 0
	for _, x := range v {
		code = code<<8 | int(x)
	}
	return code, nil
}

func errOr(err error) error {
	if err == nil {
		return errors.New("malformed")
	}
	return err
}

// readLength reads a BER definite length from r.
func readLength(r *bufio.Reader) (int, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, fmt.Errorf("read response length: %w", err)
	}
	if b < 0x80 {
		return int(b), nil
	}
	k := int(b & 0x7f)
	if k == 0 || k > 3 {
		return 0, fmt.Errorf("response length of %d bytes not supported", k)
	}
	n := 0
	for range k {
		if b, err = r.ReadByte(); err != nil {
			return 0, fmt.Errorf("read response length: %w", err)
		}
		n = n<<8 | int(b)
	}
	return n, nil
}

// readTLV splits the first element off b.
func readTLV(b []byte) (tag byte, value, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, io.ErrUnexpectedEOF
	}
	tag, n, i := b[0], int(b[1]), 2
	if n >= 0x80 {
		k := n & 0x7f
		if k == 0 || k > 3 || len(b) < 2+k {
			return 0, nil, nil, io.ErrUnexpectedEOF
		}
		n = 0
		for _, x := range b[2 : 2+k] {
			n = n<<8 | int(x)
		}
		i += k
	}
	if len(b)-i < n {
		return 0, nil, nil, io.ErrUnexpectedEOF
	}
	return tag, b[i : i+n], b[i+n:], nil
}

// appendTLV appends tag, the definite length of v and v.
func appendTLV(b []byte, tag byte, v []byte) []byte {
	b = append(b, tag)
	switch n := len(v); {
	case n < 0x80:
		b = append(b, byte(n))
	case n < 0x100:
		b = append(b, 0x81, byte(n))
	case n < 0x10000:
		b = append(b, 0x82, byte(n>>8), byte(n))
	default:
		b = append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, v...)
}

// appendInteger appends a non-negative INTEGER or ENUMERATED in its
// shortest two's-complement form.
func appendInteger(b []byte, tag byte, v int64) []byte {
	var buf [9]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte(v)
		v >>= 8
		if v == 0 && buf[i] < 0x80 {
			break
		}
	}
	return appendTLV(b, tag, buf[i:])
}

// checkLoopbackURL accepts only ldap:// URLs whose host is a loopback
// address: the load tool never sends traffic anywhere else.
func checkLoopbackURL(raw string) error {
	_, err := loopbackAddr(raw)
	return err
}

// loopbackAddr returns host:port of an ldap:// URL on a loopback address.
func loopbackAddr(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("url %q: %w", raw, err)
	}
	if u.Scheme != "ldap" || u.Port() == "" {
		return "", fmt.Errorf("url %q: want ldap://127.0.0.1:PORT", raw)
	}
	switch u.Hostname() {
	case "127.0.0.1", "::1", "localhost":
	default:
		ip := net.ParseIP(u.Hostname())
		if ip == nil || !ip.IsLoopback() {
			return "", fmt.Errorf("url %q: the load tool only talks to loopback addresses", raw)
		}
	}
	return u.Host, nil
}

package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// upstreamConn is a client's own connection to the upstream directory. The
// relay writes the client's messages to it unchanged; a reader goroutine
// hands every message that comes back to the client, except answers to the
// requests the proxy sent itself (binds), which go to the waiting caller.
type upstreamConn struct {
	nc      net.Conn
	wmu     sync.Mutex // serialises writes
	reading bool       // the reader runs; set by the first owner

	mu      sync.Mutex
	owner   upstreamOwner // where messages and the end go
	waiters map[int64]chan []byte
	bound   bool   // the upstream may hold a non-anonymous identity
	as      string // the DN of the last successful simple bind, "" if anonymous or unknown
	err     error  // why the reader stopped
	done    chan struct{}
}

// dialUpstream connects; start must be called next.
func dialUpstream(ctx context.Context, t Target) (*upstreamConn, error) {
	nc, err := t.Dial(ctx)
	if err != nil {
		return nil, err
	}
	return &upstreamConn{nc: nc, waiters: map[int64]chan []byte{}, done: make(chan struct{})}, nil
}

// upstreamOwner is who an upstream connection works for: deliver gets
// every message nobody waits for, gone is called once when the connection
// ends. deliver's more says that another complete message is already
// buffered, so the client's writes can be coalesced (a search's entries
// and its result in one write). A connection parked between clients has
// the pool as its owner.
type upstreamOwner struct {
	deliver func(msg []byte, more bool) error
	gone    func(error)
}

// start runs the reader for its first owner.
func (u *upstreamConn) start(maxMsg int, owner upstreamOwner) {
	u.owner = owner
	go u.read(maxMsg)
}

// setOwner hands the connection to another owner.
func (u *upstreamConn) setOwner(owner upstreamOwner) {
	u.mu.Lock()
	u.owner = owner
	u.mu.Unlock()
}

// dead reports whether the reader has stopped.
func (u *upstreamConn) dead() bool {
	select {
	case <-u.done:
		return true
	default:
		return false
	}
}

func (u *upstreamConn) read(maxMsg int) {
	r := bufio.NewReaderSize(u.nc, 32<<10)
	var err error
	for err == nil {
		var msg []byte
		if msg, err = readMessage(r, maxMsg); err != nil {
			break
		}
		err = u.dispatch(msg, completeBuffered(r))
	}
	u.mu.Lock()
	u.err = err
	gone := u.owner.gone
	u.mu.Unlock()
	close(u.done)
	u.nc.Close()
	gone(err)
}

func (u *upstreamConn) dispatch(msg []byte, more bool) error {
	env, err := peekEnvelope(msg)
	if err != nil {
		return fmt.Errorf("upstream sent: %w", err)
	}
	u.mu.Lock()
	w, ok := u.waiters[env.ID]
	if ok && env.Tag == tagBindResponse {
		delete(u.waiters, env.ID)
	}
	deliver := u.owner.deliver
	u.mu.Unlock()
	if ok && env.Tag == tagBindResponse {
		w <- msg
		return nil
	}
	return deliver(msg, more)
}

// completeBuffered reports whether r already holds a whole next message
// (so reading it cannot block).
func completeBuffered(r *bufio.Reader) bool {
	n := r.Buffered()
	if n < 2 {
		return false
	}
	hdr, _ := r.Peek(min(n, 6))
	l, w := int(hdr[1]), 2
	if l >= 0x80 {
		k := l & 0x7f
		if k == 0 || k > 4 || len(hdr) < 2+k {
			return false
		}
		l = 0
		for _, c := range hdr[2 : 2+k] {
			l = l<<8 | int(c)
		}
		w = 2 + k
	}
	return n >= w+l
}

// send writes one raw message.
func (u *upstreamConn) send(msg []byte) error {
	u.wmu.Lock()
	defer u.wmu.Unlock()
	_, err := u.nc.Write(msg)
	return err
}

// Close closes the connection; the reader then stops.
func (u *upstreamConn) Close() error { return u.nc.Close() }

// errUpstreamGone: the connection ended while a bind waited for its answer.
var errUpstreamGone = errors.New("upstream connection closed")

// Bind implements Upstream: a simple bind with the client's message ID.
func (u *upstreamConn) Bind(ctx context.Context, id int64, dn string, password Secret, controls *ber.Packet) (BindResponse, error) {
	msg := encodeSimpleBind(id, dn, password, controls)
	defer clear(msg)
	ch := make(chan []byte, 1)
	u.mu.Lock()
	u.waiters[id] = ch
	u.bound, u.as = true, "" // until the answer says otherwise
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		delete(u.waiters, id)
		u.mu.Unlock()
	}()
	if err := u.send(msg); err != nil {
		return BindResponse{}, fmt.Errorf("send bind: %w", err)
	}
	select {
	case raw := <-ch:
		return u.bindAnswer(raw, dn)
	case <-u.done:
		return BindResponse{}, errUpstreamGone
	case <-ctx.Done():
		return BindResponse{}, fmt.Errorf("wait for bind answer: %w", ctx.Err())
	}
}

func (u *upstreamConn) bindAnswer(raw []byte, dn string) (BindResponse, error) {
	r, err := parseBindResponse(raw)
	if err != nil {
		return BindResponse{}, err
	}
	u.mu.Lock()
	u.bound = r.Code == Success && dn != ""
	if u.bound {
		u.as = dn
	}
	u.mu.Unlock()
	return r, nil
}

// mayBeBound reports whether the upstream connection may hold a
// non-anonymous identity.
func (u *upstreamConn) mayBeBound() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.bound
}

// boundAs reports whether the connection's identity is dn, from a
// successful bind nothing has changed since.
func (u *upstreamConn) boundAs(dn string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return dn != "" && u.as == dn
}

// parseBindResponse reads a BindResponse: straight from the bytes when it
// is the plain LDAPResult, through asn1-ber when it carries controls or
// serverSaslCreds.
func parseBindResponse(raw []byte) (result, error) {
	body, _, err := tlv(raw, berSequence)
	if err == nil {
		var rest, op, after []byte
		if _, rest, err = tlv(body, berInteger); err == nil {
			if op, after, err = tlv(rest, 0x60|tagBindResponse); err == nil && len(after) == 0 {
				if r, ok := plainResult(op); ok {
					return r, nil
				}
			}
		}
	}
	p, err := ber.DecodePacketErr(raw)
	if err != nil {
		return result{}, fmt.Errorf("%w: bind response: %w", ErrMalformed, err)
	}
	return parseResult(p)
}

// plainResult parses an LDAPResult with nothing after its three
// components; ok is false for anything else.
func plainResult(op []byte) (result, bool) {
	r, rest, err := ldapResult(op)
	return r, err == nil && len(rest) == 0
}

// encodeSimpleBind builds a BindRequest message (version 3, simple). The
// buffers that held the password on the way are cleared.
func encodeSimpleBind(id int64, dn string, password Secret, controls *ber.Packet) []byte {
	if controls == nil {
		op := appendInt(make([]byte, 0, len(dn)+len(password.Bytes())+16), berInteger, 3)
		op = appendTLV(op, berOctetString, dn)
		op = appendTLV(op, 0x80, password.Bytes()) // simple [0]
		body := appendInt(make([]byte, 0, len(op)+12), berInteger, id)
		body = appendTLV(body, 0x60|tagBindRequest, op)
		msg := appendTLV(make([]byte, 0, len(body)+6), berSequence, body)
		clear(op)
		clear(body)
		return msg
	}
	return encodeSimpleBindBER(id, dn, password, controls)
}

// encodeSimpleBindBER is encodeSimpleBind through asn1-ber, for binds with
// controls.
func encodeSimpleBindBER(id int64, dn string, password Secret, controls *ber.Packet) []byte {
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAPMessage")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "messageID"))
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tagBindRequest, nil, "BindRequest")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(3), "version"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "name"))
	pw := ber.Encode(ber.ClassContext, ber.TypePrimitive, 0, nil, "simple")
	pw.Data.Write(password.Bytes())
	op.AppendChild(pw)
	msg.AppendChild(op)
	if controls != nil {
		msg.AppendChild(controls)
	}
	b := msg.Bytes()
	clear(pw.Data.Bytes())
	return b
}

package proxy

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// clientConn is one client connection: a read loop that handles Bind,
// Unbind and StartTLS itself and relays everything else to the client's
// own upstream connection, which is dialled on first need.
type clientConn struct {
	srv      *Server
	nc       net.Conn
	r        *bufio.Reader
	listener string
	log      *slog.Logger

	tls   bool   // TLS is on (LDAPS, or after StartTLS); read loop only
	actAs string // authzId later operations act for (proxied authorization); read loop only

	wmu sync.Mutex    // serialises writes to the client and guards swapping nc and bw
	bw  *bufio.Writer // buffers relayed messages that arrive in a burst

	mu      sync.Mutex
	up      *upstreamConn
	closing bool
	pending map[int64]struct{} // relayed requests still waiting for their final response
	// stray: answers may still come that pending does not track (the
	// client abandoned an operation, or reused the message ID of one still
	// outstanding); the upstream connection is not handed to another
	// client.
	stray bool
}

// serve runs the read loop until the client leaves, errs or the server
// shuts down.
func (c *clientConn) serve(ctx context.Context) {
	defer c.close()
	for {
		if t := c.srv.cfg.IdleTimeout; t > 0 {
			_ = c.nc.SetReadDeadline(time.Now().Add(t))
		}
		msg, err := readMessage(c.r, c.srv.cfg.MaxMessageSize)
		if err != nil {
			c.readFailed(err)
			return
		}
		if !c.handle(ctx, msg) {
			return
		}
	}
}

// readFailed ends the connection after a read error, telling the client
// why when the error is the client's fault.
func (c *clientConn) readFailed(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
	case errors.Is(err, ErrMessageTooLarge), errors.Is(err, ErrMalformed):
		c.log.Warn("bad request, closing", "err", err)
		c.write(encodeNoticeOfDisconnection(ProtocolError, "malformed or oversized request"))
	case errors.As(err, &ne) && ne.Timeout():
		c.log.Debug("idle timeout, closing")
	default:
		c.log.Debug("read from client", "err", err)
	}
}

// handle dispatches one message; false ends the connection.
func (c *clientConn) handle(ctx context.Context, msg []byte) bool {
	env, err := peekEnvelope(msg)
	if err != nil {
		c.readFailed(err)
		return false
	}
	switch env.Tag {
	case tagBindRequest:
		return c.bind(ctx, env, msg)
	case tagUnbindRequest:
		return false
	case tagExtendedRequest:
		switch oid, ok := extendedOID(msg); {
		case !ok:
			c.write(encodeResponse(env.ID, tagExtendedResponse, result{Code: ProtocolError, Message: "malformed extended request"}))
			return true
		case oid == oidStartTLS:
			return c.startTLS(env)
		case (oid == oidTxnStart || oid == oidTxnEnd) && !c.srv.cfg.RelayTransactions:
			c.write(encodeResponse(env.ID, tagExtendedResponse, result{Code: UnwillingToPerform,
				Message: "LDAP transactions are not relayed by this proxy"}))
			return true
		}
	case tagAbandonRequest:
		c.abandon(msg)
		return true
	}
	return c.relay(ctx, env, msg)
}

// abandon relays an Abandon and stops waiting for the abandoned operation.
func (c *clientConn) abandon(msg []byte) {
	c.mu.Lock()
	c.stray = true
	if id, ok := abandonedID(msg); ok {
		delete(c.pending, id)
	}
	c.mu.Unlock()
	if up := c.upstream(); up != nil {
		_ = up.send(msg)
	}
}

// relay sends a message to the upstream unchanged. If the upstream cannot
// be reached the client gets unavailable for the operation.
func (c *clientConn) relay(ctx context.Context, env envelope, msg []byte) bool {
	tag, answered := responseTag(env.Tag)
	if answered && !c.addPending(env.ID) {
		c.write(encodeResponse(env.ID, tag, result{Code: Busy, Message: "too many outstanding operations"}))
		return true
	}
	var err error
	if c.actAs != "" {
		msg, err = withProxiedAuthz(msg, c.actAs)
	}
	var up *upstreamConn
	if err == nil {
		up, err = c.ensureUpstream(ctx)
	}
	if err == nil {
		up.watch()
		err = up.send(msg)
	}
	if err == nil {
		return true
	}
	c.removePending(env.ID)
	c.log.Warn("relay to upstream", "msgid", env.ID, "err", err)
	if !answered {
		c.write(encodeNoticeOfDisconnection(ProtocolError, "unknown operation"))
		return false
	}
	c.write(encodeResponse(env.ID, tag, result{Code: Unavailable, Message: "directory unavailable"}))
	return true
}

// addPending records a relayed request; false if the client already has
// MaxPending outstanding.
func (c *clientConn) addPending(id int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) >= c.srv.cfg.MaxPending {
		return false
	}
	if c.pending == nil {
		c.pending = map[int64]struct{}{}
	}
	if _, dup := c.pending[id]; dup {
		// RFC 4511 §4.1.1.1 forbids it; the directory answers both, and the
		// first final answer clears the ID while the other may still run.
		c.stray = true
	}
	c.pending[id] = struct{}{}
	return true
}

func (c *clientConn) removePending(id int64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

func (c *clientConn) pendingCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// deliver writes a message from the upstream to the client, and notes when
// it ends an operation. With more set, the write may wait in the buffer
// for the next message (which is already there).
func (c *clientConn) deliver(msg []byte, more bool) error {
	if env, err := peekEnvelope(msg); err == nil && isFinalResponse(env.Tag) {
		c.removePending(env.ID)
	}
	return c.send(msg, !more)
}

// isFinalResponse reports whether a response tag ends its operation.
func isFinalResponse(tag int) bool {
	switch tag {
	case tagBindResponse, tagSearchDone, tagModifyResponse, tagAddResponse, tagDelResponse,
		tagModDNResponse, tagCompareResponse, tagExtendedResponse:
		return true
	}
	return false
}

// upstream returns the current upstream connection, or nil.
func (c *clientConn) upstream() *upstreamConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.up
}

// ensureUpstream returns the upstream connection: the one the client has,
// else an anonymous one parked by an earlier client, else a new one.
func (c *clientConn) ensureUpstream(ctx context.Context) (*upstreamConn, error) {
	if up := c.upstream(); up != nil {
		return up, nil
	}
	up := c.srv.parked.take()
	if up == nil {
		var err error
		if up, err = dialUpstream(ctx, c.srv.target); err != nil {
			return nil, err
		}
		c.srv.upstreams.Add(1)
	}
	c.mu.Lock()
	c.up = up
	c.mu.Unlock()
	owner := upstreamOwner{deliver: c.deliver, gone: func(err error) {
		c.srv.upstreams.Add(-1)
		c.upstreamGone(up, err)
	}}
	if !up.started {
		up.started = true
		up.start(c.srv.cfg.MaxUpstreamMessageSize, owner)
		return up, nil
	}
	up.setOwner(owner)
	if up.dead() { // it ended while still the pool's: dial a new one
		c.mu.Lock()
		c.up = nil
		c.mu.Unlock()
		return c.ensureUpstream(ctx)
	}
	return up, nil
}

// upstreamGone ends the client connection when its upstream connection
// ends on its own: the identity the client bound as is gone with it.
func (c *clientConn) upstreamGone(up *upstreamConn, err error) {
	c.mu.Lock()
	current := c.up == up
	if current {
		c.up = nil
	}
	closing := c.closing
	c.mu.Unlock()
	if !current || closing {
		return
	}
	c.log.Warn("upstream connection lost, closing client connection", "err", err)
	c.closeWith(encodeNoticeOfDisconnection(Unavailable, "upstream connection lost"))
}

// closeWith writes a last message and closes the client connection; it is
// safe from any goroutine, and once it holds the connection it is done
// within about a second.
func (c *clientConn) closeWith(msg []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	// Both directions: on an LDAPS connection the write first waits for
	// the TLS handshake, and that waits for a read from the client.
	_ = c.nc.SetDeadline(time.Now().Add(time.Second))
	_, err := c.bw.Write(msg)
	if err == nil {
		err = c.bw.Flush()
	}
	if tc, ok := c.nc.(interface{ NetConn() net.Conn }); ok && err != nil {
		// A client that did not take the message would keep the TLS
		// close_notify waiting 5 s more: close beneath it.
		tc.NetConn().Close()
	}
	c.nc.Close()
}

// detachUpstream forgets up as the client's upstream connection, so that
// its end does not end the client's.
func (c *clientConn) detachUpstream(up *upstreamConn) {
	c.mu.Lock()
	if c.up == up {
		c.up = nil
	}
	c.mu.Unlock()
}

// dropUpstream closes the upstream connection without ending the client's.
func (c *clientConn) dropUpstream() {
	c.mu.Lock()
	up := c.up
	c.up = nil
	c.mu.Unlock()
	if up != nil {
		up.Close()
	}
}

// write sends one message to the client; errors end the connection through
// the read loop.
func (c *clientConn) write(msg []byte) {
	_ = c.write2(msg)
}

func (c *clientConn) write2(msg []byte) error { return c.send(msg, true) }

// send writes msg to the client, through the buffer; flush sends the
// buffer on.
func (c *clientConn) send(msg []byte, flush bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if t := c.srv.cfg.WriteTimeout; t > 0 {
		_ = c.nc.SetWriteDeadline(time.Now().Add(t))
	}
	_, err := c.bw.Write(msg)
	if err == nil && flush {
		err = c.bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("write to client: %w", err)
	}
	return nil
}

func (c *clientConn) close() {
	c.mu.Lock()
	c.closing = true
	up := c.up
	c.up = nil
	reusable := len(c.pending) == 0 && !c.stray
	c.mu.Unlock()
	if up != nil {
		if reusable {
			c.srv.parked.park(up) // it closes up if it cannot take it
		} else {
			up.Close()
		}
	}
	c.wmu.Lock()
	c.nc.Close()
	c.wmu.Unlock()
}

const oidStartTLS = "1.3.6.1.4.1.1466.20037"

// The LDAP transaction operations (RFC 5805). Not relayed unless
// relay_transactions is set: slapd 2.5.13 with syncprov loaded crashes
// (segfault in back-mdb) committing them — measured: an ordinary user
// changing their own password in one-operation transactions brought it
// down after 146 of them.
const (
	oidTxnStart = "1.3.6.1.1.21.1"
	oidTxnEnd   = "1.3.6.1.1.21.3"
)

// extendedOID returns the requestName of an ExtendedRequest as slapd reads
// it: the content of the operation's first element, whatever its tag
// (liblber's ber_scanf "{m" does not check it). Reading only a [0] name
// would let a TxnStart tagged otherwise past the check above; ok is false
// when the name cannot be read the way slapd would (a multi-byte tag, a bad
// length), and such a request is not relayed. An operation slapd would not
// take for an ExtendedRequest (another tag, no elements) has oid "".
func extendedOID(msg []byte) (oid string, ok bool) {
	body, _, err := tlv(msg, 0x30)
	if err != nil {
		return "", false
	}
	_, rest, err := tlv(body, 0x02)
	if err != nil {
		return "", false
	}
	op, _, err := tlv(rest, 0x60|tagExtendedRequest)
	if err != nil || len(op) == 0 {
		return "", true
	}
	if op[0]&0x1f == 0x1f {
		return "", false
	}
	name, _, err := tlv(op, op[0])
	if err != nil {
		return "", false
	}
	return string(name), true
}

// abandonedID returns the message ID an AbandonRequest names.
func abandonedID(msg []byte) (int64, bool) {
	body, _, err := tlv(msg, 0x30)
	if err != nil {
		return 0, false
	}
	_, rest, err := tlv(body, 0x02)
	if err != nil {
		return 0, false
	}
	id, _, err := tlv(rest, 0x50)
	if err != nil || len(id) == 0 || len(id) > 4 {
		return 0, false
	}
	v, err := ber.ParseInt64(id)
	return v, err == nil
}

// decodeBind reads a BindRequest into req (everything but the pipeline's
// own fields) straight from the bytes, and clears the password in msg. No
// tree of the message is built: a bind arrives before any authentication,
// and asn1-ber turned each two bytes of a bind's controls into a packet of
// about 200 bytes (a 2 MiB bind held 218 MB). The controls are kept as
// they came, for the upstream bind.
func decodeBind(msg []byte, req *BindRequest) error {
	body, _, err := tlv(msg, berSequence)
	if err != nil {
		return err
	}
	_, rest, err := tlv(body, berInteger)
	if err != nil {
		return err
	}
	op, controls, err := tlv(rest, 0x60|tagBindRequest)
	if err != nil {
		return err
	}
	version, op, err := tlv(op, berInteger)
	if err != nil {
		return err
	}
	v, err := parseUint(version)
	if err != nil {
		return fmt.Errorf("%w: version: %w", ErrMalformed, err)
	}
	name, op, err := tlv(op, berOctetString)
	if err != nil {
		return err
	}
	if len(op) == 0 {
		return fmt.Errorf("%w: no authentication choice", ErrMalformed)
	}
	var pw []byte
	switch op[0] {
	case 0x80: // simple
		if pw, op, err = tlv(op, 0x80); err != nil {
			return err
		}
	case 0xa3: // sasl: refused by the chain, so only its mechanism is read
		var sasl []byte
		if sasl, op, err = tlv(op, 0xa3); err != nil {
			return err
		}
		mech, _, err := tlv(sasl, berOctetString)
		if err != nil {
			return fmt.Errorf("%w: sasl mechanism: %w", ErrMalformed, err)
		}
		req.SASL = cmp.Or(string(mech), "(empty)")
	default:
		return fmt.Errorf("%w: unknown authentication choice", ErrMalformed)
	}
	if len(op) != 0 {
		return fmt.Errorf("%w: bytes after the authentication choice", ErrMalformed)
	}
	if len(controls) != 0 {
		if err := checkControls(controls); err != nil {
			return err
		}
		req.Controls = append([]byte(nil), controls...)
	}
	req.Version, req.DN = v, string(name)
	if pw != nil {
		req.Password = NewSecret(append([]byte(nil), pw...))
		clear(pw)
	}
	return nil
}

// checkControls checks that b is exactly one [0] Controls element whose
// every Control is a SEQUENCE starting with its controlType.
func checkControls(b []byte) error {
	list, after, err := tlv(b, berControls)
	if err != nil || len(after) != 0 {
		return fmt.Errorf("%w: controls", ErrMalformed)
	}
	for len(list) > 0 {
		var c []byte
		if c, list, err = tlv(list, berSequence); err != nil {
			return fmt.Errorf("%w: control", ErrMalformed)
		}
		if _, _, err = tlv(c, berOctetString); err != nil {
			return fmt.Errorf("%w: controlType", ErrMalformed)
		}
	}
	return nil
}

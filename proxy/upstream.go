package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// upstreamConn is a client's own connection to the upstream directory. The
// relay writes the client's messages to it unchanged; a reader goroutine
// hands every message that comes back to the client, except answers to the
// requests the proxy sent itself (binds), which go to the waiting caller.
//
// The reader is started by the first relayed operation (or at once on a
// connection without raw socket calls, e.g. TLS). Until then, a bind reads
// its own answer from the connection in the bind's goroutine: a client that
// only binds (a mail server's authentication) costs no hand-off between
// goroutines, which on a two-core machine cost a bind as much CPU as the
// rest of its relay (docs/performance-history.md). Such a bind is written by the
// read that waits for its answer (sendOnWait), once that read has found
// the connection quiet: a connection nobody read may have been closed by
// the directory or sent a notice of disconnection, and then the bind is
// not sent there at all (errUpstreamStale).
type upstreamConn struct {
	nc     net.Conn
	wmu    sync.Mutex    // serialises send (a direct bind is written by its read: rawConn writes a message whole)
	r      *bufio.Reader // read by the reader, or by a bind while there is none
	maxMsg int
	direct bool // binds may read their answers themselves (nc is a waitSender)
	// started: the connection has had an owner; the dialling client's
	// goroutine sets it.
	started bool

	mu         sync.Mutex
	cond       sync.Cond     // on mu: a bind's own read ended
	owner      upstreamOwner // where messages and the end go
	waiters    map[int64]chan []byte
	reading    bool          // the reader goroutine runs (or waits for a bind's read to end)
	readerDone chan struct{} // closed when that reader returns
	stopping   bool          // unwatch asked the reader to return
	directBusy bool          // a bind reads its answer itself
	closed     bool          // Close was called
	bound      bool          // the upstream may hold a non-anonymous identity
	as         string        // the DN of the last successful simple bind, "" if anonymous or unknown
	err        error         // why the connection ended
	done       chan struct{}
	end        sync.Once
}

// dialUpstream connects; start must be called next.
func dialUpstream(ctx context.Context, t Target) (*upstreamConn, error) {
	nc, err := t.Dial(ctx)
	if err != nil {
		return nil, err
	}
	_, direct := nc.(waitSender)
	u := &upstreamConn{nc: nc, r: bufio.NewReaderSize(nc, 32<<10), direct: direct,
		waiters: map[int64]chan []byte{}, done: make(chan struct{})}
	u.cond.L = &u.mu
	return u, nil
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

// start gives the connection its first owner.
func (u *upstreamConn) start(maxMsg int, owner upstreamOwner) {
	u.maxMsg = maxMsg
	u.setOwner(owner)
	if !u.direct {
		u.watch()
	}
}

// setOwner hands the connection to another owner.
func (u *upstreamConn) setOwner(owner upstreamOwner) {
	u.mu.Lock()
	u.owner = owner
	u.mu.Unlock()
}

// dead reports whether the connection has ended.
func (u *upstreamConn) dead() bool {
	select {
	case <-u.done:
		return true
	default:
		return false
	}
}

// waitSender is a connection that can write a request from the read that
// waits for its answer (rawConn on Linux; see sendOnWait).
type waitSender interface {
	sendOnWait(msg []byte)
	unsent() bool
}

// watch makes sure the reader runs: from now on it reads every answer.
func (u *upstreamConn) watch() {
	u.mu.Lock()
	if u.reading {
		u.mu.Unlock()
		return
	}
	u.reading = true
	u.readerDone = make(chan struct{})
	done := u.readerDone
	u.mu.Unlock()
	go u.read(done)
}

// unwatch stops the reader of a connection with nothing outstanding (one
// taken from the parked pool), so that its next bind reads its own answer.
// It reports whether the connection is still usable.
func (u *upstreamConn) unwatch() bool {
	u.mu.Lock()
	if !u.direct || !u.reading {
		u.mu.Unlock()
		return !u.dead()
	}
	u.stopping = true
	done := u.readerDone
	u.mu.Unlock()
	_ = u.nc.SetReadDeadline(time.Unix(1, 0))
	<-done
	_ = u.nc.SetReadDeadline(time.Time{})
	return !u.dead()
}

// read is the reader: it waits for a bind's own read to end, then hands on
// every message until the connection ends or unwatch stops it between two
// messages.
func (u *upstreamConn) read(done chan struct{}) {
	defer close(done)
	u.mu.Lock()
	for u.directBusy {
		u.cond.Wait()
	}
	u.mu.Unlock()
	var err error
	for err == nil && !u.dead() {
		if _, err = u.r.Peek(1); err != nil {
			u.mu.Lock()
			stop := u.stopping && errors.Is(err, os.ErrDeadlineExceeded)
			if stop {
				u.stopping, u.reading = false, false
			}
			u.mu.Unlock()
			if stop {
				return // nothing of a message was read
			}
			break
		}
		var msg []byte
		if msg, err = readMessage(u.r, u.maxMsg); err != nil {
			break
		}
		err = u.dispatch(msg, completeBuffered(u.r))
	}
	u.finish(err)
}

// finish ends the connection once: it is closed and its owner told.
func (u *upstreamConn) finish(err error) {
	u.end.Do(func() {
		if err == nil {
			err = net.ErrClosed
		}
		u.mu.Lock()
		u.err = err
		gone := u.owner.gone
		u.mu.Unlock()
		close(u.done)
		u.nc.Close()
		if gone != nil {
			gone(err)
		}
	})
}

func (u *upstreamConn) dispatch(msg []byte, more bool) error {
	env, err := peekEnvelope(msg)
	if err != nil {
		return fmt.Errorf("upstream sent: %w", err)
	}
	if env.Tag != tagBindResponse {
		u.mu.Lock()
		deliver := u.owner.deliver
		u.mu.Unlock()
		return deliver(msg, more)
	}
	// Every bind on this connection is the proxy's own (a client's binds
	// are never relayed): an answer nobody waits for any more (its bind
	// timed out) must not reach the client as if it were the answer.
	u.mu.Lock()
	w, ok := u.waiters[env.ID]
	delete(u.waiters, env.ID)
	u.mu.Unlock()
	if ok {
		w <- msg
	}
	return nil
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

// Close closes the connection; the reader, or a bind reading its answer,
// then ends it, or Close does if nobody reads it.
func (u *upstreamConn) Close() error {
	u.mu.Lock()
	u.closed = true
	idle := !u.reading && !u.directBusy
	u.mu.Unlock()
	err := u.nc.Close()
	if idle {
		u.finish(net.ErrClosed)
	}
	return err
}

// errUpstreamGone: the connection ended while a bind waited for its answer.
var errUpstreamGone = errors.New("upstream connection closed")

// errUpstreamStale: a bind was not sent because the connection, which
// nobody read, had ended or held a message nobody asked for (a notice of
// disconnection). The bind may go to a new connection.
var errUpstreamStale = errors.New("upstream connection closed while idle")

// Bind implements Upstream: a simple bind with the client's message ID.
func (u *upstreamConn) Bind(ctx context.Context, id int64, dn string, password Secret, controls []byte) (BindResponse, error) {
	if u.dead() {
		return BindResponse{}, errUpstreamStale
	}
	msg := encodeSimpleBind(id, dn, password, controls)
	defer clear(msg)
	u.mu.Lock()
	direct := u.direct && !u.reading && !u.directBusy && !u.closed
	u.directBusy = u.directBusy || direct
	u.bound, u.as = true, "" // until the answer says otherwise
	u.mu.Unlock()
	if direct {
		return u.bindDirect(ctx, id, msg, dn)
	}
	ch := make(chan []byte, 1)
	u.mu.Lock()
	u.waiters[id] = ch
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		delete(u.waiters, id)
		u.mu.Unlock()
	}()
	u.watch()
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

// bindDirect sends a bind and reads its answer in the caller's goroutine;
// anything else that arrives first goes to the owner, as the reader would
// send it. If ctx ends first, the read is interrupted and the connection
// ended (its answer may still come, and nobody would read it).
func (u *upstreamConn) bindDirect(ctx context.Context, id int64, msg []byte, dn string) (BindResponse, error) {
	var failed error
	defer func() {
		u.mu.Lock()
		u.directBusy = false
		u.cond.Broadcast()
		closed := u.closed && !u.reading
		u.mu.Unlock()
		// A stale connection is the caller's to drop: its end is not the
		// client's.
		if (failed != nil && !errors.Is(failed, errUpstreamStale)) || closed {
			u.finish(failed)
		}
	}()
	interrupted := context.AfterFunc(ctx, func() { _ = u.nc.SetReadDeadline(time.Unix(1, 0)) })
	defer func() {
		if !interrupted() && failed == nil {
			failed = fmt.Errorf("wait for bind answer: %w", ctx.Err())
		}
	}()
	if u.r.Buffered() > 0 {
		failed = errUpstreamStale // something came unasked
		return BindResponse{}, failed
	}
	ws := u.nc.(waitSender)
	ws.sendOnWait(msg)
	for first := true; ; first = false {
		raw, err := readMessage(u.r, u.maxMsg)
		if first {
			if ws.unsent() && ctx.Err() == nil {
				failed = errUpstreamStale
				return BindResponse{}, failed
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				failed = fmt.Errorf("wait for bind answer: %w", ctx.Err())
			} else {
				failed = fmt.Errorf("%w: %w", errUpstreamGone, err)
			}
			return BindResponse{}, failed
		}
		env, err := peekEnvelope(raw)
		if err == nil && env.ID == id && env.Tag == tagBindResponse {
			return u.bindAnswer(raw, dn)
		}
		if err = u.dispatch(raw, completeBuffered(u.r)); err != nil {
			failed = err
			return BindResponse{}, failed
		}
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

// encodeSimpleBind builds a BindRequest message (version 3, simple), with
// controls (a whole [0] Controls element, as the client sent it) if not
// nil. The message is the one copy of the password it leaves (see
// berWriter).
func encodeSimpleBind(id int64, dn string, password Secret, controls []byte) []byte {
	pw := password.Bytes()
	w := newMessage(len(dn)+len(pw)+len(controls)+16, id, 0x60|tagBindRequest)
	w.integer(berInteger, 3)
	w.str(berOctetString, dn)
	w.octets(0x80, pw) // simple [0]
	w.end()
	w.raw(controls...)
	return w.done()
}

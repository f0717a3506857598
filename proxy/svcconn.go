package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ldapotp/ldapotp/schema"
)

// svcMaxMessage bounds one answer on a service connection. The proxy asks
// for a handful of small attributes; anything near this is not an answer
// to its question, and the connection is dropped.
const svcMaxMessage = 16 << 20

// svcConn is one service-account connection on the proxy's own wire code,
// for the reads and compare-and-swaps of the bind path. A caller encodes
// and writes its request itself; one reader goroutine decodes each answer
// and hands it straight to the waiting caller: one goroutine hand-off per
// request where go-ldap's client takes three, and no BER tree.
type svcConn struct {
	nc  net.Conn
	wmu sync.Mutex // serialises writes
	ids atomic.Uint32

	mu    sync.Mutex
	calls map[int32]*svcCall
	err   error // why the connection ended; set before done is closed
	done  chan struct{}
}

// svcCall is one request waiting for its answer. The reader fills it and
// then sends on ch; the caller reads it only after receiving.
type svcCall struct {
	ch      chan struct{}
	entries []schema.Entry
	code    ResultCode
	message string
	err     error // a malformed answer
}

// errSvcBroken marks errors of the connection itself (as opposed to an
// answer), after which a read may be tried on a fresh connection.
var errSvcBroken = errors.New("service connection broken")

// dialService connects to t and binds as dn; the returned connection's
// reader is running.
func dialService(ctx context.Context, t Target, dn string, password Secret, timeout time.Duration) (*svcConn, error) {
	nc, err := t.Dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	r := bufio.NewReaderSize(nc, 16<<10)
	if err := serviceBind(nc, r, dn, password, timeout); err != nil {
		nc.Close()
		return nil, fmt.Errorf("%w: bind as service account %q: %w", ErrUnavailable, dn, err)
	}
	c := &svcConn{nc: nc, calls: map[int32]*svcCall{}, done: make(chan struct{})}
	c.ids.Store(1)
	go c.read(r)
	return c, nil
}

// serviceBind sends the simple bind (message ID 1) and reads its answer.
func serviceBind(nc net.Conn, r *bufio.Reader, dn string, password Secret, timeout time.Duration) error {
	_ = nc.SetDeadline(time.Now().Add(timeout))
	defer nc.SetDeadline(time.Time{})
	msg := encodeSimpleBind(1, dn, password, nil)
	_, err := nc.Write(msg)
	clear(msg)
	if err != nil {
		return err
	}
	raw, err := readMessage(r, svcMaxMessage)
	if err != nil {
		return err
	}
	id, tag, op, err := splitMessage(raw)
	if err != nil {
		return err
	}
	if id != 1 || tag != tagBindResponse {
		return fmt.Errorf("%w: answer %d/%d to the bind", ErrMalformed, id, tag)
	}
	code, message, err := parseLDAPResult(op)
	if err != nil {
		return err
	}
	if code != Success {
		return fmt.Errorf("%s %q", code, message)
	}
	return nil
}

// read hands each answer to its caller until the connection ends.
func (c *svcConn) read(r *bufio.Reader) {
	var err error
	for err == nil {
		var msg []byte
		if msg, err = readMessage(r, svcMaxMessage); err == nil {
			err = c.dispatch(msg)
		}
	}
	c.mu.Lock()
	c.err = fmt.Errorf("%w: %w: %w", ErrUnavailable, errSvcBroken, err)
	c.calls = nil
	c.mu.Unlock()
	close(c.done)
	c.nc.Close()
}

func (c *svcConn) dispatch(msg []byte) error {
	id, tag, op, err := splitMessage(msg)
	if err != nil {
		return fmt.Errorf("directory sent: %w", err)
	}
	if id == 0 {
		return errors.New("directory sent a notice of disconnection")
	}
	c.mu.Lock()
	call := c.calls[int32(id)]
	final := tag != tagSearchEntry && tag != tagSearchReference
	if call != nil && final {
		delete(c.calls, int32(id))
	}
	c.mu.Unlock()
	if call == nil {
		return nil // the caller gave up: a late answer
	}
	switch tag {
	case tagSearchReference:
		return nil
	case tagSearchEntry:
		e, err := parseSearchEntry(op)
		if err != nil {
			call.err = fmt.Errorf("%w: directory answered: %w", ErrUnavailable, err)
		} else {
			call.entries = append(call.entries, e)
		}
		return nil
	}
	code, message, err := parseLDAPResult(op)
	if call.err == nil && err != nil {
		call.err = fmt.Errorf("%w: directory answered: %w", ErrUnavailable, err)
	}
	call.code, call.message = code, message
	call.ch <- struct{}{}
	return nil
}

// broken reports whether the connection has ended.
func (c *svcConn) broken() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// close ends the connection; waiting callers get ErrUnavailable.
func (c *svcConn) close() { c.nc.Close() }

// call sends one request (encode gets its message ID) and waits for its
// final answer, at most timeout.
func (c *svcConn) call(ctx context.Context, timeout time.Duration, encode func(id int32) []byte) (*svcCall, error) {
	p, err := c.send(timeout, encode)
	if err != nil {
		return nil, err
	}
	return p.wait(ctx)
}

// pendingCall is a request sent and not yet answered.
type pendingCall struct {
	c       *svcConn
	id      int32
	call    *svcCall
	timeout time.Duration
	sent    time.Time
}

// send registers and writes one request.
func (c *svcConn) send(timeout time.Duration, encode func(id int32) []byte) (pendingCall, error) {
	id := int32(c.ids.Add(1) & 0x7fffffff)
	if id == 0 {
		id = int32(c.ids.Add(1) & 0x7fffffff)
	}
	call := &svcCall{ch: make(chan struct{}, 1)}
	c.mu.Lock()
	if c.calls == nil {
		err := c.err
		c.mu.Unlock()
		return pendingCall{}, err
	}
	c.calls[id] = call
	c.mu.Unlock()

	msg := encode(id)
	now := time.Now()
	c.wmu.Lock()
	_ = c.nc.SetWriteDeadline(now.Add(timeout))
	_, err := c.nc.Write(msg)
	c.wmu.Unlock()
	clear(msg)
	if err != nil {
		c.nc.Close() // a partly written request leaves the stream unusable
		return pendingCall{}, fmt.Errorf("%w: %w: send: %w", ErrUnavailable, errSvcBroken, err)
	}
	return pendingCall{c: c, id: id, call: call, timeout: timeout, sent: now}, nil
}

// wait waits for the final answer, at most until timeout after sending.
func (p pendingCall) wait(ctx context.Context) (*svcCall, error) {
	select { // the answer is often there already: no timer then
	case <-p.call.ch:
		return p.call, p.call.err
	default:
	}
	timer := time.NewTimer(time.Until(p.sent.Add(p.timeout)))
	defer timer.Stop()
	select {
	case <-p.call.ch:
		return p.call, p.call.err
	case <-p.c.done:
		select { // answered just before the connection ended
		case <-p.call.ch:
			return p.call, p.call.err
		default:
		}
		p.c.mu.Lock()
		err := p.c.err
		p.c.mu.Unlock()
		return nil, err
	case <-ctx.Done():
		p.c.forget(p.id)
		return nil, fmt.Errorf("%w: wait for the directory: %w", ErrUnavailable, ctx.Err())
	case <-timer.C:
		p.c.forget(p.id)
		return nil, fmt.Errorf("%w: no answer from the directory within %v", ErrUnavailable, p.timeout)
	}
}

func (c *svcConn) forget(id int32) {
	c.mu.Lock()
	if c.calls != nil {
		delete(c.calls, id)
	}
	c.mu.Unlock()
}

// svcSlot holds one pooled connection; a broken one is replaced on next use.
type svcSlot struct {
	mu   sync.Mutex // held while dialling
	conn atomic.Pointer[svcConn]
}

// get returns the slot's live connection, dialling one if needed.
func (s *svcSlot) get(ctx context.Context, dial func(context.Context) (*svcConn, error)) (*svcConn, error) {
	if c := s.conn.Load(); c != nil && !c.broken() {
		return c, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.conn.Load(); c != nil && !c.broken() {
		return c, nil
	}
	c, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	s.conn.Store(c)
	return c, nil
}

func (s *svcSlot) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.conn.Swap(nil); c != nil {
		c.close()
	}
}

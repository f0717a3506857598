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
)

// swapConnMax bounds the service connections lent to compare-and-swaps at
// once. A swap that finds them all lent goes over the shared, multiplexed
// ones instead.
const swapConnMax = 32

// swapPool lends service-account connections to one compare-and-swap at a
// time. The bind that spends a code writes its swap, then its upstream
// bind, and then reads the swap's answer itself, so no reader goroutine
// has to wake up for the answer and hand it over: 9 % less proxy CPU per
// HOTP bind at dbnosync, and +0.026 on its ratio to slapo-otp, in three
// interleaved pairs of runs (docs/performance.md). Used only on
// connections with raw socket calls, where a connection can be checked for
// quiet without blocking before it is lent again.
type swapPool struct {
	dial func(context.Context) (*swapConn, error)
	off  atomic.Bool // the target's connections cannot be probed

	mu     sync.Mutex
	idle   []*swapConn
	lent   int
	closed bool
}

// swapConn is one lent connection, bound as the service account.
type swapConn struct {
	nc  net.Conn
	qp  quietProber
	r   *bufio.Reader
	ids int32
}

// quietProber is a connection that can tell, without blocking, that it is
// open and nothing arrived on it (rawConn on Linux).
type quietProber interface {
	quiet() bool
}

// get lends a quiet connection, dialling one if none is idle; nil (and no
// error) when swapConnMax are lent already.
func (p *swapPool) get(ctx context.Context) (*swapConn, error) {
	if p.off.Load() {
		return nil, nil
	}
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			if p.lent >= swapConnMax {
				p.mu.Unlock()
				return nil, nil
			}
			p.lent++
			p.mu.Unlock()
			c, err := p.dial(ctx)
			if err == nil {
				return c, nil
			}
			p.mu.Lock()
			p.lent--
			p.mu.Unlock()
			if errors.Is(err, errNoProbe) {
				p.off.Store(true)
				return nil, nil
			}
			return nil, err
		}
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.lent++
		p.mu.Unlock()
		if c.qp.quiet() {
			return c, nil
		}
		// Closed by the directory (idletimeout, restart) or sent
		// something unasked while idle: not usable.
		p.put(c, true)
	}
}

// put takes a connection back; broken says it must be closed instead.
func (p *swapPool) put(c *swapConn, broken bool) {
	p.mu.Lock()
	p.lent--
	keep := !broken && !p.closed && c.r.Buffered() == 0
	if keep {
		p.idle = append(p.idle, c)
	}
	p.mu.Unlock()
	if !keep {
		c.nc.Close()
	}
}

// close closes the idle connections; lent ones are closed when returned.
func (p *swapPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.nc.Close()
	}
}

// dialSwapConn connects and binds as the service account; errNoProbe if
// the connection cannot be checked for quiet.
func dialSwapConn(ctx context.Context, t Target, dn string, password Secret, timeout time.Duration) (*swapConn, error) {
	nc, err := t.Dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	qp, ok := nc.(quietProber)
	if !ok {
		nc.Close()
		return nil, errNoProbe
	}
	r := bufio.NewReaderSize(nc, 4<<10)
	if err := serviceBind(nc, r, dn, password, timeout); err != nil {
		nc.Close()
		return nil, fmt.Errorf("%w: bind as service account %q: %w", ErrUnavailable, dn, err)
	}
	return &swapConn{nc: nc, qp: qp, r: r, ids: 1}, nil
}

// errNoProbe: the target's connections cannot be lent (TLS, or no raw
// socket calls on this system).
var errNoProbe = errors.New("connection cannot be probed")

// startSwap writes the swap on a lent connection and returns the function
// that reads its answer (once) and gives the connection back.
func (p *swapPool) startSwap(ctx context.Context, c *swapConn, timeout time.Duration, dn string, swaps []Swap, assert *Assertion) func() error {
	c.ids++
	if c.ids <= 1 {
		c.ids = 2
	}
	id := c.ids
	msg := encodeSwap(id, dn, swaps, assert)
	deadline := time.Now().Add(timeout)
	_ = c.nc.SetWriteDeadline(deadline)
	_, err := c.nc.Write(msg)
	clear(msg)
	if err != nil {
		p.put(c, true)
		return func() error {
			return fmt.Errorf("modify %q: %w: send: %w", dn, ErrUnavailable, err)
		}
	}
	return func() error {
		usable, err := c.answer(ctx, id, deadline)
		p.put(c, !usable)
		if err != nil {
			return fmt.Errorf("modify %q: %w", dn, err)
		}
		return nil
	}
}

// answer reads the ModifyResponse to request id. usable says the
// connection may be lent again: the answer came, whatever it said.
func (c *swapConn) answer(ctx context.Context, id int32, deadline time.Time) (usable bool, err error) {
	_ = c.nc.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetReadDeadline(time.Unix(1, 0)) })
	raw, err := readMessage(c.r, svcMaxMessage)
	// A stop that comes too late may still move the read deadline: the
	// connection is not lent again then.
	if !stop() {
		return false, fmt.Errorf("%w: wait for the directory: %w", ErrUnavailable, context.Cause(ctx))
	}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return false, fmt.Errorf("%w: no answer from the directory within the upstream timeout", ErrUnavailable)
		}
		return false, fmt.Errorf("%w: %w: %w", ErrUnavailable, errSvcBroken, err)
	}
	got, tag, op, err := splitMessage(raw)
	if err == nil && (got != int64(id) || tag != tagModifyResponse) {
		err = fmt.Errorf("%w: message %d with tag %d for modify %d", ErrMalformed, got, tag, id)
	}
	if err != nil {
		return false, fmt.Errorf("%w: directory sent: %w", ErrUnavailable, err)
	}
	code, message, err := parseLDAPResult(op)
	if err != nil {
		return false, fmt.Errorf("%w: directory answered: %w", ErrUnavailable, err)
	}
	return true, resultError(code, message)
}

package proxy

import (
	"context"
	"errors"
	"sync"
	"time"
)

// parkedMaxAge is how long an upstream connection waits for its next
// client; an older one is closed rather than handed out (a directory's
// idletimeout, or a firewall, may have dropped it silently).
const parkedMaxAge = 30 * time.Second

// errParked: a parked upstream connection sent something. It has no
// operation outstanding and is anonymous, so anything it sends (a notice
// of disconnection, a stray answer) ends it.
var errParked = errors.New("message on a parked upstream connection")

// parkedUpstreams keeps the upstream connections of clients that left, for
// the next client, so a client that opens a connection per bind (PHP
// webmail, many mail servers) costs the directory no connection set-up
// and tear-down. Only a connection with nothing outstanding (no pending
// operation, no abandoned one whose answers may still come) is parked, and
// only anonymous: one that may hold an identity is first bound
// anonymously, and closed if that fails. A parked connection that sends
// anything is closed.
type parkedUpstreams struct {
	max         int
	bindTimeout time.Duration
	gauge       func(delta int64) // the server's count of open upstream connections

	mu     sync.Mutex
	idle   []parked // the most recently parked last
	closed bool
}

type parked struct {
	up    *upstreamConn
	since time.Time
}

func newParkedUpstreams(max int, bindTimeout time.Duration, gauge func(int64)) *parkedUpstreams {
	return &parkedUpstreams{max: max, bindTimeout: bindTimeout, gauge: gauge}
}

// park takes up from a client that is done with it (or closes it).
func (p *parkedUpstreams) park(up *upstreamConn) {
	if p.max <= 0 || up.dead() {
		up.Close()
		return
	}
	up.setOwner(upstreamOwner{
		deliver: func([]byte, bool) error { return errParked },
		gone: func(error) {
			p.remove(up)
			p.gauge(-1)
		},
	})
	up.watch() // a parked connection that ends or sends anything is dropped at once
	if !up.mayBeBound() {
		p.add(up)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), p.bindTimeout)
		defer cancel()
		r, err := up.Bind(ctx, 1, "", Secret{}, nil)
		if err != nil || r.Code != Success || up.mayBeBound() {
			up.Close()
			return
		}
		p.add(up)
	}()
}

func (p *parkedUpstreams) add(up *upstreamConn) {
	p.mu.Lock()
	if p.closed || len(p.idle) >= p.max {
		p.mu.Unlock()
		up.Close()
		return
	}
	p.idle = append(p.idle, parked{up: up, since: time.Now()})
	p.mu.Unlock()
}

// take returns a parked connection, or nil. Its reader is stopped, so
// that the new client's binds read their own answers.
func (p *parkedUpstreams) take() *upstreamConn {
	for {
		p.mu.Lock()
		if len(p.idle) == 0 {
			p.mu.Unlock()
			return nil
		}
		last := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		p.mu.Unlock()
		// Outside p.mu: a connection that ends meanwhile removes itself.
		if time.Since(last.since) < parkedMaxAge && last.up.unwatch() {
			return last.up
		}
		last.up.Close()
	}
}

// remove forgets up (it ended while parked).
func (p *parkedUpstreams) remove(up *upstreamConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, e := range p.idle {
		if e.up == up {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return
		}
	}
}

// count returns how many connections are parked.
func (p *parkedUpstreams) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// close closes every parked connection and parks no more.
func (p *parkedUpstreams) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, e := range idle {
		e.up.Close()
	}
}

package proxy

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/ldapotp/ldapotp/otpme"
)

// countFlushDelay is how long a login through a session without max_login
// waits, at most, before its count and last use are written. Such a count
// decides nothing (no max_login to reach), and the last use only moves
// the unused timeout: another proxy reading the session meanwhile sees it
// up to this much older and may end it that much early, never late.
const countFlushDelay = time.Second

// countWriteTimeout bounds one flush.
const countWriteTimeout = 10 * time.Second

// pendingLogins are the logins counted through one session and not yet
// written.
type pendingLogins struct {
	n    int
	last time.Time
}

// deferredCounts collects the logins of sessions without max_login and
// writes them in one modify per session at most once per countFlushDelay,
// so that a mail server's re-binds cost the directory reads only. A write
// that fails for lack of the directory is kept and tried at the next
// flush; one whose session is gone is dropped.
type deferredCounts struct {
	write func(ctx context.Context, id string, p pendingLogins) error

	mu       sync.Mutex
	pending  map[string]pendingLogins
	inflight map[string]pendingLogins // taken by the running flush, not yet written
	timer    *time.Timer              // a flush is scheduled
	flushMu  sync.Mutex               // one flush at a time
}

func newDeferredCounts(write func(context.Context, string, pendingLogins) error) *deferredCounts {
	return &deferredCounts{write: write, pending: map[string]pendingLogins{}, inflight: map[string]pendingLogins{}}
}

// add counts one login through session id at now.
func (d *deferredCounts) add(id string, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.merge(id, pendingLogins{n: 1, last: now})
	if d.timer == nil {
		d.timer = time.AfterFunc(countFlushDelay, d.flushLater)
	}
}

// merge adds p to the pending logins of id; d.mu is held.
func (d *deferredCounts) merge(id string, p pendingLogins) {
	d.pending[id] = p.plus(d.pending[id])
}

func (p pendingLogins) plus(q pendingLogins) pendingLogins {
	p.n += q.n
	if q.last.After(p.last) {
		p.last = q.last
	}
	return p
}

// overlay returns sess with the logins counted here and not yet written.
func (d *deferredCounts) overlay(sess otpme.Session) otpme.Session {
	d.mu.Lock()
	p, ok := d.pending[sess.ID]
	q, inflight := d.inflight[sess.ID]
	d.mu.Unlock()
	if inflight {
		p, ok = p.plus(q), true
	}
	if ok {
		sess.Logins += p.n
		if p.last.After(sess.LastUsed) {
			sess.LastUsed = p.last
		}
	}
	return sess
}

func (d *deferredCounts) flushLater() {
	ctx, cancel := context.WithTimeout(context.Background(), countWriteTimeout)
	defer cancel()
	_ = d.flush(ctx)
}

// flush writes every pending count. Counts that could not be written for
// lack of the directory stay pending (a later flush is scheduled); the
// error says how many.
func (d *deferredCounts) flush(ctx context.Context) error {
	d.flushMu.Lock()
	defer d.flushMu.Unlock()
	d.mu.Lock()
	batch := d.pending
	d.pending, d.inflight = map[string]pendingLogins{}, batch
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.mu.Unlock()
	var errs []error
	for id, p := range batch {
		err := d.write(ctx, id, p)
		d.mu.Lock()
		delete(d.inflight, id)
		if err != nil && !errors.Is(err, otpme.ErrSessionNotFound) {
			errs = append(errs, err)
			d.merge(id, p)
			if d.timer == nil {
				d.timer = time.AfterFunc(countFlushDelay, d.flushLater)
			}
		}
		d.mu.Unlock()
	}
	return errors.Join(errs...)
}

// Flush writes the login counts not yet written (Shutdown calls it).
func (s *DirStore) Flush(ctx context.Context) error { return s.counts.flush(ctx) }

// writeCounts adds p to the session entry of id with the compare-and-swap
// of CountLogin; a session that is gone (logged out, purged) is dropped.
func (s *DirStore) writeCounts(ctx context.Context, id string, p pendingLogins) error {
	dn := s.dn(id)
	for range stateCASRetries {
		sess, err := s.readSession(ctx, dn)
		if err != nil {
			if !errors.Is(err, otpme.ErrSessionNotFound) {
				s.log.Warn("otpme: login count of a session not written yet, will retry", "session", id, "err", err)
			}
			return err
		}
		next := sess
		next.Logins += p.n
		if p.last.After(next.LastUsed) {
			next.LastUsed = p.last
		}
		err = s.swapLogins(ctx, dn, sess.Logins, next)
		switch {
		case err == nil:
			return nil
		case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
			return otpme.ErrSessionNotFound
		case !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute):
			s.log.Warn("otpme: login count of a session not written yet, will retry", "session", id, "err", err)
			return err
		}
	}
	return errStateContention
}

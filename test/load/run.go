package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is what each operation of a run does.
type Mode string

// The load modes.
const (
	ModePlainBind     Mode = "plain-bind"     // simple bind of a plain user
	ModeHOTPBind      Mode = "hotp-bind"      // static password + next HOTP code
	ModeTOTPBind      Mode = "totp-bind"      // static password + current TOTP code
	ModeSearch        Mode = "search"         // base search of the bound user's entry
	ModeSessionRebind Mode = "session-rebind" // re-bind with the password of an open OTPme session
)

// Modes lists every mode, in the order runs are reported.
var Modes = []Mode{ModePlainBind, ModeHOTPBind, ModeTOTPBind, ModeSearch, ModeSessionRebind}

// ConnMode says whether a worker keeps its connection.
type ConnMode string

// The connection modes.
const (
	Persistent ConnMode = "persistent" // one connection per worker, re-bound each time
	PerBind    ConnMode = "per-bind"   // connect, bind, unbind for every bind
)

// Config is one load run.
type Config struct {
	URL         string        // ldap://127.0.0.1:PORT (loopback only)
	Name        string        // how the target is named in the report; URL if ""
	Mode        Mode          // what each operation does
	Conn        ConnMode      // persistent or per-bind
	Concurrency int           // workers, each with at most one operation in flight
	Duration    time.Duration // how long to run
	MaxOps      int64         // stop after this many operations; 0: MaxOpsDefault
	SearchAttrs []string      // attributes the search mode asks for
}

// Limits of a run: every run stops by itself.
const (
	MaxDuration   = 10 * time.Minute
	MaxOpsDefault = 20_000_000
)

// kind returns the kind of user a mode binds as.
func (m Mode) kind() Kind {
	switch m {
	case ModeHOTPBind:
		return KindHOTP
	case ModeTOTPBind:
		return KindTOTP
	}
	return KindPlain
}

// Validate returns every problem of the run's configuration at once.
func (c Config) Validate() error {
	var errs []error
	if err := checkLoopbackURL(c.URL); err != nil {
		errs = append(errs, err)
	}
	switch c.Mode {
	case ModePlainBind, ModeHOTPBind, ModeTOTPBind, ModeSearch, ModeSessionRebind:
	default:
		errs = append(errs, fmt.Errorf("mode %q: want one of %v", c.Mode, Modes))
	}
	if c.Conn != Persistent && c.Conn != PerBind {
		errs = append(errs, fmt.Errorf("conn %q: want persistent or per-bind", c.Conn))
	}
	if c.Mode == ModeSearch && c.Conn == PerBind {
		errs = append(errs, errors.New("mode search binds once per worker: use -conn persistent"))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency %d: want at least 1", c.Concurrency))
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		errs = append(errs, fmt.Errorf("duration %v: want more than 0 and at most %v", c.Duration, MaxDuration))
	}
	if c.MaxOps < 0 {
		errs = append(errs, fmt.Errorf("max ops %d: want 0 (default %d) or more", c.MaxOps, MaxOpsDefault))
	}
	return errors.Join(errs...)
}

// pool returns the users a mode binds as: those of its kind, or for
// session-rebind those with an mOTP token.
func (m Mode) pool(users []*User) (pool []*User, what string) {
	if m == ModeSessionRebind {
		return SessionUsers(users), "mOTP"
	}
	return OfKind(users, m.kind()), string(m.kind())
}

// Run runs the load: Concurrency workers, each owning a disjoint slice of
// the users of the mode's kind, until Duration has passed or MaxOps
// operations were started. Operations that fail are counted by result
// code; only a configuration that cannot run at all is an error. In
// session-rebind mode it first opens a session for every user that has
// none (OpenSessions, not part of the measurement).
func Run(ctx context.Context, cfg Config, users []*User) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	addr, _ := loopbackAddr(cfg.URL)
	pool, what := cfg.Mode.pool(users)
	if len(pool) < cfg.Concurrency {
		return Result{}, fmt.Errorf("mode %s with %d workers needs at least %d %s users, have %d",
			cfg.Mode, cfg.Concurrency, cfg.Concurrency, what, len(pool))
	}
	if cfg.Mode == ModeSessionRebind {
		if err := OpenSessions(ctx, cfg.URL, pool, cfg.Concurrency); err != nil {
			return Result{}, err
		}
	}
	budget := cfg.MaxOps
	if budget == 0 {
		budget = MaxOpsDefault
	}
	w := &workload{cfg: cfg, addr: addr, deadline: time.Now().Add(cfg.Duration)}
	w.budget.Store(budget)
	recs := make([]*recorder, cfg.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range recs {
		lo, hi := partition(len(pool), cfg.Concurrency, i)
		recs[i] = newRecorder()
		wg.Go(func() { w.work(ctx, pool[lo:hi], recs[i]) })
	}
	wg.Wait()
	res := Result{Mode: cfg.Mode, Target: cfg.Name, Concurrency: cfg.Concurrency, Conn: cfg.Conn,
		Elapsed: time.Since(start), Users: len(pool)}
	if res.Target == "" {
		res.Target = cfg.URL
	}
	res = merge(res, recs)
	if cfg.Mode == ModeTOTPBind {
		res.Note = totpNote(res, pool[0].Period)
	}
	return res, nil
}

// workload is what the workers of one run share.
type workload struct {
	cfg      Config
	addr     string
	deadline time.Time
	budget   atomic.Int64 // operations left to start
}

// more reports whether a worker may start another operation.
func (w *workload) more(ctx context.Context) bool {
	return ctx.Err() == nil && time.Now().Before(w.deadline) && w.budget.Add(-1) >= 0
}

// work is one worker: it runs its mode over its own users.
func (w *workload) work(ctx context.Context, users []*User, rec *recorder) {
	switch w.cfg.Mode {
	case ModeSearch:
		w.searchLoop(ctx, users[0], rec)
	case ModeTOTPBind:
		p := &totpPicker{users: users}
		w.bindLoop(ctx, rec, func(now time.Time) (*User, []byte, time.Duration) {
			u, step, wait := p.pick(now)
			if u == nil {
				return nil, nil, wait
			}
			return u, totpPassword(u, step), 0
		})
	case ModeSessionRebind:
		next := 0
		w.bindLoop(ctx, rec, func(time.Time) (*User, []byte, time.Duration) {
			u := users[next]
			next = (next + 1) % len(users)
			return u, u.session, 0
		})
	case ModeHOTPBind:
		next := 0
		w.bindLoop(ctx, rec, func(time.Time) (*User, []byte, time.Duration) {
			u := users[next]
			next = (next + 1) % len(users)
			return u, hotpPassword(u), 0
		})
	default:
		next := 0
		w.bindLoop(ctx, rec, func(time.Time) (*User, []byte, time.Duration) {
			u := users[next]
			next = (next + 1) % len(users)
			return u, []byte(u.Password), 0
		})
	}
}

// credentialFunc returns who binds next and with what, or (nil, nil, wait)
// when nobody may bind for wait (TOTP: every user spent the current step).
type credentialFunc func(now time.Time) (*User, []byte, time.Duration)

// bindLoop binds until the run ends, on one connection or a new one each
// time. The latency of a per-bind operation includes the TCP connect.
func (w *workload) bindLoop(ctx context.Context, rec *recorder, next credentialFunc) {
	var c *client
	defer func() {
		if c != nil {
			c.close()
		}
	}()
	for w.more(ctx) {
		now := time.Now()
		u, password, wait := next(now)
		if u == nil {
			w.budget.Add(1) // nothing was started
			rec.waited += sleepUntil(ctx, now.Add(wait), w.deadline)
			continue
		}
		start := time.Now()
		var err error
		if c == nil {
			c, err = dial(ctx, w.addr)
		}
		code := 0
		if err == nil {
			code, err = c.bind(u.DN, password)
		}
		rec.record(time.Since(start), code, err)
		if err != nil || w.cfg.Conn == PerBind {
			if c != nil {
				c.close()
			}
			c = nil
		}
	}
}

// searchLoop binds once as u and then searches u's own entry until the run
// ends. A failed bind or a broken connection is counted and retried on a
// new connection.
func (w *workload) searchLoop(ctx context.Context, u *User, rec *recorder) {
	var c *client
	defer func() {
		if c != nil {
			c.close()
		}
	}()
	for w.more(ctx) {
		if c == nil {
			c = w.boundClient(ctx, u, rec)
			if c == nil {
				continue
			}
		}
		start := time.Now()
		code, err := c.search(u.DN, w.cfg.SearchAttrs)
		rec.record(time.Since(start), code, err)
		if err != nil {
			c.close()
			c = nil
		}
	}
}

// boundClient opens a connection bound as u; a failure is recorded as one
// operation and gives nil.
func (w *workload) boundClient(ctx context.Context, u *User, rec *recorder) *client {
	start := time.Now()
	c, err := dial(ctx, w.addr)
	code := 0
	if err == nil {
		code, err = c.bind(u.DN, []byte(u.Password))
	}
	if err == nil && code == 0 {
		return c
	}
	rec.record(time.Since(start), code, err)
	if c != nil {
		c.close()
	}
	return nil
}

// sleepUntil waits until t, the deadline or ctx's end, whichever is first,
// and returns how long it waited.
func sleepUntil(ctx context.Context, t, deadline time.Time) time.Duration {
	start := time.Now()
	if deadline.Before(t) {
		t = deadline
	}
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
	return time.Since(start)
}

// totpNote says how many TOTP users a run had and how many it needs: a
// user binds at most once per step, so sustaining R binds/s takes R × period
// users (a run shorter than one period needs R × duration).
func totpNote(r Result, period int64) string {
	busy := r.Elapsed.Seconds() - r.Waited.Seconds()/float64(r.Concurrency)
	rate := r.Rate()
	if busy > 0 {
		rate = float64(r.OK) / busy // the rate while not waiting
	}
	span := min(r.Elapsed.Seconds(), float64(period))
	return fmt.Sprintf("totp: %d users with a %ds step allow %.0f binds/s sustained; workers waited %.1f%% of the run for a fresh step; "+
		"at %.0f binds/s this run needed %.0f users (%.0f to sustain it past one step)",
		r.Users, period, float64(r.Users)/float64(period),
		100*r.Waited.Seconds()/(r.Elapsed.Seconds()*float64(r.Concurrency)), rate, rate*span, rate*float64(period))
}

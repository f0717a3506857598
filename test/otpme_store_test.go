package test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/otpme/storetest"
	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// stateEnv is a slapd with the OTPme schema and a source of fresh OTPme
// bases (ou=s<N>,ou=otpme,dc=example,dc=com), so that every store of a
// test starts empty and sees no other test's state.
type stateEnv struct {
	slapd *slapdtest.Server
	admin *ldap.Conn // the service account: the bases are created as it
	n     atomic.Int32
}

func newStateEnv(t *testing.T) *stateEnv {
	t.Helper()
	s := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, Schemas: []string{"schema/otpme.schema"},
		NoSync: true, LogLevel: "0"})
	return &stateEnv{slapd: s, admin: s.Service(t)}
}

// pool returns a new service-account connection pool, closed when t ends.
func (e *stateEnv) pool(t *testing.T) *proxy.ServiceDirectory {
	t.Helper()
	target, err := proxy.ParseTarget(e.slapd.URL)
	require.NoError(t, err)
	d := proxy.NewServiceDirectory(target, e.slapd.ServiceDN, proxy.NewSecret([]byte(e.slapd.ServicePassword)), 4, 10*time.Second)
	t.Cleanup(d.Close)
	return d
}

// newBase creates a fresh, empty OTPme base and returns its DN.
func (e *stateEnv) newBase(t *testing.T) string {
	t.Helper()
	dn := fmt.Sprintf("ou=s%d,ou=otpme,%s", e.n.Add(1), e.slapd.BaseDN)
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"organizationalUnit"})
	req.Attribute("ou", []string{fmt.Sprintf("s%d", e.n.Load())})
	require.NoError(t, e.admin.Add(req), "add %s", dn)
	return dn
}

func TestDirStore_Conformance(t *testing.T) {
	env := newStateEnv(t)
	d := env.pool(t)
	storetest.Run(t, func(t *testing.T) otpme.Store { return proxy.NewDirStore(d, env.newBase(t)) })
}

// TestDirStore_TwoPools runs the conformance suite against two DirStores
// on two separate connection pools sharing one base, every call going to
// the other one: two proxies behind a load balancer.
func TestDirStore_TwoPools(t *testing.T) {
	env := newStateEnv(t)
	d1, d2 := env.pool(t), env.pool(t)
	pair := func(t *testing.T) *alternating {
		base := env.newBase(t)
		return &alternating{s: [2]otpme.Store{proxy.NewDirStore(d1, base), proxy.NewDirStore(d2, base)}}
	}
	storetest.Run(t, func(t *testing.T) otpme.Store { return pair(t) })
	t.Run("expired-code-racing-exactly-one-first", func(t *testing.T) {
		s, ctx := pair(t), context.Background()
		t0 := time.Date(2024, 5, 1, 17, 0, 0, 0, time.UTC)
		first, err := s.UseCode(ctx, "tok", "code", t0, t0.Add(time.Minute))
		require.NoError(t, err)
		require.True(t, first)
		var firsts, errs atomic.Int32
		raceAll(64, func(int) {
			first, err := s.UseCode(ctx, "tok", "code", t0.Add(time.Minute), t0.Add(2*time.Minute))
			addIf(&errs, err != nil)
			addIf(&firsts, first)
		})
		assert.Zero(t, errs.Load())
		assert.Equal(t, int32(1), firsts.Load(), "an expired leftover is taken over by exactly one proxy")
	})
	t.Run("racing-reset-and-add-lose-nothing", func(t *testing.T) {
		s, ctx := pair(t), context.Background()
		for round := range 4 {
			scope := otpme.Scope{User: "u", Group: fmt.Sprint("g", round)}
			var added, reset atomic.Int32
			raceAll(64, func(i int) {
				if i%4 == 0 {
					n, err := s.ResetFails(ctx, scope)
					assert.NoError(t, err)
					reset.Add(int32(n))
					return
				}
				_, err := s.AddFail(ctx, scope, fmt.Sprintf("h%d", i))
				assert.NoError(t, err)
				added.Add(1)
			})
			left, err := s.Fails(ctx, scope)
			require.NoError(t, err)
			assert.Equal(t, added.Load(), reset.Load()+int32(left), "round %d: every distinct failure is reset once or still counted", round)
		}
	})
}

// alternating is an otpme.Store that sends each call to the next of two
// stores in turn.
type alternating struct {
	s [2]otpme.Store
	n atomic.Uint32
}

func (a *alternating) next() otpme.Store { return a.s[a.n.Add(1)%2] }

func (a *alternating) AddFail(ctx context.Context, scope otpme.Scope, h string) (int, error) {
	return a.next().AddFail(ctx, scope, h)
}

func (a *alternating) Fails(ctx context.Context, scope otpme.Scope) (int, error) {
	return a.next().Fails(ctx, scope)
}

func (a *alternating) ResetFails(ctx context.Context, scope otpme.Scope) (int, error) {
	return a.next().ResetFails(ctx, scope)
}

func (a *alternating) ResetUserFails(ctx context.Context, user string) error {
	return a.next().ResetUserFails(ctx, user)
}

func (a *alternating) UseCode(ctx context.Context, token, code string, now, expires time.Time) (bool, error) {
	return a.next().UseCode(ctx, token, code, now, expires)
}

func (a *alternating) CreateSessions(ctx context.Context, ss []otpme.Session) error {
	return a.next().CreateSessions(ctx, ss)
}

func (a *alternating) Sessions(ctx context.Context, user string) ([]otpme.Session, error) {
	return a.next().Sessions(ctx, user)
}

// CountLogin counts through the next store and writes its deferred
// counts at once: the conformance suite checks what two proxies agree on
// once the deferral (at most a second) is over; TestDirStore_DeferredCounts
// checks the deferral itself.
func (a *alternating) CountLogin(ctx context.Context, sess otpme.Session, now time.Time) (otpme.Session, error) {
	s := a.next()
	got, err := s.CountLogin(ctx, sess, now)
	if ferr := s.(*proxy.DirStore).Flush(ctx); err == nil {
		err = ferr
	}
	return got, err
}

func (a *alternating) DeleteSessions(ctx context.Context, f otpme.SessionFilter) (int, error) {
	return a.next().DeleteSessions(ctx, f)
}

func (a *alternating) Purge(ctx context.Context, now time.Time) (int, error) {
	return a.next().Purge(ctx, now)
}

// raceAll runs f in n goroutines started together and waits for them.
func raceAll(n int, f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(i)
		}()
	}
	close(start)
	wg.Wait()
}

func addIf(n *atomic.Int32, yes bool) {
	if yes {
		n.Add(1)
	}
}

// TestDirStore_Directory checks what the store leaves in the directory and
// how it fails when the directory cannot do what it asks.
func TestDirStore_Directory(t *testing.T) {
	env := newStateEnv(t)
	d, ctx := env.pool(t), context.Background()
	t0 := time.Date(2024, 5, 1, 17, 0, 0, 0, time.UTC)
	t.Run("state-container-created-on-first-write", func(t *testing.T) {
		s := proxy.NewDirStore(d, env.newBase(t))
		all, err := s.Sessions(ctx, "")
		require.NoError(t, err, "no container yet is no state")
		assert.Empty(t, all)
		n, err := s.Purge(ctx, t0)
		require.NoError(t, err)
		assert.Zero(t, n)
		_, err = s.AddFail(ctx, otpme.Scope{User: "u"}, "h1")
		require.NoError(t, err)
		assert.Equal(t, "state", readAttr(t, env.admin, s.Base(), "ou"))
	})
	t.Run("entry-layout", func(t *testing.T) {
		s := proxy.NewDirStore(d, env.newBase(t))
		sess := otpme.Session{ID: "0123456789abcdef0123456789abcdef", Login: "0123456789abcdef0123456789abcdef",
			User: "user-id", Group: "group-id", Token: "token-id", Salt: []byte("salt"), PasswordHash: []byte("pw"),
			Created: t0, LastUsed: t0, Expires: t0.Add(30 * time.Minute), UnusedTimeout: 5 * time.Minute, Logins: 1, MaxLogin: 3}
		require.NoError(t, s.CreateSessions(ctx, []otpme.Session{sess}))
		dn := "otpmeKey=" + sess.ID + "," + s.Base()
		for attr, want := range map[string]string{"objectClass": "otpmeState", "otpmeKind": "session",
			"otpmeUserID": "user-id", "otpmeGroupID": "group-id", "otpmeTokenID": "token-id", "otpmeLogins": "1",
			"otpmeExpires": fmt.Sprint(t0.Add(5 * time.Minute).Unix())} {
			assert.Equal(t, want, readAttr(t, env.admin, dn, attr), attr)
		}
		_, err := s.CountLogin(ctx, sess, t0.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, "2", readAttr(t, env.admin, dn, "otpmeLogins"), "max_login: counted at once")
		assert.Equal(t, fmt.Sprint(t0.Add(6*time.Minute).Unix()), readAttr(t, env.admin, dn, "otpmeExpires"),
			"a login moves the unused timeout")
	})
	t.Run("missing-base", func(t *testing.T) {
		s := proxy.NewDirStore(d, "ou=missing,ou=otpme,"+env.slapd.BaseDN)
		_, err := s.UseCode(ctx, "t", "c", t0, t0.Add(time.Minute))
		require.ErrorIs(t, err, proxy.ErrNoSuchEntry)
		assert.Contains(t, err.Error(), "ou=state,ou=missing,ou=otpme")
	})
	t.Run("escaped-ids", func(t *testing.T) {
		s := proxy.NewDirStore(d, env.newBase(t))
		odd := `a,b+c=d\e"f<g>h;i *(j)#`
		sess := otpme.Session{ID: odd, Login: odd, User: odd, Group: odd + "*", Token: odd, Created: t0, LastUsed: t0}
		require.NoError(t, s.CreateSessions(ctx, []otpme.Session{sess}))
		got, err := s.CountLogin(ctx, sess, t0)
		require.NoError(t, err)
		assert.Equal(t, 1, got.Logins)
		n, err := s.DeleteSessions(ctx, otpme.SessionFilter{User: odd, Group: odd})
		require.NoError(t, err)
		assert.Zero(t, n, "a filter value is not a pattern")
		n, err = s.DeleteSessions(ctx, otpme.SessionFilter{User: odd, Group: odd + "*"})
		require.NoError(t, err)
		assert.Equal(t, 1, n)
	})
}

// TestDirStore_Unavailable checks that a directory that goes away makes
// every call fail with an error (the engine then refuses the login) and
// that the store works again once it is back.
func TestDirStore_Unavailable(t *testing.T) {
	env := newStateEnv(t)
	s, ctx := proxy.NewDirStore(env.pool(t), env.newBase(t)), context.Background()
	t0 := time.Date(2024, 5, 1, 17, 0, 0, 0, time.UTC)
	_, err := s.AddFail(ctx, otpme.Scope{User: "u"}, "h1")
	require.NoError(t, err)
	unlimited := otpme.Session{ID: "s2", User: "u", Created: t0, LastUsed: t0, Logins: 1}
	require.NoError(t, s.CreateSessions(ctx, []otpme.Session{unlimited}))
	env.slapd.Stop()
	calls := map[string]func() error{
		"add-fail":        func() error { _, err := s.AddFail(ctx, otpme.Scope{User: "u"}, "h2"); return err },
		"fails":           func() error { _, err := s.Fails(ctx, otpme.Scope{User: "u"}); return err },
		"reset-fails":     func() error { _, err := s.ResetFails(ctx, otpme.Scope{User: "u"}); return err },
		"reset-user":      func() error { return s.ResetUserFails(ctx, "u") },
		"use-code":        func() error { _, err := s.UseCode(ctx, "t", "c", t0, t0.Add(time.Minute)); return err },
		"create-sessions": func() error { return s.CreateSessions(ctx, []otpme.Session{{ID: "s1", User: "u"}}) },
		"sessions":        func() error { _, err := s.Sessions(ctx, "u"); return err },
		"count-login": func() error {
			_, err := s.CountLogin(ctx, otpme.Session{ID: "s1", User: "u", MaxLogin: 3}, t0)
			return err
		},
		"delete-sessions": func() error { _, err := s.DeleteSessions(ctx, otpme.SessionFilter{User: "u"}); return err },
		"purge":           func() error { _, err := s.Purge(ctx, t0); return err },
	}
	for name, call := range calls {
		err := call()
		assert.ErrorIs(t, err, proxy.ErrUnavailable, name)
		assert.False(t, errors.Is(err, otpme.ErrSessionNotFound), name)
	}
	_, err = s.CountLogin(ctx, unlimited, t0.Add(time.Second))
	require.NoError(t, err, "a login through a session without max_login is counted later")
	assert.ErrorIs(t, s.Flush(ctx), proxy.ErrUnavailable, "the count is kept while the directory is down")
	env.slapd.Restart(t)
	n, err := s.Fails(ctx, otpme.Scope{User: "u"})
	require.NoError(t, err, "the pool redials")
	assert.Equal(t, 1, n)
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, "2", readAttr(t, env.slapd.Service(t), "otpmeKey=s2,"+s.Base(), "otpmeLogins"), "written once it is back")
}

// TestDirStore_DeferredCounts: logins through a session without max_login
// are counted at once by the proxy that counted them, reach the directory
// (and so the other proxies) in one modify within the deferral, and a
// session logged out meanwhile on another proxy stays gone.
func TestDirStore_DeferredCounts(t *testing.T) {
	s := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, Schemas: []string{"schema/otpme.schema"}, NoSync: true})
	env := &stateEnv{slapd: s, admin: s.Service(t)}
	base := env.newBase(t)
	a, b := proxy.NewDirStore(env.pool(t), base), proxy.NewDirStore(env.pool(t), base)
	ctx := context.Background()
	t0 := time.Date(2024, 5, 1, 17, 0, 0, 0, time.UTC)
	sess := otpme.Session{ID: "d1", User: "u", Created: t0, LastUsed: t0, Logins: 1, UnusedTimeout: time.Hour}
	require.NoError(t, a.CreateSessions(ctx, []otpme.Session{sess}))
	dn := "otpmeKey=d1," + a.Base()

	start := time.Now()
	for i := 1; i <= 3; i++ {
		got, err := a.CountLogin(ctx, storetest.Stored(t, a, "u", "d1"), t0.Add(time.Duration(i)*time.Second))
		require.NoError(t, err)
		assert.Equal(t, 1+i, got.Logins)
	}
	quick := time.Since(start) < 500*time.Millisecond
	assert.Equal(t, 4, storetest.Stored(t, a, "u", "d1").Logins, "the counting proxy sees its logins at once")
	assert.Eventually(t, func() bool { return readAttr(t, env.admin, dn, "otpmeLogins") == "4" },
		5*time.Second, 20*time.Millisecond, "written within the deferral")
	onB := storetest.Stored(t, b, "u", "d1")
	assert.Equal(t, 4, onB.Logins, "the other proxy sees them")
	assert.True(t, onB.LastUsed.Equal(t0.Add(3*time.Second)), "and the last use: %v", onB.LastUsed)
	if quick { // three logins well inside one deferral: one modify
		assert.Equal(t, 1, strings.Count(settled(s), `MOD dn="`+dn+`"`), "modifies of the session entry")
	}

	_, err := a.CountLogin(ctx, storetest.Stored(t, a, "u", "d1"), t0.Add(4*time.Second))
	require.NoError(t, err)
	n, err := b.DeleteSessions(ctx, otpme.SessionFilter{ID: "d1"})
	require.NoError(t, err)
	require.Equal(t, 1, n, "logged out on the other proxy")
	require.NoError(t, a.Flush(ctx), "a count for a session gone meanwhile is dropped")
	all, err := b.Sessions(ctx, "u")
	require.NoError(t, err)
	assert.Empty(t, all, "the logged-out session is not brought back")
}

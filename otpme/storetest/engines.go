package storetest

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

// clock is a fake clock shared by both engines.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the fake time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the fake time on by d.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// proxies is two engines (two proxies) sharing one store and one
// configuration: user alice with an mOTP token allowed for "webmail"
// (sessions on, max_login 4) and "wlan" (sessions off); client
// "roundcube" → webmail, "ap" → wlan.
type proxies struct {
	e      [2]*otpme.Engine
	clock  *clock
	secret otpme.Secret
	pin    otpme.Secret
}

var sharedKey = otpme.Secret("storetest-key-0123456789abcdef-0123456789")

func newProxies(t *testing.T, s otpme.Store) *proxies {
	ctx, objs := context.Background(), otpme.NewMemObjects()
	p := &proxies{clock: &clock{now: t0}, secret: otpme.Secret("0123456789abcdef"), pin: otpme.Secret("1234")}
	must := func(err error) { t.Helper(); require.NoError(t, err) }
	must(objs.AddUser(ctx, "alice"))
	must(objs.AddMOTPToken(ctx, "alice", "phone", p.secret, p.pin))
	for _, g := range []string{"webmail", "wlan"} {
		must(objs.AddGroup(ctx, g))
		must(objs.TokenAddGroup(ctx, "alice", "phone", g))
	}
	must(objs.SetGroupSessions(ctx, "webmail", true))
	must(objs.SetMaxLogin(ctx, "webmail", 4))
	for c, g := range map[string]string{"roundcube": "webmail", "ap": "wlan"} {
		must(objs.AddClient(ctx, c))
		must(objs.SetClientAccessGroup(ctx, c, g))
	}
	for i := range p.e {
		var err error
		p.e[i], err = otpme.New(otpme.Config{Objects: objs, Store: s, Key: sharedKey, Now: p.clock.Now})
		must(err)
	}
	return p
}

// code returns a fresh mOTP code (the clock moves one step on).
func (p *proxies) code() otpme.Secret {
	p.clock.Advance(otpme.MOTPStep)
	return otpme.Secret(otpme.MOTPCode(p.secret, p.pin, p.clock.Now()))
}

// verify asks proxy i%2. It does not stop the test on error (it runs in
// racing goroutines too).
func (p *proxies) verify(t *testing.T, i int, pw otpme.Secret, client string) otpme.Result {
	t.Helper()
	r, err := p.e[i%2].Verify(context.Background(), otpme.Request{User: "alice", Password: pw, Client: client, Trace: true})
	assert.NoError(t, err)
	return r
}

func runSharedEngines(t *testing.T, newStore func(t *testing.T) otpme.Store) {
	t.Run("session-seen-by-other-proxy", func(t *testing.T) {
		p := newProxies(t, newStore(t))
		c := p.code()
		assert.Equal(t, otpme.AuthOKOTP, p.verify(t, 0, c, "roundcube").Event.Code)
		assert.Equal(t, otpme.AuthOKSession, p.verify(t, 1, c, "roundcube").Event.Code)
	})
	t.Run("used-code-seen-by-other-proxy", func(t *testing.T) {
		p := newProxies(t, newStore(t))
		c := p.code()
		assert.Equal(t, otpme.AuthOKOTP, p.verify(t, 0, c, "ap").Event.Code)
		assert.Equal(t, otpme.AuthOTPAlreadyUsed, p.verify(t, 1, c, "ap").Event.Code)
	})
	t.Run("lock-seen-by-other-proxy", func(t *testing.T) {
		p := newProxies(t, newStore(t))
		for i := range otpme.DefaultMaxFail {
			r := p.verify(t, i, otpme.Secret("wrong-"+strconv.Itoa(i)), "ap")
			assert.Equal(t, otpme.AuthFailed, r.Event.Code)
		}
		for i := range 2 {
			assert.Equal(t, otpme.AuthUserLocked, p.verify(t, i, p.code(), "ap").Event.Code, "proxy %d", i)
		}
	})
	t.Run("logout-seen-by-other-proxy", func(t *testing.T) {
		p := newProxies(t, newStore(t))
		c := p.code()
		require.True(t, p.verify(t, 0, c, "roundcube").OK)
		assert.Equal(t, otpme.AuthSessionLogout, p.verify(t, 1, otpme.LogoutPassword(c), "roundcube").Event.Code)
		assert.Equal(t, otpme.AuthOTPAlreadyUsed, p.verify(t, 0, c, "roundcube").Event.Code)
	})
	t.Run("racing-one-code-one-login", func(t *testing.T) {
		p := newProxies(t, newStore(t))
		c := p.code()
		var oks atomic.Int32
		race(func(i int) { count(&oks, p.verify(t, i, c, "ap").OK) })
		assert.Equal(t, int32(1), oks.Load())
	})
	t.Run("racing-max-login", func(t *testing.T) {
		p := newProxies(t, newStore(t))
		c := p.code()
		require.Equal(t, otpme.AuthOKOTP, p.verify(t, 0, c, "roundcube").Event.Code)
		var oks atomic.Int32
		race(func(i int) { count(&oks, p.verify(t, i, c, "roundcube").Event.Code == otpme.AuthOKSession) })
		assert.Equal(t, int32(3), oks.Load(), "max_login 4, the opening login included")
	})
}

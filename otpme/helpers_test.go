package otpme_test

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

// fakeClock is the engines' clock in tests: it moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var (
	testKey = otpme.Secret("otpme-test-key-0123456789abcdef-0123456789")
	t0      = time.Date(2024, 5, 1, 17, 0, 0, 0, time.UTC)
)

// env is one engine over fresh MemObjects and MemStore.
type env struct {
	ctx   context.Context
	objs  *otpme.MemObjects
	store *otpme.MemStore
	eng   *otpme.Engine
	clock *fakeClock
}

// newEnv returns an env; edit configures the engine (Objects, Store, Key
// and Now are set already).
func newEnv(t testing.TB, edit func(*otpme.Config)) *env {
	t.Helper()
	e := &env{ctx: context.Background(), objs: otpme.NewMemObjects(), store: otpme.NewMemStore(),
		clock: &fakeClock{now: t0}}
	c := otpme.Config{Objects: e.objs, Store: e.store, Key: testKey, Now: e.clock.Now}
	if edit != nil {
		edit(&c)
	}
	var err error
	e.eng, err = otpme.New(c)
	require.NoError(t, err)
	e.objs.SetRevoker(e.eng)
	return e
}

// must fails the test on err.
func must(t testing.TB, err error) {
	t.Helper()
	require.NoError(t, err)
}

func (e *env) verify(t testing.TB, user string, pw otpme.Secret, client string) otpme.Result {
	t.Helper()
	r, err := e.eng.Verify(e.ctx, otpme.Request{User: user, Password: pw, Client: client, Trace: true})
	require.NoError(t, err)
	return r
}

// motp returns the current code of the user's mOTP token.
func (e *env) motp(t testing.TB, user, token string) otpme.Secret {
	t.Helper()
	tok, err := e.objs.Token(e.ctx, user, token)
	require.NoError(t, err)
	return otpme.Secret(otpme.MOTPCode(tok.Secret, tok.PIN, e.clock.Now()))
}

// mail is a small mail setup: user alice with an mOTP token "phone"
// (webmail) and a device password "laptop" (wlan); groups webmail
// (sessions on, child group and child session imap), imap, smtp, wlan; clients roundcube →
// webmail, cyrus → imap, postfix → smtp, ap → wlan.
type mail struct {
	*env
	laptop otpme.Secret
}

func newMail(t testing.TB, edit func(*otpme.Config)) *mail {
	t.Helper()
	m := &mail{env: newEnv(t, edit)}
	ctx, o := m.ctx, m.objs
	must(t, o.AddUser(ctx, "alice"))
	must(t, o.AddMOTPToken(ctx, "alice", "phone", otpme.Secret("0123456789abcdef"), otpme.Secret("1234")))
	var err error
	m.laptop, err = o.AddPasswordToken(ctx, "alice", "laptop")
	must(t, err)
	for _, g := range []string{"webmail", "imap", "smtp", "wlan"} {
		must(t, o.AddGroup(ctx, g))
	}
	must(t, o.SetGroupSessions(ctx, "webmail", true))
	must(t, o.AddChildSession(ctx, "webmail", "imap"))
	must(t, o.AddChildGroup(ctx, "webmail", "imap"))
	must(t, o.TokenAddGroup(ctx, "alice", "phone", "webmail"))
	must(t, o.TokenAddGroup(ctx, "alice", "laptop", "wlan"))
	for c, g := range map[string]string{"roundcube": "webmail", "cyrus": "imap", "postfix": "smtp", "ap": "wlan"} {
		must(t, o.AddClient(ctx, c))
		must(t, o.SetClientAccessGroup(ctx, c, g))
	}
	return m
}

// code moves the clock one mOTP step on and returns alice's fresh code.
func (m *mail) code(t testing.TB) otpme.Secret {
	t.Helper()
	m.clock.Advance(otpme.MOTPStep)
	return m.motp(t, "alice", "phone")
}

// codes asserts the events of a series of alice's requests.
func (m *mail) expect(t *testing.T, tries ...try) {
	t.Helper()
	for i, tr := range tries {
		r := m.verify(t, "alice", tr.pw, tr.client)
		require.Equal(t, tr.want, r.Event.Code, "try %d (%s): trace:\n%s", i, tr.client, strings.Join(r.Trace, "\n"))
		require.Equal(t, tr.want.OK(), r.OK)
	}
}

// try is one request of alice and the event it must end with.
type try struct {
	client string
	pw     otpme.Secret
	want   otpme.EventCode
}

// groupsOfSessions returns the access groups of alice's live sessions.
func (m *mail) groupsOfSessions(t *testing.T) []string {
	t.Helper()
	ss, err := m.eng.Sessions(m.ctx, "alice")
	require.NoError(t, err)
	gs := []string{}
	for _, s := range ss {
		gs = append(gs, s.AccessGroup)
	}
	sort.Strings(gs)
	return gs
}

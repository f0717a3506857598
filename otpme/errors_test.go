package otpme_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

var errBoom = errors.New("boom")

// failingStore fails the method named fail.
type failingStore struct {
	otpme.Store
	fail string
}

func (s failingStore) err(m string) error {
	if s.fail == m {
		return fmt.Errorf("store %s: %w", m, errBoom)
	}
	return nil
}

func (s failingStore) AddFail(ctx context.Context, sc otpme.Scope, h string) (int, error) {
	if err := s.err("AddFail"); err != nil {
		return 0, err
	}
	return s.Store.AddFail(ctx, sc, h)
}

func (s failingStore) Fails(ctx context.Context, sc otpme.Scope) (int, error) {
	if err := s.err("Fails"); err != nil {
		return 0, err
	}
	return s.Store.Fails(ctx, sc)
}

func (s failingStore) ResetFails(ctx context.Context, sc otpme.Scope) (int, error) {
	if err := s.err("ResetFails"); err != nil {
		return 0, err
	}
	return s.Store.ResetFails(ctx, sc)
}

func (s failingStore) UseCode(ctx context.Context, tok, code string, now, exp time.Time) (bool, error) {
	if err := s.err("UseCode"); err != nil {
		return false, err
	}
	return s.Store.UseCode(ctx, tok, code, now, exp)
}

func (s failingStore) CreateSessions(ctx context.Context, ss []otpme.Session) error {
	if err := s.err("CreateSessions"); err != nil {
		return err
	}
	return s.Store.CreateSessions(ctx, ss)
}

func (s failingStore) Sessions(ctx context.Context, u string) ([]otpme.Session, error) {
	if err := s.err("Sessions"); err != nil {
		return nil, err
	}
	return s.Store.Sessions(ctx, u)
}

func (s failingStore) CountLogin(ctx context.Context, sess otpme.Session, now time.Time) (otpme.Session, error) {
	if err := s.err("CountLogin"); err != nil {
		return otpme.Session{}, err
	}
	return s.Store.CountLogin(ctx, sess, now)
}

// failingObjects fails the method named fail.
type failingObjects struct {
	otpme.Objects
	fail string
}

func (o failingObjects) User(ctx context.Context, n string) (otpme.User, error) {
	if o.fail == "User" {
		return otpme.User{}, errBoom
	}
	return o.Objects.User(ctx, n)
}

func (o failingObjects) Tokens(ctx context.Context, n string) ([]otpme.Token, error) {
	if o.fail == "Tokens" {
		return nil, errBoom
	}
	return o.Objects.Tokens(ctx, n)
}

func (o failingObjects) Groups(ctx context.Context) ([]otpme.Group, error) {
	if o.fail == "Groups" {
		return nil, errBoom
	}
	return o.Objects.Groups(ctx)
}

func (o failingObjects) Client(ctx context.Context, n string) (otpme.Client, error) {
	if o.fail == "Client" {
		return otpme.Client{}, errBoom
	}
	return o.Objects.Client(ctx, n)
}

// TestEngine_VerifyInfrastructureErrors: when Objects or the Store fail,
// Verify refuses and returns the error (wrapped), never a password.
func TestEngine_VerifyInfrastructureErrors(t *testing.T) {
	tests := []struct {
		objects, store string
		request        string // "code" (a fresh code), "session" (re-use), "bad", "locked-fails"
	}{
		{"User", "", "code"}, {"Tokens", "", "code"}, {"Groups", "", "code"}, {"Client", "", "code"},
		{"", "Fails", "code"}, {"", "Sessions", "code"}, {"", "UseCode", "code"}, {"", "CreateSessions", "code"},
		{"", "AddFail", "bad"}, {"", "CountLogin", "session"}, {"", "ResetFails", "after-failure"},
	}
	for _, tt := range tests {
		t.Run(strings.ToLower(tt.objects+tt.store), func(t *testing.T) {
			m := newMail(t, nil)
			c := m.code(t)
			switch tt.request {
			case "session":
				m.expect(t, try{"roundcube", c, otpme.AuthOKOTP})
			case "after-failure":
				m.expect(t, try{"roundcube", otpme.Secret("wrong"), otpme.AuthFailed})
			case "bad":
				c = otpme.Secret("wrong")
			}
			eng, err := otpme.New(otpme.Config{Objects: failingObjects{m.objs, tt.objects},
				Store: failingStore{m.store, tt.store}, Key: testKey, Now: m.clock.Now})
			require.NoError(t, err)
			r, err := eng.Verify(m.ctx, otpme.Request{User: "alice", Password: c, Client: "roundcube", Trace: true})
			require.ErrorIs(t, err, errBoom)
			assert.False(t, r.OK)
			assert.Equal(t, otpme.AuthFailed, r.Event.Code)
			assert.Equal(t, otpme.KindNone, r.Kind)
			assert.Empty(t, r.Event.Session)
			assert.Empty(t, r.Event.Token)
			assert.Contains(t, r.Trace[len(r.Trace)-2], "ERROR: Verification failed")
			assert.NotContains(t, err.Error(), string(c))
		})
	}
}

// TestEngine_VerifyNoSecretLeak runs every kind of request with a
// recognisable password and looks for it (and the secrets) in traces,
// events and errors.
func TestEngine_VerifyNoSecretLeak(t *testing.T) {
	m := newMail(t, func(c *otpme.Config) { c.AllowGroupMissing = true })
	secret, err := m.objs.SetClientSecret(m.ctx, "postfix", otpme.Secret("client-secret-QQQQ"))
	require.NoError(t, err)
	must(t, m.objs.SetTrustCheck(m.ctx, "postfix", true))
	must(t, m.objs.TokenAddGroup(m.ctx, "alice", "phone", "smtp"))
	c := m.code(t)
	pws := []otpme.Secret{otpme.Secret("WRONG-PASSWORD-ZZZZ"), c, m.laptop, otpme.LogoutPassword(c), otpme.TrustPassword(secret, c)}
	var seen []string
	for _, pw := range pws {
		for _, client := range []string{"", "roundcube", "cyrus", "postfix", "ap", "unknown"} {
			r, err := m.eng.Verify(m.ctx, otpme.Request{User: "alice", Password: pw, Client: client, Trace: true})
			require.NoError(t, err)
			seen = append(seen, r.Trace...)
			seen = append(seen, r.Event.String(), fmt.Sprintf("%v %+v %#v", r, r, r))
		}
	}
	tok, err := m.objs.Token(m.ctx, "alice", "phone")
	require.NoError(t, err)
	all := strings.Join(seen, "\n")
	// (The 4-digit PIN is left out: it may occur in a random session ID.)
	for _, s := range append(pws, secret, tok.Secret, testKey) {
		assert.NotContains(t, all, string(s))
	}
}

package otpme_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/oath"
	"github.com/ldapotp/ldapotp/otpme"
)

func TestEngine_VerifyTrustPassword(t *testing.T) {
	setup := func(t *testing.T) (*mail, otpme.Secret) {
		m := newMail(t, nil)
		secret, err := m.objs.SetClientSecret(m.ctx, "roundcube", nil)
		require.NoError(t, err)
		must(t, m.objs.SetTrustCheck(m.ctx, "roundcube", true))
		return m, secret
	}
	t.Run("ctp-opens-sessions-for-the-ctp", func(t *testing.T) {
		m, secret := setup(t)
		c := m.code(t)
		ctp := otpme.TrustPassword(secret, c)
		r := m.verify(t, "alice", ctp, "roundcube")
		require.Equal(t, otpme.AuthOKTrustPW, r.Event.Code, strings.Join(r.Trace, "\n"))
		assert.Equal(t, otpme.KindTrust, r.Kind)
		assert.Equal(t, otpme.TokenMOTP, r.TokenType)
		m.expect(t, try{"cyrus", ctp, otpme.AuthOKSession}, try{"cyrus", c, otpme.AuthOTPAlreadyUsed})
		gen, err := m.eng.GenClientTP(m.ctx, "roundcube", c)
		require.NoError(t, err)
		assert.Equal(t, string(ctp), string(gen))
	})
	tests := []struct {
		name string
		pw   func(m *mail, secret, code otpme.Secret) otpme.Secret
		want otpme.EventCode
	}{
		{"bare-code-refused", func(_ *mail, _, code otpme.Secret) otpme.Secret { return code }, otpme.AuthFailed},
		{"other-secret-refused", func(_ *mail, _, code otpme.Secret) otpme.Secret {
			return otpme.TrustPassword(otpme.Secret("not-the-secret"), code)
		}, otpme.AuthFailed},
		{"static-password-still-works", func(m *mail, _, _ otpme.Secret) otpme.Secret { return m.laptop }, otpme.AuthOKStatic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, secret := setup(t)
			must(t, m.objs.TokenAddGroup(m.ctx, "alice", "laptop", "webmail"))
			m.expect(t, try{"roundcube", tt.pw(m, secret, m.code(t)), tt.want})
		})
	}
	t.Run("ctp-replay", func(t *testing.T) {
		m, secret := setup(t)
		must(t, m.objs.SetGroupSessions(m.ctx, "webmail", false))
		ctp := otpme.TrustPassword(secret, m.code(t))
		m.expect(t, try{"roundcube", ctp, otpme.AuthOKTrustPW}, try{"roundcube", ctp, otpme.AuthOTPAlreadyUsed})
	})
	t.Run("trust-check-without-secret", func(t *testing.T) {
		m := newMail(t, nil)
		must(t, m.objs.SetTrustCheck(m.ctx, "roundcube", true))
		c := m.code(t)
		m.expect(t, try{"roundcube", otpme.TrustPassword(nil, c), otpme.AuthFailed}, try{"roundcube", c, otpme.AuthFailed})
	})
	t.Run("gen-client-tp-errors", func(t *testing.T) {
		m := newMail(t, nil)
		_, err := m.eng.GenClientTP(m.ctx, "roundcube", otpme.Secret("123456"))
		require.ErrorIs(t, err, otpme.ErrNoSecret)
		_, err = m.eng.GenClientTP(m.ctx, "nope", otpme.Secret("123456"))
		require.ErrorIs(t, err, otpme.ErrNotFound)
	})
}

// fakeOATH is the proxy's OATHVerifier in miniature: HOTP (6 digits,
// look-ahead 2) with the counter in memory, updated under a lock (the
// proxy's compare-and-swap).
type fakeOATH struct {
	mu      sync.Mutex
	key     []byte
	counter map[string]int64 // DN → last counter
	calls   int
	err     error
}

func (f *fakeOATH) VerifyOATH(_ context.Context, tok otpme.Token, pw otpme.Secret) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return false, f.err
	}
	last, ok := f.counter[tok.DN]
	if !ok {
		last = -1
	}
	c, ok := oath.VerifyHOTP(oath.HOTPParams{Digits: 6, Algorithm: oath.SHA1, LookAhead: 2}, f.key, last, pw)
	if ok {
		f.counter[tok.DN] = c
	}
	return ok, nil
}

func (f *fakeOATH) code(counter int64) otpme.Secret {
	return otpme.Secret(oath.Code(oath.SHA1, f.key, counter, 6))
}

func TestEngine_VerifyOATH(t *testing.T) {
	errDown := errors.New("directory down")
	setup := func(t *testing.T, v otpme.OATHVerifier) *mail {
		m := newMail(t, func(c *otpme.Config) {
			if v != nil {
				c.OATH = v
			}
		})
		must(t, m.objs.AddOATHToken(m.ctx, "alice", "yubikey", otpme.TokenHOTP, "cn=yubikey,ou=tokens,dc=example,dc=org"))
		must(t, m.objs.TokenAddGroup(m.ctx, "alice", "yubikey", "wlan"))
		must(t, m.objs.TokenAddGroup(m.ctx, "alice", "yubikey", "webmail"))
		return m
	}
	newFake := func() *fakeOATH { return &fakeOATH{key: []byte("12345678901234567890"), counter: map[string]int64{}} }
	t.Run("code-then-replay", func(t *testing.T) {
		f := newFake()
		m := setup(t, f)
		r := m.verify(t, "alice", f.code(0), "ap")
		require.Equal(t, otpme.AuthOKOTP, r.Event.Code)
		assert.Equal(t, "yubikey", r.Event.Token)
		assert.Equal(t, otpme.TokenHOTP, r.TokenType)
		m.expect(t, try{"ap", f.code(0), otpme.AuthFailed}, try{"ap", f.code(2), otpme.AuthOKOTP})
	})
	t.Run("session-spares-the-verifier", func(t *testing.T) {
		f := newFake()
		m := setup(t, f)
		m.expect(t, try{"roundcube", f.code(0), otpme.AuthOKOTP}, try{"roundcube", f.code(0), otpme.AuthOKSession})
		assert.Equal(t, 1, f.calls)
	})
	t.Run("spent-by-another-proxy", func(t *testing.T) {
		f := newFake()
		f.err = errors.Join(otpme.ErrOTPUsed, errors.New("noSuchAttribute"))
		m := setup(t, f)
		r := m.verify(t, "alice", f.code(0), "ap")
		assert.Equal(t, otpme.AuthOTPAlreadyUsed, r.Event.Code)
		assert.Equal(t, "yubikey", r.Event.Token)
	})
	t.Run("directory-down", func(t *testing.T) {
		f := newFake()
		f.err = errDown
		m := setup(t, f)
		r, err := m.eng.Verify(m.ctx, otpme.Request{User: "alice", Password: f.code(0), Client: "ap", Trace: true})
		require.ErrorIs(t, err, errDown)
		assert.False(t, r.OK)
		assert.Equal(t, otpme.AuthFailed, r.Event.Code)
	})
	t.Run("no-verifier", func(t *testing.T) {
		m := setup(t, nil)
		m.expect(t, try{"ap", newFake().code(0), otpme.AuthFailed})
	})
	t.Run("trust-client-skips-oath", func(t *testing.T) {
		f := newFake()
		m := setup(t, f)
		_, err := m.objs.SetClientSecret(m.ctx, "roundcube", nil)
		require.NoError(t, err)
		must(t, m.objs.SetTrustCheck(m.ctx, "roundcube", true))
		m.expect(t, try{"roundcube", f.code(0), otpme.AuthFailed})
		assert.Zero(t, f.calls)
	})
}

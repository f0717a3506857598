package otpme_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

func TestConfig_Validate(t *testing.T) {
	ok := otpme.Config{Objects: otpme.NewMemObjects(), Store: otpme.NewMemStore(), Key: testKey}
	tests := []struct {
		name   string
		edit   func(*otpme.Config)
		errors []string
	}{
		{"valid", func(*otpme.Config) {}, nil},
		{"no-objects", func(c *otpme.Config) { c.Objects = nil }, []string{"Config.Objects"}},
		{"no-store", func(c *otpme.Config) { c.Store = nil }, []string{"Config.Store"}},
		{"short-key", func(c *otpme.Config) { c.Key = c.Key[:31] }, []string{"Config.Key has 31 bytes"}},
		{"negative-timeout", func(c *otpme.Config) { c.UnusedSessionTimeout = -time.Second }, []string{"must not be negative"}},
		{"every-problem-at-once", func(c *otpme.Config) { *c = otpme.Config{} }, []string{"Config.Objects", "Config.Store", "Config.Key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.Validate()
			_, newErr := otpme.New(c)
			if tt.errors == nil {
				assert.NoError(t, err)
				assert.NoError(t, newErr)
				return
			}
			require.Error(t, err)
			require.Error(t, newErr)
			for _, e := range tt.errors {
				assert.Contains(t, err.Error(), e)
			}
			assert.NotContains(t, err.Error(), string(testKey[:31]), "the key is never in an error")
		})
	}
}

func TestEngine_VerifyClient(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, m *mail)
		client string
		ip     string
		want   otpme.EventCode
	}{
		{"known-client", nil, "ap", "", otpme.AuthOKStatic},
		{"unknown-client", nil, "nas", "", otpme.AuthClientUnknown},
		{"disabled-client", func(t *testing.T, m *mail) { must(t, m.objs.SetClientEnabled(m.ctx, "ap", false)) }, "ap", "", otpme.AuthClientDisabled},
		{"address-in-prefix", allowNet, "ap", "192.0.2.9", otpme.AuthOKStatic},
		{"address-ipv4-mapped", allowNet, "ap", "::ffff:192.0.2.9", otpme.AuthOKStatic},
		{"address-single", allowNet, "ap", "198.51.100.7", otpme.AuthOKStatic},
		{"address-outside", allowNet, "ap", "198.51.100.8", otpme.AuthClientAddress},
		{"address-missing", allowNet, "ap", "", otpme.AuthClientAddress},
		{"address-garbage", allowNet, "ap", "not-an-ip", otpme.AuthClientAddress},
		{"no-client", nil, "", "", otpme.AuthGroupMissing},
		{"client-without-group", func(t *testing.T, m *mail) { must(t, m.objs.SetClientAccessGroup(m.ctx, "ap", "")) }, "ap", "", otpme.AuthGroupMissing},
		{"disabled-group", func(t *testing.T, m *mail) { must(t, m.objs.SetGroupEnabled(m.ctx, "wlan", false)) }, "ap", "", otpme.AuthGroupDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMail(t, nil)
			if tt.setup != nil {
				tt.setup(t, m)
			}
			r, err := m.eng.Verify(m.ctx, otpme.Request{User: "alice", Password: m.laptop, Client: tt.client, ClientIP: tt.ip, Trace: true})
			require.NoError(t, err)
			assert.Equal(t, tt.want, r.Event.Code, strings.Join(r.Trace, "\n"))
			assert.Equal(t, tt.ip, r.Event.ClientIP)
			st, err := m.eng.Status(m.ctx, "alice", "")
			require.NoError(t, err)
			assert.Zero(t, st.Fails, "refusing a client or group is no failed login of the user")
		})
	}
}

func allowNet(t *testing.T, m *mail) {
	must(t, m.objs.AddClientAddress(m.ctx, "ap", "192.0.2.0/24"))
	must(t, m.objs.AddClientAddress(m.ctx, "ap", "198.51.100.7"))
}

func TestEngine_VerifyAllowGroupMissing(t *testing.T) {
	m := newMail(t, func(c *otpme.Config) { c.AllowGroupMissing = true })
	m.expect(t,
		try{"", m.laptop, otpme.AuthOKStatic},
		try{"", m.code(t), otpme.AuthOKOTP}, // every token, whatever its groups
	)
	must(t, m.objs.SetClientAccessGroup(m.ctx, "ap", ""))
	m.expect(t, try{"ap", m.laptop, otpme.AuthOKStatic})
}

func TestEngine_VerifyUser(t *testing.T) {
	t.Run("unknown-user", func(t *testing.T) {
		m := newMail(t, nil)
		r := m.verify(t, "mallory", m.laptop, "ap")
		assert.Equal(t, otpme.AuthUserUnknown, r.Event.Code)
		assert.Equal(t, "mallory", r.Event.User)
	})
	t.Run("disabled-user", func(t *testing.T) {
		m := newMail(t, nil)
		c := m.code(t)
		m.expect(t, try{"roundcube", c, otpme.AuthOKOTP})
		m.objs.SetRevoker(nil) // the engine itself must end the sessions
		must(t, m.objs.SetUserEnabled(m.ctx, "alice", false))
		m.expect(t, try{"roundcube", c, otpme.AuthUserDisabled}, try{"ap", m.laptop, otpme.AuthUserDisabled})
		must(t, m.objs.SetUserEnabled(m.ctx, "alice", true))
		assert.Empty(t, m.groupsOfSessions(t))
		m.expect(t, try{"roundcube", c, otpme.AuthOTPAlreadyUsed})
	})
}

func TestEngine_VerifyLock(t *testing.T) {
	bad := func(n string) otpme.Secret { return otpme.Secret("wrong-password-" + n) }
	tests := []struct {
		name  string
		setup func(t *testing.T, m *mail)
		tries func(m *mail) []try
	}{
		{"distinct-passwords-lock-the-group", nil, func(m *mail) []try {
			return []try{{"ap", bad("1"), otpme.AuthFailed}, {"ap", bad("2"), otpme.AuthFailed},
				{"ap", m.laptop, otpme.AuthUserLocked}, {"", m.laptop, otpme.AuthOKStatic}}
		}},
		{"same-password-counts-once", nil, func(m *mail) []try {
			return []try{{"ap", bad("1"), otpme.AuthFailed}, {"ap", bad("1"), otpme.AuthFailed},
				{"ap", bad("1"), otpme.AuthFailed}, {"ap", m.laptop, otpme.AuthOKStatic}}
		}},
		{"success-resets-the-scope", nil, func(m *mail) []try {
			return []try{{"ap", bad("1"), otpme.AuthFailed}, {"ap", m.laptop, otpme.AuthOKStatic},
				{"ap", bad("2"), otpme.AuthFailed}, {"ap", m.laptop, otpme.AuthOKStatic}}
		}},
		{"group-lock-leaves-other-groups", nil, func(m *mail) []try {
			return []try{{"postfix", bad("1"), otpme.AuthTokenMissing}, {"postfix", bad("2"), otpme.AuthTokenMissing},
				{"postfix", bad("3"), otpme.AuthUserLocked}, {"ap", m.laptop, otpme.AuthOKStatic}}
		}},
		{"account-lock-locks-every-group", nil, func(m *mail) []try {
			return []try{{"", bad("1"), otpme.AuthFailed}, {"", bad("2"), otpme.AuthFailed}, {"", bad("3"), otpme.AuthFailed},
				{"", m.laptop, otpme.AuthUserLocked}, {"ap", m.laptop, otpme.AuthUserLocked}}
		}},
		{"max-fail-zero-never-locks", func(t *testing.T, m *mail) { must(t, m.objs.SetGroupMaxFail(m.ctx, "wlan", 0)) }, func(m *mail) []try {
			return []try{{"ap", bad("1"), otpme.AuthFailed}, {"ap", bad("2"), otpme.AuthFailed},
				{"ap", bad("3"), otpme.AuthFailed}, {"ap", m.laptop, otpme.AuthOKStatic}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMail(t, func(c *otpme.Config) { c.AllowGroupMissing = true })
			must(t, m.objs.SetUserMaxFail(m.ctx, "alice", 3))
			must(t, m.objs.SetGroupMaxFail(m.ctx, "wlan", 2))
			must(t, m.objs.SetGroupMaxFail(m.ctx, "smtp", 2))
			if tt.setup != nil {
				tt.setup(t, m)
			}
			m.expect(t, tt.tries(m)...)
		})
	}
}

func TestEngine_Unlock(t *testing.T) {
	m := newMail(t, func(c *otpme.Config) { c.AllowGroupMissing = true })
	for i := range otpme.DefaultMaxFail {
		m.verify(t, "alice", otpme.Secret(strings.Repeat("x", i+1)), "ap")
		m.verify(t, "alice", otpme.Secret(strings.Repeat("y", i+1)), "")
	}
	for _, g := range []string{"", "wlan"} {
		st, err := m.eng.Status(m.ctx, "alice", g)
		require.NoError(t, err)
		assert.Equal(t, otpme.Status{Fails: otpme.DefaultMaxFail, Locked: true}, st, "group %q", g)
	}
	must(t, m.eng.Unlock(m.ctx, "alice"))
	for _, g := range []string{"", "wlan"} {
		st, err := m.eng.Status(m.ctx, "alice", g)
		require.NoError(t, err)
		assert.Equal(t, otpme.Status{}, st, "group %q", g)
	}
	m.expect(t, try{"ap", m.laptop, otpme.AuthOKStatic})
	require.ErrorIs(t, m.eng.Unlock(m.ctx, "bob"), otpme.ErrNotFound)
	_, err := m.eng.Status(m.ctx, "alice", "nosuchgroup")
	require.ErrorIs(t, err, otpme.ErrNotFound)
}

func TestEngine_VerifyTokenSelection(t *testing.T) {
	// root → mid → leaf (child groups); other is unrelated.
	tests := []struct {
		name   string
		holds  string
		edit   func(t *testing.T, e *env)
		client string
		want   otpme.EventCode
	}{
		{"own-group", "leaf", nil, "leaf", otpme.AuthOKStatic},
		{"parent-group", "mid", nil, "leaf", otpme.AuthOKStatic},
		{"grandparent-group", "root", nil, "leaf", otpme.AuthOKStatic},
		{"child-is-not-parent", "leaf", nil, "mid", otpme.AuthTokenMissing},
		{"unrelated-group", "other", nil, "leaf", otpme.AuthTokenMissing},
		{"disabled-holding-group", "root", groupOff("root"), "leaf", otpme.AuthTokenMissing},
		{"disabled-group-passes-nothing-on", "root", groupOff("mid"), "leaf", otpme.AuthTokenMissing},
		{"disabled-token", "leaf", func(t *testing.T, e *env) { must(t, e.objs.SetTokenEnabled(e.ctx, "bob", "dev", false)) }, "leaf", otpme.AuthTokenMissing},
		{"removed-child-group", "root", func(t *testing.T, e *env) { must(t, e.objs.RemoveChildGroup(e.ctx, "mid", "leaf")) }, "leaf", otpme.AuthTokenMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			must(t, e.objs.AddUser(e.ctx, "bob"))
			pw, err := e.objs.AddPasswordToken(e.ctx, "bob", "dev")
			require.NoError(t, err)
			for _, g := range []string{"root", "mid", "leaf", "other"} {
				must(t, e.objs.AddGroup(e.ctx, g))
				must(t, e.objs.AddClient(e.ctx, g))
				must(t, e.objs.SetClientAccessGroup(e.ctx, g, g))
			}
			must(t, e.objs.AddChildGroup(e.ctx, "root", "mid"))
			must(t, e.objs.AddChildGroup(e.ctx, "mid", "leaf"))
			must(t, e.objs.TokenAddGroup(e.ctx, "bob", "dev", tt.holds))
			if tt.edit != nil {
				tt.edit(t, e)
			}
			r := e.verify(t, "bob", pw, tt.client)
			assert.Equal(t, tt.want, r.Event.Code, strings.Join(r.Trace, "\n"))
		})
	}
}

func groupOff(name string) func(t *testing.T, e *env) {
	return func(t *testing.T, e *env) { must(t, e.objs.SetGroupEnabled(e.ctx, name, false)) }
}

func TestEngine_VerifyMOTPWindow(t *testing.T) {
	tests := []struct {
		name   string
		window int
		steps  int
		want   otpme.EventCode
	}{
		{"now", 0, 0, otpme.AuthOKOTP},
		{"default-window-early-edge", 0, -otpme.DefaultMOTPWindow, otpme.AuthOKOTP},
		{"default-window-late-edge", 0, otpme.DefaultMOTPWindow, otpme.AuthOKOTP},
		{"default-window-too-early", 0, -otpme.DefaultMOTPWindow - 1, otpme.AuthFailed},
		{"default-window-too-late", 0, otpme.DefaultMOTPWindow + 1, otpme.AuthFailed},
		{"window-2-edge", 2, 2, otpme.AuthOKOTP},
		{"window-2-outside", 2, 3, otpme.AuthFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMail(t, nil)
			must(t, m.objs.SetMOTPWindow(m.ctx, "alice", "phone", tt.window))
			tok, err := m.objs.Token(m.ctx, "alice", "phone")
			require.NoError(t, err)
			code := otpme.Secret(otpme.MOTPCode(tok.Secret, tok.PIN, m.clock.Now().Add(time.Duration(tt.steps)*otpme.MOTPStep)))
			must(t, m.objs.SetGroupSessions(m.ctx, "webmail", false))
			m.expect(t, try{"roundcube", code, tt.want})
		})
	}
}

// TestEngine_VerifyMOTPWithoutKey: an mOTP token without secret or PIN,
// whose codes anyone can compute from the time, never verifies, however
// it got into Objects.
func TestEngine_VerifyMOTPWithoutKey(t *testing.T) {
	tests := []struct {
		name        string
		secret, pin otpme.Secret
	}{
		{"no-secret", otpme.Secret{}, otpme.Secret("1234")},
		{"no-pin", otpme.Secret("0123456789abcdef"), otpme.Secret{}},
		{"neither", otpme.Secret{}, otpme.Secret{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMail(t, nil)
			must(t, m.objs.DelToken(m.ctx, "alice", "phone"))
			must(t, m.objs.AddMOTPToken(m.ctx, "alice", "phone", tt.secret, tt.pin))
			must(t, m.objs.TokenAddGroup(m.ctx, "alice", "phone", "webmail"))
			tok, err := m.objs.Token(m.ctx, "alice", "phone")
			require.NoError(t, err)
			require.True(t, len(tok.Secret) == 0 || len(tok.PIN) == 0, "the token really lacks a part")
			m.expect(t, try{"roundcube", otpme.Secret(otpme.MOTPCode(tok.Secret, tok.PIN, m.clock.Now())), otpme.AuthFailed})
		})
	}
}

func TestEngine_VerifyUsedCode(t *testing.T) {
	m := newMail(t, nil)
	must(t, m.objs.SetGroupSessions(m.ctx, "webmail", false))
	c := m.code(t)
	m.expect(t, try{"roundcube", c, otpme.AuthOKOTP})
	r := m.verify(t, "alice", c, "roundcube")
	assert.Equal(t, otpme.AuthOTPAlreadyUsed, r.Event.Code)
	assert.Equal(t, "phone", r.Event.Token)
	m.clock.Advance(otpme.MOTPStep * (otpme.DefaultMOTPWindow + 1))
	m.expect(t, try{"roundcube", c, otpme.AuthFailed}) // out of the window now
	n, err := m.eng.Purge(m.ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "a used code is kept for a second window, for proxies whose clock is late")
	m.clock.Advance(otpme.MOTPStep * otpme.DefaultMOTPWindow)
	n, err = m.eng.Purge(m.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func TestEngine_VerifyStaticOpensNoSession(t *testing.T) {
	m := newMail(t, nil)
	must(t, m.objs.TokenAddGroup(m.ctx, "alice", "laptop", "webmail"))
	r := m.verify(t, "alice", m.laptop, "roundcube")
	assert.Equal(t, otpme.AuthOKStatic, r.Event.Code)
	assert.Equal(t, otpme.KindStatic, r.Kind)
	assert.Equal(t, otpme.TokenPassword, r.TokenType)
	assert.Empty(t, r.Event.Session)
	assert.Empty(t, m.groupsOfSessions(t))
}

// TestEngine_VerifyTraceOnRequest: the trace is built only when asked for,
// and asking for it changes nothing else.
func TestEngine_VerifyTraceOnRequest(t *testing.T) {
	for _, trace := range []bool{false, true} {
		m := newMail(t, nil)
		c := m.code(t)
		var got []otpme.Result
		for _, client := range []string{"roundcube", "roundcube", "postfix"} {
			r, err := m.eng.Verify(m.ctx, otpme.Request{User: "alice", Password: c, Client: client, Trace: trace})
			require.NoError(t, err)
			if trace {
				require.NotEmpty(t, r.Trace)
				assert.Contains(t, r.Trace[len(r.Trace)-1], string(r.Event.Code), "the event line comes last")
			} else {
				assert.Empty(t, r.Trace)
			}
			r.Trace = nil
			got = append(got, r)
		}
		assert.Equal(t, []otpme.EventCode{otpme.AuthOKOTP, otpme.AuthOKSession, otpme.AuthTokenMissing},
			[]otpme.EventCode{got[0].Event.Code, got[1].Event.Code, got[2].Event.Code}, "trace %v", trace)
	}
}

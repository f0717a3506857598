package otpme_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

func TestEngine_VerifySessionLifetime(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, m *mail)
		after []time.Duration // waits before each re-use
		want  []otpme.EventCode
	}{
		{"reuse-while-used", nil, []time.Duration{4 * time.Minute, 4 * time.Minute, 4 * time.Minute},
			[]otpme.EventCode{otpme.AuthOKSession, otpme.AuthOKSession, otpme.AuthOKSession}},
		{"unused-timeout", nil, []time.Duration{4 * time.Minute, 5 * time.Minute},
			[]otpme.EventCode{otpme.AuthOKSession, otpme.AuthFailed}},
		{"hard-timeout", func(t *testing.T, m *mail) { must(t, m.objs.SetTimeout(m.ctx, "webmail", 10*time.Minute)) },
			[]time.Duration{3 * time.Minute, 3 * time.Minute, 3 * time.Minute, time.Minute},
			[]otpme.EventCode{otpme.AuthOKSession, otpme.AuthOKSession, otpme.AuthOKSession, otpme.AuthFailed}},
		{"max-login", func(t *testing.T, m *mail) { must(t, m.objs.SetMaxLogin(m.ctx, "webmail", 3)) }, []time.Duration{0, 0, 0},
			[]otpme.EventCode{otpme.AuthOKSession, otpme.AuthOKSession, otpme.AuthSessionMaxLogin}},
		{"sessions-off", func(t *testing.T, m *mail) { must(t, m.objs.SetGroupSessions(m.ctx, "webmail", false)) }, []time.Duration{0},
			[]otpme.EventCode{otpme.AuthOTPAlreadyUsed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMail(t, nil)
			if tt.setup != nil {
				tt.setup(t, m)
			}
			c := m.code(t)
			m.expect(t, try{"roundcube", c, otpme.AuthOKOTP})
			for i, d := range tt.after {
				m.clock.Advance(d)
				r := m.verify(t, "alice", c, "roundcube")
				require.Equal(t, tt.want[i], r.Event.Code, "re-use %d:\n%s", i, strings.Join(r.Trace, "\n"))
			}
		})
	}
}

func TestEngine_VerifySessionSettingsAtOpening(t *testing.T) {
	m := newMail(t, nil)
	c := m.code(t)
	m.expect(t, try{"roundcube", c, otpme.AuthOKOTP})
	must(t, m.objs.SetMaxLogin(m.ctx, "webmail", 1))
	must(t, m.objs.SetUnusedTimeout(m.ctx, "webmail", time.Minute))
	m.clock.Advance(2 * time.Minute)
	m.expect(t, try{"roundcube", c, otpme.AuthOKSession}, try{"roundcube", c, otpme.AuthOKSession})
}

func TestEngine_VerifySessionScope(t *testing.T) {
	m := newMail(t, nil)
	must(t, m.objs.AddUser(m.ctx, "bob"))
	must(t, m.objs.AddMOTPToken(m.ctx, "bob", "phone", otpme.Secret("fedcba9876543210"), otpme.Secret("9999")))
	must(t, m.objs.TokenAddGroup(m.ctx, "bob", "phone", "webmail"))
	must(t, m.objs.TokenAddGroup(m.ctx, "alice", "phone", "smtp"))
	c := m.code(t)
	m.expect(t, try{"roundcube", c, otpme.AuthOKOTP})

	assert.Equal(t, otpme.AuthFailed, m.verify(t, "bob", c, "roundcube").Event.Code, "another user's session")
	m.expect(t, try{"postfix", c, otpme.AuthOTPAlreadyUsed}) // smtp: no session there
	r, err := m.eng.Verify(m.ctx, otpme.Request{User: "alice", Password: c, Client: "roundcube", AuthType: "ntlm", Trace: true})
	require.NoError(t, err)
	assert.Equal(t, otpme.AuthOTPAlreadyUsed, r.Event.Code, "sessions are per authentication type")
}

func TestEngine_VerifyUserSessions(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(map[bool]string{true: "user-sessions-on", false: "user-sessions-off"}[on], func(t *testing.T) {
			m := newMail(t, func(c *otpme.Config) { c.AllowGroupMissing = true })
			must(t, m.objs.SetUserSessions(m.ctx, "alice", on))
			c := m.code(t)
			r := m.verify(t, "alice", c, "")
			require.Equal(t, otpme.AuthOKOTP, r.Event.Code)
			again := otpme.AuthOTPAlreadyUsed
			if on {
				assert.Regexp(t, `^new:[0-9a-f]{32}$`, r.Event.Session)
				again = otpme.AuthOKSession
			}
			m.expect(t, try{"", c, again}, try{"roundcube", c, otpme.AuthOTPAlreadyUsed})
		})
	}
}

func TestEngine_VerifySessionRevocation(t *testing.T) {
	tests := []struct {
		name    string
		revoker bool // MemObjects tells the engine (else only Verify notices)
		edit    func(t *testing.T, m *mail)
		want    otpme.EventCode
		left    []string
	}{
		{"token-disabled", true, tokenOff, otpme.AuthTokenMissing, []string{}},
		{"token-disabled-noticed-at-use", false, tokenOff, otpme.AuthTokenMissing, []string{"imap"}},
		{"token-deleted", true, func(t *testing.T, m *mail) { must(t, m.objs.DelToken(m.ctx, "alice", "phone")) }, otpme.AuthTokenMissing, []string{}},
		{"group-taken-from-token", true, func(t *testing.T, m *mail) { must(t, m.objs.TokenRemoveGroup(m.ctx, "alice", "phone", "webmail")) }, otpme.AuthTokenMissing, []string{}},
		{"group-taken-noticed-at-use", false, func(t *testing.T, m *mail) { must(t, m.objs.TokenRemoveGroup(m.ctx, "alice", "phone", "webmail")) }, otpme.AuthSessionNoValidGroup, []string{"imap", "webmail"}},
		{"group-deleted", true, func(t *testing.T, m *mail) { _, err := m.objs.DelGroup(m.ctx, "imap"); must(t, err) }, otpme.AuthOKSession, []string{"webmail"}},
		{"group-disabled", true, func(t *testing.T, m *mail) { must(t, m.objs.SetGroupEnabled(m.ctx, "webmail", false)) }, otpme.AuthGroupDisabled, []string{}},
		{"child-group-disabled", true, func(t *testing.T, m *mail) { must(t, m.objs.SetGroupEnabled(m.ctx, "imap", false)) }, otpme.AuthOKSession, []string{"webmail"}},
		{"user-deleted", true, func(t *testing.T, m *mail) { must(t, m.objs.DelUser(m.ctx, "alice")) }, otpme.AuthUserUnknown, []string{}},
		{"user-disabled", true, func(t *testing.T, m *mail) { must(t, m.objs.SetUserEnabled(m.ctx, "alice", false)) }, otpme.AuthUserDisabled, []string{}},
		{"unrelated-token-disabled", true, func(t *testing.T, m *mail) { must(t, m.objs.SetTokenEnabled(m.ctx, "alice", "laptop", false)) }, otpme.AuthOKSession, []string{"imap", "webmail"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMail(t, nil)
			if !tt.revoker {
				m.objs.SetRevoker(nil)
			}
			c := m.code(t)
			m.expect(t, try{"roundcube", c, otpme.AuthOKOTP})
			require.Equal(t, []string{"imap", "webmail"}, m.groupsOfSessions(t))
			tt.edit(t, m)
			r := m.verify(t, "alice", c, "roundcube")
			assert.Equal(t, tt.want, r.Event.Code, strings.Join(r.Trace, "\n"))
			if tt.want != otpme.AuthUserUnknown {
				assert.Equal(t, tt.left, m.groupsOfSessions(t))
			}
		})
	}
}

func tokenOff(t *testing.T, m *mail) { must(t, m.objs.SetTokenEnabled(m.ctx, "alice", "phone", false)) }

func TestEngine_VerifyLockEndsSessions(t *testing.T) {
	m := newMail(t, nil)
	must(t, m.objs.TokenAddGroup(m.ctx, "alice", "phone", "smtp"))
	must(t, m.objs.SetGroupSessions(m.ctx, "smtp", true))
	must(t, m.objs.SetGroupMaxFail(m.ctx, "webmail", 2))
	c1, c2 := m.code(t), m.code(t)
	m.expect(t, try{"roundcube", c1, otpme.AuthOKOTP}, try{"postfix", c2, otpme.AuthOKOTP})
	require.Equal(t, []string{"imap", "smtp", "webmail"}, m.groupsOfSessions(t))
	m.expect(t, try{"roundcube", otpme.Secret("bad-1"), otpme.AuthFailed}, try{"roundcube", otpme.Secret("bad-2"), otpme.AuthFailed})
	assert.Equal(t, []string{"imap", "smtp"}, m.groupsOfSessions(t), "only the locked group's sessions end")
	m.expect(t, try{"roundcube", c1, otpme.AuthUserLocked}, try{"postfix", c2, otpme.AuthOKSession})
}

func TestEngine_VerifyChildSessions(t *testing.T) {
	m := newMail(t, nil)
	must(t, m.objs.SetMaxLogin(m.ctx, "webmail", 1))
	must(t, m.objs.SetUnusedTimeout(m.ctx, "imap", 20*time.Minute))
	c := m.code(t)
	m.expect(t, try{"roundcube", c, otpme.AuthOKOTP}, try{"roundcube", c, otpme.AuthSessionMaxLogin})
	m.clock.Advance(10 * time.Minute) // beyond webmail's unused timeout, within imap's
	m.expect(t, try{"cyrus", c, otpme.AuthOKSession}, try{"cyrus", c, otpme.AuthOKSession}, try{"cyrus", c, otpme.AuthOKSession})
	assert.Equal(t, []string{"imap"}, m.groupsOfSessions(t))
}

// addMasterAAA adds a second session master for smtp, "aaa", which sorts
// before webmail, and lets alice's phone use it.
func addMasterAAA(t *testing.T, m *mail) {
	must(t, m.objs.AddGroup(m.ctx, "aaa"))
	must(t, m.objs.SetGroupSessions(m.ctx, "aaa", true))
	must(t, m.objs.SetSessionMaster(m.ctx, "aaa", true))
	must(t, m.objs.AddChildSession(m.ctx, "aaa", "smtp"))
	must(t, m.objs.TokenAddGroup(m.ctx, "alice", "phone", "aaa"))
}

func TestEngine_VerifySessionMaster(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, m *mail)
		sessions []string
	}{
		{"master-opens-all", nil, []string{"imap", "smtp", "webmail"}},
		{"not-a-master", func(t *testing.T, m *mail) { must(t, m.objs.SetSessionMaster(m.ctx, "webmail", false)) }, []string{"smtp"}},
		{"token-not-allowed-for-master", func(t *testing.T, m *mail) {
			must(t, m.objs.TokenRemoveGroup(m.ctx, "alice", "phone", "webmail"))
			must(t, m.objs.TokenAddGroup(m.ctx, "alice", "phone", "smtp"))
		}, []string{"smtp"}},
		{"request-group-sessions-off", func(t *testing.T, m *mail) { must(t, m.objs.SetGroupSessions(m.ctx, "smtp", false)) }, []string{}},
		{"master-sessions-off", func(t *testing.T, m *mail) { must(t, m.objs.SetGroupSessions(m.ctx, "webmail", false)) }, []string{"smtp"}},
		{"master-disabled-child-skipped", func(t *testing.T, m *mail) { must(t, m.objs.SetGroupEnabled(m.ctx, "imap", false)) }, []string{"smtp", "webmail"}},
		{"first-master-by-name", addMasterAAA, []string{"aaa", "smtp"}},
		{"disabled-master-passed-over", func(t *testing.T, m *mail) {
			addMasterAAA(t, m)
			must(t, m.objs.SetGroupEnabled(m.ctx, "aaa", false))
		}, []string{"imap", "smtp", "webmail"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMail(t, nil)
			must(t, m.objs.AddChildSession(m.ctx, "webmail", "smtp"))
			must(t, m.objs.AddChildGroup(m.ctx, "webmail", "smtp"))
			must(t, m.objs.SetGroupSessions(m.ctx, "smtp", true))
			must(t, m.objs.SetSessionMaster(m.ctx, "webmail", true))
			if tt.setup != nil {
				tt.setup(t, m)
			}
			r := m.verify(t, "alice", m.code(t), "postfix")
			require.Equal(t, otpme.AuthOKOTP, r.Event.Code, strings.Join(r.Trace, "\n"))
			assert.Equal(t, tt.sessions, m.groupsOfSessions(t))
		})
	}
	t.Run("master-session-not-yet-used", func(t *testing.T) {
		m := newMail(t, nil)
		must(t, m.objs.AddChildSession(m.ctx, "webmail", "smtp"))
		must(t, m.objs.SetGroupSessions(m.ctx, "smtp", true))
		must(t, m.objs.SetSessionMaster(m.ctx, "webmail", true))
		must(t, m.objs.SetMaxLogin(m.ctx, "webmail", 1))
		must(t, m.objs.TokenAddGroup(m.ctx, "alice", "phone", "smtp"))
		c := m.code(t)
		m.expect(t, try{"postfix", c, otpme.AuthOKOTP}, try{"roundcube", c, otpme.AuthOKSession}, try{"roundcube", c, otpme.AuthSessionMaxLogin})
	})
}

func TestEngine_VerifyLogout(t *testing.T) {
	t.Run("slp-ends-the-login", func(t *testing.T) {
		m := newMail(t, nil)
		must(t, m.objs.SetGroupSessions(m.ctx, "imap", true))
		c1, c2 := m.code(t), m.code(t)
		m.expect(t, try{"roundcube", c1, otpme.AuthOKOTP}, try{"cyrus", c2, otpme.AuthOKOTP})
		require.Equal(t, []string{"imap", "imap", "webmail"}, m.groupsOfSessions(t))
		r := m.verify(t, "alice", m.eng.GenLogout(c1), "cyrus") // from a child session too
		require.Equal(t, otpme.AuthSessionLogout, r.Event.Code)
		assert.False(t, r.OK)
		assert.Empty(t, r.Event.Token)
		assert.Equal(t, []string{"imap"}, m.groupsOfSessions(t), "the other login's session stays")
		m.expect(t, try{"roundcube", c1, otpme.AuthOTPAlreadyUsed}, try{"cyrus", c2, otpme.AuthOKSession})
		st, err := m.eng.Status(m.ctx, "alice", "imap")
		require.NoError(t, err)
		assert.Zero(t, st.Fails, "a logout is no failed login")
	})
	t.Run("slp-without-session", func(t *testing.T) {
		m := newMail(t, nil)
		m.expect(t, try{"roundcube", otpme.LogoutPassword(m.code(t)), otpme.AuthFailed})
	})
	t.Run("slp-of-other-session", func(t *testing.T) {
		m := newMail(t, nil)
		c := m.code(t)
		m.expect(t, try{"roundcube", c, otpme.AuthOKOTP}, try{"roundcube", otpme.LogoutPassword(m.code(t)), otpme.AuthFailed},
			try{"roundcube", c, otpme.AuthOKSession})
	})
}

func TestEngine_VerifySessionStorage(t *testing.T) {
	m := newMail(t, nil)
	c := m.code(t)
	r := m.verify(t, "alice", c, "roundcube")
	require.Regexp(t, `^new:[0-9a-f]{32}$`, r.Event.Session)
	ss, err := m.store.Sessions(m.ctx, "")
	require.NoError(t, err)
	require.Len(t, ss, 2)
	salts := map[string]bool{}
	for _, s := range ss {
		assert.Regexp(t, `^[0-9a-f]{32}$`, s.ID)
		blob := bytes.Join([][]byte{s.Salt, s.PasswordHash, s.LogoutHash, []byte(s.ID + s.Login + s.User + s.Group + s.Token + s.Client)}, nil)
		assert.NotContains(t, string(blob), string(c), "the password is not stored")
		assert.NotContains(t, string(blob), string(otpme.LogoutPassword(c)), "the SLP is not stored")
		assert.Len(t, s.Salt, 16)
		assert.False(t, salts[string(s.Salt)], "one salt per session")
		salts[string(s.Salt)] = true
	}
	assert.NotEqual(t, ss[0].PasswordHash, ss[1].PasswordHash, "the same password hashes differently in each session")

	other := newEnv(t, func(cfg *otpme.Config) { cfg.Key = otpme.Secret(strings.Repeat("k", 32)) })
	other.eng, err = otpme.New(otpme.Config{Objects: m.objs, Store: m.store, Key: otpme.Secret(strings.Repeat("k", 32)), Now: m.clock.Now})
	require.NoError(t, err)
	r2 := other.verify(t, "alice", c, "roundcube")
	assert.Equal(t, otpme.AuthOTPAlreadyUsed, r2.Event.Code, "without the key, the stored hashes match nothing")
}

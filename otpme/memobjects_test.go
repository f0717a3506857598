package otpme_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

func TestMemObjects_Rename(t *testing.T) {
	t.Run("user-keeps-tokens-sessions-and-fails", func(t *testing.T) {
		m := newMail(t, nil)
		c := m.code(t)
		m.expect(t, try{"roundcube", c, otpme.AuthOKOTP}, try{"roundcube", otpme.Secret("wrong"), otpme.AuthFailed})
		must(t, m.objs.RenameUser(m.ctx, "alice", "alice2"))
		st, err := m.eng.Status(m.ctx, "alice2", "webmail")
		require.NoError(t, err)
		assert.Equal(t, 1, st.Fails)
		toks, err := m.objs.Tokens(m.ctx, "alice2")
		require.NoError(t, err)
		require.Len(t, toks, 2)
		assert.Equal(t, "alice2", toks[0].User)
		assert.Equal(t, otpme.AuthOKSession, m.verify(t, "alice2", c, "roundcube").Event.Code)
		assert.Equal(t, otpme.AuthUserUnknown, m.verify(t, "alice", c, "roundcube").Event.Code)
	})
	t.Run("group-keeps-every-reference", func(t *testing.T) {
		m := newMail(t, nil)
		c := m.code(t)
		m.expect(t, try{"roundcube", c, otpme.AuthOKOTP})
		must(t, m.objs.RenameGroup(m.ctx, "webmail", "mail"))
		must(t, m.objs.RenameGroup(m.ctx, "imap", "imap4"))
		cl, err := m.objs.Client(m.ctx, "roundcube")
		require.NoError(t, err)
		assert.Equal(t, "mail", cl.AccessGroup)
		g, err := m.objs.Group(m.ctx, "mail")
		require.NoError(t, err)
		assert.Equal(t, []string{"imap4"}, g.Children)
		assert.Equal(t, []string{"imap4"}, g.ChildSessions)
		tok, err := m.objs.Token(m.ctx, "alice", "phone")
		require.NoError(t, err)
		assert.Equal(t, []string{"mail"}, tok.Groups)
		m.expect(t, try{"roundcube", c, otpme.AuthOKSession}, try{"cyrus", c, otpme.AuthOKSession})
	})
	t.Run("client-keeps-its-settings", func(t *testing.T) {
		m := newMail(t, nil)
		must(t, m.objs.AddClientAddress(m.ctx, "ap", "192.0.2.0/24"))
		must(t, m.objs.RenameClient(m.ctx, "ap", "ap1"))
		cl, err := m.objs.Client(m.ctx, "ap1")
		require.NoError(t, err)
		assert.Equal(t, "wlan", cl.AccessGroup)
		assert.Len(t, cl.Addresses, 1)
		_, err = m.objs.Client(m.ctx, "ap")
		require.ErrorIs(t, err, otpme.ErrNotFound)
	})
	t.Run("token-keeps-groups-and-sessions", func(t *testing.T) {
		m := newMail(t, nil)
		c := m.code(t)
		m.expect(t, try{"roundcube", c, otpme.AuthOKOTP})
		must(t, m.objs.RenameToken(m.ctx, "alice", "phone", "mobile"))
		r := m.verify(t, "alice", c, "roundcube")
		assert.Equal(t, otpme.AuthOKSession, r.Event.Code)
		assert.Equal(t, "mobile", r.Event.Token)
	})
}

func TestMemObjects_DelGroup(t *testing.T) {
	m := newMail(t, nil)
	must(t, m.objs.TokenAddGroup(m.ctx, "alice", "laptop", "webmail"))
	used, err := m.objs.DelGroup(m.ctx, "webmail")
	require.NoError(t, err)
	assert.Equal(t, []string{"alice/laptop", "alice/phone"}, used)
	cl, err := m.objs.Client(m.ctx, "roundcube")
	require.NoError(t, err)
	assert.Empty(t, cl.AccessGroup)
	tok, err := m.objs.Token(m.ctx, "alice", "laptop")
	require.NoError(t, err)
	assert.Equal(t, []string{"wlan"}, tok.Groups)
	must(t, m.objs.AddGroup(m.ctx, "webmail"))
	g, err := m.objs.Group(m.ctx, "webmail")
	require.NoError(t, err)
	assert.Equal(t, otpme.Group{ID: g.ID, Name: "webmail", Enabled: true, MaxFail: 5, Timeout: 30 * time.Minute,
		UnusedTimeout: 5 * time.Minute}, g, "a re-added group starts afresh")
}

func TestMemObjects_Errors(t *testing.T) {
	m := newMail(t, nil)
	ctx, o := m.ctx, m.objs
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"user-exists", o.AddUser(ctx, "alice"), otpme.ErrExists},
		{"user-bad-name", o.AddUser(ctx, "a/b"), otpme.ErrInvalid},
		{"user-empty-name", o.AddUser(ctx, ""), otpme.ErrInvalid},
		{"user-space", o.AddUser(ctx, "a b"), otpme.ErrInvalid},
		{"user-missing", o.SetUserEnabled(ctx, "bob", false), otpme.ErrNotFound},
		{"rename-user-onto-existing", func() error { must(t, o.AddUser(ctx, "bob")); return o.RenameUser(ctx, "bob", "alice") }(), otpme.ErrExists},
		{"token-exists", o.AddMOTPToken(ctx, "alice", "phone", nil, nil), otpme.ErrExists},
		{"token-of-missing-user", o.AddMOTPToken(ctx, "carol", "phone", nil, nil), otpme.ErrNotFound},
		{"token-missing-group", o.TokenAddGroup(ctx, "alice", "phone", "nope"), otpme.ErrNotFound},
		{"token-remove-absent-group", o.TokenRemoveGroup(ctx, "alice", "phone", "wlan"), otpme.ErrNotFound},
		{"token-password-on-motp", func() error { _, err := o.SetTokenPassword(ctx, "alice", "phone", nil); return err }(), otpme.ErrInvalid},
		{"token-password-too-short", func() error { _, err := o.SetTokenPassword(ctx, "alice", "laptop", otpme.Secret("short")); return err }(), otpme.ErrPasswordTooShort},
		{"oath-token-without-dn", o.AddOATHToken(ctx, "alice", "yk", otpme.TokenHOTP, ""), otpme.ErrInvalid},
		{"oath-token-wrong-type", o.AddOATHToken(ctx, "alice", "yk", otpme.TokenMOTP, "cn=x"), otpme.ErrInvalid},
		{"motp-window-too-large", o.SetMOTPWindow(ctx, "alice", "phone", otpme.MaxMOTPWindow+1), otpme.ErrInvalid},
		{"group-exists", o.AddGroup(ctx, "wlan"), otpme.ErrExists},
		{"child-group-cycle", o.AddChildGroup(ctx, "imap", "webmail"), otpme.ErrInvalid},
		{"child-group-self", o.AddChildGroup(ctx, "imap", "imap"), otpme.ErrInvalid},
		{"child-group-missing", o.AddChildGroup(ctx, "imap", "nope"), otpme.ErrNotFound},
		{"child-session-self", o.AddChildSession(ctx, "imap", "imap"), otpme.ErrInvalid},
		{"remove-absent-child-group", o.RemoveChildGroup(ctx, "smtp", "imap"), otpme.ErrNotFound},
		{"remove-absent-child-session", o.RemoveChildSession(ctx, "smtp", "imap"), otpme.ErrNotFound},
		{"negative-max-login", o.SetMaxLogin(ctx, "imap", -1), otpme.ErrInvalid},
		{"zero-timeout", o.SetTimeout(ctx, "imap", 0), otpme.ErrInvalid},
		{"negative-unused-timeout", o.SetUnusedTimeout(ctx, "imap", -time.Minute), otpme.ErrInvalid},
		{"negative-max-fail", o.SetGroupMaxFail(ctx, "imap", -1), otpme.ErrInvalid},
		{"client-exists", o.AddClient(ctx, "ap"), otpme.ErrExists},
		{"client-missing-group", o.SetClientAccessGroup(ctx, "ap", "nope"), otpme.ErrNotFound},
		{"client-bad-address", o.AddClientAddress(ctx, "ap", "300.1.1.1"), otpme.ErrInvalid},
		{"client-bad-prefix", o.AddClientAddress(ctx, "ap", "192.0.2.0/33"), otpme.ErrInvalid},
		{"client-remove-absent-address", o.RemoveClientAddress(ctx, "ap", "192.0.2.1"), otpme.ErrNotFound},
		{"del-missing-client", o.DelClient(ctx, "nope"), otpme.ErrNotFound},
		{"del-missing-group", func() error { _, err := o.DelGroup(ctx, "nope"); return err }(), otpme.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.ErrorIs(t, tt.err, tt.want) })
	}
}

func TestMemObjects_ReturnsCopies(t *testing.T) {
	m := newMail(t, nil)
	tok, err := m.objs.Token(m.ctx, "alice", "phone")
	require.NoError(t, err)
	tok.Groups[0] = "changed"
	tok.Secret[0] = 'X'
	again, err := m.objs.Token(m.ctx, "alice", "phone")
	require.NoError(t, err)
	assert.Equal(t, []string{"webmail"}, again.Groups)
	assert.Equal(t, "0123456789abcdef", string(again.Secret))
	gs, err := m.objs.Groups(m.ctx)
	require.NoError(t, err)
	for i := range gs {
		gs[i].Children = append(gs[i].Children[:0], "x")
	}
	g, err := m.objs.Group(m.ctx, "webmail")
	require.NoError(t, err)
	assert.Equal(t, []string{"imap"}, g.Children)
}

func TestMemObjects_Generated(t *testing.T) {
	m := newMail(t, nil)
	must(t, m.objs.AddMOTPToken(m.ctx, "alice", "gen", nil, nil))
	tok, err := m.objs.Token(m.ctx, "alice", "gen")
	require.NoError(t, err)
	assert.Regexp(t, `^[0-9a-f]{16}$`, string(tok.Secret))
	assert.Regexp(t, `^[0-9]{4}$`, string(tok.PIN))
	assert.Regexp(t, `^[0-9a-f]{32}$`, tok.ID)
	pw, err := m.objs.SetTokenPassword(m.ctx, "alice", "laptop", nil)
	require.NoError(t, err)
	assert.Len(t, pw, otpme.GeneratedPasswordLength)
	m.expect(t, try{"ap", m.laptop, otpme.AuthFailed}, try{"ap", pw, otpme.AuthOKStatic})
	chosen := otpme.Secret("a-long-chosen-device-password")
	got, err := m.objs.SetTokenPassword(m.ctx, "alice", "laptop", chosen)
	require.NoError(t, err)
	assert.Equal(t, chosen, got)
	m.expect(t, try{"ap", chosen, otpme.AuthOKStatic})
}

// TestMemObjects_AccessGroupsFollowEdits: the access groups the engine
// walks are kept between verifications and rebuilt after every edit, so no
// login is judged on groups as they were before a completed edit.
func TestMemObjects_AccessGroupsFollowEdits(t *testing.T) {
	m := newMail(t, nil)
	a1, err := m.objs.AccessGroups(m.ctx)
	require.NoError(t, err)
	a2, err := m.objs.AccessGroups(m.ctx)
	require.NoError(t, err)
	assert.Same(t, a1, a2, "no edit: the same graph")

	imap := func() otpme.Result { return m.verify(t, "alice", m.code(t), "cyrus") }
	require.Equal(t, otpme.AuthOKOTP, imap().Event.Code, "imap through its parent group webmail")
	must(t, m.objs.RemoveChildGroup(m.ctx, "webmail", "imap"))
	a3, err := m.objs.AccessGroups(m.ctx)
	require.NoError(t, err)
	assert.NotSame(t, a1, a3, "an edit: a new graph")
	assert.False(t, imap().OK, "imap is no longer webmail's child")
	must(t, m.objs.AddChildGroup(m.ctx, "webmail", "imap"))
	require.Equal(t, otpme.AuthOKOTP, imap().Event.Code, "a child again")
	must(t, m.objs.SetGroupEnabled(m.ctx, "imap", false))
	assert.Equal(t, otpme.AuthGroupDisabled, imap().Event.Code)
	must(t, m.objs.SetGroupEnabled(m.ctx, "imap", true))
	must(t, m.objs.SetGroupEnabled(m.ctx, "webmail", false))
	assert.False(t, imap().OK, "a disabled parent passes nothing on")
}

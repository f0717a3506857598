package otpme_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

// richObjects returns MemObjects with every kind of object and every field
// set away from its default, built with the admin verbs.
func richObjects(t *testing.T) *otpme.MemObjects {
	t.Helper()
	ctx, m := context.Background(), otpme.NewMemObjects()
	for _, g := range []string{"webmail", "imap", "smtp"} {
		must(t, m.AddGroup(ctx, g))
	}
	must(t, m.AddChildGroup(ctx, "webmail", "imap"))
	must(t, m.AddChildSession(ctx, "webmail", "smtp"))
	must(t, m.SetGroupSessions(ctx, "webmail", true))
	must(t, m.SetSessionMaster(ctx, "webmail", true))
	must(t, m.SetMaxLogin(ctx, "webmail", 7))
	must(t, m.SetTimeout(ctx, "webmail", 90*time.Minute))
	must(t, m.SetUnusedTimeout(ctx, "webmail", 2*time.Minute))
	must(t, m.SetGroupMaxFail(ctx, "webmail", 0))
	must(t, m.SetGroupEnabled(ctx, "smtp", false))
	must(t, m.SetGroupDescription(ctx, "imap", "IMAP, über alles"))
	for _, u := range []string{"bob", "alice"} {
		must(t, m.AddUser(ctx, u))
	}
	must(t, m.SetUserBindDN(ctx, "alice", "uid=alice,ou=people,dc=example,dc=com"))
	must(t, m.SetUserSessions(ctx, "alice", true))
	must(t, m.SetUserMaxFail(ctx, "alice", 3))
	must(t, m.SetUserDescription(ctx, "alice", "Alice"))
	must(t, m.SetUserEnabled(ctx, "bob", false))
	_, err := m.AddPasswordToken(ctx, "alice", "laptop")
	require.NoError(t, err)
	must(t, m.AddMOTPToken(ctx, "alice", "phone", otpme.Secret("0123456789abcdef"), otpme.Secret("1234")))
	must(t, m.SetMOTPWindow(ctx, "alice", "phone", 30))
	must(t, m.AddOATHToken(ctx, "bob", "yubi", otpme.TokenHOTP, "cn=yubi,ou=tokens,dc=example,dc=com"))
	must(t, m.TokenAddGroup(ctx, "alice", "phone", "webmail"))
	must(t, m.TokenAddGroup(ctx, "alice", "phone", "smtp"))
	must(t, m.SetTokenEnabled(ctx, "alice", "laptop", false))
	must(t, m.SetTokenDescription(ctx, "bob", "yubi", "key ring"))
	must(t, m.AddClient(ctx, "roundcube"))
	must(t, m.SetClientAccessGroup(ctx, "roundcube", "webmail"))
	must(t, m.AddClientAddress(ctx, "roundcube", "192.0.2.0/24"))
	must(t, m.AddClientAddress(ctx, "roundcube", "2001:db8::1"))
	must(t, m.SetTrustCheck(ctx, "roundcube", true))
	_, err = m.SetClientSecret(ctx, "roundcube", otpme.Secret("dbf549610e49f02a"))
	require.NoError(t, err)
	must(t, m.AddClientCertSubject(ctx, "roundcube", "CN=roundcube,O=Example"))
	must(t, m.AddClientListener(ctx, "roundcube", "127.0.0.1:1389"))
	must(t, m.SetClientDescription(ctx, "roundcube", "webmail"))
	must(t, m.AddClient(ctx, "cyrus"))
	must(t, m.SetClientEnabled(ctx, "cyrus", false))
	return m
}

func TestSnapshot_RoundTrip(t *testing.T) {
	s := richObjects(t).Snapshot()
	m, err := otpme.NewMemObjectsFrom(s)
	require.NoError(t, err)
	assert.Equal(t, s, m.Snapshot())

	names := func(n int, name func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = name(i)
		}
		return out
	}
	assert.Equal(t, []string{"alice", "bob"}, names(len(s.Users), func(i int) string { return s.Users[i].Name }))
	assert.Equal(t, []string{"alice/laptop", "alice/phone", "bob/yubi"},
		names(len(s.Tokens), func(i int) string { return s.Tokens[i].User + "/" + s.Tokens[i].Name }))
	assert.Equal(t, []string{"imap", "smtp", "webmail"}, names(len(s.Groups), func(i int) string { return s.Groups[i].Name }))
	assert.Equal(t, []string{"cyrus", "roundcube"}, names(len(s.Clients), func(i int) string { return s.Clients[i].Name }))
}

func TestSnapshot_KeepsIDsAndServesTheEngine(t *testing.T) {
	orig := richObjects(t)
	m, err := otpme.NewMemObjectsFrom(orig.Snapshot())
	require.NoError(t, err)
	ctx := context.Background()
	for _, name := range []string{"alice", "bob"} {
		a, err := orig.User(ctx, name)
		require.NoError(t, err)
		b, err := m.User(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, a, b)
	}
	toks, err := m.Tokens(ctx, "alice")
	require.NoError(t, err)
	require.Len(t, toks, 2)
	assert.Equal(t, otpme.Secret("1234"), toks[1].PIN)
	// The copy is editable on its own, with the usual rules.
	require.ErrorIs(t, m.AddUser(ctx, "alice"), otpme.ErrExists)
	must(t, m.RenameUser(ctx, "alice", "carol"))
	_, err = orig.User(ctx, "carol")
	require.ErrorIs(t, err, otpme.ErrNotFound)
}

func TestSnapshot_IsADeepCopy(t *testing.T) {
	m := richObjects(t)
	s := m.Snapshot()
	s.Tokens[1].Groups[0] = "changed"
	s.Tokens[1].PIN[0] = 'X'
	s.Groups[2].Children[0] = "changed"
	s.Clients[1].Addresses[0] = netip.MustParsePrefix("10.0.0.0/8")
	s.Clients[1].Secret[0] = 'X'
	s.Clients[1].CertSubjects[0] = "changed"
	s.Clients[1].Listeners[0] = "changed"
	assert.Equal(t, richObjects(t).Snapshot().Groups[2].Children, m.Snapshot().Groups[2].Children)
	again := m.Snapshot()
	assert.NotEqual(t, s.Tokens[1], again.Tokens[1])
	assert.NotEqual(t, s.Clients[1], again.Clients[1])

	// And NewMemObjectsFrom copies, too.
	s = m.Snapshot()
	n, err := otpme.NewMemObjectsFrom(s)
	require.NoError(t, err)
	s.Clients[1].Listeners[0] = "changed"
	s.Tokens[1].Secret[0] = 'X'
	assert.Equal(t, m.Snapshot(), n.Snapshot())
}

func TestNewMemObjectsFrom_Errors(t *testing.T) {
	user := func(id, name string) otpme.User { return otpme.User{ID: id, Name: name, Enabled: true} }
	token := func(id, user, name string) otpme.Token {
		return otpme.Token{ID: id, User: user, Name: name, Type: otpme.TokenPassword}
	}
	group := func(id, name string) otpme.Group { return otpme.Group{ID: id, Name: name} }
	tests := []struct {
		name string
		s    otpme.Snapshot
		want error
	}{
		{"empty", otpme.Snapshot{}, nil},
		{"dangling-group-references-are-kept", otpme.Snapshot{
			Users:   []otpme.User{user("u1", "alice")},
			Tokens:  []otpme.Token{{ID: "t1", User: "alice", Name: "p", Groups: []string{"nowhere"}}},
			Groups:  []otpme.Group{{ID: "g1", Name: "a", Children: []string{"nowhere"}}},
			Clients: []otpme.Client{{Name: "c", AccessGroup: "nowhere"}},
		}, nil},
		{"user-empty-name", otpme.Snapshot{Users: []otpme.User{user("u1", "")}}, otpme.ErrInvalid},
		{"user-empty-id", otpme.Snapshot{Users: []otpme.User{user("", "alice")}}, otpme.ErrInvalid},
		{"user-twice", otpme.Snapshot{Users: []otpme.User{user("u1", "alice"), user("u2", "alice")}}, otpme.ErrExists},
		{"user-id-twice", otpme.Snapshot{Users: []otpme.User{user("u1", "alice"), user("u1", "bob")}}, otpme.ErrExists},
		{"token-without-user", otpme.Snapshot{Tokens: []otpme.Token{token("t1", "alice", "p")}}, otpme.ErrInvalid},
		{"token-twice", otpme.Snapshot{Users: []otpme.User{user("u1", "alice")},
			Tokens: []otpme.Token{token("t1", "alice", "p"), token("t2", "alice", "p")}}, otpme.ErrExists},
		{"same-token-name-two-users", otpme.Snapshot{Users: []otpme.User{user("u1", "alice"), user("u2", "bob")},
			Tokens: []otpme.Token{token("t1", "alice", "p"), token("t2", "bob", "p")}}, nil},
		{"token-id-twice", otpme.Snapshot{Users: []otpme.User{user("u1", "alice"), user("u2", "bob")},
			Tokens: []otpme.Token{token("t1", "alice", "p"), token("t1", "bob", "p")}}, otpme.ErrExists},
		{"token-empty-name", otpme.Snapshot{Users: []otpme.User{user("u1", "alice")},
			Tokens: []otpme.Token{token("t1", "alice", "")}}, otpme.ErrInvalid},
		{"group-twice", otpme.Snapshot{Groups: []otpme.Group{group("g1", "a"), group("g2", "a")}}, otpme.ErrExists},
		{"group-empty-id", otpme.Snapshot{Groups: []otpme.Group{group("", "a")}}, otpme.ErrInvalid},
		{"client-twice", otpme.Snapshot{Clients: []otpme.Client{{Name: "c"}, {Name: "c"}}}, otpme.ErrExists},
		{"client-empty-name", otpme.Snapshot{Clients: []otpme.Client{{}}}, otpme.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := otpme.NewMemObjectsFrom(tt.s)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				assert.Nil(t, m)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, len(tt.s.Tokens), len(m.Snapshot().Tokens))
		})
	}
}

func TestMemObjects_ClientLists(t *testing.T) {
	ctx, m := context.Background(), otpme.NewMemObjects()
	must(t, m.AddClient(ctx, "c"))
	tests := []struct {
		name string
		edit func() error
		want error
	}{
		{"add-cert", func() error { return m.AddClientCertSubject(ctx, "c", "CN=a") }, nil},
		{"add-cert-again", func() error { return m.AddClientCertSubject(ctx, "c", "CN=a") }, nil},
		{"add-listener", func() error { return m.AddClientListener(ctx, "c", "127.0.0.1:389") }, nil},
		{"empty", func() error { return m.AddClientListener(ctx, "c", "") }, otpme.ErrInvalid},
		{"unknown-client", func() error { return m.AddClientListener(ctx, "x", "a") }, otpme.ErrNotFound},
		{"remove-missing", func() error { return m.RemoveClientCertSubject(ctx, "c", "CN=b") }, otpme.ErrNotFound},
		{"bind-dn-unknown-user", func() error { return m.SetUserBindDN(ctx, "x", "uid=x") }, otpme.ErrNotFound},
	}
	for _, tt := range tests {
		err := tt.edit()
		if tt.want == nil {
			require.NoError(t, err, tt.name)
		} else {
			require.ErrorIs(t, err, tt.want, tt.name)
		}
	}
	before, err := m.Client(ctx, "c")
	require.NoError(t, err)
	assert.Equal(t, []string{"CN=a"}, before.CertSubjects)
	assert.Equal(t, []string{"127.0.0.1:389"}, before.Listeners)
	must(t, m.RemoveClientCertSubject(ctx, "c", "CN=a"))
	must(t, m.RemoveClientListener(ctx, "c", "127.0.0.1:389"))
	after, err := m.Client(ctx, "c")
	require.NoError(t, err)
	assert.Empty(t, after.CertSubjects)
	assert.Empty(t, after.Listeners)
	assert.Equal(t, []string{"CN=a"}, before.CertSubjects, "a copy handed out before keeps its values")
}

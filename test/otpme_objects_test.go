package test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// otpmeObjectsBase is the OTPme container of examples/slapd/base.ldif,
// which the service account may write (examples/slapd/acl.conf, rule 6).
const otpmeObjectsBase = "ou=otpme,dc=example,dc=com"

// objectsSlapd starts a Plain slapd with the OTPme schema.
func objectsSlapd(t *testing.T) *slapdtest.Server {
	t.Helper()
	return slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, Schemas: []string{"schema/otpme.schema"},
		NoSync: true, LogLevel: "0"})
}

// objectsFor returns DirObjects on a fresh service-account pool of s (a
// proxy of its own), with the clock now (nil: time.Now).
func objectsFor(t *testing.T, s *slapdtest.Server, refresh time.Duration, now func() time.Time) *proxy.DirObjects {
	t.Helper()
	target, err := proxy.ParseTarget(s.URL)
	require.NoError(t, err)
	pool := proxy.NewServiceDirectory(target, s.ServiceDN, proxy.NewSecret([]byte(s.ServicePassword)), 2, 5*time.Second)
	t.Cleanup(pool.Close)
	return proxy.NewDirObjects(proxy.ServiceObjectDirectory(pool), otpmeObjectsBase, refresh, now, nil)
}

// edit runs f through objs.Edit and fails the test on an error.
func edit(t *testing.T, objs *proxy.DirObjects, f func(ctx context.Context, m *otpme.MemObjects) error) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, objs.Edit(ctx, func(m *otpme.MemObjects) error { return f(ctx, m) }))
}

// everyKind configures every kind of object with every field away from
// its default, names that need escaping in a DN included.
func everyKind(ctx context.Context, m *otpme.MemObjects) error {
	return errors.Join(
		m.AddGroup(ctx, "webmail"), m.AddGroup(ctx, "imap+smtp"), m.AddGroup(ctx, "Ünïcødé,ß"),
		m.AddChildGroup(ctx, "webmail", "imap+smtp"), m.AddChildSession(ctx, "webmail", "Ünïcødé,ß"),
		m.SetGroupSessions(ctx, "webmail", true), m.SetSessionMaster(ctx, "webmail", true),
		m.SetMaxLogin(ctx, "webmail", 7), m.SetTimeout(ctx, "webmail", 90*time.Minute),
		m.SetUnusedTimeout(ctx, "webmail", 2*time.Minute), m.SetGroupMaxFail(ctx, "webmail", 0),
		m.SetGroupEnabled(ctx, "Ünïcødé,ß", false), m.SetGroupDescription(ctx, "imap+smtp", "IMAP, SMTP"),
		m.AddUser(ctx, "alice"), m.AddUser(ctx, "doe,john"),
		m.SetUserBindDN(ctx, "alice", "uid=alice,ou=people,dc=example,dc=com"),
		m.SetUserSessions(ctx, "alice", true), m.SetUserMaxFail(ctx, "alice", 3),
		m.SetUserDescription(ctx, "alice", "Alice"), m.SetUserEnabled(ctx, "doe,john", false),
		addPassword(ctx, m, "alice", "laptop"),
		m.AddMOTPToken(ctx, "alice", "phone", otpme.Secret("0123456789abcdef"), otpme.Secret("1234")),
		m.SetMOTPWindow(ctx, "alice", "phone", 30), m.TokenAddGroup(ctx, "alice", "phone", "webmail"),
		m.TokenAddGroup(ctx, "alice", "phone", "Ünïcødé,ß"), m.SetTokenEnabled(ctx, "alice", "laptop", false),
		m.AddOATHToken(ctx, "doe,john", "yubi#1", otpme.TokenHOTP, "cn=yubi,ou=tokens,dc=example,dc=com"),
		m.SetTokenDescription(ctx, "doe,john", "yubi#1", "key ring"),
		m.AddClient(ctx, "roundcube"), m.SetClientAccessGroup(ctx, "roundcube", "webmail"),
		m.AddClientAddress(ctx, "roundcube", "192.0.2.0/24"), m.AddClientAddress(ctx, "roundcube", "2001:db8::1"),
		m.SetTrustCheck(ctx, "roundcube", true), setSecret(ctx, m, "roundcube", "dbf549610e49f02a"),
		m.AddClientCertSubject(ctx, "roundcube", "CN=roundcube,O=Example"),
		m.AddClientListener(ctx, "roundcube", "127.0.0.1:1389"), m.SetClientDescription(ctx, "roundcube", "webmail"),
		m.AddClient(ctx, "cyrus"), m.SetClientEnabled(ctx, "cyrus", false),
	)
}

func addPassword(ctx context.Context, m *otpme.MemObjects, user, token string) error {
	pw, err := m.AddPasswordToken(ctx, user, token)
	registerSecret(string(pw))
	return err
}

func setSecret(ctx context.Context, m *otpme.MemObjects, client, secret string) error {
	_, err := m.SetClientSecret(ctx, client, otpme.Secret(secret))
	return err
}

// TestOTPmeObjects_RoundTrip writes every kind of object through Edit as
// the service account and reads it back through a second proxy's
// DirObjects: what was edited is what is served.
func TestOTPmeObjects_RoundTrip(t *testing.T) {
	s := objectsSlapd(t)
	a, b := objectsFor(t, s, 0, nil), objectsFor(t, s, 0, nil)
	var want otpme.Snapshot
	edit(t, a, func(ctx context.Context, m *otpme.MemObjects) error {
		err := everyKind(ctx, m)
		want = m.Snapshot()
		return err
	})
	got, err := b.Snapshot(context.Background())
	require.NoError(t, err)
	assert.Equal(t, want, got)

	// A second edit through b that changes nothing writes nothing that
	// changes what is served, and a reload of a serves the same.
	edit(t, b, func(context.Context, *otpme.MemObjects) error { return nil })
	again, err := objectsFor(t, s, 0, nil).Snapshot(context.Background())
	require.NoError(t, err)
	assert.Equal(t, want, again)
}

// TestOTPmeObjects_GuideSequence follows the guide's administration steps,
// one Edit each (as the CLI does), and reads the directory back as the
// rootdn after each.
func TestOTPmeObjects_GuideSequence(t *testing.T) {
	s := objectsSlapd(t)
	objs, admin := objectsFor(t, s, 0, nil), s.Admin(t)
	users, groups, clients := "ou=users,"+otpmeObjectsBase, "ou=groups,"+otpmeObjectsBase, "ou=clients,"+otpmeObjectsBase
	steps := []struct {
		name  string
		edit  func(ctx context.Context, m *otpme.MemObjects) error
		check func(t *testing.T)
	}{
		{"user add", func(ctx context.Context, m *otpme.MemObjects) error { return m.AddUser(ctx, "testuser1") },
			func(t *testing.T) {
				assert.Equal(t, "testuser1", readAttr(t, admin, "otpmeName=testuser1,"+users, "otpmeName"))
				assert.Equal(t, "TRUE", readAttr(t, admin, "otpmeName=testuser1,"+users, "otpmeEnabled"))
				assert.Len(t, readAttr(t, admin, "otpmeName=testuser1,"+users, "otpmeID"), 32)
			}},
		{"token add password", func(ctx context.Context, m *otpme.MemObjects) error {
			return addPassword(ctx, m, "testuser1", "imap-pass")
		}, func(t *testing.T) {
			dn := "otpmeName=imap-pass,otpmeName=testuser1," + users
			assert.Equal(t, "password", readAttr(t, admin, dn, "otpmeTokenType"))
			assert.Contains(t, readAttr(t, admin, dn, "otpmePasswordHash"), "{SSHA256}")
		}},
		{"group add", func(ctx context.Context, m *otpme.MemObjects) error { return m.AddGroup(ctx, "imap") },
			func(t *testing.T) {
				assert.Equal(t, "1800", readAttr(t, admin, "otpmeName=imap,"+groups, "otpmeTimeout"))
			}},
		{"token add_group", func(ctx context.Context, m *otpme.MemObjects) error {
			return m.TokenAddGroup(ctx, "testuser1", "imap-pass", "imap")
		}, func(t *testing.T) {
			assert.Equal(t, "imap", readAttr(t, admin, "otpmeName=imap-pass,otpmeName=testuser1,"+users, "otpmeAccessGroup"))
		}},
		{"client add", func(ctx context.Context, m *otpme.MemObjects) error { return m.AddClient(ctx, "dovecot") },
			func(t *testing.T) { assert.True(t, entryExists(t, admin, "otpmeName=dovecot,"+clients)) }},
		{"client access_group", func(ctx context.Context, m *otpme.MemObjects) error {
			return m.SetClientAccessGroup(ctx, "dovecot", "imap")
		}, func(t *testing.T) {
			assert.Equal(t, "imap", readAttr(t, admin, "otpmeName=dovecot,"+clients, "otpmeAccessGroup"))
		}},
		{"client rename", func(ctx context.Context, m *otpme.MemObjects) error { return m.RenameClient(ctx, "dovecot", "imapd") },
			func(t *testing.T) {
				assert.False(t, entryExists(t, admin, "otpmeName=dovecot,"+clients))
				assert.Equal(t, "imap", readAttr(t, admin, "otpmeName=imapd,"+clients, "otpmeAccessGroup"))
				assert.Equal(t, "imapd", readAttr(t, admin, "otpmeName=imapd,"+clients, "otpmeName"))
			}},
		{"user rename", func(ctx context.Context, m *otpme.MemObjects) error { return m.RenameUser(ctx, "testuser1", "tester") },
			func(t *testing.T) {
				assert.False(t, entryExists(t, admin, "otpmeName=testuser1,"+users))
				assert.Equal(t, "tester", readAttr(t, admin, "otpmeName=tester,"+users, "otpmeName"))
				assert.Equal(t, "imap", readAttr(t, admin, "otpmeName=imap-pass,otpmeName=tester,"+users, "otpmeAccessGroup"),
					"the token moved with its user")
			}},
		{"group del", func(ctx context.Context, m *otpme.MemObjects) error {
			used, err := m.DelGroup(ctx, "imap")
			assert.Equal(t, []string{"tester/imap-pass"}, used)
			return err
		}, func(t *testing.T) {
			assert.False(t, entryExists(t, admin, "otpmeName=imap,"+groups))
			assert.Empty(t, readAttr(t, admin, "otpmeName=imap-pass,otpmeName=tester,"+users, "otpmeAccessGroup"))
			assert.Empty(t, readAttr(t, admin, "otpmeName=imapd,"+clients, "otpmeAccessGroup"))
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			edit(t, objs, st.edit)
			st.check(t)
		})
	}
	assert.True(t, entryExists(t, admin, "ou=state,"+otpmeObjectsBase), "the state container was created")
}

// TestOTPmeObjects_Renames: renames slapd must take in a safe order — a
// swap of two names, a change of case only, a user and its token renamed
// in one edit, names that need escaping — keep every ID and move tokens
// with their users.
func TestOTPmeObjects_Renames(t *testing.T) {
	s := objectsSlapd(t)
	objs := objectsFor(t, s, 0, nil)
	edit(t, objs, func(ctx context.Context, m *otpme.MemObjects) error {
		return errors.Join(m.AddUser(ctx, "a"), m.AddUser(ctx, "b"), m.AddUser(ctx, "x,y"), m.AddGroup(ctx, "mail"),
			m.AddMOTPToken(ctx, "a", "ta", nil, nil), m.AddMOTPToken(ctx, "b", "tb", nil, nil),
			m.AddMOTPToken(ctx, "x,y", "t", nil, nil), m.TokenAddGroup(ctx, "x,y", "t", "mail"))
	})
	ctx := context.Background()
	before, err := objs.Snapshot(ctx)
	require.NoError(t, err)
	edit(t, objs, func(ctx context.Context, m *otpme.MemObjects) error {
		return errors.Join(m.RenameUser(ctx, "a", "tmp"), m.RenameUser(ctx, "b", "a"), m.RenameUser(ctx, "tmp", "b"),
			m.RenameGroup(ctx, "mail", "Mail"), m.RenameUser(ctx, "x,y", "x+y#"), m.RenameToken(ctx, "x+y#", "t", "t;2"))
	})
	after, err := objs.Snapshot(ctx)
	require.NoError(t, err)
	ids := func(s otpme.Snapshot) map[string]string {
		out := map[string]string{}
		for _, u := range s.Users {
			out[u.Name] = u.ID
		}
		for _, tok := range s.Tokens {
			out[tok.User+"/"+tok.Name] = tok.ID
		}
		for _, g := range s.Groups {
			out[g.Name] = g.ID
		}
		return out
	}
	was, is := ids(before), ids(after)
	assert.Equal(t, map[string]string{
		"a": was["b"], "b": was["a"], "a/tb": was["b/tb"], "b/ta": was["a/ta"],
		"Mail": was["mail"], "x+y#": was["x,y"], "x+y#/t;2": was["x,y/t"],
	}, is)
	assert.Equal(t, []string{"Mail"}, after.Tokens[2].Groups)
	admin := s.Admin(t)
	assert.Equal(t, "t;2", readAttr(t, admin, `otpmeName=t\;2,otpmeName=x\+y#,ou=users,`+otpmeObjectsBase, "otpmeName"))
	assert.Equal(t, "Mail", readAttr(t, admin, "otpmeName=mail,ou=groups,"+otpmeObjectsBase, "otpmeName"))
}

// entryExists reports whether dn exists, read as the rootdn.
func entryExists(t *testing.T, conn *ldap.Conn, dn string) bool {
	t.Helper()
	_, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return false
	}
	require.NoError(t, err, "read %s", dn)
	return true
}

// TestOTPmeObjects_SecondProxySeesEdit: an edit through one proxy is
// served by another within its refresh interval.
func TestOTPmeObjects_SecondProxySeesEdit(t *testing.T) {
	const refresh = 200 * time.Millisecond
	s := objectsSlapd(t)
	first, second := objectsFor(t, s, refresh, nil), objectsFor(t, s, refresh, nil)
	ctx := context.Background()
	_, err := second.User(ctx, "bob")
	require.ErrorIs(t, err, otpme.ErrNotFound, "the second proxy has loaded its snapshot")

	edit(t, first, func(ctx context.Context, m *otpme.MemObjects) error {
		return errors.Join(m.AddUser(ctx, "bob"), m.SetUserBindDN(ctx, "bob", "uid=bob,ou=people,dc=example,dc=com"))
	})
	start := time.Now()
	require.Eventually(t, func() bool {
		_, ok, err := second.UserByBindDN(ctx, "uid=bob,ou=people,dc=example,dc=com")
		return err == nil && ok
	}, 5*time.Second, 10*time.Millisecond)
	assert.Less(t, time.Since(start), refresh+2*time.Second, "seen within the refresh interval (and some slack)")

	edit(t, first, func(ctx context.Context, m *otpme.MemObjects) error { return m.SetUserEnabled(ctx, "bob", false) })
	require.Eventually(t, func() bool {
		u, err := second.User(ctx, "bob")
		return err == nil && !u.Enabled
	}, 5*time.Second, 10*time.Millisecond)
}

// objClock is a clock the test moves.
type objClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *objClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *objClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestOTPmeObjects_Outage: while slapd is down the last snapshot is served
// for up to 10 refresh intervals, then reads fail (so the engine refuses
// logins); after a restart everything recovers.
func TestOTPmeObjects_Outage(t *testing.T) {
	const refresh = 5 * time.Second
	s := objectsSlapd(t)
	clock := &objClock{now: time.Now()}
	objs := objectsFor(t, s, refresh, clock.Now)
	edit(t, objs, func(ctx context.Context, m *otpme.MemObjects) error { return m.AddUser(ctx, "alice") })
	ctx := context.Background()
	_, err := objs.User(ctx, "alice")
	require.NoError(t, err)

	s.Stop()
	clock.Advance(refresh)
	_, err = objs.User(ctx, "alice")
	require.NoError(t, err, "reload failed: the last snapshot is served")
	require.Error(t, objs.Edit(ctx, func(*otpme.MemObjects) error { return nil }), "edits need the directory")
	clock.Advance(9*refresh - time.Second)
	_, err = objs.User(ctx, "alice")
	require.NoError(t, err, "still within 10 refresh intervals")
	clock.Advance(time.Second)
	_, err = objs.User(ctx, "alice")
	require.ErrorIs(t, err, proxy.ErrUnavailable, "too old: the error, so that logins are refused")

	s.Restart(t)
	clock.Advance(time.Second)
	_, err = objs.User(ctx, "alice")
	require.NoError(t, err, "recovered")
	edit(t, objs, func(ctx context.Context, m *otpme.MemObjects) error { return m.AddUser(ctx, "bob") })
	_, err = objs.User(ctx, "bob")
	require.NoError(t, err)
}

// TestOTPmeObjects_UserByBindDN: a bind DN maps to its user whatever its
// case and spacing.
func TestOTPmeObjects_UserByBindDN(t *testing.T) {
	s := objectsSlapd(t)
	objs := objectsFor(t, s, 0, nil)
	edit(t, objs, func(ctx context.Context, m *otpme.MemObjects) error {
		return errors.Join(m.AddUser(ctx, "alice"), m.SetUserBindDN(ctx, "alice", "uid=Alice,ou=People,dc=example,dc=com"),
			m.AddUser(ctx, "doe"), m.SetUserBindDN(ctx, "doe", `cn=Doe\, John,ou=people,dc=example,dc=com`))
	})
	tests := []struct{ dn, want string }{
		{"uid=alice,ou=people,dc=example,dc=com", "alice"},
		{"UID=ALICE,OU=PEOPLE,DC=EXAMPLE,DC=COM", "alice"},
		{"uid=alice, ou=people, dc=example, dc=com", "alice"},
		{" uid = alice ,ou=people,dc=example,dc=com", "alice"},
		{`CN=doe\2c john,ou=people,dc=example,dc=com`, "doe"},
		{"uid=alice,ou=people,dc=example,dc=org", ""},
		{"uid=alicia,ou=people,dc=example,dc=com", ""},
	}
	for _, tt := range tests {
		u, ok, err := objs.UserByBindDN(context.Background(), tt.dn)
		require.NoError(t, err, tt.dn)
		assert.Equal(t, tt.want != "", ok, tt.dn)
		assert.Equal(t, tt.want, u.Name, tt.dn)
	}
}

// TestOTPmeObjects_Engine: the engine reads DirObjects, and an edit that
// takes something away ends the sessions it grounded (the Revoker runs
// after the directory holds the edit).
func TestOTPmeObjects_Engine(t *testing.T) {
	s := objectsSlapd(t)
	objs := objectsFor(t, s, 0, nil)
	eng, err := otpme.New(otpme.Config{Objects: objs, Store: otpme.NewMemStore(),
		Key: otpme.Secret("otpme-objects-test-key-0123456789abcdef"), AllowGroupMissing: true})
	require.NoError(t, err)
	objs.SetRevoker(eng)
	var pw otpme.Secret
	edit(t, objs, func(ctx context.Context, m *otpme.MemObjects) error { return m.AddUser(ctx, "alice") })
	edit(t, objs, func(ctx context.Context, m *otpme.MemObjects) error {
		var err error
		pw, err = m.AddPasswordToken(ctx, "alice", "laptop")
		return err
	})
	registerSecret(string(pw))
	ctx := context.Background()
	verify := func() otpme.EventCode {
		res, err := eng.Verify(ctx, otpme.Request{User: "alice", Password: pw, Trace: true})
		require.NoError(t, err)
		return res.Event.Code
	}
	assert.Equal(t, otpme.AuthOKStatic, verify())
	edit(t, objs, func(ctx context.Context, m *otpme.MemObjects) error { return m.SetUserEnabled(ctx, "alice", false) })
	assert.Equal(t, otpme.AuthUserDisabled, verify())
}

// TestOTPmeObjects_ManyObjects loads more objects than slapd's default
// size limit (500) in one paged search.
func TestOTPmeObjects_ManyObjects(t *testing.T) {
	s := objectsSlapd(t)
	objs := objectsFor(t, s, 0, nil)
	const n = 700
	edit(t, objs, func(ctx context.Context, m *otpme.MemObjects) error {
		var errs []error
		for i := range n {
			errs = append(errs, m.AddUser(ctx, fmt.Sprintf("user%04d", i)))
		}
		return errors.Join(errs...)
	})
	snap, err := objectsFor(t, s, 0, nil).Snapshot(context.Background())
	require.NoError(t, err)
	assert.Len(t, snap.Users, n)
}

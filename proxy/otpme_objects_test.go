package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/schema"
)

const objTestBase = "ou=otpme,dc=example,dc=com"

// fakeObjDir is an in-memory ObjectDirectory with slapd's answers for what
// DirObjects does: no parent (32), exists (68), non-leaf (66), subtree
// renames. Entries are keyed by canonical DN.
type fakeObjDir struct {
	mu       sync.Mutex
	entries  map[string]*fakeObjEntry
	down     bool
	searches atomic.Int32
	finished atomic.Int32
	gate     chan struct{} // if set, searches wait for it
	hold     chan struct{} // if set, the next search reads, then waits for it
	writes   []string
}

type fakeObjEntry struct {
	dn    string
	attrs map[string][]string
}

func newFakeObjDir() *fakeObjDir {
	d := &fakeObjDir{entries: map[string]*fakeObjEntry{}}
	d.put("dc=example,dc=com", nil)
	d.put(objTestBase, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"otpme"}})
	return d
}

func (d *fakeObjDir) put(dn string, attrs map[string][]string) {
	d.entries[dnKey(dn)] = &fakeObjEntry{dn: dn, attrs: attrs}
}

func ldapErr(code uint16, dn string) error {
	return fmt.Errorf("fake %q: %w", dn, ldap.NewError(code, errors.New(ldap.LDAPResultCodeMap[code])))
}

func under(key, base string) bool { return key == base || strings.HasSuffix(key, ","+base) }

func (d *fakeObjDir) SearchSubtree(ctx context.Context, base, filter string, _ []string) ([]schema.Entry, error) {
	d.searches.Add(1)
	defer d.finished.Add(1)
	d.mu.Lock()
	gate, hold := d.gate, d.hold
	d.hold = nil
	d.mu.Unlock()
	if gate != nil {
		<-gate
	}
	out, err := d.search(base, filter)
	if hold != nil {
		<-hold
	}
	return out, err
}

func (d *fakeObjDir) search(base, filter string) ([]schema.Entry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down {
		return nil, fmt.Errorf("search %q: %w", base, ErrUnavailable)
	}
	if d.entries[dnKey(base)] == nil {
		return nil, ldapErr(ldap.LDAPResultNoSuchObject, base)
	}
	var out []schema.Entry
	for key, e := range d.entries {
		if !under(key, dnKey(base)) {
			continue
		}
		se := schema.Entry{DN: e.dn, Attributes: map[string][][]byte{}}
		for n, vs := range e.attrs {
			for _, v := range vs {
				se.Attributes[n] = append(se.Attributes[n], []byte(v))
			}
		}
		if filter == "(objectClass=*)" || objKindOf(se) != objNone {
			out = append(out, se)
		}
	}
	return out, nil
}

func (d *fakeObjDir) write(what, dn string) error {
	if d.down {
		return fmt.Errorf("%s %q: %w", what, dn, ErrUnavailable)
	}
	d.writes = append(d.writes, what+" "+dn)
	return nil
}

func (d *fakeObjDir) Add(_ context.Context, req *ldap.AddRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.write("add", req.DN); err != nil {
		return err
	}
	_, parent := splitRDN(req.DN)
	switch {
	case d.entries[dnKey(req.DN)] != nil:
		return ldapErr(ldap.LDAPResultEntryAlreadyExists, req.DN)
	case d.entries[dnKey(parent)] == nil:
		return ldapErr(ldap.LDAPResultNoSuchObject, req.DN)
	}
	attrs := map[string][]string{}
	for _, a := range req.Attributes {
		attrs[a.Type] = slices.Clone(a.Vals)
	}
	d.put(req.DN, attrs)
	return nil
}

func (d *fakeObjDir) Modify(_ context.Context, req *ldap.ModifyRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.write("modify", req.DN); err != nil {
		return err
	}
	e := d.entries[dnKey(req.DN)]
	if e == nil {
		return ldapErr(ldap.LDAPResultNoSuchObject, req.DN)
	}
	for _, c := range req.Changes {
		if c.Operation != ldap.ReplaceAttribute {
			return ldapErr(ldap.LDAPResultUnwillingToPerform, req.DN)
		}
		delete(e.attrs, c.Modification.Type)
		if len(c.Modification.Vals) > 0 {
			e.attrs[c.Modification.Type] = slices.Clone(c.Modification.Vals)
		}
	}
	return nil
}

func (d *fakeObjDir) Del(_ context.Context, req *ldap.DelRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.write("delete", req.DN); err != nil {
		return err
	}
	key := dnKey(req.DN)
	if d.entries[key] == nil {
		return ldapErr(ldap.LDAPResultNoSuchObject, req.DN)
	}
	for k := range d.entries {
		if k != key && under(k, key) {
			return ldapErr(ldap.LDAPResultNotAllowedOnNonLeaf, req.DN)
		}
	}
	delete(d.entries, key)
	return nil
}

func (d *fakeObjDir) ModifyDN(_ context.Context, req *ldap.ModifyDNRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.write("rename", req.DN); err != nil {
		return err
	}
	key := dnKey(req.DN)
	e := d.entries[key]
	_, parent := splitRDN(req.DN)
	to := req.NewRDN + "," + parent
	switch {
	case e == nil:
		return ldapErr(ldap.LDAPResultNoSuchObject, req.DN)
	case d.entries[dnKey(to)] != nil && dnKey(to) != key:
		return ldapErr(ldap.LDAPResultEntryAlreadyExists, to)
	}
	rdn, _ := ldap.ParseDN(req.NewRDN)
	e.attrs[rdn.RDNs[0].Attributes[0].Type] = []string{rdn.RDNs[0].Attributes[0].Value}
	for k, c := range maps.Clone(d.entries) {
		if under(k, key) {
			delete(d.entries, k)
			c.dn = strings.TrimSuffix(c.dn, req.DN) + to
			d.put(c.dn, c.attrs)
		}
	}
	return nil
}

func (d *fakeObjDir) setDown(down bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.down = down
}

// attr returns the values of an entry's attribute (nil if no entry).
func (d *fakeObjDir) attr(dn, name string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e := d.entries[dnKey(dn)]; e != nil {
		return e.attrs[name]
	}
	return nil
}

func (d *fakeObjDir) has(dn string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.entries[dnKey(dn)] != nil
}

// objClock is a settable clock.
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

type objEnv struct {
	ctx   context.Context
	dir   *fakeObjDir
	clock *objClock
	log   *lockedBuffer
	objs  *DirObjects
}

const objTestRefresh = 5 * time.Second

func newObjEnv(t *testing.T) *objEnv {
	t.Helper()
	e := &objEnv{ctx: context.Background(), dir: newFakeObjDir(), clock: &objClock{now: time.Unix(1714582800, 0)}, log: &lockedBuffer{}}
	h := slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})
	e.objs = NewDirObjects(e.dir, objTestBase, objTestRefresh, e.clock.Now, slog.New(h))
	return e
}

func (e *objEnv) edit(t *testing.T, f func(ctx context.Context, m *otpme.MemObjects) error) {
	t.Helper()
	require.NoError(t, e.objs.Edit(e.ctx, func(m *otpme.MemObjects) error { return f(e.ctx, m) }))
}

// mailSetup is a small guide-like configuration.
func mailSetup(ctx context.Context, m *otpme.MemObjects) error {
	return errors.Join(
		m.AddUser(ctx, "alice"),
		m.SetUserBindDN(ctx, "alice", "uid=alice,ou=people,dc=example,dc=com"),
		m.AddMOTPToken(ctx, "alice", "phone", otpme.Secret("0123456789abcdef"), otpme.Secret("1234")),
		m.AddGroup(ctx, "webmail"),
		m.TokenAddGroup(ctx, "alice", "phone", "webmail"),
		m.AddClient(ctx, "roundcube"),
		m.SetClientAccessGroup(ctx, "roundcube", "webmail"),
		m.AddClientAddress(ctx, "roundcube", "192.0.2.0/24"),
	)
}

func TestDirObjects_EditAndRead(t *testing.T) {
	e := newObjEnv(t)
	e.edit(t, mailSetup)
	for _, dn := range []string{"ou=users," + objTestBase, "ou=groups," + objTestBase, "ou=clients," + objTestBase,
		"ou=state," + objTestBase, "otpmeName=phone,otpmeName=alice,ou=users," + objTestBase,
		"otpmeName=webmail,ou=groups," + objTestBase, "otpmeName=roundcube,ou=clients," + objTestBase} {
		assert.True(t, e.dir.has(dn), dn)
	}
	u, err := e.objs.User(e.ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, "uid=alice,ou=people,dc=example,dc=com", u.BindDN)
	toks, err := e.objs.Tokens(e.ctx, "alice")
	require.NoError(t, err)
	require.Len(t, toks, 1)
	assert.Equal(t, []string{"webmail"}, toks[0].Groups)
	assert.Equal(t, otpme.Secret("1234"), toks[0].PIN)
	c, err := e.objs.Client(e.ctx, "roundcube")
	require.NoError(t, err)
	assert.Equal(t, "webmail", c.AccessGroup)
	_, err = e.objs.User(e.ctx, "bob")
	require.ErrorIs(t, err, otpme.ErrNotFound)
	assert.Len(t, e.dir.attr("otpmeName=roundcube,ou=clients,"+objTestBase, objAttrID)[0], 32, "clients get an otpmeID")
	assert.NotContains(t, e.log.String(), "0123456789abcdef")
}

func TestDirObjects_EditWritesOnlyTheDifference(t *testing.T) {
	e := newObjEnv(t)
	e.edit(t, mailSetup)
	e.dir.writes = nil
	e.edit(t, func(ctx context.Context, m *otpme.MemObjects) error { return m.SetMaxLogin(ctx, "webmail", 3) })
	assert.Equal(t, []string{"modify otpmeName=webmail,ou=groups," + objTestBase}, e.dir.writes)
	assert.Equal(t, []string{"3"}, e.dir.attr("otpmeName=webmail,ou=groups,"+objTestBase, objAttrMaxLogin))

	e.dir.writes = nil
	e.edit(t, func(ctx context.Context, m *otpme.MemObjects) error { return nil })
	assert.Empty(t, e.dir.writes)

	e.dir.writes = nil
	wantErr := errors.New("no")
	err := e.objs.Edit(e.ctx, func(m *otpme.MemObjects) error {
		_ = m.DelUser(e.ctx, "alice")
		return wantErr
	})
	require.ErrorIs(t, err, wantErr)
	assert.Empty(t, e.dir.writes, "a failed edit writes nothing")
}

func TestDirObjects_RenamesAndDeletes(t *testing.T) {
	e := newObjEnv(t)
	e.edit(t, mailSetup)
	e.dir.writes = nil
	e.edit(t, func(ctx context.Context, m *otpme.MemObjects) error {
		return errors.Join(m.RenameUser(ctx, "alice", "alice2"), m.RenameClient(ctx, "roundcube", "webmail-client"))
	})
	users := "ou=users," + objTestBase
	assert.Equal(t, []string{
		"rename otpmeName=alice," + users,
		"rename otpmeName=roundcube,ou=clients," + objTestBase,
	}, e.dir.writes, "one ModifyDN each; the token moves along")
	assert.True(t, e.dir.has("otpmeName=phone,otpmeName=alice2,"+users))
	id := e.dir.attr("otpmeName=webmail-client,ou=clients,"+objTestBase, objAttrID)
	require.Len(t, id, 1, "the client entry kept its otpmeID")

	e.dir.writes = nil
	e.edit(t, func(ctx context.Context, m *otpme.MemObjects) error {
		_, err := m.DelGroup(ctx, "webmail")
		return errors.Join(err, m.DelUser(ctx, "alice2"))
	})
	assert.Equal(t, []string{
		"delete otpmeName=phone,otpmeName=alice2," + users,
		"delete otpmeName=alice2," + users,
		"delete otpmeName=webmail,ou=groups," + objTestBase,
		"modify otpmeName=webmail-client,ou=clients," + objTestBase,
	}, e.dir.writes, "children before parents; references removed")
	assert.Nil(t, e.dir.attr("otpmeName=webmail-client,ou=clients,"+objTestBase, objAttrAccessGroup))
}

func TestDirObjects_SwapAndCaseRenames(t *testing.T) {
	e := newObjEnv(t)
	e.edit(t, func(ctx context.Context, m *otpme.MemObjects) error {
		return errors.Join(m.AddUser(ctx, "a"), m.AddUser(ctx, "b"), m.AddGroup(ctx, "mail"))
	})
	ids := map[string]string{}
	for _, n := range []string{"a", "b"} {
		u, err := e.objs.User(e.ctx, n)
		require.NoError(t, err)
		ids[n] = u.ID
	}
	e.edit(t, func(ctx context.Context, m *otpme.MemObjects) error {
		return errors.Join(m.RenameUser(ctx, "a", "tmp"), m.RenameUser(ctx, "b", "a"), m.RenameUser(ctx, "tmp", "b"),
			m.RenameGroup(ctx, "mail", "Mail"))
	})
	for n, id := range map[string]string{"a": ids["b"], "b": ids["a"]} {
		u, err := e.objs.User(e.ctx, n)
		require.NoError(t, err)
		assert.Equal(t, id, u.ID, n)
	}
	g, err := e.objs.Groups(e.ctx)
	require.NoError(t, err)
	require.Len(t, g, 1)
	assert.Equal(t, "Mail", g[0].Name)
}

func TestDirObjects_Refresh(t *testing.T) {
	e := newObjEnv(t)
	e.edit(t, mailSetup)
	_, err := e.objs.User(e.ctx, "alice")
	require.NoError(t, err)
	n := e.dir.searches.Load()
	// Another proxy's edit, written behind this one's back.
	other := NewDirObjects(e.dir, objTestBase, objTestRefresh, e.clock.Now, nil)
	require.NoError(t, other.Edit(e.ctx, func(m *otpme.MemObjects) error { return m.AddUser(e.ctx, "bob") }))
	n2 := e.dir.searches.Load()

	_, err = e.objs.User(e.ctx, "bob")
	require.ErrorIs(t, err, otpme.ErrNotFound, "within the refresh interval the snapshot is served")
	assert.Equal(t, n2, e.dir.searches.Load(), "no search for a fresh snapshot")
	e.clock.Advance(objTestRefresh)
	_, err = e.objs.User(e.ctx, "bob")
	require.NoError(t, err, "after the refresh interval the edit is seen")
	assert.Equal(t, n2+1, e.dir.searches.Load())
	assert.Greater(t, n2, n)
}

// TestDirObjects_EditDuringLoad: a load that read the directory before an
// edit never replaces, nor is served instead of, the edit.
func TestDirObjects_EditDuringLoad(t *testing.T) {
	e := newObjEnv(t)
	e.edit(t, mailSetup)
	_, err := e.objs.User(e.ctx, "alice")
	require.NoError(t, err)
	e.clock.Advance(objTestRefresh)
	hold := make(chan struct{})
	e.dir.mu.Lock()
	e.dir.hold = hold
	e.dir.mu.Unlock()
	started := e.dir.searches.Load()
	done := make(chan struct{})
	go func() { // starts a load that reads the directory before the edit
		defer close(done)
		_, _ = e.objs.User(e.ctx, "bob")
	}()
	require.Eventually(t, func() bool { return e.dir.searches.Load() > started }, 5*time.Second, time.Millisecond)
	e.edit(t, func(ctx context.Context, m *otpme.MemObjects) error { return m.AddUser(ctx, "bob") })
	_, err = e.objs.User(e.ctx, "bob")
	require.NoError(t, err, "read after the edit")
	close(hold)
	<-done
	require.Eventually(t, func() bool { return e.dir.finished.Load() == e.dir.searches.Load() }, 5*time.Second, time.Millisecond)
	_, err = e.objs.User(e.ctx, "bob")
	require.NoError(t, err, "the older load was not installed over the newer one")
}

func TestDirObjects_SingleFlight(t *testing.T) {
	e := newObjEnv(t)
	e.edit(t, mailSetup)
	gate := make(chan struct{})
	e.dir.mu.Lock()
	e.dir.gate = gate
	e.dir.mu.Unlock()
	before := e.dir.searches.Load()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			_, err := e.objs.User(e.ctx, "alice")
			errs <- err
		})
	}
	require.Eventually(t, func() bool { return e.dir.searches.Load() > before }, 5*time.Second, time.Millisecond)
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, before+1, e.dir.searches.Load(), "64 concurrent reads, one load")
}

func TestDirObjects_Outage(t *testing.T) {
	e := newObjEnv(t)
	_, err := e.objs.User(e.ctx, "alice")
	require.ErrorIs(t, err, otpme.ErrNotFound, "an empty container is a valid, empty snapshot")
	e.edit(t, mailSetup)
	_, err = e.objs.User(e.ctx, "alice")
	require.NoError(t, err)

	e.dir.setDown(true)
	tests := []struct {
		advance time.Duration
		ok      bool
	}{
		{objTestRefresh, true}, // reload fails: last snapshot served
		{time.Second, true},    // and retried no sooner than a second
		{objStaleFactor*objTestRefresh - 7*time.Second, true}, // just under 10 refresh intervals old
		{time.Second, false}, // too old: errors, so the engine refuses logins
	}
	for i, tt := range tests {
		e.clock.Advance(tt.advance)
		_, err := e.objs.User(e.ctx, "alice")
		if tt.ok {
			require.NoError(t, err, "step %d", i)
		} else {
			require.ErrorIs(t, err, ErrUnavailable, "step %d", i)
		}
	}
	e.dir.setDown(false)
	e.clock.Advance(time.Second)
	_, err = e.objs.User(e.ctx, "alice")
	require.NoError(t, err, "recovers")
	assert.Equal(t, 1, strings.Count(e.log.String(), "load failed"), "one warning per outage")
	assert.Contains(t, e.log.String(), "loaded again")
}

func TestDirObjects_NoSnapshotYet(t *testing.T) {
	e := newObjEnv(t)
	e.dir.setDown(true)
	_, err := e.objs.Groups(e.ctx)
	require.ErrorIs(t, err, ErrUnavailable)
	_, _, err = e.objs.UserByBindDN(e.ctx, "uid=alice,ou=people,dc=example,dc=com")
	require.ErrorIs(t, err, ErrUnavailable)
	require.Error(t, e.objs.Edit(e.ctx, func(*otpme.MemObjects) error { return nil }))

	missing := NewDirObjects(newFakeObjDir(), "ou=nowhere,dc=example,dc=com", 0, nil, nil)
	_, err = missing.Groups(e.ctx)
	require.True(t, ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject), "%v", err)
}

func TestDirObjects_BadEntriesAreSkipped(t *testing.T) {
	e := newObjEnv(t)
	e.edit(t, mailSetup)
	users := "ou=users," + objTestBase
	e.dir.mu.Lock()
	e.dir.put("otpmeName=broken,"+users, map[string][]string{"objectClass": {"otpmeUser"}, "otpmeID": {"b1"},
		"otpmeName": {"broken"}, "otpmeMaxFail": {"lots"}})
	e.dir.put("otpmeName=orphan,otpmeName=broken,"+users, map[string][]string{"objectClass": {"otpmeToken"},
		"otpmeID": {"t9"}, "otpmeName": {"orphan"}, "otpmeTokenType": {"motp"}, "otpmeMOTPSecret": {"orphan-secret-99"}})
	e.dir.put("otpmeName=bad,otpmeName=alice,"+users, map[string][]string{"objectClass": {"otpmeToken"},
		"otpmeID": {"t8"}, "otpmeName": {"bad"}, "otpmeTokenType": {"sms"}, "otpmeMOTPPIN": {"pin-secret-77"}})
	e.dir.put("otpmeName=copy,"+users, map[string][]string{"objectClass": {"otpmeUser"}, "otpmeID": {"b1"}, "otpmeName": {"copy"}})
	e.dir.mu.Unlock()
	for range 2 {
		e.clock.Advance(objTestRefresh)
		toks, err := e.objs.Tokens(e.ctx, "alice")
		require.NoError(t, err)
		assert.Len(t, toks, 1, "the good token is served")
	}
	_, err := e.objs.User(e.ctx, "broken")
	require.ErrorIs(t, err, otpme.ErrNotFound)
	_, err = e.objs.User(e.ctx, "copy")
	require.NoError(t, err, "the bad entry with the same ID was skipped, so the copy is the only b1")
	logs := e.log.String()
	for _, want := range []string{"otpmeName=broken", "otpmeMaxFail", "otpmeName=orphan", "otpmeName=bad", "otpmeTokenType"} {
		assert.Contains(t, logs, want)
	}
	assert.Equal(t, 3, strings.Count(logs, "level=ERROR"), "each problem at error level once:\n%s", logs)
	assert.NotContains(t, logs, "orphan-secret-99")
	assert.NotContains(t, logs, "pin-secret-77")

	// The bad user can be deleted with the tree delete of a later edit.
	e.dir.mu.Lock()
	e.dir.put("otpmeName=broken,"+users, map[string][]string{"objectClass": {"otpmeUser"}, "otpmeID": {"b2"}, "otpmeName": {"broken"}})
	e.dir.mu.Unlock()
	e.edit(t, func(ctx context.Context, m *otpme.MemObjects) error { return m.DelUser(ctx, "broken") })
	assert.False(t, e.dir.has("otpmeName=orphan,otpmeName=broken,"+users))
	assert.False(t, e.dir.has("otpmeName=broken,"+users))
}

func TestDirObjects_UserByBindDN(t *testing.T) {
	e := newObjEnv(t)
	e.edit(t, mailSetup)
	e.edit(t, func(ctx context.Context, m *otpme.MemObjects) error {
		return errors.Join(m.AddUser(ctx, "comma"), m.SetUserBindDN(ctx, "comma", `cn=Doe\, John,ou=people,dc=example,dc=com`))
	})
	tests := []struct {
		dn   string
		want string
	}{
		{"uid=alice,ou=people,dc=example,dc=com", "alice"},
		{"UID=Alice,OU=People,DC=Example,DC=Com", "alice"},
		{"uid=alice, ou=people, dc=example, dc=com", "alice"},
		{"uid = alice,ou=people,dc=example,dc=com", "alice"},
		{`cn=doe\2C john,ou=people,dc=example,dc=com`, "comma"},
		{"uid=alice,ou=people,dc=example", ""},
		{"uid=bob,ou=people,dc=example,dc=com", ""},
		{"not a dn", ""},
		{"", ""},
	}
	for _, tt := range tests {
		u, ok, err := e.objs.UserByBindDN(e.ctx, tt.dn)
		require.NoError(t, err, tt.dn)
		assert.Equal(t, tt.want != "", ok, tt.dn)
		assert.Equal(t, tt.want, u.Name, tt.dn)
	}
}

func TestDirObjects_MatchClient(t *testing.T) {
	e := newObjEnv(t)
	e.edit(t, func(ctx context.Context, m *otpme.MemObjects) error {
		return errors.Join(
			m.AddClient(ctx, "wide"), m.AddClientAddress(ctx, "wide", "10.0.0.0/8"),
			m.AddClient(ctx, "narrow"), m.AddClientAddress(ctx, "narrow", "10.1.0.0/16"),
			m.AddClient(ctx, "b-host"), m.AddClientAddress(ctx, "b-host", "10.1.2.3"),
			m.AddClient(ctx, "a-host"), m.AddClientAddress(ctx, "a-host", "10.1.2.3"),
			m.AddClientAddress(ctx, "a-host", "2001:db8::/64"),
			m.AddClient(ctx, "anywhere"),
			m.AddClient(ctx, "Mail"), m.AddClientCertSubject(ctx, "Mail", "CN=mail.example.com,O=Example"),
			m.AddClientListener(ctx, "Mail", "127.0.0.1:1636"),
			m.SetClientEnabled(ctx, "Mail", false),
		)
	})
	tests := []struct {
		name string
		m    ClientMatch
		want string
	}{
		{"most-specific-wins", ClientMatch{IP: "10.1.9.9"}, "narrow"},
		{"tie-alphabetical", ClientMatch{IP: "10.1.2.3"}, "a-host"},
		{"v4-mapped", ClientMatch{IP: "::ffff:10.2.0.1"}, "wide"},
		{"v6", ClientMatch{IP: "2001:db8::42"}, "a-host"},
		{"no-address-matches-nothing", ClientMatch{IP: "192.0.2.1"}, ""},
		{"bad-ip", ClientMatch{IP: "nope"}, ""},
		{"cert-before-address", ClientMatch{CertSubject: "cn=Mail.Example.com, o=example", IP: "10.1.2.3"}, "Mail"},
		{"listener", ClientMatch{Listener: "127.0.0.1:1636", IP: "10.1.2.3"}, "Mail"},
		{"unknown-cert-falls-through", ClientMatch{CertSubject: "CN=other", IP: "10.1.9.9"}, "narrow"},
		{"marker-exact", ClientMatch{Marker: "wide"}, "wide"},
		{"marker-folded", ClientMatch{Marker: "mail"}, "Mail"},
		{"marker-only", ClientMatch{Marker: "nope", IP: "10.1.9.9"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.objs.MatchClient(e.ctx, tt.m)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	name, ok, err := e.objs.ClientByAddress(e.ctx, "10.200.0.1")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "wide", name)
	_, ok, err = e.objs.ClientByCert(e.ctx, "CN=unknown")
	require.NoError(t, err)
	assert.False(t, ok)
	name, _, err = e.objs.ClientByListener(e.ctx, "127.0.0.1:1636")
	require.NoError(t, err)
	assert.Equal(t, "Mail", name)
}

// objRevokeLog is an otpme.Revoker that records what it is asked, and
// checks that the directory already holds the edit when it is.
type objRevokeLog struct {
	mu    sync.Mutex
	objs  *DirObjects
	calls []string
}

func (r *objRevokeLog) DeleteSessions(_ context.Context, f otpme.SessionFilter) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("delete user=%t token=%t group=%t", f.User != "", f.Token != "", f.Group != ""))
	return 0, nil
}

func (r *objRevokeLog) Revalidate(ctx context.Context, user string) (int, error) {
	u, err := r.objs.User(ctx, user)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("revalidate %s enabled=%t err=%v", user, u.Enabled, err != nil))
	return 0, nil
}

func TestDirObjects_RevokerSeesTheEdit(t *testing.T) {
	e := newObjEnv(t)
	e.edit(t, mailSetup)
	_, err := e.objs.User(e.ctx, "alice")
	require.NoError(t, err)
	r := &objRevokeLog{objs: e.objs}
	e.objs.SetRevoker(r)
	e.edit(t, func(ctx context.Context, m *otpme.MemObjects) error { return m.SetUserEnabled(ctx, "alice", false) })
	e.edit(t, func(ctx context.Context, m *otpme.MemObjects) error { return m.DelToken(ctx, "alice", "phone") })
	assert.Equal(t, []string{"revalidate alice enabled=false err=false", "delete user=false token=true group=false"}, r.calls)
}

func TestPlanObjEdit(t *testing.T) {
	ctx := context.Background()
	base := "ou=o,dc=x"
	users := "ou=users," + base
	n := 0
	newID := func() string { n++; return fmt.Sprint("id", n) }
	tests := []struct {
		name string
		edit func(m *otpme.MemObjects) error
		want []string
	}{
		{"nothing", func(*otpme.MemObjects) error { return nil }, []string{}},
		{"rename-chain", func(m *otpme.MemObjects) error {
			return errors.Join(m.RenameUser(ctx, "b", "c"), m.RenameUser(ctx, "a", "b"))
		}, []string{
			"rename otpmeName=b," + users + " -> otpmeName=ldapotp-rename-id1",
			"rename otpmeName=a," + users + " -> otpmeName=b",
			"rename otpmeName=ldapotp-rename-id1," + users + " -> otpmeName=c",
		}},
		{"token-of-renamed-user", func(m *otpme.MemObjects) error {
			return m.RenameUser(ctx, "a", "z")
		}, []string{
			"rename otpmeName=a," + users + " -> otpmeName=z",
		}},
		{"renamed-token-of-renamed-user", func(m *otpme.MemObjects) error {
			return errors.Join(m.RenameUser(ctx, "a,1", "z"), m.RenameToken(ctx, "z", "t", "u"), m.SetTokenDescription(ctx, "z", "u", "d"))
		}, []string{
			`rename otpmeName=a\,1,` + users + " -> otpmeName=z",
			"rename otpmeName=t,otpmeName=z," + users + " -> otpmeName=u",
			"modify otpmeName=u,otpmeName=z," + users + " [otpmeDescription]",
		}},
		{"add-token", func(m *otpme.MemObjects) error { return m.AddOATHToken(ctx, "b", "k", otpme.TokenTOTP, "cn=k") }, []string{
			"create container ou=users," + base, "create container ou=groups," + base,
			"create container ou=clients," + base, "create container ou=state," + base,
			"add otpmeName=k,otpmeName=b," + users + " [objectClass otpmeEnabled otpmeID otpmeName otpmeOATHToken otpmeTokenType]",
		}},
		{"client-rename-and-change", func(m *otpme.MemObjects) error {
			return errors.Join(m.RenameClient(ctx, "c", "d"), m.SetClientDescription(ctx, "d", "x"))
		}, []string{
			"delete otpmeName=c,ou=clients," + base,
			"create container ou=users," + base, "create container ou=groups," + base,
			"create container ou=clients," + base, "create container ou=state," + base,
			"add otpmeName=d,ou=clients," + base + " [objectClass otpmeDescription otpmeEnabled otpmeID otpmeName otpmeTrustCheck]",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n = 0
			m := otpme.NewMemObjects()
			require.NoError(t, errors.Join(m.AddUser(ctx, "a"), m.AddUser(ctx, "b"), m.AddUser(ctx, "a,1"),
				m.AddMOTPToken(ctx, "a,1", "t", nil, nil), m.AddMOTPToken(ctx, "a", "t", nil, nil), m.AddClient(ctx, "c")))
			tree := planTree(t, m, base)
			next, err := otpme.NewMemObjectsFrom(tree.snap)
			require.NoError(t, err)
			require.NoError(t, tt.edit(next))
			assert.Equal(t, tt.want, planOps(planObjEdit(tree, next.Snapshot(), base, newID)))
		})
	}
}

package test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/otpme/guidetest"
	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// guideClients are the source addresses of the guide's clients: one
// loopback address each, so that the proxy tells them apart exactly as in
// production. cyrus-imap is roundcube renamed (guide line 574): the
// renamed client gets cyrus-imap's address.
var guideClients = map[string]string{
	"linksys1":   "127.0.0.2",
	"roundcube":  "127.0.0.3",
	"cyrus-imap": "127.0.0.4",
	"postfix":    "127.0.0.5",
}

// guideNoClient is where the guide's requests without a client come from:
// no client lists it.
const guideNoClient = "127.0.0.250"

// guideUsers are the guide's users; each has a directory account.
var guideUsers = []string{"testuser1", "testuser2", "spam"}

func guideUserDN(name string) string { return "uid=" + name + ",ou=people,dc=example,dc=com" }

// TestWalkthrough replays the OTPme guide (otpme/guidetest) through real
// binds: the OTPme objects live in slapd (proxy.DirObjects), sessions and
// fail counters too (proxy.DirStore), every "otpme-auth verify" is a
// simple bind to the proxy from the client's own loopback address, and
// its Accept/Reject, event and trace are read from the bind's answer and
// the proxy's log.
func TestWalkthrough(t *testing.T) {
	n := guidetest.Run(t, newLDAPGuide(t))
	t.Logf("%d of the guide's %d commands reproduced through LDAP binds, %d not: %v", n, guidetest.GuideCommands,
		len(guidetest.NotReproduced), guidetest.NotReproduced)
}

// ldapGuide is the guidetest.Backend of the proxy in front of slapd. The
// walk's admin commands run inside DirObjects.Edit, as an admin tool's
// would: an edit is held open between two binds, and the next
// verification (or show command) writes it to the directory.
type ldapGuide struct {
	clock   *guidetest.Clock
	dir     *proxy.DirObjects
	engines map[bool]*otpme.Engine // by ALLOW_GROUP_MISSING
	proxies map[bool]*runningProxy // one per engine: otpme.conf edited, proxy restarted
	allow   bool
	edit    *openEdit
}

var _ guidetest.Backend = (*ldapGuide)(nil)

func newLDAPGuide(t *testing.T) *ldapGuide {
	t.Helper()
	s := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true, Schemas: []string{"schema/otpme.schema"}})
	admin := s.Admin(t)
	for _, u := range guideUsers {
		req := ldap.NewAddRequest(guideUserDN(u), nil)
		req.Attribute("objectClass", []string{"inetOrgPerson"})
		req.Attribute("uid", []string{u})
		req.Attribute("cn", []string{u})
		req.Attribute("sn", []string{u})
		require.NoError(t, admin.Add(req), "add %s", u)
	}
	target, err := proxy.ParseTarget(s.URL)
	require.NoError(t, err)
	pool := proxy.NewServiceDirectory(target, s.ServiceDN, proxy.NewSecret([]byte(s.ServicePassword)), 4, 10*time.Second)
	t.Cleanup(pool.Close)
	base := "ou=otpme," + s.BaseDN
	b := &ldapGuide{clock: guidetest.NewClock(), engines: map[bool]*otpme.Engine{}, proxies: map[bool]*runningProxy{},
		dir: proxy.NewDirObjects(proxy.ServiceObjectDirectory(pool), base, 100*time.Millisecond, nil, nil)}
	store := proxy.NewDirStore(pool, base)
	for _, allow := range []bool{false, true} {
		b.engines[allow], err = otpme.New(otpme.Config{Objects: b.dir, Store: store, OATH: proxy.OATHFromBind{},
			Key: guidetest.Key, Now: b.clock.Now, AllowGroupMissing: allow})
		require.NoError(t, err)
		b.proxies[allow] = startProxyOpts(t, s, []proxy.Option{proxy.WithOTPme(b.engines[allow], b.dir)})
	}
	b.dir.SetRevoker(b.engines[b.allow])
	b.edit = openEditOf(t, b.dir)
	t.Cleanup(func() { // before the proxies and slapd stop
		if b.edit != nil {
			assert.NoError(t, b.edit.close(false))
		}
	})
	return b
}

// Objects implements guidetest.Backend: the open edit's objects (empty
// ones if no edit could be opened: the step that tried has failed).
func (b *ldapGuide) Objects() *otpme.MemObjects {
	if b.edit == nil {
		return otpme.NewMemObjects()
	}
	return b.edit.objs
}

// Engine implements guidetest.Backend: the proxy's engine, once the open
// edit is in the directory.
func (b *ldapGuide) Engine(t *testing.T) *otpme.Engine {
	t.Helper()
	b.sync(t)
	return b.engines[b.allow]
}

// Clock implements guidetest.Backend.
func (b *ldapGuide) Clock() *guidetest.Clock { return b.clock }

// SetAllowGroupMissing implements guidetest.Backend: the binds go to the
// proxy whose engine has the setting, over the same objects, store and
// clock.
func (b *ldapGuide) SetAllowGroupMissing(_ *testing.T, on bool) {
	b.allow = on
	b.dir.SetRevoker(b.engines[on])
}

// ClientIP implements guidetest.Backend.
func (b *ldapGuide) ClientIP(client string) string {
	if client == "" {
		return guideNoClient
	}
	return guideClients[client]
}

// Verify implements guidetest.Backend: a simple bind as the user's
// directory account from the client's address. The answer says Accept (0)
// or Reject (49); the event and the trace are the proxy's log lines of
// that connection.
func (b *ldapGuide) Verify(t *testing.T, user string, pw otpme.Secret, client string) otpme.Result {
	t.Helper()
	b.sync(t)
	p := b.proxies[b.allow]
	registerSecret(string(pw))
	mark := len(p.Log.String())
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(b.ClientIP(client))}}
	nc, err := d.Dial("tcp", strings.TrimPrefix(p.URL, "ldap://"))
	require.NoError(t, err)
	c := ldap.NewConn(nc, false)
	c.Start()
	c.SetTimeout(10 * time.Second)
	defer c.Close()
	code := resultCode(c.Bind(guideUserDN(user), string(pw)))
	if code != 0 && code != 49 {
		t.Fatalf("bind of %s from %s answered %d, not 0 (Accept) or 49 (Reject)", user, client, code)
	}
	r := bindResult(t, p.Log.String()[mark:], nc.LocalAddr().String())
	r.OK = code == 0
	return r
}

// bindResult reads the event and the trace of the one bind of the
// connection from source out of the proxy's log.
func bindResult(t *testing.T, log, source string) otpme.Result {
	t.Helper()
	var r otpme.Result
	events := 0
	for _, line := range strings.Split(log, "\n") {
		f := logFields(line)
		switch {
		case f["client"] != source:
		case f["msg"] == "otpme":
			r.Trace = append(r.Trace, f["line"])
		case f["otpme"] != "":
			events++
			r.Event = parseEvent(t, f["otpme"])
			assert.Equal(t, string(r.Event.Code), f["event"], "the bind's event= is its AUTH_* code")
		}
	}
	require.Equal(t, 1, events, "one OTPme event line for the bind from %s; log:\n%s", source, log)
	return r
}

// logFields splits a log line of slog's text handler (or an event line
// without its code) into its key=value pairs, quoted values unquoted.
func logFields(line string) map[string]string {
	out := map[string]string{}
	for rest := strings.TrimSpace(line); rest != ""; rest = strings.TrimLeft(rest, " ") {
		key, val, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		if q, err := strconv.QuotedPrefix(val); err == nil {
			rest = val[len(q):]
			val, _ = strconv.Unquote(q)
		} else {
			val, rest, _ = strings.Cut(val, " ")
		}
		out[key] = val
	}
	return out
}

// parseEvent reads an event line (otpme.Event.String) back.
func parseEvent(t *testing.T, s string) otpme.Event {
	t.Helper()
	code, rest, ok := strings.Cut(s, ": ")
	require.True(t, ok, "event line %q", s)
	f := logFields(rest)
	e := otpme.Event{Code: otpme.EventCode(code), User: f["user"], Token: f["token"], AccessGroup: f["access_group"],
		Client: f["client"], ClientIP: f["client_ip"], AuthType: f["auth_type"], Session: f["session"]}
	require.Equal(t, s, e.String(), "the event line reads back whole")
	return e
}

// sync writes the open edit to the directory, waits until the proxies'
// objects show it, and opens the next edit. Before writing, it gives each
// user its directory account (BindDN) and each client its address.
func (b *ldapGuide) sync(t *testing.T) {
	t.Helper()
	require.NotNil(t, b.edit, "an open edit (opening the last one failed)")
	m := b.edit.objs
	b.place(t, m)
	want := m.Snapshot()
	err := b.edit.close(true)
	b.edit = nil
	b.edit = openEditOf(t, b.dir)
	require.NoError(t, err, "write the admin commands to the directory")
	waitFor(t, "the proxy's objects show the admin commands", func() bool {
		s, err := b.dir.Snapshot(context.Background())
		return err == nil && fmt.Sprintf("%+v", s) == fmt.Sprintf("%+v", want)
	})
}

// place sets what the guide leaves to the host: the directory account of
// each user, and the one address of each client (the address follows the
// client's name, so a renamed client moves).
func (b *ldapGuide) place(t *testing.T, m *otpme.MemObjects) {
	t.Helper()
	ctx := context.Background()
	users, err := m.Users(ctx)
	require.NoError(t, err)
	for _, u := range users {
		if u.BindDN == "" {
			require.NoError(t, m.SetUserBindDN(ctx, u.Name, guideUserDN(u.Name)))
		}
	}
	clients, err := m.Clients(ctx)
	require.NoError(t, err)
	for _, c := range clients {
		ip := b.ClientIP(c.Name)
		for _, p := range c.Addresses {
			if p.Addr().String() != ip || !p.IsSingleIP() {
				require.NoError(t, m.RemoveClientAddress(ctx, c.Name, p.String()))
			}
		}
		if ip != "" {
			require.NoError(t, m.AddClientAddress(ctx, c.Name, ip))
		}
	}
}

// openEdit is a DirObjects.Edit held open: its MemObjects was loaded from
// the directory, and close writes what was done to it (or nothing).
type openEdit struct {
	objs   *otpme.MemObjects
	commit chan bool
	done   chan error
}

var errEditAbandoned = errors.New("edit abandoned")

func openEditOf(t *testing.T, dir *proxy.DirObjects) *openEdit {
	t.Helper()
	e := &openEdit{commit: make(chan bool), done: make(chan error, 1)}
	ready := make(chan *otpme.MemObjects)
	go func() {
		e.done <- dir.Edit(context.Background(), func(m *otpme.MemObjects) error {
			ready <- m
			if !<-e.commit {
				return errEditAbandoned
			}
			return nil
		})
	}()
	select {
	case e.objs = <-ready:
	case err := <-e.done:
		t.Fatalf("open an edit of the OTPme objects: %v", err)
	}
	return e
}

// close writes the edit (commit) or abandons it, and returns Edit's
// error.
func (e *openEdit) close(commit bool) error {
	e.commit <- commit
	err := <-e.done
	if !commit && errors.Is(err, errEditAbandoned) {
		return nil
	}
	return err
}

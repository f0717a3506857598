package proxy

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/schema"
)

// ObjectDirectory is what DirObjects needs of the directory: one subtree
// search and the four writes, done as the proxy's service account.
// Errors must keep the LDAP result code (ldap.IsErrorWithCode), and an
// unreachable directory wraps ErrUnavailable. ServiceObjectDirectory
// adapts the service account's pool.
type ObjectDirectory interface {
	// SearchSubtree returns the entries of the subtree at base (base
	// included) matching filter, with attrs, in pages if the server
	// supports it.
	SearchSubtree(ctx context.Context, base, filter string, attrs []string) ([]schema.Entry, error)
	// Add, Modify, Del and ModifyDN send one request each.
	Add(ctx context.Context, req *ldap.AddRequest) error
	Modify(ctx context.Context, req *ldap.ModifyRequest) error
	Del(ctx context.Context, req *ldap.DelRequest) error
	ModifyDN(ctx context.Context, req *ldap.ModifyDNRequest) error
}

// objPageSize is the page size of the loader's search (RFC 2696).
const objPageSize = 500

// ServiceObjectDirectory returns the ObjectDirectory of d, the service
// account's connection pool. A search that fails on a broken connection is
// tried once more on a fresh one; writes are never retried.
func ServiceObjectDirectory(d *ServiceDirectory) ObjectDirectory { return serviceObjectDir{d} }

// serviceObjectDir is the ObjectDirectory of a ServiceDirectory.
type serviceObjectDir struct{ d *ServiceDirectory }

// SearchSubtree implements ObjectDirectory.
func (s serviceObjectDir) SearchSubtree(ctx context.Context, base, filter string, attrs []string) ([]schema.Entry, error) {
	var res *ldap.SearchResult
	var err error
	for range 2 {
		var c *ldap.Conn
		if c, err = s.d.conn(ctx); err != nil {
			break
		}
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil)
		if res, err = c.SearchWithPaging(req, objPageSize); !ldap.IsErrorWithCode(err, ldap.ErrorNetwork) {
			break
		}
	}
	if err != nil {
		return nil, classify(err, fmt.Sprintf("search %q", base))
	}
	out := make([]schema.Entry, len(res.Entries))
	for i, e := range res.Entries {
		out[i] = toEntry(e)
	}
	return out, nil
}

// Add implements ObjectDirectory.
func (s serviceObjectDir) Add(ctx context.Context, req *ldap.AddRequest) error {
	return s.write(ctx, "add", req.DN, func(c *ldap.Conn) error { return c.Add(req) })
}

// Modify implements ObjectDirectory.
func (s serviceObjectDir) Modify(ctx context.Context, req *ldap.ModifyRequest) error {
	return s.write(ctx, "modify", req.DN, func(c *ldap.Conn) error { return c.Modify(req) })
}

// Del implements ObjectDirectory.
func (s serviceObjectDir) Del(ctx context.Context, req *ldap.DelRequest) error {
	return s.write(ctx, "delete", req.DN, func(c *ldap.Conn) error { return c.Del(req) })
}

// ModifyDN implements ObjectDirectory.
func (s serviceObjectDir) ModifyDN(ctx context.Context, req *ldap.ModifyDNRequest) error {
	return s.write(ctx, "rename", req.DN, func(c *ldap.Conn) error { return c.ModifyDN(req) })
}

// write runs op on a pooled connection.
func (s serviceObjectDir) write(ctx context.Context, what, dn string, op func(*ldap.Conn) error) error {
	c, err := s.d.conn(ctx)
	if err == nil {
		err = op(c)
	}
	return classify(err, fmt.Sprintf("%s %q", what, dn))
}

// DirObjects is the otpme.Objects of a proxy whose OTPme objects live in
// the directory under one container (config otpme_base). Reads are served
// from an in-memory snapshot of the whole container, loaded with one
// subtree search; a read finding it older than the refresh interval
// reloads it first (one load at a time, shared by all concurrent readers),
// so every proxy sees an edit within the refresh interval. If a reload
// fails, the last good snapshot is served for up to 10 refresh intervals
// after it was loaded; after that (and before the first successful load)
// reads return the error, so that the engine refuses logins. An entry that
// cannot be decoded is left out of the snapshot and logged (once per
// distinct problem); it never fails the load.
//
// Edits go through Edit, with the otpme.MemObjects admin verbs. DirObjects
// also implements OTPmeDirectory (bind DN to user, connection to client).
// It is safe for concurrent use.
type DirObjects struct {
	dir      ObjectDirectory
	base     string
	refresh  time.Duration
	maxStale time.Duration
	now      func() time.Time
	log      *slog.Logger
	rand     io.Reader

	editMu sync.Mutex // one Edit at a time in this process

	mu        sync.Mutex
	view      *objView // last good snapshot, nil before the first load
	loadedAt  time.Time
	gen       uint64 // counts Edits; a view or load of an older generation predates an edit
	viewGen   uint64
	lastErr   error // of the last load, nil if it succeeded
	failedAt  time.Time
	failedGen uint64
	flight    *objFlight
	problems  map[string]string // entry problems of the last load (logged once)
	revoker   otpme.Revoker
}

var (
	_ otpme.Objects            = (*DirObjects)(nil)
	_ otpme.AccessGroupsSource = (*DirObjects)(nil)
	_ OTPmeDirectory           = (*DirObjects)(nil)
)

// DefaultObjectsRefresh is the refresh interval of DirObjects when none
// is given.
const DefaultObjectsRefresh = 5 * time.Second

// Timing of DirObjects' loads.
const (
	objStaleFactor = 10               // serve a snapshot this many refresh intervals after it was loaded
	objLoadTimeout = 30 * time.Second // one load, whoever waits for it
	objMaxRetry    = time.Second      // after a failed load, try again no sooner than min(this, refresh)
	objWaitStale   = time.Second      // a reader that has a servable snapshot waits this long for a reload
)

// NewDirObjects returns the objects under the container base of dir.
// refresh is the longest a snapshot is used without reloading (0:
// DefaultObjectsRefresh); now is the clock (nil: time.Now); log receives
// load failures and invalid entries (nil: discarded). Nothing is read
// until the first call.
func NewDirObjects(dir ObjectDirectory, base string, refresh time.Duration, now func() time.Time, log *slog.Logger) *DirObjects {
	if refresh <= 0 {
		refresh = DefaultObjectsRefresh
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DirObjects{dir: dir, base: base, refresh: refresh, maxStale: objStaleFactor * refresh,
		now: now, log: log, rand: rand.Reader, problems: map[string]string{}}
}

// Base returns the DN of the container.
func (d *DirObjects) Base() string { return d.base }

// SetRevoker sets who ends sessions after an Edit that takes something
// away (usually the otpme.Engine that reads these objects); nil turns it
// off. See Edit.
func (d *DirObjects) SetRevoker(r otpme.Revoker) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.revoker = r
}

// User implements otpme.Objects.
func (d *DirObjects) User(ctx context.Context, name string) (otpme.User, error) {
	v, err := d.current(ctx)
	if err != nil {
		return otpme.User{}, err
	}
	return v.objs.User(ctx, name)
}

// Tokens implements otpme.Objects.
func (d *DirObjects) Tokens(ctx context.Context, user string) ([]otpme.Token, error) {
	v, err := d.current(ctx)
	if err != nil {
		return nil, err
	}
	return v.objs.Tokens(ctx, user)
}

// Groups implements otpme.Objects.
func (d *DirObjects) Groups(ctx context.Context) ([]otpme.Group, error) {
	v, err := d.current(ctx)
	if err != nil {
		return nil, err
	}
	return v.objs.Groups(ctx)
}

// AccessGroups implements otpme.AccessGroupsSource: the graph of the
// current snapshot, built once per snapshot.
func (d *DirObjects) AccessGroups(ctx context.Context) (*otpme.AccessGroups, error) {
	v, err := d.current(ctx)
	if err != nil {
		return nil, err
	}
	return v.objs.AccessGroups(ctx)
}

// Client implements otpme.Objects.
func (d *DirObjects) Client(ctx context.Context, name string) (otpme.Client, error) {
	v, err := d.current(ctx)
	if err != nil {
		return otpme.Client{}, err
	}
	c, err := v.objs.Client(ctx, name)
	c.CertSubjects, c.Listeners = slices.Clone(c.CertSubjects), slices.Clone(c.Listeners)
	return c, err
}

// Snapshot returns every object of the current snapshot (a deep copy),
// for listings ("user show", "client show").
func (d *DirObjects) Snapshot(ctx context.Context) (otpme.Snapshot, error) {
	v, err := d.current(ctx)
	if err != nil {
		return otpme.Snapshot{}, err
	}
	return v.objs.Snapshot(), nil
}

// UserByBindDN implements OTPmeDirectory: the user whose otpmeBindDN is
// dn, compared as DNs with types and values case-insensitive (spacing,
// escaping and case do not matter). ok is false if there is none or dn is
// not a DN.
func (d *DirObjects) UserByBindDN(ctx context.Context, dn string) (otpme.User, bool, error) {
	v, err := d.current(ctx)
	if err != nil {
		return otpme.User{}, false, err
	}
	key, err := canonicalDN(dn)
	if err != nil {
		return otpme.User{}, false, nil
	}
	name, ok := v.byBindDN[key]
	if !ok {
		return otpme.User{}, false, nil
	}
	u, err := v.objs.User(ctx, name)
	return u, err == nil, err
}

// ResemblesBindDN implements OTPmeDirectory: dn's values (valuesKey) are
// those of a loaded OTPme user's bind DN (resembles), or of one whose entry
// was left out as invalid (broken).
func (d *DirObjects) ResemblesBindDN(ctx context.Context, dn string) (resembles, broken bool, err error) {
	v, err := d.current(ctx)
	if err != nil {
		return false, false, err
	}
	var buf [256]byte
	key := appendValuesKey(buf[:0], dn)
	return v.resembled[string(key)], v.broken[string(key)], nil // lookups by string(bytes) do not allocate
}

// MatchClient implements OTPmeDirectory. A marker names a client exactly,
// or else case-insensitively; otherwise the certificate subject, the
// listener and the source address are tried in this order, each as in
// ClientByCert, ClientByListener and ClientByAddress. Disabled clients
// match too (the engine refuses them).
func (d *DirObjects) MatchClient(ctx context.Context, m ClientMatch) (string, error) {
	v, err := d.current(ctx)
	if err != nil {
		return "", err
	}
	if m.Marker != "" {
		return v.clientByName(m.Marker), nil
	}
	for _, name := range []string{v.clientByCert(m.CertSubject), v.clientByListener(m.Listener), v.clientByAddress(m.IP)} {
		if name != "" {
			return name, nil
		}
	}
	return "", nil
}

// ClientByCert returns the client with the TLS client certificate subject
// subject (compared as a DN, case-insensitively; a subject that is no DN
// as a case-insensitive string). Several: the first by name.
func (d *DirObjects) ClientByCert(ctx context.Context, subject string) (string, bool, error) {
	return d.lookup(ctx, func(v *objView) string { return v.clientByCert(subject) })
}

// ClientByListener returns the client of the listener address addr
// (host:port; IP addresses compared as addresses). Several: the first by
// name.
func (d *DirObjects) ClientByListener(ctx context.Context, addr string) (string, bool, error) {
	return d.lookup(ctx, func(v *objView) string { return v.clientByListener(addr) })
}

// ClientByAddress returns the client one of whose addresses contains the
// IP address ip: the most specific prefix wins, and of equally specific
// ones the client first by name. Clients without addresses (which allow
// any) do not match.
func (d *DirObjects) ClientByAddress(ctx context.Context, ip string) (string, bool, error) {
	return d.lookup(ctx, func(v *objView) string { return v.clientByAddress(ip) })
}

func (d *DirObjects) lookup(ctx context.Context, f func(*objView) string) (string, bool, error) {
	v, err := d.current(ctx)
	if err != nil {
		return "", false, err
	}
	name := f(v)
	return name, name != "", nil
}

// ---- the snapshot cache ----

// objFlight is one load, shared by the readers that wait for it.
type objFlight struct {
	gen  uint64
	done chan struct{}
	view *objView
	err  error
}

// current returns the snapshot to serve, reloading it first if it is older
// than the refresh interval or predates an Edit (see DirObjects).
func (d *DirObjects) current(ctx context.Context) (*objView, error) {
	d.mu.Lock()
	now := d.now()
	if d.view != nil && d.viewGen == d.gen && now.Sub(d.loadedAt) < d.refresh {
		v := d.view
		d.mu.Unlock()
		return v, nil
	}
	var f *objFlight
	if d.lastErr == nil || d.failedGen < d.gen || now.Sub(d.failedAt) >= min(d.refresh, objMaxRetry) {
		f = d.startLoad()
	}
	// Only a view that is merely old is worth serving rather than waiting.
	impatient := d.servable(now) != nil && d.viewGen == d.gen
	d.mu.Unlock()
	if f != nil {
		d.wait(ctx, f, impatient)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if v := d.servable(d.now()); v != nil {
		return v, nil
	}
	if d.lastErr != nil {
		return nil, fmt.Errorf("OTPme objects under %q: %w", d.base, d.lastErr)
	}
	return nil, fmt.Errorf("OTPme objects under %q: not loaded yet: %w", d.base, cmp.Or(context.Cause(ctx), ErrUnavailable))
}

// wait waits for f; an impatient reader (one with a snapshot to fall back
// on) waits only objWaitStale.
func (d *DirObjects) wait(ctx context.Context, f *objFlight, impatient bool) {
	var timeout <-chan time.Time
	if impatient {
		t := time.NewTimer(objWaitStale)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-f.done:
	case <-ctx.Done():
	case <-timeout:
	}
}

// servable returns the snapshot if it may still be served at now. The
// caller holds d.mu.
func (d *DirObjects) servable(now time.Time) *objView {
	if d.view == nil || now.Sub(d.loadedAt) >= d.maxStale {
		return nil
	}
	return d.view
}

// startLoad returns the running load, or starts one. The caller holds
// d.mu.
func (d *DirObjects) startLoad() *objFlight {
	if d.flight != nil {
		return d.flight
	}
	f := &objFlight{gen: d.gen, done: make(chan struct{})}
	d.flight = f
	go d.runLoad(f)
	return f
}

// runLoad loads a snapshot and installs it (or records the failure).
func (d *DirObjects) runLoad(f *objFlight) {
	ctx, cancel := context.WithTimeout(context.Background(), objLoadTimeout)
	defer cancel()
	started := d.now()
	tree, problems, err := loadObjTree(ctx, d.dir, d.base)
	if err == nil {
		var more []error
		f.view, more, err = newObjView(tree)
		problems = append(problems, more...)
	}
	f.err = err
	d.mu.Lock()
	if d.flight == f {
		d.flight = nil
	}
	d.install(f, started, problems)
	d.mu.Unlock()
	close(f.done)
}

// install records the result of a load, unless a load started later was
// installed already. The caller holds d.mu.
func (d *DirObjects) install(f *objFlight, started time.Time, problems []error) {
	switch {
	case d.view != nil && (f.gen < d.viewGen || started.Before(d.loadedAt)):
		return
	case f.err != nil:
		if d.lastErr == nil {
			d.log.Warn("OTPme objects: load failed; serving the last snapshot while it is fresh enough",
				"base", d.base, "last_loaded", d.loadedAt, "err", f.err)
		}
		d.lastErr, d.failedAt, d.failedGen = f.err, d.now(), f.gen
		return
	case d.lastErr != nil:
		d.log.Info("OTPme objects: loaded again", "base", d.base)
	}
	d.view, d.loadedAt, d.viewGen, d.lastErr = f.view, started, f.gen, nil
	d.reportProblems(problems)
}

// reportProblems logs each invalid entry at error level when its problem
// is new, at debug level on later loads.
func (d *DirObjects) reportProblems(problems []error) {
	seen := make(map[string]string, len(problems))
	for _, p := range problems {
		msg := p.Error()
		level := slog.LevelError
		if _, old := d.problems[msg]; old {
			level = slog.LevelDebug
		}
		d.log.Log(context.Background(), level, "OTPme objects: entry skipped", "base", d.base, "err", p)
		seen[msg] = msg
	}
	d.problems = seen
}

// invalidate makes the next read reload, and not from a load that was
// under way already (it may have read the directory before the edit).
func (d *DirObjects) invalidate() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	d.flight = nil
}

// ---- loading ----

// objTree is one load of the container: the objects, and the DN of each
// (users, tokens and groups by ID, clients by name).
type objTree struct {
	snap     otpme.Snapshot
	userDN   map[string]string
	tokenDN  map[string]string
	groupDN  map[string]string
	clientDN map[string]string
	// brokenBindDNs are the bind DNs of user entries left out as invalid:
	// their binds are refused, not passed on without the second factor.
	brokenBindDNs []string
}

// loadObjTree reads every OTPme object under base with one subtree search.
// Entries that cannot be decoded, duplicates, and tokens whose user entry
// is not a valid user are returned as problems and left out.
func loadObjTree(ctx context.Context, dir ObjectDirectory, base string) (*objTree, []error, error) {
	entries, err := dir.SearchSubtree(ctx, base, objSearchFilter, objSearchAttrs)
	if err != nil {
		return nil, nil, fmt.Errorf("load OTPme objects: %w", err)
	}
	l := &objLoader{tree: &objTree{userDN: map[string]string{}, tokenDN: map[string]string{},
		groupDN: map[string]string{}, clientDN: map[string]string{}}, users: map[string]string{}, seen: map[string]bool{}}
	sorted := l.sortEntries(entries)
	for _, e := range sorted {
		l.entry(e, false)
	}
	for _, e := range sorted {
		l.entry(e, true)
	}
	return l.tree, l.problems, nil
}

// objLoader builds an objTree.
type objLoader struct {
	tree     *objTree
	users    map[string]string // canonical user DN -> user name
	seen     map[string]bool   // kind/name and kind#ID already loaded
	problems []error
	keys     map[string]string // DN -> canonical DN
}

// sortEntries orders the entries by canonical DN (so that of duplicates
// the same one always wins) and leaves out those whose DN cannot be parsed.
func (l *objLoader) sortEntries(entries []schema.Entry) []schema.Entry {
	l.keys = make(map[string]string, len(entries))
	out := make([]schema.Entry, 0, len(entries))
	for _, e := range entries {
		key, err := canonicalDN(e.DN)
		if err != nil {
			l.problems = append(l.problems, fmt.Errorf("entry %q: %w: %w", e.DN, errObjectEntry, err))
			continue
		}
		l.keys[e.DN] = key
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b schema.Entry) int { return strings.Compare(l.keys[a.DN], l.keys[b.DN]) })
	return out
}

// entry decodes e into the tree: tokens in the second pass, everything
// else in the first.
func (l *objLoader) entry(e schema.Entry, tokens bool) {
	kind := objKindOf(e)
	if (kind == objToken) != tokens {
		return
	}
	var err error
	switch kind {
	case objUser:
		err = l.user(e)
	case objToken:
		err = l.token(e)
	case objGroup:
		err = l.group(e)
	case objClient:
		err = l.client(e)
	}
	if err != nil {
		l.problems = append(l.problems, err)
	}
}

// claim records the name and ID of an object and fails for a duplicate.
func (l *objLoader) claim(e schema.Entry, kind, name, id string) error {
	if l.seen[kind+"/"+name] || (id != "" && l.seen[kind+"#"+id]) {
		return fmt.Errorf("entry %q: %w: a %s of that name or ID is loaded already", e.DN, errObjectEntry, kind)
	}
	l.seen[kind+"/"+name] = true
	if id != "" {
		l.seen[kind+"#"+id] = true
	}
	return nil
}

func (l *objLoader) user(e schema.Entry) error {
	u, err := decodeUser(e)
	if err == nil {
		err = l.claim(e, "user", u.Name, u.ID)
	}
	if err != nil {
		for _, dn := range e.Values(objAttrBindDN) {
			l.tree.brokenBindDNs = append(l.tree.brokenBindDNs, string(dn))
		}
		return err
	}
	l.tree.snap.Users = append(l.tree.snap.Users, u)
	l.tree.userDN[u.ID] = e.DN
	l.users[l.keys[e.DN]] = u.Name
	return nil
}

func (l *objLoader) token(e schema.Entry) error {
	_, parent := splitRDN(l.keys[e.DN])
	user, ok := l.users[parent]
	if !ok {
		return fmt.Errorf("entry %q: %w: its parent is not a valid OTPme user", e.DN, errObjectEntry)
	}
	t, err := decodeToken(e, user)
	if err == nil {
		err = l.claim(e, "token", user+"/"+t.Name, t.ID)
	}
	if err != nil {
		return err
	}
	l.tree.snap.Tokens = append(l.tree.snap.Tokens, t)
	l.tree.tokenDN[t.ID] = e.DN
	return nil
}

func (l *objLoader) group(e schema.Entry) error {
	g, err := decodeGroup(e)
	if err == nil {
		err = l.claim(e, "group", g.Name, g.ID)
	}
	if err != nil {
		return err
	}
	l.tree.snap.Groups = append(l.tree.snap.Groups, g)
	l.tree.groupDN[g.ID] = e.DN
	return nil
}

func (l *objLoader) client(e schema.Entry) error {
	c, err := decodeClient(e)
	if err == nil {
		err = l.claim(e, "client", c.Name, "")
	}
	if err != nil {
		return err
	}
	l.tree.snap.Clients = append(l.tree.snap.Clients, c)
	l.tree.clientDN[c.Name] = e.DN
	return nil
}

// ---- the served view ----

// objView is a loaded snapshot with the indexes of the proxy's lookups.
type objView struct {
	objs     *otpme.MemObjects
	byBindDN map[string]string // canonical bind DN -> user name
	// resembled and broken hold the valuesKey of every OTPme user's bind
	// DN, of the users loaded and of those left out as invalid.
	resembled  map[string]bool
	broken     map[string]bool
	names      []string          // client names, sorted
	byCert     map[string]string // canonical subject -> client name
	byListener map[string]string // normalized listener -> client name
	prefixes   []objClientPrefix // most specific first, then by client name
}

type objClientPrefix struct {
	prefix netip.Prefix
	client string
}

// newObjView builds the view of a tree. Two users with one bind DN are a
// problem: the first by name keeps it.
func newObjView(tree *objTree) (*objView, []error, error) {
	objs, err := otpme.NewMemObjectsFrom(tree.snap)
	if err != nil {
		return nil, nil, fmt.Errorf("load OTPme objects: %w", err)
	}
	v := &objView{objs: objs, byBindDN: map[string]string{}, resembled: map[string]bool{}, broken: map[string]bool{},
		byCert: map[string]string{}, byListener: map[string]string{}}
	var problems []error
	for _, u := range tree.snap.Users { // sorted by name
		if err := v.indexUser(u, tree.userDN[u.ID]); err != nil {
			problems = append(problems, err)
		}
	}
	for _, dn := range tree.brokenBindDNs {
		v.broken[valuesKey(dn)] = true
	}
	for _, c := range tree.snap.Clients { // sorted by name
		v.indexClient(c)
	}
	slices.SortStableFunc(v.prefixes, func(a, b objClientPrefix) int { return b.prefix.Bits() - a.prefix.Bits() })
	return v, problems, nil
}

func (v *objView) indexUser(u otpme.User, dn string) error {
	if u.BindDN == "" {
		return nil
	}
	key, err := canonicalDN(u.BindDN)
	if err != nil {
		v.broken[valuesKey(u.BindDN)] = true
		return fmt.Errorf("entry %q: %s: %w: %w", dn, objAttrBindDN, errObjectEntry, err)
	}
	v.resembled[valuesKey(u.BindDN)] = true
	if other, ok := v.byBindDN[key]; ok {
		return fmt.Errorf("entry %q: %w: %s %q is the bind DN of user %q already", dn, errObjectEntry, objAttrBindDN, u.BindDN, other)
	}
	v.byBindDN[key] = u.Name
	return nil
}

func (v *objView) indexClient(c otpme.Client) {
	v.names = append(v.names, c.Name)
	for _, s := range c.CertSubjects {
		addFirst(v.byCert, objSubjectKey(s), c.Name)
	}
	for _, l := range c.Listeners {
		addFirst(v.byListener, objListenerKey(l), c.Name)
	}
	for _, p := range c.Addresses {
		v.prefixes = append(v.prefixes, objClientPrefix{p, c.Name})
	}
}

// addFirst sets m[k] = v unless k is set.
func addFirst(m map[string]string, k, v string) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

// objSubjectKey is the comparison form of a certificate subject.
func objSubjectKey(s string) string {
	if key, err := canonicalDN(s); err == nil && s != "" {
		return key
	}
	return foldCase(strings.TrimSpace(s))
}

// objListenerKey is the comparison form of a listener address.
func objListenerKey(s string) string {
	if ap, err := netip.ParseAddrPort(strings.TrimSpace(s)); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
	}
	return foldCase(strings.TrimSpace(s))
}

func (v *objView) clientByName(name string) string {
	if _, ok := slices.BinarySearch(v.names, name); ok {
		return name
	}
	for _, n := range v.names {
		if strings.EqualFold(n, name) {
			return n
		}
	}
	return ""
}

func (v *objView) clientByCert(subject string) string {
	if subject == "" {
		return ""
	}
	return v.byCert[objSubjectKey(subject)]
}

func (v *objView) clientByListener(addr string) string {
	if addr == "" {
		return ""
	}
	return v.byListener[objListenerKey(addr)]
}

func (v *objView) clientByAddress(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	for _, p := range v.prefixes {
		if p.prefix.Contains(a) {
			return p.client
		}
	}
	return ""
}

// ---- editing ----

// Edit changes the OTPme objects in the directory with the admin verbs of
// otpme.MemObjects: it loads a fresh snapshot from the directory (not the
// cached one), runs f on a MemObjects holding it, and writes what f
// changed back — adds, modifies that replace the changed attributes,
// deletes (children before parents), renames as ModifyDN (a user's tokens
// move along) — creating the containers ou=users, ou=groups, ou=clients
// and ou=state under the base when anything is added. Then the cache is
// invalidated, so the next read reloads.
//
// If f returns an error, nothing is written and Edit returns it as is. A
// write that fails stops the edit with an error naming the DN; the writes
// before it stay (LDAP has no transactions).
//
// Concurrent edits are last-writer-wins: two admins (or proxies) editing
// at the same time each write their own difference, and the later write
// of an attribute wins. Within one DirObjects, edits run one at a time.
//
// Sessions: f's MemObjects records the revocations its verbs ask for
// (deleted users, tokens and groups; disabled ones; groups taken away).
// After the writes, Edit passes them to the Revoker set with SetRevoker,
// so that otpme.Engine.Revalidate reads the new objects.
func (d *DirObjects) Edit(ctx context.Context, f func(m *otpme.MemObjects) error) error {
	d.editMu.Lock()
	defer d.editMu.Unlock()
	tree, _, err := loadObjTree(ctx, d.dir, d.base)
	if err != nil {
		return err
	}
	m, err := otpme.NewMemObjectsFrom(tree.snap)
	if err != nil {
		return fmt.Errorf("edit OTPme objects: %w", err)
	}
	rec := &objRevocations{}
	m.SetRevoker(rec)
	if err := f(m); err != nil {
		return err
	}
	plan := planObjEdit(tree, m.Snapshot(), d.base, d.randomID)
	err = applyObjOps(ctx, d.dir, plan)
	d.invalidate()
	d.mu.Lock()
	r := d.revoker
	d.mu.Unlock()
	return errors.Join(err, rec.replay(ctx, r))
}

// randomID returns 32 random hex characters (crypto/rand never fails).
func (d *DirObjects) randomID() string {
	b := make([]byte, 16)
	_, _ = io.ReadFull(d.rand, b)
	return hex.EncodeToString(b)
}

// objRevocations records the calls of an otpme.Revoker during an edit, to
// be passed on once the directory holds the edit.
type objRevocations struct {
	mu      sync.Mutex
	filters []otpme.SessionFilter
	users   []string
}

// DeleteSessions implements otpme.Revoker.
func (r *objRevocations) DeleteSessions(_ context.Context, f otpme.SessionFilter) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.filters = append(r.filters, f)
	return 0, nil
}

// Revalidate implements otpme.Revoker.
func (r *objRevocations) Revalidate(_ context.Context, user string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.users, user) {
		r.users = append(r.users, user)
	}
	return 0, nil
}

// replay passes the recorded calls on to to (nothing if to is nil).
func (r *objRevocations) replay(ctx context.Context, to otpme.Revoker) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if to == nil {
		return nil
	}
	for _, f := range r.filters {
		if _, err := to.DeleteSessions(ctx, f); err != nil {
			return fmt.Errorf("edit written; delete sessions: %w", err)
		}
	}
	for _, u := range r.users {
		if _, err := to.Revalidate(ctx, u); err != nil {
			return fmt.Errorf("edit written; revalidate sessions of %q: %w", u, err)
		}
	}
	return nil
}

// applyObjOps sends the operations in order and stops at the first error.
func applyObjOps(ctx context.Context, dir ObjectDirectory, ops []objOp) error {
	for _, op := range ops {
		if err := applyObjOp(ctx, dir, op); err != nil {
			return fmt.Errorf("edit OTPme objects: %s %q: %w", op.kind, op.dn, err)
		}
	}
	return nil
}

func applyObjOp(ctx context.Context, dir ObjectDirectory, op objOp) error {
	switch op.kind {
	case objOpEnsure, objOpAdd:
		req := ldap.NewAddRequest(op.dn, nil)
		for _, name := range slices.Sorted(maps.Keys(op.attrs)) {
			req.Attribute(name, op.attrs[name])
		}
		err := dir.Add(ctx, req)
		if op.kind == objOpEnsure && ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			return nil
		}
		return err
	case objOpModify:
		req := ldap.NewModifyRequest(op.dn, nil)
		for _, name := range slices.Sorted(maps.Keys(op.attrs)) {
			req.Replace(name, op.attrs[name])
		}
		return dir.Modify(ctx, req)
	case objOpRename:
		return dir.ModifyDN(ctx, ldap.NewModifyDNRequest(op.dn, op.rdn, true, ""))
	case objOpDelete:
		return deleteObjTree(ctx, dir, op.dn)
	}
	return fmt.Errorf("unknown operation %d", op.kind)
}

// deleteObjTree deletes dn, and first its subtree if it has children
// (entries the loader did not know, such as invalid tokens).
func deleteObjTree(ctx context.Context, dir ObjectDirectory, dn string) error {
	err := dir.Del(ctx, ldap.NewDelRequest(dn, nil))
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultNotAllowedOnNonLeaf) {
		return err
	}
	entries, err := dir.SearchSubtree(ctx, dn, "(objectClass=*)", []string{"1.1"})
	if err != nil {
		return err
	}
	depth := func(e schema.Entry) int {
		p, err := ldap.ParseDN(e.DN)
		if err != nil {
			return len(e.DN)
		}
		return len(p.RDNs)
	}
	slices.SortStableFunc(entries, func(a, b schema.Entry) int { return depth(b) - depth(a) })
	for _, e := range entries {
		if err := dir.Del(ctx, ldap.NewDelRequest(e.DN, nil)); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return fmt.Errorf("delete %q: %w", e.DN, err)
		}
	}
	return nil
}

package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/ldapotp/ldapotp/schema"
)

// userIndex keeps the directory's OTP users (entries of class oathHOTPUser
// or oathTOTPUser) in memory, fed by one RFC 4533 refreshAndPersist search
// per naming context on a connection of the service account. With it a
// bind needs no read to learn whether its DN is an OTP user: a plain bind
// goes straight to the directory, an OTP bind goes straight to its token.
//
// The bases followed are user_index_bases, by default the naming contexts
// of the root DSE; a DN outside them is never answered "no".
//
// It follows the directory in one of two ways (userindex_poll.go says why
// polling is the default):
//
//   - polling: a refreshOnly synchronization of every base each interval,
//     with the cookie of the last one, so that the directory sends only what
//     changed. A change is in force after at most the interval plus one
//     poll. It needs the service account to be able to search entryCSN
//     under the bases; when it cannot, the index follows by the second way.
//   - persisting: one refreshAndPersist search per base. A change is in
//     force when slapd sends it, usually within a millisecond of the write,
//     but slapd then sends this search a message for every write to the
//     database, whatever its subtree.
//
// It answers only while it is fresh: every base refreshed and, polling, the
// last poll recent enough; persisting, every base in the persist phase and
// the connection answering probes. Otherwise, and for any DN it cannot key
// safely (dnkey.go), the bind reads its entry as without the index.
type userIndex struct {
	bases    []string // configured search bases; nil: the naming contexts
	target   Target
	dn       string
	password Secret
	timeout  time.Duration
	interval time.Duration // polling interval; 0: persist only
	log      *slog.Logger

	mu        sync.RWMutex
	live      bool
	mode      string    // "poll" or "persist": how the index follows now
	freshTill time.Time // polling: the index stops answering after this
	rules     namingRules
	byUUID    map[string]indexedUser
	byDN      map[string]string // exact DN as the directory sends it → entryUUID
	keys      map[string]int    // dnKey → OTP users with that key
	unkeyable int               // OTP users whose DN has no key: the index then never says "no"
	gen       uint64            // sync round; messages of an older round are ignored
	searched  []string          // the bases followed
	refreshed int               // bases whose refresh is done
	updates   uint64
}

type indexedUser struct {
	user  schema.User
	base  string // the followed base it came from
	key   string
	keyed bool
}

// Index tuning.
const (
	indexProbeInterval = 10 * time.Second // liveness probe on the sync connection
	indexRetryMin      = time.Second
	indexRetryMax      = 30 * time.Second
	indexRetryOff      = time.Minute // when the directory offers no sync
	indexBuffer        = 256         // sync messages queued per naming context
)

// userIndexFilter selects what slapo-otp intercepts (schema.DecodeUser).
var userIndexFilter = "(|(objectClass=" + schema.ClassHOTPUser + ")(objectClass=" + schema.ClassTOTPUser + "))"

// errNoSync: the directory cannot feed the index (no syncprov on a
// database, or a limit on the service account).
var errNoSync = errors.New("the directory offers no content synchronization here")

// newUserIndex returns an index that polls every interval, or persists
// when interval is 0.
func newUserIndex(bases []string, t Target, dn string, password Secret, timeout, interval time.Duration, log *slog.Logger) *userIndex {
	return &userIndex{bases: bases, target: t, dn: dn, password: password, timeout: timeout, interval: interval, log: log}
}

// lookup answers from the index. ok is false when the index cannot tell:
// the bind must read the entry. Otherwise u is the OTP user's entry, or nil
// when no OTP user has this DN.
func (x *userIndex) lookup(dn string) (u *schema.User, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.fresh() {
		return nil, false
	}
	if id, found := x.byDN[dn]; found {
		u := x.byUUID[id].user
		return &u, true
	}
	var buf [256]byte
	key, keyed := x.rules.appendDNKey(buf[:0], dn)
	if !keyed || x.keys[string(key)] > 0 || !x.covers(dn) {
		return nil, false // perhaps an OTP user under another spelling of its DN, or outside the bases
	}
	return nil, true
}

// covers reports whether dn is certainly inside one of the searched bases:
// it ends with the base exactly as written, after an unescaped comma.
func (x *userIndex) covers(dn string) bool {
	for _, base := range x.searched {
		if dn == base || isUnder(dn, base) {
			return true
		}
	}
	return false
}

func isUnder(dn, base string) bool {
	i := len(dn) - len(base) - 1
	if i < 1 || !strings.HasSuffix(dn, base) || dn[i] != ',' {
		return false
	}
	escapes := 0
	for j := i - 1; j >= 0 && dn[j] == '\\'; j-- {
		escapes++
	}
	return escapes%2 == 0
}

// fresh reports whether the index may answer; the caller holds mu.
func (x *userIndex) fresh() bool {
	return x.live && x.unkeyable == 0 && (x.freshTill.IsZero() || time.Now().Before(x.freshTill))
}

// IndexStats describe the user index.
type IndexStats struct {
	Live    bool   `json:"live"`    // answering binds
	Mode    string `json:"mode"`    // "poll" or "persist"; "" before the first connection
	Users   int    `json:"users"`   // OTP users held
	Updates uint64 `json:"updates"` // entries applied since start
}

func (x *userIndex) stats() IndexStats {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return IndexStats{Live: x.fresh(), Mode: x.mode, Users: len(x.byUUID), Updates: x.updates}
}

// run keeps the index fed until ctx ends, reconnecting with back-off.
func (x *userIndex) run(ctx context.Context) {
	wait, quiet := indexRetryMin, false
	for ctx.Err() == nil {
		start := time.Now()
		err := x.syncOnce(ctx)
		x.setLive(false)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errNoSync):
			if !quiet {
				x.log.Info("user index off: every bind reads its user entry (load syncprov on each database to turn it on)", "err", err)
			}
			wait, quiet = indexRetryOff, true
		default:
			x.log.Warn("user index: sync lost; binds read their user entry until it is back", "err", err)
			if time.Since(start) > indexRetryMax {
				wait = indexRetryMin
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if !errors.Is(err, errNoSync) {
			wait = min(wait*2, indexRetryMax)
		}
	}
}

// syncOnce connects, reads the naming contexts and the schema, and follows
// every base until the connection breaks or ctx ends: polling if it can,
// else persisting.
func (x *userIndex) syncOnce(ctx context.Context) error {
	c, err := x.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	contexts, rules, err := x.readDirectory(c)
	if err != nil {
		return err
	}
	if x.bases != nil {
		contexts = x.bases
	}
	if x.interval > 0 {
		err := x.poll(ctx, c, x.reset(rules, contexts, "poll"), contexts)
		if !errors.Is(err, errCannotPoll) {
			return err
		}
		x.log.Info("user index: following the directory with persistent searches instead of polling", "err", err)
	}
	return x.persist(ctx, c, x.reset(rules, contexts, "persist"), contexts)
}

// persist follows every base with a refreshAndPersist search until one
// ends or the probe fails.
func (x *userIndex) persist(ctx context.Context, c *ldap.Conn, gen uint64, contexts []string) error {
	c.SetTimeout(0) // the sync searches never end; the probe watches the connection
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(contexts)+1)
	for _, base := range contexts {
		go func() { errc <- x.follow(sctx, c, gen, base) }()
	}
	go func() { errc <- x.probe(sctx, c) }()
	return <-errc
}

func (x *userIndex) dial(ctx context.Context) (*ldap.Conn, error) {
	nc, err := x.target.Dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	c := ldap.NewConn(nc, x.target.IsTLS())
	c.Start()
	c.SetTimeout(x.timeout)
	if err := c.Bind(x.dn, string(x.password.Bytes())); err != nil {
		c.Close()
		return nil, fmt.Errorf("bind as service account %q: %w", x.dn, err)
	}
	return c, nil
}

// readDirectory returns the naming contexts of the root DSE and the naming
// rules of the subschema.
func (x *userIndex) readDirectory(c *ldap.Conn) ([]string, namingRules, error) {
	root, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"namingContexts", "subschemaSubentry"}, nil))
	if err != nil || len(root.Entries) != 1 {
		return nil, namingRules{}, fmt.Errorf("read the root DSE: %w", err)
	}
	contexts := root.Entries[0].GetAttributeValues("namingContexts")
	if len(contexts) == 0 {
		return nil, namingRules{}, fmt.Errorf("%w: the root DSE lists no naming contexts", errNoSync)
	}
	sub := root.Entries[0].GetAttributeValue("subschemaSubentry")
	if sub == "" {
		sub = "cn=Subschema"
	}
	res, err := c.Search(ldap.NewSearchRequest(sub, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=subschema)", []string{"attributeTypes"}, nil))
	if err != nil || len(res.Entries) != 1 {
		return nil, namingRules{}, fmt.Errorf("read the subschema %q: %w", sub, err)
	}
	return contexts, parseNamingRules(res.Entries[0].GetAttributeValues("attributeTypes")), nil
}

// follow runs the sync search of one naming context and applies what it
// sends; it returns when the search ends.
func (x *userIndex) follow(ctx context.Context, c *ldap.Conn, gen uint64, base string) error {
	req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		userIndexFilter, schema.UserAttributes, nil)
	r := c.Syncrepl(ctx, req, indexBuffer, ldap.SyncRequestModeRefreshAndPersist, nil, false)
	for r.Next() {
		if e := r.Entry(); e != nil {
			if _, err := x.applyEntry(gen, base, e, r.Controls()); err != nil {
				return fmt.Errorf("sync of %q: %w", base, err)
			}
			continue
		}
		for _, ctl := range r.Controls() {
			if info, ok := ctl.(*ldap.ControlSyncInfo); ok {
				x.applyInfo(gen, base, info)
			}
		}
	}
	if err := r.Err(); err != nil {
		return syncError(base, err)
	}
	return fmt.Errorf("sync of %q ended", base)
}

// syncError words a failed sync search of base; errNoSync when the
// directory will not sync it at all.
func syncError(base string, err error) error {
	if ldap.IsErrorAnyOf(err, ldap.LDAPResultUnavailableCriticalExtension, ldap.LDAPResultUnwillingToPerform,
		ldap.LDAPResultSizeLimitExceeded, ldap.LDAPResultAdminLimitExceeded, ldap.LDAPResultInsufficientAccessRights,
		ldap.LDAPResultProtocolError) {
		return fmt.Errorf("%w: sync of %q: %w", errNoSync, base, err)
	}
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return fmt.Errorf("%w: the service account cannot read the base entry %q (set user_index_bases): %w",
			errNoSync, base, err)
	}
	return fmt.Errorf("sync of %q: %w", base, err)
}

// probe asks the directory who the connection is bound as, every
// indexProbeInterval; a connection that does not answer within the
// timeout is closed, which ends the sync searches.
func (x *userIndex) probe(ctx context.Context, c *ldap.Conn) error {
	t := time.NewTicker(indexProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		done := make(chan error, 1)
		go func() { _, err := c.WhoAmI(nil); done <- err }()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("probe: %w", err)
			}
		case <-time.After(x.timeout):
			c.Close()
			return fmt.Errorf("probe: no answer within %v", x.timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// reset empties the index before a new refresh and returns the new round:
// the searches of an earlier round may still deliver buffered messages,
// which must not land in this one.
func (x *userIndex) reset(rules namingRules, bases []string, mode string) uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.gen++
	x.live, x.rules, x.searched, x.refreshed, x.unkeyable = false, rules, bases, 0, 0
	x.mode, x.freshTill = mode, time.Time{}
	x.byUUID, x.byDN, x.keys = map[string]indexedUser{}, map[string]string{}, map[string]int{}
	return x.gen
}

func (x *userIndex) setLive(live bool) {
	x.mu.Lock()
	x.live = live
	x.mu.Unlock()
}

// applyEntry applies one entry of the sync stream of base (add, modify,
// delete or present; RFC 4533 §3.4) and returns its entryUUID unless it was
// a delete.
func (x *userIndex) applyEntry(gen uint64, base string, e *ldap.Entry, controls []ldap.Control) (string, error) {
	var state *ldap.ControlSyncState
	for _, ctl := range controls {
		if s, ok := ctl.(*ldap.ControlSyncState); ok {
			state = s
		}
	}
	if state == nil {
		return "", fmt.Errorf("entry %q without a sync state control", e.DN)
	}
	id := state.EntryUUID.String()
	x.mu.Lock()
	defer x.mu.Unlock()
	if gen != x.gen {
		return "", nil
	}
	switch state.State {
	case ldap.SyncStateAdd, ldap.SyncStateModify:
		x.updates++
		x.remove(id)
		x.add(id, base, schema.DecodeUser(toEntry(e)))
	case ldap.SyncStateDelete:
		x.updates++
		x.removeFrom(id, base)
		return "", nil
	}
	return id, nil
}

// applyInfo handles a Sync Info message: the end of a refresh, or entries
// deleted while the refresh ran.
func (x *userIndex) applyInfo(gen uint64, base string, info *ldap.ControlSyncInfo) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if gen != x.gen {
		return
	}
	done := false
	switch {
	case info.RefreshDelete != nil:
		done = info.RefreshDelete.RefreshDone
	case info.RefreshPresent != nil:
		done = info.RefreshPresent.RefreshDone
	case info.SyncIdSet != nil && info.SyncIdSet.RefreshDeletes:
		for _, id := range info.SyncIdSet.SyncUUIDs {
			x.removeFrom(id.String(), base)
		}
	}
	if done && !x.live {
		x.refreshed++
		if x.refreshed == len(x.searched) {
			x.goLive()
		}
	}
}

// goLive makes the index answer, and says so; the caller holds mu.
func (x *userIndex) goLive() {
	x.live = true
	x.log.Info("user index live", "mode", x.mode, "otp_users", len(x.byUUID), "bases", len(x.searched),
		"unkeyable", x.unkeyable)
	if x.unkeyable > 0 {
		x.log.Warn("user index: some OTP users' DNs cannot be keyed safely; every bind reads its user entry",
			"unkeyable", x.unkeyable)
	}
}

// add and remove keep byUUID, byDN, keys and unkeyable consistent; the
// caller holds mu.
func (x *userIndex) add(id, base string, u schema.User) {
	key, keyed := x.rules.dnKey(u.DN)
	x.byUUID[id] = indexedUser{user: u, base: base, key: key, keyed: keyed}
	x.byDN[u.DN] = id
	if keyed {
		x.keys[key]++
	} else {
		x.unkeyable++
	}
}

// removeFrom removes a user that base says is gone from it, if the index
// holds the user from base. A user moved from one followed base to another
// is deleted in the first and added in the second, by two searches whose
// messages arrive in either order: the delete must not remove the add.
func (x *userIndex) removeFrom(id, base string) {
	if u, found := x.byUUID[id]; found && u.base == base {
		x.remove(id)
	}
}

func (x *userIndex) remove(id string) {
	old, found := x.byUUID[id]
	if !found {
		return
	}
	delete(x.byUUID, id)
	if x.byDN[old.user.DN] == id {
		delete(x.byDN, old.user.DN)
	}
	if !old.keyed {
		x.unkeyable--
		return
	}
	if x.keys[old.key]--; x.keys[old.key] == 0 {
		delete(x.keys, old.key)
	}
}

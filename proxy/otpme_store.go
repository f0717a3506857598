package proxy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/schema"
)

// DirStore is the otpme.Store of several proxies behind one load balancer:
// sessions, fail counters and used one-time codes are entries of class
// otpmeState under ou=state,<otpme base>, written by the service account,
// so every proxy sees every change at once and OpenLDAP replication
// carries them. Its methods have the semantics of otpme.MemStore, except
// that the login count and last use of a session without max_login reach
// the directory (and so the other proxies) up to a second late.
//
// Every change that must be atomic across proxies is one LDAP operation
// whose result decides, never a read followed by a blind write:
//
//   - UseCode adds an entry named by a hash of the token and the code:
//     entryAlreadyExists (68) means the code was used. An expired leftover
//     is taken over with a compare-and-swap of its otpmeData.
//   - AddFail adds the password hash as a value of otpmeHash:
//     attributeOrValueExists (20) means it was already counted. Past
//     otpme.MaxFailHashes values, the oldest are deleted by value and
//     counted in otpmeLogins (old value deleted, new one added) in one
//     modify; the count is the values plus otpmeLogins.
//   - CountLogin deletes the old otpmeLogins value and adds the new one in
//     one modify; noSuchAttribute (16) means another proxy counted first,
//     and the login is re-read and tried again (at most 32 times). For a
//     session without max_login that modify is deferred by up to a second
//     and carries every login counted meanwhile (deferred.go).
//   - ResetFails deletes exactly the values it read; deletes that must not
//     undo a concurrent change (Purge, the clean-up of an emptied fail
//     entry) carry the LDAP assertion control (RFC 4528).
//
// The directory must support the assertion control (OpenLDAP does), and
// the service account needs write access to the subtree
// (examples/slapd/acl.conf, rule 6) and a size limit that covers all state
// entries for Sessions(""), DeleteSessions and Purge (searches are paged).
//
// Entries (all of class otpmeState, otpmeKey as RDN):
//
//	session  otpmeKey=<session ID>   otpmeKind=session, otpmeUserID,
//	         otpmeGroupID, otpmeTokenID (when not empty), otpmeLogins,
//	         otpmeExpires (when it can expire), otpmeData (JSON, below)
//	fail     otpmeKey=fail-<hex>      otpmeKind=fail, otpmeUserID,
//	         otpmeGroupID, otpmeHash (one value per distinct password,
//	         the latest otpme.MaxFailHashes), otpmeLogins (how many
//	         older ones were dropped, when any were)
//	code     otpmeKey=code-<hex>      otpmeKind=code, otpmeTokenID,
//	         otpmeExpires, otpmeData (exact expiry and a nonce)
//
// otpmeExpires is a Unix time in seconds, rounded up, for searching;
// otpmeData holds the exact times. Session IDs from the engine are hex, so
// they never collide with the "fail-"/"code-" keys.
type DirStore struct {
	dir    *ServiceDirectory
	base   string // ou=state,<otpme base>
	counts *deferredCounts
	log    *slog.Logger
}

var _ otpme.Store = (*DirStore)(nil)

// NewDirStore returns the store under ou=state,otpmeBase of d's directory.
// otpmeBase must exist; ou=state is created when first needed.
func NewDirStore(d *ServiceDirectory, otpmeBase string) *DirStore {
	s := &DirStore{dir: d, base: "ou=state," + otpmeBase, log: slog.New(slog.DiscardHandler)}
	s.counts = newDeferredCounts(s.writeCounts)
	return s
}

// SetLogger sets where failed writes of deferred login counts are logged.
func (s *DirStore) SetLogger(l *slog.Logger) { s.log = l }

// Base returns the DN of the state container.
func (s *DirStore) Base() string { return s.base }

// Attribute names and otpmeKind values of state entries (schema/otpme.schema).
const (
	stateClass      = "otpmeState"
	stateAttrKey    = "otpmeKey"
	stateAttrKind   = "otpmeKind"
	stateAttrData   = "otpmeData"
	stateAttrHash   = "otpmeHash"
	stateAttrLogins = "otpmeLogins"
	stateAttrExp    = "otpmeExpires"
	stateAttrUser   = "otpmeUserID"
	stateAttrGroup  = "otpmeGroupID"
	stateAttrToken  = "otpmeTokenID"
	// stateAttrDropped, on a fail entry, counts the failures whose hashes
	// were dropped (otpme.MaxFailHashes): the sessions' integer attribute,
	// which the schema allows on every state entry.
	stateAttrDropped = stateAttrLogins

	stateSession = "session"
	stateFail    = "fail"
	stateCode    = "code"
)

// stateCASRetries bounds every compare-and-swap loop. Each lost round means
// another proxy's change went through, so a loop runs out only under
// extreme contention on one entry; the call then fails (and the engine
// refuses the login) instead of spinning.
const stateCASRetries = 32

// statePageSize is the page size of state searches (RFC 2696).
const statePageSize = 500

// oidAssertion is the LDAP assertion control (RFC 4528).
const oidAssertion = "1.3.6.1.1.12"

// errStateContention is returned when a compare-and-swap loop ran out.
var errStateContention = errors.New("too many concurrent changes")

// ---- fail counters ----

// AddFail implements otpme.Store: it adds pwHash to the scope's otpmeHash
// values, creating the scope's entry on its first failure, then keeps the
// values within otpme.MaxFailHashes (capFails).
func (s *DirStore) AddFail(ctx context.Context, scope otpme.Scope, pwHash string) (int, error) {
	key := stateKey(stateFail, scope.User, scope.Group)
	dn := s.dn(key)
	for range stateCASRetries {
		mod := ldap.NewModifyRequest(dn, nil)
		mod.Add(stateAttrHash, []string{pwHash})
		err := s.modify(ctx, mod)
		switch {
		case err == nil, ldap.IsErrorWithCode(err, ldap.LDAPResultAttributeOrValueExists):
			n, err := s.capFails(ctx, dn, pwHash)
			return max(n, 1), err // a reset racing in between: we counted 1
		case !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
			return 0, err
		}
		err = s.add(ctx, s.failEntry(key, scope, pwHash))
		if err == nil {
			return 1, nil
		}
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			return 0, err
		}
		// Another proxy created it first: add the value to theirs.
	}
	return 0, fmt.Errorf("add failure to %q: %w", dn, errStateContention)
}

// capFails reads the fail entry dn and returns its count. If it holds
// more than otpme.MaxFailHashes hashes, the oldest but keep (the one just
// added) are dropped and counted (dropRequest); a drop or reset by
// another proxy meanwhile makes that modify fail, and it reads again. The
// count is the same before and after a drop.
func (s *DirStore) capFails(ctx context.Context, dn, keep string) (int, error) {
	for range stateCASRetries {
		f, err := s.readFails(ctx, dn)
		if err != nil || len(f.hashes) <= otpme.MaxFailHashes {
			return f.count(), err
		}
		mod, err := dropRequest(dn, f, keep)
		if err != nil {
			return 0, err
		}
		err = s.modify(ctx, mod)
		switch {
		case err == nil:
			return f.count(), nil
		case !ldap.IsErrorAnyOf(err, ldap.LDAPResultNoSuchAttribute, ldap.LDAPResultAssertionFailed, ldap.LDAPResultNoSuchObject):
			return 0, err
		}
	}
	return 0, fmt.Errorf("cap failures of %q: %w", dn, errStateContention)
}

// failState is a fail entry: its hashes in the directory's order, which
// in OpenLDAP is the order they were added in, and how many were dropped.
type failState struct {
	hashes  []string
	dropped int
}

func (f failState) count() int { return len(f.hashes) + f.dropped }

// decodeFails reads a fail entry.
func decodeFails(e *ldap.Entry) (failState, error) {
	f := failState{hashes: e.GetEqualFoldAttributeValues(stateAttrHash)}
	if v := e.GetEqualFoldAttributeValue(stateAttrDropped); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return failState{}, fmt.Errorf("decode fail entry %q: %s: %w", e.DN, stateAttrDropped, err)
		}
		f.dropped = n
	}
	return f, nil
}

// readFails reads the fail entry dn (empty if there is none).
func (s *DirStore) readFails(ctx context.Context, dn string) (failState, error) {
	e, err := s.read(ctx, dn, stateAttrHash, stateAttrDropped)
	if e == nil {
		return failState{}, err
	}
	return decodeFails(e)
}

// dropRequest is the modify that keeps the latest otpme.MaxFailHashes
// hashes of f (and keep in any case): it deletes the others by value and
// swaps the dropped count for one that includes them, deleting the old
// count by value or, if there was none, asserting there still is none.
// Either way, a concurrent change makes it fail and change nothing.
func dropRequest(dn string, f failState, keep string) (*ldap.ModifyRequest, error) {
	excess := len(f.hashes) - otpme.MaxFailHashes
	var drop []string
	for _, h := range f.hashes {
		if len(drop) < excess && h != keep {
			drop = append(drop, h)
		}
	}
	var ctrls []ldap.Control
	if f.dropped == 0 {
		c, err := assertionControl("(!(" + stateAttrDropped + "=*))")
		if err != nil {
			return nil, err
		}
		ctrls = append(ctrls, c)
	}
	mod := ldap.NewModifyRequest(dn, ctrls)
	mod.Delete(stateAttrHash, drop)
	if f.dropped > 0 {
		mod.Delete(stateAttrDropped, []string{strconv.Itoa(f.dropped)})
	}
	mod.Add(stateAttrDropped, []string{strconv.Itoa(f.dropped + len(drop))})
	return mod, nil
}

// failEntry is the add request of a fail scope's first failure.
func (s *DirStore) failEntry(key string, scope otpme.Scope, pwHash string) *ldap.AddRequest {
	req := s.stateEntry(key, stateFail)
	optional(req, stateAttrUser, scope.User)
	optional(req, stateAttrGroup, scope.Group)
	req.Attribute(stateAttrHash, []string{pwHash})
	return req
}

// Fails implements otpme.Store.
func (s *DirStore) Fails(ctx context.Context, scope otpme.Scope) (int, error) {
	f, err := s.readFails(ctx, s.dn(stateKey(stateFail, scope.User, scope.Group)))
	return f.count(), err
}

// LoginState implements otpme.LoginStateReader: the fail entries of the
// scopes and the user's sessions in one search. The filter holds only
// terms that few entries match, the keys and the user; every state entry
// of the user comes back and the kinds are told apart here. A term that
// every session matches, such as (otpmeKind=session), makes slapd read and
// intersect an index list as long as all sessions on every login: with
// 20,000 sessions that doubled slapd's CPU per search (225-233 instead of
// 108-118 µs).
func (s *DirStore) LoginState(ctx context.Context, user string, scopes []otpme.Scope) ([]int, []otpme.Session, error) {
	keys := make([]string, len(scopes))
	terms := make([]stateFilter, 0, len(scopes)+1)
	for i, sc := range scopes {
		keys[i] = stateKey(stateFail, sc.User, sc.Group)
		terms = append(terms, eqFilter(stateAttrKey, keys[i]))
	}
	if user != "" {
		terms = append(terms, eqFilter(stateAttrUser, user))
	}
	entries, err := s.searchOne(ctx, setFilter('|', terms...), append([]string{stateAttrHash}, sessionAttrs...)...)
	if err != nil {
		return nil, nil, err
	}
	counts := make([]int, len(scopes))
	var sessions []otpme.Session
	for _, e := range entries {
		switch e.GetEqualFoldAttributeValue(stateAttrKind) {
		case stateFail:
			key := e.GetEqualFoldAttributeValue(stateAttrKey)
			for i, k := range keys {
				if k != key {
					continue
				}
				f, err := decodeFails(e)
				if err != nil {
					return nil, nil, err
				}
				counts[i] = f.count()
			}
		case stateSession:
			sess, err := entrySession(e)
			if err != nil {
				return nil, nil, err
			}
			if sess.User == user {
				sessions = append(sessions, s.counts.overlay(sess))
			}
		}
	}
	return counts, sessions, nil
}

// ResetFails implements otpme.Store.
func (s *DirStore) ResetFails(ctx context.Context, scope otpme.Scope) (int, error) {
	return s.resetFails(ctx, s.dn(stateKey(stateFail, scope.User, scope.Group)))
}

// resetFails deletes exactly the otpmeHash values and the dropped count
// it read, so a failure another proxy adds meanwhile is either counted in
// the result or kept, then deletes the entry if it is still empty.
func (s *DirStore) resetFails(ctx context.Context, dn string) (int, error) {
	for range stateCASRetries {
		e, err := s.read(ctx, dn, stateAttrHash, stateAttrDropped)
		if e == nil {
			return 0, err
		}
		f, err := decodeFails(e)
		if err != nil {
			return 0, err
		}
		if f.count() == 0 {
			return 0, s.dropEmptyFail(ctx, dn)
		}
		err = s.modify(ctx, resetRequest(dn, f))
		switch {
		case err == nil:
			return f.count(), s.dropEmptyFail(ctx, dn)
		case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
			return 0, nil
		case !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute):
			return 0, err
		}
		// Another proxy reset or dropped some of them first: read again.
	}
	return 0, fmt.Errorf("reset failures of %q: %w", dn, errStateContention)
}

// resetRequest deletes the hashes and the dropped count of f, by value.
func resetRequest(dn string, f failState) *ldap.ModifyRequest {
	mod := ldap.NewModifyRequest(dn, nil)
	if len(f.hashes) > 0 {
		mod.Delete(stateAttrHash, f.hashes)
	}
	if f.dropped > 0 {
		mod.Delete(stateAttrDropped, []string{strconv.Itoa(f.dropped)})
	}
	return mod
}

// dropEmptyFail deletes the fail entry dn if it holds no failure (a
// failure added meanwhile keeps it).
func (s *DirStore) dropEmptyFail(ctx context.Context, dn string) error {
	err := s.deleteIf(ctx, dn, "(&(!("+stateAttrHash+"=*))(!("+stateAttrDropped+"=*)))")
	if errors.Is(err, errStateChanged) {
		return nil
	}
	return err
}

// ResetUserFails implements otpme.Store.
func (s *DirStore) ResetUserFails(ctx context.Context, user string) error {
	filter := "(&(objectClass=" + stateClass + ")(" + stateAttrKind + "=" + stateFail + ")" + eqOrAbsent(stateAttrUser, user) + ")"
	entries, err := s.search(ctx, filter, stateAttrUser)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.GetEqualFoldAttributeValue(stateAttrUser) != user {
			continue // the directory matched a value that differs in spacing only
		}
		if _, err := s.resetFails(ctx, e.DN); err != nil {
			return err
		}
	}
	return nil
}

// ---- used codes ----

// UseCode implements otpme.Store: the first use adds the code's entry; a
// later use finds it (entryAlreadyExists) and is the first again only if
// the entry has expired, by replacing its otpmeData value with a
// compare-and-swap that exactly one racer wins.
func (s *DirStore) UseCode(ctx context.Context, token, code string, now, expires time.Time) (bool, error) {
	key := stateKey(stateCode, token, code)
	dn := s.dn(key)
	rec, err := newCodeRecord(expires)
	if err != nil {
		return false, fmt.Errorf("use code %q: %w", dn, err)
	}
	for range stateCASRetries {
		err := s.add(ctx, s.codeEntry(key, token, rec))
		switch {
		case err == nil:
			return true, nil
		case !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists):
			return false, err
		}
		old, err := s.readCode(ctx, dn)
		switch {
		case err != nil:
			return false, err
		case old == nil:
			continue // purged in between: add again
		case old.Expires.After(now):
			return false, nil
		}
		won, err := s.renewCode(ctx, dn, old, rec)
		if won || err != nil {
			return won, err
		}
	}
	return false, fmt.Errorf("use code %q: %w", dn, errStateContention)
}

// codeRecord is the otpmeData of a used code. The nonce makes every value
// unique, so that a compare-and-swap on it cannot be fooled by an equal
// value written by another proxy.
type codeRecord struct {
	Expires time.Time `json:"expires"`
	Nonce   string    `json:"nonce"`
	raw     string
}

// newCodeRecord returns a record expiring at expires with a fresh nonce.
func newCodeRecord(expires time.Time) (*codeRecord, error) {
	var n [12]byte
	_, _ = rand.Read(n[:]) // crypto/rand.Read never fails (Go 1.24+)
	r := &codeRecord{Expires: expires.UTC(), Nonce: hex.EncodeToString(n[:])}
	b, err := json.Marshal(r) // fails only for years after 9999
	if err != nil {
		return nil, fmt.Errorf("encode expiry: %w", err)
	}
	r.raw = string(b)
	return r, nil
}

// decodeCodeRecord parses a code entry's otpmeData.
func decodeCodeRecord(raw []byte) (*codeRecord, error) {
	r := &codeRecord{raw: string(raw)}
	if err := json.Unmarshal(raw, r); err != nil {
		return nil, err
	}
	return r, nil
}

// codeEntry is the add request of a used code.
func (s *DirStore) codeEntry(key, token string, rec *codeRecord) *ldap.AddRequest {
	req := s.stateEntry(key, stateCode)
	optional(req, stateAttrToken, token)
	req.Attribute(stateAttrExp, []string{strconv.FormatInt(ceilUnix(rec.Expires), 10)})
	req.Attribute(stateAttrData, []string{rec.raw})
	return req
}

// readCode reads a used code's record (nil if there is no entry).
func (s *DirStore) readCode(ctx context.Context, dn string) (*codeRecord, error) {
	e, err := s.read(ctx, dn, stateAttrData)
	if e == nil {
		return nil, err
	}
	rec, err := decodeCodeRecord(e.GetEqualFoldRawAttributeValue(stateAttrData))
	if err != nil {
		return nil, fmt.Errorf("decode used code %q: %w", dn, err)
	}
	return rec, nil
}

// renewCode replaces the expired record old by rec. It reports false
// (without error) when another proxy changed or deleted the entry first.
func (s *DirStore) renewCode(ctx context.Context, dn string, old, rec *codeRecord) (bool, error) {
	mod := ldap.NewModifyRequest(dn, nil)
	mod.Delete(stateAttrData, []string{old.raw})
	mod.Add(stateAttrData, []string{rec.raw})
	mod.Replace(stateAttrExp, []string{strconv.FormatInt(ceilUnix(rec.Expires), 10)})
	err := s.modify(ctx, mod)
	if ldap.IsErrorAnyOf(err, ldap.LDAPResultNoSuchAttribute, ldap.LDAPResultNoSuchObject) {
		return false, nil
	}
	return err == nil, err
}

// ---- sessions ----

// CreateSessions implements otpme.Store: it adds one entry per session and,
// if one cannot be added, deletes the ones it added.
func (s *DirStore) CreateSessions(ctx context.Context, ss []otpme.Session) error {
	for i, sess := range ss {
		for _, o := range ss[:i] {
			if o.ID == sess.ID {
				return fmt.Errorf("create session %s: %w", sess.ID, otpme.ErrSessionExists)
			}
		}
	}
	for i, sess := range ss {
		req, err := s.sessionEntry(sess)
		if err == nil {
			err = s.add(ctx, req)
		}
		if err == nil {
			continue
		}
		if ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			err = fmt.Errorf("create session %s: %w", sess.ID, otpme.ErrSessionExists)
		}
		return errors.Join(err, s.undoCreate(ctx, ss[:i]))
	}
	return nil
}

// undoCreate deletes the sessions CreateSessions added before it failed.
func (s *DirStore) undoCreate(ctx context.Context, created []otpme.Session) error {
	var errs []error
	for _, sess := range created {
		if _, err := s.delete(ctx, s.dn(sess.ID)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sessionRecord is the otpmeData of a session: every field of
// otpme.Session except Logins, which is otpmeLogins (the attribute that
// CountLogin swaps). Its JSON names are the stored format; do not change
// them.
type sessionRecord struct {
	ID            string        `json:"id"`
	Login         string        `json:"login"`
	User          string        `json:"user"`
	Group         string        `json:"group,omitempty"`
	Token         string        `json:"token"`
	AuthType      string        `json:"auth_type"`
	Client        string        `json:"client,omitempty"`
	ClientIP      string        `json:"client_ip,omitempty"`
	Salt          []byte        `json:"salt"`
	PasswordHash  []byte        `json:"password_hash"`
	LogoutHash    []byte        `json:"logout_hash"`
	Created       time.Time     `json:"created"`
	LastUsed      time.Time     `json:"last_used"`
	Expires       time.Time     `json:"expires"`
	UnusedTimeout time.Duration `json:"unused_timeout_ns"`
	MaxLogin      int           `json:"max_login"`
}

// encodeSession returns the otpmeData of sess.
func encodeSession(sess otpme.Session) (string, error) {
	r := sessionRecord{
		ID: sess.ID, Login: sess.Login, User: sess.User, Group: sess.Group, Token: sess.Token,
		AuthType: sess.AuthType, Client: sess.Client, ClientIP: sess.ClientIP,
		Salt: sess.Salt, PasswordHash: sess.PasswordHash, LogoutHash: sess.LogoutHash,
		Created: sess.Created.UTC(), LastUsed: sess.LastUsed.UTC(), Expires: sess.Expires.UTC(),
		UnusedTimeout: sess.UnusedTimeout, MaxLogin: sess.MaxLogin,
	}
	b, err := json.Marshal(r) // fails only for years after 9999
	if err != nil {
		return "", fmt.Errorf("encode session %s: %w", sess.ID, err)
	}
	return string(b), nil
}

// decodeSession is the inverse of encodeSession, with Logins from
// otpmeLogins.
func decodeSession(data []byte, logins string) (otpme.Session, error) {
	var r sessionRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return otpme.Session{}, err
	}
	n, err := strconv.Atoi(logins)
	if err != nil {
		return otpme.Session{}, fmt.Errorf("%s %q: %w", stateAttrLogins, logins, err)
	}
	return otpme.Session{
		ID: r.ID, Login: r.Login, User: r.User, Group: r.Group, Token: r.Token,
		AuthType: r.AuthType, Client: r.Client, ClientIP: r.ClientIP,
		Salt: r.Salt, PasswordHash: r.PasswordHash, LogoutHash: r.LogoutHash,
		Created: r.Created, LastUsed: r.LastUsed, Expires: r.Expires,
		UnusedTimeout: r.UnusedTimeout, Logins: n, MaxLogin: r.MaxLogin,
	}, nil
}

// sessionEntry is the add request of a new session.
func (s *DirStore) sessionEntry(sess otpme.Session) (*ldap.AddRequest, error) {
	data, err := encodeSession(sess)
	if err != nil {
		return nil, err
	}
	req := s.stateEntry(sess.ID, stateSession)
	optional(req, stateAttrUser, sess.User)
	optional(req, stateAttrGroup, sess.Group)
	optional(req, stateAttrToken, sess.Token)
	req.Attribute(stateAttrLogins, []string{strconv.Itoa(sess.Logins)})
	if exp, ok := sessionExpiry(sess); ok {
		req.Attribute(stateAttrExp, []string{strconv.FormatInt(ceilUnix(exp), 10)})
	}
	req.Attribute(stateAttrData, []string{data})
	return req, nil
}

// sessionExpiry returns the earliest time sess expires at (see
// otpme.Session.Expired); false if it never does.
func sessionExpiry(sess otpme.Session) (time.Time, bool) {
	exp, ok := sess.Expires, !sess.Expires.IsZero()
	if sess.UnusedTimeout > 0 {
		if unused := sess.LastUsed.Add(sess.UnusedTimeout); !ok || unused.Before(exp) {
			exp, ok = unused, true
		}
	}
	return exp, ok
}

// sessionAttrs are the attributes read to decode a session.
var sessionAttrs = []string{stateAttrKind, stateAttrData, stateAttrLogins, stateAttrUser, stateAttrGroup, stateAttrToken, stateAttrKey}

// entrySession decodes a session entry.
func entrySession(e *ldap.Entry) (otpme.Session, error) {
	sess, err := decodeSession(e.GetEqualFoldRawAttributeValue(stateAttrData), e.GetEqualFoldAttributeValue(stateAttrLogins))
	if err != nil {
		return otpme.Session{}, fmt.Errorf("decode session %q: %w", e.DN, err)
	}
	return sess, nil
}

// Sessions implements otpme.Store.
func (s *DirStore) Sessions(ctx context.Context, user string) ([]otpme.Session, error) {
	f := sessionFilter(otpme.SessionFilter{User: user})
	var entries []*ldap.Entry
	var err error
	if user != "" { // a login's question: one user's few sessions
		entries, err = s.searchOne(ctx, f, sessionAttrs...)
	} else {
		entries, err = s.search(ctx, f.text, sessionAttrs...)
	}
	if err != nil {
		return nil, err
	}
	var out []otpme.Session
	for _, e := range entries {
		sess, err := entrySession(e)
		if err != nil {
			return nil, err
		}
		if user == "" || sess.User == user {
			out = append(out, s.counts.overlay(sess))
		}
	}
	return out, nil
}

// CountLogin implements otpme.Store. A session with max_login is counted
// at once: a compare-and-swap of otpmeLogins (and LastUsed) from the state
// the caller read, re-read and retried if another proxy counted first. A
// session without max_login is counted from the state the caller read and
// written within countFlushDelay, several logins in one modify
// (deferred.go): a re-bind through a session writes nothing while the
// client waits. Nor does it read: a logout or revocation by another proxy
// after the caller's read (microseconds earlier) is not seen, where
// MemStore would refuse. Seeing it would cost a directory read on every
// re-bind; logouts through this proxy cannot fall in between, as the
// engine runs one verification of a user at a time.
func (s *DirStore) CountLogin(ctx context.Context, seen otpme.Session, now time.Time) (otpme.Session, error) {
	if seen.ID == "" {
		return otpme.Session{}, fmt.Errorf("count login of session %q: %w", seen.ID, otpme.ErrSessionNotFound)
	}
	if seen.MaxLogin == 0 {
		sess := seen // from Sessions: the logins not yet written included
		if err := countable(sess, now); err != nil {
			return otpme.Session{}, fmt.Errorf("count login of session %s: %w", seen.ID, err)
		}
		s.counts.add(seen.ID, now)
		sess.Logins++
		sess.LastUsed = now
		return sess, nil
	}
	dn := s.dn(seen.ID)
	sess := seen
	for i := range stateCASRetries {
		if i > 0 {
			var err error
			if sess, err = s.readSession(ctx, dn); err != nil {
				return otpme.Session{}, fmt.Errorf("count login of session %s: %w", seen.ID, err)
			}
		}
		if err := countable(sess, now); err != nil {
			return otpme.Session{}, fmt.Errorf("count login of session %s: %w", seen.ID, err)
		}
		next := sess
		next.Logins++
		next.LastUsed = now
		err := s.swapLogins(ctx, dn, sess.Logins, next)
		switch {
		case err == nil:
			return next, nil
		case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
			return otpme.Session{}, fmt.Errorf("count login of session %s: %w", seen.ID, otpme.ErrSessionNotFound)
		case !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute):
			return otpme.Session{}, err
		}
		// Another proxy counted a login first (or the caller's state was
		// old): read again.
	}
	return otpme.Session{}, fmt.Errorf("count login of session %s: %w", seen.ID, errStateContention)
}

// swapLogins writes next over the session entry dn whose otpmeLogins is
// old (noSuchAttribute if it is not).
func (s *DirStore) swapLogins(ctx context.Context, dn string, old int, next otpme.Session) error {
	mod, err := countRequest(dn, old, next)
	if err != nil {
		return err
	}
	return s.modify(ctx, mod)
}

// readSession reads the session entry dn; otpme.ErrSessionNotFound if
// there is none.
func (s *DirStore) readSession(ctx context.Context, dn string) (otpme.Session, error) {
	e, err := s.read(ctx, dn, sessionAttrs...)
	switch {
	case err != nil:
		return otpme.Session{}, err
	case e == nil, e.GetEqualFoldAttributeValue(stateAttrKind) != stateSession:
		return otpme.Session{}, otpme.ErrSessionNotFound
	}
	return entrySession(e)
}

// countable reports whether sess may count a login at now, as MemStore
// decides it.
func countable(sess otpme.Session, now time.Time) error {
	if expired, _ := sess.Expired(now); expired {
		return otpme.ErrSessionNotFound
	}
	if sess.MaxLogin > 0 && sess.Logins >= sess.MaxLogin {
		return otpme.ErrMaxLogin
	}
	return nil
}

// countRequest is the compare-and-swap of CountLogin: the old otpmeLogins
// value is deleted by value (noSuchAttribute if another proxy moved it),
// the new one added, and the data and expiry rewritten, in one modify.
func countRequest(dn string, oldLogins int, next otpme.Session) (*ldap.ModifyRequest, error) {
	data, err := encodeSession(next)
	if err != nil {
		return nil, err
	}
	mod := ldap.NewModifyRequest(dn, nil)
	mod.Delete(stateAttrLogins, []string{strconv.Itoa(oldLogins)})
	mod.Add(stateAttrLogins, []string{strconv.Itoa(next.Logins)})
	mod.Replace(stateAttrData, []string{data})
	if exp, ok := sessionExpiry(next); ok {
		mod.Replace(stateAttrExp, []string{strconv.FormatInt(ceilUnix(exp), 10)})
	}
	return mod, nil
}

// DeleteSessions implements otpme.Store. Sessions are matched on their
// entry's attributes, so an entry whose data cannot be decoded can still
// be deleted by ID, user, group or token.
func (s *DirStore) DeleteSessions(ctx context.Context, f otpme.SessionFilter) (int, error) {
	entries, err := s.search(ctx, sessionFilter(f).text, sessionAttrs...)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		ok, err := matchSessionEntry(f, e)
		if err != nil {
			return n, err
		}
		if !ok {
			continue
		}
		deleted, err := s.delete(ctx, e.DN)
		if err != nil {
			return n, err
		}
		if deleted {
			n++
		}
	}
	return n, nil
}

// matchSessionEntry reports whether the session entry e matches f exactly
// (the directory's filter ignores differences in spacing). The data is
// decoded only to match f.Login.
func matchSessionEntry(f otpme.SessionFilter, e *ldap.Entry) (bool, error) {
	got := otpme.Session{
		ID:    e.GetEqualFoldAttributeValue(stateAttrKey),
		User:  e.GetEqualFoldAttributeValue(stateAttrUser),
		Group: e.GetEqualFoldAttributeValue(stateAttrGroup),
		Token: e.GetEqualFoldAttributeValue(stateAttrToken),
	}
	if f.Login != "" {
		sess, err := entrySession(e)
		if err != nil {
			return false, err
		}
		got.Login = sess.Login
	}
	return f.Match(got), nil
}

// sessionFilter is the search filter of the session entries that may match
// f: every non-empty field but Login is an equality.
func sessionFilter(f otpme.SessionFilter) stateFilter {
	terms := []stateFilter{eqFilter("objectClass", stateClass), eqFilter(stateAttrKind, stateSession)}
	for _, c := range [][2]string{{stateAttrKey, f.ID}, {stateAttrUser, f.User}, {stateAttrGroup, f.Group}, {stateAttrToken, f.Token}} {
		if c[1] != "" {
			terms = append(terms, eqFilter(c[0], c[1]))
		}
	}
	return setFilter('&', terms...)
}

// stateFilter is a search filter in both of the forms the store sends: text
// for go-ldap's paged searches, BER for the bind path's connections. Built
// as BER, a login's filter costs no parse (go-ldap's compiler took 7 % of
// the proxy's CPU per session re-bind with the directory store).
type stateFilter struct {
	text string
	ber  []byte
}

// eqFilter is (attr=value).
func eqFilter(attr, value string) stateFilter {
	return stateFilter{text: "(" + attr + "=" + ldap.EscapeFilter(value) + ")",
		ber: appendTLV(nil, berEquality, appendTLV(appendTLV(nil, berOctetString, attr), berOctetString, value))}
}

// setFilter is (&terms…) or (|terms…), by op.
func setFilter(op byte, terms ...stateFilter) stateFilter {
	tag := byte(berAnd)
	if op == '|' {
		tag = berOr
	}
	text, ber := "("+string(op), []byte(nil)
	for _, t := range terms {
		text += t.text
		ber = append(ber, t.ber...)
	}
	return stateFilter{text: text + ")", ber: appendTLV(nil, tag, ber)}
}

// ---- purge ----

// Purge implements otpme.Store. It finds candidates by otpmeExpires,
// decides on the exact times in otpmeData, and deletes each with an
// assertion that the entry is unchanged since it was read, so a session
// counted or a code renewed meanwhile by another proxy survives.
func (s *DirStore) Purge(ctx context.Context, now time.Time) (int, error) {
	filter := fmt.Sprintf("(&(objectClass=%s)(%s<=%d))", stateClass, stateAttrExp, ceilUnix(now))
	entries, err := s.search(ctx, filter, sessionAttrs...)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, e := range entries {
		assert, err := purgeAssertion(e, now)
		if err != nil {
			errs = append(errs, err) // keep purging the others
		}
		if assert == "" {
			continue
		}
		switch err := s.deleteIf(ctx, e.DN, assert); {
		case err == nil:
			n++
		case !errors.Is(err, errStateChanged):
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// purgeAssertion returns the assertion filter under which the expired
// entry e may be deleted, or "" if e has not expired at now (or is not a
// session or used code).
func purgeAssertion(e *ldap.Entry, now time.Time) (string, error) {
	switch e.GetEqualFoldAttributeValue(stateAttrKind) {
	case stateSession:
		sess, err := entrySession(e)
		if err != nil {
			return "", err
		}
		if expired, _ := sess.Expired(now); expired {
			return "(" + stateAttrLogins + "=" + strconv.Itoa(sess.Logins) + ")", nil
		}
	case stateCode:
		rec, err := decodeCodeRecord(e.GetEqualFoldRawAttributeValue(stateAttrData))
		if err != nil {
			return "", fmt.Errorf("decode used code %q: %w", e.DN, err)
		}
		if !rec.Expires.After(now) {
			return "(" + stateAttrData + "=" + ldap.EscapeFilter(rec.raw) + ")", nil
		}
	}
	return "", nil
}

// ---- names and values ----

// stateKey returns the otpmeKey of a fail scope or used code: the kind and
// the hex SHA-256 of the kind and the parts, each prefixed with its length,
// so that no two inputs share a key and no value needs escaping.
func stateKey(kind string, parts ...string) string {
	h := sha256.New()
	var n [4]byte
	for _, p := range append([]string{kind}, parts...) {
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return kind + "-" + hex.EncodeToString(h.Sum(nil))
}

// dn returns the DN of the state entry with the given otpmeKey.
func (s *DirStore) dn(key string) string {
	return stateAttrKey + "=" + ldap.EscapeDN(key) + "," + s.base
}

// stateEntry starts the add request of the state entry of kind with the
// given otpmeKey (its RDN).
func (s *DirStore) stateEntry(key, kind string) *ldap.AddRequest {
	req := ldap.NewAddRequest(s.dn(key), nil)
	req.Attribute("objectClass", []string{stateClass})
	req.Attribute(stateAttrKey, []string{key})
	req.Attribute(stateAttrKind, []string{kind})
	return req
}

// optional adds attr to req if value is not empty (an empty directory
// string is not a valid value).
func optional(req *ldap.AddRequest, attr, value string) {
	if value != "" {
		req.Attribute(attr, []string{value})
	}
}

// eqOrAbsent is the filter attr=value, or "attr is absent" for "".
func eqOrAbsent(attr, value string) string {
	if value == "" {
		return "(!(" + attr + "=*))"
	}
	return "(" + attr + "=" + ldap.EscapeFilter(value) + ")"
}

// ceilUnix is t in Unix seconds, rounded up: an entry expiring at t has
// expired at now only if ceilUnix(t) <= ceilUnix(now), so a search with
// the latter finds every candidate.
func ceilUnix(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

// assertionControl is the LDAP assertion control (RFC 4528) for filter:
// the operation it travels with fails with assertionFailed (122), changing
// nothing, unless the entry matches filter when the operation is applied.
func assertionControl(filter string) (ldap.Control, error) {
	p, err := ldap.CompileFilter(filter)
	if err != nil {
		return nil, fmt.Errorf("assertion %s: %w", filter, err)
	}
	return &ldap.ControlString{ControlType: oidAssertion, Criticality: true, ControlValue: string(p.Bytes())}, nil
}

// ---- directory operations ----

// errStateChanged: a conditional delete found the entry changed or gone.
var errStateChanged = errors.New("state entry changed or gone")

// conn returns a pooled service-account connection, or the context's error.
func (s *DirStore) conn(ctx context.Context) (*ldap.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.dir.conn(ctx)
}

// read returns the entry at dn with attrs, nil (and no error) if there is
// none. A read that fails on a broken connection is tried once more.
func (s *DirStore) read(ctx context.Context, dn string, attrs ...string) (*ldap.Entry, error) {
	e, err := s.dir.Read(ctx, dn, attrs)
	switch {
	case errors.Is(err, ErrNoSuchEntry):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return ldapEntry(e), nil
}

// ldapEntry converts an entry read on the bind path's connections.
func ldapEntry(e schema.Entry) *ldap.Entry {
	out := &ldap.Entry{DN: e.DN, Attributes: make([]*ldap.EntryAttribute, 0, len(e.Attributes))}
	for name, vals := range e.Attributes {
		a := &ldap.EntryAttribute{Name: name, ByteValues: vals, Values: make([]string, len(vals))}
		for i, v := range vals {
			a.Values[i] = string(v)
		}
		out.Attributes = append(out.Attributes, a)
	}
	return out
}

// searchOne is search in one answer, on the bind path's connections; it
// falls back to the paged search if the directory's size limit cuts the
// answer short.
func (s *DirStore) searchOne(ctx context.Context, filter stateFilter, attrs ...string) ([]*ldap.Entry, error) {
	entries, err := s.dir.searchOneBER(ctx, s.base, filter.ber, filter.text, attrs)
	switch {
	case errors.Is(err, errSizeLimit):
		return s.search(ctx, filter.text, attrs...)
	case errors.Is(err, ErrNoSuchEntry):
		return nil, nil
	case err != nil:
		return nil, err
	}
	out := make([]*ldap.Entry, len(entries))
	for i, e := range entries {
		out[i] = ldapEntry(e)
	}
	return out, nil
}

// search returns the entries below the state container that match filter
// (none if the container does not exist yet), in pages.
func (s *DirStore) search(ctx context.Context, filter string, attrs ...string) ([]*ldap.Entry, error) {
	var res *ldap.SearchResult
	err := s.retryRead(ctx, func(c *ldap.Conn) (err error) {
		req := ldap.NewSearchRequest(s.base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
			filter, attrs, nil)
		res, err = c.SearchWithPaging(req, statePageSize)
		return err
	})
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return nil, nil
	case err != nil:
		return nil, classify(err, fmt.Sprintf("search %q for %s", s.base, filter))
	}
	return res.Entries, nil
}

// retryRead runs the read op, and once more on a fresh connection if the
// connection broke. Writes are never retried (they may have been applied).
func (s *DirStore) retryRead(ctx context.Context, op func(*ldap.Conn) error) error {
	var err error
	for range 2 {
		var c *ldap.Conn
		if c, err = s.conn(ctx); err != nil {
			return err
		}
		if err = op(c); !ldap.IsErrorWithCode(err, ldap.ErrorNetwork) {
			return err
		}
	}
	return err
}

// add adds req; if the state container does not exist yet, it creates it
// and adds again. The error keeps the LDAP result code (ldap.IsErrorWithCode).
func (s *DirStore) add(ctx context.Context, req *ldap.AddRequest) error {
	err := s.addOnce(ctx, req)
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return err
	}
	if err := s.createBase(ctx); err != nil {
		return err
	}
	return s.addOnce(ctx, req)
}

// addOnce adds req.
func (s *DirStore) addOnce(ctx context.Context, req *ldap.AddRequest) error {
	c, err := s.conn(ctx)
	if err != nil {
		return classify(err, fmt.Sprintf("add %q", req.DN))
	}
	return classify(c.Add(req), fmt.Sprintf("add %q", req.DN))
}

// createBase creates the state container (ou=state); one that another
// proxy created first is fine.
func (s *DirStore) createBase(ctx context.Context) error {
	req := ldap.NewAddRequest(s.base, nil)
	req.Attribute("objectClass", []string{"organizationalUnit"})
	req.Attribute("ou", []string{"state"})
	err := s.addOnce(ctx, req)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		return nil
	}
	return err
}

// modify applies req. The error keeps the LDAP result code.
func (s *DirStore) modify(ctx context.Context, req *ldap.ModifyRequest) error {
	c, err := s.conn(ctx)
	if err != nil {
		return classify(err, fmt.Sprintf("modify %q", req.DN))
	}
	return classify(c.Modify(req), fmt.Sprintf("modify %q", req.DN))
}

// delete deletes dn and reports whether it did (false if it was gone).
func (s *DirStore) delete(ctx context.Context, dn string) (bool, error) {
	err := s.del(ctx, ldap.NewDelRequest(dn, nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return false, nil
	}
	return err == nil, err
}

// deleteIf deletes dn if it matches the assertion filter when the delete
// is applied. It returns errStateChanged if the entry did not match or was
// gone.
func (s *DirStore) deleteIf(ctx context.Context, dn, assert string) error {
	ctrl, err := assertionControl(assert)
	if err != nil {
		return err
	}
	err = s.del(ctx, ldap.NewDelRequest(dn, []ldap.Control{ctrl}))
	if ldap.IsErrorAnyOf(err, ldap.LDAPResultAssertionFailed, ldap.LDAPResultNoSuchObject) {
		return fmt.Errorf("delete %q: %w", dn, errStateChanged)
	}
	return err
}

// del sends req.
func (s *DirStore) del(ctx context.Context, req *ldap.DelRequest) error {
	c, err := s.conn(ctx)
	if err != nil {
		return classify(err, fmt.Sprintf("delete %q", req.DN))
	}
	return classify(c.Del(req), fmt.Sprintf("delete %q", req.DN))
}

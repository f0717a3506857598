package otpme

import (
	"context"
	"errors"
	"time"
)

// Store errors.
var (
	// ErrSessionNotFound: no such session, or it has expired.
	ErrSessionNotFound = errors.New("otpme: no such session")
	// ErrSessionExists: CreateSessions was given an ID already stored.
	ErrSessionExists = errors.New("otpme: session exists")
	// ErrMaxLogin: the session has allowed its MaxLogin logins.
	ErrMaxLogin = errors.New("otpme: session max login reached")
)

// LoginStateReader is a Store that reads, in one request, what a login
// looks at first: the fail counts of scopes (counts[i] is Fails of
// scopes[i]) and the sessions of the user ID, as Sessions returns them
// (DirStore: one search instead of one request per scope and one for the
// sessions). The engine uses it when the Store has it.
type LoginStateReader interface {
	LoginState(ctx context.Context, user string, scopes []Scope) (counts []int, sessions []Session, err error)
}

// Store keeps the state that changes with every login: fail counters,
// used one-time codes and sessions. The engine passes keyed hashes, never
// passwords or codes. Implementations must be safe for concurrent use, also
// by several engines (proxies) sharing one Store; each method that must be
// atomic across proxies is a single call, written so that a directory
// implementation can do it with one compare-and-swap modify (see the notes
// on each method). All times are the caller's clock. storetest.Run is the
// conformance suite every implementation must pass.
type Store interface {
	// AddFail records a failed login in scope made with the password whose
	// keyed hash is pwHash, and returns scope's count of distinct failures.
	// Adding a hash already held changes nothing (directory: add the
	// value; "value exists" is success), so retries and a client repeating
	// one wrong password count once. A scope holds at most MaxFailHashes
	// hashes: adding one more drops the oldest, which stays counted (the
	// count is the hashes held plus the ones dropped) and counts again if
	// it comes back.
	AddFail(ctx context.Context, scope Scope, pwHash string) (count int, err error)
	// Fails returns scope's count of distinct failures (0 if none).
	Fails(ctx context.Context, scope Scope) (int, error)
	// ResetFails forgets scope's failures and returns how many there were.
	ResetFails(ctx context.Context, scope Scope) (previous int, err error)
	// ResetUserFails forgets the failures of every scope of the user ID.
	ResetUserFails(ctx context.Context, user string) error

	// UseCode records that the code whose keyed hash is code was used with
	// the token ID, remembered until expires. first is true for exactly one
	// call per (token, code) however many race, until the record expires
	// (an entry whose expires is not after now counts as absent). Directory:
	// add an entry whose RDN is the hash; "already exists" is not first.
	UseCode(ctx context.Context, token, code string, now, expires time.Time) (first bool, err error)

	// CreateSessions stores the sessions of one login, all or none. An ID
	// already stored fails with ErrSessionExists.
	CreateSessions(ctx context.Context, sessions []Session) error
	// Sessions returns the sessions of the user ID ("" for every session),
	// expired ones included, in no particular order.
	Sessions(ctx context.Context, user string) ([]Session, error)
	// CountLogin counts one login through session s, as the caller read it
	// from Sessions (s.ID names it; a store may start from the rest): if
	// it exists, has not expired at now and MaxLogin is 0 or Logins <
	// MaxLogin, Logins is incremented and LastUsed set to now, and the
	// updated session returned. Otherwise nothing changes and the error
	// wraps ErrSessionNotFound or ErrMaxLogin. A session with MaxLogin is
	// counted atomically (directory: delete the old Logins value and add
	// the new one in one modify; retry on conflict). A store shared by
	// several proxies may write the count of a session without MaxLogin a
	// little later (DirStore: within a second); its own Sessions include
	// it at once. Such a store may also count it through a session that
	// another proxy deleted after the caller read it (DirStore does not
	// read it again).
	CountLogin(ctx context.Context, s Session, now time.Time) (Session, error)
	// DeleteSessions deletes the sessions that match f and returns how
	// many it deleted.
	DeleteSessions(ctx context.Context, f SessionFilter) (int, error)
	// Purge deletes the sessions expired at now and the used codes whose
	// expiry is not after now, and returns how many records it deleted.
	Purge(ctx context.Context, now time.Time) (int, error)
}

// MaxFailHashes is how many distinct wrong-password hashes a Store keeps
// per scope. Without a cap, anyone who knows a user's name could grow the
// user's fail state by one hash per guess, for ever; 64 is far above any
// sensible max_fail, and the count goes on past it (Store.AddFail).
const MaxFailHashes = 64

// Scope is what failed logins are counted for: a user (Group "") or a user
// within one access group. Both are IDs.
type Scope struct {
	// User is the user's ID.
	User string
	// Group is the access group's ID, "" for the user without group.
	Group string
}

// Session is one OTP session: the password of a one-time login, accepted
// again for one access group until the session ends. The password is not
// kept: PasswordHash and LogoutHash are keyed, salted hashes (see
// docs/otpme.md).
type Session struct {
	// ID is 32 lowercase hex characters (16 random bytes).
	ID string
	// Login is the ID of the first session of the login that opened this
	// one (its own ID for that first one): a logout ends them all.
	Login string
	// User, Group and Token are IDs; Group is "" for a session opened
	// without access group.
	User, Group, Token string
	// AuthType is the request's authentication type ("clear-text").
	AuthType string
	// Client and ClientIP are the request that opened the session, as it
	// was named then (for display only).
	Client, ClientIP string
	// Salt is random, one per session.
	Salt []byte
	// PasswordHash is the keyed hash of Salt and the login's password.
	PasswordHash []byte
	// LogoutHash is the keyed hash of Salt and the session logout password.
	LogoutHash []byte
	// Created and LastUsed are the opening and the latest login.
	Created, LastUsed time.Time
	// Expires is the hard end (Created + the group's timeout).
	Expires time.Time
	// UnusedTimeout ends the session when unused this long; 0 never.
	UnusedTimeout time.Duration
	// Logins counts logins through the session; MaxLogin caps them (0: no
	// cap).
	Logins, MaxLogin int
}

// Expiry reasons returned by Session.Expired.
const (
	ExpiredTimeout       = "session timeout"
	ExpiredUnusedTimeout = "unused session timeout"
)

// Expired reports whether s has ended at now, and why (ExpiredTimeout or
// ExpiredUnusedTimeout). A zero Expires is no hard end.
func (s Session) Expired(now time.Time) (bool, string) {
	switch {
	case !s.Expires.IsZero() && !now.Before(s.Expires):
		return true, ExpiredTimeout
	case s.UnusedTimeout > 0 && !now.Before(s.LastUsed.Add(s.UnusedTimeout)):
		return true, ExpiredUnusedTimeout
	}
	return false, ""
}

// SessionFilter selects sessions; every non-empty field must match (IDs).
// The zero filter matches every session.
type SessionFilter struct {
	// ID selects one session, Login the sessions opened by one login.
	ID, Login string
	// User, Group and Token select by owner, access group and token.
	User, Group, Token string
}

// Match reports whether s matches f.
func (f SessionFilter) Match(s Session) bool {
	return match(f.ID, s.ID) && match(f.Login, s.Login) && match(f.User, s.User) &&
		match(f.Group, s.Group) && match(f.Token, s.Token)
}

func match(want, got string) bool { return want == "" || want == got }

package otpme

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"time"
)

// ErrNotFound is wrapped by Objects (and MemObjects) when the named object
// does not exist.
var ErrNotFound = errors.New("otpme: no such object")

// Objects is the configuration the engine reads: users, their tokens, access
// groups and clients, as the administrator edits them. Implementations must
// be safe for concurrent use and must return copies the caller may keep.
//
// A missing object is an error wrapping ErrNotFound. Any other error means
// the configuration could not be read: Engine.Verify then refuses the login
// and returns the error.
type Objects interface {
	// User returns the user called name.
	User(ctx context.Context, name string) (User, error)
	// Tokens returns every token of the user called user (enabled or not),
	// sorted by name. A user without tokens has none (nil, nil).
	Tokens(ctx context.Context, user string) ([]Token, error)
	// Groups returns every access group. The engine needs all of them to
	// follow child-group relations.
	Groups(ctx context.Context) ([]Group, error)
	// Client returns the client called name.
	Client(ctx context.Context, name string) (Client, error)
}

// Defaults of a new user or access group (the guide's values).
const (
	DefaultMaxFail       = 5
	DefaultTimeout       = 30 * time.Minute
	DefaultUnusedTimeout = 5 * time.Minute
)

// User is an OTPme user.
type User struct {
	// ID never changes, not even on rename; it keys the user's state in the
	// Store (sessions, fail counters).
	ID string
	// Name is the login name the request carries.
	Name string
	// Enabled: a disabled user is refused (AUTH_USER_DISABLED).
	Enabled bool
	// Sessions: create OTP sessions for logins without access group. Groups
	// do not inherit it.
	Sessions bool
	// MaxFail: distinct wrong passwords (without access group) after which
	// the whole account is locked; 0 never locks. Default 5.
	MaxFail int
	// BindDN is the directory account the user binds as (e.g.
	// uid=alice,ou=people,dc=example,dc=com); the proxy maps a bind DN to
	// the user through it. "" if not set.
	BindDN string
	// Description is free text.
	Description string
}

// TokenType is the kind of a token.
type TokenType string

// The token types.
const (
	// TokenPassword is a static device password, stored hashed.
	TokenPassword TokenType = "password"
	// TokenMOTP is an mOTP token (motp.sourceforge.net).
	TokenMOTP TokenType = "motp"
	// TokenHOTP is an OATH HOTP token whose entry lives in the directory.
	TokenHOTP TokenType = "hotp"
	// TokenTOTP is an OATH TOTP token whose entry lives in the directory.
	TokenTOTP TokenType = "totp"
)

// OneTime reports whether codes of this type are one-time codes (every type
// but TokenPassword). Only one-time logins open sessions.
func (t TokenType) OneTime() bool {
	return t == TokenMOTP || t == TokenHOTP || t == TokenTOTP
}

// OATH reports whether the token is verified by the OATHVerifier.
func (t TokenType) OATH() bool { return t == TokenHOTP || t == TokenTOTP }

// Token is one token of a user.
type Token struct {
	// ID never changes, not even on rename; sessions and used codes refer
	// to it.
	ID string
	// Name is unique among the user's tokens.
	Name string
	// User is the owner's name.
	User string
	// Type says how the token is verified.
	Type TokenType
	// Enabled: a disabled token is never selected, and its sessions end.
	Enabled bool
	// Groups are the access groups (names) the token may be used for; it
	// may also be used for their child groups, transitively.
	Groups []string
	// Description is free text.
	Description string
	// PasswordHash (TokenPassword) is the salted hash of the device
	// password, see HashPassword.
	PasswordHash string
	// Secret (TokenMOTP) is the mOTP secret as entered in the device.
	Secret Secret
	// PIN (TokenMOTP) is the user's mOTP PIN.
	PIN Secret
	// Window (TokenMOTP) is how many 10-second steps before and after now
	// are accepted; 0 means DefaultMOTPWindow.
	Window int
	// DN (TokenHOTP, TokenTOTP) is the OATH-LDAP token entry.
	DN string
}

// HasGroup reports whether g is one of the token's own access groups.
func (t Token) HasGroup(g string) bool { return slices.Contains(t.Groups, g) }

// Group is an access group: what a client's requests may use.
type Group struct {
	// ID never changes, not even on rename; it keys sessions and fail
	// counters.
	ID string
	// Name is what clients, tokens and other groups refer to.
	Name string
	// Enabled: a disabled group refuses requests and grants nothing.
	Enabled bool
	// Children: child groups. A token allowed for this group is allowed
	// for its children, transitively.
	Children []string
	// ChildSessions: groups that get a session alongside this group's.
	ChildSessions []string
	// MaxFail: distinct wrong passwords in this group after which the user
	// is locked for this group; 0 never locks. Default 5.
	MaxFail int
	// Sessions: a one-time-code login in this group opens a session.
	Sessions bool
	// SessionMaster: a login through any of ChildSessions opens this
	// group's session and all its child sessions.
	SessionMaster bool
	// MaxLogin: logins a session of this group allows (the opening login
	// included); 0 is unlimited.
	MaxLogin int
	// Timeout: a session ends this long after it was opened. Default 30m.
	Timeout time.Duration
	// UnusedTimeout: a session ends when unused this long. Default 5m.
	UnusedTimeout time.Duration
	// Description is free text.
	Description string
}

// Client is an application that sends requests (the proxy maps a bind to
// a client name).
type Client struct {
	// Name is what the request carries.
	Name string
	// Enabled: a disabled client is refused (AUTH_CLIENT_DISABLED).
	Enabled bool
	// AccessGroup is the group of every request of the client; "" is none.
	AccessGroup string
	// Addresses the client's requests may come from; empty allows any.
	Addresses []netip.Prefix
	// TrustCheck: one-time tokens accept only the client trust password
	// (CTP) derived from the code and Secret, never the code itself.
	TrustCheck bool
	// Secret is the client's shared secret for the CTP.
	Secret Secret
	// CertSubjects are TLS client certificate subjects (DNs) that identify
	// the client to the proxy.
	CertSubjects []string
	// Listeners are proxy listener addresses whose binds come from the
	// client.
	Listeners []string
	// Description is free text.
	Description string
}

// allows reports whether ip may use the client.
func (c Client) allows(ip string) bool {
	if len(c.Addresses) == 0 {
		return true
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	return slices.ContainsFunc(c.Addresses, func(p netip.Prefix) bool { return p.Contains(a) })
}

package otpme

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// ErrOTPUsed is returned by an OATHVerifier whose code matched but was
// spent by someone else first (its compare-and-swap lost). The login is
// refused with AUTH_OTP_ALREADY_USED.
var ErrOTPUsed = errors.New("otpme: one-time code already used")

// OATHVerifier verifies the OATH HOTP and TOTP tokens, whose secrets and
// counters live in the directory. The proxy implements it.
type OATHVerifier interface {
	// VerifyOATH reports whether password is a valid login with tok (Type
	// TokenHOTP or TokenTOTP, entry tok.DN) and, if it is, spends the code
	// (slapo-otp's split, window and replay rules; compare-and-swap
	// commit; the static part checked as the token requires). ok false
	// with a nil error is a wrong password. A code that matched but was
	// spent first returns an error wrapping ErrOTPUsed; any other error
	// means the directory could not be asked, and the login is refused.
	VerifyOATH(ctx context.Context, tok Token, password Secret) (ok bool, err error)
}

// AuthClearText is the authentication type of a plain-password request
// (an LDAP simple bind), the default of Request.AuthType.
const AuthClearText = "clear-text"

// Config configures an Engine. Objects, Store and Key are required.
type Config struct {
	// Objects is where users, tokens, groups and clients are read.
	Objects Objects
	// Store keeps sessions, fail counters and used codes.
	Store Store
	// OATH verifies HOTP/TOTP tokens; nil: such tokens never match.
	OATH OATHVerifier
	// Key (at least 32 bytes, random) keys every hash the engine stores
	// (sessions, distinct wrong passwords, used codes), so a copy of the
	// Store without the key cannot be searched for passwords or codes.
	// Every engine sharing a Store must have the same key.
	Key Secret
	// AllowGroupMissing (the guide's ALLOW_GROUP_MISSING): a request
	// without client or without access group may use every token of the
	// user. Default false: refused with AUTH_GROUP_MISSING.
	AllowGroupMissing bool
	// SessionTimeout and UnusedSessionTimeout apply to sessions opened
	// without access group (user sessions). Defaults DefaultTimeout and
	// DefaultUnusedTimeout.
	SessionTimeout, UnusedSessionTimeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand is read for session IDs and salts. Default crypto/rand.Reader.
	Rand io.Reader
}

// MinKeyLength is the shortest Config.Key New accepts.
const MinKeyLength = 32

// Validate returns nil if c can be used, else every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.Objects == nil {
		errs = append(errs, errors.New("otpme: Config.Objects is required"))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("otpme: Config.Store is required"))
	}
	if len(c.Key) < MinKeyLength {
		errs = append(errs, fmt.Errorf("otpme: Config.Key has %d bytes: give at least %d random bytes, the same to every proxy sharing the store", len(c.Key), MinKeyLength))
	}
	if c.SessionTimeout < 0 || c.UnusedSessionTimeout < 0 {
		errs = append(errs, errors.New("otpme: Config.SessionTimeout and UnusedSessionTimeout must not be negative"))
	}
	return errors.Join(errs...)
}

// Engine is the OTPme policy engine. It is safe for concurrent use; its
// state is in the Store. Verifications of one user wait for each other
// (userLocks).
type Engine struct {
	c     Config
	locks *userLocks // one verification of a user at a time
}

// New returns an Engine for c, with the defaults filled in.
func New(c Config) (*Engine, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = DefaultTimeout
	}
	if c.UnusedSessionTimeout == 0 {
		c.UnusedSessionTimeout = DefaultUnusedTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	c.Key = slices.Clone(c.Key)
	return &Engine{c: c, locks: newUserLocks()}, nil
}

// Request is one login to decide.
type Request struct {
	// User is the OTPme user name (the proxy maps the bind DN to it).
	User string
	// Password is the credential as sent.
	Password Secret
	// Client is the calling client's name, "" for none (the proxy matches
	// the connection to a client).
	Client string
	// ClientIP is the caller's address, checked against the client's
	// allowed addresses and shown in the event.
	ClientIP string
	// AuthType is the authentication type; "" means AuthClearText.
	AuthType string
	// Trace asks for Result.Trace. Without it the trace is not built:
	// formatting it cost more than the rest of a session re-bind
	// (BenchmarkEngine_VerifySessionHit).
	Trace bool
}

// Result is the decision on a Request.
type Result struct {
	// OK: the login is accepted.
	OK bool
	// Event is the one AUTH_* line to log.
	Event Event
	// Kind says how the login was accepted.
	Kind Kind
	// TokenType is the type of the token behind the login ("" if refused).
	TokenType TokenType
	// Trace is the decision, line by line, as the guide's -d output
	// ("DEBUG: …", "INFO: …", "WARNING: …"), the event line last; only
	// with Request.Trace. It names objects but never holds a password or
	// code.
	Trace []string
}

// Verify decides r. A refused login is a Result with OK false and its
// event; the error is non-nil only if Objects or Store failed, and then the
// login is refused too.
func (e *Engine) Verify(ctx context.Context, r Request) (Result, error) {
	if r.AuthType == "" {
		r.AuthType = AuthClearText
	}
	v := &verification{e: e, req: r, now: e.c.Now(), tr: tracer{on: r.Trace}}
	err := v.run(ctx)
	return v.result(err), err
}

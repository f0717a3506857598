package otpme

import (
	"strconv"
	"strings"
	"unicode"
)

// EventCode is the AUTH_* code of a verification, as in the OTPme guide.
type EventCode string

// The event codes. Every verification ends with exactly one. docs/otpme.md
// lists the rule behind each.
const (
	AuthOKStatic            EventCode = "AUTH_OK_STATIC"
	AuthOKOTP               EventCode = "AUTH_OK_OTP"
	AuthOKSession           EventCode = "AUTH_OK_SESSION"
	AuthOKTrustPW           EventCode = "AUTH_OK_TRUST_PW"
	AuthFailed              EventCode = "AUTH_FAILED"
	AuthTokenMissing        EventCode = "AUTH_TOKEN_MISSING"
	AuthUserLocked          EventCode = "AUTH_USER_LOCKED"
	AuthUserUnknown         EventCode = "AUTH_USER_UNKNOWN"
	AuthUserDisabled        EventCode = "AUTH_USER_DISABLED"
	AuthOTPAlreadyUsed      EventCode = "AUTH_OTP_ALREADY_USED"
	AuthSessionMaxLogin     EventCode = "AUTH_SESSION_MAX_LOGIN"
	AuthSessionNoValidGroup EventCode = "AUTH_SESSION_NO_VALID_GROUP"
	AuthSessionLogout       EventCode = "AUTH_SESSION_LOGOUT"
	AuthClientUnknown       EventCode = "AUTH_CLIENT_UNKNOWN"
	AuthClientDisabled      EventCode = "AUTH_CLIENT_DISABLED"
	AuthClientAddress       EventCode = "AUTH_CLIENT_ADDRESS_DENIED"
	AuthGroupMissing        EventCode = "AUTH_GROUP_MISSING"
	AuthGroupUnknown        EventCode = "AUTH_GROUP_UNKNOWN"
	AuthGroupDisabled       EventCode = "AUTH_GROUP_DISABLED"
)

// OK reports whether c is one of the AUTH_OK_* codes.
func (c EventCode) OK() bool { return strings.HasPrefix(string(c), "AUTH_OK_") }

// Event is the one line logged per verification. It never holds a password
// or code.
type Event struct {
	// Code is the AUTH_* code.
	Code EventCode
	// User is the user name of the request.
	User string
	// Token is the token that verified (or whose code was already used).
	Token string
	// AccessGroup is the request's access group ("" for none).
	AccessGroup string
	// Client and ClientIP are from the request.
	Client, ClientIP string
	// AuthType is the request's authentication type.
	AuthType string
	// Session is "new:<id>" for a session this login opened, "<id>" for a
	// session it used, "" otherwise.
	Session string
}

// String formats e as the guide does:
//
//	AUTH_OK_OTP: user=testuser1 token=mobile-otp access_group=webmail client=roundcube client_ip= auth_type=clear-text session=new:…
//
// A value with spaces, quotes, '=' or unprintable characters is quoted.
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	b.WriteByte(':')
	for _, kv := range [...][2]string{
		{"user", e.User}, {"token", e.Token}, {"access_group", e.AccessGroup},
		{"client", e.Client}, {"client_ip", e.ClientIP}, {"auth_type", e.AuthType},
		{"session", e.Session},
	} {
		b.WriteString(" " + kv[0] + "=" + logValue(kv[1]))
	}
	return b.String()
}

// logValue returns v as it is if it cannot break a log line, else quoted.
func logValue(v string) string {
	if strings.IndexFunc(v, func(r rune) bool {
		return r == '"' || r == '=' || r == '\'' || unicode.IsSpace(r) || !unicode.IsPrint(r)
	}) < 0 {
		return v
	}
	return strconv.Quote(v)
}

// Kind is how a login was accepted.
type Kind int

// The kinds of an accepted login; KindNone for a refused one.
const (
	KindNone    Kind = iota
	KindStatic       // a static device password
	KindOTP          // a one-time code
	KindSession      // the password of an existing session
	KindTrust        // a client trust password
)

// String returns "none", "static", "otp", "session" or "trust".
func (k Kind) String() string {
	switch k {
	case KindStatic:
		return "static"
	case KindOTP:
		return "otp"
	case KindSession:
		return "session"
	case KindTrust:
		return "trust"
	case KindNone:
		return "none"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

package otpme

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Derived passwords (docs/otpme.md has the specification and a test vector).
const (
	// DerivedLength is the length of an SLP and a CTP: 32 lowercase hex
	// characters (the first 16 bytes of the HMAC).
	DerivedLength = 32
	slpMessage    = "ldapotp-slp-v1"
	ctpMessage    = "ldapotp-ctp-v1"
)

// LogoutPassword returns the session logout password (SLP) of a session
// opened with password (the one-time code, or the CTP for a client with
// the trust check): the first 32 characters of the lowercase hex
// HMAC-SHA-256 whose key is password and whose message is the ASCII string
// "ldapotp-slp-v1". Sent instead of the password, it ends the session.
func LogoutPassword(password Secret) Secret {
	return derive(password, []byte(slpMessage))
}

// TrustPassword returns the client trust password (CTP) for a one-time
// code and a client's secret: the first 32 characters of the lowercase hex
// HMAC-SHA-256 whose key is secret and whose message is the ASCII string
// "ldapotp-ctp-v1", one zero byte, and code.
func TrustPassword(secret, code Secret) Secret {
	msg := append([]byte(ctpMessage+"\x00"), code...)
	defer clear(msg)
	return derive(secret, msg)
}

func derive(key, msg []byte) Secret {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	out := make([]byte, DerivedLength)
	hex.Encode(out, m.Sum(nil)[:DerivedLength/2])
	return Secret(out)
}

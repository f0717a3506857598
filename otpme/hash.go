package otpme

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
)

// Purposes of the engine's keyed hashes: one hash per purpose, so that a
// value computed for one can never stand in for another.
const (
	purposeSessionPassword = "ldapotp-otpme-session-password-v1"
	purposeSessionLogout   = "ldapotp-otpme-session-logout-v1"
	purposeFail            = "ldapotp-otpme-fail-v1"
	purposeUsedCode        = "ldapotp-otpme-used-code-v1"
)

// keyedHash returns HMAC-SHA-256 under key of purpose and parts, each
// prefixed with its length (4 bytes, big endian) so that different inputs
// never share an encoding.
func keyedHash(key []byte, purpose string, parts ...[]byte) []byte {
	return sum(hmac.New(sha256.New, key), purpose, parts)
}

// hexHash is keyedHash in lowercase hex, the form the Store keeps.
func hexHash(key []byte, purpose string, parts ...[]byte) string {
	return hex.EncodeToString(keyedHash(key, purpose, parts...))
}

// usedCodeHash is how a used one-time code is stored: SHA-256, not keyed,
// of the token ID and the code. A used code is worth nothing, and replay
// protection must hold even if two proxies sharing a store were given
// different keys.
func usedCodeHash(token string, code []byte) string {
	return hex.EncodeToString(sum(sha256.New(), purposeUsedCode, [][]byte{[]byte(token), code}))
}

func sum(h hash.Hash, purpose string, parts [][]byte) []byte {
	writePart(h, []byte(purpose))
	for _, p := range parts {
		writePart(h, p)
	}
	return h.Sum(nil)
}

func writePart(h hash.Hash, p []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(p)))
	h.Write(n[:])
	h.Write(p)
}

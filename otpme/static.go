package otpme

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Static device passwords.
const (
	// GeneratedPasswordLength is the length of a generated device password:
	// 16 characters of a 32-character alphabet, 80 random bits.
	GeneratedPasswordLength = 16
	// MinPasswordLength is the shortest device password HashPassword takes.
	MinPasswordLength = 16
	// passwordScheme is OpenLDAP's pw-sha2 scheme: base64 of SHA-256 of
	// password||salt, followed by the salt.
	passwordScheme = "{SSHA256}"
	saltLength     = 16
)

// passwordAlphabet has 32 characters without look-alikes (no l, o, 0, 1).
const passwordAlphabet = "abcdefghijkmnpqrstuvwxyz23456789"

// ErrPasswordTooShort is returned by HashPassword for a password shorter
// than MinPasswordLength.
var ErrPasswordTooShort = errors.New("otpme: device password too short")

// GeneratePassword returns a random device password of
// GeneratedPasswordLength characters read from rand.
func GeneratePassword(rand io.Reader) (Secret, error) {
	b := make([]byte, GeneratedPasswordLength)
	if _, err := io.ReadFull(rand, b); err != nil {
		return nil, fmt.Errorf("generate device password: %w", err)
	}
	for i := range b {
		b[i] = passwordAlphabet[b[i]%byte(len(passwordAlphabet))] // 256 % 32 == 0: unbiased
	}
	return Secret(b), nil
}

// HashPassword returns the stored form of a device password:
// "{SSHA256}" + base64(SHA-256(password || salt) || salt) with a random
// 16-byte salt read from rand (OpenLDAP's pw-sha2 format). A fast hash is
// enough because device passwords are random (generated: 80 bits) and at
// least MinPasswordLength long; see docs/otpme.md.
func HashPassword(password Secret, rand io.Reader) (string, error) {
	if len(password) < MinPasswordLength {
		return "", fmt.Errorf("hash device password: %d characters, at least %d: %w",
			len(password), MinPasswordLength, ErrPasswordTooShort)
	}
	salt := make([]byte, saltLength)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return "", fmt.Errorf("hash device password: salt: %w", err)
	}
	return passwordScheme + base64.StdEncoding.EncodeToString(append(ssha256(password, salt), salt...)), nil
}

// CheckPassword reports whether password matches the stored form hash, in
// constant time. A hash in another or a broken format never matches.
func CheckPassword(hash string, password Secret) bool {
	enc, ok := strings.CutPrefix(hash, passwordScheme)
	if !ok {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(raw) <= sha256.Size {
		return false
	}
	digest, salt := raw[:sha256.Size], raw[sha256.Size:]
	return subtle.ConstantTimeCompare(ssha256(password, salt), digest) == 1
}

func ssha256(password, salt []byte) []byte {
	h := sha256.Sum256(bytes.Join([][]byte{password, salt}, nil))
	return h[:]
}

package otpme_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

// Vectors computed independently (Python hashlib/hmac):
//
//	md5(b"171458280" + b"0123456789abcdef" + b"1234").hexdigest()[:6]
//	hmac.new(b"5f0735", b"ldapotp-slp-v1", sha256).hexdigest()[:32]
//	hmac.new(b"dbf549610e49f02a", b"ldapotp-ctp-v1\x00" + b"3a5e9d", sha256).hexdigest()[:32]
const (
	vectorSLP = "a3403cc29b4b41d95dddd1c6125d4f3a"
	vectorCTP = "d59cc2601e6ce94892600519e2b47853"
)

func TestMOTPCode(t *testing.T) {
	secret, pin := otpme.Secret("0123456789abcdef"), otpme.Secret("1234")
	tests := []struct {
		name string
		unix int64
		want string
	}{
		{"start-of-step", 1714582800, "e75d8f"},
		{"end-of-same-step", 1714582809, "e75d8f"},
		{"next-step", 1714582810, "56ffb6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, otpme.MOTPCode(secret, pin, time.Unix(tt.unix, 0)))
		})
	}
}

func TestLogoutPassword(t *testing.T) {
	assert.Equal(t, vectorSLP, string(otpme.LogoutPassword(otpme.Secret("5f0735"))))
	assert.NotEqual(t, vectorSLP, string(otpme.LogoutPassword(otpme.Secret("5f0736"))))
}

func TestTrustPassword(t *testing.T) {
	assert.Equal(t, vectorCTP, string(otpme.TrustPassword(otpme.Secret("dbf549610e49f02a"), otpme.Secret("3a5e9d"))))
	assert.NotEqual(t, vectorCTP, string(otpme.TrustPassword(otpme.Secret("dbf549610e49f02b"), otpme.Secret("3a5e9d"))))
}

// TestDocs_Vectors keeps docs/otpme.md's worked examples equal to the
// code's.
func TestDocs_Vectors(t *testing.T) {
	doc, err := os.ReadFile("../docs/otpme.md")
	require.NoError(t, err)
	for _, v := range []string{vectorSLP, vectorCTP, "e75d8f", "dbf549610e49f02a", "ldapotp-slp-v1", "ldapotp-ctp-v1"} {
		assert.Contains(t, string(doc), v)
	}
}

func TestHashPassword(t *testing.T) {
	pw := otpme.Secret("yahxoqueethequiw")
	salt := bytes.NewReader([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	h, err := otpme.HashPassword(pw, salt)
	require.NoError(t, err)
	// OpenLDAP pw-sha2's {SSHA256} of the same password and salt (Python:
	// b64encode(sha256(pw + salt).digest() + salt)).
	assert.Equal(t, "{SSHA256}er3+CcyATn0DW4elOHUFVAFHqwhtCbZEOWe8Ubj6YdUAAQIDBAUGBwgJCgsMDQ4P", h)

	_, err = otpme.HashPassword(otpme.Secret("short"), salt)
	require.ErrorIs(t, err, otpme.ErrPasswordTooShort)
	assert.NotContains(t, err.Error(), "short\"", "the error does not quote the password")

	_, err = otpme.HashPassword(pw, bytes.NewReader(nil))
	require.Error(t, err, "no randomness, no hash")
}

func TestCheckPassword(t *testing.T) {
	const h = "{SSHA256}er3+CcyATn0DW4elOHUFVAFHqwhtCbZEOWe8Ubj6YdUAAQIDBAUGBwgJCgsMDQ4P"
	tests := []struct {
		name string
		hash string
		pw   string
		want bool
	}{
		{"right", h, "yahxoqueethequiw", true},
		{"wrong", h, "yahxoqueethequix", false},
		{"prefix", h, "yahxoqueethequi", false},
		{"empty", h, "", false},
		{"other-scheme", strings.Replace(h, "SSHA256", "SSHA", 1), "yahxoqueethequiw", false},
		{"bad-base64", "{SSHA256}!!!", "yahxoqueethequiw", false},
		{"no-salt", "{SSHA256}er3+CcyATn0DW4elOHUFVAFHqwhtCbZEOWe8Ubj6YdU=", "yahxoqueethequiw", false},
		{"empty-hash", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, otpme.CheckPassword(tt.hash, otpme.Secret(tt.pw)))
		})
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		pw, err := otpme.GeneratePassword(rand.Reader)
		require.NoError(t, err)
		require.Len(t, pw, otpme.GeneratedPasswordLength)
		assert.Regexp(t, `^[a-km-np-z2-9]+$`, string(pw))
		assert.False(t, seen[string(pw)], "passwords repeat")
		seen[string(pw)] = true
	}
	_, err := otpme.GeneratePassword(bytes.NewReader([]byte{1, 2}))
	require.Error(t, err, "no randomness, no password")
}

func TestSecret_Redacted(t *testing.T) {
	s := otpme.Secret("hunter22")
	for _, f := range []string{"%v", "%s", "%q", "%x", "%+v", "%#v", "%d"} {
		assert.Equal(t, "[redacted]", fmt.Sprintf(f, s), f)
	}
	assert.Equal(t, "{[redacted]}", fmt.Sprint(struct{ P otpme.Secret }{s}), "inside a struct")
	assert.Equal(t, "[redacted]", s.LogValue().String())
	assert.True(t, s.Equal(otpme.Secret("hunter22")))
	assert.False(t, s.Equal(otpme.Secret("hunter2")))
	s.Zero()
	assert.Equal(t, make([]byte, 8), []byte(s))
}

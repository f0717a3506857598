package oath_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ldapotp/ldapotp/oath"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name        string
		cred        string
		digits      int
		static, otp string
		ok          bool
	}{
		{"password-and-code", "secret123456", 6, "secret", "123456", true},
		{"exactly-digits-empty-static", "123456", 6, "", "123456", true},
		{"shorter-than-digits", "12345", 6, "", "", false},
		{"empty", "", 6, "", "", false},
		{"no-trimming", " pass 123456 ", 6, " pass 1", "23456 ", true},
		{"no-separator", "pass:123456", 6, "pass:", "123456", true},
		{"utf8-split-by-bytes", "pässwörd", 3, "pässw\xc3", "\xb6rd", true},
		{"utf8-code-of-multibyte", "x€", 3, "x", "€", true},
		{"1-digit", "pw7", 1, "pw", "7", true},
		{"8-digits", "pw12345678", 8, "pw", "12345678", true},
		{"digits-0", "pw123456", 0, "", "", false},
		{"digits-9", "pw123456789", 9, "", "", false},
		{"digits-negative", "pw123456", -1, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			static, otp, ok := oath.Split([]byte(tt.cred), tt.digits)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.static, string(static))
			assert.Equal(t, tt.otp, string(otp))
			if ok {
				assert.Len(t, otp, tt.digits)
			}
		})
	}
}

func TestSplit_StaticCannotOverwriteOTP(t *testing.T) {
	cred := []byte("pw123456")
	static, otp, ok := oath.Split(cred, 6)
	assert.True(t, ok)
	_ = append(static, "XXXXXX"...)
	assert.Equal(t, "123456", string(otp))
	assert.Equal(t, "pw123456", string(cred))
}

package oath_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/oath"
)

var hotp6 = oath.HOTPParams{Digits: 6, Algorithm: oath.SHA1, LookAhead: 0}

// code returns the SHA1 code of seed20 for counter as bytes.
func code(counter int64, digits int) []byte {
	return []byte(oath.Code(oath.SHA1, seed20, counter, digits))
}

func TestVerifyHOTP(t *testing.T) {
	la := func(l int64) oath.HOTPParams { p := hotp6; p.LookAhead = l; return p }
	tests := []struct {
		name   string
		p      oath.HOTPParams
		last   int64
		code   []byte
		want   int64
		wantOK bool
	}{
		{"first-code-is-counter-0", hotp6, -1, []byte("755224"), 0, true},
		{"next-code", hotp6, 0, []byte("287082"), 1, true},
		{"lookahead-0-rejects-second-next", hotp6, 0, []byte("359152"), 0, false},
		{"lookahead-3-accepts-next", la(3), 10, code(11, 6), 11, true},
		{"lookahead-3-accepts-plus-4", la(3), 10, code(14, 6), 14, true},
		{"lookahead-3-rejects-plus-5", la(3), 10, code(15, 6), 0, false},
		{"replay-of-last", la(3), 10, code(10, 6), 0, false},
		{"below-last", la(3), 10, code(9, 6), 0, false},
		{"far-below-last", la(3), 10, code(0, 6), 0, false},
		{"negative-last-taken-as-is", la(5), -5, code(0, 6), 0, true},
		{"negative-match-is-no-match", la(5), -5, code(-3, 6), 0, false},
		{"last-at-max-int64", la(3), math.MaxInt64, code(math.MinInt64, 6), 0, false},
		{"counter-max-int64", la(3), math.MaxInt64 - 1, code(math.MaxInt64, 6), math.MaxInt64, true},
		{"no-wrap-past-max-int64", la(3), math.MaxInt64 - 1, code(math.MinInt64, 6), 0, false},
		{"lookahead-max", la(oath.MaxLookAhead), -1, code(oath.MaxLookAhead, 6), oath.MaxLookAhead, true},
		{"lookahead-above-max", la(oath.MaxLookAhead + 1), -1, code(0, 6), 0, false},
		{"lookahead-absurd", la(math.MaxInt64), -1, code(0, 6), 0, false},
		{"lookahead-negative", la(-1), -1, code(0, 6), 0, false},
		{"lookahead-min-int64", la(math.MinInt64), -1, code(0, 6), 0, false},
		{"digits-0", oath.HOTPParams{Digits: 0, Algorithm: oath.SHA1}, -1, []byte{}, 0, false},
		{"digits-0-nil-code", oath.HOTPParams{Digits: 0, Algorithm: oath.SHA1}, -1, nil, 0, false},
		{"digits-9", oath.HOTPParams{Digits: 9, Algorithm: oath.SHA1}, -1, []byte("284755224"), 0, false},
		{"algorithm-unknown", oath.HOTPParams{Digits: 6}, -1, []byte("755224"), 0, false},
		{"code-too-short", hotp6, -1, []byte("75522"), 0, false},
		{"code-too-long", hotp6, -1, []byte("7552240"), 0, false},
		{"code-with-space", hotp6, -1, []byte(" 755224"), 0, false},
		{"code-empty", hotp6, -1, nil, 0, false},
		{"other-algorithm", oath.HOTPParams{Digits: 6, Algorithm: oath.SHA256}, -1, []byte("755224"), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := oath.VerifyHOTP(tt.p, seed20, tt.last, tt.code)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestVerifyHOTP_HighestCounterWins(t *testing.T) {
	// Find a < b with the same 1-digit code and no other occurrence between.
	seen := map[string]int64{}
	a, b := int64(-1), int64(-1)
	for c := int64(0); b < 0; c++ {
		k := string(code(c, 1))
		if prev, ok := seen[k]; ok && c-prev >= 2 {
			a, b = prev, c
		}
		seen[k] = c
	}
	p := oath.HOTPParams{Digits: 1, Algorithm: oath.SHA1, LookAhead: b - a}
	got, ok := oath.VerifyHOTP(p, seed20, a-1, code(a, 1))
	require.True(t, ok)
	assert.Equal(t, b, got, "candidates %d..%d match at %d and %d", a, b, a, b)

	p.LookAhead = b - a - 1 // b out of reach: a matches
	got, ok = oath.VerifyHOTP(p, seed20, a-1, code(a, 1))
	require.True(t, ok)
	assert.Equal(t, a, got)
}

// TestVerifyHOTP_Reference compares VerifyHOTP with a direct reading of the
// slapo-otp rule on many 1-digit cases, where multiple matches are common.
func TestVerifyHOTP_Reference(t *testing.T) {
	for _, last := range []int64{-1, 0, 7, 100, -20} {
		for l := int64(0); l <= 12; l++ {
			for d := byte('0'); d <= '9'; d++ {
				want, wantOK := int64(0), false
				for c := last + 1; c <= last+1+l; c++ {
					if string(code(c, 1)) == string(d) {
						want, wantOK = c, true
					}
				}
				if want < 0 { // slapo-otp: a negative match is no match
					want, wantOK = 0, false
				}
				p := oath.HOTPParams{Digits: 1, Algorithm: oath.SHA1, LookAhead: l}
				got, ok := oath.VerifyHOTP(p, seed20, last, []byte{d})
				if got != want || ok != wantOK {
					t.Errorf("last %d L %d code %c: got %d,%v want %d,%v", last, l, d, got, ok, want, wantOK)
				}
			}
		}
	}
}

func TestVerifyHOTP_DoesNotModifyInputs(t *testing.T) {
	key := append([]byte(nil), seed20...)
	c := code(0, 6)
	_, ok := oath.VerifyHOTP(hotp6, key, -1, c)
	require.True(t, ok)
	assert.Equal(t, seed20, key)
	assert.Equal(t, []byte("755224"), c)
}

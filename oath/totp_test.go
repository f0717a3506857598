package oath_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/oath"
)

var totp6 = oath.TOTPParams{Digits: 6, Algorithm: oath.SHA1, Period: 30, Window: 1}

func TestVerifyTOTP(t *testing.T) {
	now := time.Unix(1700000000, 0) // step 56666666, 20 s into it
	const t0 = 1700000000 / 30
	with := func(f func(*oath.TOTPParams)) oath.TOTPParams { p := totp6; f(&p); return p }
	tests := []struct {
		name      string
		p         oath.TOTPParams
		last      int64
		drift     int64
		now       time.Time
		code      []byte
		wantStep  int64
		wantDrift int64
		wantOK    bool
	}{
		{"current-step", totp6, -1, 0, now, code(t0, 6), t0, 0, true},
		{"previous-step", totp6, -1, 0, now, code(t0-1, 6), t0 - 1, -1, true},
		{"next-step", totp6, -1, 0, now, code(t0+1, 6), t0 + 1, 1, true},
		{"outside-window-before", totp6, -1, 0, now, code(t0-2, 6), 0, 0, false},
		{"outside-window-after", totp6, -1, 0, now, code(t0+2, 6), 0, 0, false},
		{"window-0-only-current", with(func(p *oath.TOTPParams) { p.Window = 0 }), -1, 0, now, code(t0-1, 6), 0, 0, false},
		{"window-3-accepts-minus-3", with(func(p *oath.TOTPParams) { p.Window = 3 }), -1, 0, now, code(t0-3, 6), t0 - 3, -3, true},
		{"window-3-rejects-plus-4", with(func(p *oath.TOTPParams) { p.Window = 3 }), -1, 0, now, code(t0+4, 6), 0, 0, false},
		{"step-start", totp6, -1, 0, time.Unix(t0*30, 0), code(t0, 6), t0, 0, true},
		{"step-end-with-nanoseconds", totp6, -1, 0, time.Unix(t0*30+29, 999999999), code(t0, 6), t0, 0, true},
		{"replay-same-step", totp6, t0, 0, now, code(t0, 6), 0, 0, false},
		{"replay-after-future-step", totp6, t0 + 1, 0, now, code(t0, 6), 0, 0, false},
		{"future-after-current", totp6, t0, 0, now, code(t0+1, 6), t0 + 1, 1, true},
		{"previous-after-current-used", totp6, t0, 0, now, code(t0-1, 6), 0, 0, false},
		{"current-after-previous-used", totp6, t0 - 1, 0, now, code(t0, 6), t0, 0, true},
		{"drift-shifts-window", with(func(p *oath.TOTPParams) { p.Window = 0 }), -1, 5, now, code(t0+5, 6), t0 + 5, 5, true},
		{"drift-shifts-window-away", with(func(p *oath.TOTPParams) { p.Window = 0 }), -1, 5, now, code(t0, 6), 0, 0, false},
		{"drift-plus-offset", totp6, -1, -3, now, code(t0-4, 6), t0 - 4, -4, true},
		{"drift-back-toward-zero", totp6, -1, -1, now, code(t0, 6), t0, 0, true},
		{"before-1970-negative-step-is-no-match", totp6, -3, 0, time.Unix(-1, 0), code(-1, 6), 0, 0, false},
		{"before-1970-floor-division", totp6, -3, 0, time.Unix(-1, 0), code(0, 6), 0, 1, true},
		{"before-1970-not-truncated", with(func(p *oath.TOTPParams) { p.Window = 0 }), -3, 0, time.Unix(-1, 0), code(0, 6), 0, 0, false},
		{"before-1970-exact-multiple", with(func(p *oath.TOTPParams) { p.Window = 0 }), -3, 2, time.Unix(-60, 0), code(0, 6), 0, 2, true},
		{"period-1", with(func(p *oath.TOTPParams) { p.Period = 1; p.Window = 0 }), -1, 0, now, code(1700000000, 6), 1700000000, 0, true},
		{"period-0", with(func(p *oath.TOTPParams) { p.Period = 0 }), -1, 0, now, code(t0, 6), 0, 0, false},
		{"period-negative", with(func(p *oath.TOTPParams) { p.Period = -30 }), -1, 0, now, code(-t0, 6), 0, 0, false},
		{"window-negative", with(func(p *oath.TOTPParams) { p.Window = -1 }), -1, 0, now, code(t0, 6), 0, 0, false},
		{"window-min-int64", with(func(p *oath.TOTPParams) { p.Window = math.MinInt64 }), -1, 0, now, code(t0, 6), 0, 0, false},
		{"window-above-max", with(func(p *oath.TOTPParams) { p.Window = oath.MaxWindow + 1 }), -1, 0, now, code(t0, 6), 0, 0, false},
		{"window-max", with(func(p *oath.TOTPParams) { p.Window = oath.MaxWindow }), -1, 0, now, code(t0-oath.MaxWindow, 6), t0 - oath.MaxWindow, -oath.MaxWindow, true},
		{"digits-0", with(func(p *oath.TOTPParams) { p.Digits = 0 }), -1, 0, now, []byte{}, 0, 0, false},
		{"digits-9", with(func(p *oath.TOTPParams) { p.Digits = 9 }), -1, 0, now, []byte("123456789"), 0, 0, false},
		{"algorithm-unknown", with(func(p *oath.TOTPParams) { p.Algorithm = 0 }), -1, 0, now, code(t0, 6), 0, 0, false},
		{"code-too-short", totp6, -1, 0, now, code(t0, 6)[1:], 0, 0, false},
		{"code-too-long", totp6, -1, 0, now, append(code(t0, 6), '0'), 0, 0, false},
		{"drift-overflow", totp6, -1, math.MaxInt64, now, code(t0, 6), 0, 0, false},
		{"no-wrap-below-min-int64", totp6, math.MinInt64, math.MinInt64, time.Unix(0, 0), code(math.MaxInt64, 6), 0, 0, false},
		{"step-max-int64", with(func(p *oath.TOTPParams) { p.Period = 1 }), -1, math.MaxInt64 - 1, time.Unix(1, 0), code(math.MaxInt64, 6), math.MaxInt64, math.MaxInt64 - 1, true},
		{"no-wrap-above-max-int64", with(func(p *oath.TOTPParams) { p.Period = 1 }), -1, math.MaxInt64 - 1, time.Unix(1, 0), code(math.MinInt64, 6), 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, drift, ok := oath.VerifyTOTP(tt.p, seed20, tt.last, tt.drift, tt.now, tt.code)
			assert.Equal(t, tt.wantOK, ok)
			if tt.wantOK {
				assert.Equal(t, tt.wantStep, step, "step")
				assert.Equal(t, tt.wantDrift, drift, "drift")
			} else {
				assert.Zero(t, step)
				assert.Zero(t, drift)
			}
		})
	}
}

// visitOrder is slapo-otp's candidate order for window 3, written out.
var visitOrder = []int64{0, -1, 1, -2, 2, -3, 3}

// referenceTOTP applies the slapo-otp rule directly: the last candidate
// visited that matches wins.
func referenceTOTP(w int, last, t int64, c []byte) (offset int64, ok bool) {
	for _, i := range visitOrder[:2*w+1] {
		if t+i > last && string(code(t+i, len(c))) == string(c) {
			offset, ok = i, true
		}
	}
	return offset, ok
}

// findStep returns a time step where the 1-digit codes of the window at
// offsets in same are all equal and differ from those at offsets in other.
func findStep(t *testing.T, same, other []int64) (int64, []byte) {
	t.Helper()
	for s := int64(1000); s < 1000000; s++ {
		c := code(s+same[0], 1)
		found := true
		for _, i := range same {
			found = found && string(code(s+i, 1)) == string(c)
		}
		for _, i := range other {
			found = found && string(code(s+i, 1)) != string(c)
		}
		if found {
			return s, c
		}
	}
	t.Fatalf("no step with matches at %v only", same)
	return 0, nil
}

func TestVerifyTOTP_LastVisitedWins(t *testing.T) {
	tests := []struct {
		name       string
		same       []int64 // offsets with the same code; the last visited wins
		want       int64
		last       int64 // relative to t
		wantAbsent bool
	}{
		{"minus-1-and-minus-2-records-minus-2", []int64{-1, -2}, -2, -100, false},
		{"not-the-closest-0-and-plus-2", []int64{0, 2}, 2, -100, false},
		{"not-the-highest-plus-1-and-minus-2", []int64{1, -2}, -2, -100, false},
		{"plus-2-beats-minus-2", []int64{-2, 2}, 2, -100, false},
		{"replay-skips-minus-2", []int64{-1, -2}, -1, -2, false},
		{"replay-skips-all", []int64{-1, -2}, 0, -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var other []int64
			for _, i := range visitOrder[:5] {
				if !contains(tt.same, i) {
					other = append(other, i)
				}
			}
			s, c := findStep(t, tt.same, other)
			p := oath.TOTPParams{Digits: 1, Algorithm: oath.SHA1, Period: 30, Window: 2}
			step, drift, ok := oath.VerifyTOTP(p, seed20, s+tt.last, 0, time.Unix(s*30, 0), c)
			if tt.wantAbsent {
				assert.False(t, ok)
				return
			}
			require.True(t, ok)
			assert.Equal(t, s+tt.want, step)
			assert.Equal(t, tt.want, drift)
		})
	}
}

func contains(s []int64, v int64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestVerifyTOTP_Reference compares VerifyTOTP with referenceTOTP on many
// 1-digit cases, windows 0..3, with and without a replay limit.
func TestVerifyTOTP_Reference(t *testing.T) {
	for s := int64(5000); s < 5200; s++ {
		for w := 0; w <= 3; w++ {
			for _, last := range []int64{-1, s - 2, s, s + 1} {
				for d := byte('0'); d <= '9'; d++ {
					c := []byte{d}
					wantOff, wantOK := referenceTOTP(w, last, s, c)
					p := oath.TOTPParams{Digits: 1, Algorithm: oath.SHA1, Period: 30, Window: int64(w)}
					step, drift, ok := oath.VerifyTOTP(p, seed20, last, 0, time.Unix(s*30+7, 0), c)
					if ok != wantOK || (ok && (step != s+wantOff || drift != wantOff)) {
						t.Fatalf("t %d W %d last %d code %c: got %d,%d,%v want offset %d,%v",
							s, w, last, d, step, drift, ok, wantOff, wantOK)
					}
				}
			}
		}
	}
}

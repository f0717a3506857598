package oath

import (
	"errors"
	"fmt"
	"time"
)

// TOTPParams are the TOTP settings of a token, as read from its
// oathTOTPParams entry.
type TOTPParams struct {
	// Digits is the code length (oathOTPLength), 1..8.
	Digits int
	// Algorithm is the HMAC hash (oathHMACAlgorithm, see AlgorithmFromOID).
	Algorithm Algorithm
	// Period is the time step in seconds (oathTOTPTimeStepPeriod), >= 1.
	// slapo-otp crashes on 0; we never match.
	Period int64
	// Window (oathTOTPTimeStepWindow, 0 if absent) is how many steps before
	// and after the current one are accepted as well, 0..MaxWindow.
	Window int64
}

// Validate returns nil if p can match at all, and otherwise every problem
// at once (joined), each naming the field and wrapping ErrBadDigits,
// ErrUnsupportedAlgorithm, ErrBadPeriod or ErrBadWindow.
func (p TOTPParams) Validate() error {
	var period, window error
	if p.Period < 1 {
		period = fmt.Errorf("oath: Period (oathTOTPTimeStepPeriod) = %d: %w", p.Period, ErrBadPeriod)
	}
	if p.Window < 0 || p.Window > MaxWindow {
		window = fmt.Errorf("oath: Window (oathTOTPTimeStepWindow) = %d: %w", p.Window, ErrBadWindow)
	}
	return errors.Join(validateDigits(p.Digits), validateAlgorithm(p.Algorithm), period, window)
}

// VerifyTOTP checks a TOTP code as slapo-otp does. last is the token's
// oathTOTPLastTimeStep (-1 if absent), drift the drift to start from (in
// slapo-otp mode the params entry's oathTOTPTimeStepDrift, i.e. 0), now the
// time the bind request was received.
//
// The current step is t = floor(now.Unix() / Period) + drift. The candidate
// offsets are visited in the order 0, -1, +1, -2, +2, …, -Window, +Window; a
// candidate step t+i at or below last is skipped (replay rule). Every other
// candidate is computed and compared in constant time with the exact bytes of
// code, whose length must be p.Digits; when several match, the one visited
// last wins (not the closest, not the highest).
//
// On a match at offset i VerifyTOTP returns step = t+i (for
// oathTOTPLastTimeStep), newDrift = drift+i (for oathTOTPTimeStepDrift) and
// ok = true. Invalid params, a code of the wrong length or no match return
// 0, 0, false. Candidates whose step or drift would overflow int64 are
// skipped; a winning step below 0 is no match (as in slapo-otp).
func VerifyTOTP(p TOTPParams, key []byte, last int64, drift int64, now time.Time, code []byte) (step int64, newDrift int64, ok bool) {
	if p.Validate() != nil || len(code) != p.Digits {
		return 0, 0, false
	}
	t, inRange := add(floorDiv(now.Unix(), p.Period), drift)
	if !inRange {
		return 0, 0, false
	}
	g := newGenerator(p.Algorithm, key)
	defer g.wipe()
	var m lastMatch
	for k := int64(0); k <= 2*p.Window; k++ {
		i := windowOffset(k)
		s, sOK := add(t, i)
		_, dOK := add(drift, i)
		if !sOK || !dOK || s <= last {
			continue // depends on time, last and drift only, not on code
		}
		m.record(g.matches(s, p.Digits, code), i)
	}
	if m.found == 0 || t+m.value < 0 {
		return 0, 0, false // slapo-otp takes a negative step as "no match"
	}
	return t + m.value, drift + m.value, true
}

// windowOffset returns the k-th offset of the TOTP visiting order
// 0, -1, +1, -2, +2, …
func windowOffset(k int64) int64 {
	if k%2 == 1 {
		return -(k + 1) / 2
	}
	return k / 2
}

// floorDiv returns floor(a / b) for b > 0 (Go's / truncates toward zero,
// which differs for negative a, i.e. times before 1970).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

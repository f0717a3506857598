package oath

import (
	"errors"
	"fmt"
)

// HOTPParams are the HOTP settings of a token, as read from its
// oathHOTPParams entry. There are no defaults.
type HOTPParams struct {
	// Digits is the code length (oathOTPLength), 1..8.
	Digits int
	// Algorithm is the HMAC hash (oathHMACAlgorithm, see AlgorithmFromOID).
	Algorithm Algorithm
	// LookAhead (oathHOTPLookAhead) is how many codes after the next one
	// are accepted as well, 0..MaxLookAhead. 0 accepts only the next code.
	LookAhead int64
}

// Validate returns nil if p can match at all, and otherwise every problem
// at once (joined), each naming the field and wrapping ErrBadDigits,
// ErrUnsupportedAlgorithm or ErrBadLookAhead.
func (p HOTPParams) Validate() error {
	var la error
	if p.LookAhead < 0 || p.LookAhead > MaxLookAhead {
		la = fmt.Errorf("oath: LookAhead (oathHOTPLookAhead) = %d: %w", p.LookAhead, ErrBadLookAhead)
	}
	return errors.Join(validateDigits(p.Digits), validateAlgorithm(p.Algorithm), la)
}

// VerifyHOTP checks an HOTP code as slapo-otp does. last is the token's
// oathHOTPCounter, the counter of the last code used (-1 if the token has
// none; negative or admin-set values are taken as they are). The candidates
// are the counters last+1 … last+1+LookAhead; counters at or below last never
// match. Every candidate is computed and compared in constant time with the
// exact bytes of code, whose length must be p.Digits; if several match, the
// highest counter wins.
//
// On a match VerifyHOTP returns the matched counter, the value to store in
// oathHOTPCounter (the counter used, not the next one), and ok = true.
// Invalid params, a code of the wrong length or no match return 0, false.
// Candidates beyond math.MaxInt64 do not exist. As in slapo-otp (whose
// "no match" is -1), a winning counter below 0 is no match: a token with an
// admin-set negative counter accepts counter 0 next at the earliest.
func VerifyHOTP(p HOTPParams, key []byte, last int64, code []byte) (counter int64, ok bool) {
	if p.Validate() != nil || len(code) != p.Digits {
		return 0, false
	}
	g := newGenerator(p.Algorithm, key)
	defer g.wipe()
	var m lastMatch
	for i := int64(1); i <= p.LookAhead+1; i++ {
		c, inRange := add(last, i)
		if !inRange {
			break // depends on last only, not on code
		}
		m.record(g.matches(c, p.Digits, code), c) // ascending: last match is highest
	}
	if m.found == 0 || m.value < 0 {
		return 0, false // slapo-otp takes a negative counter as "no match"
	}
	return m.value, true
}

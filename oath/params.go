package oath

import (
	"errors"
	"fmt"
)

// Limits on window sizes. slapo-otp has none, so a hostile or mistyped
// directory value can make it compute codes for hours; ours reject the
// params instead (Validate fails, nothing ever matches).
const (
	// MaxLookAhead is the largest HOTP look-ahead accepted: at most
	// MaxLookAhead+1 codes are computed per check.
	MaxLookAhead = 1 << 16
	// MaxWindow is the largest TOTP window accepted: at most 2*MaxWindow+1
	// codes are computed per check, the same work as MaxLookAhead.
	MaxWindow = MaxLookAhead / 2
)

// Sentinel errors wrapped by the Validate methods (which also wrap
// ErrUnsupportedAlgorithm). Test for them with errors.Is.
var (
	// ErrBadDigits is wrapped when a code length is outside 1..8.
	ErrBadDigits = errors.New("OTP length must be 1..8")
	// ErrBadPeriod is wrapped when a TOTP period is below 1 second.
	ErrBadPeriod = errors.New("TOTP period must be at least 1 second")
	// ErrBadLookAhead is wrapped when an HOTP look-ahead is negative or
	// above MaxLookAhead.
	ErrBadLookAhead = errors.New("HOTP look-ahead must be 0..65536")
	// ErrBadWindow is wrapped when a TOTP window is negative or above
	// MaxWindow.
	ErrBadWindow = errors.New("TOTP window must be 0..32768")
)

// validateDigits checks a code length (oathOTPLength).
func validateDigits(digits int) error {
	if digits < 1 || digits > MaxDigits {
		return fmt.Errorf("oath: Digits (oathOTPLength) = %d: %w", digits, ErrBadDigits)
	}
	return nil
}

// validateAlgorithm checks that a is one of the declared algorithms.
func validateAlgorithm(a Algorithm) error {
	if !a.valid() {
		return fmt.Errorf("oath: Algorithm (oathHMACAlgorithm) = %v: %w", a, ErrUnsupportedAlgorithm)
	}
	return nil
}

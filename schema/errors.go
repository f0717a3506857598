package schema

import "errors"

// Sentinel errors of the decoders. Every error a decoder returns wraps one
// or more of them (test with errors.Is) and names the entry's DN and the
// attribute at fault.
var (
	// ErrNotAToken means the entry lacks the token class of the kind asked for
	// (oathHOTPToken or oathTOTPToken). slapo-otp skips such a token.
	ErrNotAToken = errors.New("not an OATH token of this kind")
	// ErrNoSecret means the token has no oathSecret. slapo-otp skips it.
	ErrNoSecret = errors.New("token has no oathSecret")
	// ErrNoParams means the token has no (or an empty) params pointer
	// (oathHOTPParams or oathTOTPParams). slapo-otp skips it.
	ErrNoParams = errors.New("token has no params pointer")
	// ErrNotParams means the params entry lacks the params class of the kind
	// (oathHOTPParams or oathTOTPParams). slapo-otp skips the token.
	ErrNotParams = errors.New("not an OATH params entry of this kind")
	// ErrMissingAttribute means a params entry lacks an attribute that slapo-otp
	// needs and has no default for.
	ErrMissingAttribute = errors.New("required attribute missing")
	// ErrBadValue means a value is malformed, e.g. an integer that does not
	// follow slapd's Integer syntax or does not fit in 64 bits.
	ErrBadValue = errors.New("malformed attribute value")
)

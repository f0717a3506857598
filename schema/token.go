package schema

import (
	"fmt"
	"strconv"
)

// Kind is the kind of an OATH token: HOTP or TOTP.
type Kind int

// The token kinds.
const (
	HOTP Kind = iota + 1
	TOTP
)

// kindInfo is what differs between the kinds in the schema.
type kindInfo struct {
	name        string // String()
	tokenClass  string // class a token entry must have
	paramsAttr  string // pointer from the token to its params entry
	paramsClass string // class the params entry must have
}

var kinds = [...]kindInfo{
	HOTP: {"HOTP", ClassHOTPToken, AttrHOTPParams, ClassHOTPParams},
	TOTP: {"TOTP", ClassTOTPToken, AttrTOTPParams, ClassTOTPParams},
}

// info returns k's schema names, and false for an unknown kind.
func (k Kind) info() (kindInfo, bool) {
	if k != HOTP && k != TOTP {
		return kindInfo{}, false
	}
	return kinds[k], true
}

// String returns "HOTP" or "TOTP" ("Kind(n)" for anything else).
func (k Kind) String() string {
	if info, ok := k.info(); ok {
		return info.name
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Token is a decoded token entry of one kind. The fields of the other kind
// keep their "absent" values (-1 and "").
type Token struct {
	// DN is the token entry's DN.
	DN string
	// Kind is the kind the entry was decoded as.
	Kind Kind
	// Secret is oathSecret, raw bytes used as the HMAC key as they are (no
	// base32 or hex decoding). It shares memory with the Entry: zeroing it
	// wipes both. Never log it.
	Secret []byte
	// ParamsDN is the DN of the params entry (oathHOTPParams or
	// oathTOTPParams).
	ParamsDN string
	// Counter is oathHOTPCounter, the counter of the last HOTP code used; -1
	// if absent (or for a TOTP token).
	Counter int64
	// LastStep is oathTOTPLastTimeStep, the last TOTP step used; -1 if
	// absent (or for an HOTP token).
	LastStep int64
	// Drift is oathTOTPTimeStepDrift of the token, 0 if absent. slapo-otp
	// only writes it; see DecodeTOTPParams for the drift it reads.
	Drift int64
	// HasDrift reports whether the token has oathTOTPTimeStepDrift.
	HasDrift bool
	// CounterRaw, LastStepRaw and DriftRaw are the stored strings of
	// Counter, LastStep and Drift, "" if absent: the compare-and-swap
	// write-back deletes the old value by exactly this value.
	CounterRaw, LastStepRaw, DriftRaw string
}

// DecodeToken decodes a token entry, read with TokenAttributes, as a token
// of the given kind, with slapo-otp's rules: the entry must have the
// objectClass oathHOTPToken or oathTOTPToken (else ErrNotAToken), an
// oathSecret (else ErrNoSecret) and a params pointer (else ErrNoParams).
// The counter, last step and drift are optional; when present they must
// follow slapd's Integer syntax and fit in 64 bits (else ErrBadValue).
// Attributes of the other kind are not looked at. All problems but a
// missing class are reported together.
func DecodeToken(e Entry, kind Kind) (Token, error) {
	info, ok := kind.info()
	if !ok {
		return Token{}, fmt.Errorf("schema: token %q: unknown token kind %v: %w", e.DN, kind, ErrNotAToken)
	}
	if !e.HasObjectClass(info.tokenClass) {
		return Token{}, fmt.Errorf("schema: token %q: %s: no %s: %w", e.DN, AttrObjectClass, info.tokenClass, ErrNotAToken)
	}
	d := &decoder{e: e, what: "token"}
	t := Token{DN: e.DN, Kind: kind, Counter: -1, LastStep: -1}
	t.Secret = d.secret()
	t.ParamsDN = d.pointer(info.paramsAttr)
	if kind == HOTP {
		t.Counter, t.CounterRaw, _ = d.integer(AttrHOTPCounter, -1)
	} else {
		t.LastStep, t.LastStepRaw, _ = d.integer(AttrTOTPLastStep, -1)
		t.Drift, t.DriftRaw, t.HasDrift = d.integer(AttrTOTPDrift, 0)
	}
	if err := d.err(); err != nil {
		return Token{}, err
	}
	return t, nil
}

// secret returns oathSecret verbatim (an empty value counts as present, as
// in slapo-otp), recording ErrNoSecret if it is absent.
func (d *decoder) secret() []byte {
	b, ok := d.e.First(AttrSecret)
	if !ok {
		d.fail(AttrSecret, ErrNoSecret)
	}
	return b
}

// pointer returns the params DN in attr, recording ErrNoParams if it is
// absent or empty (the empty DN names no params entry).
func (d *decoder) pointer(attr string) string {
	dn, _ := d.text(attr)
	if dn == "" {
		d.fail(attr, ErrNoParams)
	}
	return dn
}

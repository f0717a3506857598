package schema

import (
	"fmt"

	"github.com/ldapotp/ldapotp/oath"
)

// DecodeHOTPParams decodes an HOTP params entry, read with
// ParamsAttributes. The entry must have objectClass oathHOTPParams (else
// ErrNotParams) and oathOTPLength, oathHMACAlgorithm and oathHOTPLookAhead
// (else ErrMissingAttribute; slapo-otp has no defaults). Integers must
// follow slapd's Integer syntax (else ErrBadValue); an algorithm OID other
// than the five hmacWithSHA* gives an error wrapping
// oath.ErrUnsupportedAlgorithm. All problems but a missing class are
// reported together. The values are not validated: call Validate.
func DecodeHOTPParams(e Entry) (oath.HOTPParams, error) {
	d, err := newParamsDecoder(e, ClassHOTPParams)
	if err != nil {
		return oath.HOTPParams{}, err
	}
	var p oath.HOTPParams
	p.Digits = d.digits()
	p.Algorithm = d.algorithm()
	p.LookAhead = d.requiredInteger(AttrHOTPLookAhead)
	if err := d.err(); err != nil {
		return oath.HOTPParams{}, err
	}
	return p, nil
}

// DecodeTOTPParams decodes a TOTP params entry, read with
// ParamsAttributes, like DecodeHOTPParams: objectClass oathTOTPParams,
// required oathOTPLength, oathHMACAlgorithm and oathTOTPTimeStepPeriod;
// oathTOTPTimeStepWindow is 0 if absent. It also returns the drift that
// slapo-otp starts from: oathTOTPTimeStepDrift of the params entry (not of
// the token), 0 if absent. The values are not validated: call Validate.
func DecodeTOTPParams(e Entry) (oath.TOTPParams, int64, error) {
	d, err := newParamsDecoder(e, ClassTOTPParams)
	if err != nil {
		return oath.TOTPParams{}, 0, err
	}
	var p oath.TOTPParams
	p.Digits = d.digits()
	p.Algorithm = d.algorithm()
	p.Period = d.requiredInteger(AttrTOTPPeriod)
	p.Window, _, _ = d.integer(AttrTOTPWindow, 0)
	drift, _, _ := d.integer(AttrTOTPDrift, 0)
	if err := d.err(); err != nil {
		return oath.TOTPParams{}, 0, err
	}
	return p, drift, nil
}

// newParamsDecoder returns a decoder for e, or ErrNotParams if e lacks
// class.
func newParamsDecoder(e Entry, class string) (*decoder, error) {
	if !e.HasObjectClass(class) {
		return nil, fmt.Errorf("schema: params %q: %s: no %s: %w", e.DN, AttrObjectClass, class, ErrNotParams)
	}
	return &decoder{e: e, what: "params"}, nil
}

// digits decodes the required oathOTPLength.
func (d *decoder) digits() int {
	v := d.requiredInteger(AttrOTPLength)
	if int64(int(v)) != v {
		d.fail(AttrOTPLength, fmt.Errorf("value %d: %w: does not fit in int", v, ErrBadValue))
		return 0
	}
	return int(v)
}

// algorithm decodes the required oathHMACAlgorithm.
func (d *decoder) algorithm() oath.Algorithm {
	oid, ok := d.text(AttrHMACAlgorithm)
	if !ok {
		d.fail(AttrHMACAlgorithm, ErrMissingAttribute)
		return 0
	}
	a, err := oath.AlgorithmFromOID(oid)
	if err != nil {
		d.fail(AttrHMACAlgorithm, err)
		return 0
	}
	return a
}

package oath_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/oath"
)

func TestHOTPParams_Validate(t *testing.T) {
	tests := []struct {
		name   string
		p      oath.HOTPParams
		want   []error // nil: valid
		fields []string
	}{
		{"valid", oath.HOTPParams{Digits: 6, Algorithm: oath.SHA1, LookAhead: 0}, nil, nil},
		{"valid-limits", oath.HOTPParams{Digits: 8, Algorithm: oath.SHA512, LookAhead: oath.MaxLookAhead}, nil, nil},
		{"valid-1-digit", oath.HOTPParams{Digits: 1, Algorithm: oath.SHA224}, nil, nil},
		{"digits-0", oath.HOTPParams{Digits: 0, Algorithm: oath.SHA1}, []error{oath.ErrBadDigits}, []string{"Digits"}},
		{"digits-9", oath.HOTPParams{Digits: 9, Algorithm: oath.SHA1}, []error{oath.ErrBadDigits}, []string{"Digits"}},
		{"digits-negative", oath.HOTPParams{Digits: -6, Algorithm: oath.SHA1}, []error{oath.ErrBadDigits}, []string{"Digits"}},
		{"algorithm-missing", oath.HOTPParams{Digits: 6}, []error{oath.ErrUnsupportedAlgorithm}, []string{"Algorithm"}},
		{"lookahead-negative", oath.HOTPParams{Digits: 6, Algorithm: oath.SHA1, LookAhead: -1}, []error{oath.ErrBadLookAhead}, []string{"LookAhead"}},
		{"lookahead-above-max", oath.HOTPParams{Digits: 6, Algorithm: oath.SHA1, LookAhead: oath.MaxLookAhead + 1}, []error{oath.ErrBadLookAhead}, []string{"LookAhead"}},
		{"all-at-once", oath.HOTPParams{Digits: 9, Algorithm: 99, LookAhead: -5},
			[]error{oath.ErrBadDigits, oath.ErrUnsupportedAlgorithm, oath.ErrBadLookAhead},
			[]string{"Digits", "Algorithm", "LookAhead", "oathOTPLength", "oathHMACAlgorithm", "oathHOTPLookAhead"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkValidate(t, tt.p.Validate(), tt.want, tt.fields)
		})
	}
}

func TestTOTPParams_Validate(t *testing.T) {
	tests := []struct {
		name   string
		p      oath.TOTPParams
		want   []error
		fields []string
	}{
		{"valid", oath.TOTPParams{Digits: 6, Algorithm: oath.SHA1, Period: 30}, nil, nil},
		{"valid-limits", oath.TOTPParams{Digits: 8, Algorithm: oath.SHA384, Period: 1, Window: oath.MaxWindow}, nil, nil},
		{"period-0", oath.TOTPParams{Digits: 6, Algorithm: oath.SHA1}, []error{oath.ErrBadPeriod}, []string{"Period"}},
		{"period-negative", oath.TOTPParams{Digits: 6, Algorithm: oath.SHA1, Period: -30}, []error{oath.ErrBadPeriod}, []string{"Period"}},
		{"window-negative", oath.TOTPParams{Digits: 6, Algorithm: oath.SHA1, Period: 30, Window: -1}, []error{oath.ErrBadWindow}, []string{"Window"}},
		{"window-above-max", oath.TOTPParams{Digits: 6, Algorithm: oath.SHA1, Period: 30, Window: oath.MaxWindow + 1}, []error{oath.ErrBadWindow}, []string{"Window"}},
		{"digits-9", oath.TOTPParams{Digits: 9, Algorithm: oath.SHA1, Period: 30}, []error{oath.ErrBadDigits}, []string{"Digits"}},
		{"all-at-once", oath.TOTPParams{},
			[]error{oath.ErrBadDigits, oath.ErrUnsupportedAlgorithm, oath.ErrBadPeriod},
			[]string{"Digits", "Algorithm", "Period", "oathTOTPTimeStepPeriod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkValidate(t, tt.p.Validate(), tt.want, tt.fields)
		})
	}
}

// checkValidate asserts that err wraps every sentinel in want (or is nil if
// want is empty) and that its message names every field.
func checkValidate(t *testing.T, err error, want []error, fields []string) {
	t.Helper()
	if len(want) == 0 {
		require.NoError(t, err)
		return
	}
	require.Error(t, err)
	for _, w := range want {
		assert.ErrorIs(t, err, w)
	}
	for _, f := range fields {
		assert.Contains(t, err.Error(), f)
	}
}

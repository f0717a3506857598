package schema

import (
	"testing"

	"github.com/ldapotp/ldapotp/oath"
)

const sha256OID = "1.2.840.113549.2.9"

func TestDecodeHOTPParams(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
		want oath.HOTPParams
	}{
		{"typical", entry(paramsDN, "objectClass", "oathHOTPParams", "oathOTPLength", "6",
			"oathHMACAlgorithm", "1.2.840.113549.2.7", "oathHOTPLookAhead", "3"),
			oath.HOTPParams{Digits: 6, Algorithm: oath.SHA1, LookAhead: 3}},
		{"case-insensitive-names", entry(paramsDN, "objectclass", "OATHHOTPPARAMS", "OATHOTPLENGTH", "8",
			"oathhmacalgorithm", "1.2.840.113549.2.11", "OATHHOTPLOOKAHEAD", "0"),
			oath.HOTPParams{Digits: 8, Algorithm: oath.SHA512, LookAhead: 0}},
		{"not-validated", entry(paramsDN, "objectClass", "oathHOTPParams", "oathOTPLength", "0",
			"oathHMACAlgorithm", sha256OID, "oathHOTPLookAhead", "-1"),
			oath.HOTPParams{Digits: 0, Algorithm: oath.SHA256, LookAhead: -1}},
		{"other-kind-attributes-ignored", entry(paramsDN, "objectClass", "oathHOTPParams", "oathOTPLength", "6",
			"oathHMACAlgorithm", sha256OID, "oathHOTPLookAhead", "1", "oathTOTPTimeStepPeriod", "junk"),
			oath.HOTPParams{Digits: 6, Algorithm: oath.SHA256, LookAhead: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeHOTPParams(tt.e)
			if err != nil {
				t.Fatalf("DecodeHOTPParams: %v", err)
			}
			if got != tt.want {
				t.Errorf("DecodeHOTPParams = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeHOTPParams_Errors(t *testing.T) {
	tests := []struct {
		name  string
		pairs []string
		want  []error
		attrs []string
	}{
		{"no-class", []string{"objectClass", "oathTOTPParams", "oathOTPLength", "6",
			"oathHMACAlgorithm", sha256OID, "oathHOTPLookAhead", "1"},
			[]error{ErrNotParams}, []string{"objectClass", "oathHOTPParams"}},
		{"abstract-class-only", []string{"objectClass", "oathParams"},
			[]error{ErrNotParams}, []string{"oathHOTPParams"}},
		{"all-missing", []string{"objectClass", "oathHOTPParams"},
			[]error{ErrMissingAttribute}, []string{"oathOTPLength", "oathHMACAlgorithm", "oathHOTPLookAhead"}},
		{"bad-length", []string{"objectClass", "oathHOTPParams", "oathOTPLength", "six",
			"oathHMACAlgorithm", sha256OID, "oathHOTPLookAhead", "1"},
			[]error{ErrBadValue}, []string{"oathOTPLength", `"six"`}},
		{"huge-look-ahead", []string{"objectClass", "oathHOTPParams", "oathOTPLength", "6",
			"oathHMACAlgorithm", sha256OID, "oathHOTPLookAhead", "99999999999999999999"},
			[]error{ErrBadValue}, []string{"oathHOTPLookAhead"}},
		{"md5", []string{"objectClass", "oathHOTPParams", "oathOTPLength", "6",
			"oathHMACAlgorithm", "1.2.840.113549.2.5", "oathHOTPLookAhead", "1"},
			[]error{oath.ErrUnsupportedAlgorithm}, []string{"oathHMACAlgorithm", "1.2.840.113549.2.5"}},
		{"bare-sha1-oid", []string{"objectClass", "oathHOTPParams", "oathOTPLength", "6",
			"oathHMACAlgorithm", "1.3.14.3.2.26", "oathHOTPLookAhead", "1"},
			[]error{oath.ErrUnsupportedAlgorithm}, []string{"oathHMACAlgorithm"}},
		{"algorithm-and-length", []string{"objectClass", "oathHOTPParams", "oathOTPLength", "+6",
			"oathHMACAlgorithm", "sha1", "oathHOTPLookAhead", "1"},
			[]error{ErrBadValue, oath.ErrUnsupportedAlgorithm}, []string{"oathOTPLength", "oathHMACAlgorithm"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeHOTPParams(entry(paramsDN, tt.pairs...))
			assertErr(t, err, tt.want, append([]string{paramsDN}, tt.attrs...))
			if got != (oath.HOTPParams{}) {
				t.Errorf("DecodeHOTPParams returned %+v with an error", got)
			}
		})
	}
}

func TestDecodeTOTPParams(t *testing.T) {
	base := []string{"objectClass", "oathTOTPParams", "oathOTPLength", "6",
		"oathHMACAlgorithm", "1.2.840.113549.2.7", "oathTOTPTimeStepPeriod", "30"}
	with := func(pairs ...string) []string { return append(append([]string{}, base...), pairs...) }
	tests := []struct {
		name      string
		pairs     []string
		want      oath.TOTPParams
		wantDrift int64
	}{
		{"window-and-drift-default", base,
			oath.TOTPParams{Digits: 6, Algorithm: oath.SHA1, Period: 30, Window: 0}, 0},
		{"window", with("oathTOTPTimeStepWindow", "2"),
			oath.TOTPParams{Digits: 6, Algorithm: oath.SHA1, Period: 30, Window: 2}, 0},
		{"drift-on-params", with("objectClass", "extensibleObject", "oathTOTPTimeStepDrift", "-3"),
			oath.TOTPParams{Digits: 6, Algorithm: oath.SHA1, Period: 30}, -3},
		{"case-insensitive-names", []string{"OBJECTCLASS", "OATHTOTPPARAMS", "oathotplength", "8",
			"OATHHMACALGORITHM", "1.2.840.113549.2.8", "OATHTOTPTIMESTEPPERIOD", "60",
			"oathtotptimestepwindow", "1", "OATHTOTPTIMESTEPDRIFT", "4"},
			oath.TOTPParams{Digits: 8, Algorithm: oath.SHA224, Period: 60, Window: 1}, 4},
		{"not-validated", []string{"objectClass", "oathTOTPParams", "oathOTPLength", "9",
			"oathHMACAlgorithm", "1.2.840.113549.2.10", "oathTOTPTimeStepPeriod", "0",
			"oathTOTPTimeStepWindow", "-1"},
			oath.TOTPParams{Digits: 9, Algorithm: oath.SHA384, Period: 0, Window: -1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, drift, err := DecodeTOTPParams(entry(paramsDN, tt.pairs...))
			if err != nil {
				t.Fatalf("DecodeTOTPParams: %v", err)
			}
			if got != tt.want || drift != tt.wantDrift {
				t.Errorf("DecodeTOTPParams = %+v, %d, want %+v, %d", got, drift, tt.want, tt.wantDrift)
			}
		})
	}
}

func TestDecodeTOTPParams_Errors(t *testing.T) {
	tests := []struct {
		name  string
		pairs []string
		want  []error
		attrs []string
	}{
		{"hotp-params", []string{"objectClass", "oathHOTPParams", "oathOTPLength", "6",
			"oathHMACAlgorithm", sha256OID, "oathTOTPTimeStepPeriod", "30"},
			[]error{ErrNotParams}, []string{"objectClass", "oathTOTPParams"}},
		{"all-missing", []string{"objectClass", "oathTOTPParams"},
			[]error{ErrMissingAttribute}, []string{"oathOTPLength", "oathHMACAlgorithm", "oathTOTPTimeStepPeriod"}},
		{"period-trailing-space", []string{"objectClass", "oathTOTPParams", "oathOTPLength", "6",
			"oathHMACAlgorithm", sha256OID, "oathTOTPTimeStepPeriod", "30 "},
			[]error{ErrBadValue}, []string{"oathTOTPTimeStepPeriod"}},
		{"bad-window", []string{"objectClass", "oathTOTPParams", "oathOTPLength", "6",
			"oathHMACAlgorithm", sha256OID, "oathTOTPTimeStepPeriod", "30", "oathTOTPTimeStepWindow", "-0"},
			[]error{ErrBadValue}, []string{"oathTOTPTimeStepWindow"}},
		{"bad-drift", []string{"objectClass", "oathTOTPParams", "oathOTPLength", "6",
			"oathHMACAlgorithm", sha256OID, "oathTOTPTimeStepPeriod", "30", "oathTOTPTimeStepDrift", "01"},
			[]error{ErrBadValue}, []string{"oathTOTPTimeStepDrift"}},
		{"oid-with-space", []string{"objectClass", "oathTOTPParams", "oathOTPLength", "6",
			"oathHMACAlgorithm", sha256OID + " ", "oathTOTPTimeStepPeriod", "30"},
			[]error{oath.ErrUnsupportedAlgorithm}, []string{"oathHMACAlgorithm"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, drift, err := DecodeTOTPParams(entry(paramsDN, tt.pairs...))
			assertErr(t, err, tt.want, append([]string{paramsDN}, tt.attrs...))
			if got != (oath.TOTPParams{}) || drift != 0 {
				t.Errorf("DecodeTOTPParams returned %+v, %d with an error", got, drift)
			}
		})
	}
}

package schema

import (
	"math"
	"testing"
)

func TestParseInteger(t *testing.T) {
	tests := []struct {
		name, in string
		want     int64
		wantErr  error
	}{
		{"zero", "0", 0, nil},
		{"positive", "5", 5, nil},
		{"negative", "-1", -1, nil},
		{"max", "9223372036854775807", math.MaxInt64, nil},
		{"min", "-9223372036854775808", math.MinInt64, nil},
		{"above-max", "9223372036854775808", 0, errRange},
		{"huge", "99999999999999999999", 0, errRange},
		{"huge-negative", "-99999999999999999999", 0, errRange},
		{"plus-sign", "+5", 0, errNotInteger},
		{"leading-space", " 5", 0, errNotInteger},
		{"trailing-space", "5 ", 0, errNotInteger},
		{"trailing-newline", "5\n", 0, errNotInteger},
		{"minus-zero", "-0", 0, errNotInteger},
		{"leading-zero", "007", 0, errNotInteger},
		{"double-zero", "00", 0, errNotInteger},
		{"negative-leading-zero", "-05", 0, errNotInteger},
		{"bare-minus", "-", 0, errNotInteger},
		{"double-minus", "--5", 0, errNotInteger},
		{"empty", "", 0, errNotInteger},
		{"exponent", "1e3", 0, errNotInteger},
		{"hex", "0x10", 0, errNotInteger},
		{"underscore", "1_000", 0, errNotInteger},
		{"unicode-digit", "٥", 0, errNotInteger},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseInteger(tt.in)
			if got != tt.want || err != tt.wantErr {
				t.Errorf("parseInteger(%q) = %d, %v, want %d, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestFormatInt(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 42, math.MaxInt64, math.MinInt64} {
		s := FormatInt(v)
		if got, err := parseInteger(s); err != nil || got != v {
			t.Errorf("parseInteger(FormatInt(%d) = %q) = %d, %v", v, s, got, err)
		}
	}
}

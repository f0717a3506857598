package schema

import (
	"errors"
	"strconv"
	"strings"
)

// FormatInt formats v the way an integer attribute is stored: decimal, a
// leading '-' if negative, no '+', no leading zeros (slapd's Integer
// syntax). For every v, decoding FormatInt(v) gives v back.
func FormatInt(v int64) string {
	return strconv.FormatInt(v, 10)
}

var (
	errNotInteger = errors.New("not an integer (slapd Integer syntax: 0 or -?[1-9][0-9]*)")
	errRange      = errors.New("integer out of 64-bit range")
)

// parseInteger parses s by slapd's Integer syntax (RFC 4517 3.3.16):
// "0", or an optional '-' and a decimal number without leading zeros. No
// '+', no spaces, no "-0". slapd accepts integers of any size; values
// outside int64 are rejected here.
func parseInteger(s string) (int64, error) {
	if !isInteger(s) {
		return 0, errNotInteger
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errRange
	}
	return v, nil
}

// isInteger reports whether s follows slapd's Integer syntax.
func isInteger(s string) bool {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || (digits[0] == '0' && s != "0") {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

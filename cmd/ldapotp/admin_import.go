package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/ldapotp/ldapotp/oath"
	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/schema"
)

// resyncSearch is how many HOTP counters after the last one used "token
// resync" searches for the two codes.
const resyncSearch = 1000

// parseOTPAuth reads an otpauth:// URI (Key URI Format) into a token spec,
// its secret and, for HOTP, the counter of the last code used ("" if the
// next one is 0).
func parseOTPAuth(raw string) (oathSpec, []byte, string, error) {
	var s oathSpec
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "otpauth" {
		return s, nil, "", usagef("not an otpauth:// URI")
	}
	s.kind = otpme.TokenType(strings.ToLower(u.Host))
	if !s.kind.OATH() {
		return s, nil, "", usagef("otpauth URI type %q: must be hotp or totp", u.Host)
	}
	q := u.Query()
	get := func(k, def string) string {
		if v := q.Get(k); v != "" {
			return v
		}
		return def
	}
	secret, err := decodeBase32(q.Get("secret"))
	if err != nil || len(secret) == 0 {
		return s, nil, "", usagef("otpauth URI: secret missing or not base32")
	}
	if s.alg, err = oath.AlgorithmFromName(strings.ToLower(get("algorithm", "sha1"))); err != nil {
		return s, nil, "", usageError{fmt.Errorf("otpauth URI algorithm: %w", err)}
	}
	s.digits, err = strconv.Atoi(get("digits", "6"))
	if err != nil || s.digits < 1 || s.digits > oath.MaxDigits {
		return s, nil, "", usagef("otpauth URI digits %q: must be 1-8", q.Get("digits"))
	}
	s.period, err = strconv.ParseInt(get("period", "30"), 10, 64)
	if err != nil || s.period < 1 {
		return s, nil, "", usagef("otpauth URI period %q: must be at least 1", q.Get("period"))
	}
	next, err := strconv.ParseInt(get("counter", "0"), 10, 64)
	if err != nil || next < 0 {
		return s, nil, "", usagef("otpauth URI counter %q: must be 0 or more", q.Get("counter"))
	}
	last := ""
	if s.kind == otpme.TokenHOTP && next > 0 {
		last = strconv.FormatInt(next-1, 10)
	}
	return s, secret, last, nil
}

// tokenImport creates an OATH token from an otpauth:// URI (given, or "-"
// for the first line of stdin, which keeps the secret out of the process
// list). The look-ahead and window flags apply; the rest comes from the URI.
func tokenImport(a *admin, args []string) error {
	user, name, err := splitToken(args[0])
	if err != nil {
		return err
	}
	raw, err := a.passwordArg(args[1])
	if err != nil {
		return err
	}
	defer raw.Zero()
	spec, secret, last, err := parseOTPAuth(strings.TrimSpace(string(raw)))
	if err != nil {
		return err
	}
	defer clear(secret)
	spec.lookAhead, spec.window = a.o.lookAhead, a.o.window
	if spec.lookAhead < 0 || spec.window < 0 {
		return usagef("--look-ahead and --window must not be negative")
	}
	if err := a.createOATHToken(spec, user, name, secret, last); err != nil {
		return err
	}
	a.printf("Token %s/%s imported (%s, %d digits, %s)\n", user, name, spec.kind, spec.digits, spec.alg.URIName())
	return nil
}

// tokenResync finds two consecutive codes of an HOTP token within the
// next resyncSearch counters and sets the counter after them, so that a
// token pressed too often outside the look-ahead works again.
func tokenResync(a *admin, args []string) error {
	_, tok, err := a.lookupToken(args[0])
	if err != nil {
		return err
	}
	if tok.Type != otpme.TokenHOTP {
		return fmt.Errorf("token %q is %s: resync is for hotp tokens (TOTP follows the clock; see totp_drift: track)", args[0], tok.Type)
	}
	st, err := a.readOATH(tok)
	if err != nil {
		return err
	}
	c, ok := findConsecutive(st, args[1], args[2])
	if !ok {
		return fmt.Errorf("token %q: the codes are not two consecutive codes within %d counters after the last used", args[0], resyncSearch)
	}
	req := ldap.NewModifyRequest(tok.DN, nil)
	if st.lastRaw != "" {
		req.Delete(schema.AttrHOTPCounter, []string{st.lastRaw}) // fails if a login moved it meanwhile
	}
	req.Add(schema.AttrHOTPCounter, []string{strconv.FormatInt(c+1, 10)})
	if err := a.dir().Modify(a.ctx, req); err != nil {
		return fmt.Errorf("resync %s: %w", tok.DN, err)
	}
	a.printf("Token %s resynchronised: last used counter %d\n", args[0], c+1)
	return nil
}

// findConsecutive returns the counter c after st.last whose code is code1
// and whose successor's is code2.
func findConsecutive(st oathState, code1, code2 string) (int64, bool) {
	prev := ""
	for c := st.last + 1; c <= st.last+1+resyncSearch; c++ {
		cur := oath.Code(st.alg, st.secret, c, st.digits)
		if prev == code1 && cur == code2 {
			return c - 1, true
		}
		prev = cur
	}
	return 0, false
}

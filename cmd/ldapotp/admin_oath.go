package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/ldapotp/ldapotp/oath"
	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/schema"
)

// OATH-LDAP entries of "token add USER/NAME hotp|totp", made the way
// slapo-otp reads them (so slapd's own otp module can use them too):
//
//	cn=USER/NAME,<tokens base>  device + oathHOTPToken|oathTOTPToken:
//	                            oathSecret (raw), oathHOTPParams|oathTOTPParams
//	cn=USER/NAME,<params base>  applicationProcess + oathHOTPParams|oathTOTPParams:
//	                            oathOTPLength, oathHMACAlgorithm (OID),
//	                            oathHOTPLookAhead | oathTOTPTimeStepPeriod + oathTOTPTimeStepWindow
//
// and the user's entry gets oathHOTPUser|oathTOTPUser with the pointer
// oathHOTPToken|oathTOTPToken, unless it points at another token already.

// oathSpec is a new OATH token's parameters.
type oathSpec struct {
	kind      otpme.TokenType
	alg       oath.Algorithm
	digits    int
	period    int64
	lookAhead int
	window    int
}

// oathSpecFromFlags checks the token flags.
func (a *admin) oathSpecFromFlags(kind otpme.TokenType) (oathSpec, error) {
	s := oathSpec{kind: kind, digits: a.o.digits, period: a.o.period, lookAhead: a.o.lookAhead, window: a.o.window}
	switch strings.ToLower(a.o.algorithm) {
	case "sha1", "sha256", "sha512":
	default:
		return s, usagef("--algorithm %q: must be sha1, sha256 or sha512", a.o.algorithm)
	}
	alg, err := oath.AlgorithmFromName(strings.ToLower(a.o.algorithm))
	if err != nil {
		return s, usageError{fmt.Errorf("--algorithm: %w", err)}
	}
	s.alg = alg
	switch {
	case s.digits != 6 && s.digits != 8:
		return s, usagef("--digits %d: must be 6 or 8", s.digits)
	case s.period < 1:
		return s, usagef("--period %d: must be at least 1", s.period)
	case s.lookAhead < 0:
		return s, usagef("--look-ahead %d: must not be negative", s.lookAhead)
	case s.window < 0:
		return s, usagef("--window %d: must not be negative", s.window)
	}
	return s, nil
}

// secretSize is the key length of alg: its hash size.
func (s oathSpec) secretSize() int {
	switch s.alg.URIName() {
	case "SHA256":
		return 32
	case "SHA512":
		return 64
	}
	return 20
}

// oathClasses returns the token class, the params pointer, the user class
// and the user's pointer of kind.
func oathClasses(kind otpme.TokenType) (tokenClass, paramsAttr, userClass, userAttr string) {
	if kind == otpme.TokenTOTP {
		return "oathTOTPToken", schema.AttrTOTPParams, "oathTOTPUser", schema.AttrTOTPToken
	}
	return "oathHOTPToken", schema.AttrHOTPParams, "oathHOTPUser", schema.AttrHOTPToken
}

// oathDNs returns the DNs of the token and params entries of user/name.
func (a *admin) oathDNs(user, name string) (tokenDN, paramsDN string) {
	rdn := "cn=" + rdnValue(user+"/"+name) + ","
	return rdn + a.cfg.base(a.cfg.TokensBase, "tokens"), rdn + a.cfg.base(a.cfg.ParamsBase, "params")
}

// addOATHEntries creates the params and token entries of user/name with
// secret; last is the HOTP counter of the last code used ("" for none).
func (a *admin) addOATHEntries(s oathSpec, user, name string, secret []byte, last string) error {
	tokenDN, paramsDN := a.oathDNs(user, name)
	tokenClass, paramsAttr, _, _ := oathClasses(s.kind)
	p := ldap.NewAddRequest(paramsDN, nil)
	p.Attribute("objectClass", []string{"applicationProcess", strings.Replace(tokenClass, "Token", "Params", 1)})
	p.Attribute("cn", []string{user + "/" + name})
	p.Attribute(schema.AttrOTPLength, []string{strconv.Itoa(s.digits)})
	p.Attribute(schema.AttrHMACAlgorithm, []string{s.alg.OID()})
	if s.kind == otpme.TokenTOTP {
		p.Attribute(schema.AttrTOTPPeriod, []string{strconv.FormatInt(s.period, 10)})
		p.Attribute(schema.AttrTOTPWindow, []string{strconv.Itoa(s.window)})
	} else {
		p.Attribute(schema.AttrHOTPLookAhead, []string{strconv.Itoa(s.lookAhead)})
	}
	if err := a.dir().Add(a.ctx, p); err != nil {
		return fmt.Errorf("create params entry %s: %w", paramsDN, err)
	}
	t := ldap.NewAddRequest(tokenDN, nil)
	t.Attribute("objectClass", []string{"device", tokenClass})
	t.Attribute("cn", []string{user + "/" + name})
	t.Attribute(schema.AttrSecret, []string{string(secret)})
	t.Attribute(paramsAttr, []string{paramsDN})
	if last != "" && s.kind == otpme.TokenHOTP {
		t.Attribute(schema.AttrHOTPCounter, []string{last})
	}
	if err := a.dir().Add(a.ctx, t); err != nil {
		return joinCleanup(fmt.Errorf("create token entry %s: %w", tokenDN, err), a.deleteEntry(paramsDN))
	}
	return nil
}

// linkUserEntry points the user's entry at the token entry for slapd's
// own otp module: the user class and pointer, unless the entry points at
// another token of that kind already (the pointer is single-valued).
func (a *admin) linkUserEntry(u otpme.User, kind otpme.TokenType, tokenDN string) error {
	if u.BindDN == "" {
		fmt.Fprintf(a.errw, "note: user %q has no bind DN; its entry was not linked to %s\n", u.Name, tokenDN)
		return nil
	}
	_, _, userClass, userAttr := oathClasses(kind)
	e, ok, err := a.readEntry(u.BindDN, "objectClass", userAttr)
	if err != nil || !ok {
		return joinCleanup(fmt.Errorf("user entry %s of %q: not found", u.BindDN, u.Name), err)
	}
	if old := e.Values(userAttr); len(old) > 0 {
		fmt.Fprintf(a.errw, "note: %s already has %s %s; left as it is (slapd's otp module keeps using that one)\n",
			u.BindDN, userAttr, old[0])
		return nil
	}
	req := ldap.NewModifyRequest(u.BindDN, nil)
	if !hasValue(e, "objectClass", userClass) {
		req.Add("objectClass", []string{userClass})
	}
	req.Add(userAttr, []string{tokenDN})
	if err := a.dir().Modify(a.ctx, req); err != nil {
		return fmt.Errorf("link %s to %s: %w", u.BindDN, tokenDN, err)
	}
	return nil
}

// removeOATH deletes an OATH token's entry and the params entry made with
// it and, if unlink, the pointer of the user's entry to it.
func (a *admin) removeOATH(u otpme.User, t otpme.Token, unlink bool) error {
	if !t.Type.OATH() || t.DN == "" {
		return nil
	}
	_, paramsAttr, userClass, userAttr := oathClasses(t.Type)
	e, ok, err := a.readEntry(t.DN, "cn", paramsAttr)
	if err != nil {
		return err
	}
	if ok {
		if p := e.Values(paramsAttr); len(p) > 0 && a.ownParams(string(p[0]), e) {
			if err := a.deleteEntry(string(p[0])); err != nil {
				return err
			}
		}
		if err := a.deleteEntry(t.DN); err != nil {
			return err
		}
	}
	if !unlink || u.BindDN == "" {
		return nil
	}
	return a.unlinkUserEntry(u.BindDN, userClass, userAttr, t.DN)
}

// ownParams reports whether the params entry dn was made with the token
// entry tok (same cn, under the params base): shared params stay.
func (a *admin) ownParams(dn string, tok schema.Entry) bool {
	cn := tok.Values("cn")
	base := a.cfg.base(a.cfg.ParamsBase, "params")
	return len(cn) > 0 && strings.EqualFold(dn, "cn="+rdnValue(string(cn[0]))+","+base)
}

// unlinkUserEntry removes the user entry's pointer to tokenDN (and the
// user class, whose pointer TOTP requires).
func (a *admin) unlinkUserEntry(userDN, userClass, userAttr, tokenDN string) error {
	e, ok, err := a.readEntry(userDN, "objectClass", userAttr)
	if err != nil || !ok || !hasValue(e, userAttr, tokenDN) {
		return err
	}
	req := ldap.NewModifyRequest(userDN, nil)
	req.Delete(userAttr, []string{string(e.Values(userAttr)[0])})
	if hasValue(e, "objectClass", userClass) {
		req.Delete("objectClass", []string{userClass})
	}
	if err := a.dir().Modify(a.ctx, req); err != nil {
		return fmt.Errorf("unlink %s from %s: %w", userDN, tokenDN, err)
	}
	return nil
}

// showOTPAuth prints the otpauth:// URI and the QR code (and the PNG
// with --qr): the one time the secret is shown.
func (a *admin) showOTPAuth(s oathSpec, user, name string, secret []byte) error {
	t := tokenFlags{kind: string(s.kind), digits: s.digits, period: s.period, counter: -1}
	uri := otpauthURI(t, s.alg, secret, a.o.issuer, user+"/"+name)
	a.printf("%s\n", uri)
	if err := printQR(a.out, uri, a.o.qr); err != nil {
		return err
	}
	if a.o.qr != "" {
		fmt.Fprintf(a.errw, "QR code written to %s\n", a.o.qr)
	}
	return nil
}

// oathState is an OATH token as its entries hold it.
type oathState struct {
	secret    []byte
	alg       oath.Algorithm
	digits    int
	period    int64 // TOTP
	lookAhead int64 // HOTP
	window    int64 // TOTP
	// last is the HOTP counter or TOTP step of the last code used, -1 if
	// none; lastAttr and lastRaw are its attribute and stored value.
	last              int64
	lastAttr, lastRaw string
}

// readOATH reads an OATH token's entry and params entry.
func (a *admin) readOATH(t otpme.Token) (oathState, error) {
	st := oathState{last: -1, lastAttr: schema.AttrHOTPCounter}
	if t.Type == otpme.TokenTOTP {
		st.lastAttr = schema.AttrTOTPLastStep
	}
	_, paramsAttr, _, _ := oathClasses(t.Type)
	e, ok, err := a.readEntry(t.DN, schema.AttrSecret, paramsAttr, st.lastAttr)
	if err != nil || !ok {
		return st, joinCleanup(fmt.Errorf("token entry %s: not found", t.DN), err)
	}
	p, sec := first(e, paramsAttr), e.Values(schema.AttrSecret)
	if p == "" || len(sec) == 0 {
		return st, fmt.Errorf("token entry %s: no %s or %s", t.DN, schema.AttrSecret, paramsAttr)
	}
	pe, ok, err := a.readEntry(p, schema.AttrOTPLength, schema.AttrHMACAlgorithm, schema.AttrTOTPPeriod,
		schema.AttrHOTPLookAhead, schema.AttrTOTPWindow)
	if err != nil || !ok {
		return st, joinCleanup(fmt.Errorf("params entry %s: not found", p), err)
	}
	st.secret, st.lastRaw = sec[0], first(e, st.lastAttr)
	st.digits, _ = strconv.Atoi(first(pe, schema.AttrOTPLength))
	st.period, _ = strconv.ParseInt(first(pe, schema.AttrTOTPPeriod), 10, 64)
	st.lookAhead, _ = strconv.ParseInt(first(pe, schema.AttrHOTPLookAhead), 10, 64)
	st.window, _ = strconv.ParseInt(first(pe, schema.AttrTOTPWindow), 10, 64)
	if st.lastRaw != "" {
		if st.last, err = strconv.ParseInt(st.lastRaw, 10, 64); err != nil {
			return st, fmt.Errorf("token entry %s: %s %q: %w", t.DN, st.lastAttr, st.lastRaw, err)
		}
	}
	if st.alg, err = oath.AlgorithmFromOID(first(pe, schema.AttrHMACAlgorithm)); err != nil {
		return st, fmt.Errorf("params entry %s: %w", p, err)
	}
	if st.digits < 1 || st.digits > oath.MaxDigits || t.Type == otpme.TokenTOTP && st.period < 1 {
		return st, fmt.Errorf("params entry %s: bad %s or %s", p, schema.AttrOTPLength, schema.AttrTOTPPeriod)
	}
	return st, nil
}

// oathCode returns the next code of an OATH token (HOTP: the counter after
// the last used; TOTP: at now).
func (a *admin) oathCode(t otpme.Token, now int64) (string, error) {
	st, err := a.readOATH(t)
	if err != nil {
		return "", err
	}
	counter := st.last + 1
	if t.Type == otpme.TokenTOTP {
		counter = now / st.period
	}
	return oath.Code(st.alg, st.secret, counter, st.digits), nil
}

// first returns the first value of attr ("" if none).
func first(e schema.Entry, attr string) string {
	if v := e.Values(attr); len(v) > 0 {
		return string(v[0])
	}
	return ""
}

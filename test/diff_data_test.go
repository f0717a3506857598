package test

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/oath"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// tokenDef describes one OATH token and its params entry. Zero values are
// slapo-otp's usual setup: SHA-1, 6 digits, look-ahead 0, period 30, no
// window, no state.
type tokenDef struct {
	totp      bool
	alg       oath.Algorithm
	algOID    string // overrides alg's OID (unsupported algorithms)
	digits    string // oathOTPLength, default "6"
	lookAhead string // HOTP oathHOTPLookAhead, default "0"
	period    string // TOTP oathTOTPTimeStepPeriod, default "30"
	window    string // TOTP oathTOTPTimeStepWindow, "" = absent
	counter   string // initial oathHOTPCounter, "" = absent
	lastRel   *int64 // initial oathTOTPLastTimeStep relative to the current step
	drift     string // initial oathTOTPTimeStepDrift on the token
	// paramsDrift puts oathTOTPTimeStepDrift on the params entry (which
	// then needs extensibleObject), where slapo-otp reads it from.
	paramsDrift    string
	noSecret       bool // token without oathSecret
	noClass        bool // token without the oathHOTPToken/oathTOTPToken class
	danglingParams bool // params pointer to an entry that does not exist
}

func (d tokenDef) kindClass() string {
	if d.totp {
		return "oathTOTPToken"
	}
	return "oathHOTPToken"
}

func (d tokenDef) periodSeconds() int64 {
	if d.period == "" {
		return 30
	}
	var p int64
	fmt.Sscan(d.period, &p)
	if p < 1 {
		return 30 // a broken period: the test's own clock arithmetic uses 30
	}
	return p
}

func (d tokenDef) algorithm() oath.Algorithm {
	if d.alg == 0 {
		return oath.SHA1
	}
	return d.alg
}

func (d tokenDef) digitCount() int {
	if d.digits == "" {
		return 6
	}
	var n int
	fmt.Sscan(d.digits, &n)
	return n
}

// userDef describes a user: which tokens it points at ("" none, or a key
// of the scenario's tokens; "missing" is a dangling DN).
type userDef struct {
	hotp, totp string
	otpClass   bool // oathHOTPUser/oathTOTPUser even without pointers
	plain      bool // no OATH class at all
}

// dataset builds a scenario's entries with DNs unique to the scenario.
type dataset struct {
	prefix string
	keys   map[string][]byte
	step0  map[string]int64 // current step of each TOTP token at load time
}

func (d *dataset) userDN(name string) string {
	return fmt.Sprintf("uid=%s-%s,ou=people,dc=example,dc=com", d.prefix, name)
}

func (d *dataset) tokenDN(name string) string {
	return fmt.Sprintf("cn=%s-%s,ou=tokens,dc=example,dc=com", d.prefix, name)
}

func (d *dataset) paramsDN(name string) string {
	return fmt.Sprintf("cn=%s-%s-params,ou=params,dc=example,dc=com", d.prefix, name)
}

func userPassword(name string) string {
	registerSecret("secret-" + name)
	return "secret-" + name
}

// newKeys makes a random secret for every token (the same on both sides).
func newKeys(tokens map[string]tokenDef) map[string][]byte {
	keys := map[string][]byte{}
	for name, def := range tokens {
		n := map[oath.Algorithm]int{oath.SHA256: 32, oath.SHA384: 48, oath.SHA512: 64}[def.algorithm()]
		keys[name] = make([]byte, max(n, 20))
		_, _ = rand.Read(keys[name])
		registerSecret(string(keys[name]))
		registerSecret(hex.EncodeToString(keys[name]))
		registerSecret(base64.StdEncoding.EncodeToString(keys[name]))
		registerSecret(base32.StdEncoding.EncodeToString(keys[name]))
	}
	return keys
}

// load adds the scenario's entries to a directory as its rootdn.
func (d *dataset) load(t *testing.T, s *slapdtest.Server, sc scenario) {
	t.Helper()
	admin := s.Admin(t)
	for name, def := range sc.tokens {
		if !def.danglingParams {
			add(t, admin, d.paramsDN(name), d.paramsAttrs(def))
		}
		add(t, admin, d.tokenDN(name), d.tokenAttrs(name, def))
	}
	for name, def := range sc.users {
		add(t, admin, d.userDN(name), d.userAttrs(name, def))
	}
}

func add(t *testing.T, c *ldap.Conn, dn string, attrs map[string][]string) {
	t.Helper()
	req := ldap.NewAddRequest(dn, nil)
	for k, v := range attrs {
		req.Attribute(k, v)
	}
	require.NoError(t, c.Add(req), "add %s", dn)
}

func (d *dataset) paramsAttrs(def tokenDef) map[string][]string {
	oid := def.algOID
	if oid == "" {
		oid = def.algorithm().OID()
	}
	digits := def.digits
	if digits == "" {
		digits = "6"
	}
	a := map[string][]string{"oathOTPLength": {digits}, "oathHMACAlgorithm": {oid}}
	if !def.totp {
		a["objectClass"] = []string{"applicationProcess", "oathHOTPParams"}
		a["oathHOTPLookAhead"] = []string{or(def.lookAhead, "0")}
		return a
	}
	a["objectClass"] = []string{"applicationProcess", "oathTOTPParams"}
	a["oathTOTPTimeStepPeriod"] = []string{or(def.period, "30")}
	if def.window != "" {
		a["oathTOTPTimeStepWindow"] = []string{def.window}
	}
	if def.paramsDrift != "" {
		a["objectClass"] = append(a["objectClass"], "extensibleObject")
		a["oathTOTPTimeStepDrift"] = []string{def.paramsDrift}
	}
	return a
}

func (d *dataset) tokenAttrs(name string, def tokenDef) map[string][]string {
	a := map[string][]string{"objectClass": {"device", def.kindClass()}}
	if def.noClass {
		a["objectClass"] = []string{"device", "extensibleObject"}
	}
	if !def.noSecret {
		a["oathSecret"] = []string{string(d.keys[name])}
	}
	params := "oathHOTPParams"
	if def.totp {
		params = "oathTOTPParams"
	}
	a[params] = []string{d.paramsDN(name)}
	if def.counter != "" {
		a["oathHOTPCounter"] = []string{def.counter}
	}
	if def.lastRel != nil {
		a["oathTOTPLastTimeStep"] = []string{fmt.Sprint(d.step0[name] + *def.lastRel)}
	}
	if def.drift != "" {
		a["oathTOTPTimeStepDrift"] = []string{def.drift}
	}
	return a
}

func (d *dataset) userAttrs(name string, def userDef) map[string][]string {
	a := map[string][]string{
		"objectClass":  {"inetOrgPerson"},
		"cn":           {name},
		"sn":           {name},
		"userPassword": {slapdtest.SSHA(userPassword(name))},
	}
	pointer := func(attr, class, tok string) {
		if tok == "" && !def.otpClass {
			return
		}
		a["objectClass"] = append(a["objectClass"], class)
		switch tok {
		case "":
		case "missing":
			a[attr] = []string{d.tokenDN("does-not-exist")}
		default:
			a[attr] = []string{d.tokenDN(tok)}
		}
	}
	if !def.plain {
		pointer("oathHOTPToken", "oathHOTPUser", def.hotp)
		if def.totp != "" {
			pointer("oathTOTPToken", "oathTOTPUser", def.totp)
		}
	}
	return a
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// currentStep returns the TOTP step of now for a period.
func currentStep(period int64) int64 { return time.Now().Unix() / period }

package test

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// TestSecrets_NeverLogged runs binds of every kind through a proxy logging
// at debug level and scans every log line and every answer's diagnostic
// message for the passwords, codes and secrets used: zero hits.
func TestSecrets_NeverLogged(t *testing.T) {
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	p := startProxy(t, plain, func(c *proxy.Config) { c.AllowAnonymous = true })
	sc := scenario{
		tokens: map[string]tokenDef{
			"h": {digits: "8", lookAhead: "2"}, "t": {totp: true, digits: "8", window: "1"},
			"bad": {digits: "8", period: "0", totp: true},
		},
		users: map[string]userDef{"a": {hotp: "h"}, "b": {totp: "t"}, "c": {totp: "bad"}, "plain": {plain: true}},
	}
	waitForStepHeadroom(scenario{tokens: map[string]tokenDef{"t": {totp: true}}})
	d := &dataset{prefix: "sec", keys: newKeys(sc.tokens)}
	d.load(t, plain, sc)
	e := &env{sc: sc, data: d}

	type attempt struct{ user, pw string }
	attempts := []attempt{
		{"a", "secret-a" + e.hotp("h", 0)},            // success
		{"a", "secret-a" + e.hotp("h", 0)},            // replay
		{"a", "wrong-static-pw" + e.hotp("h", 1)},     // code burnt, wrong static
		{"a", "secret-a" + e.hotp("h", 7)},            // outside look-ahead
		{"a", "secret-a"},                             // static only
		{"a", e.hotp("h", 2)},                         // code only
		{"b", "secret-b" + e.totp("t", 0)},            // TOTP success
		{"b", "secret-b" + e.totp("t", 0)},            // TOTP replay
		{"c", "secret-c" + "12345678"},                // broken params
		{"plain", "secret-plain"},                     // pass-through
		{"plain", "wrong-plain-password"},             // pass-through failure
		{"nobody", "no-such-user-password"},           // no entry
		{"a", strings.Repeat("long-password-", 5000)}, // over the length limit
	}
	var answers []string
	for _, a := range attempts {
		c := dial(t, p.URL, 5*time.Second)
		_, err := c.SimpleBind(&ldap.SimpleBindRequest{Username: d.userDN(a.user), Password: a.pw})
		if err != nil {
			answers = append(answers, err.Error())
		}
		c.Close()
	}

	secrets := []string{plain.ServicePassword, "wrong-static-pw", "secret-a", "secret-b", "secret-c",
		"secret-plain", "wrong-plain-password", "no-such-user-password", "long-password-"}
	for _, a := range attempts {
		secrets = append(secrets, a.pw)
	}
	for c := int64(0); c < 10; c++ {
		secrets = append(secrets, e.hotp("h", c))
	}
	for off := int64(-2); off <= 2; off++ {
		secrets = append(secrets, e.totp("t", off))
	}
	for _, key := range d.keys {
		secrets = append(secrets, string(key), hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key),
			base32.StdEncoding.EncodeToString(key), strings.TrimRight(base32.StdEncoding.EncodeToString(key), "="))
	}
	lines := strings.Split(strings.TrimSpace(p.Log.String()), "\n")
	require.Greater(t, len(lines), len(attempts), "debug logging produced the trace")
	hits := 0
	for _, s := range secrets {
		for _, l := range append(lines, answers...) {
			if strings.Contains(l, s) {
				hits++
				t.Errorf("secret %q... found in %q", s[:min(4, len(s))], l)
			}
		}
	}
	t.Logf("scanned %d log lines and %d answers for %d secrets: %d hits", len(lines), len(answers), len(secrets), hits)
	assert.Contains(t, p.Log.String(), "AUTH_OK_OTP")
	assert.Contains(t, p.Log.String(), "AUTH_OTP_ALREADY_USED")
}

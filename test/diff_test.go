package test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ldapotp/ldapotp/oath"
	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// scenario is one differential case: the same entries are loaded into a
// slapd running slapo-otp (the oracle) and into a plain slapd behind
// ldapotp, the same binds are sent to both, and the result codes and the
// token state read back afterwards must be equal — and equal to want, so
// that two sides that both fail cannot pass.
type scenario struct {
	name   string
	tokens map[string]tokenDef
	users  map[string]userDef
	binds  []bindDef
	after  []check
}

// bindDef is one bind of a user with a password built at bind time.
type bindDef struct {
	user string
	pw   func(e *env) string
	want int
}

// check is the expected value of a token attribute after the binds
// (value() is called with the scenario's env).
type check struct {
	token, attr string
	value       func(e *env) string
}

// env gives the password builders the scenario's keys and clock.
type env struct {
	sc   scenario
	data *dataset
}

func (e *env) hotp(tok string, counter int64) string {
	def := e.sc.tokens[tok]
	return oath.Code(def.algorithm(), e.data.keys[tok], counter, def.digitCount())
}

func (e *env) totp(tok string, offset int64) string {
	def := e.sc.tokens[tok]
	return oath.Code(def.algorithm(), e.data.keys[tok], currentStep(def.periodSeconds())+offset, def.digitCount())
}

// Password builders.
func static(user string) func(*env) string { return func(*env) string { return userPassword(user) } }
func literal(s string) func(*env) string   { return func(*env) string { return s } }
func withHOTP(prefix string, tok string, counter int64) func(*env) string {
	return func(e *env) string { return prefix + e.hotp(tok, counter) }
}
func withTOTP(prefix string, tok string, offset int64) func(*env) string {
	return func(e *env) string { return prefix + e.totp(tok, offset) }
}

// State checks.
func is(tok, attr, v string) check {
	return check{tok, attr, func(*env) string { return v }}
}
func stepAt(tok string, off int64) check {
	return check{tok, "oathTOTPLastTimeStep", func(e *env) string { return fmt.Sprint(e.data.step0[tok] + off) }}
}

func ptr(v int64) *int64 { return &v }

const (
	counterAttr = "oathHOTPCounter"
	stepAttr    = "oathTOTPLastTimeStep"
	driftAttr   = "oathTOTPTimeStepDrift"
	pwA         = "secret-a"
)

// scenarios: each names what it shows; the spec section or oracle case it
// reproduces is in the name where there is one.
func scenarios() []scenario {
	h := func(def tokenDef) map[string]tokenDef { return map[string]tokenDef{"t": def} }
	hu := map[string]userDef{"a": {hotp: "t"}}
	tu := map[string]userDef{"a": {totp: "t"}}
	tt := tokenDef{totp: true}
	w1 := tokenDef{totp: true, window: "1"}
	return []scenario{
		// HOTP (spec §6)
		{name: "hotp-first-code-is-counter-0", tokens: h(tokenDef{}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA, "t", 0), 0}}, after: []check{is("t", counterAttr, "0")}},
		{name: "hotp-next-code", tokens: h(tokenDef{counter: "5"}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA, "t", 6), 0}}, after: []check{is("t", counterAttr, "6")}},
		{name: "hotp-replay-refused", tokens: h(tokenDef{counter: "5"}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA, "t", 6), 0}, {"a", withHOTP(pwA, "t", 6), 49}}, after: []check{is("t", counterAttr, "6")}},
		{name: "hotp-counter-itself-refused", tokens: h(tokenDef{counter: "5"}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA, "t", 5), 49}, {"a", withHOTP(pwA, "t", 4), 49}}, after: []check{is("t", counterAttr, "5")}},
		{name: "hotp-lookahead-0-refuses-skip", tokens: h(tokenDef{counter: "5"}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA, "t", 7), 49}}, after: []check{is("t", counterAttr, "5")}},
		{name: "hotp-lookahead-3-accepts-plus-4", tokens: h(tokenDef{counter: "5", lookAhead: "3"}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA, "t", 9), 0}}, after: []check{is("t", counterAttr, "9")}},
		{name: "hotp-lookahead-3-refuses-plus-5", tokens: h(tokenDef{counter: "5", lookAhead: "3"}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA, "t", 10), 49}}, after: []check{is("t", counterAttr, "5")}},
		{name: "hotp-skipped-codes-dead-after-jump", tokens: h(tokenDef{counter: "5", lookAhead: "3"}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA, "t", 8), 0}, {"a", withHOTP(pwA, "t", 7), 49}, {"a", withHOTP(pwA, "t", 9), 0}},
			after: []check{is("t", counterAttr, "9")}},
		{name: "hotp-sha256-8-digits", tokens: h(tokenDef{alg: oath.SHA256, digits: "8", counter: "41"}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA, "t", 42), 0}}, after: []check{is("t", counterAttr, "42")}},
		{name: "hotp-sha512-8-digits", tokens: h(tokenDef{alg: oath.SHA512, digits: "8"}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA, "t", 0), 0}}, after: []check{is("t", counterAttr, "0")}},
		{name: "hotp-sha224", tokens: h(tokenDef{alg: oath.SHA224}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA, "t", 0), 0}}, after: []check{is("t", counterAttr, "0")}},
		{name: "hotp-sha384", tokens: h(tokenDef{alg: oath.SHA384}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA, "t", 0), 0}}, after: []check{is("t", counterAttr, "0")}},
		{name: "hotp-1-digit", tokens: h(tokenDef{digits: "1", lookAhead: "2"}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA, "t", 2), 0}}},
		{name: "hotp-negative-counter-negative-match-is-no-match", tokens: h(tokenDef{counter: "-5", lookAhead: "5"}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA, "t", -4), 49}, {"a", withHOTP(pwA, "t", 0), 0}}, after: []check{is("t", counterAttr, "0")}},
		{name: "hotp-wrong-static-burns-code", tokens: h(tokenDef{counter: "5"}), users: hu,
			binds: []bindDef{{"a", withHOTP("wrong", "t", 6), 49}, {"a", withHOTP(pwA, "t", 6), 49}, {"a", withHOTP(pwA, "t", 7), 0}},
			after: []check{is("t", counterAttr, "7")}},
		{name: "hotp-code-only-burns-code", tokens: h(tokenDef{counter: "5"}), users: hu,
			binds: []bindDef{{"a", withHOTP("", "t", 6), 49}}, after: []check{is("t", counterAttr, "6")}},
		{name: "hotp-static-only-refused", tokens: h(tokenDef{counter: "5"}), users: hu,
			binds: []bindDef{{"a", static("a"), 49}}, after: []check{is("t", counterAttr, "5")}},
		{name: "hotp-shorter-than-digits", tokens: h(tokenDef{counter: "5"}), users: hu,
			binds: []bindDef{{"a", literal("123"), 49}}, after: []check{is("t", counterAttr, "5")}},
		{name: "hotp-space-before-code-is-part-of-static", tokens: h(tokenDef{counter: "5"}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA+" ", "t", 6), 49}}, after: []check{is("t", counterAttr, "6")}},
		{name: "empty-password-is-53", tokens: h(tokenDef{counter: "5"}), users: hu,
			binds: []bindDef{{"a", literal(""), 53}}, after: []check{is("t", counterAttr, "5")}},
		{name: "shared-token-counter-per-token", tokens: h(tokenDef{counter: "5"}),
			users: map[string]userDef{"a": {hotp: "t"}, "b": {hotp: "t"}},
			binds: []bindDef{{"a", withHOTP(pwA, "t", 6), 0}, {"b", withHOTP("secret-b", "t", 6), 49}, {"b", withHOTP("secret-b", "t", 7), 0}},
			after: []check{is("t", counterAttr, "7")}},
		// misconfiguration (spec §9.7): always 49, nothing written
		{name: "missing-token-entry", users: map[string]userDef{"a": {hotp: "missing"}},
			binds: []bindDef{{"a", static("a"), 49}, {"a", literal(pwA + "123456"), 49}}},
		{name: "otp-user-without-token-pointer", users: map[string]userDef{"a": {otpClass: true}},
			binds: []bindDef{{"a", static("a"), 49}}},
		{name: "missing-params-entry", tokens: h(tokenDef{counter: "5", danglingParams: true}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA, "t", 6), 49}}, after: []check{is("t", counterAttr, "5")}},
		{name: "token-without-secret", tokens: h(tokenDef{counter: "5", noSecret: true}), users: hu,
			binds: []bindDef{{"a", literal(pwA + "000000"), 49}}, after: []check{is("t", counterAttr, "5")}},
		{name: "token-without-class", tokens: h(tokenDef{counter: "5", noClass: true}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA, "t", 6), 49}}, after: []check{is("t", counterAttr, "5")}},
		{name: "unsupported-algorithm-md5", tokens: h(tokenDef{algOID: "1.2.840.113549.2.5"}), users: hu,
			binds: []bindDef{{"a", literal(pwA + "123456"), 49}}, after: []check{is("t", counterAttr, "")}},
		{name: "digits-0-never-matches", tokens: h(tokenDef{digits: "0"}), users: hu,
			binds: []bindDef{{"a", static("a"), 49}, {"a", literal(pwA + "0"), 49}}, after: []check{is("t", counterAttr, "")}},
		{name: "digits-9-never-matches", tokens: h(tokenDef{digits: "9"}), users: hu,
			binds: []bindDef{{"a", literal(pwA + "123456789"), 49}}, after: []check{is("t", counterAttr, "")}},
		{name: "negative-lookahead-never-matches", tokens: h(tokenDef{lookAhead: "-1"}), users: hu,
			binds: []bindDef{{"a", withHOTP(pwA, "t", 0), 49}}, after: []check{is("t", counterAttr, "")}},
		// users the overlay does not intercept (spec §2)
		{name: "plain-user-right-password", users: map[string]userDef{"a": {plain: true}},
			binds: []bindDef{{"a", static("a"), 0}}},
		{name: "plain-user-password-plus-digits-is-wrong", users: map[string]userDef{"a": {plain: true}},
			binds: []bindDef{{"a", literal(pwA + "123456"), 49}, {"a", literal("nope"), 49}}},
		// TOTP (spec §7)
		{name: "totp-current-step", tokens: h(tt), users: tu,
			binds: []bindDef{{"a", withTOTP(pwA, "t", 0), 0}}, after: []check{stepAt("t", 0), is("t", driftAttr, "0")}},
		{name: "totp-replay-refused", tokens: h(tt), users: tu,
			binds: []bindDef{{"a", withTOTP(pwA, "t", 0), 0}, {"a", withTOTP(pwA, "t", 0), 49}}, after: []check{stepAt("t", 0)}},
		{name: "totp-window-0-refuses-previous", tokens: h(tt), users: tu,
			binds: []bindDef{{"a", withTOTP(pwA, "t", -1), 49}}, after: []check{is("t", stepAttr, "")}},
		{name: "totp-window-1-previous-step-drift-minus-1", tokens: h(w1), users: tu,
			binds: []bindDef{{"a", withTOTP(pwA, "t", -1), 0}}, after: []check{stepAt("t", -1), is("t", driftAttr, "-1")}},
		{name: "totp-window-1-next-step-then-current-refused", tokens: h(w1), users: tu,
			binds: []bindDef{{"a", withTOTP(pwA, "t", 1), 0}, {"a", withTOTP(pwA, "t", 0), 49}},
			after: []check{stepAt("t", 1), is("t", driftAttr, "1")}},
		{name: "totp-window-1-refuses-minus-2", tokens: h(w1), users: tu,
			binds: []bindDef{{"a", withTOTP(pwA, "t", -2), 49}, {"a", withTOTP(pwA, "t", 2), 49}}, after: []check{is("t", stepAttr, "")}},
		{name: "totp-drift-not-carried-forward", tokens: h(w1), users: tu,
			binds: []bindDef{{"a", withTOTP(pwA, "t", -1), 0}, {"a", withTOTP(pwA, "t", 0), 0}},
			after: []check{stepAt("t", 0), is("t", driftAttr, "0")}},
		{name: "totp-token-drift-ignored-and-overwritten", tokens: h(tokenDef{totp: true, drift: "5"}), users: tu,
			binds: []bindDef{{"a", withTOTP(pwA, "t", 0), 0}}, after: []check{stepAt("t", 0), is("t", driftAttr, "0")}},
		{name: "totp-params-drift-shifts-step", tokens: h(tokenDef{totp: true, paramsDrift: "2"}), users: tu,
			binds: []bindDef{{"a", withTOTP(pwA, "t", 0), 49}, {"a", withTOTP(pwA, "t", 2), 0}},
			after: []check{stepAt("t", 2), is("t", driftAttr, "2")}},
		{name: "totp-last-step-in-future-refuses-current", tokens: h(tokenDef{totp: true, window: "1", lastRel: ptr(1)}), users: tu,
			binds: []bindDef{{"a", withTOTP(pwA, "t", 0), 49}, {"a", withTOTP(pwA, "t", 1), 49}}, after: []check{stepAt("t", 1)}},
		{name: "totp-sha256-8-digits", tokens: h(tokenDef{totp: true, alg: oath.SHA256, digits: "8"}), users: tu,
			binds: []bindDef{{"a", withTOTP(pwA, "t", 0), 0}}, after: []check{stepAt("t", 0)}},
		{name: "totp-sha512-8-digits", tokens: h(tokenDef{totp: true, alg: oath.SHA512, digits: "8"}), users: tu,
			binds: []bindDef{{"a", withTOTP(pwA, "t", 0), 0}}, after: []check{stepAt("t", 0)}},
		{name: "totp-period-60", tokens: h(tokenDef{totp: true, period: "60"}), users: tu,
			binds: []bindDef{{"a", withTOTP(pwA, "t", 0), 0}}, after: []check{stepAt("t", 0)}},
		{name: "totp-wrong-static-burns-code", tokens: h(tt), users: tu,
			binds: []bindDef{{"a", withTOTP("wrong", "t", 0), 49}, {"a", withTOTP(pwA, "t", 0), 49}}, after: []check{stepAt("t", 0)}},
		{name: "totp-code-only-burns-code", tokens: h(tt), users: tu,
			binds: []bindDef{{"a", withTOTP("", "t", 0), 49}}, after: []check{stepAt("t", 0)}},
		// both kinds (spec §4, §9.1: only cases where slapo-otp answers)
		{name: "both-kinds-totp-code-updates-only-totp", tokens: map[string]tokenDef{"t": tt, "h": {counter: "3"}},
			users: map[string]userDef{"a": {totp: "t", hotp: "h"}},
			binds: []bindDef{{"a", withTOTP(pwA, "t", 0), 0}}, after: []check{stepAt("t", 0), is("h", counterAttr, "3")}},
		{name: "dangling-totp-valid-hotp", tokens: map[string]tokenDef{"h": {counter: "3"}},
			users: map[string]userDef{"a": {totp: "missing", hotp: "h"}},
			binds: []bindDef{{"a", withHOTP(pwA, "h", 4), 0}}, after: []check{is("h", counterAttr, "4")}},
	}
}

// TestDifferential_SlapoOTP runs every scenario against slapo-otp and
// against ldapotp in front of a plain slapd and compares what a client and
// the directory see.
func TestDifferential_SlapoOTP(t *testing.T) {
	oracle := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Oracle, NoSync: true})
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	p := startProxy(t, plain)
	differential(t, oracle, plain, p, nil)
}

// TestDifferential_UserIndex: the same scenarios with the user index on
// (syncprov on the plain slapd). After loading a scenario the test waits
// until the index holds its OTP users, as a real enrollment is followed by
// the user's first login well after the directory told the proxy.
func TestDifferential_UserIndex(t *testing.T) {
	oracle := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Oracle, NoSync: true})
	plain, p := startIndexed(t)
	held := 0
	differential(t, oracle, plain, p, func(t *testing.T, sc scenario) {
		held += otpUsers(sc)
		waitForIndex(t, p, func(st proxy.IndexStats) bool { return st.Live && st.Users == held })
	})
	assert.True(t, p.srv.Stats().UserIndex.Live)
}

// differential runs every scenario against slapo-otp and the proxy;
// settle, if set, runs after each scenario's data is loaded.
func differential(t *testing.T, oracle, plain *slapdtest.Server, p *runningProxy, settle func(*testing.T, scenario)) {
	mismatches, binds := 0, 0
	all := scenarios()
	for i, sc := range all {
		t.Run(sc.name, func(t *testing.T) {
			n, m := runScenario(t, i, sc, oracle, plain, p.URL, settle)
			binds += n
			mismatches += m
		})
	}
	t.Logf("differential: %d scenarios, %d binds on each side, %d mismatches", len(all), binds, mismatches)
	assert.GreaterOrEqual(t, len(all), 30)
}

// otpUsers counts the scenario's users that get an OATH user class.
func otpUsers(sc scenario) int {
	n := 0
	for _, u := range sc.users {
		if !u.plain && (u.hotp != "" || u.totp != "" || u.otpClass) {
			n++
		}
	}
	return n
}

// runScenario loads the scenario into both directories, sends its binds to
// both and compares; it returns the number of binds and of mismatches.
func runScenario(t *testing.T, i int, sc scenario, oracle, plain *slapdtest.Server, proxyURL string,
	settle func(*testing.T, scenario)) (int, int) {
	waitForStepHeadroom(sc)
	d := &dataset{prefix: fmt.Sprintf("d%02d", i), keys: newKeys(sc.tokens), step0: map[string]int64{}}
	for name, def := range sc.tokens {
		d.step0[name] = currentStep(def.periodSeconds())
	}
	d.load(t, oracle, sc)
	d.load(t, plain, sc)
	if settle != nil {
		settle(t, sc)
	}
	e := &env{sc: sc, data: d}
	mismatches := 0
	for j, b := range sc.binds {
		pw := b.pw(e)
		got := bindCode(t, oracle.URL, d.userDN(b.user), pw, 3*time.Second)
		ours := bindCode(t, proxyURL, d.userDN(b.user), pw, 3*time.Second)
		if got != ours {
			mismatches++
		}
		assert.Equal(t, got, ours, "bind %d: slapo-otp answered %d, ldapotp %d", j, got, ours)
		assert.Equal(t, b.want, got, "bind %d: slapo-otp's answer", j)
	}
	return len(sc.binds), mismatches + compareState(t, sc, d, e, oracle, plain)
}

// compareState reads every token's state from both directories.
func compareState(t *testing.T, sc scenario, d *dataset, e *env, oracle, plain *slapdtest.Server) int {
	oa, pa := oracle.Admin(t), plain.Admin(t)
	mismatches := 0
	for name := range sc.tokens {
		for _, attr := range []string{counterAttr, stepAttr, driftAttr} {
			o, p := readAttr(t, oa, d.tokenDN(name), attr), readAttr(t, pa, d.tokenDN(name), attr)
			if o != p {
				mismatches++
			}
			assert.Equal(t, o, p, "%s of token %s: slapo-otp wrote %q, ldapotp %q", attr, name, o, p)
		}
	}
	for _, c := range sc.after {
		assert.Equal(t, c.value(e), readAttr(t, pa, d.tokenDN(c.token), c.attr), "%s of token %s", c.attr, c.token)
	}
	return mismatches
}

// waitForStepHeadroom waits for the next TOTP step when the current one of
// any of the scenario's TOTP tokens ends in less than 5 s, so that both
// sides see the same step. (The clock is slapd's; it cannot be injected.)
func waitForStepHeadroom(sc scenario) {
	for _, def := range sc.tokens {
		if !def.totp {
			continue
		}
		p := def.periodSeconds()
		left := p - time.Now().Unix()%p
		if left < 5 {
			time.Sleep(time.Duration(left)*time.Second + 100*time.Millisecond)
		}
	}
}

package test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// The deliberate differences from slapo-otp (docs/compat.md), each shown
// against the oracle and against ldapotp.

// compatPair starts an oracle and a plain slapd with a proxy in front and
// loads sc into both.
func compatPair(t *testing.T, prefix string, sc scenario, change ...func(*proxy.Config)) (oracle, plain *slapdtest.Server, proxyURL string, d *dataset) {
	t.Helper()
	// Default durability, as in production: slapo-otp's race window (spec
	// §9.3) is the time its counter write takes.
	oracle = slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Oracle})
	plain = slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain})
	proxyURL = startProxy(t, plain, change...).URL
	waitForStepHeadroom(sc)
	d = &dataset{prefix: prefix, keys: newKeys(sc.tokens), step0: map[string]int64{}}
	for name, def := range sc.tokens {
		d.step0[name] = currentStep(def.periodSeconds())
	}
	d.load(t, oracle, sc)
	d.load(t, plain, sc)
	return oracle, plain, proxyURL, d
}

// TestCompat_BothKindsValidHOTP: a user with a TOTP and an HOTP token who
// sends a valid HOTP code. slapo-otp aims the TOTP drift at the HOTP token,
// its modify fails and it never answers (spec §9.1); ldapotp answers
// success and advances only the HOTP counter.
func TestCompat_BothKindsValidHOTP(t *testing.T) {
	sc := scenario{tokens: map[string]tokenDef{"t": {totp: true}, "h": {counter: "3"}},
		users: map[string]userDef{"a": {totp: "t", hotp: "h"}}}
	oracle, plain, proxyURL, d := compatPair(t, "both", sc)
	e := &env{sc: sc, data: d}
	pw := pwA + e.hotp("h", 4)

	assert.Equal(t, noResponse, bindCode(t, oracle.URL, d.userDN("a"), pw, 2*time.Second), "slapo-otp hangs")
	assert.Equal(t, "3", readAttr(t, oracle.Admin(t), d.tokenDN("h"), counterAttr))

	assert.Equal(t, 0, bindCode(t, proxyURL, d.userDN("a"), pw, 2*time.Second), "ldapotp answers")
	admin := plain.Admin(t)
	assert.Equal(t, "4", readAttr(t, admin, d.tokenDN("h"), counterAttr))
	assert.Equal(t, "", readAttr(t, admin, d.tokenDN("h"), driftAttr), "no TOTP attribute on the HOTP token")
	assert.Equal(t, "", readAttr(t, admin, d.tokenDN("t"), stepAttr), "TOTP token untouched")
}

// TestCompat_NoBoundConnectionAfter49: the static password alone of an OTP
// user. slapo-otp answers 49 but leaves the connection bound as the user
// (spec §9.2); through ldapotp the connection stays anonymous.
func TestCompat_NoBoundConnectionAfter49(t *testing.T) {
	sc := scenario{tokens: map[string]tokenDef{"h": {}}, users: map[string]userDef{"a": {hotp: "h"}}}
	oracle, _, proxyURL, d := compatPair(t, "bound49", sc)
	for _, side := range []struct {
		name, url, whoami string
	}{{"slapo-otp", oracle.URL, "dn:" + d.userDN("a")}, {"ldapotp", proxyURL, ""}} {
		t.Run(side.name, func(t *testing.T) {
			c := dial(t, side.url, 5*time.Second)
			assert.Equal(t, 49, resultCode(c.Bind(d.userDN("a"), userPassword("a"))))
			res, err := c.WhoAmI(nil)
			require.NoError(t, err)
			assert.Equal(t, side.whoami, res.AuthzID)
		})
	}
}

// TestCompat_BadParams: period 0 kills slapd with slapo-otp (spec §9.6);
// ldapotp answers 49, names the params entry in its log and keeps serving.
func TestCompat_BadParams(t *testing.T) {
	sc := scenario{tokens: map[string]tokenDef{"t": {totp: true, period: "0"}, "ok": {}},
		users: map[string]userDef{"a": {totp: "t"}, "b": {hotp: "ok"}}}
	oracle, plain, _, d := compatPair(t, "period0", sc)
	p := startProxy(t, plain)
	e := &env{sc: sc, data: d}

	assert.Equal(t, 49, bindCode(t, p.URL, d.userDN("a"), pwA+"123456", 5*time.Second))
	assert.Equal(t, 0, bindCode(t, p.URL, d.userDN("b"), "secret-b"+e.hotp("ok", 0), 5*time.Second), "still serving")
	assert.Contains(t, p.Log.String(), d.paramsDN("t"), "the log names the params entry")
	assert.Contains(t, p.Log.String(), "oathTOTPTimeStepPeriod")

	assert.NotEqual(t, 0, bindCode(t, oracle.URL, d.userDN("a"), pwA+"123456", 2*time.Second))
	deadline := time.Now().Add(5 * time.Second)
	for oracle.Running() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling the process state with a deadline
	}
	assert.False(t, oracle.Running(), "slapo-otp's slapd died of the division by zero")
}

// TestCompat_OperationalAttributes: slapo-otp's write-back updates the
// token's modifyTimestamp/entryCSN only when the static password length is
// a multiple of 256 (spec §9.5), so replication misses most counter moves;
// ldapotp's write-back is an ordinary modify and always updates them.
func TestCompat_OperationalAttributes(t *testing.T) {
	sc := scenario{tokens: map[string]tokenDef{"h": {}}, users: map[string]userDef{"a": {hotp: "h"}}}
	oracle, plain, proxyURL, d := compatPair(t, "opattrs", sc)
	e := &env{sc: sc, data: d}
	for _, side := range []struct {
		name    string
		srv     *slapdtest.Server
		url     string
		changes bool
	}{{"slapo-otp", oracle, oracle.URL, false}, {"ldapotp", plain, proxyURL, true}} {
		t.Run(side.name, func(t *testing.T) {
			admin := side.srv.Admin(t)
			before := readAttr(t, admin, d.tokenDN("h"), "entryCSN")
			require.Equal(t, 0, bindCode(t, side.url, d.userDN("a"), pwA+e.hotp("h", 0), 5*time.Second))
			require.Equal(t, "0", readAttr(t, admin, d.tokenDN("h"), counterAttr))
			after := readAttr(t, admin, d.tokenDN("h"), "entryCSN")
			assert.Equal(t, side.changes, before != after, "entryCSN %q -> %q", before, after)
		})
	}
}

// TestCompat_DriftTrack: with totp_drift: track, the drift stored on the
// token is read back, so a token whose clock runs 2 steps ahead keeps
// working with window 0; by default (slapo-otp) it does not.
func TestCompat_DriftTrack(t *testing.T) {
	sc := scenario{tokens: map[string]tokenDef{"t": {totp: true, drift: "2"}}, users: map[string]userDef{"a": {totp: "t"}}}
	_, plain, defaultURL, d := compatPair(t, "drift", sc)
	track := startProxy(t, plain, func(c *proxy.Config) { c.TOTPDrift = proxy.DriftTrack })
	e := &env{sc: sc, data: d}
	assert.Equal(t, 49, bindCode(t, defaultURL, d.userDN("a"), pwA+e.totp("t", 2), 5*time.Second))
	assert.Equal(t, 0, bindCode(t, track.URL, d.userDN("a"), pwA+e.totp("t", 2), 5*time.Second))
	admin := plain.Admin(t)
	assert.Equal(t, fmt.Sprint(d.step0["t"]+2), readAttr(t, admin, d.tokenDN("t"), stepAttr))
	assert.Equal(t, "2", readAttr(t, admin, d.tokenDN("t"), driftAttr))
}

// TestCompat_ConcurrentReplay shows the bug the race test guards against:
// against slapo-otp, several of 16 simultaneous binds with one code succeed
// in most runs (spec §9.3); through ldapotp exactly one does.
func TestCompat_ConcurrentReplay(t *testing.T) {
	sc := scenario{tokens: map[string]tokenDef{"h": {}}, users: map[string]userDef{"a": {hotp: "h"}}}
	oracle, _, proxyURL, d := compatPair(t, "replay", sc)
	e := &env{sc: sc, data: d}
	most := 0
	for round := range 5 {
		most = max(most, raceBinds(t, []string{oracle.URL}, 16, d.userDN("a"), pwA+e.hotp("h", int64(round))))
	}
	t.Logf("slapo-otp: at most %d of 16 simultaneous binds with one code succeeded (5 rounds)", most)
	assert.GreaterOrEqual(t, most, 1)
	for round := range 5 {
		assert.Equal(t, 1, raceBinds(t, []string{proxyURL}, 16, d.userDN("a"), pwA+e.hotp("h", int64(round))))
	}
}

package test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// raceBinds sends one bind per connection, all released at once, and
// returns how many succeeded. Connections are dialled (round robin over
// urls) before the start so that the binds really overlap.
func raceBinds(t *testing.T, urls []string, n int, dn, password string) int {
	t.Helper()
	registerSecret(password)
	conns := make([]*ldap.Conn, n)
	for i := range conns {
		conns[i] = dial(t, urls[i%len(urls)], 10*time.Second)
	}
	start := make(chan struct{})
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes <- resultCode(c.Bind(dn, password))
		}()
	}
	close(start)
	wg.Wait()
	close(codes)
	ok := 0
	for code := range codes {
		switch code {
		case 0:
			ok++
		case 49:
		default:
			t.Errorf("unexpected result code %d in a race", code)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	return ok
}

// TestRace_OneCodeOneLogin: 50 simultaneous binds with one valid code
// through two proxies sharing one slapd: exactly one succeeds, every round
// (slapo-otp lets several through, spec §9.3).
func TestRace_OneCodeOneLogin(t *testing.T) {
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain})
	noLimit := func(c *proxy.Config) { c.BindRatePerDN = -1 } // 1,000 binds of one DN: this tests the commit, not the rate limit
	urls := []string{startProxy(t, plain, noLimit).URL, startProxy(t, plain, noLimit).URL}
	t.Run("hotp", func(t *testing.T) {
		sc := scenario{tokens: map[string]tokenDef{"t": {}}, users: map[string]userDef{"a": {hotp: "t"}}}
		d := &dataset{prefix: "race-h", keys: newKeys(sc.tokens), step0: map[string]int64{}}
		d.load(t, plain, sc)
		e := &env{sc: sc, data: d}
		admin := plain.Admin(t)
		for round := range 20 {
			won := raceBinds(t, urls, 50, d.userDN("a"), pwA+e.hotp("t", int64(round)))
			require.Equal(t, 1, won, "round %d: binds that succeeded with one code", round)
			require.Equal(t, fmt.Sprint(round), readAttr(t, admin, d.tokenDN("t"), counterAttr))
		}
	})
	t.Run("totp", func(t *testing.T) {
		admin := plain.Admin(t)
		for round := range 20 {
			sc := scenario{tokens: map[string]tokenDef{"t": {totp: true}}, users: map[string]userDef{"a": {totp: "t"}}}
			waitForStepHeadroom(sc)
			d := &dataset{prefix: fmt.Sprintf("race-t%02d", round), keys: newKeys(sc.tokens), step0: map[string]int64{"t": currentStep(30)}}
			d.load(t, plain, sc)
			e := &env{sc: sc, data: d}
			won := raceBinds(t, urls, 50, d.userDN("a"), pwA+e.totp("t", 0))
			require.Equal(t, 1, won, "round %d: binds that succeeded with one code", round)
			assert.Equal(t, fmt.Sprint(d.step0["t"]), readAttr(t, admin, d.tokenDN("t"), stepAttr))
		}
	})
}

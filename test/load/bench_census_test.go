//go:build bench

package main

import (
	"regexp"
	"testing"
	"time"

	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// censusOps is how many client operations each census run sends.
const censusOps = 300

// censusLines are the slapd stats log lines that the census counts, one per
// operation or connection the directory served.
var censusLines = []struct {
	name string
	re   *regexp.Regexp
}{
	{"search", regexp.MustCompile(`(?m) SRCH base=`)},
	{"modify", regexp.MustCompile(`(?m) MOD dn=`)},
	{"bind", regexp.MustCompile(`(?m) BIND dn=.* method=`)},
	{"add", regexp.MustCompile(`(?m) ADD dn=`)},
	{"delete", regexp.MustCompile(`(?m) DEL dn=`)},
	{"connect", regexp.MustCompile(`(?m) ACCEPT from`)},
}

// census counts the directory operations behind each client operation
// through the proxy: it starts a slapd that logs every operation (stats),
// puts a proxy in front, runs censusOps operations of each mode at
// concurrency 1 and divides what slapd logged by the operations done.
func (b *bench) census(t *testing.T) {
	s := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, LogLevel: "stats", GlobalConfig: authzPolicy,
		ExtraConfig: syncprovConfig, LDAPI: b.upstream == "ldapi"})
	l := DefaultLayout
	l.Prefix = "census"
	users := NewUsers(l, Counts{Plain: 16, HOTP: 8, TOTP: 64, TOTPPeriod: 1})
	if err := Create(t.Context(), s.URL, s.RootDN, s.RootPassword, l, users); err != nil {
		t.Fatalf("census users: %v", err)
	}
	p := startProxy(t, b, "proxy-census", s, "")
	defer p.stop()
	b.printf("\n== directory operations per client operation through the proxy (slapd stats log, %d ops each, c=1)\n", censusOps)
	b.printf("%-34s", "client operation")
	for _, c := range censusLines {
		b.printf(" %7s", c.name)
	}
	b.printf("\n")
	runs := []struct {
		mode Mode
		conn ConnMode
	}{{ModePlainBind, Persistent}, {ModePlainBind, PerBind}, {ModeSearch, Persistent},
		{ModeHOTPBind, Persistent}, {ModeHOTPBind, PerBind}, {ModeTOTPBind, Persistent}}
	for _, r := range runs {
		mark := len(settledLog(s))
		res, err := Run(t.Context(), Config{URL: p.url, Mode: r.mode, Conn: r.conn, Concurrency: 1,
			Duration: 30 * time.Second, MaxOps: censusOps, SearchAttrs: []string{"cn", "sn", "uid"}}, users)
		if err != nil || res.OK == 0 || res.ErrorCount() > 0 {
			t.Fatalf("census %s %s: %v (%d ok, errors: %s)", r.mode, r.conn, err, res.OK, res.errorSummary())
		}
		b.censusRow(string(r.mode)+" "+string(r.conn), settledLog(s)[mark:], res.OK)
	}
	p.stop()
	b.censusOTPme(t.Context(), t, s, OfKind(users, KindPlain))
	b.printf("(the readiness probe and the census users' set-up are not counted; direct to slapd each is 1 bind or 1 search;\n" +
		"session open: the mOTP login that opens the session, per login; session hit: a re-bind with the session's password)\n")
}

// censusRow prints what slapd logged for ops client operations.
func (b *bench) censusRow(label, log string, ops int64) {
	b.printf("%-34s", label)
	for _, c := range censusLines {
		b.printf(" %7.2f", float64(len(c.re.FindAllStringIndex(log, -1)))/float64(ops))
	}
	b.printf("\n")
}

// settledLog returns slapd's log once it has stopped growing (slapd logs
// an operation's lines as it finishes them).
func settledLog(s *slapdtest.Server) string {
	log := s.Log()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond) // nothing to wait on but the log itself
		next := s.Log()
		if len(next) == len(log) {
			break
		}
		log = next
	}
	return log
}

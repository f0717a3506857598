//go:build bench

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// TestBench is `make bench`: it starts slapd (plain + OATH schema) with the
// proxy in front, and slapd with slapo-otp, each once with default
// durability and once with dbnosync, loads 2,000 HOTP users (and TOTP and
// plain users) into each, and runs every mode against the proxy and the
// directory directly, A/B interleaved in short rounds. It prints the
// comparison, the proxy's CPU per operation against slapd's, the latency
// the proxy adds at concurrency 1, the memory 10,000 idle connections cost
// the proxy, and a CPU profile of the proxy per OTP and pass-through mode;
// it also makes slapd's plain users OTPme users with an mOTP token and
// compares OTPme session re-binds through an OTPme proxy (memory store, then
// directory store) with slapo-otp's HOTP binds, and counts the directory
// operations of a session hit;
// it measures the plain-bind and search loads through two reference proxies
// that only forward bytes (bench_ref_test.go);
// then PASS/MISS per target of the performance issue. A missed target does
// not fail the test (it is a measurement); failed operations do.
//
// Knobs (environment): LDAPOTP_BENCH_ROUND (default 5s) and
// LDAPOTP_BENCH_ROUNDS (3) per side of each comparison,
// LDAPOTP_BENCH_ONLY (a regexp of comparison keys, for quick runs),
// LDAPOTP_BENCH_OUT (where logs, profiles and the report go; default a new
// temporary directory, kept and printed), LDAPOTP_BENCH_PROXY_ENV (extra
// environment for the proxy processes, e.g. "GOMAXPROCS=1", for
// experiments; the reported runs leave it empty), LDAPOTP_BENCH_PROXY_CONF
// (YAML lines added to every proxy's configuration, "\n" between them, e.g.
// "token_cache_ttl: -1s"; experiments only), LDAPOTP_BENCH_UPSTREAM ("tcp",
// the default, or "ldapi": the proxies reach their slapd over its Unix
// socket).
func TestBench(t *testing.T) {
	b := newBench(t)
	b.machine()
	b.printf("\n== directories (slapd -d 0; users added over one admin connection, %d adds in flight)\n", createWorkers)
	b.bin = buildProxy(t, b.out)
	// authz-policy: OTPme logins without a directory password act for the
	// user with proxied authorization (see otpmeEndpoints).
	plainDef := startDirectory(t, b, "slapd", slapdtest.Options{Kind: slapdtest.Plain, GlobalConfig: authzPolicy},
		Counts{Plain: benchPlainUsers, HOTP: benchHOTPUsers, TOTP: benchTOTPUsers, TOTPPeriod: benchTOTPPeriod})
	otpDef := startDirectory(t, b, "slapo-otp", slapdtest.Options{Kind: slapdtest.Oracle},
		Counts{HOTP: benchHOTPUsers, TOTP: benchTOTPUsers, TOTPPeriod: benchTOTPPeriod})
	plainNoSync := startDirectory(t, b, "slapd-nosync", slapdtest.Options{Kind: slapdtest.Plain, NoSync: true},
		Counts{HOTP: benchHOTPUsers})
	otpNoSync := startDirectory(t, b, "slapo-otp-nosync", slapdtest.Options{Kind: slapdtest.Oracle, NoSync: true},
		Counts{HOTP: benchHOTPUsers})

	sessMem, sessDir := b.otpmeEndpoints(t, plainDef)
	refs, refNote := startReferences(t, b, plainDef)

	b.printf("\n== A/B comparisons: %d rounds of %v per side, alternating\n", b.rounds, b.round)
	cs := comparisons(plainDef, otpDef, plainNoSync, otpNoSync, sessMem, sessDir)
	for _, c := range withReferences(cs, refs, plainDef.direct()) {
		if b.only != nil && !b.only.MatchString(c.key) {
			continue
		}
		b.outcomes[c.key] = b.compare(t.Context(), c)
		b.order = append(b.order, c.key)
	}
	b.table()
	b.census(t)
	b.profiles(t.Context(), plainDef)
	b.idle = b.idleConnections(t, plainDef)
	b.printReferences(refNames(refs), refNote)
	b.budgets(refNames(refs))
	b.targets()
	b.printf("\noutput (logs, profiles, report): %s\n", b.out)
}

// comparisons lists what TestBench measures: a is always the proxy, b the
// directory the proxy is measured against. The session comparisons put
// OTPme session re-binds through the proxy (sessMem: memory store, sessDir:
// directory store) against slapo-otp's HOTP binds.
func comparisons(plainDef, otpDef, plainNoSync, otpNoSync *directory, sessMem, sessDir endpoint) []comparison {
	proxy, slapd, otp := plainDef.proxied(), plainDef.direct(), otpDef.direct()
	proxyNS, otpNS := plainNoSync.proxied(), otpNoSync.direct()
	proxyNS.name, otpNS.name = "proxy-nosync", "slapo-otp-nosync"
	proxy.name = "proxy"
	otpHOTP := otp
	otpHOTP.mode = ModeHOTPBind
	return []comparison{
		{"hotp", "default durability", ModeHOTPBind, Persistent, 8, proxy, otp},
		{"hotp-nosync", "dbnosync on both", ModeHOTPBind, Persistent, 8, proxyNS, otpNS},
		{"hotp-per-bind", "default durability", ModeHOTPBind, PerBind, 8, proxy, otp},
		{"hotp-c1", "default durability", ModeHOTPBind, Persistent, 1, proxy, otp},
		{"totp", "default durability", ModeTOTPBind, Persistent, 8, proxy, otp},
		{"plain-bind", "pass-through", ModePlainBind, Persistent, 8, proxy, slapd},
		{"plain-bind-per-bind", "pass-through", ModePlainBind, PerBind, 8, proxy, slapd},
		{"search", "pass-through", ModeSearch, Persistent, 8, proxy, slapd},
		{"plain-bind-c1", "pass-through", ModePlainBind, Persistent, 1, proxy, slapd},
		{"search-c1", "pass-through", ModeSearch, Persistent, 1, proxy, slapd},
		{"session", "OTPme, memory store, vs slapo-otp hotp-bind", ModeSessionRebind, Persistent, 8, sessMem, otpHOTP},
		{"session-dirstore", "OTPme, directory store, vs slapo-otp hotp-bind", ModeSessionRebind, Persistent, 8, sessDir, otpHOTP},
	}
}

// bench is one TestBench run.
type bench struct {
	t        *testing.T
	out      string    // output directory
	bin      string    // proxy binary
	w        io.Writer // stdout and out/report.txt
	results  io.Writer // out/results.txt: every RESULT line
	round    time.Duration
	rounds   int
	only     *regexp.Regexp
	upstream string // "tcp" or "ldapi": how the proxies reach their slapd
	prof     profiler
	outcomes map[string]*outcome
	order    []string // keys of outcomes, in the order run
	idle     idleResult
}

func newBench(t *testing.T) *bench {
	b := &bench{t: t, round: 5 * time.Second, rounds: 3, outcomes: map[string]*outcome{}}
	if v := os.Getenv("LDAPOTP_BENCH_ROUND"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > time.Minute {
			t.Fatalf("LDAPOTP_BENCH_ROUND=%q: want a duration up to 1m", v)
		}
		b.round = d
	}
	if v := os.Getenv("LDAPOTP_BENCH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 20 {
			t.Fatalf("LDAPOTP_BENCH_ROUNDS=%q: want 1..20", v)
		}
		b.rounds = n
	}
	b.upstream = "tcp"
	switch v := os.Getenv("LDAPOTP_BENCH_UPSTREAM"); v {
	case "", "tcp":
	case "ldapi":
		b.upstream = v
	default:
		t.Fatalf("LDAPOTP_BENCH_UPSTREAM=%q: want tcp or ldapi", v)
	}
	if v := os.Getenv("LDAPOTP_BENCH_ONLY"); v != "" {
		b.only = regexp.MustCompile(v)
	}
	b.out = os.Getenv("LDAPOTP_BENCH_OUT")
	var err error
	if b.out == "" {
		b.out, err = os.MkdirTemp("", "ldapotp-bench-")
	} else {
		err = os.MkdirAll(b.out, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	b.w = b.create("report.txt", os.Stdout)
	b.results = b.create("results.txt", nil)
	b.prof = newProfiler(b.out)
	if err := raiseFileLimit(idleConns + 1024); err != nil {
		t.Fatal(err)
	}
	return b
}

// create opens a file in the output directory, teeing to also if non-nil.
func (b *bench) create(name string, also io.Writer) io.Writer {
	f, err := os.Create(filepath.Join(b.out, name))
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { f.Close() })
	if also == nil {
		return f
	}
	return io.MultiWriter(also, f)
}

func (b *bench) printf(format string, args ...any) { fmt.Fprintf(b.w, format, args...) }

// machine prints what the numbers were measured on.
func (b *bench) machine() {
	model, mem := "?", "?"
	if s, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`(?m)^model name\s*:\s*(.*)$`).FindStringSubmatch(string(s)); m != nil {
			model = m[1]
		}
	}
	if s, err := os.ReadFile("/proc/meminfo"); err == nil {
		if m := regexp.MustCompile(`(?m)^MemTotal:\s*(\d+) kB`).FindStringSubmatch(string(s)); m != nil {
			kb, _ := strconv.ParseInt(m[1], 10, 64)
			mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	b.printf("== machine: %d CPUs (%s), %s RAM, Linux %s, %s; proxy GOMAXPROCS default\n",
		runtime.NumCPU(), model, mem, strings.TrimSpace(string(kernel)), runtime.Version())
	b.printf("== slapd: %s; proxy built from %s\n", b.command("/usr/sbin/slapd", "-VV"),
		b.command("git", "-C", slapdtest.ModuleRoot(b.t), "describe", "--always", "--dirty"))
	if hp := haproxyBinary(); hp != "" {
		b.printf("== reference: %s\n", b.command(hp, "-v"))
	}
}

// command returns the first line a command prints, or why it printed none.
func (b *bench) command(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if first == "" && err != nil {
		return err.Error()
	}
	return strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(first, "@(#) $OpenLDAP: ")), " $")
}

// comparison is one A/B measurement: the same load against the proxy (a)
// and against a directory directly (b).
type comparison struct {
	key  string // short name, used by targets and LDAPOTP_BENCH_ONLY
	note string // durability or pass-through
	mode Mode
	conn ConnMode
	c    int
	a, b endpoint
}

// modeOf is the load run against one side.
func (c comparison) modeOf(ep endpoint) Mode {
	if ep.mode != "" {
		return ep.mode
	}
	return c.mode
}

func (c comparison) title() string {
	return fmt.Sprintf("%s %s c=%d (%s)", c.mode, c.conn, c.c, c.note)
}

// side is one endpoint's runs in a comparison and the CPU the processes
// used meanwhile.
type side struct {
	ep        endpoint
	runs      []Result
	proxyCPU  time.Duration
	slapdCPU  time.Duration
	clientCPU time.Duration // the load generator (this process)
	// otherCPU is the machine's CPU time not charged to the proxy, the
	// slapd or the load generator meanwhile: other processes (noise that
	// slows a round down) and interrupt work charged to no process.
	otherCPU time.Duration
}

// otherShare is otherCPU as a share of the machine's capacity over the
// side's rounds.
func (s *side) otherShare() float64 { return s.share(s.otherCPU) }

// share is a CPU time as a share of the machine's capacity over the side's
// rounds.
func (s *side) share(cpu time.Duration) float64 {
	wall := s.total().Elapsed
	if wall <= 0 {
		return 0
	}
	return float64(cpu) / float64(wall*time.Duration(runtime.NumCPU()))
}

// total is the side's rounds combined.
func (s *side) total() Result { return Combine(s.runs) }

// perOp divides a CPU time by the side's successful operations.
func (s *side) perOp(cpu time.Duration) time.Duration {
	ok := s.total().OK
	if ok == 0 {
		return 0
	}
	return cpu / time.Duration(ok)
}

// outcome is a finished comparison.
type outcome struct {
	cmp  comparison
	a, b side
}

// ratio is the proxy's rate over the direct rate, all rounds combined.
func (o *outcome) ratio() float64 {
	if r := o.b.total().Rate(); r > 0 {
		return o.a.total().Rate() / r
	}
	return 0
}

// roundRatios are the ratios of each round's pair of runs: how stable the
// combined ratio is.
func (o *outcome) roundRatios() string {
	var parts []string
	for i := range min(len(o.a.runs), len(o.b.runs)) {
		if r := o.b.runs[i].Rate(); r > 0 {
			parts = append(parts, fmt.Sprintf("%.2f", o.a.runs[i].Rate()/r))
		}
	}
	return strings.Join(parts, " ")
}

// compare runs the comparison's rounds, alternating which side goes first.
func (b *bench) compare(ctx context.Context, c comparison) *outcome {
	o := &outcome{cmp: c, a: side{ep: c.a}, b: side{ep: c.b}}
	b.printf("-- %s: %s vs %s\n", c.key, c.a.name, c.b.name)
	for _, ep := range []endpoint{c.a, c.b} {
		if c.modeOf(ep) == ModeSessionRebind { // open them outside the measured rounds
			start := time.Now()
			users := SessionUsers(ep.users)
			if err := OpenSessions(ctx, ep.url, users, c.c); err != nil {
				b.t.Fatalf("%s against %s: %v", c.key, ep.name, err)
			}
			b.printf("   %-18s %d sessions opened (one mOTP login each) in %.2fs\n", ep.name, len(users), time.Since(start).Seconds())
		}
	}
	for r := range b.rounds {
		order := []*side{&o.a, &o.b}
		if r%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, s := range order {
			b.runSide(ctx, c, s)
		}
	}
	return o
}

// runSide runs one round against one side and adds up the CPU its
// processes used.
func (b *bench) runSide(ctx context.Context, c comparison, s *side) {
	m0, err7 := machineBusy()
	p0, err1 := cpuTime(s.ep.proxyPID)
	s0, err2 := cpuTime(s.ep.slapdPID)
	c0, err5 := cpuTime(os.Getpid())
	res, err := Run(ctx, Config{URL: s.ep.url, Name: s.ep.name, Mode: c.modeOf(s.ep), Conn: c.conn,
		Concurrency: c.c, Duration: b.round, SearchAttrs: []string{"cn", "sn", "uid"}}, s.ep.users)
	if err != nil {
		b.t.Fatalf("%s against %s: %v", c.key, s.ep.name, err)
	}
	p1, err3 := cpuTime(s.ep.proxyPID)
	s1, err4 := cpuTime(s.ep.slapdPID)
	c1, err6 := cpuTime(os.Getpid())
	m1, err8 := machineBusy()
	for _, err := range []error{err1, err2, err3, err4, err5, err6, err7, err8} {
		if err != nil {
			b.t.Fatalf("%s: %v", c.key, err)
		}
	}
	s.proxyCPU += p1 - p0
	s.slapdCPU += s1 - s0
	s.clientCPU += c1 - c0
	s.otherCPU += max(0, (m1-m0)-(p1-p0)-(s1-s0)-(c1-c0))
	s.runs = append(s.runs, res)
	fmt.Fprintln(b.results, res.Line())
	b.printf("   %-18s %8.0f/s  p50 %sms  p99 %sms  errors %d  other processes %.0f%% CPU\n", s.ep.name, res.Rate(),
		ms(res.Percentile(50)), ms(res.Percentile(99)), res.ErrorCount(),
		100*float64(max(0, (m1-m0)-(p1-p0)-(s1-s0)-(c1-c0)))/float64(res.Elapsed*time.Duration(runtime.NumCPU())))
	if res.ErrorCount() > 0 {
		b.t.Errorf("%s against %s: %d failed operations: %s", c.key, s.ep.name, res.ErrorCount(), res.errorSummary())
	}
	if res.Note != "" {
		b.printf("   %s\n", res.Note)
	}
}

//go:build bench

package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// table prints every comparison: rate, latency, errors, CPU per operation
// of the proxy and of slapd, and the ratio proxy/direct.
func (b *bench) table() {
	b.printf("\n== results (all rounds of a side combined)\n")
	b.printf("%-20s %-17s %8s %8s %8s %6s %12s %12s %12s %6s\n",
		"comparison", "target", "ops/s", "p50 ms", "p99 ms", "errors", "proxy CPU", "slapd CPU", "client CPU", "other")
	for _, key := range b.order {
		o := b.outcomes[key]
		for i, s := range []*side{&o.a, &o.b} {
			key := ""
			if i == 0 {
				key = o.cmp.key
			}
			r := s.total()
			proxyCPU := "-"
			if s.ep.proxyPID != 0 {
				proxyCPU = us(s.perOp(s.proxyCPU)) + "/op"
			}
			b.printf("%-20s %-17s %8.0f %8s %8s %6d %12s %12s %12s %5.0f%%\n", key, s.ep.name, r.Rate(),
				ms(r.Percentile(50)), ms(r.Percentile(99)), r.ErrorCount(), proxyCPU,
				us(s.perOp(s.slapdCPU))+"/op", us(s.perOp(s.clientCPU))+"/op", 100*s.otherShare())
		}
		b.printf("%-20s %-17s %8.2f %8s   (rounds: %s)\n", "", "ratio proxy/dir", o.ratio(),
			signedMs(o.a.total().Percentile(50)-o.b.total().Percentile(50)), o.roundRatios())
	}
	b.printf("ratio row: ops/s ratio, the p50 the proxy adds, the ratio of each round's pair of runs.\n" +
		"CPU/op: process CPU time over the rounds / successful ops. other: machine CPU not charged to the\n" +
		"proxy, that slapd or the load generator (other processes, interrupts), as a share of the machine.\n" +
		"ref-* rows: a reference proxy that only forwards bytes stands in the proxy's place (and CPU column).\n")
}

// us formats a duration in microseconds.
func us(d time.Duration) string { return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond)) }

// signedMs formats a latency difference with its sign, in ms.
func signedMs(d time.Duration) string {
	return fmt.Sprintf("%+.3f", float64(d)/float64(time.Millisecond))
}

// profileRuns are the loads the proxy is profiled under (c=8, persistent).
var profileRuns = []Mode{ModeHOTPBind, ModePlainBind, ModeSearch}

// profiles records a perf CPU profile of the proxy process under each of
// profileRuns and prints the hottest functions.
func (b *bench) profiles(ctx context.Context, d *directory) {
	if b.prof.perf == "" {
		b.printf("\n== proxy CPU profiles: skipped, perf is not installed\n")
		return
	}
	const load, sample = 8 * time.Second, 6 * time.Second
	ep := d.proxied()
	for _, m := range profileRuns {
		name := "profile-" + string(m)
		var wg sync.WaitGroup
		var res Result
		var runErr error
		wg.Go(func() {
			res, runErr = Run(ctx, Config{URL: ep.url, Name: "proxy", Mode: m, Conn: Persistent, Concurrency: 8,
				Duration: load, SearchAttrs: []string{"cn", "sn", "uid"}}, ep.users)
		})
		time.Sleep(time.Second) // let the load reach steady state before sampling
		data, err := b.prof.record(ctx, name, ep.proxyPID, sample)
		wg.Wait()
		if runErr != nil {
			b.t.Fatalf("%s: %v", name, runErr)
		}
		if err != nil {
			b.printf("\n== proxy CPU profile, %s: %v\n", m, err)
			continue
		}
		base, err := b.prof.report(data)
		if err != nil {
			b.printf("\n== proxy CPU profile, %s: %v\n", m, err)
			continue
		}
		b.printf("\n== proxy CPU profile, %s c=8 persistent, %.0f/s while sampled (%s.*.txt)\n", m, res.Rate(), base)
		b.printf("where (share of samples):\n")
		b.printLines(topLines(base+".dso.txt", 3, "%"))
		b.printf("self time, top 12 functions of the proxy binary:\n")
		b.printLines(topLines(base+".flat.txt", 12, "[.]"))
		b.printf("including callees (kernel time charged to its caller), top 25:\n")
		b.printLines(topLines(base+".cum.txt", 25, "[.]"))
	}
}

func (b *bench) printLines(lines []string) {
	for _, l := range lines {
		b.printf("  %s\n", l)
	}
}

// idleConns is how many idle client connections the memory target holds.
const idleConns = 10_000

// idleSlack is how many descriptors the proxy may have closed since it was
// counted before the idle connections (the readiness probe's).
const idleSlack = 8

// idleResult is the proxy's memory with idleConns idle client connections.
type idleResult struct {
	done          bool
	before, after int64 // VmRSS, bytes
	peak          int64 // VmHWM
	conns         int
}

// idleConnections starts a fresh proxy in front of d, opens idleConns
// connections to it that send nothing, waits until the proxy holds them
// all, and reads its resident memory.
func (b *bench) idleConnections(t *testing.T, d *directory) idleResult {
	p := startProxy(t, b, "proxy-idle", d.srv, "")
	defer p.stop()
	before, _, err := memory(p.pid())
	if err != nil {
		t.Fatal(err)
	}
	fds0, err := openFiles(p.pid())
	if err != nil {
		t.Fatal(err)
	}
	conns := openIdle(t, p.addr, idleConns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := openFiles(p.pid())
		if err != nil {
			t.Fatal(err)
		}
		// fds0 may still count the readiness probe's two sockets.
		if n-fds0 >= len(conns)-idleSlack {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("idle connections: the proxy holds %d of %d after 60s", n-fds0, len(conns))
		}
		time.Sleep(100 * time.Millisecond) // polling /proc, nothing to wait on
	}
	time.Sleep(2 * time.Second) // let the connection goroutines reach their first read
	after, peak, err := memory(p.pid())
	if err != nil {
		t.Fatal(err)
	}
	r := idleResult{done: true, before: before, after: after, peak: peak, conns: len(conns)}
	b.printf("\n== idle connections: %d open to a fresh proxy: RSS %.1f MiB before, %.1f MiB after (peak %.1f MiB), %.1f KiB per connection\n",
		r.conns, mib(before), mib(after), mib(peak), float64(after-before)/1024/float64(r.conns))
	return r
}

// openIdle opens n TCP connections to addr, 64 dials at a time.
func openIdle(t *testing.T, addr string, n int) []net.Conn {
	conns := make([]net.Conn, n)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 64 {
		wg.Go(func() {
			for i := range next {
				c, err := net.DialTimeout("tcp", addr, 10*time.Second)
				if err != nil {
					select {
					case errs <- fmt.Errorf("idle connection %d: %w", i, err):
					default:
					}
					continue
				}
				conns[i] = c
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		t.Fatal(err)
	default:
	}
	return conns
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// verdict is one target of the issue.
type verdict struct {
	target string
	got    string
	status string // PASS, MISS, N/A, not run
}

// targets prints PASS/MISS for every target of the performance issue.
func (b *bench) targets() {
	var vs []verdict
	ratio := func(key, what string, min float64) {
		o := b.outcomes[key]
		if o == nil {
			vs = append(vs, verdict{what, "", "not run"})
			return
		}
		vs = append(vs, verdict{what, fmt.Sprintf("%.2f (%.0f vs %.0f/s)", o.ratio(), o.a.total().Rate(), o.b.total().Rate()),
			passMiss(o.ratio() >= min)})
	}
	cpu := func(key, what string) {
		o := b.outcomes[key]
		if o == nil {
			vs = append(vs, verdict{what, "", "not run"})
			return
		}
		p, s := o.a.perOp(o.a.proxyCPU), o.b.perOp(o.b.slapdCPU)
		vs = append(vs, verdict{what, fmt.Sprintf("proxy %s/op vs slapd %s/op", us(p), us(s)), passMiss(p <= s)})
	}
	latency := func(key, what string) {
		o := b.outcomes[key]
		if o == nil {
			vs = append(vs, verdict{what, "", "not run"})
			return
		}
		pa, pb := o.a.total().Percentile(50), o.b.total().Percentile(50)
		vs = append(vs, verdict{what, fmt.Sprintf("%s ms (p50 %s vs %s)", signedMs(pa-pb), ms(pa), ms(pb)),
			passMiss(pa-pb <= 150*time.Microsecond)})
	}
	ratio("hotp", "HOTP bind via proxy >= 0.8 x slapo-otp (default durability)", 0.8)
	ratio("hotp-nosync", "HOTP bind via proxy >= 0.5 x slapo-otp (dbnosync)", 0.5)
	ratio("session", "session re-bind >= 2 x slapo-otp HOTP bind", 2)
	ratio("session-dirstore", "session re-bind >= 2 x slapo-otp HOTP bind (store: directory)", 2)
	ratio("plain-bind", "plain bind passed through >= 0.7 x slapd (persistent)", 0.7)
	ratio("plain-bind-per-bind", "plain bind passed through >= 0.7 x slapd (per-bind)", 0.7)
	ratio("search", "base search passed through >= 0.7 x slapd", 0.7)
	cpu("plain-bind", "proxy CPU/op <= slapd CPU/op, plain bind")
	cpu("search", "proxy CPU/op <= slapd CPU/op, base search")
	latency("plain-bind-c1", "added p50 at c=1 <= 0.15 ms, plain bind")
	latency("search-c1", "added p50 at c=1 <= 0.15 ms, base search")
	if b.idle.done {
		vs = append(vs, verdict{"10,000 idle connections <= 300 MiB RSS",
			fmt.Sprintf("%.1f MiB", mib(b.idle.after)), passMiss(b.idle.after <= 300<<20)})
	} else {
		vs = append(vs, verdict{"10,000 idle connections <= 300 MiB RSS", "", "not run"})
	}
	b.printf("\n== targets (concurrency 8 unless noted; A/B in this run)\n")
	count := map[string]int{}
	for _, v := range vs {
		b.printf("%-8s %-62s %s\n", v.status, v.target, v.got)
		count[v.status]++
	}
	b.printf("BENCH %d PASS, %d MISS, %d N/A, %d not run\n", count["PASS"], count["MISS"], count["N/A"], count["not run"])
}

func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

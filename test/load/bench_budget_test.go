//go:build bench

package main

import (
	"fmt"
	"time"
)

// budgetTargets are the ratio targets at c=8 whose misses the budget
// section explains, with the ratio each must reach.
var budgetTargets = []struct {
	key string
	min float64
}{
	{"hotp", 0.8},
	{"hotp-nosync", 0.5},
	{"plain-bind", 0.7},
	{"search", 0.7},
}

// cpuBound is the busy share from which a side counts as CPU bound: the
// CPU-bound comparisons of runs 13 and 14 kept the machine 84-91 % busy,
// the default-durability HOTP ones 37-62 %.
const cpuBound = 0.75

// budgets prints, for each ratio target, what the CPU each operation costs
// the three processes predicts, and how much CPU the proxy may spend per
// operation for the target to be met.
//
// When both sides keep the machine's CPUs busy, each side's rate is the
// machine's capacity over the CPU an operation costs all three processes
// (proxy or none, slapd, load generator), so the ratio is the direct side's
// CPU per operation over the proxied side's. The proxy's budget is the CPU
// per operation that makes that model reach the target, given what slapd
// and the load generator spent per proxied operation. A side that leaves
// the CPUs idle (the default-durability HOTP runs wait for fsync) is bound
// by something else: its row says so instead of a model ratio and a
// budget.
func (b *bench) budgets(refs []string) {
	b.printf("\n== CPU budget of the ratio targets (c=8; all three processes' CPU per operation)\n")
	b.printf("%-26s %6s %7s %7s %6s %6s %10s %10s %10s %13s\n",
		"comparison", "target", "busy a", "busy b", "ratio", "model", "direct", "proxied", "proxy", "budget")
	for _, bt := range budgetTargets {
		keys := []string{bt.key}
		for _, name := range refs {
			keys = append(keys, refKey(name, bt.key))
		}
		for _, key := range keys {
			o := b.outcomes[key]
			if o == nil {
				continue
			}
			direct, proxied := o.b.perOp(o.b.processCPU()), o.a.perOp(o.a.processCPU())
			proxy := o.a.perOp(o.a.proxyCPU)
			busyA, busyB := o.a.share(o.a.processCPU()), o.b.share(o.b.processCPU())
			model, budget := "-", "not CPU bound"
			if proxied > 0 && min(busyA, busyB) >= cpuBound {
				model = fmt.Sprintf("%.2f", float64(direct)/float64(proxied))
				budget = "none"
				if left := time.Duration(float64(direct)/bt.min) - (proxied - proxy); left > 0 {
					budget = us(left)
				}
			}
			b.printf("%-26s %6.1f %6.0f%% %6.0f%% %6.2f %6s %10s %10s %10s %13s\n", key, bt.min,
				100*busyA, 100*busyB, o.ratio(), model, us(direct), us(proxied), us(proxy), budget)
		}
	}
	b.printf("busy: the three processes' CPU as a share of the machine (a: through the proxy, b: direct).\n" +
		"model: direct over proxied CPU per operation, the ratio a CPU-bound run gets (both sides busy).\n" +
		"budget: the proxy CPU per operation at which the model meets the target, with slapd's and the load\n" +
		"generator's CPU per proxied operation as measured; none: not even a proxy that costs nothing would;\n" +
		"not CPU bound: a side kept the machine less than 75%% busy (waiting for the disk), the model does not apply.\n")
}

// processCPU is the CPU the side's processes (proxy, slapd, load generator)
// spent over its rounds.
func (s *side) processCPU() time.Duration { return s.proxyCPU + s.slapdCPU + s.clientCPU }

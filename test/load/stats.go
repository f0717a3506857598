package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// codeNetwork is the error key of an operation that got no LDAP answer
// (connection refused, reset, timed out, garbled): go-ldap's ErrorNetwork.
const codeNetwork = int(ldap.ErrorNetwork)

// recorder collects one worker's operations; workers never share one.
type recorder struct {
	ok        int64
	latencies []time.Duration // every completed operation, success or not
	errors    map[int]int64   // result code (or codeNetwork) → count
	waited    time.Duration   // TOTP: time spent waiting for a fresh step
}

func newRecorder() *recorder { return &recorder{errors: map[int]int64{}} }

// record adds one operation's outcome.
func (r *recorder) record(d time.Duration, code int, err error) {
	r.latencies = append(r.latencies, d)
	switch {
	case err != nil:
		r.errors[codeNetwork]++
	case code != 0:
		r.errors[code]++
	default:
		r.ok++
	}
}

// Result is the outcome of one load run (or of several merged).
type Result struct {
	Mode        Mode
	Target      string
	Concurrency int
	Conn        ConnMode
	Elapsed     time.Duration
	OK          int64           // successful operations
	Errors      map[int]int64   // failed operations by result code
	Latencies   []time.Duration // sorted, one per completed operation
	Waited      time.Duration   // summed over workers: TOTP waits for a fresh step
	Users       int             // users the run could use
	Note        string          // what the reader must know (TOTP capacity)
}

// merge returns the result of the recorders of one run.
func merge(base Result, recs []*recorder) Result {
	base.Errors = map[int]int64{}
	for _, r := range recs {
		base.OK += r.ok
		base.Latencies = append(base.Latencies, r.latencies...)
		base.Waited += r.waited
		for c, n := range r.errors {
			base.Errors[c] += n
		}
	}
	slices.Sort(base.Latencies)
	return base
}

// Combine adds up runs of the same kind (A/B rounds) into one result whose
// rate is total operations over total time.
func Combine(runs []Result) Result {
	if len(runs) == 0 {
		return Result{}
	}
	out := runs[0]
	out.OK, out.Elapsed, out.Waited, out.Latencies, out.Errors = 0, 0, 0, nil, map[int]int64{}
	for _, r := range runs {
		out.OK += r.OK
		out.Elapsed += r.Elapsed
		out.Waited += r.Waited
		out.Latencies = append(out.Latencies, r.Latencies...)
		for c, n := range r.Errors {
			out.Errors[c] += n
		}
	}
	slices.Sort(out.Latencies)
	return out
}

// ErrorCount is the number of failed operations.
func (r Result) ErrorCount() int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// Rate is successful operations per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// the latencies, 0 if there are none.
func (r Result) Percentile(p float64) time.Duration {
	return percentile(r.Latencies, p)
}

// percentile is the nearest-rank percentile of a sorted sample: the
// smallest value with at least p% of the sample at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Max is the slowest operation.
func (r Result) Max() time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	return r.Latencies[len(r.Latencies)-1]
}

// Line is the machine-readable summary:
// RESULT mode=… target=… c=… conns=… ops=… ops_per_s=… p50_ms=… p90_ms=… p99_ms=… max_ms=… errors=…
func (r Result) Line() string {
	return fmt.Sprintf("RESULT mode=%s target=%s c=%d conns=%s ops=%d ops_per_s=%.1f p50_ms=%s p90_ms=%s p99_ms=%s max_ms=%s errors=%d",
		r.Mode, r.Target, r.Concurrency, r.Conn, r.OK, r.Rate(),
		ms(r.Percentile(50)), ms(r.Percentile(90)), ms(r.Percentile(99)), ms(r.Max()), r.ErrorCount())
}

// ms formats a duration in milliseconds with microsecond precision.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

// Report writes the human-readable report, then the RESULT line.
func (r Result) Report(w io.Writer) {
	fmt.Fprintf(w, "mode %s against %s: c=%d, %s connections, %.1fs, %d users\n",
		r.Mode, r.Target, r.Concurrency, r.Conn, r.Elapsed.Seconds(), r.Users)
	fmt.Fprintf(w, "  ok       %d (%.1f/s)\n", r.OK, r.Rate())
	fmt.Fprintf(w, "  latency  p50 %sms  p90 %sms  p99 %sms  max %sms\n",
		ms(r.Percentile(50)), ms(r.Percentile(90)), ms(r.Percentile(99)), ms(r.Max()))
	fmt.Fprintf(w, "  errors   %s\n", r.errorSummary())
	if r.Note != "" {
		fmt.Fprintf(w, "  note     %s\n", r.Note)
	}
	fmt.Fprintln(w, r.Line())
}

// errorSummary lists the errors by result code, "none" if there were none.
func (r Result) errorSummary() string {
	if len(r.Errors) == 0 {
		return "none"
	}
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(r.Errors)) {
		parts = append(parts, fmt.Sprintf("%d %s: %d", c, codeName(c), r.Errors[c]))
	}
	return strings.Join(parts, ", ")
}

// codeName names an LDAP result code.
func codeName(c int) string {
	if c == codeNetwork {
		return "network/protocol error"
	}
	if name, ok := ldap.LDAPResultCodeMap[uint16(c)]; ok {
		return name
	}
	return "unknown"
}

//go:build bench

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime/stime in /proc/PID/stat (USER_HZ, 100 on
// every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// cpuTime returns the user+system CPU a process has used, 0 for pid 0.
func cpuTime(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	// The command name (field 2) may contain spaces; fields after it are
	// plain. utime and stime are fields 14 and 15.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("cpu time: /proc/%d/stat too short", pid)
	}
	ut, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu time: /proc/%d/stat: bad utime/stime", pid)
	}
	return time.Duration(ut+st) * clockTick, nil
}

// machineBusy returns the CPU time every process on the machine has used,
// all CPUs together: user, nice, system, irq, softirq and steal of the
// "cpu" line of /proc/stat (guest time is part of user).
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("machine cpu: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("machine cpu: unexpected /proc/stat line %q", line)
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system (idle iowait) irq softirq steal
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("machine cpu: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// memory returns VmRSS and VmHWM (peak RSS) of a process, in bytes.
func memory(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("memory: %s: %w", k, err)
		}
		if k == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm, sc.Err()
}

// openFiles counts a process's descriptors.
func openFiles(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, fmt.Errorf("open files: %w", err)
	}
	return len(ents), nil
}

// profiler records a CPU profile of a process with perf, if perf is
// installed and allowed to sample it.
type profiler struct {
	perf string // "" when unavailable
	out  string
}

func newProfiler(out string) profiler {
	p, _ := exec.LookPath("perf")
	return profiler{perf: p, out: out}
}

// record samples pid for d (software cpu-clock event, frame-pointer call
// graphs, which Go binaries keep) into out/name.perf.data. It returns when
// perf is done; run the load meanwhile.
func (p profiler) record(ctx context.Context, name string, pid int, d time.Duration) (string, error) {
	data := filepath.Join(p.out, name+".perf.data")
	cmd := exec.CommandContext(ctx, p.perf, "record", "-q", "-e", "cpu-clock", "-F", "999", "-g",
		"-p", strconv.Itoa(pid), "-o", data, "--", "sleep", strconv.Itoa(int(d.Seconds())))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("perf record: %w: %s", err, out)
	}
	return data, nil
}

// profileViews are the perf reports written for each profile: kernel vs
// proxy binary, self time per function, and time including callees (which
// charges kernel time to the Go function that made the system call).
var profileViews = []struct {
	suffix string
	args   []string
}{
	{".dso.txt", []string{"--no-children", "--sort", "dso", "-g", "none"}},
	{".flat.txt", []string{"--no-children", "--sort", "symbol", "-g", "none", "--percent-limit", "0.3"}},
	{".cum.txt", []string{"--children", "--sort", "symbol", "-g", "none", "--percent-limit", "1"}},
}

// report writes profileViews of a perf.data file next to it and returns
// the path without the suffix.
func (p profiler) report(data string) (string, error) {
	base := strings.TrimSuffix(data, ".perf.data")
	for _, v := range profileViews {
		args := append([]string{"report", "-i", data, "--stdio"}, v.args...)
		out, err := exec.Command(p.perf, args...).Output()
		if err != nil {
			return "", fmt.Errorf("perf report: %w", err)
		}
		if err := os.WriteFile(base+v.suffix, out, 0o644); err != nil {
			return "", err
		}
	}
	return base, nil
}

// wrappers are frames every goroutine or thread has: they say nothing
// about where the time goes.
var wrappers = regexp.MustCompile(`runtime\.(goexit|mstart|mstart0|mstart1|mcall|systemstack)(\.abi0)?\s|\.gowrap\d|\(\*Server\)\.start\.func1\s`)

// topLines returns the first n sample lines of a perf report that match
// keep and are not wrappers.
func topLines(path string, n int, keep string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") || !strings.Contains(l, keep) || wrappers.MatchString(l) {
			continue
		}
		out = append(out, strings.TrimRight(l, " -"))
		if len(out) == n {
			break
		}
	}
	return out
}

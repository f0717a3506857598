//go:build bench

package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// The reference proxies do no LDAP work at all: they forward bytes. Run
// beside the proxy against the same slapd, they show what the socket
// crossings any proxy adds cost on this machine, and so how far below 1.0
// a pass-through ratio must stay whatever the proxy does. They are not
// targets.
//
//   - relay (test/relay): the usual Go design, a goroutine per direction
//     reading and writing with plain syscalls. Always run.
//   - relay-epoll (test/relay -epoll 2): the same relay served by two event
//     loops, OS threads blocked in epoll_wait, outside Go's scheduler. Always run.
//   - haproxy: HAProxy in TCP mode, a tuned C event loop. Run when the
//     haproxy binary is installed (make bench installs it as root).

// refProc is a running reference proxy.
type refProc struct {
	name string // "relay" or "haproxy"
	cmd  *exec.Cmd
	addr string // where it listens, host:port
}

// startReferences starts the reference proxies in front of d's slapd and
// returns their endpoints (sharing d's users), and a note about any that
// could not run.
func startReferences(t *testing.T, b *bench, d *directory) (eps []endpoint, note string) {
	t.Helper()
	procs := []*refProc{startRelay(t, b, d, "relay"), startRelay(t, b, d, "relay-epoll", "-epoll", "2")}
	if hp, why := startHAProxy(t, b, d); hp != nil {
		procs = append(procs, hp)
	} else {
		note = why
		b.printf("  %s\n", note)
	}
	for _, p := range procs {
		eps = append(eps, endpoint{name: p.name, url: "ldap://" + p.addr, proxyPID: p.cmd.Process.Pid,
			slapdPID: d.pid, users: d.users})
		b.printf("  %-22s reference proxy on %s\n", p.name, p.addr)
	}
	return eps, note
}

// startRelay builds and starts test/relay with args; it prints its address
// first.
func startRelay(t *testing.T, b *bench, d *directory, name string, args ...string) *refProc {
	t.Helper()
	bin := buildCommand(t, b.out, "relay", "./test/relay")
	cmd := exec.Command(bin, append([]string{"-listen", "127.0.0.1:0", "-to", d.srv.Addr}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start relay: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		first <- strings.TrimSpace(line)
	}()
	select {
	case addr := <-first:
		if addr == "" {
			t.Fatal("relay printed no address")
		}
		return &refProc{name: name, cmd: cmd, addr: addr}
	case <-time.After(10 * time.Second):
		t.Fatal("relay printed no address within 10s")
	}
	return nil
}

// haproxyConfig is HAProxy's configuration: TCP mode, defaults otherwise.
const haproxyConfig = `# written by TestBench (test/load): a byte relay in front of slapd
global
	maxconn 1000
defaults
	mode tcp
	timeout connect 5s
	timeout client 1m
	timeout server 1m
listen ldap
	bind %s
	server slapd %s
`

// haproxyBinary is the installed haproxy, or "".
func haproxyBinary() string {
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/haproxy"); err == nil {
		return "/usr/sbin/haproxy"
	}
	return ""
}

// startHAProxy starts haproxy in the foreground in front of d's slapd, or
// says why it did not.
func startHAProxy(t *testing.T, b *bench, d *directory) (*refProc, string) {
	t.Helper()
	bin := haproxyBinary()
	if bin == "" {
		return nil, "haproxy is not installed (apt-get install haproxy): its reference runs are skipped"
	}
	addr := fmt.Sprintf("127.0.0.1:%d", slapdtest.FreePort(t))
	conf := filepath.Join(b.out, "haproxy.cfg")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(haproxyConfig, addr, d.srv.Addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(b.out, "haproxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	cmd := exec.Command(bin, "-db", "-f", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Sprintf("haproxy did not start: %v; its reference runs are skipped", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	// A reference that cannot run costs its rows, not the bench.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := probeBind(addr, d.srv.ServiceDN, d.srv.ServicePassword)
		if err == nil {
			return &refProc{name: "haproxy", cmd: cmd, addr: addr}, ""
		}
		select {
		case <-done:
			return nil, fmt.Sprintf("haproxy exited during start-up (%v; log %s): its reference runs are skipped", err, logf.Name())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return nil, fmt.Sprintf("haproxy not ready after 10s (%v; log %s): its reference runs are skipped", err, logf.Name())
		}
	}
}

// withReferences puts a comparison of each reference proxy right after
// the proxy's own plain-bind and search comparisons, so that the two run
// close together in time and see the machine in the same state.
func withReferences(cs []comparison, refs []endpoint, slapd endpoint) []comparison {
	var out []comparison
	for _, c := range cs {
		out = append(out, c)
		if c.key != "plain-bind" && c.key != "search" {
			continue
		}
		for _, r := range refs {
			out = append(out, comparison{refKey(r.name, c.key), "reference, no LDAP work", c.mode, c.conn, c.c, r, slapd})
		}
	}
	return out
}

func refKey(ref, key string) string { return "ref-" + ref + "-" + key }

// printReferences prints each pass-through ratio of the proxy beside the
// reference proxies' ratios in the same run.
func (b *bench) printReferences(names []string, note string) {
	b.printf("\n== reference proxies that forward bytes and do no LDAP work (not targets; same slapd, same run)\n")
	b.printf("%-24s %-12s %8s %10s\n", "comparison", "proxy", "ratio", "CPU/op")
	for _, key := range []string{"plain-bind", "search"} {
		for _, name := range append([]string{"ldapotp"}, names...) {
			k := key
			if name != "ldapotp" {
				k = refKey(name, key)
			}
			o := b.outcomes[k]
			if o == nil {
				continue
			}
			b.printf("%-24s %-12s %8.2f %10s\n", key+" c=8", name, o.ratio(), us(o.a.perOp(o.a.proxyCPU)))
		}
	}
	if note != "" {
		b.printf("%s\n", note)
	}
}

func refNames(refs []endpoint) []string {
	var names []string
	for _, r := range refs {
		names = append(names, r.name)
	}
	return names
}

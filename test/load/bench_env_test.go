//go:build bench

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// Users each bench directory gets.
const (
	benchHOTPUsers  = 2000 // the 2,000 OTP users
	benchPlainUsers = 200
	// TOTP users may bind once per step each; with a 1-second step (the
	// step length changes nothing of the work a bind does) benchTOTPUsers
	// users allow that many TOTP binds per second, more than either side
	// reaches here (the report says if workers had to wait).
	benchTOTPUsers  = 2000
	benchTOTPPeriod = 1
)

// directory is one slapd of the bench with its users and, for the plain
// ones, the proxy in front of it.
type directory struct {
	name  string
	srv   *slapdtest.Server
	pid   int
	users []*User
	proxy *proxyProc // nil for slapo-otp
}

// endpoint is what a load run talks to: a slapd directly or the proxy.
type endpoint struct {
	name     string
	url      string
	proxyPID int // 0 when talking to slapd directly
	slapdPID int // the slapd that does the directory's work
	users    []*User
	mode     Mode // the load run against it; "" for the comparison's mode
}

// direct is the slapd itself.
func (d *directory) direct() endpoint {
	return endpoint{name: d.name, url: d.srv.URL, slapdPID: d.pid, users: d.users}
}

// proxied is the proxy in front of the slapd; it shares the users (and so
// the HOTP counters) with direct.
func (d *directory) proxied() endpoint {
	return endpoint{name: "proxy→" + d.name, url: d.proxy.url, proxyPID: d.proxy.pid(), slapdPID: d.pid, users: d.users}
}

// startDirectory starts a slapd (logging errors only: stats logging would
// measure slapd's logging), loads the users and, for a plain slapd, starts
// the proxy in front of it.
func startDirectory(t *testing.T, b *bench, name string, opts slapdtest.Options, n Counts) *directory {
	t.Helper()
	opts.LogLevel = "0"
	if opts.Kind == slapdtest.Plain {
		opts.ExtraConfig += syncprovConfig
		opts.LDAPI = b.upstream == "ldapi"
	}
	d := &directory{name: name, srv: slapdtest.Start(t, opts)}
	d.pid = slapdPID(t, d.srv)
	l := DefaultLayout
	l.Prefix = "bench"
	d.users = NewUsers(l, n)
	start := time.Now()
	if err := Create(t.Context(), d.srv.URL, d.srv.RootDN, d.srv.RootPassword, l, d.users); err != nil {
		t.Fatalf("load users into %s: %v", name, err)
	}
	b.printf("  %-22s %s  %5d users loaded in %.1fs\n", name, d.srv.URL, len(d.users), time.Since(start).Seconds())
	if opts.Kind == slapdtest.Plain {
		d.proxy = startProxy(t, b, "proxy-"+name, d.srv, "")
	}
	return d
}

// syncprovConfig turns on content synchronization on a plain directory, for
// the proxy's user index (every proxy of the bench waits for it).
const syncprovConfig = "\nmoduleload syncprov.la\noverlay syncprov\n"

// slapdPID reads the pid file slapd writes into its directory.
func slapdPID(t *testing.T, s *slapdtest.Server) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(s.Dir, "slapd.pid"))
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil && pid > 0 {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("slapd pid file in %s: %v", s.Dir, err)
		}
		time.Sleep(20 * time.Millisecond) // slapd writes it right after start-up
	}
}

// buildProxy builds cmd/ldapotp into dir: the proxy runs as its own
// process so that its CPU time can be read from /proc.
func buildProxy(t *testing.T, dir string) string {
	return buildCommand(t, dir, "ldapotp", "./cmd/ldapotp")
}

// buildCommand builds the module's command pkg into dir/name.
func buildCommand(t *testing.T, dir, name, pkg string) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the bench builds %s with the go command, which is not in PATH: %v", pkg, err)
	}
	bin := filepath.Join(dir, name)
	cmd := exec.Command(gobin, "build", "-o", bin, pkg)
	cmd.Dir = slapdtest.ModuleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// proxyConfig is the part of the proxies' configuration the command line
// cannot set; everything else is the default. The per-DN bind rate limit
// (default 120 a minute) stays on, so its cost is measured, but out of reach:
// a load test binds each of its users many times a second, which the limit
// exists to stop. max_connections leaves room above the 10,000 idle
// connections for the readiness probe.
//
// The user index follows the people subtree (the service account may not
// read the suffix entry); the plain directories run syncprov for it.
const proxyConfig = `# written by TestBench (test/load)
bind_rate_per_dn: 1000000
max_connections: 10100
user_index_bases: ["ou=people,dc=example,dc=com"]
`

// proxyProc is a running `ldapotp serve`.
type proxyProc struct {
	cmd  *exec.Cmd
	url  string
	addr string
	done chan struct{}
}

func (p *proxyProc) pid() int { return p.cmd.Process.Pid }

// startProxy runs the proxy binary in front of s on a free loopback port,
// configured with proxyConfig plus extra (YAML lines), logging at warn
// level to a file in the output directory, and waits until a bind through
// it succeeds. It is stopped when the test ends.
func startProxy(t *testing.T, b *bench, name string, s *slapdtest.Server, extra string) *proxyProc {
	t.Helper()
	pw := filepath.Join(b.out, name+".password")
	if err := os.WriteFile(pw, []byte(s.ServicePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(b.out, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	conf := filepath.Join(b.out, name+".yaml")
	extra += strings.ReplaceAll(os.Getenv("LDAPOTP_BENCH_PROXY_CONF"), `\n`, "\n")
	if err := os.WriteFile(conf, []byte(proxyConfig+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(slapdtest.FreePort(t)))
	status := filepath.Join(b.out, name+".status.json")
	upstream := s.URL
	if b.upstream == "ldapi" {
		upstream = s.LDAPIURL
	}
	cmd := exec.Command(b.bin, "serve", "-c", conf, "--listen", addr, "--upstream", upstream,
		"--service-dn", s.ServiceDN, "--service-password-file", pw, "--log-level", "warn", "--status-file", status)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), strings.Fields(os.Getenv("LDAPOTP_BENCH_PROXY_ENV"))...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proxyProc{cmd: cmd, url: "ldap://" + addr, addr: addr, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	if err := p.waitReady(s.ServiceDN, s.ServicePassword); err != nil {
		t.Fatalf("%s: %v (log: %s)", name, err, logf.Name())
	}
	if strings.Contains(extra, "user_index: off") {
		return p
	}
	mode, err := p.waitIndex(status)
	if err != nil {
		t.Fatalf("%s: %v (log: %s)", name, err, logf.Name())
	}
	b.printf("  %-22s user index live (%s)\n", name, mode)
	return p
}

// waitIndex polls the proxy's status file until its user index is live and
// returns how it follows the directory ("poll" or "persist").
func (p *proxyProc) waitIndex(status string) (string, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st struct {
			UserIndex struct {
				Live bool
				Mode string
			} `json:"user_index"`
		}
		b, err := os.ReadFile(status)
		if err == nil {
			err = json.Unmarshal(b, &st)
		}
		if err == nil && st.UserIndex.Live {
			return st.UserIndex.Mode, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("user index not live after 30s (status %s: %s, %v)", status, b, err)
		}
		time.Sleep(100 * time.Millisecond) // the status file is rewritten every second
	}
}

// waitReady polls with a real bind through the proxy until it succeeds.
func (p *proxyProc) waitReady(dn, password string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := probeBind(p.addr, dn, password)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("proxy exited during start-up: %w", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("proxy not ready after 15s: %w", err)
		}
	}
}

// probeBind binds once on a new connection.
func probeBind(addr, dn, password string) error {
	c, err := dial(context.Background(), addr)
	if err != nil {
		return err
	}
	defer c.close()
	code, err := c.bind(dn, []byte(password))
	if err == nil && code != 0 {
		err = fmt.Errorf("bind as %s: result code %d", dn, code)
	}
	return err
}

// stop sends SIGTERM and kills the proxy if it has not exited after 10s.
func (p *proxyProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// raiseFileLimit makes sure this process may hold n more descriptors.
func raiseFileLimit(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur >= n {
		return nil
	}
	if lim.Max < n {
		return errors.New("the hard limit of open files (ulimit -Hn) is " + strconv.FormatUint(lim.Max, 10) +
			", below the " + strconv.FormatUint(n, 10) + " the idle-connection test needs")
	}
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("setrlimit: %w", err)
	}
	return nil
}

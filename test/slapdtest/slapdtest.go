package slapdtest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Kind selects what runs inside the test slapd.
type Kind int

const (
	// Plain is a stock slapd with the OATH-LDAP schema loaded from
	// schema/oath.schema: the directory ldapotp sits in front of.
	Plain Kind = iota
	// Oracle is slapd with the slapo-otp overlay (`moduleload otp.so`,
	// `overlay otp` on the database), whose compiled-in OATH-LDAP schema
	// replaces schema/oath.schema. It is the reference for differential
	// tests.
	Oracle
)

// String returns "plain" or "oracle".
func (k Kind) String() string {
	switch k {
	case Plain:
		return "plain"
	case Oracle:
		return "oracle"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Options configures Start. The zero value is a Plain server that syncs
// every write to disk.
type Options struct {
	// Kind is Plain (default) or Oracle.
	Kind Kind
	// NoSync sets `dbnosync`: writes are not flushed to disk, which makes
	// write-heavy tests faster and Kill lose recent writes. Default: off.
	NoSync bool
	// ExtraConfig is added to the database section of slapd.conf, after
	// `overlay otp` (Oracle) and before the production access rules of
	// examples/slapd/acl.conf, so `access` lines here are matched first.
	// slapd.conf accepts `moduleload` here too, e.g.
	// "moduleload ppolicy.so\noverlay ppolicy".
	ExtraConfig string
	// GlobalConfig is added to the global section of slapd.conf, before the
	// database (e.g. TLSCertificateFile/TLSCertificateKeyFile for StartTLS).
	GlobalConfig string
	// Schemas are more schema files to include after the OATH-LDAP schema
	// (e.g. "schema/otpme.schema"); relative paths are relative to the
	// module root.
	Schemas []string
	// LDAPI makes slapd listen on a Unix socket too (Server.LDAPIURL), for
	// a proxy on the same machine.
	LDAPI bool
	// LogLevel is slapd's -d level. Default "stats": connections,
	// operations, results, and slapo-otp's "HOTP token ... redeemed";
	// "stats,trace" adds slapo-otp's TOTP lines; "0" keeps only errors.
	LogLevel string
}

// Timing of start-up, shut-down and client connections.
const (
	readyTimeout = 30 * time.Second      // start-up until a bind as the rootdn succeeds
	pollInterval = 10 * time.Millisecond // between readiness probes
	stopGrace    = 10 * time.Second      // SIGTERM until SIGKILL
	dialTimeout  = 5 * time.Second       // TCP connect of Dial
	opTimeout    = 10 * time.Second      // per-request timeout of Dial's connections
	restartWait  = 5 * time.Second       // how long Restart waits for its port to be free
	startTries   = 5                     // Start: fresh ports to try when one is taken
	maxLog       = 8 << 20               // log bytes kept per server
)

// Fixed names of the test directory; base.ldif and acl.conf use the same.
const (
	baseDN    = "dc=example,dc=com"
	rootDN    = "cn=admin," + baseDN
	serviceDN = "cn=ldapotp,ou=services," + baseDN
)

// Server is a running slapd started by Start. Its exported fields are
// read-only. It serves the suffix BaseDN, seeded with
// examples/slapd/base.ldif: the containers ou=people, ou=tokens,
// ou=params, ou=services and ou=otpme, and the service account ServiceDN.
type Server struct {
	Kind            Kind
	URL             string // ldap://127.0.0.1:PORT
	Addr            string // 127.0.0.1:PORT
	Port            int    // the TCP port; the same after Restart
	BaseDN          string // dc=example,dc=com
	RootDN          string // cn=admin,dc=example,dc=com (rootdn, bypasses ACLs)
	RootPassword    string // random per server
	ServiceDN       string // cn=ldapotp,ou=services,dc=example,dc=com (the proxy's account)
	ServicePassword string // random per server
	Dir             string // slapd.conf, db/, pid file
	LDAPIURL        string // ldapi://<escaped socket path> with Options.LDAPI, else ""

	slapd string    // binary
	conf  string    // slapd.conf path
	level string    // -d
	log   logBuffer // slapd's stdout and stderr, across restarts

	mu   sync.Mutex
	proc *process // nil while stopped
}

var errAddrInUse = errors.New("address already in use")

// Start starts a slapd of opts.Kind on a free 127.0.0.1 port in a new
// t.TempDir(), waits until a real bind as the rootdn succeeds, and seeds
// it with examples/slapd/base.ldif (the service account gets
// ServicePassword). The server is stopped when the test and its subtests
// finish; if the test failed, slapd's log is written with t.Logf. When
// slapd is missing, Start skips the test, or fails it under CI (see
// Require).
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	in := requireKind(t, opts.Kind)
	s := newServer(t, in, opts)
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("slapd (%s) log, %s:\n%s", s.Kind, s.Dir, s.Log())
		}
	})
	if err := s.launch(); err != nil {
		t.Fatalf("start slapd (%s): %v", s.Kind, err)
	}
	s.seed(t)
	return s
}

// newServer writes the server's slapd.conf into a fresh temporary
// directory.
func newServer(t testing.TB, in install, opts Options) *Server {
	t.Helper()
	root := ModuleRoot(t)
	s := &Server{
		Kind: opts.Kind, BaseDN: baseDN, RootDN: rootDN, ServiceDN: serviceDN,
		RootPassword: randomPassword(), ServicePassword: randomPassword(),
		Dir: t.TempDir(), slapd: in.slapd, level: opts.LogLevel,
	}
	if s.level == "" {
		s.level = "stats"
	}
	if opts.LDAPI {
		// A socket path has at most 107 bytes; t.TempDir() holds the test's
		// name, so the socket gets a short directory of its own.
		dir, err := os.MkdirTemp("", "slapd")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		s.LDAPIURL = "ldapi://" + url.PathEscape(filepath.Join(dir, "ldapi"))
	}
	c := config{
		Test: t.Name(), Kind: opts.Kind, ModuleDir: in.moduleDir,
		MDBModule: in.moduleDir != "" && exists(filepath.Join(in.moduleDir, "back_mdb.so")),
		SchemaDir: in.schemaDir, Dir: s.Dir, BaseDN: baseDN, RootDN: rootDN,
		RootPW: SSHA(s.RootPassword), NoSync: opts.NoSync, Extra: opts.ExtraConfig, Global: opts.GlobalConfig,
		ACL: repoFile(t, root, "examples/slapd/acl.conf"),
	}
	if opts.Kind == Plain {
		c.OATHSchema = repoFile(t, root, "schema/oath.schema")
	}
	c.OTPmeSchema = repoFile(t, root, "schema/otpme.schema")
	for _, p := range opts.Schemas {
		if filepath.ToSlash(p) == "schema/otpme.schema" {
			continue // always loaded
		}
		if !filepath.IsAbs(p) {
			p = repoFile(t, root, p)
		}
		c.Schemas = append(c.Schemas, p)
	}
	text, err := c.render()
	if err != nil {
		t.Fatal(err)
	}
	s.conf = filepath.Join(s.Dir, "slapd.conf")
	if err := os.Mkdir(filepath.Join(s.Dir, "db"), 0o700); err != nil {
		t.Fatalf("slapd data directory: %v", err)
	}
	if err := os.WriteFile(s.conf, []byte(text), 0o600); err != nil {
		t.Fatalf("write slapd.conf: %v", err)
	}
	return s
}

// repoFile returns the absolute path of a file of this repository and
// fails the test if it does not exist.
func repoFile(t testing.TB, root, rel string) string {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if !exists(p) {
		t.Fatalf("slapdtest needs %s, which does not exist", p)
	}
	return p
}

func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// launch runs slapd on a fresh port, and on another one if some other
// process took the port between FreePort and slapd's bind.
func (s *Server) launch() error {
	var err error
	for range startTries {
		port, perr := freePort()
		if perr != nil {
			return perr
		}
		s.Port = port
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.URL = "ldap://" + s.Addr
		if err = s.run(); !errors.Is(err, errAddrInUse) {
			return err
		}
	}
	return err
}

// run starts slapd on s.Port and waits until it answers a bind as the
// rootdn. It returns an error wrapping errAddrInUse if slapd could not
// listen.
func (s *Server) run() error {
	mark := s.log.total()
	listen := s.URL + "/"
	if s.LDAPIURL != "" {
		listen += " " + s.LDAPIURL + "/"
	}
	p, err := startProcess(s.slapd, []string{"-f", s.conf, "-h", listen, "-d", s.level}, &s.log)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	if err := s.waitReady(p); err != nil {
		s.Stop()
		if strings.Contains(s.log.since(mark), "Address already in use") {
			return fmt.Errorf("port %d: %w", s.Port, errAddrInUse)
		}
		return err
	}
	return nil
}

// waitReady polls with a real bind as the rootdn until it succeeds, slapd
// exits, or readyTimeout passes.
func (s *Server) waitReady(p *process) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		err := s.probe()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("slapd not ready after %v: bind as %s: %w", readyTimeout, s.RootDN, err)
		}
		select {
		case <-p.done:
			return fmt.Errorf("slapd exited during start-up: %v", p.err)
		case <-time.After(pollInterval):
		}
	}
}

// probe binds as the rootdn on a new connection.
func (s *Server) probe() error {
	conn, err := s.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Bind(s.RootDN, s.RootPassword)
}

// seed adds examples/slapd/base.ldif, giving the service account
// ServicePassword.
func (s *Server) seed(t testing.TB) {
	t.Helper()
	path := repoFile(t, ModuleRoot(t), "examples/slapd/base.ldif")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	entries, err := parseLDIF(string(text))
	if err != nil {
		t.Fatalf("seed %s: %v", path, err)
	}
	found := false
	for i := range entries {
		if strings.EqualFold(entries[i].DN, s.ServiceDN) {
			entries[i].set("userPassword", SSHA(s.ServicePassword))
			found = true
		}
	}
	if !found {
		t.Fatalf("seed %s: no entry %s", path, s.ServiceDN)
	}
	s.addEntries(t, entries)
}

// Stop stops slapd: SIGTERM, then SIGKILL if it has not exited after 10s.
// The data stays for Restart. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.halt(syscall.SIGTERM, stopGrace)
}

// Kill stops slapd with SIGKILL, as a crash would. With NoSync, recent
// writes may be lost; Restart recovers the database.
func (s *Server) Kill() {
	s.halt(syscall.SIGKILL, 0)
}

func (s *Server) halt(sig syscall.Signal, grace time.Duration) {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil && p.stop(sig, grace) && sig != syscall.SIGKILL {
		s.log.note(fmt.Sprintf("slapdtest: slapd still running %v after SIGTERM, killed", grace))
	}
}

// Running reports whether slapd is up: false after Stop or Kill, and
// after a crash (slapo-otp dies on a TOTP period of 0, for one).
func (s *Server) Running() bool {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Restart stops slapd if it is running and starts it again on the same
// port with the same configuration and data, waiting until it answers a
// bind. Connections to the old process are broken; dial new ones.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.log.note("slapdtest: restart")
	deadline := time.Now().Add(restartWait)
	for {
		err := s.run()
		if err == nil {
			return
		}
		if !errors.Is(err, errAddrInUse) || time.Now().After(deadline) {
			t.Fatalf("restart slapd (%s) on %s: %v", s.Kind, s.Addr, err)
		}
		time.Sleep(pollInterval) // retry until the port is free again
	}
}

// Log returns what slapd has written so far (the last 8 MiB), across
// restarts.
func (s *Server) Log() string {
	return s.log.String()
}

// Dial opens an anonymous connection to the server, closed when the test
// finishes. Each request on it times out after 10s.
func (s *Server) Dial(t testing.TB) *ldap.Conn {
	t.Helper()
	conn, err := s.dial()
	if err != nil {
		t.Fatalf("dial slapd: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// Admin returns a connection bound as the rootdn, closed when the test
// finishes.
func (s *Server) Admin(t testing.TB) *ldap.Conn {
	t.Helper()
	return s.bound(t, s.RootDN, s.RootPassword)
}

// Service returns a connection bound as the proxy's service account,
// closed when the test finishes.
func (s *Server) Service(t testing.TB) *ldap.Conn {
	t.Helper()
	return s.bound(t, s.ServiceDN, s.ServicePassword)
}

func (s *Server) bound(t testing.TB, dn, password string) *ldap.Conn {
	t.Helper()
	conn := s.Dial(t)
	if err := conn.Bind(dn, password); err != nil {
		t.Fatalf("bind to %s as %s: %v", s.URL, dn, err)
	}
	return conn
}

func (s *Server) dial() (*ldap.Conn, error) {
	conn, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: dialTimeout}))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", s.URL, err)
	}
	conn.SetTimeout(opTimeout)
	return conn, nil
}

// AddLDIF adds the entries of an LDIF text as the rootdn, in order, and
// fails the test at the first error. It understands what tests write:
// blank-line separated records starting with "dn:", "attr: value",
// "attr:: base64", continuation lines (leading space), "#" comments,
// "version: 1" and "changetype: add". Other change types are refused.
func (s *Server) AddLDIF(t testing.TB, ldif string) {
	t.Helper()
	entries, err := parseLDIF(ldif)
	if err != nil {
		t.Fatalf("AddLDIF: %v", err)
	}
	s.addEntries(t, entries)
}

func (s *Server) addEntries(t testing.TB, entries []entry) {
	t.Helper()
	conn, err := s.dial()
	if err != nil {
		t.Fatalf("add entries: %v", err)
	}
	defer conn.Close()
	if err := conn.Bind(s.RootDN, s.RootPassword); err != nil {
		t.Fatalf("add entries: bind as %s: %v", s.RootDN, err)
	}
	for _, e := range entries {
		req := ldap.NewAddRequest(e.DN, nil)
		for _, a := range e.Attrs {
			req.Attribute(a.Name, a.Values)
		}
		if err := conn.Add(req); err != nil {
			t.Fatalf("add %q: %v", e.DN, err)
		}
	}
}

package test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// sentSecrets collects every password and key the tests send or store, so
// that every proxy's log can be scanned for them when its test ends: each
// integration test is also a leak test.
var sentSecrets sync.Map

// registerSecret records s for the log scan (short strings, which could
// occur in a log by chance, are skipped).
func registerSecret(s string) {
	if len(s) >= 8 {
		sentSecrets.Store(s, struct{}{})
	}
}

// Totals of the leak scan, printed by TestMain.
var scannedLines, scannedLogs, leaks atomic.Int64

// scanForSecrets fails t for every registered secret found in log.
func scanForSecrets(t testing.TB, log string) {
	t.Helper()
	scannedLogs.Add(1)
	scannedLines.Add(int64(strings.Count(log, "\n")))
	sentSecrets.Range(func(k, _ any) bool {
		if s := k.(string); strings.Contains(log, s) {
			leaks.Add(1)
			t.Errorf("a password or secret (%d bytes, starts %q) appears in the proxy log", len(s), s[:4])
		}
		return true
	})
}

// TestMain runs the suite and reports the leak scan's totals.
func TestMain(m *testing.M) {
	code := m.Run()
	secrets := 0
	sentSecrets.Range(func(any, any) bool { secrets++; return true })
	fmt.Printf("leak scan: %d proxy logs, %d log lines scanned for %d passwords and secrets: %d found\n",
		scannedLogs.Load(), scannedLines.Load(), secrets, leaks.Load())
	os.Exit(code)
}

// noResponse is the pseudo result code of a bind that got no answer within
// the client timeout (slapo-otp's hang with both token kinds).
const noResponse = 1000

// syncBuffer is a bytes.Buffer safe for concurrent writers (the log).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runningProxy is an in-process ldapotp in front of one slapd.
type runningProxy struct {
	URL string
	Log *syncBuffer
	srv *proxy.Server
}

// startProxy runs a proxy on a free loopback port in front of s, with the
// service account of s, at debug level; its log is printed if the test
// fails.
func startProxy(t testing.TB, s *slapdtest.Server, change ...func(*proxy.Config)) *runningProxy {
	t.Helper()
	return startProxyAt(t, s, s.URL, change...)
}

// startProxyOpts is startProxy with extra server options.
func startProxyOpts(t testing.TB, s *slapdtest.Server, opts []proxy.Option, change ...func(*proxy.Config)) *runningProxy {
	t.Helper()
	return startProxyFull(t, s.URL, s, opts, change...)
}

// startProxyAt is startProxy with another upstream URL in front of s (a
// fault-injecting link).
func startProxyAt(t testing.TB, s *slapdtest.Server, upstream string, change ...func(*proxy.Config)) *runningProxy {
	t.Helper()
	return startProxyFull(t, upstream, s, nil, change...)
}

func startProxyFull(t testing.TB, upstream string, s *slapdtest.Server, extra []proxy.Option, change ...func(*proxy.Config)) *runningProxy {
	t.Helper()
	cfg := proxy.Config{
		Listen:          []string{"127.0.0.1:0"},
		Upstream:        upstream,
		ServiceDN:       s.ServiceDN,
		ServicePassword: proxy.NewSecret([]byte(s.ServicePassword)),
	}
	for _, c := range change {
		c(&cfg)
	}
	log := &syncBuffer{}
	h := slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})
	srv, err := proxy.New(cfg, append([]proxy.Option{proxy.WithLogger(slog.New(h))}, extra...)...)
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	p := &runningProxy{URL: "ldap://" + l.Addr().String(), Log: log, srv: srv}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("proxy shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("proxy serve: %v", err)
		}
		scanForSecrets(t, log.String())
		if t.Failed() {
			t.Logf("proxy log:\n%s", log.String())
		}
	})
	return p
}

// dial connects a client to url with a per-request timeout.
func dial(t testing.TB, url string, timeout time.Duration) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(url, ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	require.NoError(t, err, "dial %s", url)
	c.SetTimeout(timeout)
	t.Cleanup(func() { c.Close() })
	return c
}

// resultCode turns a go-ldap error into the LDAP result code (0 for nil,
// noResponse for a client timeout).
func resultCode(err error) int {
	if err == nil {
		return 0
	}
	var le *ldap.Error
	if errors.As(err, &le) {
		if le.ResultCode == ldap.ErrorNetwork {
			return noResponse
		}
		return int(le.ResultCode)
	}
	return -1
}

// bindCode binds on a fresh connection and returns the result code.
func bindCode(t testing.TB, url, dn, password string, timeout time.Duration) int {
	t.Helper()
	registerSecret(password)
	c := dial(t, url, timeout)
	defer c.Close()
	_, err := c.SimpleBind(&ldap.SimpleBindRequest{Username: dn, Password: password, AllowEmptyPassword: true})
	return resultCode(err)
}

// tryBind is bindCode for polling: a connection that cannot be made is -1
// instead of a test failure.
func tryBind(url, dn, password string) int {
	return tryBindWithin(url, dn, password, time.Second)
}

// tryBindWithin is tryBind with a client timeout.
func tryBindWithin(url, dn, password string, timeout time.Duration) int {
	registerSecret(password)
	c, err := ldap.DialURL(url, ldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
	if err != nil {
		return -1
	}
	defer c.Close()
	c.SetTimeout(timeout)
	return resultCode(c.Bind(dn, password))
}

// readAttr reads one attribute's first value ("" if absent) as the rootdn.
func readAttr(t testing.TB, admin *ldap.Conn, dn, attr string) string {
	t.Helper()
	res, err := admin.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{attr}, nil))
	require.NoError(t, err, "read %s of %s", attr, dn)
	require.Len(t, res.Entries, 1)
	return res.Entries[0].GetAttributeValue(attr)
}

package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestServer builds a Server with a fake directory, a silent upstream
// and a certificate; change adjusts the config.
func newTestServer(t *testing.T, change func(*Config)) *Server {
	certFile, keyFile := selfSigned(t)
	cfg := Config{Listen: []string{"127.0.0.1:0"}, Upstream: silentUpstream(t), ServiceDN: "cn=svc",
		ServicePassword: NewSecret([]byte("x")), TLSCertFile: certFile, TLSKeyFile: keyFile}
	if change != nil {
		change(&cfg)
	}
	srv, err := New(cfg, WithDirectory(newFakeDirectory(false)), WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv
}

// serveLDAPS serves srv on an LDAPS listener and returns its address.
func serveLDAPS(t *testing.T, srv *Server) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(srv.TLSListener(l)) }()
	return l.Addr().String()
}

// dialSilent opens a TCP connection that never sends a byte. It is closed
// at cleanup before the server shuts down.
func dialSilent(t *testing.T, addr string) net.Conn {
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	return nc
}

// waitClients waits until the server counts n client connections.
func waitClients(t *testing.T, srv *Server, n int64) {
	require.Eventually(t, func() bool { return srv.Stats().ClientConns == n }, 5*time.Second, 5*time.Millisecond,
		"client connections: want %d, have %d", n, srv.Stats().ClientConns)
}

// assertClosedWithin checks that the server closes nc within d: reading
// reaches the end of the stream (or a reset), not the deadline.
func assertClosedWithin(t *testing.T, nc net.Conn, d time.Duration) {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, nc)
	var ne net.Error
	assert.False(t, errors.As(err, &ne) && ne.Timeout(), "connection still open after %s", d)
}

// stuckConn is the server's end of a pipe whose client never reads, so
// every write blocks until its deadline; entered is closed by the first.
type stuckConn struct {
	net.Conn
	once    sync.Once
	entered chan struct{}
}

func (c *stuckConn) Write(b []byte) (int, error) {
	c.once.Do(func() { close(c.entered) })
	return c.Conn.Write(b)
}

// TestServer_Shutdown: Shutdown ends within its context, whatever state
// the clients' connections are in.
func TestServer_Shutdown(t *testing.T) {
	shutdown := func(t *testing.T, srv *Server, ctxTimeout, bound time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), ctxTimeout)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- srv.Shutdown(ctx) }()
		select {
		case err := <-done:
			return err
		case <-time.After(bound):
			t.Fatalf("Shutdown with a %s context still running after %s", ctxTimeout, bound)
			return nil
		}
	}
	t.Run("ldaps-handshake-pending", func(t *testing.T) {
		srv := newTestServer(t, nil)
		nc := dialSilent(t, serveLDAPS(t, srv))
		waitClients(t, srv, 1)
		assert.NoError(t, shutdown(t, srv, 2*time.Second, 4*time.Second), "the connection ended before the context")
		assertClosedWithin(t, nc, 2*time.Second)
	})
	t.Run("client-not-reading", func(t *testing.T) {
		srv := newTestServer(t, func(c *Config) { c.WriteTimeout = 5 * time.Second })
		client, server := net.Pipe()
		t.Cleanup(func() { client.Close() })
		nc := &stuckConn{Conn: server, entered: make(chan struct{})}
		srv.start(nc, "test")
		_, err := client.Write(encodeExtendedRequest(1, oidStartTLS)) // its answer is never read
		require.NoError(t, err)
		select {
		case <-nc.entered:
		case <-time.After(5 * time.Second):
			t.Fatal("the server did not answer")
		}
		start := time.Now()
		err = shutdown(t, srv, 200*time.Millisecond, 10*time.Second)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 2*time.Second, "Shutdown waited for the blocked write (write_timeout 5s)")
	})
}

// TestServer_MaxConnections: an LDAPS connection refused beyond
// max_connections is closed soon even if the client never sends a byte.
func TestServer_MaxConnections(t *testing.T) {
	srv := newTestServer(t, func(c *Config) { c.MaxConnections = 1 })
	addr := serveLDAPS(t, srv)
	dialSilent(t, addr)
	waitClients(t, srv, 1)
	refused := make([]net.Conn, 3)
	for i := range refused {
		refused[i] = dialSilent(t, addr)
	}
	for _, nc := range refused {
		assertClosedWithin(t, nc, 3*time.Second)
	}
	assert.Equal(t, int64(1), srv.Stats().ClientConns)
}

// TestServer_Handshake: an LDAPS client gets a limited time for its TLS
// handshake, and only for that.
func TestServer_Handshake(t *testing.T) {
	t.Run("silent-client-dropped", func(t *testing.T) {
		srv := newTestServer(t, nil)
		srv.handshakeTimeout = 200 * time.Millisecond
		nc := dialSilent(t, serveLDAPS(t, srv))
		assertClosedWithin(t, nc, 3*time.Second)
		waitClients(t, srv, 0)
	})
	t.Run("no-limit-after-handshake", func(t *testing.T) {
		srv := newTestServer(t, nil)
		srv.handshakeTimeout = 200 * time.Millisecond
		tc, err := tls.Dial("tcp", serveLDAPS(t, srv), &tls.Config{InsecureSkipVerify: true})
		require.NoError(t, err)
		t.Cleanup(func() { tc.Close() })
		require.NoError(t, tc.Handshake())
		time.Sleep(400 * time.Millisecond) // longer than the limit: the connection must stay
		_, err = tc.Write(encodeExtendedRequest(1, oidStartTLS))
		require.NoError(t, err)
		_ = tc.SetReadDeadline(time.Now().Add(5 * time.Second))
		msg, err := readMessage(bufio.NewReader(tc), 1<<16)
		require.NoError(t, err)
		p, err := ber.DecodePacketErr(msg)
		require.NoError(t, err)
		res, err := parseResult(p)
		require.NoError(t, err)
		assert.Equal(t, OperationsError, res.Code, "answered: TLS is already established")
	})
}

// onlyConn returns the server's one client connection.
func onlyConn(t *testing.T, srv *Server) *clientConn {
	waitClients(t, srv, 1)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for c := range srv.conns {
		return c
	}
	return nil
}

// TestClientConn_CloseWith: closing an LDAPS connection whose client does
// not read takes the write's one second, not close_notify's five more.
func TestClientConn_CloseWith(t *testing.T) {
	srv := newTestServer(t, nil)
	client, server := net.Pipe() // unbuffered: every write waits for a read
	t.Cleanup(func() { client.Close() })
	srv.start(tls.Server(server, srv.certs.serverConfig()), "test")
	require.NoError(t, tls.Client(client, &tls.Config{InsecureSkipVerify: true}).Handshake())
	c := onlyConn(t, srv)
	start := time.Now()
	c.closeWith(encodeNoticeOfDisconnection(Unavailable, "test"))
	assert.Less(t, time.Since(start), 3*time.Second)
}

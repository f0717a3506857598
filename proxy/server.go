package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ldapotp/ldapotp/otpme"
)

// Server is the ldapotp proxy: it accepts LDAP clients on one or more
// listeners and serves each connection until it ends or Shutdown.
type Server struct {
	cfg    Config
	target Target
	dir    Directory
	chain  BindHandler
	certs  *certStore // nil without tls_cert_file

	otpmeEngine *otpme.Engine // nil: no OTPme
	index       *userIndex    // nil: user_index off, or a Directory given by WithDirectory
	indexOnce   sync.Once     // the index starts with the first Serve
	otpmeDir    OTPmeDirectory
	flushState  func(context.Context) error // writes deferred OTPme state at shutdown; nil: none
	log         *slog.Logger
	now         func() time.Time

	handshakeTimeout time.Duration // tlsHandshakeTimeout; shorter in tests

	connID    atomic.Uint64
	clients   atomic.Int64 // open client connections
	upstreams atomic.Int64 // open per-client upstream connections, parked ones included
	parked    *parkedUpstreams
	mu        sync.Mutex
	lns       map[net.Listener]struct{}
	conns     map[*clientConn]struct{}
	wg        sync.WaitGroup
	ctx       context.Context
	cancel    context.CancelFunc
	closed    bool
}

// Option changes how New builds a Server.
type Option func(*Server)

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithClock sets the clock used for TOTP (default: time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithOTPme turns on the OTPme step with an engine and the directory view
// it needs (users by bind DN, client matching).
func WithOTPme(e *otpme.Engine, d OTPmeDirectory) Option {
	return func(s *Server) { s.otpmeEngine, s.otpmeDir = e, d }
}

// WithDirectory replaces the service-account directory client.
func WithDirectory(d Directory) Option { return func(s *Server) { s.dir = d } }

// New validates cfg and builds a Server. It does not contact the upstream.
func New(cfg Config, opts ...Option) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t, err := cfg.target()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, target: t, log: slog.Default(), now: time.Now, handshakeTimeout: tlsHandshakeTimeout,
		lns: map[net.Listener]struct{}{}, conns: map[*clientConn]struct{}{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.parked = newParkedUpstreams(cfg.UpstreamIdle, cfg.BindTimeout, func(d int64) { s.upstreams.Add(d) })
	for _, o := range opts {
		o(s)
	}
	if cfg.TLSCertFile != "" {
		if s.certs, err = newCertStore(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			return nil, err
		}
	}
	if s.dir == nil {
		s.dir = NewServiceDirectory(t, cfg.ServiceDN, cfg.ServicePassword, cfg.ServicePoolSize, cfg.UpstreamTimeout)
		if cfg.UserIndex != "off" {
			interval := cfg.UserIndexInterval
			if cfg.UserIndex == "persist" {
				interval = 0
			}
			s.index = newUserIndex(cfg.UserIndexBases, t, cfg.ServiceDN, cfg.ServicePassword, cfg.UpstreamTimeout, interval, s.log)
		}
	}
	if s.otpmeEngine == nil && cfg.OTPmeBase != "" {
		if err := s.startOTPme(); err != nil {
			return nil, err
		}
	}
	s.chain = s.bindChain()
	return s, nil
}

// ListenAndServe listens on every configured address (plain and LDAPS)
// and serves until Shutdown. It returns the first listen error, or nil
// after Shutdown.
func (s *Server) ListenAndServe() error {
	var lns []net.Listener
	fail := func(a string, err error) error {
		for _, l := range lns {
			l.Close()
		}
		return fmt.Errorf("listen on %s: %w", a, err)
	}
	for _, a := range s.cfg.Listen {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return fail(a, err)
		}
		lns = append(lns, l)
	}
	for _, a := range s.cfg.ListenLDAPS {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return fail(a, err)
		}
		lns = append(lns, s.TLSListener(l))
	}
	errs := make(chan error, len(lns))
	for _, l := range lns {
		go func() { errs <- s.Serve(l) }()
	}
	var first error
	for range lns {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// TLSListener wraps l for LDAPS with the server's certificate; connections
// accepted from it count as TLS. It panics if no certificate is configured.
func (s *Server) TLSListener(l net.Listener) net.Listener {
	return tls.NewListener(l, s.certs.serverConfig())
}

// ReloadTLS reads the listener certificate and key again (on SIGHUP). Open
// connections keep theirs; on error the old certificate stays in use.
func (s *Server) ReloadTLS() error {
	if s.certs == nil {
		return nil
	}
	return s.certs.Reload()
}

// Serve accepts connections on l until Shutdown (then it returns nil) or a
// permanent accept error.
func (s *Server) Serve(l net.Listener) error {
	if !s.track(l) {
		l.Close()
		return nil
	}
	s.log.Info("listening", "addr", l.Addr().String(), "upstream", s.target.String())
	if s.index != nil {
		s.indexOnce.Do(func() { go s.index.run(s.ctx) })
	}
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isClosed() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				s.log.Warn("accept", "err", err)
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return fmt.Errorf("accept on %s: %w", l.Addr(), err)
		}
		s.start(nc, l.Addr().String())
	}
}

// isTemporary reports accept errors worth retrying (EMFILE and the like).
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func (s *Server) track(l net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.lns[l] = struct{}{}
	return true
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// start serves one accepted connection in its own goroutine. Beyond
// max_connections the client is told "busy" and closed at once.
func (s *Server) start(nc net.Conn, listener string) {
	id := s.connID.Add(1)
	nc = rawIO(nc)
	_, isTLS := nc.(*tls.Conn)
	c := &clientConn{srv: s, nc: nc, r: bufio.NewReaderSize(nc, 16<<10), bw: bufio.NewWriterSize(nc, 8<<10), listener: listener, tls: isTLS,
		log: s.log.With("conn", id, "client", nc.RemoteAddr().String())}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	if s.clients.Load() >= int64(s.cfg.MaxConnections) {
		s.mu.Unlock()
		s.log.Warn("max_connections reached, refusing a connection", "client", nc.RemoteAddr().String())
		go c.closeWith(encodeNoticeOfDisconnection(Busy, "too many connections"))
		return
	}
	s.conns[c] = struct{}{}
	s.clients.Add(1)
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer s.forget(c)
		defer func() {
			if r := recover(); r != nil {
				c.log.Error("panic serving connection", "panic", r)
			}
		}()
		if err := s.handshake(nc); err != nil {
			c.log.Debug("TLS handshake with client", "err", err)
			c.close()
			return
		}
		c.serve(s.ctx)
	}()
}

// tlsHandshakeTimeout bounds the TLS handshake of an LDAPS connection, as
// StartTLS bounds its own to 10 s.
const tlsHandshakeTimeout = 10 * time.Second

// handshake runs the TLS handshake of an LDAPS connection, within
// s.handshakeTimeout and only until Shutdown. Left to the read loop it has
// no limit when idle_timeout is 0: a client that never finishes it would
// hold its connection for ever.
func (s *Server) handshake(nc net.Conn) error {
	tc, ok := nc.(*tls.Conn)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.handshakeTimeout)
	defer cancel()
	return tc.HandshakeContext(ctx)
}

func (s *Server) forget(c *clientConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.clients.Add(-1)
}

// Stats are the server's gauges.
type Stats struct {
	ClientConns   int64      `json:"client_conns"`   // open client connections
	UpstreamConns int64      `json:"upstream_conns"` // open upstream connections of clients (service pool not included)
	ParkedConns   int64      `json:"parked_conns"`   // of those, anonymous ones waiting for the next client
	UserIndex     IndexStats `json:"user_index"`     // zero when user_index is off
}

// Stats returns the current gauges.
func (s *Server) Stats() Stats {
	st := Stats{ClientConns: s.clients.Load(), UpstreamConns: s.upstreams.Load(), ParkedConns: int64(s.parked.count())}
	if s.index != nil {
		st.UserIndex = s.index.stats()
	}
	return st
}

// Shutdown stops accepting, tells every client the server is going away
// (notice of disconnection), closes the connections and waits for their
// goroutines until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for l := range s.lns {
		l.Close()
	}
	conns := make([]*clientConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.cancel()
	// In parallel, so that ctx bounds Shutdown: a closeWith waits for a
	// write of its connection in progress (up to write_timeout).
	notice := encodeNoticeOfDisconnection(Unavailable, "server shutting down")
	for _, c := range conns {
		go c.closeWith(notice)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	defer s.closeDirectory()
	defer s.flushDeferred()
	defer s.parked.close()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shutdown: %w", ctx.Err())
	}
}

// flushDeferred writes the OTPme state the directory store defers (login
// counts of sessions), with a deadline of its own: Shutdown's may be over.
func (s *Server) flushDeferred() {
	if s.flushState == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), countWriteTimeout)
	defer cancel()
	if err := s.flushState(ctx); err != nil {
		s.log.Warn("otpme: login counts of sessions not written at shutdown", "err", err)
	}
}

func (s *Server) closeDirectory() {
	if d, ok := s.dir.(interface{ Close() }); ok {
		d.Close()
	}
}

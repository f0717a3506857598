package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"time"
)

// bind runs one simple bind through the chain and answers it. Whatever the
// chain decided, a connection whose answer is not success is left with an
// anonymous upstream identity (a failed bind makes an LDAP connection
// anonymous; slapo-otp's "49 but still bound" is exactly what this rules
// out).
func (c *clientConn) bind(ctx context.Context, env envelope, msg []byte) bool {
	start := time.Now()
	req := &BindRequest{ID: env.ID, Received: c.srv.now(), Peer: c.nc.RemoteAddr(), TLS: c.tls, Listener: c.listener, Log: c.log}
	req.Upstream = lazyUpstream{c}
	req.CertSubject = c.certSubject()
	c.actAs = ""
	if err := decodeBind(msg, req); err != nil {
		c.log.Warn("malformed bind request, closing", "msgid", env.ID, "err", err)
		c.write(encodeResponse(env.ID, tagBindResponse, result{Code: ProtocolError, Message: "malformed bind request"}))
		return false
	}
	defer req.Password.Zero()
	password := req.Password // steps may replace req.Password; zero the original
	defer password.Zero()
	bctx, cancel := context.WithTimeout(ctx, c.srv.cfg.BindTimeout)
	defer cancel()
	resp := c.srv.chain.Bind(bctx, req)
	if resp.Code != Success {
		c.makeAnonymous(bctx, env.ID)
	} else {
		c.actAs = req.ActAs
	}
	c.logBind(req, resp, time.Since(start))
	c.write(encodeResponse(env.ID, tagBindResponse, resp))
	return true
}

// makeAnonymous rebinds the upstream connection anonymously if it may hold
// an identity, and drops it if that does not work.
func (c *clientConn) makeAnonymous(ctx context.Context, id int64) {
	up := c.upstream()
	if up == nil || !up.mayBeBound() {
		return
	}
	r, err := up.Bind(ctx, id, "", Secret{}, nil)
	if err != nil || r.Code != Success {
		c.log.Debug("anonymous rebind refused, dropping upstream connection", "code", r.Code, "err", err)
		c.dropUpstream()
	}
}

// logBind writes the one event line of a bind.
func (c *clientConn) logBind(req *BindRequest, resp BindResponse, dur time.Duration) {
	event := req.Event
	if event == "" {
		event = "AUTH_FAILED"
		if resp.Code == Success {
			event = "AUTH_OK_PASSTHROUGH"
		}
	}
	level := slog.LevelInfo
	if req.Err != nil {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("event", event), slog.Int64("msgid", req.ID), slog.String("dn", req.DN),
		slog.String("result", resp.Code.String()), slog.Duration("dur", dur),
	}
	if req.Token != "" {
		attrs = append(attrs, slog.String("token", req.Token))
	}
	if req.Detail != "" {
		attrs = append(attrs, slog.String("otpme", req.Detail))
	}
	if req.Err != nil {
		attrs = append(attrs, slog.String("err", req.Err.Error()))
	}
	c.log.LogAttrs(context.Background(), level, event, attrs...)
}

// certSubject returns the subject of the client's TLS certificate, if any.
func (c *clientConn) certSubject() string {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return ""
	}
	st := tc.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		return ""
	}
	return st.PeerCertificates[0].Subject.String()
}

// lazyUpstream dials the client's upstream connection when a bind step
// first needs it.
type lazyUpstream struct{ c *clientConn }

// Bind implements Upstream.
func (l lazyUpstream) Bind(ctx context.Context, id int64, dn string, password Secret, controls []byte) (BindResponse, error) {
	up, err := l.c.ensureUpstream(ctx)
	if err != nil {
		return BindResponse{}, err
	}
	r, err := up.Bind(ctx, id, dn, password, controls)
	if errors.Is(err, errUpstreamStale) {
		// Closed by the directory (a restart, its idletimeout) while
		// nobody read it, and the bind was not sent: a bind sets a new
		// identity anyway, so it goes over a new connection instead of
		// failing.
		l.c.detachUpstream(up)
		up.Close()
		if up, err = l.c.ensureUpstream(ctx); err != nil {
			return BindResponse{}, err
		}
		r, err = up.Bind(ctx, id, dn, password, controls)
	}
	return r, err
}

// BoundAs reports whether the client's upstream connection is bound as dn
// already (see upstreamConn.boundAs).
func (l lazyUpstream) BoundAs(dn string) bool {
	up := l.c.upstream()
	return up != nil && up.boundAs(dn)
}

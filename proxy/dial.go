package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"time"
)

// Target is how to reach the upstream directory: both the service-account
// connections and the clients' own upstream connections dial through it.
type Target struct {
	// URL is ldap://host:port, ldaps://host:port or ldapi://<escaped path>.
	URL *url.URL
	// TLS is used for ldaps:// (nil: system roots, ServerName from the URL).
	TLS *tls.Config
	// DialTimeout bounds connecting (and the TLS handshake).
	DialTimeout time.Duration
}

// ParseTarget parses an upstream LDAP URL.
func ParseTarget(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("upstream URL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "ldap", "ldaps", "ldapi":
	default:
		return Target{}, fmt.Errorf("upstream URL %q: scheme must be ldap, ldaps or ldapi", raw)
	}
	if u.Scheme != "ldapi" && u.Host == "" {
		return Target{}, fmt.Errorf("upstream URL %q: no host", raw)
	}
	return Target{URL: u, DialTimeout: 5 * time.Second}, nil
}

// String returns the URL.
func (t Target) String() string { return t.URL.String() }

// Dial opens a connection to the upstream (TLS for ldaps://).
func (t Target) Dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, t.DialTimeout)
	defer cancel()
	d := net.Dialer{KeepAlive: 30 * time.Second}
	network, addr := "tcp", t.hostPort()
	if t.URL.Scheme == "ldapi" {
		network = "unix"
	}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("dial upstream %s: %w", t, err)
	}
	if t.URL.Scheme != "ldaps" {
		return c, nil
	}
	tc := tls.Client(c, t.tlsConfig())
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("tls handshake with upstream %s: %w", t, err)
	}
	return tc, nil
}

// IsTLS reports whether connections to the target are encrypted.
func (t Target) IsTLS() bool { return t.URL.Scheme == "ldaps" }

func (t Target) hostPort() string {
	if t.URL.Scheme == "ldapi" {
		p, err := url.PathUnescape(t.URL.Host)
		if err != nil || p == "" {
			return "/var/run/slapd/ldapi"
		}
		return p
	}
	if t.URL.Port() != "" {
		return t.URL.Host
	}
	port := "389"
	if t.URL.Scheme == "ldaps" {
		port = "636"
	}
	return net.JoinHostPort(t.URL.Hostname(), port)
}

func (t Target) tlsConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.TLS != nil {
		cfg = t.TLS.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = t.URL.Hostname()
	}
	return cfg
}

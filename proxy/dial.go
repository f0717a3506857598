package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// Target is how to reach the upstream directory: both the service-account
// connections and the clients' own upstream connections dial through it.
type Target struct {
	// URL is ldap://host:port or ldaps://host:port; for ldapi, Host is
	// the socket path (decoded).
	URL *url.URL
	// TLS is used for ldaps:// (nil: system roots, ServerName from the URL).
	TLS *tls.Config
	// DialTimeout bounds connecting (and the TLS handshake).
	DialTimeout time.Duration
	// StartTLS upgrades ldap:// connections with the StartTLS operation
	// before anything else is sent.
	StartTLS bool
}

// defaultLDAPI is the socket of ldapi:/// (Debian's slapd listens there).
const defaultLDAPI = "/var/run/slapd/ldapi"

// ParseTarget parses an upstream LDAP URL. An ldapi URL carries the socket
// path percent-encoded in its host part, as slapd -h and the OpenLDAP
// tools write it (ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi); ldapi:/// is
// defaultLDAPI.
func ParseTarget(raw string) (Target, error) {
	if p := "ldapi://"; len(raw) >= len(p) && strings.EqualFold(raw[:len(p)], p) {
		return parseLDAPI(raw, raw[len(p):])
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("upstream URL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "ldap", "ldaps", "ldapi":
	default:
		return Target{}, fmt.Errorf("upstream URL %q: scheme must be ldap, ldaps or ldapi", raw)
	}
	if u.Scheme == "ldapi" {
		return Target{}, fmt.Errorf("upstream URL %q: write ldapi URLs as ldapi://%%2Fpath%%2Fto%%2Fsocket", raw)
	}
	if u.Host == "" {
		return Target{}, fmt.Errorf("upstream URL %q: no host", raw)
	}
	return Target{URL: u, DialTimeout: 5 * time.Second}, nil
}

// parseLDAPI parses the part of an ldapi URL after "ldapi://". net/url
// refuses an escaped "/" in a host, so the host is cut out here; a path
// after it (a DN in RFC 4516) must be empty, so that the older
// ldapi:///path/to/socket form is refused instead of silently dialling
// the default socket.
func parseLDAPI(raw, rest string) (Target, error) {
	host, dn, _ := strings.Cut(rest, "/")
	if dn != "" {
		return Target{}, fmt.Errorf("upstream URL %q: the socket path goes percent-encoded in the host part, e.g. ldapi://%%2Fvar%%2Frun%%2Fslapd%%2Fldapi", raw)
	}
	socket, err := url.PathUnescape(host)
	switch {
	case err != nil:
		return Target{}, fmt.Errorf("upstream URL %q: %w", raw, err)
	case socket == "":
		socket = defaultLDAPI
	case !strings.HasPrefix(socket, "/") || strings.ContainsRune(socket, 0):
		return Target{}, fmt.Errorf("upstream URL %q: the socket path must be absolute", raw)
	}
	return Target{URL: &url.URL{Scheme: "ldapi", Host: socket}, DialTimeout: 5 * time.Second}, nil
}

// String returns the URL.
func (t Target) String() string {
	if t.URL.Scheme == "ldapi" {
		return "ldapi://" + url.PathEscape(t.URL.Host)
	}
	return t.URL.String()
}

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
	c = rawIO(c)
	switch {
	case t.URL.Scheme == "ldaps":
	case t.StartTLS && t.URL.Scheme == "ldap":
		if err := startTLS(ctx, c); err != nil {
			c.Close()
			return nil, fmt.Errorf("starttls with upstream %s: %w", t, err)
		}
	default:
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
func (t Target) IsTLS() bool {
	return t.URL.Scheme == "ldaps" || t.StartTLS && t.URL.Scheme == "ldap"
}

// startTLS sends the StartTLS extended operation (message ID 1, before any
// other message on the connection) and checks its answer.
func startTLS(ctx context.Context, c net.Conn) error {
	if d, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(d)
		defer c.SetDeadline(time.Time{})
	}
	if _, err := c.Write(encodeExtendedRequest(1, oidStartTLS)); err != nil {
		return err
	}
	// Read byte by byte: nothing after the answer may be consumed, the TLS
	// handshake follows on the same connection.
	msg, err := readMessage(bufio.NewReaderSize(c, 16), 1<<16)
	if err != nil {
		return err
	}
	p, err := ber.DecodePacketErr(msg)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	r, err := parseResult(p)
	if err != nil {
		return err
	}
	if r.Code != Success {
		return fmt.Errorf("refused: %s %q", r.Code, r.Message)
	}
	return nil
}

func (t Target) hostPort() string {
	if t.URL.Scheme == "ldapi" {
		return t.URL.Host // the socket path, decoded by ParseTarget
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

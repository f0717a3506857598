package proxy

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Config is the proxy's configuration. The yaml names are the keys of the
// config file (see examples/ldapotp.yaml); zero values take the defaults
// noted on each field.
type Config struct {
	// Listen: addresses for plain LDAP (with StartTLS when a certificate is
	// configured), e.g. ["127.0.0.1:1389"]. Listen or ListenLDAPS is required.
	Listen []string `yaml:"listen"`
	// ListenLDAPS: addresses for LDAP over TLS (ldaps://), e.g. ["0.0.0.0:636"].
	// Needs TLSCertFile and TLSKeyFile.
	ListenLDAPS []string `yaml:"listen_ldaps"`
	// TLSCertFile, TLSKeyFile: PEM certificate (chain) and key of the
	// listeners; they enable StartTLS on Listen. Reloaded on SIGHUP.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// RequireTLS: refuse binds on connections without TLS with
	// confidentialityRequired (13). Default false.
	RequireTLS bool `yaml:"require_tls"`
	// Upstream: the directory, ldap://host:port, ldaps://host:port or
	// ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi. Required.
	Upstream string `yaml:"upstream"`
	// UpstreamCAFile: PEM CA certificates to verify the upstream with
	// (ldaps:// or StartTLS). Default: the system roots.
	UpstreamCAFile string `yaml:"upstream_ca_file"`
	// UpstreamStartTLS: upgrade ldap:// upstream connections with StartTLS.
	UpstreamStartTLS bool `yaml:"upstream_starttls"`
	// UpstreamCertFile, UpstreamKeyFile: optional client certificate for
	// the upstream's TLS.
	UpstreamCertFile string `yaml:"upstream_cert_file"`
	UpstreamKeyFile  string `yaml:"upstream_key_file"`
	// ServiceDN: the proxy's service account, which reads user, token and
	// params entries and writes counters. Required.
	ServiceDN string `yaml:"service_dn"`
	// ServicePasswordFile: file holding the service account's password
	// (read whole, one trailing newline ignored). Required.
	ServicePasswordFile string `yaml:"service_password_file"`
	// ServicePassword is the loaded password (not a config key).
	ServicePassword Secret `yaml:"-"`
	// ServicePoolSize: service-account connections shared by all binds.
	// Default 4. On plain ldap:// and ldapi:// upstreams (Linux) each
	// counter write also borrows a connection of its own, up to 32 at
	// once, kept open for the next.
	ServicePoolSize int `yaml:"service_pool_size"`
	// AllowAnonymous: pass anonymous binds (empty DN and password) to the
	// upstream. Default false: answered inappropriateAuthentication (48).
	AllowAnonymous bool `yaml:"allow_anonymous"`
	// TOTPDrift: "params" (default, slapo-otp's behaviour: drift read from
	// the params entry) or "track" (the token's last drift is read back).
	TOTPDrift DriftMode `yaml:"totp_drift"`
	// ParamsCacheTTL: how long an OATH params entry read from the directory
	// is reused. A change that narrows what is accepted (a shorter
	// look-ahead or window) is in force after at most this; one that widens
	// it at once, as a code refused under cached params is checked again
	// on fresh ones. Default 5s; negative: read on every bind.
	ParamsCacheTTL time.Duration `yaml:"params_cache_ttl"`
	// TokenCacheTTL: how long an OATH token entry read from the directory
	// is reused. It changes no answer: the commit is a compare-and-swap
	// that also asserts the cached secret (a failed commit re-reads the
	// token), and a code refused on a cached entry is checked again on a
	// fresh one (a new secret, a counter an admin lowered). Default 5s;
	// negative: read on every bind.
	TokenCacheTTL time.Duration `yaml:"token_cache_ttl"`
	// UserIndex: "auto" (default) keeps the directory's OTP users in memory,
	// fed by content synchronization (RFC 4533) of every naming context, so
	// that a bind need not read its user entry; it needs the syncprov
	// overlay on each database and is off by itself when that is missing.
	// It polls every user_index_interval (a change to a user is in force
	// after at most that plus one poll) if the service account may read
	// entryCSN under the bases, else it keeps a persistent search open.
	// "persist": always the persistent search (a change is in force within
	// milliseconds, but slapd then sends the proxy a message for every
	// write to the database). "off": every bind reads its user entry.
	UserIndex string `yaml:"user_index"`
	// UserIndexInterval: how often the user index polls. Default 1s; a
	// poll that takes long spaces the next ones out (20 × its duration).
	UserIndexInterval time.Duration `yaml:"user_index_interval"`
	// UserIndexBases: the subtrees the user index follows, e.g.
	// ["ou=people,dc=example,dc=com"]; the service account must be able to
	// read their base entries. Default: the directory's naming contexts.
	// Binds of DNs outside them read their user entry.
	UserIndexBases []string `yaml:"user_index_bases"`
	// OTPmeBase: the container of the OTPme objects and shared state, e.g.
	// ou=otpme,dc=example,dc=com. Empty (default): no OTPme, the proxy
	// applies slapo-otp's rules only.
	OTPmeBase string `yaml:"otpme_base"`
	// Store: where OTPme sessions, fail counters and used codes live:
	// "memory" (default; one proxy) or "directory" (under OTPmeBase,
	// shared by every proxy).
	Store string `yaml:"store"`
	// OTPmeKeyFile: at least 32 random bytes keying every hash OTPme
	// stores; the same file on every proxy sharing the directory store.
	// Required with store: directory; with the memory store a random key
	// is made at start.
	OTPmeKeyFile string `yaml:"otpme_key_file"`
	// OTPmeKey is the loaded key (not a config key).
	OTPmeKey Secret `yaml:"-"`
	// OTPmeRefresh: how often the OTPme objects are read again; a change
	// is in force on every proxy after at most this. Default 5s.
	OTPmeRefresh time.Duration `yaml:"otpme_refresh"`
	// AllowGroupMissing (OTPme's ALLOW_GROUP_MISSING): a bind without a
	// client or access group may use all of the user's tokens. Default
	// false.
	AllowGroupMissing bool `yaml:"allow_group_missing"`
	// MaxConnections: client connections held at once; more are told
	// "busy" and closed. Default 10000.
	MaxConnections int `yaml:"max_connections"`
	// MaxPending: operations one client may have outstanding; more are
	// answered busy (51). Default 256.
	MaxPending int `yaml:"max_pending"`
	// BindRatePerIP, BindRatePerDN: bind attempts allowed per minute from
	// one source address / for one DN; more are answered busy (51). A
	// negative value turns the limit off. Defaults: per address off (-1; a
	// mail server sends every login from one address), per DN 120.
	BindRatePerIP int `yaml:"bind_rate_per_ip"`
	BindRatePerDN int `yaml:"bind_rate_per_dn"`
	// MaxMessageSize: largest request a client may send, bytes. Default 16 MiB.
	MaxMessageSize int `yaml:"max_message_size"`
	// MaxUpstreamMessageSize: largest message accepted from the upstream.
	// Default 256 MiB.
	MaxUpstreamMessageSize int `yaml:"max_upstream_message_size"`
	// UpstreamIdle: upstream connections of clients that left kept open
	// (anonymous, at most 30 s) for the next clients, so a client that
	// connects per bind costs the directory no new connection. Default
	// 64; negative: none.
	UpstreamIdle int `yaml:"upstream_idle"`
	// RelayTransactions: relay LDAP transactions (RFC 5805) to the
	// directory. Default false: Start and End Transaction are answered
	// unwillingToPerform (53), because slapd 2.5 with syncprov — which the
	// user index needs — crashes committing them.
	RelayTransactions bool `yaml:"relay_transactions"`
	// IdleTimeout: close client connections idle this long. Default 0 (never).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// WriteTimeout: give up on a client that does not read its answers.
	// Default 30s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// BindTimeout: the longest a bind may take before it is refused. Default 15s.
	BindTimeout time.Duration `yaml:"bind_timeout"`
	// UpstreamTimeout: per service-account operation and for dialling. Default 10s.
	UpstreamTimeout time.Duration `yaml:"upstream_timeout"`
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.ServicePoolSize, 4)
	def(&c.MaxConnections, 10000)
	def(&c.MaxPending, 256)
	def(&c.UpstreamIdle, 64)
	def(&c.BindRatePerIP, -1)
	def(&c.BindRatePerDN, 120)
	def(&c.MaxMessageSize, 16<<20)
	def(&c.MaxUpstreamMessageSize, 256<<20)
	defDur(&c.WriteTimeout, 30*time.Second)
	defDur(&c.BindTimeout, 15*time.Second)
	defDur(&c.UpstreamTimeout, 10*time.Second)
	defDur(&c.ParamsCacheTTL, 5*time.Second)
	defDur(&c.TokenCacheTTL, 5*time.Second)
	defDur(&c.OTPmeRefresh, 5*time.Second)
	defDur(&c.UserIndexInterval, time.Second)
	if c.Store == "" {
		c.Store = "memory"
	}
	if c.TOTPDrift == "" {
		c.TOTPDrift = DriftParams
	}
	if c.UserIndex == "" {
		c.UserIndex = "auto"
	}
	return c
}

// Validate returns every problem of the configuration at once, each naming
// the key and what to do about it.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	if len(c.Listen)+len(c.ListenLDAPS) == 0 {
		bad("listen", "no address; set one, e.g. 127.0.0.1:1389")
	}
	for _, a := range append(append([]string(nil), c.Listen...), c.ListenLDAPS...) {
		if _, _, err := net.SplitHostPort(a); err != nil {
			bad("listen", "%q is not host:port", a)
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		bad("tls_cert_file", "tls_cert_file and tls_key_file go together")
	}
	if c.TLSCertFile == "" && len(c.ListenLDAPS) > 0 {
		bad("listen_ldaps", "needs tls_cert_file and tls_key_file")
	}
	if c.TLSCertFile == "" && c.RequireTLS {
		bad("require_tls", "needs tls_cert_file and tls_key_file (clients must be able to start TLS)")
	}
	if c.Upstream == "" {
		bad("upstream", "not set; e.g. ldap://127.0.0.1:389")
	} else if t, err := ParseTarget(c.Upstream); err != nil {
		bad("upstream", "%v", err)
	} else {
		errs = append(errs, c.unusedUpstreamTLS(t.URL.Scheme)...)
	}
	if c.ServiceDN == "" {
		bad("service_dn", "not set; the proxy's service account DN")
	}
	if c.ServicePassword.Empty() {
		bad("service_password_file", "no password loaded; point it at a file holding the service account's password")
	}
	if c.UserIndex != "auto" && c.UserIndex != "persist" && c.UserIndex != "off" {
		bad("user_index", "%q: must be auto, persist or off", c.UserIndex)
	}
	if c.TOTPDrift != DriftParams && c.TOTPDrift != DriftTrack {
		bad("totp_drift", "%q: must be params or track", string(c.TOTPDrift))
	}
	counts := []struct {
		key string
		v   int
	}{{"max_connections", c.MaxConnections}, {"max_pending", c.MaxPending}}
	for _, n := range counts {
		if n.v < 0 {
			bad(n.key, "negative value %d", n.v)
		}
	}
	switch {
	case c.Store != "memory" && c.Store != "directory":
		bad("store", "%q: must be memory or directory", c.Store)
	case c.Store == "directory" && c.OTPmeBase == "":
		bad("store", "directory needs otpme_base")
	case c.Store == "directory" && c.OTPmeKey.Len() < 32:
		bad("otpme_key_file", "the directory store needs a key file of at least 32 random bytes, the same on every proxy (e.g. head -c 32 /dev/urandom > key)")
	case c.OTPmeKeyFile != "" && c.OTPmeKey.Len() < 32:
		bad("otpme_key_file", "%d bytes: give at least 32 random bytes", c.OTPmeKey.Len())
	}
	if c.UserIndexInterval > 0 && c.UserIndexInterval < 100*time.Millisecond {
		bad("user_index_interval", "%s is below 100ms", c.UserIndexInterval)
	}
	if c.MaxMessageSize < 1024 {
		bad("max_message_size", "%d is below 1024 bytes", c.MaxMessageSize)
	}
	durations := []struct {
		key string
		d   time.Duration
	}{{"idle_timeout", c.IdleTimeout}, {"write_timeout", c.WriteTimeout}, {"bind_timeout", c.BindTimeout}, {"upstream_timeout", c.UpstreamTimeout}, {"user_index_interval", c.UserIndexInterval}}
	for _, d := range durations {
		if d.d < 0 {
			bad(d.key, "negative duration %s", d.d)
		}
	}
	return errors.Join(errs...)
}

// unusedUpstreamTLS refuses upstream TLS keys the upstream URL would
// ignore: whoever set them believes the directory is verified while
// passwords go to it in the clear.
func (c Config) unusedUpstreamTLS(scheme string) []error {
	var errs []error
	if c.UpstreamStartTLS && scheme == "ldapi" {
		errs = append(errs, errors.New("upstream_starttls: an ldapi:// upstream is a local socket without TLS; remove upstream_starttls"))
	}
	var keys []string
	for _, k := range []struct{ key, v string }{{"upstream_ca_file", c.UpstreamCAFile},
		{"upstream_cert_file", c.UpstreamCertFile}, {"upstream_key_file", c.UpstreamKeyFile}} {
		if k.v != "" {
			keys = append(keys, k.key)
		}
	}
	switch {
	case len(keys) == 0, scheme == "ldaps", scheme == "ldap" && c.UpstreamStartTLS:
	case scheme == "ldapi":
		errs = append(errs, fmt.Errorf("%s: not used with an ldapi:// upstream, which has no TLS; remove it", strings.Join(keys, ", ")))
	default:
		errs = append(errs, fmt.Errorf("%s: not used: upstream %s is plain LDAP; set upstream_starttls: true or use ldaps://", strings.Join(keys, ", "), c.Upstream))
	}
	return errs
}

// CheckUpstreamTLS refuses upstream TLS keys that c.Upstream would ignore
// (see Validate), for tools that connect with a part of the configuration.
func (c Config) CheckUpstreamTLS() error {
	t, err := ParseTarget(c.Upstream)
	if err != nil {
		return err
	}
	return errors.Join(c.unusedUpstreamTLS(t.URL.Scheme)...)
}

func (c Config) target() (Target, error) {
	t, err := ParseTarget(c.Upstream)
	if err != nil {
		return t, err
	}
	t.DialTimeout = c.UpstreamTimeout
	t.StartTLS = c.UpstreamStartTLS
	if t.URL.Scheme == "ldaps" || t.StartTLS {
		if t.TLS, err = upstreamTLSConfig(c.UpstreamCAFile, c.UpstreamCertFile, c.UpstreamKeyFile); err != nil {
			return t, err
		}
	}
	return t, nil
}

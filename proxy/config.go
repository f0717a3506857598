package proxy

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Config is the proxy's configuration. The yaml names are the keys of the
// config file (see examples/ldapotp.yaml); zero values take the defaults
// noted on each field.
type Config struct {
	// Listen: addresses for plain LDAP, e.g. ["127.0.0.1:1389"]. Required.
	Listen []string `yaml:"listen"`
	// Upstream: the directory, ldap://host:port, ldaps://host:port or
	// ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi. Required.
	Upstream string `yaml:"upstream"`
	// ServiceDN: the proxy's service account, which reads user, token and
	// params entries and writes counters. Required.
	ServiceDN string `yaml:"service_dn"`
	// ServicePasswordFile: file holding the service account's password
	// (read whole, one trailing newline ignored). Required.
	ServicePasswordFile string `yaml:"service_password_file"`
	// ServicePassword is the loaded password (not a config key).
	ServicePassword Secret `yaml:"-"`
	// ServicePoolSize: service-account connections. Default 4.
	ServicePoolSize int `yaml:"service_pool_size"`
	// AllowAnonymous: pass anonymous binds (empty DN and password) to the
	// upstream. Default false: answered inappropriateAuthentication (48).
	AllowAnonymous bool `yaml:"allow_anonymous"`
	// TOTPDrift: "params" (default, slapo-otp's behaviour: drift read from
	// the params entry) or "track" (the token's last drift is read back).
	TOTPDrift DriftMode `yaml:"totp_drift"`
	// MaxMessageSize: largest request a client may send, bytes. Default 16 MiB.
	MaxMessageSize int `yaml:"max_message_size"`
	// MaxUpstreamMessageSize: largest message accepted from the upstream.
	// Default 256 MiB.
	MaxUpstreamMessageSize int `yaml:"max_upstream_message_size"`
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
	def(&c.MaxMessageSize, 16<<20)
	def(&c.MaxUpstreamMessageSize, 256<<20)
	defDur(&c.WriteTimeout, 30*time.Second)
	defDur(&c.BindTimeout, 15*time.Second)
	defDur(&c.UpstreamTimeout, 10*time.Second)
	if c.TOTPDrift == "" {
		c.TOTPDrift = DriftParams
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
	if len(c.Listen) == 0 {
		bad("listen", "no address; set one, e.g. 127.0.0.1:1389")
	}
	for _, a := range c.Listen {
		if _, _, err := net.SplitHostPort(a); err != nil {
			bad("listen", "%q is not host:port", a)
		}
	}
	if c.Upstream == "" {
		bad("upstream", "not set; e.g. ldap://127.0.0.1:389")
	} else if _, err := ParseTarget(c.Upstream); err != nil {
		bad("upstream", "%v", err)
	}
	if c.ServiceDN == "" {
		bad("service_dn", "not set; the proxy's service account DN")
	}
	if c.ServicePassword.Empty() {
		bad("service_password_file", "no password loaded; point it at a file holding the service account's password")
	}
	if c.TOTPDrift != DriftParams && c.TOTPDrift != DriftTrack {
		bad("totp_drift", "%q: must be params or track", string(c.TOTPDrift))
	}
	if c.MaxMessageSize < 1024 {
		bad("max_message_size", "%d is below 1024 bytes", c.MaxMessageSize)
	}
	durations := []struct {
		key string
		d   time.Duration
	}{{"idle_timeout", c.IdleTimeout}, {"write_timeout", c.WriteTimeout}, {"bind_timeout", c.BindTimeout}, {"upstream_timeout", c.UpstreamTimeout}}
	for _, d := range durations {
		if d.d < 0 {
			bad(d.key, "negative duration %s", d.d)
		}
	}
	return errors.Join(errs...)
}

func (c Config) target() (Target, error) {
	t, err := ParseTarget(c.Upstream)
	if err != nil {
		return t, err
	}
	t.DialTimeout = c.UpstreamTimeout
	return t, nil
}

package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ldapotp/ldapotp/proxy"
)

// defaultConfigPath is read by the admin verbs when neither -c nor
// $LDAPOTP_CONFIG names a config file and it exists.
const defaultConfigPath = "/etc/ldapotp/ldapotp.yaml"

// AdminKeys are the config file keys only the admin verbs read; serve
// accepts and ignores them, so one file configures both.
type AdminKeys struct {
	// AdminDN: the account the admin verbs write as, e.g.
	// cn=admin,dc=example,dc=com.
	AdminDN string `yaml:"admin_dn"`
	// AdminPasswordFile: file holding its password (one trailing newline
	// ignored).
	AdminPasswordFile string `yaml:"admin_password_file"`
	// PeopleBase: where "user add" creates uid=NAME entries. Default
	// ou=people under the suffix of otpme_base.
	PeopleBase string `yaml:"people_base"`
	// TokensBase, ParamsBase: where "token add … hotp|totp" creates the
	// OATH-LDAP token and params entries. Defaults ou=tokens and ou=params
	// under the suffix of otpme_base.
	TokensBase string `yaml:"tokens_base"`
	ParamsBase string `yaml:"params_base"`
}

// adminConfig is what the admin verbs read of the config file: the admin
// keys and the serve keys they share. Unknown keys (the rest of serve's)
// are ignored.
type adminConfig struct {
	AdminKeys         `yaml:",inline"`
	Upstream          string        `yaml:"upstream"`
	UpstreamCAFile    string        `yaml:"upstream_ca_file"`
	UpstreamStartTLS  bool          `yaml:"upstream_starttls"`
	UpstreamTimeout   time.Duration `yaml:"upstream_timeout"`
	OTPmeBase         string        `yaml:"otpme_base"`
	Store             string        `yaml:"store"`
	OTPmeKeyFile      string        `yaml:"otpme_key_file"`
	AllowGroupMissing bool          `yaml:"allow_group_missing"`
	TOTPDrift         string        `yaml:"totp_drift"`
}

// globalFlags are the flags every admin verb takes, before or after the
// object and verb.
type globalFlags struct {
	file              string
	cfg               adminConfig // flag values; empty ones do not override the file
	allowGroupMissing bool
	yes, json         bool
}

// register adds the flags to fs with their current values as defaults, so
// that flags given before the verb survive the verb's parse.
func (g *globalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.file, "c", g.file, "config file (default $LDAPOTP_CONFIG, else "+defaultConfigPath+" if it exists)")
	fs.StringVar(&g.file, "config", g.file, "same as -c")
	fs.StringVar(&g.cfg.Upstream, "upstream", g.cfg.Upstream, "directory URL, e.g. ldap://127.0.0.1:389")
	fs.StringVar(&g.cfg.AdminDN, "admin-dn", g.cfg.AdminDN, "DN to write the directory as")
	fs.StringVar(&g.cfg.AdminPasswordFile, "admin-password-file", g.cfg.AdminPasswordFile, "file with the admin DN's password")
	fs.StringVar(&g.cfg.OTPmeBase, "otpme-base", g.cfg.OTPmeBase, "container of the OTPme objects, e.g. ou=otpme,dc=example,dc=com")
	fs.StringVar(&g.cfg.Store, "store", g.cfg.Store, "OTPme state: memory or directory")
	fs.StringVar(&g.cfg.OTPmeKeyFile, "otpme-key-file", g.cfg.OTPmeKeyFile, "key file of OTPme's stored hashes (the proxies' one)")
	fs.StringVar(&g.cfg.PeopleBase, "people-base", g.cfg.PeopleBase, "where user add creates uid=NAME entries")
	fs.StringVar(&g.cfg.TokensBase, "tokens-base", g.cfg.TokensBase, "where token add creates OATH token entries")
	fs.StringVar(&g.cfg.ParamsBase, "params-base", g.cfg.ParamsBase, "where token add creates OATH params entries")
	fs.BoolVar(&g.allowGroupMissing, "allow-group-missing", g.allowGroupMissing, "auth verify: allow requests without access group")
	fs.BoolVar(&g.yes, "y", g.yes, "answer yes to confirmations")
	fs.BoolVar(&g.yes, "yes", g.yes, "same as -y")
	fs.BoolVar(&g.json, "json", g.json, "show: print JSON")
}

// load reads the config file (if any) and applies the flags over it.
func (g *globalFlags) load() (adminConfig, error) {
	var cfg adminConfig
	path := g.file
	if path == "" {
		path = os.Getenv("LDAPOTP_CONFIG")
	}
	if path == "" {
		if _, err := os.Stat(defaultConfigPath); err == nil {
			path = defaultConfigPath
		}
	}
	if path != "" {
		if err := readAdminConfig(path, &cfg); err != nil {
			return cfg, err
		}
	}
	cfg.merge(g.cfg)
	cfg.AllowGroupMissing = cfg.AllowGroupMissing || g.allowGroupMissing
	return cfg, nil
}

// merge sets every non-empty string of o over c.
func (c *adminConfig) merge(o adminConfig) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&c.Upstream, o.Upstream)
	set(&c.AdminDN, o.AdminDN)
	set(&c.AdminPasswordFile, o.AdminPasswordFile)
	set(&c.OTPmeBase, o.OTPmeBase)
	set(&c.Store, o.Store)
	set(&c.OTPmeKeyFile, o.OTPmeKeyFile)
	set(&c.PeopleBase, o.PeopleBase)
	set(&c.TokensBase, o.TokensBase)
	set(&c.ParamsBase, o.ParamsBase)
}

// readAdminConfig decodes the config file, ignoring the keys the admin
// verbs do not use.
func readAdminConfig(path string, cfg *adminConfig) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	if err := yaml.NewDecoder(f).Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// validate returns every missing or bad key at once, each naming the key
// and its flag.
func (c *adminConfig) validate() error {
	var errs []error
	need := func(v, key, flagName string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s: not set (config key %s or --%s)", key, key, flagName))
		}
	}
	need(c.Upstream, "upstream", "upstream")
	need(c.AdminDN, "admin_dn", "admin-dn")
	need(c.AdminPasswordFile, "admin_password_file", "admin-password-file")
	need(c.OTPmeBase, "otpme_base", "otpme-base")
	if c.Store == "" {
		c.Store = "memory"
	}
	if c.Store != "memory" && c.Store != "directory" {
		errs = append(errs, fmt.Errorf("store: %q: must be memory or directory", c.Store))
	}
	if c.Store == "directory" && c.OTPmeKeyFile == "" {
		errs = append(errs, errors.New("otpme_key_file: the directory store needs the proxies' key file (--otpme-key-file)"))
	}
	return errors.Join(errs...)
}

// suffix returns the naming context the default bases hang from: the
// otpme base without its first RDN.
func (c *adminConfig) suffix() string {
	_, rest, ok := strings.Cut(c.OTPmeBase, ",")
	if !ok {
		return c.OTPmeBase
	}
	return strings.TrimSpace(rest)
}

// base returns v, or ou=ou under the suffix when v is empty.
func (c *adminConfig) base(v, ou string) string {
	if v != "" {
		return v
	}
	return "ou=" + ou + "," + c.suffix()
}

// target returns the upstream to dial, with the TLS settings of the file.
func (c *adminConfig) target() (proxy.Target, error) {
	t, err := proxy.ParseTarget(c.Upstream)
	if err != nil {
		return t, err
	}
	t.StartTLS = c.UpstreamStartTLS
	if err := (proxy.Config{Upstream: c.Upstream, UpstreamStartTLS: c.UpstreamStartTLS,
		UpstreamCAFile: c.UpstreamCAFile}).CheckUpstreamTLS(); err != nil {
		return t, err
	}
	if c.UpstreamCAFile == "" {
		return t, nil
	}
	pem, err := os.ReadFile(c.UpstreamCAFile)
	if err != nil {
		return t, fmt.Errorf("upstream_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return t, fmt.Errorf("upstream_ca_file %s: no PEM certificate", c.UpstreamCAFile)
	}
	t.TLS = &tls.Config{RootCAs: pool, ServerName: t.URL.Hostname(), MinVersion: tls.VersionTLS12}
	return t, nil
}

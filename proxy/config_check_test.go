package proxy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConfig_Validate_UpstreamTLS: upstream TLS keys the upstream URL
// would ignore are refused, naming the keys; those it uses pass.
func TestConfig_Validate_UpstreamTLS(t *testing.T) {
	tests := []struct {
		name     string
		upstream string
		starttls bool
		ca, cert string
		want     []string // in the error; none: valid
	}{
		{name: "ca-file-plain-ldap", upstream: "ldap://127.0.0.1:389", ca: "ca.pem", want: []string{"upstream_ca_file", "upstream_starttls"}},
		{name: "cert-file-plain-ldap", upstream: "ldap://127.0.0.1:389", cert: "c.pem", want: []string{"upstream_cert_file", "upstream_key_file"}},
		{name: "ca-file-ldapi", upstream: "ldapi:///", ca: "ca.pem", want: []string{"upstream_ca_file", "ldapi"}},
		{name: "starttls-ldapi", upstream: "ldapi:///", starttls: true, want: []string{"upstream_starttls", "ldapi"}},
		{name: "ca-file-starttls", upstream: "ldap://127.0.0.1:389", starttls: true, ca: "ca.pem"},
		{name: "ca-and-cert-ldaps", upstream: "ldaps://127.0.0.1:636", ca: "ca.pem", cert: "c.pem"},
		{name: "plain-ldap", upstream: "ldap://127.0.0.1:389"},
		{name: "plain-ldapi", upstream: "ldapi:///"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Listen: []string{"127.0.0.1:1389"}, Upstream: tt.upstream, ServiceDN: "cn=svc",
				ServicePassword: NewSecret([]byte("x")), UpstreamStartTLS: tt.starttls, UpstreamCAFile: tt.ca}
			if tt.cert != "" {
				cfg.UpstreamCertFile, cfg.UpstreamKeyFile = tt.cert, "c.key"
			}
			err := cfg.withDefaults().Validate()
			if len(tt.want) == 0 {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

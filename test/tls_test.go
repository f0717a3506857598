package test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/proxy"
	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// testCA is a throwaway CA that signs certificates for 127.0.0.1.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	dir  string
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ldapotp test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	ca := &testCA{cert: cert, key: key, dir: t.TempDir(), pool: x509.NewCertPool()}
	ca.pool.AddCert(cert)
	writePEM(t, filepath.Join(ca.dir, "ca.pem"), "CERTIFICATE", der)
	return ca
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600))
}

// issue writes a server certificate for 127.0.0.1 named cn and returns
// the paths of the certificate and key files.
func (ca *testCA) issue(t *testing.T, cn string, serial int64) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(ca.dir, cn+".pem"), filepath.Join(ca.dir, cn+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func (ca *testCA) clientTLS() *tls.Config {
	return &tls.Config{RootCAs: ca.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// TestTLS: LDAPS and StartTLS towards clients, StartTLS with verification
// towards slapd, require_tls, and a certificate reload.
func TestTLS(t *testing.T) {
	ca := newTestCA(t)
	slapdCert, slapdKey := ca.issue(t, "slapd", 2)
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true,
		GlobalConfig: "TLSCertificateFile " + slapdCert + "\nTLSCertificateKeyFile " + slapdKey})
	proxyCert, proxyKey := ca.issue(t, "proxy", 3)
	withTLS := func(c *proxy.Config) {
		c.TLSCertFile, c.TLSKeyFile = proxyCert, proxyKey
		c.UpstreamStartTLS, c.UpstreamCAFile = true, filepath.Join(ca.dir, "ca.pem")
		c.RequireTLS = true
	}
	p := startProxy(t, plain, withTLS)
	ldapsURL := startLDAPS(t, p)

	sc := scenario{tokens: map[string]tokenDef{"h": {}}, users: map[string]userDef{"a": {hotp: "h"}}}
	d := &dataset{prefix: "tls", keys: newKeys(sc.tokens)}
	d.load(t, plain, sc)
	e := &env{sc: sc, data: d}

	t.Run("require-tls-refuses-plain-bind", func(t *testing.T) {
		assert.Equal(t, int(ldap.LDAPResultConfidentialityRequired), bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 0), 5*time.Second))
	})
	t.Run("starttls-then-bind", func(t *testing.T) {
		c := dial(t, p.URL, 5*time.Second)
		require.NoError(t, c.StartTLS(ca.clientTLS()))
		require.NoError(t, c.Bind(d.userDN("a"), pwA+e.hotp("h", 0)))
		res, err := c.WhoAmI(nil)
		require.NoError(t, err)
		assert.Equal(t, "dn:"+d.userDN("a"), res.AuthzID)
		assert.Error(t, c.StartTLS(ca.clientTLS()), "a second StartTLS is refused")
	})
	t.Run("ldaps-bind", func(t *testing.T) {
		c, err := ldap.DialURL(ldapsURL, ldap.DialWithTLSConfig(ca.clientTLS()))
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Bind(d.userDN("a"), pwA+e.hotp("h", 1)))
	})
	t.Run("upstream-tls-is-used", func(t *testing.T) {
		assert.Contains(t, plain.Log(), "oid=1.3.6.1.4.1.1466.20037", "the proxy's upstream connections ran StartTLS")
	})
	t.Run("certificate-reload", func(t *testing.T) {
		old := dialLDAPS(t, ldapsURL, ca)
		newCert, newKey := ca.issue(t, "proxy-renewed", 4)
		copyFile(t, newCert, proxyCert)
		copyFile(t, newKey, proxyKey)
		require.NoError(t, p.srv.ReloadTLS())
		fresh := dialLDAPS(t, ldapsURL, ca)
		state, _ := fresh.TLSConnectionState()
		assert.Equal(t, "proxy-renewed", state.PeerCertificates[0].Subject.CommonName)
		_, err := old.WhoAmI(nil)
		assert.NoError(t, err, "connections opened before the reload keep working")
	})
}

// TestTLS_UpstreamNotTrusted: an upstream whose certificate does not
// verify is unreachable; binds are refused, never accepted.
func TestTLS_UpstreamNotTrusted(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	slapdCert, slapdKey := ca.issue(t, "slapd", 2)
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true,
		GlobalConfig: "TLSCertificateFile " + slapdCert + "\nTLSCertificateKeyFile " + slapdKey})
	p := startProxy(t, plain, func(c *proxy.Config) {
		c.UpstreamStartTLS, c.UpstreamCAFile = true, filepath.Join(other.dir, "ca.pem")
	})
	sc := scenario{tokens: map[string]tokenDef{"h": {}}, users: map[string]userDef{"a": {hotp: "h"}}}
	d := &dataset{prefix: "untrusted", keys: newKeys(sc.tokens)}
	d.load(t, plain, sc)
	e := &env{sc: sc, data: d}
	assert.Equal(t, int(ldap.LDAPResultUnavailable), bindCode(t, p.URL, d.userDN("a"), pwA+e.hotp("h", 0), 5*time.Second))
	assert.Equal(t, "", readAttr(t, plain.Admin(t), d.tokenDN("h"), counterAttr), "nothing written")
}

func startLDAPS(t *testing.T, p *runningProxy) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = p.srv.Serve(p.srv.TLSListener(l)) }()
	return "ldaps://" + l.Addr().String()
}

func dialLDAPS(t *testing.T, url string, ca *testCA) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(url, ldap.DialWithTLSConfig(ca.clientTLS()))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = c.WhoAmI(nil) // completes the handshake
	require.NoError(t, err)
	return c
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o600))
}

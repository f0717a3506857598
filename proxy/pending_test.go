package proxy

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// silentUpstream accepts connections and never answers.
func silentUpstream(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, nc) }()
		}
	}()
	return "ldap://" + l.Addr().String()
}

func searchRequest(id int64) []byte {
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tagSearchRequest, nil, "")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
	for _, v := range []int64{0, 0, 0, 0} { // scope, deref, size, time
		op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, v, ""))
	}
	msg.AppendChild(op)
	return msg.Bytes()
}

// TestClientConn_MaxPending: beyond max_pending outstanding operations the
// next one is answered busy at once; StartTLS is refused while operations
// are outstanding.
func TestClientConn_MaxPending(t *testing.T) {
	certFile, keyFile := selfSigned(t)
	cfg := Config{Listen: []string{"127.0.0.1:0"}, Upstream: silentUpstream(t), ServiceDN: "cn=svc",
		ServicePassword: NewSecret([]byte("x")), MaxPending: 2, TLSCertFile: certFile, TLSKeyFile: keyFile}
	srv, err := New(cfg, WithDirectory(newFakeDirectory(false)), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	client, server := net.Pipe()
	defer client.Close()
	srv.start(server, "test")
	for id := int64(1); id <= 3; id++ {
		_, err := client.Write(searchRequest(id))
		require.NoError(t, err)
	}
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(client)
	msg, err := readMessage(r, 1<<16)
	require.NoError(t, err)
	p, err := ber.DecodePacketErr(msg)
	require.NoError(t, err)
	res, err := parseResult(p)
	require.NoError(t, err)
	env, _ := peekEnvelope(msg)
	assert.Equal(t, envelope{ID: 3, Tag: tagSearchDone}, env)
	assert.Equal(t, Busy, res.Code)

	_, err = client.Write(encodeExtendedRequest(4, oidStartTLS))
	require.NoError(t, err)
	msg, err = readMessage(r, 1<<16)
	require.NoError(t, err)
	p, _ = ber.DecodePacketErr(msg)
	res, _ = parseResult(p)
	assert.Equal(t, OperationsError, res.Code, "StartTLS refused while operations are outstanding")
}

// selfSigned writes a throwaway certificate and key.
func selfSigned(t *testing.T) (string, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	return certFile, keyFile
}

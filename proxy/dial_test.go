package proxy

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		raw      string
		network  string
		addr     string
		str      string
		wantErr  string
		wantsTLS bool
	}{
		{raw: "ldap://127.0.0.1:3890", network: "tcp", addr: "127.0.0.1:3890", str: "ldap://127.0.0.1:3890"},
		{raw: "ldap://localhost", network: "tcp", addr: "localhost:389", str: "ldap://localhost"},
		{raw: "ldaps://dir.example.com", network: "tcp", addr: "dir.example.com:636", str: "ldaps://dir.example.com", wantsTLS: true},
		{raw: "ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi", network: "unix", addr: "/var/run/slapd/ldapi", str: "ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi"},
		{raw: "ldapi://%2ftmp%2fa%20b%2fldapi/", network: "unix", addr: "/tmp/a b/ldapi", str: "ldapi://%2Ftmp%2Fa%20b%2Fldapi"},
		{raw: "ldapi:///", network: "unix", addr: defaultLDAPI, str: "ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi"},
		{raw: "ldapi://", network: "unix", addr: defaultLDAPI, str: "ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi"},
		{raw: "ldapi:///var/run/slapd/ldapi", wantErr: "percent-encoded"},
		{raw: "ldapi://relative%2Fsock", wantErr: "absolute"},
		{raw: "ldapi://%2Ftmp%00x", wantErr: "absolute"},
		{raw: "ldapi://%zz", wantErr: "invalid URL escape"},
		{raw: "LDAPI://%2Ftmp%2Fs", network: "unix", addr: "/tmp/s", str: "ldapi://%2Ftmp%2Fs"},
		{raw: "ldap://", wantErr: "no host"},
		{raw: "http://x", wantErr: "scheme must be"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			tg, err := ParseTarget(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTarget(%q): error %v, want one containing %q", tt.raw, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTarget(%q): %v", tt.raw, err)
			}
			network := "tcp"
			if tg.URL.Scheme == "ldapi" {
				network = "unix"
			}
			if network != tt.network || tg.hostPort() != tt.addr || tg.String() != tt.str || tg.IsTLS() != tt.wantsTLS {
				t.Errorf("ParseTarget(%q): %s %s, String %q, TLS %v; want %s %s, %q, %v",
					tt.raw, network, tg.hostPort(), tg.String(), tg.IsTLS(), tt.network, tt.addr, tt.str, tt.wantsTLS)
			}
		})
	}
}

// TestTarget_DialLDAPI dials a Unix socket through an ldapi URL written the
// way slapd -h takes it.
func TestTarget_DialLDAPI(t *testing.T) {
	dir, err := os.MkdirTemp("", "ldapi") // t.TempDir() can exceed a socket path's 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "ldapi")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan []byte, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		defer c.Close()
		b := make([]byte, 4)
		n, _ := c.Read(b)
		accepted <- b[:n]
	}()
	tg, err := ParseTarget("ldapi://" + strings.ReplaceAll(sock, "/", "%2F"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := tg.Dial(t.Context())
	if err != nil {
		t.Fatalf("dial %s: %v", tg, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if got := <-accepted; string(got) != "ping" {
		t.Fatalf("the socket got %q, want ping", got)
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestRun_Usage(t *testing.T) {
	code, _, errOut := runCLI()
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "usage:")
	code, _, errOut = runCLI("frobnicate")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, `unknown command "frobnicate"`)
	code, out, _ := runCLI("version")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "ldapotp")
}

func TestServe_CheckConfig(t *testing.T) {
	pw := writeFile(t, "pw", "s3cret\n")
	good := []string{"--listen", "127.0.0.1:1389", "--upstream", "ldap://127.0.0.1:389",
		"--service-dn", "cn=svc,dc=x", "--service-password-file", pw}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string // in stdout (ok) or stderr (errors)
	}{
		{"flags-only", append(good, "--check-config"), exitOK, "configuration ok"},
		{"nothing-set", []string{"--check-config"}, exitUsage, "listen: no address"},
		{"every-problem-at-once", []string{"--check-config", "--upstream", "http://x"}, exitUsage, "service_dn: not set"},
		{"bad-upstream-scheme", append(good, "--check-config", "--upstream", "http://x"), exitUsage, "scheme must be ldap, ldaps or ldapi"},
		{"bad-drift", append(good, "--check-config", "--totp-drift", "sometimes"), exitUsage, `totp_drift: "sometimes"`},
		{"bad-log-level", append(good, "--check-config", "--log-level", "loud"), exitUsage, "log_level"},
		{"missing-password-file", append(good[:6], "--service-password-file", "/nonexistent/pw", "--check-config"), exitUsage, "service_password_file"},
		{"stray-argument", append(good, "extra"), exitUsage, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(append([]string{"serve"}, tt.args...)...)
			assert.Equal(t, tt.wantCode, code, "stderr: %s", errOut)
			if tt.wantCode == exitOK {
				assert.Contains(t, out, tt.want)
				return
			}
			assert.Contains(t, errOut, tt.want)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(errOut), "\n")+1, "one error line: %q", errOut)
			assert.NotContains(t, errOut, "s3cret")
		})
	}
}

func TestServe_ConfigFile(t *testing.T) {
	pw := writeFile(t, "pw", "s3cret")
	cfg := writeFile(t, "ldapotp.yaml", `listen: ["127.0.0.1:1389"]
upstream: ldap://127.0.0.1:389
service_dn: cn=svc,dc=x
service_password_file: `+pw+`
totp_drift: track
idle_timeout: 5m
log_format: json
`)
	code, out, errOut := runCLI("serve", "-c", cfg, "--check-config")
	assert.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "configuration ok")

	bad := writeFile(t, "bad.yaml", "listen: [\"127.0.0.1:1389\"]\nupstrem: ldap://x\n")
	code, _, errOut = runCLI("serve", "-c", bad, "--check-config")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "upstrem", "unknown keys are named")

	code, _, errOut = runCLI("serve", "-c", filepath.Join(t.TempDir(), "missing.yaml"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "missing.yaml")
}

func TestReadSecretFile(t *testing.T) {
	for content, want := range map[string]string{"pw\n": "pw", "pw\r\n": "pw", "pw": "pw", "pw\n\n": "pw\n", " pw ": " pw "} {
		got, err := readSecretFile(writeFile(t, "s", content))
		require.NoError(t, err)
		assert.Equal(t, want, string(got), "content %q", content)
	}
}

func TestTool_OTPAuthAndCode(t *testing.T) {
	secret := writeFile(t, "secret", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n") // RFC 4226's "12345678901234567890"
	code, out, errOut := runCLI("tool", "code", "--secret-file", secret, "--type", "hotp", "--counter", "1")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, "287082\n", out)
	code, out, _ = runCLI("tool", "code", "--secret-file", secret, "--digits", "8", "--time", "59")
	require.Equal(t, exitOK, code)
	assert.Equal(t, "94287082\n", out, "RFC 6238 vector at T=59")

	png := filepath.Join(t.TempDir(), "qr.png")
	code, out, errOut = runCLI("tool", "otpauth", "--secret-file", secret, "--account", "alice@example.com", "--issuer", "Example", "--qr", png)
	require.Equal(t, exitOK, code, errOut)
	assert.True(t, strings.HasPrefix(out, "otpauth://totp/Example:alice@example.com?"), out)
	assert.Contains(t, out, "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	assert.Contains(t, out, "▀")
	st, err := os.Stat(png)
	require.NoError(t, err)
	assert.NotZero(t, st.Size())

	code, _, errOut = runCLI("tool", "code", "--secret-file", secret, "--digits", "9")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "--digits")
}

// TestServe_ExampleConfig keeps examples/ldapotp.yaml valid: every key it
// shows is a real one.
func TestServe_ExampleConfig(t *testing.T) {
	pw := writeFile(t, "pw", "s3cret")
	code, out, errOut := runCLI("serve", "-c", "../../examples/ldapotp.yaml", "--service-password-file", pw, "--check-config")
	assert.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "configuration ok")
}

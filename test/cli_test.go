package test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/test/slapdtest"
)

// buildBinary builds cmd/ldapotp into a temp dir.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ldapotp")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/ldapotp")
	cmd.Dir = slapdtest.ModuleRoot(t)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// TestCLI_ServeAndSignal runs the real binary with flags only, binds
// through it with a code, and stops it with SIGTERM.
func TestCLI_ServeAndSignal(t *testing.T) {
	plain := slapdtest.Start(t, slapdtest.Options{Kind: slapdtest.Plain, NoSync: true})
	bin := buildBinary(t)
	pwFile := filepath.Join(t.TempDir(), "service.pw")
	require.NoError(t, os.WriteFile(pwFile, []byte(plain.ServicePassword+"\n"), 0o600))
	addr := fmt.Sprintf("127.0.0.1:%d", slapdtest.FreePort(t))

	var stderr bytes.Buffer
	cmd := exec.Command(bin, "serve", "--listen", addr, "--upstream", plain.URL,
		"--service-dn", plain.ServiceDN, "--service-password-file", pwFile, "--log-format", "json")
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("ldapotp stderr:\n%s", stderr.String())
		}
	})

	sc := scenario{tokens: map[string]tokenDef{"h": {}}, users: map[string]userDef{"a": {hotp: "h"}}}
	d := &dataset{prefix: "cli", keys: newKeys(sc.tokens)}
	d.load(t, plain, sc)
	e := &env{sc: sc, data: d}
	url := "ldap://" + addr
	waitFor(t, "the proxy answers", func() bool { return tryBind(url, d.userDN("a"), "x") == 49 })
	assert.Equal(t, 0, bindCode(t, url, d.userDN("a"), pwA+e.hotp("h", 0), 5*time.Second))

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		assert.NoError(t, err, "clean exit on SIGTERM")
	case <-time.After(10 * time.Second):
		t.Fatal("ldapotp did not exit within 10 s of SIGTERM")
	}
	log := stderr.String()
	assert.Contains(t, log, `"msg":"AUTH_OK_OTP"`)
	assert.Contains(t, log, `"msg":"shutting down"`)
	assert.NotContains(t, log, pwA)
	assert.NotContains(t, log, plain.ServicePassword)
}

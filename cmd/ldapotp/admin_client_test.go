package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestAdmin_ClientSecret: "client secret NAME -" takes the secret from
// stdin, so that it is not in the process list.
func TestAdmin_ClientSecret(t *testing.T) {
	e := newAdminEnv(t)
	e.ok(t, "", "client", "add", "roundcube")

	out := e.ok(t, "client-secret-from-stdin\n", "client", "secret", "roundcube", "-")
	assert.NotContains(t, out, "client-secret-from-stdin", "a given secret is not printed")
	assert.Equal(t, "client-secret-from-stdin", e.attr(t, "otpmeClient", "roundcube", "otpmeClientSecret"))

	code, _, errOut := e.run("", "client", "secret", "roundcube", "-")
	assert.Equal(t, exitFail, code, "nothing on stdin")
	assert.Contains(t, errOut, "stdin")
	assert.Equal(t, "client-secret-from-stdin", e.attr(t, "otpmeClient", "roundcube", "otpmeClientSecret"), "and nothing changed")
}

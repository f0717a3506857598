//go:build !linux

package proxy

import (
	"net"
	"testing"
)

// waitReadable is only needed where binds read their own answers (Linux).
func waitReadable(t *testing.T, _ net.Conn) { t.Skip("raw socket calls are Linux only") }

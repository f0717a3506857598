//go:build linux

package proxy

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// waitReadable waits until data or the end of the stream has reached nc's
// socket, without reading it (a peek): the next read is then sure to meet
// it, however late the kernel delivered it.
func waitReadable(t *testing.T, nc net.Conn) {
	t.Helper()
	c, ok := nc.(*rawConn)
	require.True(t, ok, "a loopback TCP connection has raw socket calls")
	require.Eventually(t, func() bool {
		ready := false
		_ = c.rc.Control(func(fd uintptr) {
			var b [1]byte
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			ready = err == nil // a byte, or 0 bytes at the end of the stream
		})
		return ready
	}, 5*time.Second, time.Millisecond)
}

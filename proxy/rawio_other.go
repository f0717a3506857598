//go:build !linux

package proxy

import "net"

// rawIO returns nc: raw socket calls are only used on Linux.
func rawIO(nc net.Conn) net.Conn { return nc }

// peekable is false: without raw socket calls an upstream connection is
// always watched by its reader.
func peekable(net.Conn) bool { return false }

// peekIdle is never called where peekable is false.
func peekIdle(net.Conn) bool { return false }

//go:build !linux

package proxy

import "net"

// rawIO returns nc: raw socket calls are only used on Linux.
func rawIO(nc net.Conn) net.Conn { return nc }

// rawIOSupported: raw socket calls are not used here.
const rawIOSupported = false

//go:build linux

package proxy

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// rawConn is a TCP or Unix socket whose reads and writes are issued as raw
// system calls on its non-blocking descriptor, waiting in the runtime's
// network poller only when the socket is not ready, as the net package
// itself does. The difference: a raw call does not mark its P as in a
// system call, so the runtime's monitor thread never hands the P to
// another thread because a write to a loopback socket took a few tens of
// microseconds. On a 2-core machine shared with slapd that hand-off, and
// the monitor's 20 µs polling it causes, was a quarter of the proxy's CPU
// per bind (docs/performance-history.md). Reads and writes on a non-blocking
// socket return at once, so holding the P through them is safe.
type rawConn struct {
	net.Conn // addresses, deadlines, Close
	rc       syscall.RawConn

	rmu     sync.Mutex
	rbuf    []byte
	rn      int
	rerr    error
	readFn  func(fd uintptr) bool
	onWait  []byte // written by the next read that finds nothing (sendOnWait)
	wmu     sync.Mutex
	wbuf    []byte
	wn      int
	werr    error
	writeFn func(fd uintptr) bool
}

// rawIO returns nc with raw reads and writes if it is a plain TCP or Unix
// socket, else nc itself.
func rawIO(nc net.Conn) net.Conn {
	var sc syscall.Conn
	switch c := nc.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nc
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nc
	}
	c := &rawConn{Conn: nc, rc: rc}
	c.readFn, c.writeFn = c.readOnce, c.writeAll
	return c
}

// Read implements net.Conn.
func (c *rawConn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rbuf, c.rn, c.rerr = b, 0, nil
	err := c.rc.Read(c.readFn) // deadline, closed connection
	c.rbuf = nil
	if err == nil {
		err = c.rerr
	}
	return c.rn, err
}

// readOnce makes one read; false asks the poller to wait for readability.
func (c *rawConn) readOnce(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&c.rbuf[0])), uintptr(len(c.rbuf)))
		switch errno {
		case 0:
			c.rn = int(n)
			if n == 0 {
				c.rerr = io.EOF
			}
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if msg := c.onWait; msg != nil {
				c.onWait = nil
				if _, err := c.Write(msg); err != nil {
					c.rerr = err
					return true
				}
			}
			return false
		}
		c.rerr = os.NewSyscallError("read", errno)
		return true
	}
}

// sendOnWait makes the next Read write msg when it finds nothing to read,
// just before it waits for the answer, instead of the caller writing msg
// first. A request whose answer cannot come before the request was sent
// then costs one read fewer: the read that would find nothing anyway also
// shows that nothing arrived unasked (no close, no notice of
// disconnection) before the request went out, which otherwise takes a
// peek of its own. The answer cannot be missed: the poller forgets what
// happened before the read started, and the read starts before the write.
// The caller must not write to the connection until unsent has been
// called.
func (c *rawConn) sendOnWait(msg []byte) {
	c.rmu.Lock()
	c.onWait = msg
	c.rmu.Unlock()
}

// unsent reports whether the message of sendOnWait was not written because
// the read found data, the end of the stream or an error first, and drops
// it.
func (c *rawConn) unsent() bool {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	pending := c.onWait != nil
	c.onWait = nil
	return pending
}

// Write implements net.Conn: all of b is written unless an error occurs.
func (c *rawConn) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf, c.wn, c.werr = b, 0, nil
	err := c.rc.Write(c.writeFn)
	c.wbuf = nil
	if err == nil {
		err = c.werr
	}
	return c.wn, err
}

// writeAll writes until done or the socket is full (false: wait for
// writability, then it is called again).
func (c *rawConn) writeAll(fd uintptr) bool {
	for c.wn < len(c.wbuf) {
		rest := c.wbuf[c.wn:]
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)))
		switch errno {
		case 0:
			c.wn += int(n)
			continue
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		c.werr = os.NewSyscallError("write", errno)
		return true
	}
	return true
}

// quiet reports, without blocking, that the connection is open and nothing
// has arrived on it: a peek finds no data and no end of stream.
func (c *rawConn) quiet() bool {
	var b [1]byte
	idle := false
	err := c.rc.Control(func(fd uintptr) {
		_, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		idle = errno == syscall.EAGAIN
	})
	return err == nil && idle
}

// rawIOSupported: plain TCP and Unix connections get raw socket calls.
const rawIOSupported = true

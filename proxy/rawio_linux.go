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
// per bind (docs/performance.md). Reads and writes on a non-blocking
// socket return at once, so holding the P through them is safe.
type rawConn struct {
	net.Conn // addresses, deadlines, Close
	rc       syscall.RawConn

	rmu     sync.Mutex
	rbuf    []byte
	rn      int
	rerr    error
	readFn  func(fd uintptr) bool
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
			return false
		}
		c.rerr = os.NewSyscallError("read", errno)
		return true
	}
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

// peekable reports whether peekIdle can look at nc without reading from it.
func peekable(nc net.Conn) bool {
	_, ok := nc.(*rawConn)
	return ok
}

// peekIdle reports whether a connection nobody reads from is still open
// with nothing sent to it: a peek that returns neither data nor the end of
// the stream. Only for a peekable connection.
func peekIdle(nc net.Conn) bool {
	c, ok := nc.(*rawConn)
	if !ok {
		return false
	}
	idle := false
	var b [1]byte
	err := c.rc.Read(func(fd uintptr) bool {
		_, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		idle = errno == syscall.EAGAIN
		return true
	})
	return err == nil && idle
}

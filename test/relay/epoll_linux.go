package main

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// epollServe relays every accepted connection like serve, but moves both
// sockets of a pair out of Go's poller into one of n event loops: a
// goroutine locked to its OS thread that waits in epoll_wait, reads
// whatever is ready and writes it to the peer, the way a C proxy works.
// It returns when ln is closed, once the loops have closed their sockets.
//
// Each loop waits in the kernel without telling the runtime (a raw
// system call), so it keeps its P while it waits, as a C event loop keeps
// its thread: no hand-off of the P to another thread and back around each
// wait. That is where the time goes otherwise (measured: waiting through
// syscall.EpollWait cost as much CPU per message as goroutines). The
// process gets one more P per loop for the rest of its goroutines, and a
// wait ends at least every 10ms, so the loop can be preempted for a GC
// (the runtime's preemption signal also ends the wait at once).
func epollServe(ln net.Listener, target string, n int) error {
	loops := make([]*eventLoop, n)
	for i := range loops {
		ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			for _, l := range loops[:i] {
				syscall.Close(l.ep)
			}
			return err
		}
		loops[i] = &eventLoop{ep: ep, fds: map[int32]bool{}, done: make(chan struct{})}
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + n))
	for _, l := range loops {
		go l.run()
	}
	defer func() {
		for _, l := range loops {
			l.stop.Store(true)
			<-l.done
		}
	}()
	for next := 0; ; next = (next + 1) % n {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil { // out of descriptors and the like: try again
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if err := loops[next].add(c, target); err != nil {
			c.Close()
		}
	}
}

// eventLoop is one event loop and the sockets it serves.
type eventLoop struct {
	ep   int
	stop atomic.Bool
	done chan struct{} // closed when run has returned

	mu  sync.Mutex
	fds map[int32]bool // the sockets in ep, to close at the end
}

// add dials target for c and hands both sockets to the loop.
func (l *eventLoop) add(c net.Conn, target string) error {
	u, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return err
	}
	cfd, err1 := detach(c)
	ufd, err2 := detach(u)
	if err := errors.Join(err1, err2); err != nil {
		closeFDs(cfd, ufd)
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// The event carries both sockets: Fd the one that is ready, Pad its
	// peer.
	err1 = syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_ADD, cfd,
		&syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(cfd), Pad: int32(ufd)})
	err2 = syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_ADD, ufd,
		&syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(ufd), Pad: int32(cfd)})
	if err := errors.Join(err1, err2); err != nil {
		closeFDs(cfd, ufd)
		return err
	}
	l.fds[int32(cfd)], l.fds[int32(ufd)] = true, true
	return nil
}

// detach takes a duplicate of c's socket (non-blocking, like the
// original) and closes c, which takes the original out of Go's poller.
func detach(c net.Conn) (int, error) {
	defer c.Close()
	sc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return -1, err
	}
	fd, derr := -1, error(nil)
	if err := sc.Control(func(orig uintptr) {
		fd, derr = syscall.Dup(int(orig))
		if derr == nil {
			syscall.CloseOnExec(fd)
		}
	}); err != nil {
		return -1, err
	}
	return fd, derr
}

func closeFDs(fds ...int) {
	for _, fd := range fds {
		if fd >= 0 {
			syscall.Close(fd)
		}
	}
}

// run serves the loop's pairs until stop is set, then closes them all.
func (l *eventLoop) run() {
	runtime.LockOSThread()
	defer close(l.done)
	events := make([]syscall.EpollEvent, 128)
	buf := make([]byte, 16<<10)
	var ended []int32
	for !l.stop.Load() {
		n, err := epollWait(l.ep, events)
		if err != nil && err != syscall.EINTR {
			break
		}
		ended = ended[:0]
		for _, ev := range events[:n] {
			fd, peer := ev.Fd, ev.Pad
			if isIn(ended, fd) { // its peer ended earlier in this batch
				continue
			}
			m, err := syscall.Read(int(fd), buf)
			if m > 0 && writeAll(int(peer), buf[:m]) == nil {
				continue
			}
			if m < 0 && err == syscall.EAGAIN {
				continue
			}
			// End of stream or an error on either side: end the pair.
			l.mu.Lock()
			delete(l.fds, fd)
			delete(l.fds, peer)
			l.mu.Unlock()
			closeFDs(int(fd), int(peer)) // closing takes them out of ep
			ended = append(ended, fd, peer)
		}
	}
	l.mu.Lock()
	for fd := range l.fds {
		closeFDs(int(fd))
	}
	l.fds = nil
	l.mu.Unlock()
	syscall.Close(l.ep)
}

// epollWait waits up to 10ms for events on ep, in a raw system call (see
// epollServe).
//
//go:noinline
func epollWait(ep int, events []syscall.EpollEvent) (int, error) {
	n, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(ep),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 10, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// writeTimeout bounds how long writeAll waits for a peer to read.
var writeTimeout = 10 * time.Second

// writeAll writes b to the non-blocking fd, waiting out a full socket
// buffer (LDAP requests and answers are small: it hardly ever happens),
// for at most writeTimeout: a peer that reads nothing for that long ends
// its pair rather than stall the loop for good.
func writeAll(fd int, b []byte) error {
	var deadline time.Time
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		if err == syscall.EAGAIN || err == syscall.EINTR {
			if deadline.IsZero() {
				deadline = time.Now().Add(writeTimeout)
			} else if time.Now().After(deadline) {
				return syscall.ETIMEDOUT
			}
			time.Sleep(50 * time.Microsecond)
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

func isIn(fds []int32, fd int32) bool {
	for _, f := range fds {
		if f == fd {
			return true
		}
	}
	return false
}

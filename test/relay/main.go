// Command relay forwards TCP connections byte for byte, without looking at
// them. `make bench` puts it in front of slapd beside the proxy: it costs
// what any user-space proxy on the machine must pay (two more processes'
// worth of socket crossings per request) and nothing else, so the ratio it
// reaches is the ceiling for a proxy written the usual Go way. It reads
// and writes with plain syscalls (a proxy that must parse LDAP cannot
// splice) and serves each connection with one goroutine per direction.
//
// With -epoll N it serves the connections instead from N event loops, each
// an OS thread blocked in epoll_wait that moves whatever is ready to its
// peer, the way a C proxy works: what a Go proxy would gain by keeping
// the scheduler out of each message's way (Linux only).
//
//	go run ./test/relay -listen 127.0.0.1:0 -to 127.0.0.1:389 [-epoll 2]
//
// Both addresses must be loopback addresses: it is test equipment. The
// first line it prints is the address it listens on.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command; it returns only on a usage or listen error, or a
// signal.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "loopback address to listen on")
	to := fs.String("to", "", "loopback address to forward to (host:port)")
	loops := fs.Int("epoll", 0, "serve with this many epoll event loops instead of goroutines (Linux)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *loops < 0 || *loops > 64 {
		fmt.Fprintf(stderr, "relay: -epoll %d: want 0 (goroutines) to 64 event loops\n", *loops)
		return 2
	}
	if err := loopback(*listen); err != nil {
		fmt.Fprintf(stderr, "relay: -listen: %v\n", err)
		return 2
	}
	if err := loopback(*to); err != nil {
		fmt.Fprintf(stderr, "relay: -to: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "relay: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-sig; ln.Close() }()
	if *loops > 0 {
		if err := epollServe(ln, *to, *loops); err != nil {
			fmt.Fprintf(stderr, "relay: %v\n", err)
			return 1
		}
		return 0
	}
	serve(ln, *to)
	return 0
}

// loopback accepts host:port with a literal loopback IP address.
func loopback(addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("%q: want IP:PORT", addr)
	}
	if !ap.Addr().IsLoopback() {
		return fmt.Errorf("%q is not a loopback address", addr)
	}
	return nil
}

// serve relays every accepted connection to a new connection to target
// until ln is closed.
func serve(ln net.Listener, target string) {
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil { // out of descriptors and the like: try again
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go relay(c, target)
	}
}

// relay copies both ways between c and a new connection to target; when
// either side ends, both are closed.
func relay(c net.Conn, target string) {
	defer c.Close()
	u, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return
	}
	defer u.Close()
	done := make(chan struct{})
	go func() {
		pump(u, c)
		u.Close() // wakes the other direction
		close(done)
	}()
	pump(c, u)
	c.Close()
	<-done
}

// pump copies src to dst until either fails. It deliberately avoids
// io.Copy, which splices between two TCP connections on Linux.
func pump(dst, src net.Conn) {
	buf := make([]byte, 16<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

package main

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

func TestEpollServe_EndsWithItsListener(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	ln := listen(t)
	returned := make(chan error, 1)
	go func() { returned <- epollServe(ln, echo(t).Addr().String(), 2) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("ping"))
	if _, err := io.ReadFull(c, make([]byte, 4)); err != nil {
		t.Fatalf("no echo through the event loops: %v", err)
	}
	ln.Close()
	select {
	case err := <-returned:
		if err != nil {
			t.Fatalf("epollServe: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("epollServe still running 5s after its listener closed")
	}
	// The loops closed the open pair on their way out.
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("client read after the loops ended: %d bytes, %v; want EOF", n, err)
	}
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS = %d after epollServe, want %d as before", got, procs)
	}
}

func TestEpollServe_EndsAPairWhosePeerStopsReading(t *testing.T) {
	saved := writeTimeout
	writeTimeout = 200 * time.Millisecond
	t.Cleanup(func() { writeTimeout = saved })
	ln := listen(t)
	returned := make(chan error, 1)
	go func() { returned <- epollServe(ln, echo(t).Addr().String(), 1) }()
	t.Cleanup(func() { ln.Close(); <-returned }) // the loop is gone before writeTimeout is restored
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Send without reading: the echoed bytes fill the client's socket
	// buffers until the loop's write to it cannot go on, and the loop must
	// then end the pair, which makes the client's own writes fail.
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	chunk := make([]byte, 64<<10)
	for sent := 0; ; sent += len(chunk) {
		if _, err := c.Write(chunk); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("the loop still held the pair after 10s and %d bytes sent", sent)
			}
			return // reset by the relay: the pair ended
		}
	}
}

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

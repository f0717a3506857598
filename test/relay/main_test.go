package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// listen opens a loopback listener that the test closes at its end.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// echo starts a loopback server that echoes each connection.
func echo(t *testing.T) net.Listener {
	t.Helper()
	ln := listen(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln
}

// servers are the relay's ways of serving: goroutines, and on Linux epoll
// event loops.
func servers() map[string]func(net.Listener, string) {
	m := map[string]func(net.Listener, string){"goroutines": serve}
	if runtime.GOOS == "linux" {
		m["epoll"] = func(ln net.Listener, to string) { epollServe(ln, to, 2) }
	}
	return m
}

// through starts a relay to target and returns a connection to it, with a
// deadline so that a broken relay fails the test instead of hanging it.
func through(t *testing.T, serve func(net.Listener, string), target string) net.Conn {
	t.Helper()
	ln := listen(t)
	go serve(ln, target)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func TestRelay_ForwardsBothWays(t *testing.T) {
	for name, serve := range servers() {
		t.Run(name, func(t *testing.T) {
			c := through(t, serve, echo(t).Addr().String())
			want := bytes.Repeat([]byte("ldap"), 50_000) // larger than one buffer
			go c.Write(want)
			got := make([]byte, len(want))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatalf("read back: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("relayed bytes differ from the bytes sent")
			}
		})
	}
}

func TestRelay_ClosesWhenUpstreamCloses(t *testing.T) {
	for name, serve := range servers() {
		t.Run(name, func(t *testing.T) {
			up := listen(t)
			go func() {
				c, err := up.Accept()
				if err == nil {
					c.Write([]byte("bye"))
					c.Close()
				}
			}()
			got, err := io.ReadAll(through(t, serve, up.Addr().String()))
			if err != nil || string(got) != "bye" {
				t.Fatalf("read %q, %v; want \"bye\" then EOF", got, err)
			}
		})
	}
}

func TestRun_UsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-to", "192.0.2.1:389"},
		{"-to", "example.com:389"},
		{"-listen", "0.0.0.0:0", "-to", "127.0.0.1:389"},
		{"-to", "127.0.0.1:389", "-epoll", "-1"},
		{"-to", "127.0.0.1:389", "-epoll", "1000"},
		{},
	} {
		var out, errb strings.Builder
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("run(%q) = %d, want 2 (usage); stderr %q", args, code, errb.String())
		}
	}
}

func TestRun_PrintsListenAddress(t *testing.T) {
	up := echo(t)
	r, w := io.Pipe()
	go run([]string{"-to", up.Addr().String()}, w, io.Discard)
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("dial the printed address %q: %v", line, err)
	}
	c.Close()
}

func TestRelay_ClosesUpstreamWhenClientCloses(t *testing.T) {
	for name, serve := range servers() {
		t.Run(name, func(t *testing.T) {
			up := listen(t)
			ended := make(chan error, 1)
			go func() {
				c, err := up.Accept()
				if err != nil {
					ended <- err
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				_, err = io.ReadAll(c) // returns at EOF, or fails at the deadline
				ended <- err
			}()
			c := through(t, serve, up.Addr().String())
			c.Write([]byte("hello"))
			c.Close()
			if err := <-ended; err != nil {
				t.Fatalf("upstream connection did not end when the client closed: %v", err)
			}
		})
	}
}

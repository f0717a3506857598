package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// echo starts a loopback server that echoes each connection.
func echo(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
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

// through starts a relay to target and returns a connection to it, with a
// deadline so that a broken relay fails the test instead of hanging it.
func through(t *testing.T, target string) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
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
	c := through(t, echo(t).Addr().String())
	want := bytes.Repeat([]byte("ldap"), 50_000) // larger than one buffer
	go c.Write(want)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read back: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("relayed bytes differ from the bytes sent")
	}
}

func TestRelay_ClosesWhenUpstreamCloses(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		c, err := up.Accept()
		if err == nil {
			c.Write([]byte("bye"))
			c.Close()
		}
	}()
	got, err := io.ReadAll(through(t, up.Addr().String()))
	if err != nil || string(got) != "bye" {
		t.Fatalf("read %q, %v; want \"bye\" then EOF", got, err)
	}
}

func TestRun_LoopbackOnly(t *testing.T) {
	for _, args := range [][]string{
		{"-to", "192.0.2.1:389"},
		{"-to", "example.com:389"},
		{"-listen", "0.0.0.0:0", "-to", "127.0.0.1:389"},
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

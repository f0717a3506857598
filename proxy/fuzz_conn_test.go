package proxy

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeUpstreamServer answers every request it can with success: a
// hermetic stand-in for the directory behind the relay.
func fakeUpstreamServer(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go answerAll(nc)
		}
	}()
	return "ldap://" + l.Addr().String()
}

func answerAll(nc net.Conn) {
	defer nc.Close()
	r := bufio.NewReader(nc)
	for {
		msg, err := readMessage(r, 1<<20)
		if err != nil {
			return
		}
		env, err := peekEnvelope(msg)
		if err != nil {
			return
		}
		if tag, ok := responseTag(env.Tag); ok {
			if _, err := nc.Write(encodeResponse(env.ID, tag, result{Code: Success})); err != nil {
				return
			}
		}
	}
}

// lockedBuffer collects log output from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// FuzzServeConn writes arbitrary bytes into a live client connection of a
// real Server (fake directory, fake upstream) and checks that the
// connection ends within the deadline and that nothing panicked (the
// connection goroutine recovers and logs "panic"); every input runs on a
// fresh connection of the same server, so the server keeps serving.
func FuzzServeConn(f *testing.F) {
	f.Add(encodeSimpleBind(1, userDN, NewSecret([]byte("alicepw123456")), nil))
	f.Add(encodeSimpleBind(1, "", Secret{}, nil))
	f.Add(encodeExtendedRequest(1, oidStartTLS))
	f.Add([]byte{0x30, 0x05, 0x02, 0x01, 0x01, 0x50, 0x00})
	f.Add([]byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff})
	logs := &lockedBuffer{}
	cfg := Config{Listen: []string{"127.0.0.1:0"}, Upstream: fakeUpstreamServer(f), ServiceDN: "cn=svc",
		ServicePassword: NewSecret([]byte("x")), MaxMessageSize: 1 << 16, IdleTimeout: 2 * time.Second}
	srv, err := New(cfg, WithDirectory(newFakeDirectory(true)),
		WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		srv.start(server, "fuzz")
		go func() {
			_, _ = client.Write(in)
			_ = client.Close()
		}()
		done := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, client); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("connection neither answered nor ended within 10 s")
		}
		if strings.Contains(logs.String(), "panic") {
			t.Fatalf("panic while serving %x:\n%s", in, logs.String())
		}
	})
}

package proxy

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// upstreamPair dials an upstreamConn to a loopback listener and returns
// the directory's side of the connection, for the test to play the
// directory by hand. The owner records what it is given.
type upstreamPair struct {
	up        *upstreamConn
	dir       net.Conn
	dr        *bufio.Reader
	delivered chan []byte
	gone      atomic.Int32
}

func newUpstreamPair(t *testing.T) *upstreamPair {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	u, _ := url.Parse("ldap://" + ln.Addr().String())
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	up, err := dialUpstream(t.Context(), Target{URL: u, DialTimeout: time.Second})
	require.NoError(t, err)
	dir := <-accepted
	require.NotNil(t, dir)
	p := &upstreamPair{up: up, dir: dir, dr: bufio.NewReader(dir), delivered: make(chan []byte, 16)}
	t.Cleanup(func() { dir.Close(); up.Close() })
	up.start(1<<20, upstreamOwner{
		deliver: func(msg []byte, _ bool) error { p.delivered <- msg; return nil },
		gone:    func(error) { p.gone.Add(1) },
	})
	return p
}

// request reads what the proxy sent to the directory.
func (p *upstreamPair) request(t *testing.T) (int64, int) {
	t.Helper()
	require.NoError(t, p.dir.SetReadDeadline(time.Now().Add(5*time.Second)))
	msg, err := readMessage(p.dr, 1<<20)
	require.NoError(t, err)
	env, err := peekEnvelope(msg)
	require.NoError(t, err)
	return env.ID, env.Tag
}

func (p *upstreamPair) answer(t *testing.T, msgs ...[]byte) {
	t.Helper()
	for _, m := range msgs {
		_, err := p.dir.Write(m)
		require.NoError(t, err)
	}
}

// bind runs a bind on the upstream connection in the background.
func (p *upstreamPair) bind(ctx context.Context, id int64, dn string) chan error {
	done := make(chan error, 1)
	go func() {
		r, err := p.up.Bind(ctx, id, dn, NewSecret([]byte("pw")), nil)
		if err == nil && r.Code != Success {
			err = errors.New(r.Code.String())
		}
		done <- err
	}()
	return done
}

func TestUpstreamDirectBind(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("binds read their own answers only with raw socket calls (Linux)")
	}
	t.Run("answer-read-by-the-bind", func(t *testing.T) {
		p := newUpstreamPair(t)
		require.True(t, p.up.direct, "a loopback TCP connection is peekable")
		done := p.bind(t.Context(), 3, "uid=a")
		id, tag := p.request(t)
		assert.Equal(t, []any{int64(3), tagBindRequest}, []any{id, tag})
		// A stray message first: it goes to the owner, the bind goes on.
		stray := encodeResponse(9, tagSearchDone, result{Code: Success})
		p.answer(t, stray, ldapAnswer(3, tagBindResponse, Success))
		require.NoError(t, <-done)
		assert.Equal(t, stray, <-p.delivered)
		assert.True(t, p.up.boundAs("uid=a"))
		p.up.mu.Lock()
		assert.False(t, p.up.reading, "no reader for a client that only binds")
		p.up.mu.Unlock()
	})
	t.Run("then-relayed-operations-start-the-reader", func(t *testing.T) {
		p := newUpstreamPair(t)
		done := p.bind(t.Context(), 1, "uid=a")
		p.request(t)
		p.answer(t, ldapAnswer(1, tagBindResponse, Success))
		require.NoError(t, <-done)
		p.up.watch()
		search := encodeResponse(2, tagSearchDone, result{Code: Success})
		p.answer(t, search)
		assert.Equal(t, search, <-p.delivered)
		// A bind now waits for the reader's hand-off.
		done = p.bind(t.Context(), 3, "")
		p.request(t)
		p.answer(t, ldapAnswer(3, tagBindResponse, Success))
		require.NoError(t, <-done)
		assert.False(t, p.up.mayBeBound())
	})
	t.Run("silent-directory-times-out-and-ends-the-connection", func(t *testing.T) {
		p := newUpstreamPair(t)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		done := p.bind(ctx, 1, "uid=a")
		p.request(t)
		err := <-done
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.True(t, p.up.dead(), "a late answer would have nobody to read it")
		_, err = p.up.Bind(t.Context(), 2, "uid=a", NewSecret([]byte("pw")), nil)
		require.ErrorIs(t, err, errUpstreamStale, "an ended connection takes no bind")
		assert.Equal(t, int32(1), p.gone.Load())
		// The late answer changes nothing.
		_, _ = p.dir.Write(ldapAnswer(1, tagBindResponse, Success))
		assert.Equal(t, int32(1), p.gone.Load())
	})
	t.Run("directory-closes-during-the-bind", func(t *testing.T) {
		p := newUpstreamPair(t)
		done := p.bind(t.Context(), 1, "uid=a")
		p.request(t)
		p.dir.Close()
		require.ErrorIs(t, <-done, errUpstreamGone)
		assert.True(t, p.up.dead())
		assert.Equal(t, int32(1), p.gone.Load())
	})
	// A connection nobody reads learns of its end only from the next bind,
	// which is then not sent: the caller sends it over a new connection.
	t.Run("closed-while-idle-takes-no-bind", func(t *testing.T) {
		p := newUpstreamPair(t)
		p.dir.Close()
		waitReadable(t, p.up.nc)
		_, err := p.up.Bind(t.Context(), 1, "uid=a", NewSecret([]byte("pw")), nil)
		require.ErrorIs(t, err, errUpstreamStale)
		assert.False(t, p.up.dead(), "the caller drops it")
		assert.Equal(t, int32(0), p.gone.Load(), "nobody was told: the client's connection goes on")
		p.up.Close()
		assert.Equal(t, int32(1), p.gone.Load(), "Close of an unread connection ends it")
		p.up.Close()
		assert.Equal(t, int32(1), p.gone.Load(), "once")
	})
	t.Run("unsolicited-message-while-idle-takes-no-bind", func(t *testing.T) {
		p := newUpstreamPair(t)
		p.answer(t, encodeNoticeOfDisconnection(Unavailable, "bye"))
		waitReadable(t, p.up.nc)
		_, err := p.up.Bind(t.Context(), 1, "uid=a", NewSecret([]byte("pw")), nil)
		require.ErrorIs(t, err, errUpstreamStale)
		require.NoError(t, p.dir.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
		_, err = p.dr.ReadByte()
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "the bind was not sent")
		assert.Empty(t, p.delivered)
	})
	t.Run("quiet-connection-sends-the-bind-once", func(t *testing.T) {
		p := newUpstreamPair(t)
		for id := int64(1); id <= 3; id++ {
			done := p.bind(t.Context(), id, "uid=a")
			got, tag := p.request(t)
			assert.Equal(t, []any{id, tagBindRequest}, []any{got, tag})
			p.answer(t, ldapAnswer(id, tagBindResponse, Success))
			require.NoError(t, <-done)
		}
		require.NoError(t, p.dir.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
		_, err := p.dr.ReadByte()
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "each bind was sent exactly once")
	})
	t.Run("unwatch-hands-reading-back-to-binds", func(t *testing.T) {
		p := newUpstreamPair(t)
		p.up.watch()
		require.True(t, p.up.unwatch(), "a quiet connection stays usable")
		p.up.mu.Lock()
		assert.False(t, p.up.reading)
		p.up.mu.Unlock()
		done := p.bind(t.Context(), 5, "uid=b")
		p.request(t)
		p.answer(t, ldapAnswer(5, tagBindResponse, Success))
		require.NoError(t, <-done)
		assert.Equal(t, int32(0), p.gone.Load())
		p.up.watch()
		p.dir.Close()
		require.Eventually(t, p.up.dead, 5*time.Second, 10*time.Millisecond, "a watched connection ends at once")
		assert.False(t, p.up.unwatch())
		assert.Equal(t, int32(1), p.gone.Load())
	})
	// A bind the reader answers (after a relayed operation) that timed
	// out: its late answer is dropped, never handed to the client.
	t.Run("late-answer-of-a-timed-out-bind-is-dropped", func(t *testing.T) {
		p := newUpstreamPair(t)
		p.up.watch()
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		done := p.bind(ctx, 1, "uid=a")
		p.request(t)
		require.ErrorIs(t, <-done, context.DeadlineExceeded)
		search := encodeResponse(2, tagSearchDone, result{Code: Success})
		p.answer(t, ldapAnswer(1, tagBindResponse, Success), search)
		assert.Equal(t, search, <-p.delivered, "the bind's answer came first and was not delivered")
		assert.Empty(t, p.delivered)
	})
	t.Run("close-during-the-bind", func(t *testing.T) {
		p := newUpstreamPair(t)
		done := p.bind(t.Context(), 1, "uid=a")
		p.request(t)
		p.up.Close()
		require.Error(t, <-done)
		assert.True(t, p.up.dead())
		assert.Equal(t, int32(1), p.gone.Load())
	})
}

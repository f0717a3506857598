package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// swapOK answers every modify with success.
func swapOK(id int64, _ int, _ []byte) ([][]byte, bool) {
	return [][]byte{ldapAnswer(id, tagModifyResponse, Success)}, true
}

func testSwap(t *testing.T, ctx context.Context, d *ServiceDirectory) error {
	t.Helper()
	return d.Swap(ctx, "cn=t", []Swap{{Attr: "oathHOTPCounter", Old: "1", New: "2"}}, nil)
}

func requireLending(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("connections are lent to swaps only where the proxy makes raw socket calls (Linux)")
	}
}

// A swap borrows a connection and gives it back: a thousand swaps, one
// after another, and a refused one among them, need one connection.
func TestSwapConnectionReused(t *testing.T) {
	requireLending(t)
	var mu sync.Mutex
	n := 0
	s, target := newScriptedDirectory(t, func(id int64, tag int, op []byte) ([][]byte, bool) {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n == 500 {
			return [][]byte{ldapAnswer(id, tagModifyResponse, NoSuchAttribute)}, true
		}
		return swapOK(id, tag, op)
	})
	d := newTestServiceDirectory(t, target, time.Second)
	for i := range 1000 {
		err := testSwap(t, t.Context(), d)
		if i == 499 {
			require.ErrorIs(t, err, ErrConflict)
			continue
		}
		require.NoError(t, err, "swap %d", i)
	}
	assert.Equal(t, 1, s.dials())
}

// A connection the directory closed, or sent something unasked on, while
// it sat idle is not lent again: the swap goes over a fresh one.
func TestSwapConnectionStale(t *testing.T) {
	requireLending(t)
	tests := []struct {
		name  string
		after [][]byte // sent after the answer to the first swap
		keep  bool
	}{
		{"closed", nil, false},
		{"notice-of-disconnection", [][]byte{encodeNoticeOfDisconnection(Unavailable, "bye")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			first := true
			s, target := newScriptedDirectory(t, func(id int64, tag int, op []byte) ([][]byte, bool) {
				mu.Lock()
				defer mu.Unlock()
				out, _ := swapOK(id, tag, op)
				if first {
					first = false
					return append(out, tt.after...), tt.keep
				}
				return out, true
			})
			d := newTestServiceDirectory(t, target, time.Second)
			require.NoError(t, testSwap(t, t.Context(), d))
			waitFor(t, func() bool { return !idleConnQuiet(d) }, "the idle connection to show the directory's move")
			require.NoError(t, testSwap(t, t.Context(), d), "the stale connection is not used")
			assert.Equal(t, 2, s.dials())
		})
	}
}

// idleConnQuiet probes the pool's idle connection as get would.
func idleConnQuiet(d *ServiceDirectory) bool {
	d.swaps.mu.Lock()
	defer d.swaps.mu.Unlock()
	return len(d.swaps.idle) == 1 && d.swaps.idle[0].qp.quiet()
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A swap whose answer does not come is given up when the bind's context
// ends, and its connection is not lent again (the answer may still come).
func TestSwapConnectionCancelled(t *testing.T) {
	requireLending(t)
	var mu sync.Mutex
	silent := true
	s, target := newScriptedDirectory(t, func(id int64, tag int, op []byte) ([][]byte, bool) {
		mu.Lock()
		defer mu.Unlock()
		if silent {
			silent = false
			return nil, true
		}
		return swapOK(id, tag, op)
	})
	d := newTestServiceDirectory(t, target, time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := testSwap(t, ctx, d)
	require.ErrorIs(t, err, ErrUnavailable)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "err = %v", err)

	require.NoError(t, testSwap(t, t.Context(), d))
	assert.Equal(t, 2, s.dials())
}

// More swaps at once than connections may be lent: the rest share the
// multiplexed service connection, and every one is answered.
func TestSwapConnectionsBounded(t *testing.T) {
	requireLending(t)
	s, target := newScriptedDirectory(t, func(id int64, tag int, op []byte) ([][]byte, bool) {
		time.Sleep(100 * time.Millisecond) // all swaps start while the first are lent
		return swapOK(id, tag, op)
	})
	d := newTestServiceDirectory(t, target, 10*time.Second)
	var wg sync.WaitGroup
	for range swapConnMax + 8 {
		wg.Go(func() { assert.NoError(t, testSwap(t, t.Context(), d)) })
	}
	wg.Wait()
	assert.LessOrEqual(t, s.dials(), swapConnMax+1, "lent connections and the shared one")
	assert.Greater(t, s.dials(), 1)
}

// Connections to an ldaps:// upstream are never lent (a TLS connection
// cannot be probed without blocking).
func TestSwapConnectionsOffForTLS(t *testing.T) {
	u, _ := url.Parse("ldaps://127.0.0.1:1")
	d := NewServiceDirectory(Target{URL: u, DialTimeout: time.Second}, "cn=svc", NewSecret([]byte("pw")), 1, time.Second)
	defer d.Close()
	assert.True(t, d.swaps.off.Load())
}

// A connection lent when the directory is closed is closed when it comes
// back, not kept.
func TestSwapConnectionReturnedAfterClose(t *testing.T) {
	requireLending(t)
	_, target := newScriptedDirectory(t, swapOK)
	d := newTestServiceDirectory(t, target, time.Second)
	c, err := d.swaps.get(t.Context())
	require.NoError(t, err)
	require.NotNil(t, c)
	d.Close()
	d.swaps.put(c, false)
	assert.Empty(t, d.swaps.idle)
	assert.False(t, c.qp.quiet(), "the connection is closed")
}

// A swap that cannot dial a connection of its own (the directory takes no
// more connections) goes over the shared one instead of failing.
func TestSwapConnectionDialFails(t *testing.T) {
	requireLending(t)
	_, target := newScriptedDirectory(t, swapOK)
	d := newTestServiceDirectory(t, target, time.Second)
	d.swaps.dial = func(context.Context) (*swapConn, error) {
		return nil, fmt.Errorf("%w: too many connections", ErrUnavailable)
	}
	require.NoError(t, testSwap(t, t.Context(), d))
	assert.Zero(t, d.swaps.lent)
}

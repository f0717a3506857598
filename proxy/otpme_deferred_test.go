package proxy

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

func TestDeferredCounts(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 17, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	written := map[string]pendingLogins{}
	fail := map[string]error{"down": ErrUnavailable, "gone": otpme.ErrSessionNotFound}
	var during otpme.Session
	var d *deferredCounts
	d = newDeferredCounts(func(_ context.Context, id string, p pendingLogins) error {
		if id == "a" {
			during = d.overlay(otpme.Session{ID: "a", Logins: 1, LastUsed: t0})
		}
		if err := fail[id]; err != nil {
			return err
		}
		mu.Lock()
		written[id] = p
		mu.Unlock()
		return nil
	})
	for i, id := range []string{"a", "a", "a", "down", "gone"} {
		d.add(id, t0.Add(time.Duration(i)*time.Second))
	}
	got := d.overlay(otpme.Session{ID: "a", Logins: 1, LastUsed: t0})
	assert.Equal(t, 4, got.Logins)
	assert.True(t, got.LastUsed.Equal(t0.Add(2*time.Second)))

	err := d.flush(context.Background())
	assert.ErrorIs(t, err, ErrUnavailable, "the count that could not be written is reported")
	assert.Equal(t, pendingLogins{n: 3, last: t0.Add(2 * time.Second)}, written["a"], "three logins, one write")
	assert.Equal(t, 4, during.Logins, "counts being written still show")
	assert.Equal(t, 1, d.overlay(otpme.Session{ID: "a", Logins: 1}).Logins, "written: no longer added")
	assert.Equal(t, 1, d.overlay(otpme.Session{ID: "gone", Logins: 1}).Logins, "a session that is gone is dropped")
	assert.Equal(t, 1, d.overlay(otpme.Session{ID: "down"}).Logins, "kept for the next flush")

	delete(fail, "down")
	require.NoError(t, d.flush(context.Background()))
	assert.Equal(t, 1, written["down"].n)
	d.mu.Lock()
	assert.Nil(t, d.timer, "nothing left to flush")
	d.mu.Unlock()
}

// Logins counted while a flush runs are neither lost nor written twice.
func TestDeferredCountsConcurrent(t *testing.T) {
	var mu sync.Mutex
	total := 0
	d := newDeferredCounts(func(_ context.Context, _ string, p pendingLogins) error {
		mu.Lock()
		total += p.n
		mu.Unlock()
		return nil
	})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 500 {
				d.add("s", time.Now())
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			_ = d.flush(context.Background())
		}
	})
	wg.Wait()
	require.NoError(t, d.flush(context.Background()))
	assert.Equal(t, 2000, total)
}

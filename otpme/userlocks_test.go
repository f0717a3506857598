package otpme_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

// slowFails is a MemStore whose AddFail takes as long as a directory
// write: the window in which parallel guesses used to slip past max_fail.
type slowFails struct {
	*otpme.MemStore
	delay time.Duration
}

func (s slowFails) AddFail(ctx context.Context, scope otpme.Scope, pwHash string) (int, error) {
	time.Sleep(s.delay) // latency, not synchronisation
	return s.MemStore.AddFail(ctx, scope, pwHash)
}

// gatedFails is a MemStore whose first AddFail reports that it started
// and waits for release; later ones go straight through.
type gatedFails struct {
	*otpme.MemStore
	started          atomic.Bool
	entered, release chan struct{}
}

func (s *gatedFails) AddFail(ctx context.Context, scope otpme.Scope, pwHash string) (int, error) {
	if s.started.CompareAndSwap(false, true) {
		close(s.entered)
		<-s.release
	}
	return s.MemStore.AddFail(ctx, scope, pwHash)
}

// TestEngine_VerifyParallelGuesses: wrong codes sent all at once are
// checked one after the other, so no more than max_fail of them are
// checked at all; the others find the user locked.
func TestEngine_VerifyParallelGuesses(t *testing.T) {
	const guesses = 50
	m := newMail(t, func(c *otpme.Config) {
		c.Store = slowFails{MemStore: c.Store.(*otpme.MemStore), delay: 10 * time.Millisecond}
	})
	var wg sync.WaitGroup
	start := make(chan struct{})
	codes := make([]otpme.EventCode, guesses)
	for i := range guesses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := m.eng.Verify(m.ctx, otpme.Request{User: "alice", Password: otpme.Secret(fmt.Sprintf("%06d", i)), Client: "roundcube"})
			assert.NoError(t, err)
			codes[i] = r.Event.Code
		}()
	}
	close(start)
	wg.Wait()
	count := map[otpme.EventCode]int{}
	for _, c := range codes {
		count[c]++
	}
	assert.Equal(t, map[otpme.EventCode]int{otpme.AuthFailed: otpme.DefaultMaxFail, otpme.AuthUserLocked: guesses - otpme.DefaultMaxFail}, count)
}

// TestEngine_VerifyWaitHonoursContext: a verification waiting for another
// one of the same user ends with its context.
func TestEngine_VerifyWaitHonoursContext(t *testing.T) {
	var gate *gatedFails
	m := newMail(t, func(c *otpme.Config) {
		gate = &gatedFails{MemStore: c.Store.(*otpme.MemStore), entered: make(chan struct{}), release: make(chan struct{})}
		c.Store = gate
	})
	first := make(chan otpme.Result)
	go func() {
		r, err := m.eng.Verify(m.ctx, otpme.Request{User: "alice", Password: otpme.Secret("wrong-1"), Client: "roundcube"})
		assert.NoError(t, err)
		first <- r
	}()
	<-gate.entered // the first verification holds alice's lock

	ctx, cancel := context.WithCancel(m.ctx)
	cancel()
	r, err := m.eng.Verify(ctx, otpme.Request{User: "alice", Password: otpme.Secret("wrong-2"), Client: "roundcube"})
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, r.OK)

	close(gate.release)
	assert.Equal(t, otpme.AuthFailed, (<-first).Event.Code)
	st, err := m.eng.Status(m.ctx, "alice", "webmail")
	require.NoError(t, err)
	assert.Equal(t, 1, st.Fails, "the cancelled guess was not checked")
}

package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ldapotp/ldapotp/otpme"
)

// racers is how many goroutines race in each concurrent case.
const racers = 64

// race runs f in racers goroutines started together and waits for them.
func race(f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(i)
		}()
	}
	close(start)
	wg.Wait()
}

func runConcurrent(t *testing.T, newStore func(t *testing.T) otpme.Store) {
	ctx := context.Background()
	t.Run("use-code-exactly-one-first", func(t *testing.T) {
		s := newStore(t)
		var firsts, errs atomic.Int32
		race(func(int) {
			first, err := s.UseCode(ctx, "tok", "code", t0, t0.Add(time.Minute))
			count(&errs, err != nil)
			count(&firsts, first)
		})
		assert.Zero(t, errs.Load())
		assert.Equal(t, int32(1), firsts.Load())
	})
	t.Run("count-login-never-beyond-max", func(t *testing.T) {
		s := newStore(t)
		sess := session("s1", "s1", "u1", "webmail", "tok")
		sess.MaxLogin, sess.Logins = 5, 1
		require.NoError(t, s.CreateSessions(ctx, []otpme.Session{sess}))
		var oks, other atomic.Int32
		race(func(int) {
			_, err := s.CountLogin(ctx, read(t, s, "s1"), t0.Add(time.Second))
			count(&oks, err == nil)
			count(&other, err != nil && !errors.Is(err, otpme.ErrMaxLogin))
		})
		assert.Equal(t, int32(4), oks.Load())
		assert.Zero(t, other.Load())
		stored, _ := s.Sessions(ctx, "u1")
		assert.Equal(t, 5, stored[0].Logins)
	})
	t.Run("add-fail-counts-distinct", func(t *testing.T) {
		s := newStore(t)
		race(func(i int) {
			_, err := s.AddFail(ctx, userA, fmt.Sprintf("h%d", i%8))
			assert.NoError(t, err)
		})
		n, err := s.Fails(ctx, userA)
		require.NoError(t, err)
		assert.Equal(t, 8, n)
	})
	t.Run("add-fail-past-cap-counts-each", func(t *testing.T) {
		s := newStore(t)
		for i := range otpme.MaxFailHashes - 4 {
			_, err := s.AddFail(ctx, userA, hashN(i))
			require.NoError(t, err)
		}
		race(func(i int) {
			_, err := s.AddFail(ctx, userA, fmt.Sprintf("new%d", i))
			assert.NoError(t, err)
		})
		n, err := s.Fails(ctx, userA)
		require.NoError(t, err)
		assert.Equal(t, otpme.MaxFailHashes-4+racers, n, "every distinct failure counted once, held or dropped")
	})
	t.Run("create-session-once", func(t *testing.T) {
		s := newStore(t)
		var oks atomic.Int32
		race(func(int) {
			err := s.CreateSessions(ctx, []otpme.Session{session("dup", "dup", "u1", "", "t")})
			count(&oks, err == nil)
		})
		assert.Equal(t, int32(1), oks.Load())
	})
}

func count(n *atomic.Int32, yes bool) {
	if yes {
		n.Add(1)
	}
}

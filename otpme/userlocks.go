package otpme

import (
	"context"
	"hash/maphash"
)

// userLockStripes is how many locks userLocks has. Users whose IDs hash
// alike share one and wait for each other; 1024 keep that rare with a
// thousand logins at once, in about 100 KiB whatever the number of users.
const userLockStripes = 1024

// userLocks serialise the verifications of one user within an Engine. A
// verification reads the user's fail counts, checks the password and only
// then counts a failure, so parallel wrong guesses all read a count below
// max_fail and all get checked (100 wrong mOTP codes at once with max_fail
// 5: 100 AUTH_FAILED, no AUTH_USER_LOCKED). One at a time, the guess after
// the max_fail-th finds the user locked.
//
// The locks live in one process. Proxies sharing store: directory each
// check one guess of a user at a time, so n proxies may check up to n-1
// guesses beyond max_fail; closing that too would take a lock in the
// directory on every login.
//
// Each stripe is a channel with one slot, so that waiting for it can end
// with the request's context. The stripes are fixed: no per-user state to
// clean up.
type userLocks struct {
	seed    maphash.Seed // random, so that no one can pick IDs that share a stripe
	stripes [userLockStripes]chan struct{}
}

func newUserLocks() *userLocks {
	l := &userLocks{seed: maphash.MakeSeed()}
	for i := range l.stripes {
		l.stripes[i] = make(chan struct{}, 1)
	}
	return l
}

// lock waits until the stripe of the user ID is free and takes it; it
// returns the stripe, to be released with <-stripe, or ctx's error if ctx
// ends first.
func (l *userLocks) lock(ctx context.Context, user string) (chan struct{}, error) {
	s := l.stripes[maphash.String(l.seed, user)%userLockStripes]
	select {
	case s <- struct{}{}:
		return s, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

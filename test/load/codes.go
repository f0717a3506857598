package main

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"time"

	"github.com/ldapotp/ldapotp/oath"
)

// partition returns the half-open range [lo, hi) of n users that worker i
// of workers owns: contiguous, disjoint, together covering all n, sizes
// differing by at most one.
func partition(n, workers, i int) (lo, hi int) {
	return n * i / workers, n * (i + 1) / workers
}

// hotpPassword returns the credential for u's next HOTP code (static
// password followed by the code of counter u.Next) and advances the
// counter: a code is spent whether or not the bind then succeeds.
func hotpPassword(u *User) []byte {
	code := oath.Code(oath.SHA1, u.key, u.Next, u.Digits)
	u.Next++
	return append([]byte(u.Password), code...)
}

// totpPassword returns the credential for u at step (static password
// followed by the code of that step) and records the step as used.
func totpPassword(u *User, step int64) []byte {
	u.lastStep = step
	return append([]byte(u.Password), oath.Code(oath.SHA1, u.key, step, u.Digits)...)
}

// totpPicker hands out a worker's TOTP users round robin, each at most
// once per time step.
type totpPicker struct {
	users []*User
	next  int
}

// pick returns a user that has not bound in the step of now and that step,
// or, when every user has, nil and how long until the next step begins.
func (p *totpPicker) pick(now time.Time) (u *User, step int64, wait time.Duration) {
	for range p.users {
		u := p.users[p.next]
		p.next = (p.next + 1) % len(p.users)
		if s := now.Unix() / u.Period; s > u.lastStep {
			return u, s, 0
		}
	}
	// All users of a worker share one period (they share a params entry).
	period := p.users[0].Period
	nextStep := (now.Unix()/period + 1) * period
	return nil, 0, time.Unix(nextStep, 0).Sub(now)
}

// ssha hashes a password as slapd's {SSHA} (salted SHA-1, 8-byte salt).
func ssha(password string) string {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go 1.24+)
	h := sha1.New()
	h.Write([]byte(password))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}

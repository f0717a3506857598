package proxy

import (
	"context"
	"hash/maphash"
	"net"
	"sync"
	"time"
)

// requireTLS refuses binds on connections without TLS when the
// configuration asks for it (confidentialityRequired, RFC 4513 §3): the
// password must never cross the network in the clear.
func requireTLS(required bool) BindStep {
	return func(next BindHandler) BindHandler {
		return BindFunc(func(ctx context.Context, req *BindRequest) BindResponse {
			if required && !req.TLS {
				req.Event = "AUTH_FAILED"
				return BindResponse{Code: ConfidentialityRequired, Message: "TLS is required before a bind: use ldaps:// or StartTLS"}
			}
			return next.Bind(ctx, req)
		})
	}
}

// limitRate answers busy (51) to binds beyond perIP attempts a minute from
// one source address or perDN attempts a minute for one DN (0: no limit).
// Every attempt counts, successful or not, so a password or code guesser
// is slowed whatever the directory answers.
func limitRate(perIP, perDN int, now func() time.Time) BindStep {
	ips, dns := newRateLimiter(perIP, now), newRateLimiter(perDN, now)
	return func(next BindHandler) BindHandler {
		return BindFunc(func(ctx context.Context, req *BindRequest) BindResponse {
			var buf [256]byte
			if (ips.on() && !ips.allow(hostOf(req.Peer))) || (dns.on() && !dns.allowBytes(appendValuesKey(buf[:0], req.DN))) {
				req.Event = "AUTH_RATE_LIMITED"
				return BindResponse{Code: Busy, Message: "too many bind attempts, try again later"}
			}
			return next.Bind(ctx, req)
		})
	}
}

func hostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// rateLimiter is a token bucket per key: perMinute tokens, refilled
// continuously. The buckets are spread over shards by key, so that the
// binds of different users do not wait for one lock. A bucket that has
// filled up again is the same as none, and the shard's next sweep drops it
// (a sweep comes once a minute, and as soon as the shard has doubled since
// the last): a spray of new keys leaves only the buckets of its last
// moments, not one per key.
type rateLimiter struct {
	perMinute int
	now       func() time.Time
	seed      maphash.Seed
	shards    [rateShards]rateShard
}

const rateShards = 16

type rateShard struct {
	mu      sync.Mutex
	buckets map[uint64]*bucket // by the key's hash: a bucket costs the same for a 16 MiB DN
	swept   time.Time
	limit   int // sweep before the shard holds more buckets than this
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perMinute int, now func() time.Time) *rateLimiter {
	l := &rateLimiter{perMinute: perMinute, now: now, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = map[uint64]*bucket{}
	}
	return l
}

// on reports whether the limiter limits anything (its keys need not be
// computed otherwise).
func (l *rateLimiter) on() bool { return l.perMinute > 0 }

// allow takes one token for key, if there is one.
func (l *rateLimiter) allow(key string) bool {
	return l.allowHash(maphash.String(l.seed, key))
}

// allowBytes is allow for a key in bytes.
func (l *rateLimiter) allowBytes(key []byte) bool {
	return l.allowHash(maphash.Bytes(l.seed, key))
}

// allowHash takes one token for the key whose hash is h. The hash is
// seeded per process: collisions cannot be aimed at.
func (l *rateLimiter) allowHash(h uint64) bool {
	if l.perMinute <= 0 {
		return true
	}
	s := &l.shards[h%rateShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	now := l.now()
	s.sweep(now, l.perMinute)
	b, ok := s.buckets[h]
	if !ok {
		b = &bucket{tokens: float64(l.perMinute), last: now}
		s.buckets[h] = b
	}
	b.tokens = b.at(now, l.perMinute)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// at returns the bucket's tokens at now.
func (b *bucket) at(now time.Time, perMinute int) float64 {
	return min(float64(perMinute), b.tokens+now.Sub(b.last).Minutes()*float64(perMinute))
}

// sweep drops the buckets that are full again, once a minute or when the
// shard has grown to its limit.
func (s *rateShard) sweep(now time.Time, perMinute int) {
	if now.Sub(s.swept) < time.Minute && len(s.buckets) < s.limit {
		return
	}
	s.swept = now
	for k, b := range s.buckets {
		if b.at(now, perMinute) >= float64(perMinute) {
			delete(s.buckets, k)
		}
	}
	s.limit = max(2*len(s.buckets), 1024)
}

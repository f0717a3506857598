package proxy

import (
	"context"
	"net"
	"strings"
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
			if (ips.on() && !ips.allow(hostOf(req.Peer))) || (dns.on() && !dns.allow(strings.ToLower(strings.TrimSpace(req.DN)))) {
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
// continuously. Idle buckets are dropped so the map cannot grow without
// bound under a spray of keys.
type rateLimiter struct {
	perMinute int
	now       func() time.Time
	mu        sync.Mutex
	buckets   map[string]*bucket
	swept     time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perMinute int, now func() time.Time) *rateLimiter {
	return &rateLimiter{perMinute: perMinute, now: now, buckets: map[string]*bucket{}}
}

// on reports whether the limiter limits anything (its keys need not be
// computed otherwise).
func (l *rateLimiter) on() bool { return l.perMinute > 0 }

// allow takes one token for key, if there is one.
func (l *rateLimiter) allow(key string) bool {
	if l.perMinute <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: float64(l.perMinute), last: now}
		l.buckets[key] = b
	}
	b.tokens = min(float64(l.perMinute), b.tokens+now.Sub(b.last).Minutes()*float64(l.perMinute))
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweep drops buckets that have been full again for a while, once a minute.
func (l *rateLimiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for k, b := range l.buckets {
		if now.Sub(b.last) > 2*time.Minute {
			delete(l.buckets, k)
		}
	}
}

package proxy

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRateLimiter_PerKey(t *testing.T) {
	clock := &objClock{now: time.Unix(1e9, 0)}
	l := newRateLimiter(3, clock.Now)
	for i := range 3 {
		assert.True(t, l.allow("a"), "attempt %d", i+1)
	}
	assert.False(t, l.allow("a"), "the fourth within the minute")
	assert.True(t, l.allow("b"), "another key has its own bucket")
	clock.Advance(20 * time.Second) // one token back
	assert.True(t, l.allow("a"))
	assert.False(t, l.allow("a"))
	assert.True(t, newRateLimiter(0, clock.Now).allow("a"), "0: no limit")
}

// TestRateLimiter_Spray: a stream of new keys (10,000 a second, each used
// once, for 10 s) leaves the buckets of its last moments, not one per key,
// and a key still being limited keeps its bucket through the sweeps.
func TestRateLimiter_Spray(t *testing.T) {
	clock := &objClock{now: time.Unix(1e9, 0)}
	l := newRateLimiter(120, clock.Now) // two tokens a second; a used one is back in 0.5 s
	for l.allow("guesser") {
	}
	for i := range 100000 {
		clock.Advance(100 * time.Microsecond)
		l.allow(fmt.Sprint("uid=", i))
	}
	assert.Less(t, bucketCount(l), 20000, "buckets held after 100,000 keys")
	n := 0
	for l.allow("guesser") {
		n++
	}
	assert.InDelta(t, 20, n, 1, "the guesser has 10 s worth of tokens, not a fresh bucket")
}

func TestRateLimiter_Concurrent(t *testing.T) {
	l := newRateLimiter(1000, time.Now)
	var wg sync.WaitGroup
	allowed := make([]int, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				if l.allow("shared") {
					allowed[g]++
				}
				l.allow(fmt.Sprint("own-", g))
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range allowed {
		total += n
	}
	assert.InDelta(t, 1000, total, 5, "the shared key got its minute's worth, from all goroutines together")
}

// bucketCount returns the number of buckets l holds.
func bucketCount(l *rateLimiter) int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
}

// TestValuesKey: the spellings slapd takes for one entry have one key;
// other DNs have others.
func TestValuesKey(t *testing.T) {
	dn := "uid=alice,ou=people,dc=example,dc=com"
	for _, same := range []string{
		"UID=Alice, OU=People, DC=Example, DC=Com",
		" uid = alice ,ou=people,dc=example,dc=com ",
		"0.9.2342.19200300.100.1.1=alice,ou=people,dc=example,dc=com",
		"userid=alice,organizationalUnitName=people,domainComponent=example,dc=com",
		`uid=\61lice,ou=people,dc=example,dc=com`,
		`uid=\41\4c\49\43\45,ou=people,dc=example,dc=com`,
		`uid="alice";ou=people;dc=example;dc=com`,
		"uid=ａｌｉｃｅ,ou=people,dc=example,dc=com",
	} {
		assert.Equal(t, valuesKey(dn), valuesKey(same), same)
	}
	for _, other := range []string{
		"uid=bob,ou=people,dc=example,dc=com",
		"uid=alice,ou=staff,dc=example,dc=com",
		"uid=alice\\,ou\\=people,dc=example,dc=com", // one value, not two
		"uid=alice2,ou=people,dc=example,dc=com",
		"",
	} {
		assert.NotEqual(t, valuesKey(dn), valuesKey(other), other)
	}
	assert.Equal(t, valuesKey("cn=Al+uid=b,dc=x"), valuesKey("UID=B + CN=al,dc=x"), "the order within an RDN")
	assert.NotEqual(t, valuesKey("cn=al+uid=b,dc=x"), valuesKey("cn=al,uid=b,dc=x"), "one RDN or two")
	assert.Equal(t, valuesKey(`cn="a,b+c",dc=x`), valuesKey(`cn=a\,b\+c,dc=x`), "quoted separators")
}

// BenchmarkValuesKey: the per-DN rate limit's key of a bind DN, on every
// bind.
func BenchmarkValuesKey(b *testing.B) {
	b.ReportAllocs()
	var buf [256]byte
	for b.Loop() {
		_ = appendValuesKey(buf[:0], "uid=user1234,ou=people,dc=example,dc=com")
	}
}

package proxy

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/ldapotp/ldapotp/schema"
)

// entryCache keeps directory entries (OATH params, tokens) for a short
// time: re-reading one on every bind is a round trip to the directory. A
// change is seen after at most ttl; failed reads are not cached.
type entryCache struct {
	dir   Directory
	attrs []string
	ttl   time.Duration
	now   func() time.Time

	mu      sync.Mutex
	entries map[string]cachedParams
}

// paramsCache is the cache of OATH params entries: many tokens share a few
// of them and they rarely change.
type paramsCache = entryCache

type cachedParams struct {
	e       schema.Entry
	expires time.Time
}

// maxCachedParams bounds the cache; beyond it, expired entries are dropped
// and then, if needed, everything.
const maxCachedParams = 4096

func newParamsCache(dir Directory, ttl time.Duration, now func() time.Time) *paramsCache {
	return newEntryCache(dir, schema.ParamsAttributes, ttl, now)
}

func newEntryCache(dir Directory, attrs []string, ttl time.Duration, now func() time.Time) *entryCache {
	return &entryCache{dir: dir, attrs: attrs, ttl: ttl, now: now, entries: map[string]cachedParams{}}
}

// Read returns the entry at dn, from the cache while it is fresh.
func (c *entryCache) Read(ctx context.Context, dn string) (schema.Entry, error) {
	e, _, err := c.read(ctx, dn, false)
	return e, err
}

// read is Read that also says whether the entry came from the cache;
// fresh skips the cache (and refills it).
func (c *entryCache) read(ctx context.Context, dn string, fresh bool) (schema.Entry, bool, error) {
	if c.ttl <= 0 {
		e, err := c.dir.Read(ctx, dn, c.attrs)
		return e, false, err
	}
	now := c.now()
	c.mu.Lock()
	ce, ok := c.entries[dn]
	c.mu.Unlock()
	if ok && !fresh && now.Before(ce.expires) {
		return ce.e, true, nil
	}
	e, err := c.dir.Read(ctx, dn, c.attrs)
	if err != nil {
		return e, false, err
	}
	c.put(dn, e, now)
	return e, false, nil
}

func (c *entryCache) put(dn string, e schema.Entry, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedParams {
		c.evict(now)
	}
	c.entries[dn] = cachedParams{e: e, expires: now.Add(c.ttl)}
}

// Invalidate drops dn from the cache.
func (c *entryCache) Invalidate(dn string) {
	c.mu.Lock()
	delete(c.entries, dn)
	c.mu.Unlock()
}

// Update replaces attribute values of a cached entry (after the proxy
// wrote them itself), keeping its expiry; an uncached dn is left alone.
func (c *entryCache) Update(dn string, values map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ce, ok := c.entries[dn]
	if !ok {
		return
	}
	attrs := make(map[string][][]byte, len(ce.e.Attributes))
	for k, v := range ce.e.Attributes {
		attrs[k] = v
	}
	for k, v := range values {
		for old := range attrs {
			if strings.EqualFold(old, k) {
				delete(attrs, old)
			}
		}
		attrs[k] = [][]byte{[]byte(v)}
	}
	ce.e.Attributes = attrs
	c.entries[dn] = ce
}

func (c *entryCache) evict(now time.Time) {
	for k, v := range c.entries {
		if !now.Before(v.expires) {
			delete(c.entries, k)
		}
	}
	if len(c.entries) >= maxCachedParams {
		clear(c.entries)
	}
}

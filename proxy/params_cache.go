package proxy

import (
	"context"
	"sync"
	"time"

	"github.com/ldapotp/ldapotp/schema"
)

// paramsCache keeps OATH params entries for a short time: many tokens share
// a few params entries that change rarely, and re-reading one on every bind
// is a round trip to the directory. A change to a params entry is in force
// after at most ttl. Failed reads are not cached.
type paramsCache struct {
	dir Directory
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]cachedParams
}

type cachedParams struct {
	e       schema.Entry
	expires time.Time
}

// maxCachedParams bounds the cache; beyond it, expired entries are dropped
// and then, if needed, everything.
const maxCachedParams = 4096

func newParamsCache(dir Directory, ttl time.Duration, now func() time.Time) *paramsCache {
	return &paramsCache{dir: dir, ttl: ttl, now: now, entries: map[string]cachedParams{}}
}

// Read returns the params entry at dn, from the cache while it is fresh.
func (c *paramsCache) Read(ctx context.Context, dn string) (schema.Entry, error) {
	if c.ttl <= 0 {
		return c.dir.Read(ctx, dn, schema.ParamsAttributes)
	}
	now := c.now()
	c.mu.Lock()
	ce, ok := c.entries[dn]
	c.mu.Unlock()
	if ok && now.Before(ce.expires) {
		return ce.e, nil
	}
	e, err := c.dir.Read(ctx, dn, schema.ParamsAttributes)
	if err != nil {
		return e, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedParams {
		c.evict(now)
	}
	c.entries[dn] = cachedParams{e: e, expires: now.Add(c.ttl)}
	return e, nil
}

func (c *paramsCache) evict(now time.Time) {
	for k, v := range c.entries {
		if !now.Before(v.expires) {
			delete(c.entries, k)
		}
	}
	if len(c.entries) >= maxCachedParams {
		clear(c.entries)
	}
}

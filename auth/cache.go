package auth

import (
	"sync"
	"time"
)

// tokenCache remembers tokens that passed verification, keyed by the SHA-256
// of the token, until they expire. An ES256 verification costs far more than
// the rest of a read request, and clients reuse their tokens.
//
// It holds two generations of at most max/2 entries each: when the newer
// is full, the older is dropped whole and the newer takes its place. The
// server puts every token it mints, thousands a second, and dropping a
// generation costs nothing per entry, where scanning the entries for
// expired ones cost a cache miss each (2 % of a token's server CPU).
type tokenCache struct {
	mu      sync.RWMutex
	half    int                     // entries per generation
	entries map[[32]byte]*Principal // the newer generation, where put adds
	older   map[[32]byte]*Principal
}

func newTokenCache(size int) *tokenCache {
	half := max(size/2, 1)
	return &tokenCache{half: half, entries: make(map[[32]byte]*Principal, half), older: map[[32]byte]*Principal{}}
}

// get returns the principal of a cached token, if it was verified for the same
// tenant and audience and has not expired.
func (c *tokenCache) get(sum [32]byte, tenant, audience string, now time.Time) (*Principal, bool) {
	c.mu.RLock()
	p, ok := c.entries[sum]
	older := false
	if !ok {
		p, ok = c.older[sum]
		older = ok
	}
	c.mu.RUnlock()
	if !ok || p.Tenant != tenant || p.Audience != audience {
		return nil, false
	}
	if !now.Before(p.ExpiresAt) {
		c.mu.Lock()
		delete(c.entries, sum)
		delete(c.older, sum)
		c.mu.Unlock()
		return nil, false
	}
	if older {
		// A token in use moves to the newer generation, so that the
		// tokens minted meanwhile do not push it out.
		c.put(sum, p, now)
	}
	return p, true
}

// put caches a verified token. When the newer generation is full, the
// older one is dropped and a new one begins.
func (c *tokenCache) put(sum [32]byte, p *Principal, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[sum]; !ok && len(c.entries) >= c.half {
		c.older, c.entries = c.entries, make(map[[32]byte]*Principal, c.half)
	}
	c.entries[sum] = p
	delete(c.older, sum)
}

// forgetTenant drops every entry of tenant.
func (c *tokenCache) forgetTenant(tenant string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range []map[[32]byte]*Principal{c.entries, c.older} {
		for k, e := range m {
			if e.Tenant == tenant {
				delete(m, k)
			}
		}
	}
}

// forgetAll drops every entry.
func (c *tokenCache) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	clear(c.older)
}

// len returns the number of entries (for tests).
func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries) + len(c.older)
}

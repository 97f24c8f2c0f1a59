package auth

import (
	"sync"
	"time"
)

// tokenCache remembers tokens that passed verification, keyed by the SHA-256
// of the token, until they expire. An ES256 verification costs far more than
// the rest of a read request, and clients reuse their tokens.
type tokenCache struct {
	mu      sync.RWMutex
	max     int
	entries map[[32]byte]*Principal
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, entries: make(map[[32]byte]*Principal, max)}
}

// get returns the principal of a cached token, if it was verified for the same
// tenant and audience and has not expired.
func (c *tokenCache) get(sum [32]byte, tenant, audience string, now time.Time) (*Principal, bool) {
	c.mu.RLock()
	p, ok := c.entries[sum]
	c.mu.RUnlock()
	if !ok || p.Tenant != tenant || p.Audience != audience {
		return nil, false
	}
	if !now.Before(p.ExpiresAt) {
		c.mu.Lock()
		delete(c.entries, sum)
		c.mu.Unlock()
		return nil, false
	}
	return p, true
}

// put caches a verified token. When full, it drops expired entries, and if
// that frees nothing, an arbitrary eighth of the entries.
func (c *tokenCache) put(sum [32]byte, p *Principal, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k, e := range c.entries {
			if !now.Before(e.ExpiresAt) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.max-c.max/8 {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[sum] = p
}

// forgetTenant drops every entry of tenant.
func (c *tokenCache) forgetTenant(tenant string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.Tenant == tenant {
			delete(c.entries, k)
		}
	}
}

// forgetAll drops every entry.
func (c *tokenCache) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}

// len returns the number of entries (for tests).
func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

package store

import (
	"encoding/binary"
	"sync"
)

// The token and read paths ask the same questions of the file on every
// request (does the tenant exist, is the client active, what may this
// client get for this resource), and the answers change only when someone
// writes. Each DB keeps a data generation that moves after every commit
// that may change such an answer, and a read-through cache keeps answers
// only for the generation they were computed in:
//
//   - A reader loads the generation before it opens its read transaction,
//     so an answer is never stamped newer than the data it was read from.
//   - A writer's commit moves the generation before the writer hears that
//     it committed (db.update; in cluster mode ApplyEntries, before the
//     applied index moves), so the read after an acknowledged write misses.
//   - The audit log and the JWT bearer replay store are written all the
//     time and change no answer: their commits leave the generation alone
//     (updateLog; in cluster mode changeSet.data).

// maxCacheEntries bounds each cache. Only answers for authenticated callers
// or for names the server made (tenants, client ids in its own tokens) are
// kept, so the bound is about tenants and clients, not about attackers.
const maxCacheEntries = 16384

// generation returns the data generation (see above).
func (db *DB) generation() uint64 { return db.dataGen.Load() }

// dataChanged moves the data generation: cached answers are stale.
func (db *DB) dataChanged() { db.dataGen.Add(1) }

// readCache maps keys to values computed in one data generation, the
// newest one stored; a value of an older generation is never returned.
type readCache[V any] struct {
	mu      sync.RWMutex
	gen     uint64
	entries map[string]V
}

// get returns the value of key computed in generation gen.
func (c *readCache[V]) get(key string, gen uint64) (V, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.gen != gen {
		var zero V
		return zero, false
	}
	v, ok := c.entries[key]
	return v, ok
}

// put stores v for key, computed in generation gen: it starts the cache
// afresh for a newer generation (or when full) and drops a value of an
// older one.
func (c *readCache[V]) put(key string, gen uint64, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen < c.gen {
		return
	}
	if gen > c.gen || c.entries == nil || len(c.entries) >= maxCacheEntries {
		c.gen, c.entries = gen, make(map[string]V)
	}
	c.entries[key] = v
}

// cacheKey joins fields into one key, each prefixed with its length, so
// that no two different lists of fields give the same key.
func cacheKey(fields ...string) string {
	n := 0
	for _, f := range fields {
		n += binary.MaxVarintLen32 + len(f)
	}
	b := make([]byte, 0, n)
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return string(b)
}

package auth

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// scriptSlots bounds the custom claims scripts one tenant runs at once, so
// that a tenant whose scripts run long (each up to its time limit) takes at
// most half the cores, however many token requests it sends: the other
// tenants' requests keep the rest. A request that finds its tenant's slots
// taken waits for one, at most scriptSlotWait.
type scriptSlots struct {
	mu    sync.Mutex
	slots map[string]chan struct{} // tenant -> one token per run under way
	size  int
}

// scriptSlotWait is how long a token request waits for its tenant's next
// free script slot before it is refused as temporarily unavailable.
const scriptSlotWait = time.Second

func newScriptSlots() *scriptSlots {
	return &scriptSlots{slots: map[string]chan struct{}{}, size: max(1, runtime.GOMAXPROCS(0)/2)}
}

// acquire takes one of tenant's slots, waiting until one is free, ctx ends
// or wait passes. It reports whether it got one; release gives it back.
func (s *scriptSlots) acquire(ctx context.Context, tenant string, wait time.Duration) (release func(), ok bool) {
	s.mu.Lock()
	ch, found := s.slots[tenant]
	if !found {
		ch = make(chan struct{}, s.size)
		s.slots[tenant] = ch
	}
	s.mu.Unlock()
	release = func() { <-ch }
	select {
	case ch <- struct{}{}:
		return release, true
	default:
	}
	if ctx.Err() != nil || wait <= 0 {
		return nil, false
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case ch <- struct{}{}:
		return release, true
	case <-ctx.Done():
	case <-timer.C:
	}
	return nil, false
}

// forget drops tenant's slots, when the tenant is deleted.
func (s *scriptSlots) forget(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.slots, tenant)
}

package auth

import (
	"context"
	"testing"
)

// TestScriptSlots_PerTenant: a tenant gets size runs at once, another
// tenant's are its own, and a freed slot can be taken again.
func TestScriptSlots_PerTenant(t *testing.T) {
	s := &scriptSlots{slots: map[string]chan struct{}{}, size: 2}
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	var releases []func()
	for i := range 2 {
		release, ok := s.acquire(ctx, "a", 0)
		if !ok {
			t.Fatalf("slot %d of a refused", i)
		}
		releases = append(releases, release)
	}
	if _, ok := s.acquire(cancelled, "a", scriptSlotWait); ok {
		t.Fatal("a third slot of a given")
	}
	if _, ok := s.acquire(ctx, "a", 0); ok {
		t.Fatal("a third slot of a given without waiting")
	}
	release, ok := s.acquire(ctx, "b", 0)
	if !ok {
		t.Fatal("b refused while a is full")
	}
	release()
	releases[0]()
	if release, ok := s.acquire(cancelled, "a", scriptSlotWait); !ok {
		t.Fatal("a freed slot of a refused")
	} else {
		release()
	}
	// A waiter gets the slot released while it waits.
	done := make(chan bool)
	go func() {
		release, ok := s.acquire(ctx, "a", scriptSlotWait*60)
		if ok {
			release()
		}
		done <- ok
	}()
	releases[1]()
	if !<-done {
		t.Fatal("the waiter did not get the freed slot")
	}
}

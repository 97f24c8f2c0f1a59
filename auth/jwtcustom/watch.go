package jwtcustom

import (
	"errors"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/dop251/goja"
)

// The values a watch interrupts a runtime with.
var (
	errTimeout = errors.New("timeout")
	errMemory  = errors.New("memory")
)

// watchEvery is how often a running script's allocations are looked at: a
// run allocating as fast as goja can (about a gigabyte a second, in
// strings of the capped length) gets about a megabyte past its bound.
const watchEvery = time.Millisecond

// allocatedMetric is the Go runtime's count of bytes ever allocated on the
// heap, by every goroutine; reading it takes about 0.3 µs and stops nothing.
const allocatedMetric = "/gc/heap/allocs:bytes"

// watch ends a run that goes on too long or allocates too much: every
// watchEvery it interrupts the runtime once the run is past its time, or
// once the process has allocated more than the Engine's MaxAllocBytes
// since the run began.
//
// Go keeps no count of one goroutine's allocations, so the process's count
// stands for the run's: it counts all the run allocates, and so bounds it,
// and counts what other goroutines allocate meanwhile too. A run of a few
// microseconds, as customizers are, sees a few kilobytes of others'; only a
// run near its time limit on a server allocating over half a gigabyte a
// second besides could be stopped early. One native step is not
// interrupted (harden.go caps the sized built-ins, but joining two strings
// is one step of their combined size), so a string doubled in a loop ends
// within two doublings of the bound.
type watch struct {
	rt       *goja.Runtime
	deadline time.Time
	limit    uint64
	start    uint64
	sample   [1]metrics.Sample

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
}

// watch starts watching rt's run, which may take timeout; the caller stops
// the watch when the run returns.
func (e *Engine) watch(rt *goja.Runtime, timeout time.Duration) *watch {
	w := &watch{rt: rt, deadline: time.Now().Add(timeout), limit: e.limits.MaxAllocBytes}
	w.sample[0].Name = allocatedMetric
	w.start = w.allocated()
	w.mu.Lock()
	w.timer = time.AfterFunc(min(watchEvery, timeout), w.check)
	w.mu.Unlock()
	return w
}

// allocated reads the process's bytes ever allocated.
func (w *watch) allocated() uint64 {
	metrics.Read(w.sample[:])
	return w.sample[0].Value.Uint64()
}

func (w *watch) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	if w.allocated()-w.start > w.limit {
		w.rt.Interrupt(errMemory)
		return
	}
	left := time.Until(w.deadline)
	if left <= 0 {
		w.rt.Interrupt(errTimeout)
		return
	}
	w.timer.Reset(min(watchEvery, left))
}

// stop ends the watch; an interrupt it already made stays for the caller to
// see and clear.
func (w *watch) stop() {
	w.mu.Lock()
	w.stopped = true
	w.timer.Stop()
	w.mu.Unlock()
}

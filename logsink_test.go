package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the sink's timer goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogSink: request lines wait, at most about logFlushInterval; any
// other line goes out at once with the request lines before it, in order;
// Close writes what waits, and later lines go through.
func TestLogSink(t *testing.T) {
	var out lockedBuffer
	sink := newLogSink(&out)
	handler := slog.NewTextHandler(sink, nil)
	logger, requests := slog.New(flushingHandler{handler, sink}), slog.New(handler)

	requests.Info("request", "n", 1)
	requests.Info("request", "n", 2)
	logger.Warn("other")
	if got := out.String(); !strings.Contains(got, "n=1") || strings.Index(got, "n=2") > strings.Index(got, "msg=other") ||
		strings.Index(got, "n=1") > strings.Index(got, "n=2") {
		t.Fatalf("order:\n%s", got)
	}
	requests.Info("request", "n", 3)
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "n=3"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a request line waited for ever")
		}
	}
	big := strings.Repeat("x", logBufferSize)
	requests.Info("request", "n", 4)
	requests.Info("request", "big", big)
	if got := out.String(); !strings.Contains(got, big) || !strings.Contains(got, "n=4") {
		t.Error("a line larger than the buffer was not written at once, after those before it")
	}
	requests.Info("request", "n", 5)
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "n=5") {
		t.Error("Close left a line waiting")
	}
	requests.Info("request", "n", 6)
	if !strings.Contains(out.String(), "n=6") {
		t.Error("a line after Close waits")
	}
	if err := logger.Handler().WithAttrs([]slog.Attr{slog.Int("a", 1)}).WithGroup("g").Handle(context.Background(),
		slog.NewRecord(time.Now(), slog.LevelInfo, "grouped", 0)); err != nil || !strings.Contains(out.String(), "msg=grouped a=1") {
		t.Errorf("WithAttrs: %v\n%s", err, out.String())
	}
}

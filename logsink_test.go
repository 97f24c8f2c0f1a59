package main

import (
	"bytes"
	"context"
	"io"
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

// samePlainLine fails unless slog's handler (text, or JSON if json) and the
// plainLineHandler around it write the same bytes for each record, and
// reports whether the shortcut wrote the last one.
func samePlainLine(t *testing.T, json bool, records ...slog.Record) (shortcut bool) {
	t.Helper()
	var want, got bytes.Buffer
	newHandler := func(w *bytes.Buffer) slog.Handler {
		if json {
			return slog.NewJSONHandler(w, nil)
		}
		return slog.NewTextHandler(w, nil)
	}
	h := newPlainLineHandler(newHandler(&got), &got, json)
	for _, r := range records {
		want.Reset()
		got.Reset()
		if err := newHandler(&want).Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if err := h.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("json %v:\ngot  %q\nwant %q", json, got.String(), want.String())
		}
		_, shortcut = h.appendLine(nil, &r)
	}
	return shortcut
}

// TestPlainLineHandler: request lines, and records the shortcut leaves to
// slog (quoting, escaping, other kinds, no time, odd years), come out as
// slog writes them, in text and JSON; the request line takes the shortcut.
func TestPlainLineHandler(t *testing.T) {
	at := time.Date(2026, 12, 5, 1, 2, 3, 4_560_789, time.UTC)
	record := func(tm time.Time, msg string, attrs ...slog.Attr) slog.Record {
		r := slog.NewRecord(tm, slog.LevelInfo, msg, 0)
		r.AddAttrs(attrs...)
		return r
	}
	requestLine := record(at, "request", slog.String("request_id", "f00dfeed01234567"), slog.String("tenant", "default"),
		slog.String("method", "GET"), slog.String("route", "/api/users/:userId"), slog.Int("status", 200),
		slog.Duration("duration", 1234567*time.Nanosecond), slog.String("ip", "2001:db8::1"))
	for _, json := range []bool{false, true} {
		if !samePlainLine(t, json, requestLine) {
			t.Errorf("json %v: the request line did not take the shortcut", json)
		}
		if !samePlainLine(t, json, record(at.Truncate(time.Second), "m", slog.Duration("d", 0), slog.Int("n", -5))) {
			t.Errorf("json %v: a whole second did not take the shortcut", json)
		}
		samePlainLine(t, json,
			record(at, "request", slog.String("tenant", "")),
			record(at, "request", slog.String("route", "a b")),
			record(at, "request", slog.String("q", `x"y`), slog.String("e", "a=b"), slog.String("u", "é"), slog.String("c", "\n")),
			record(at, "two words"),
			record(at, "request", slog.Bool("b", true), slog.Float64("f", 1.5), slog.Any("err", context.Canceled)),
			record(at, "request", slog.Group("g", slog.Int("n", 1))),
			record(at, "request", slog.String("a=b", "v")),
			record(time.Time{}, "no time", slog.Int("n", 1)),
			record(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "far", slog.Int("n", 1)),
			record(at.In(time.FixedZone("X", 3600+1800)), "zone", slog.String("s", "<&>")),
		)
	}
}

// FuzzPlainLineHandler: any strings, numbers and durations in a record
// come out as slog writes them, in text and JSON.
func FuzzPlainLineHandler(f *testing.F) {
	f.Add("request", "route", "/api/users/:userId", int64(200), int64(1234567), int64(1_780_000_000_123_456_789))
	f.Add("a b", "", "x\"y", int64(-1), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, msg, key, value string, n, d, unixNano int64) {
		r := slog.NewRecord(time.Unix(0, unixNano).UTC(), slog.LevelInfo, msg, 0)
		r.AddAttrs(slog.String(key, value), slog.Int64("n", n), slog.Duration("d", time.Duration(d)), slog.String("v", value))
		samePlainLine(t, false, r)
		samePlainLine(t, true, r)
	})
}

// BenchmarkRequestLine: a request line through slog's text handler and
// through the plainLineHandler around it.
func BenchmarkRequestLine(b *testing.B) {
	text := slog.NewTextHandler(io.Discard, nil)
	for _, h := range []struct {
		name    string
		handler slog.Handler
	}{{"slog", text}, {"plain", newPlainLineHandler(text, io.Discard, false)}} {
		b.Run(h.name, func(b *testing.B) {
			logger := slog.New(h.handler)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				logger.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("request_id", "f00dfeed01234567"),
					slog.String("tenant", "default"), slog.String("method", "GET"), slog.String("route", "/api/users/:userId"),
					slog.Int("status", 200), slog.Duration("duration", 1234567*time.Nanosecond), slog.String("ip", "127.0.0.1"))
			}
		})
	}
}

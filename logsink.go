package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// The log line of every request used to be a write(2) of its own, a tenth
// of the CPU a GET costs. Request lines now wait in memory and go out
// together, at most logFlushInterval later; every other line goes out at
// once, with the request lines before it, so the log keeps its order. A
// process killed with SIGKILL loses at most that interval of request
// lines; one that exits writes them all.

// logFlushInterval bounds how long a request line waits in memory.
const logFlushInterval = 50 * time.Millisecond

// logBufferSize is how many bytes of lines wait before they are written at
// once.
const logBufferSize = 64 << 10

// logSink is the log's writer (see above).
type logSink struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	closed bool // lines are written through
	stop   chan struct{}
	done   chan struct{}
}

// newLogSink returns a sink writing to w; Close it to write what waits.
func newLogSink(w io.Writer) *logSink {
	s := &logSink{w: w, buf: make([]byte, 0, logBufferSize), stop: make(chan struct{}), done: make(chan struct{})}
	go s.flushEvery(logFlushInterval)
	return s
}

// Write keeps p, one whole line as slog writes it, for the next flush.
func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf)+len(p) > logBufferSize || s.closed {
		if err := s.flushLocked(); err != nil {
			return 0, err
		}
	}
	if len(p) > logBufferSize || s.closed {
		return s.w.Write(p)
	}
	s.buf = append(s.buf, p...)
	return len(p), nil
}

// Flush writes every line that waits.
func (s *logSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

func (s *logSink) flushLocked() error {
	if len(s.buf) == 0 {
		return nil
	}
	_, err := s.w.Write(s.buf)
	s.buf = s.buf[:0]
	return err
}

func (s *logSink) flushEvery(d time.Duration) {
	defer close(s.done)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.Flush()
		case <-s.stop:
			return
		}
	}
}

// Close stops the timer and writes what waits. Lines written after it go
// out at once.
func (s *logSink) Close() error {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.flushLocked()
}

// flushingHandler writes each record through at once, with what waits in
// the sink before it: the handler of every line but the per-request ones.
type flushingHandler struct {
	slog.Handler
	sink *logSink
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if ferr := h.sink.Flush(); err == nil {
		err = ferr
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(attrs), h.sink}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.sink}
}

package main

import (
	"context"
	"io"
	"log/slog"
	"strconv"
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

// Formatting a request line in slog's text handler was a twentieth of a
// GET's server CPU. Request lines hold only names the server chose (route
// patterns, methods, tenant ids, request ids checked against a pattern,
// addresses), numbers and a duration, which no handler quotes or escapes:
// plainLineHandler writes such a record by hand, with the same bytes as
// slog's text or JSON handler (TestPlainLineHandler and
// FuzzPlainLineHandler compare them), and hands every other record to
// slog's.

// plainLineHandler is slog's handler with that shortcut.
type plainLineHandler struct {
	slog.Handler // slog's text or JSON handler writing to w
	w            io.Writer
	json         bool
	bufs         sync.Pool // of *[]byte
}

// newPlainLineHandler returns h, slog's text handler writing to w (its JSON
// handler if json is set), with the shortcut.
func newPlainLineHandler(h slog.Handler, w io.Writer, json bool) *plainLineHandler {
	return &plainLineHandler{Handler: h, w: w, json: json}
}

// Handle writes r, by hand when it is plain.
func (h *plainLineHandler) Handle(ctx context.Context, r slog.Record) error {
	bp, _ := h.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	defer h.bufs.Put(bp)
	b, ok := h.appendLine((*bp)[:0], &r)
	*bp = b
	if !ok {
		return h.Handler.Handle(ctx, r)
	}
	_, err := h.w.Write(b)
	return err
}

// WithAttrs and WithGroup return slog's handler alone: the request lines
// need neither.
func (h *plainLineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.Handler.WithAttrs(attrs)
}

// WithGroup: see WithAttrs.
func (h *plainLineHandler) WithGroup(name string) slog.Handler { return h.Handler.WithGroup(name) }

// appendLine appends r as slog's handler writes it; false when r is not
// plain (see above).
func (h *plainLineHandler) appendLine(b []byte, r *slog.Record) ([]byte, bool) {
	level := r.Level.String()
	if !plainLogText(r.Message) || !plainLogText(level) {
		return b, false
	}
	t := r.Time.Round(0)
	if !r.Time.IsZero() {
		if y := t.Year(); y < 0 || y >= 10000 {
			return b, false
		}
	}
	if h.json {
		b = append(b, '{')
		if !r.Time.IsZero() {
			b = append(b, `"time":"`...)
			b = t.AppendFormat(b, time.RFC3339Nano)
			b = append(b, `",`...)
		}
		b = append(append(append(b, `"level":"`...), level...), `","msg":"`...)
		b = append(append(b, r.Message...), '"')
	} else {
		if !r.Time.IsZero() {
			b = appendRFC3339Millis(append(b, "time="...), t)
			b = append(b, ' ')
		}
		b = append(append(append(b, "level="...), level...), " msg="...)
		b = append(b, r.Message...)
	}
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		if !plainLogText(a.Key) {
			ok = false
			return false
		}
		if h.json {
			b = append(append(append(b, `,"`...), a.Key...), `":`...)
		} else {
			b = append(append(append(b, ' '), a.Key...), '=')
		}
		switch v := a.Value; v.Kind() {
		case slog.KindString:
			s := v.String()
			if ok = plainLogText(s); ok && h.json {
				b = append(append(append(b, '"'), s...), '"')
			} else if ok {
				b = append(b, s...)
			}
		case slog.KindInt64:
			b = strconv.AppendInt(b, v.Int64(), 10)
		case slog.KindDuration:
			if h.json {
				b = strconv.AppendInt(b, int64(v.Duration()), 10)
			} else {
				b = append(b, v.Duration().String()...)
			}
		default:
			ok = false
		}
		return ok
	})
	if h.json {
		b = append(b, '}')
	}
	return append(b, '\n'), ok
}

// plainLogText reports whether s is written as it is, unquoted and
// unescaped, by slog's text and JSON handlers alike: printable ASCII
// without space, quote, backslash or '='.
func plainLogText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '=' {
			return false
		}
	}
	return s != ""
}

// appendRFC3339Millis appends t as slog's text handler does: RFC 3339 with
// exactly three digits of milliseconds, truncated.
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	// RFC3339Nano trims trailing zeros: a tenth of a millisecond more keeps
	// four digits, of which the fourth goes.
	b = t.Truncate(time.Millisecond).Add(time.Millisecond/10).AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefixLen], b[n+prefixLen+1:]...)
}

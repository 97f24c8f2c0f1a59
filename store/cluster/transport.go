package cluster

import (
	"context"
	"io"
	"log"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

const (
	// TransportMaxPool is how many idle connections NewTransport keeps per
	// peer, as Vault and Consul do.
	TransportMaxPool = 3
	// TransportTimeout is the I/O deadline of one raft RPC; raft scales it
	// up for snapshots by their size.
	TransportTimeout = 10 * time.Second
)

// NewTransport returns raft's network transport over mux's raft side,
// logging through logger at Warn and above only: raft logs every
// connection and election at Info. Closing the transport closes the raft
// side, not the Mux.
func NewTransport(mux *Mux, logger *slog.Logger) *raft.NetworkTransport {
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  mux.RaftLayer(),
		MaxPool: TransportMaxPool,
		Timeout: TransportTimeout,
		Logger:  NewHCLogger(logger, "raft-net", hclog.Warn),
	})
}

// NewHCLogger returns an hclog.Logger, the logger raft takes, that writes
// to logger the entries at level min and above, with the attribute
// logger=name. A nil logger discards everything.
func NewHCLogger(logger *slog.Logger, name string, min hclog.Level) hclog.Logger {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &hcLogger{slog: logger, name: name, level: new(atomic.Int32)}
	l.level.Store(int32(min))
	return l
}

// hcLogger adapts a *slog.Logger to hclog.Logger. The level is shared with
// the loggers derived by With and Named, as in hclog.
type hcLogger struct {
	slog    *slog.Logger
	name    string
	implied []any
	level   *atomic.Int32
}

var _ hclog.Logger = (*hcLogger)(nil)

// slogLevel maps an hclog level to slog's.
func slogLevel(l hclog.Level) slog.Level {
	switch {
	case l <= hclog.Trace:
		return slog.LevelDebug - 4
	case l == hclog.Debug:
		return slog.LevelDebug
	case l == hclog.Info:
		return slog.LevelInfo
	case l == hclog.Warn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

func (l *hcLogger) enabled(level hclog.Level) bool {
	return level != hclog.Off && level >= hclog.Level(l.level.Load()) &&
		l.slog.Enabled(context.Background(), slogLevel(level))
}

// Log writes msg with args at level, if enabled.
func (l *hcLogger) Log(level hclog.Level, msg string, args ...any) {
	if !l.enabled(level) {
		return
	}
	attrs := make([]any, 0, 2+len(l.implied)+len(args))
	if l.name != "" {
		attrs = append(attrs, "logger", l.name)
	}
	attrs = append(attrs, l.implied...)
	l.slog.Log(context.Background(), slogLevel(level), msg, append(attrs, args...)...)
}

// Trace logs at hclog.Trace.
func (l *hcLogger) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }

// Debug logs at hclog.Debug.
func (l *hcLogger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }

// Info logs at hclog.Info.
func (l *hcLogger) Info(msg string, args ...any) { l.Log(hclog.Info, msg, args...) }

// Warn logs at hclog.Warn.
func (l *hcLogger) Warn(msg string, args ...any) { l.Log(hclog.Warn, msg, args...) }

// Error logs at hclog.Error.
func (l *hcLogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

// IsTrace reports whether Trace writes anything.
func (l *hcLogger) IsTrace() bool { return l.enabled(hclog.Trace) }

// IsDebug reports whether Debug writes anything.
func (l *hcLogger) IsDebug() bool { return l.enabled(hclog.Debug) }

// IsInfo reports whether Info writes anything.
func (l *hcLogger) IsInfo() bool { return l.enabled(hclog.Info) }

// IsWarn reports whether Warn writes anything.
func (l *hcLogger) IsWarn() bool { return l.enabled(hclog.Warn) }

// IsError reports whether Error writes anything.
func (l *hcLogger) IsError() bool { return l.enabled(hclog.Error) }

// ImpliedArgs returns the arguments added by With.
func (l *hcLogger) ImpliedArgs() []any { return l.implied }

// With returns a logger that adds args to every entry.
func (l *hcLogger) With(args ...any) hclog.Logger {
	c := *l
	c.implied = append(append([]any(nil), l.implied...), args...)
	return &c
}

// Name returns the logger's name.
func (l *hcLogger) Name() string { return l.name }

// Named returns a logger whose name is this one's with name appended.
func (l *hcLogger) Named(name string) hclog.Logger {
	c := *l
	if c.name != "" {
		name = c.name + "." + name
	}
	c.name = name
	return &c
}

// ResetNamed returns a logger named name.
func (l *hcLogger) ResetNamed(name string) hclog.Logger {
	c := *l
	c.name = name
	return &c
}

// SetLevel sets the lowest level written, for this logger and those
// derived from it.
func (l *hcLogger) SetLevel(level hclog.Level) { l.level.Store(int32(level)) }

// GetLevel returns the lowest level written.
func (l *hcLogger) GetLevel() hclog.Level { return hclog.Level(l.level.Load()) }

// StandardLogger returns a *log.Logger writing to the same slog logger,
// at opts.ForceLevel if given, else at Info.
func (l *hcLogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	level := hclog.Info
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		level = opts.ForceLevel
	}
	if !l.enabled(level) {
		return log.New(io.Discard, "", 0)
	}
	return slog.NewLogLogger(l.slog.With("logger", l.name).Handler(), slogLevel(level))
}

// StandardWriter returns the writer of StandardLogger.
func (l *hcLogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return l.StandardLogger(opts).Writer()
}

package cluster

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// The adapter drops what raft logs below its level (raft logs every
// connection at Info) and passes the rest to slog with its attributes.
func TestHCLogger_LevelsAndAttributes(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l := NewHCLogger(logger, "raft", hclog.Warn)
	l.Debug("debug entry")
	l.Info("accepted connection", "remote", "10.0.0.2:7001")
	if l.IsInfo() || !l.IsWarn() || !l.IsError() || l.GetLevel() != hclog.Warn {
		t.Errorf("IsInfo %v IsWarn %v IsError %v level %v", l.IsInfo(), l.IsWarn(), l.IsError(), l.GetLevel())
	}
	l.With("peer", "n2").Named("net").Warn("failed to contact", "error", "refused")
	l.Error("failed to appendEntries")
	l.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Error}).Print("from log")
	l.StandardLogger(nil).Print("info through log, dropped")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`level=WARN msg="failed to contact" logger=raft.net peer=n2 error=refused`,
		`level=ERROR msg="failed to appendEntries" logger=raft`,
		`level=ERROR msg="from log" logger=raft`,
	}
	if len(lines) != len(want) {
		t.Fatalf("logged:\n%s\nwant %d lines", buf.String(), len(want))
	}
	for i, w := range want {
		if !strings.HasSuffix(lines[i], w) {
			t.Errorf("line %d: %s\nwant it to end with %s", i, lines[i], w)
		}
	}

	// SetLevel reaches the derived loggers; a quieter slog handler wins.
	buf.Reset()
	named := l.Named("x")
	l.SetLevel(hclog.Debug)
	named.Debug("now shown")
	quiet := NewHCLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError})), "q", hclog.Trace)
	quiet.Warn("below the handler's level")
	if got := buf.String(); !strings.Contains(got, "now shown") || strings.Contains(got, "below") {
		t.Errorf("logged %q", got)
	}
	NewHCLogger(nil, "nil", hclog.Trace).Error("to nowhere")
}

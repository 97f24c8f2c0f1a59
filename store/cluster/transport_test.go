package cluster

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
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

// countingFSM records the commands it applies.
type countingFSM struct {
	mu      sync.Mutex
	applied []string
}

func (f *countingFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = append(f.applied, string(l.Data))
	return len(f.applied)
}

func (f *countingFSM) Snapshot() (raft.FSMSnapshot, error) {
	return nil, errors.New("no snapshots here")
}

func (f *countingFSM) Restore(io.ReadCloser) error { return errors.New("no snapshots here") }

func (f *countingFSM) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.applied)
}

// TestTransport_ThreeNodeRaft runs a real raft cluster of three nodes, with
// in-memory logs, over NewTransport on three Muxes: it elects a leader,
// replicates to every node, and elects another when the leader stops.
func TestTransport_ThreeNodeRaft(t *testing.T) {
	ids := []string{"n1", "n2", "n3"}
	dir := mustInitCerts(t, ids...)
	var servers []raft.Server
	muxes := map[string]*Mux{}
	for _, id := range ids {
		muxes[id] = startMux(t, dir, id, MuxOptions{})
		servers = append(servers, raft.Server{ID: raft.ServerID(id), Address: rAddr(muxes[id])})
	}
	nodes := map[string]*raft.Raft{}
	fsms := map[string]*countingFSM{}
	for _, id := range ids {
		conf := raft.DefaultConfig()
		conf.LocalID = raft.ServerID(id)
		conf.HeartbeatTimeout = 200 * time.Millisecond
		conf.ElectionTimeout = 200 * time.Millisecond
		conf.LeaderLeaseTimeout = 100 * time.Millisecond
		conf.Logger = NewHCLogger(slog.New(slog.NewTextHandler(testOutput(t), nil)), id, hclog.Warn)
		logs := raft.NewInmemStore()
		trans := NewTransport(muxes[id], nil)
		fsms[id] = &countingFSM{}
		r, err := raft.NewRaft(conf, fsms[id], logs, logs, raft.NewInmemSnapshotStore(), trans)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Shutdown().Error(); trans.Close() })
		nodes[id] = r
	}
	if err := nodes["n1"].BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		t.Fatal(err)
	}
	leader := func(except string) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			for id, r := range nodes {
				if id != except && r.State() == raft.Leader {
					return id
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("no leader within 30 s")
		return ""
	}
	waitApplied := func(want []string, on ...string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for _, id := range on {
			for !slices.Equal(fsms[id].commands(), want) {
				if time.Now().After(deadline) {
					t.Fatalf("%s applied %v, want %v", id, fsms[id].commands(), want)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}

	first := leader("")
	for _, cmd := range []string{"a", "b", "c"} {
		if err := nodes[first].Apply([]byte(cmd), 10*time.Second).Error(); err != nil {
			t.Fatal(err)
		}
	}
	waitApplied([]string{"a", "b", "c"}, ids...)

	// Stop the leader (its raft and its port): the other two go on.
	if err := nodes[first].Shutdown().Error(); err != nil {
		t.Fatal(err)
	}
	muxes[first].Close()
	second := leader(first)
	if err := nodes[second].Apply([]byte("d"), 10*time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for _, id := range ids {
		if id != first {
			rest = append(rest, id)
		}
	}
	waitApplied([]string{"a", "b", "c", "d"}, rest...)
}

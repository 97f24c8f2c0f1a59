package store

import (
	"context"
	"errors"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store/kv"
	"github.com/idbolt/idbolt/store/kv/kvtest"
)

// bboltImporters are the only non-test files of the module that may use
// bbolt directly: the key-value layer itself, and the code that opens the
// file, takes backups and checks files, and rewrites the file offline
// (master key scrub and rotation), and cluster snapshots. Every other read and write goes through
// store/kv, so that a transaction's write-set can be recorded.
var bboltImporters = []string{
	"store/db_backup.go",
	"store/db_filecheck.go", // checks the header, opens with the large mapping
	"store/kv/kv.go",
	"store/kv/kvtest/kvtest.go", // test support: replays onto a copy of the file
	"store/db_lock_other.go",    // restore's lock where there is no flock
	"store/db_masterkey.go",
	"store/db_replica.go", // cluster snapshots: write the file, restore from one
	"store/store.go",
}

// TestLayer_OnlyKVImportsBbolt fails when a file outside the allowed few
// imports go.etcd.io/bbolt (its errors package, error values only, is
// allowed anywhere).
func TestLayer_OnlyKVImportsBbolt(t *testing.T) {
	root := ".."
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == "go.etcd.io/bbolt" && !slices.Contains(bboltImporters, rel) {
				t.Errorf("%s imports go.etcd.io/bbolt: go through store/kv instead (or, for opening, backup or file checks, add it to bboltImporters)", rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("checked only %d files: is the walk rooted at the module?", checked)
	}
}

// TestLayer_EveryWritePathRecords: each way the store writes (the
// committer, tenant creation and deletion, the audit writer and its
// pruning, the jti writer, Ping) hands its write-set to Options.OnCommit,
// and replaying them all reproduces the file.
func TestLayer_EveryWritePathRecords(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "idbolt.db")
	var rec kvtest.Recorder
	var mu sync.Mutex
	var sets []kv.WriteSet
	db, err := Open(ctx, path, Options{NoSync: true, Now: func() time.Time { return testNow }, OnCommit: func(ws kv.WriteSet) {
		mu.Lock()
		sets = append(sets, ws)
		mu.Unlock()
		rec.Record(ws)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := rec.Start(path, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	recorded := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(sets)
	}
	key := SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}
	tests := []struct {
		name  string
		write func() error
	}{
		{"create tenant", func() error {
			_, _, err := db.CreateTenant(ctx, NewTenant{ID: DefaultTenant, SigningKey: key})
			return err
		}},
		{"committer", func() error { _, err := db.CreateUser(ctx, DefaultTenant, UserCreate{}); return err }},
		{"audit writer", func() error {
			db.AuditAsync(DefaultTenant, AuditPayload{Key: "ExchangeTokenBy.ClientCredentials", Result: "Success"})
			return db.waitForAudits(ctx)
		}},
		{"audit pruning", func() error {
			n, err := db.PruneAudit(ctx, testNow.Add(time.Hour))
			if err == nil && n == 0 {
				err = errors.New("pruned nothing")
			}
			return err
		}},
		{"jti writer", func() error {
			j := NewJTI("robot", "j1", testNow.Add(time.Hour))
			if err := db.ClaimJTI(ctx, DefaultTenant, j); err != nil {
				return err
			}
			db.KeepJTI(ctx, DefaultTenant, j)
			waitJTIs(t, db, DefaultTenant, 1)
			return nil
		}},
		{"ping", func() error { return db.Ping(ctx) }},
		{"create second tenant", func() error {
			_, _, err := db.CreateTenant(ctx, NewTenant{ID: "other", SigningKey: key})
			return err
		}},
		{"delete tenant", func() error { return db.DeleteTenant(ctx, "other") }},
	}
	for _, tt := range tests {
		before := recorded()
		if err := tt.write(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if recorded() == before {
			t.Errorf("%s: no write-set recorded", tt.name)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Verify(path); err != nil {
		t.Error(err)
	}
}

package store

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// bboltImporters are the only non-test files of the module that may use
// bbolt directly: the key-value layer itself, and the code that opens the
// file, takes backups and checks files, and rewrites the file offline
// (master key scrub and rotation). Every other read and write goes through
// store/kv, so that a transaction's write-set can be recorded.
var bboltImporters = []string{
	"store/backup.go",
	"store/kv/kv.go",
	"store/kv/writeset.go",
	"store/masterkey.go",
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

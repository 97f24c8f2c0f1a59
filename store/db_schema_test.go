package store

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/kv"
	"github.com/idbolt/idbolt/store/search"
)

var updateDoc = flag.Bool("update", false, "rewrite the bucket map in doc.go from the schema")

// docMapIntro precedes the generated bucket map in doc.go.
const docMapIntro = "// The map below is rendered from db_schema.go; go test ./store -run TestSchema_DocMap -update\n// rewrites it.\n//\n"

// TestSchema_DocMap checks that the bucket map in doc.go is the schema's,
// and with -update rewrites it.
func TestSchema_DocMap(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(src, []byte(docMapIntro))
	if start < 0 {
		t.Fatalf("doc.go lacks the line before the bucket map:\n%s", docMapIntro)
	}
	start += len(docMapIntro)
	end := start
	for end < len(src) && bytes.HasPrefix(src[end:], []byte("//\t")) {
		end += bytes.IndexByte(src[end:], '\n') + 1
	}
	want := renderBucketMap()
	if got := string(src[start:end]); got != want {
		if *updateDoc {
			out := append(append(bytes.Clone(src[:start]), want...), src[end:]...)
			if err := os.WriteFile("doc.go", out, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("the bucket map in doc.go differs from the schema; run go test ./store -run TestSchema_DocMap -update. Want:\n%s", want)
	}
}

// TestSchema_Declarations checks the schema against itself: names are
// unique, every relation bucket belongs to exactly one declared relation,
// every relation end has an integrity check.
func TestSchema_Declarations(t *testing.T) {
	for _, specs := range [][]bucketSpec{rootSchema, tenantSchema} {
		seen := map[string]bool{}
		for _, s := range specs {
			if seen[string(s.name)] {
				t.Errorf("bucket %s declared twice", s.name)
			}
			seen[string(s.name)] = true
			if s.doc == "" || s.kind == "" {
				t.Errorf("bucket %s lacks a kind or a description", s.name)
			}
			if len(s.keys) > 0 && s.kind != kindSettings {
				t.Errorf("bucket %s has keys but is %s", s.name, s.kind)
			}
		}
	}
	inRelations := map[string]int{}
	for _, r := range schemaRelations {
		for _, name := range [][]byte{r.rel.fwd, r.rel.back} {
			inRelations[string(name)]++
			if s := findSpec(tenantSchema, name); s == nil || s.kind != kindRelation {
				t.Errorf("relation bucket %s is not declared as a relation", name)
			}
		}
		for _, e := range []relationEnd{r.a, r.b} {
			c := integrityCheck{}
			if e.kind == entityMembership {
				continue
			}
			if c.endOK(e) == nil {
				t.Errorf("relation %s: CheckIntegrity has no check for an end of kind %q", r.rel.fwd, e.kind)
			}
		}
		if (r.a.onDelete == leaveOnDelete || r.b.onDelete == leaveOnDelete) && r.dependent == nil {
			t.Errorf("relation %s ends memberships but names no member roles", r.rel.fwd)
		}
	}
	for _, s := range tenantSchema {
		if s.kind == kindRelation && inRelations[string(s.name)] != 1 {
			t.Errorf("relation bucket %s is in %d relations, want 1", s.name, inRelations[string(s.name)])
		}
	}
}

// TestSchema_FileHoldsOnlyDeclaredBuckets walks every bucket of a file in
// use and of the upgraded fixture: each is declared, and so is each key of
// a settings bucket. A stray bucket at the root, in a tenant and nested in
// a declared bucket, and a stray meta key, are reported; the bucket in a
// tenant fails CheckIntegrity.
func TestSchema_FileHoldsOnlyDeclaredBuckets(t *testing.T) {
	ctx := context.Background()
	undeclared := func(t *testing.T, db *DB) []string {
		t.Helper()
		var got []string
		if err := kv.View(db.bolt, func(tx *kv.Tx) error {
			return undeclaredBuckets(tx, func(format string, args ...any) {
				got = append(got, strings.TrimSpace(strings.Split(fmt.Sprintf(format, args...), " is not")[0]))
			})
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}

	t.Run("upgraded fixture", func(t *testing.T) {
		db := openFixture(t)
		defer db.Close()
		if got := undeclared(t, db); len(got) > 0 {
			t.Errorf("undeclared buckets %v", got)
		}
	})

	db := mustOpen(t)
	if _, err := db.Bootstrap(ctx, NewTenant{ID: DefaultTenant, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	if got := undeclared(t, db); len(got) > 0 {
		t.Errorf("undeclared buckets in a new file %v", got)
	}
	if err := kv.View(db.bolt, func(tx *kv.Tx) error {
		tenant := tx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant))
		for _, s := range tenantSchema {
			if tenant.Bucket(s.name) == nil {
				t.Errorf("a new tenant lacks bucket %s", s.name)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	if err := db.update(func(tx *kv.Tx) error {
		_, err := tx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant)).CreateBucket([]byte("stray_tenant"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	err := db.CheckIntegrity(ctx)
	if err == nil || !strings.Contains(err.Error(), "tenants/default/stray_tenant is not declared") {
		t.Errorf("CheckIntegrity = %v, want the stray tenant bucket reported", err)
	}
	if err := db.update(func(tx *kv.Tx) error {
		if _, err := tx.CreateBucket([]byte("stray_root")); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put([]byte("stray_key"), []byte{1})
	}); err != nil {
		t.Fatal(err)
	}
	// CheckIntegrity reports the root's strays too.
	if err := db.CheckIntegrity(ctx); err == nil || !strings.Contains(err.Error(), "bucket stray_root is not declared") ||
		!strings.Contains(err.Error(), "key meta/stray_key is not declared") {
		t.Errorf("CheckIntegrity = %v, want the stray root bucket and meta key reported", err)
	}
	if err := db.update(func(tx *kv.Tx) error {
		tenant := tx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant))
		_, err := tenant.Bucket(bucketUsers).CreateBucket([]byte("stray_nested"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"key meta/stray_key", "bucket stray_root", "bucket tenants/default/stray_tenant", "bucket tenants/default/users/stray_nested"}
	got := undeclared(t, db)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("undeclared buckets\n%v, want\n%v", got, want)
	}
	// Leave the file as the test's cleanup checks it.
	if err := db.update(func(tx *kv.Tx) error {
		if err := tx.DeleteBucket([]byte("stray_root")); err != nil {
			return err
		}
		if err := tx.Bucket(bucketMeta).Delete([]byte("stray_key")); err != nil {
			return err
		}
		tenant := tx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant))
		if err := tenant.DeleteBucket([]byte("stray_tenant")); err != nil {
			return err
		}
		return tenant.Bucket(bucketUsers).DeleteBucket([]byte("stray_nested"))
	}); err != nil {
		t.Fatal(err)
	}
}

// openFixture opens a copy of testdata/upgrade/main-0959aa9.db, a file
// written by main before the format version, with a master key made for it.
func openFixture(t *testing.T) *DB {
	t.Helper()
	path := copyFixture(t)
	db, err := Open(context.Background(), path, Options{NoSync: true, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func copyFixture(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "upgrade", "main-0959aa9.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fileState returns the format version and the checksum of every bucket of
// the closed file at path.
func fileState(t *testing.T, path string) (version uint64, sum [32]byte) {
	t.Helper()
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := kv.View(b, func(tx *kv.Tx) error {
		v, ok, err := formatVersion(tx)
		if !ok && err == nil {
			t.Fatal("no meta bucket")
		}
		version, sum = v, kv.Checksum(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return version, sum
}

// TestMigrate_Fixture opens the file written by main before the format
// version: it is migrated to the current format in place and its data is
// intact; a second open changes nothing.
func TestMigrate_Fixture(t *testing.T) {
	path := copyFixture(t)
	if v, _ := fileState(t, path); v != 0 {
		t.Fatalf("fixture at format %d, want 0 (none)", v)
	}
	ctx := context.Background()
	opts := Options{NoSync: true, Now: func() time.Time { return testNow }}
	db, err := Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Error(err)
	}
	if _, total, err := db.FindSystemAdmins(ctx, pagination.Params{Page: 1, PageSize: 20}); err != nil || total == 0 {
		t.Errorf("instance administrators after the upgrade: %d, %v", total, err)
	}
	db.Close()
	wantCurrentAndStable(t, path, opts)
}

// TestMigrate_NewFileAndVersionZero: a new file starts at the current
// format; a file at format 0 (no version key, as main wrote) runs every step
// and ends current.
func TestMigrate_NewFileAndVersionZero(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.db")
	opts := Options{NoSync: true, Now: func() time.Time { return testNow }}
	db, err := Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Bootstrap(ctx, NewTenant{ID: DefaultTenant, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	if err := db.update(func(tx *kv.Tx) error { return tx.Bucket(bucketMeta).Delete(keyFormatVersion) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if v, _ := fileState(t, path); v != 0 {
		t.Fatalf("format %d, want 0 after deleting the key", v)
	}
	db, err = Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Error(err)
	}
	db.Close()
	if v, _ := fileState(t, path); v != currentFormat() {
		t.Errorf("format %d, want %d", v, currentFormat())
	}
}

// TestMigrate_NewerFormatRefused: a file written by a newer idbolt is
// refused with an error naming both formats, and not modified.
func TestMigrate_NewerFormatRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "future.db")
	opts := Options{NoSync: true}
	db, err := Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	future := currentFormat() + 1
	if err := db.update(func(tx *kv.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormatVersion, itob(future)) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Open must stop before it reads or makes a master key: without the
	// key file, it would otherwise make one for the refused file.
	keyFile := DefaultMasterKeyFile(path)
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, path, opts)
	if err == nil {
		db.Close()
		t.Fatal("Open accepted a file of a newer format")
	}
	want := fmt.Sprintf("written by a newer idbolt: format %d, this binary knows up to %d", future, currentFormat())
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to say %q", err, want)
	}
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
		t.Errorf("the refused file changed (%v)", err)
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open made a master key for a file it refused (%v)", err)
	}
}

// TestMigrate_FileOfTodaysMain opens testdata/upgrade/main-386cfb4.db, a
// file main wrote just before the format version (sealed keys, binary user
// records, system_admins; see the README there), with its master key: it is
// migrated to the current format in place, its data and relations are all
// there, and a second open changes nothing.
func TestMigrate_FileOfTodaysMain(t *testing.T) {
	path, keyPath := copyTodaysMainFixture(t)
	if v, _ := fileState(t, path); v != 0 {
		t.Fatalf("fixture at format %d, want 0 (none)", v)
	}
	ctx := context.Background()
	opts := Options{NoSync: true, MasterKeyFile: keyPath}
	db, err := Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Error(err)
	}
	const alice = "6baiztznn37h"
	u, err := db.FindUserByID(ctx, DefaultTenant, alice)
	if err != nil || u.Username == nil || *u.Username != "alice" {
		t.Fatalf("alice: %+v, %v", u, err)
	}
	if roles, n, err := db.FindUserRoles(ctx, DefaultTenant, alice, search.Query{}, pagination.Params{Page: 1, PageSize: 20}); err != nil || n != 1 || roles[0].Name != "reader" {
		t.Errorf("alice's roles %v (%d), %v", roles, n, err)
	}
	if orgs, err := db.FindUserOrganizations(ctx, DefaultTenant, alice); err != nil || len(orgs) != 1 || len(orgs[0].Roles) != 1 {
		t.Errorf("alice's organizations %v, %v", orgs, err)
	}
	if inv, err := db.FindInvitations(ctx, DefaultTenant, InvitationFilter{Invitee: "bob@example.com"}); err != nil || len(inv) != 1 {
		t.Errorf("bob's invitations %v, %v", inv, err)
	}
	if _, err := db.FindUserByID(ctx, "acme", alice); ErrorCode(err) != ENOTFOUND {
		t.Errorf("alice in tenant acme: %v, want not found", err)
	}
	db.Close()
	wantCurrentAndStable(t, path, opts)
}

// copyTodaysMainFixture copies testdata/upgrade/main-386cfb4.db and its
// master key to a temp directory and returns their paths.
func copyTodaysMainFixture(t *testing.T) (path, keyPath string) {
	t.Helper()
	return copyUpgradeFixture(t, "main-386cfb4")
}

// copyUpgradeFixture copies testdata/upgrade/name.db and its master key
// name.key to a temp directory and returns their paths.
func copyUpgradeFixture(t *testing.T, name string) (path, keyPath string) {
	t.Helper()
	dir := t.TempDir()
	path, keyPath = filepath.Join(dir, "main.db"), filepath.Join(dir, "main.key")
	for src, dst := range map[string]string{name + ".db": path, name + ".key": keyPath} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "upgrade", src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return path, keyPath
}

// wantCurrentAndStable checks that the closed file at path is at the
// current format and that opening it again changes nothing.
func wantCurrentAndStable(t *testing.T, path string, opts Options) {
	t.Helper()
	version, sum := fileState(t, path)
	if version != currentFormat() {
		t.Errorf("format %d after Open, want %d", version, currentFormat())
	}
	db, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if v2, sum2 := fileState(t, path); v2 != version || sum2 != sum {
		t.Errorf("a second open changed the file (format %d -> %d)", version, v2)
	}
}

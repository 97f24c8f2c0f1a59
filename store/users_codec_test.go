package store

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/idbolt/idbolt/store/kv"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/search"
)

// TestUserRecord_RoundTrip encodes records with every field set, none set,
// and empty but present strings, and requires the decoded record, and the
// legacy JSON form of it, to be what was stored.
func TestUserRecord_RoundTrip(t *testing.T) {
	signIn := int64(1_700_000_000_123)
	full := userRecord{ID: "abc123def456", Seq: 42, Username: ptr("alice"), PrimaryEmail: ptr("Alice@Example.com"),
		PrimaryPhone: ptr("123456"), Name: ptr("Alice Ä"), Avatar: ptr("https://example.com/a.png"),
		CustomData:    map[string]any{"plan": "pro", "n": 3.5, "nested": map[string]any{"a": []any{true, nil}}},
		Identities:    map[string]any{"github": map[string]any{"userId": "7"}},
		Profile:       Profile{GivenName: "Alice", Address: &Address{Country: "FR"}},
		ApplicationID: ptr("app1"), IsSuspended: true, PasswordHash: "$argon2id$v=19$x", LastSignInAt: &signIn,
		ServiceAccount: "svc", CreatedAt: 1_700_000_000_000, UpdatedAt: 1_700_000_100_000}
	for name, r := range map[string]userRecord{
		"full":          full,
		"minimal":       {ID: "x", Seq: 1},
		"empty strings": {ID: "y", Seq: 1 << 40, Name: ptr(""), Avatar: ptr(""), CreatedAt: 5, UpdatedAt: 5},
		"negative time": {ID: "z", Seq: 7, CreatedAt: -1, UpdatedAt: -1000, LastSignInAt: ptr(int64(0))},
	} {
		t.Run(name, func(t *testing.T) {
			data, err := encodeUserRecord(&r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeUserRecord(itob(r.Seq), data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.toUser(), r.toUser()) || got.Seq != r.Seq || got.PasswordHash != r.PasswordHash || got.ServiceAccount != r.ServiceAccount {
				t.Errorf("binary round trip:\n got %+v\nwant %+v", got, r)
			}
			legacy, err := json.Marshal(&r)
			if err != nil {
				t.Fatal(err)
			}
			old, err := decodeUserRecord(itob(r.Seq), legacy)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(old.toUser(), got.toUser()) {
				t.Errorf("legacy JSON decodes to %+v, binary to %+v", old, got)
			}
			// Every truncation is an error, never a panic or a silent loss;
			// a cut between fields can still parse, but then misses a field.
			for n := range len(data) {
				if cut, err := decodeUserRecord(itob(r.Seq), data[:n]); err == nil && reflect.DeepEqual(cut, got) {
					t.Errorf("record cut to %d of %d bytes decodes as the whole", n, len(data))
				}
			}
		})
	}
	for _, bad := range [][]byte{nil, {0}, {2, userTagID, 1, 'a'}, {userRecordV1, userTagUsername, 1, 'a', userTagID, 1, 'b'}, {userRecordV1, 99}} {
		if _, err := decodeUserRecord(itob(1), bad); err == nil {
			t.Errorf("record %x decodes", bad)
		}
	}
}

// TestUserRecord_UpgradesFileOfMain opens a file written by main before the
// binary record (its users are JSON): Open rewrites alice in the binary form
// and records the form in meta; she reads with every field, signs in, is
// found by an indexed search, and updates.
func TestUserRecord_UpgradesFileOfMain(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "upgrade", "main-0959aa9.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	const id = "fs9f8p5fiew0"
	record := func(b *bbolt.DB) []byte {
		var v []byte
		if err := kv.View(b, func(tx *kv.Tx) error {
			t := tx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant))
			v = bytes.Clone(t.Bucket(bucketUsers).Get(t.Bucket(bucketUserIDs).Get([]byte(id))))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return v
	}
	raw, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	old := record(raw)
	raw.Close()
	if len(old) == 0 || old[0] != '{' {
		t.Fatalf("fixture's user record is %q, want a JSON object", old)
	}
	var legacy userRecord
	if err := json.Unmarshal(old, &legacy); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	db, err := Open(ctx, path, Options{NoSync: true, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v := record(db.bolt); len(v) == 0 || v[0] != userRecordV1 {
		t.Fatalf("after Open the record is %q, want the binary form", v)
	}
	if err := kv.View(db.bolt, func(tx *kv.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyFormatVersion); !bytes.Equal(v, itob(currentFormat())) {
			t.Errorf("meta %s = %x, want format %d", keyFormatVersion, v, currentFormat())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	before, err := db.FindUserByID(ctx, DefaultTenant, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := legacy.toUser(); !reflect.DeepEqual(before, want) {
		t.Fatalf("alice reads as %+v, the JSON record as %+v", before, want)
	}
	if *before.Username != "alice" || !before.HasPassword || before.CreatedAt == 0 {
		t.Fatalf("alice reads as %+v", before)
	}
	if err := db.VerifyUserPassword(ctx, DefaultTenant, id, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	q, err := search.Parse(url.Values{"search.username": {"ALICE"}, "mode.username": {"exact"}}, UserSearchOptions())
	if err != nil {
		t.Fatal(err)
	}
	found, total, err := db.FindUsers(ctx, DefaultTenant, UserFilter{Search: q}, pagination.Params{Page: 1, PageSize: 20})
	if err != nil || total != 1 || found[0].ID != id {
		t.Fatalf("search ALICE: %v of %d, %v", found, total, err)
	}

	after, err := db.UpdateUser(ctx, DefaultTenant, id, UserUpdate{Name: Field[string]{Set: true, Value: ptr("Alice")}})
	if err != nil {
		t.Fatal(err)
	}
	reread, err := db.FindUserByID(ctx, DefaultTenant, id)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(reread, after) {
		t.Errorf("reread %+v, update answered %+v", reread, after)
	}
	want := *before
	want.Name, want.UpdatedAt = ptr("Alice"), after.UpdatedAt
	if !reflect.DeepEqual(reread, &want) {
		t.Errorf("after update %+v, want %+v", reread, &want)
	}
	if err := db.VerifyUserPassword(ctx, DefaultTenant, id, "correct horse battery"); err != nil {
		t.Fatalf("password after the rewrite: %v", err)
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
}

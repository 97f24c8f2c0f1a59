package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/kv"
)

// TestMigrate_NormalizePhones writes phones as a file from before
// normalisation held them, marks the file format 5 and opens it: a phone
// with a free normal form is rewritten (record and index), one whose
// normal form another user holds and one that is not a valid number stay
// as they were, and nothing else about the users changes.
func TestMigrate_NormalizePhones(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "phones.db")
	opts := Options{NoSync: true, Now: func() time.Time { return testNow }}
	db, err := Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateTenant(ctx, NewTenant{ID: DefaultTenant, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	// Stored as given by an older binary, which took digits only.
	old := map[string]string{
		"trunk":   "610412345678", // -> 61412345678
		"taken":   "610412345679", // its normal form is held by holder
		"holder":  "61412345679",
		"invalid": "99999",
		"normal":  "16502530000",
	}
	ids := map[string]string{}
	for name, phone := range old {
		u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr(name), PrimaryPhone: ptr("+61 400 000 000")})
		if err == nil {
			_, err = db.UpdateUser(ctx, DefaultTenant, u.ID, UserUpdate{PrimaryPhone: Field[string]{Set: true}})
		}
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = u.ID
		// Put the old spelling in place as format 5 stored it.
		err = db.update(func(tx *kv.Tx) error {
			tb := tx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant))
			users := tb.Bucket(bucketUsers)
			var r userRecord
			if err := users.ForEach(func(k, v []byte) error {
				rec, err := decodeUserRecord(k, v)
				if err == nil && rec.ID == u.ID {
					r, r.Seq = rec, btoi(k)
				}
				return err
			}); err != nil {
				return err
			}
			r.PrimaryPhone = ptr(phone)
			if err := putUserRecord(users, &r); err != nil {
				return err
			}
			return tb.Bucket(bucketUsersByPhone).Put([]byte(phone), []byte(u.ID))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	before, _, err := db.FindUsers(ctx, DefaultTenant, UserFilter{}, pagination.Params{Page: 1, PageSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.update(func(tx *kv.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormatVersion, itob(5)) }); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"trunk": "61412345678", "taken": "610412345679", "holder": "61412345679", "invalid": "99999", "normal": "16502530000"}
	for name, phone := range want {
		u, err := db.FindUserByID(ctx, DefaultTenant, ids[name])
		if err != nil {
			t.Fatal(err)
		}
		if u.PrimaryPhone == nil || *u.PrimaryPhone != phone {
			t.Errorf("%s: phone %v, want %s", name, u.PrimaryPhone, phone)
		}
		for _, b := range before {
			if b.ID == u.ID && b.UpdatedAt != u.UpdatedAt {
				t.Errorf("%s: updatedAt changed", name)
			}
		}
	}
	// Uniqueness now holds across spellings, and the index has the new key.
	if _, err := db.CreateUser(ctx, DefaultTenant, UserCreate{PrimaryPhone: ptr("+61 412 345 678")}); ErrorCode(err) != ECONFLICT {
		t.Errorf("same number after the migration: %v, want ECONFLICT", err)
	}
	db.Close()
	if v, _ := fileState(t, path); v != currentFormat() {
		t.Errorf("format %d, want %d", v, currentFormat())
	}
}

package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store/kv"
)

// TestOpen_AddsMissingTenantBuckets opens a file whose tenant lacks the
// buckets a newer version added, as a file written before organizations
// existed does: deleting a user, which now also ends its memberships, must
// work and the file must stay consistent.
func TestOpen_AddsMissingTenantBuckets(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	opts := Options{NoSync: true, Now: func() time.Time { return testNow }}
	db, err := Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateTenant(ctx, NewTenant{ID: DefaultTenant, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("old")})
	if err != nil {
		t.Fatal(err)
	}
	dropped := [][]byte{bucketUserOrgs, bucketOrgUsers, bucketOrgUsersRank, bucketInvitations}
	if err := db.update(func(tx *kv.Tx) error {
		t := tx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant))
		for _, b := range dropped {
			if err := t.DeleteBucket(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.DeleteUser(ctx, DefaultTenant, u.ID); err != nil {
		t.Fatalf("delete a user of an upgraded file: %v", err)
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
}

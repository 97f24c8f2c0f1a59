package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/kv"
	"github.com/idbolt/idbolt/store/kv/kvtest"
)

var testNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// mustOpen opens a temp data file with tenants "default" and "other", and
// checks the file's consistency when the test ends.
func mustOpen(t testing.TB) *DB {
	t.Helper()
	return mustOpenClock(t, func() time.Time { return testNow })
}

// mustOpenClock is mustOpen with the store's clock set to now, for tests
// that move time (an update must stamp a later updatedAt than the create).
func mustOpenClock(t testing.TB, now func() time.Time) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "idbolt.db")
	// A test records every committed write-set, Open's own included, and
	// checks at its end that they replay onto an empty file to give the
	// file as it is (the key-value layer sees every write). Benchmarks do
	// not: it would weigh on what they measure.
	var rec *kvtest.Recorder
	opts := Options{NoSync: true, Now: now}
	if _, bench := t.(*testing.B); !bench {
		rec = new(kvtest.Recorder)
		opts.OnCommit = rec.Record
		if err := rec.Start(path, t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	db, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		err := db.bolt.View(func(tx *bbolt.Tx) error {
			for err := range tx.Check() {
				return err
			}
			return nil
		})
		if err != nil {
			t.Errorf("consistency check: %v", err)
		}
		if err := db.CheckIntegrity(context.Background()); err != nil {
			t.Errorf("integrity check: %v", err)
		}
		db.Close()
		if rec != nil {
			if err := rec.Verify(path); err != nil {
				t.Error(err)
			}
		}
	})
	for _, id := range []string{DefaultTenant, "other"} {
		if _, _, err := db.CreateTenant(context.Background(), NewTenant{ID: id, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func ptr[T any](v T) *T { return &v }

func TestOpen_InUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	db, err := Open(context.Background(), path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	_, err = Open(context.Background(), path, Options{NoSync: true, OpenTimeout: 200 * time.Millisecond})
	if err == nil || !errorsIs(err, ErrInUse) {
		t.Fatalf("second open: %v, want ErrInUse", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("second open hung for %v", time.Since(start))
	}
}

func TestRank_MatchesNaiveWalk(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var live []string // ids, oldest first
	// Enough entries to span several level-1 blocks, with deletes leaving gaps.
	for round := 0; round < 3; round++ {
		for range 1500 {
			u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{})
			if err != nil {
				t.Fatal(err)
			}
			live = append(live, u.ID)
		}
		for range 600 {
			i := rng.IntN(len(live))
			if err := db.DeleteUser(ctx, DefaultTenant, live[i]); err != nil {
				t.Fatal(err)
			}
			live = append(live[:i], live[i+1:]...)
		}
	}
	for _, size := range []int{1, 7, 20, 100} {
		last := pagination.LastPage(len(live), size)
		for _, page := range []int{1, 2, last / 2, last - 1, last, last + 1} {
			if page < 1 {
				continue
			}
			p := pagination.Params{Page: page, PageSize: size}
			got, total, err := db.FindUsers(ctx, DefaultTenant, UserFilter{}, p)
			if err != nil {
				t.Fatalf("size %d page %d: %v", size, page, err)
			}
			if total != len(live) {
				t.Fatalf("total %d, want %d", total, len(live))
			}
			for i, u := range got {
				want := live[len(live)-1-(p.Offset()+i)]
				if u.ID != want {
					t.Fatalf("size %d page %d item %d: %s, want %s", size, page, i, u.ID, want)
				}
			}
			wantLen := min(size, max(0, len(live)-p.Offset()))
			if len(got) != wantLen {
				t.Fatalf("size %d page %d: %d items, want %d", size, page, len(got), wantLen)
			}
		}
	}
}

func TestUsers_Contract(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		db := mustOpen(t)
		u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("ann"), PrimaryEmail: ptr("Ann@X.io")})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := u.CreatedAt, testNow.UnixMilli(); got != want {
			t.Errorf("createdAt %d, want %d", got, want)
		}
		got, err := db.FindUserByID(ctx, DefaultTenant, u.ID)
		if err != nil || *got.Username != "ann" {
			t.Fatalf("find: %v %+v", err, got)
		}
		upd, err := db.UpdateUser(ctx, DefaultTenant, u.ID, UserUpdate{Username: Field[string]{Set: true, Value: ptr("anne")}})
		if err != nil || *upd.Username != "anne" {
			t.Fatalf("update: %v", err)
		}
		// The old username is released, the new one is taken.
		if _, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("ann")}); err != nil {
			t.Errorf("old username not released: %v", err)
		}
		if _, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("anne")}); ErrorCode(err) != ECONFLICT {
			t.Errorf("new username not taken: %v", err)
		}
		if err := db.DeleteUser(ctx, DefaultTenant, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateUser(ctx, DefaultTenant, UserCreate{PrimaryEmail: ptr("ann@x.io")}); err != nil {
			t.Errorf("email of deleted user not released: %v", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		db := mustOpen(t)
		if _, err := db.FindUserByID(ctx, DefaultTenant, "nope"); ErrorCode(err) != ENOTFOUND {
			t.Errorf("find: %v", err)
		}
		if err := db.DeleteUser(ctx, DefaultTenant, "nope"); ErrorCode(err) != ENOTFOUND {
			t.Errorf("delete: %v", err)
		}
		if _, err := db.FindUserByID(ctx, "no-such-tenant", "x"); ErrorCode(err) != ENOTFOUND {
			t.Errorf("unknown tenant: %v", err)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		db := mustOpen(t)
		if _, err := db.CreateUser(ctx, DefaultTenant, UserCreate{PrimaryPhone: ptr("61412345678")}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateUser(ctx, DefaultTenant, UserCreate{PrimaryPhone: ptr("61412345678")}); ErrorCode(err) != ECONFLICT {
			t.Errorf("phone clash: %v", err)
		}
	})
	t.Run("TenantIsolation", func(t *testing.T) {
		db := mustOpen(t)
		u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("iso")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.FindUserByID(ctx, "other", u.ID); ErrorCode(err) != ENOTFOUND {
			t.Errorf("user of default visible in other: %v", err)
		}
		if _, err := db.CreateUser(ctx, "other", UserCreate{Username: ptr("iso")}); err != nil {
			t.Errorf("username of default taken in other: %v", err)
		}
		_, total, err := db.FindUsers(ctx, "other", UserFilter{}, pagination.Params{Page: 1, PageSize: 20})
		if err != nil || total != 1 {
			t.Errorf("other has %d users (%v), want 1", total, err)
		}
	})
	t.Run("DeleteTenantRemovesEverything", func(t *testing.T) {
		db := mustOpen(t)
		if _, err := db.CreateUser(ctx, "other", UserCreate{Username: ptr("gone")}); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteTenant(ctx, "other"); err != nil {
			t.Fatal(err)
		}
		kv.View(db.bolt, func(tx *kv.Tx) error {
			if tx.Bucket(bucketTenants).Bucket([]byte("other")) != nil {
				t.Error("tenant bucket survived")
			}
			return nil
		})
		if _, _, err := db.CreateTenant(ctx, NewTenant{ID: "other", SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
			t.Fatal(err)
		}
		_, total, _ := db.FindUsers(ctx, "other", UserFilter{}, pagination.Params{Page: 1, PageSize: 20})
		if total != 0 {
			t.Errorf("recreated tenant has %d users", total)
		}
		if err := db.DeleteTenant(ctx, DefaultTenant); ErrorCode(err) != EUNPROCESSABLE {
			t.Errorf("delete default: %v", err)
		}
	})
	t.Run("PageBoundaries", func(t *testing.T) {
		db := mustOpen(t)
		for i := range 25 {
			if _, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Name: ptr(fmt.Sprint(i))}); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct{ page, wantLen int }{{1, 10}, {2, 10}, {3, 5}, {4, 0}} {
			got, total, err := db.FindUsers(ctx, DefaultTenant, UserFilter{}, pagination.Params{Page: tc.page, PageSize: 10})
			if err != nil || total != 25 || len(got) != tc.wantLen {
				t.Errorf("page %d: %d items, total %d, err %v", tc.page, len(got), total, err)
			}
			if len(got) > 0 && *got[0].Name != fmt.Sprint(24-(tc.page-1)*10) {
				t.Errorf("page %d starts at %s", tc.page, *got[0].Name)
			}
		}
	})
}

func TestPassword_HashVerify(t *testing.T) {
	h := testHashTicket(t)
	enc, err := h.hash(context.Background(), "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"correct horse", true}, {"correct horse ", false}, {"", false}} {
		ok, err := h.verify(context.Background(), enc, tc.pw)
		if err != nil || ok != tc.want {
			t.Errorf("verify(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	if _, err := h.verify(context.Background(), "$bcrypt$x", "x"); err == nil {
		t.Error("accepted a foreign hash format")
	}
}

func TestClientGrant_SecretChecks(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	creds, err := func() (*TenantCredentials, error) {
		_, c, err := db.CreateTenant(ctx, NewTenant{ID: "grant", SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}})
		return c, err
	}()
	if err != nil {
		t.Fatal(err)
	}
	req := ClientGrantRequest{ClientID: creds.ClientID, Secret: creds.ClientSecret, Resource: ManagementIndicator("grant"), Scopes: []string{"all", "nope", "all"}}
	g, err := db.GrantClientCredentials(ctx, "grant", req)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Scopes) != 1 || g.Scopes[0] != "all" {
		t.Errorf("scopes %v, want [all]", g.Scopes)
	}
	bad := req
	bad.Secret += "x"
	if _, err := db.GrantClientCredentials(ctx, "grant", bad); ErrorCode(err) != EUNAUTHORIZED {
		t.Errorf("wrong secret: %v", err)
	}
	// The secret is only stored hashed.
	kv.View(db.bolt, func(tx *kv.Tx) error {
		raw := tx.Bucket(bucketTenants).Bucket([]byte("grant")).Bucket(bucketApps).Get([]byte(creds.ClientID))
		if contains(raw, []byte(creds.ClientSecret)) {
			t.Error("secret stored in clear")
		}
		return nil
	})
	// Another tenant's credentials do not work here.
	if _, err := db.GrantClientCredentials(ctx, "other", req); ErrorCode(err) != EUNAUTHORIZED {
		t.Errorf("credentials of tenant grant in tenant other: %v", err)
	}
}

func TestUpdate_InternalErrorIsolated(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	const n = 50
	errs := make(chan error, n)
	for i := range n {
		go func() {
			if i == 7 {
				errs <- db.Update(ctx, DefaultTenant, func(tx *Tx) error { return fmt.Errorf("boom") })
				return
			}
			_, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Name: ptr(fmt.Sprint(i))})
			errs <- err
		}()
	}
	failed := 0
	for range n {
		if err := <-errs; err != nil {
			failed++
			if ErrorCode(err) != EINTERNAL {
				t.Errorf("unexpected error %v", err)
			}
		}
	}
	if failed != 1 {
		t.Fatalf("%d writes failed, want only the broken one", failed)
	}
	_, total, _ := db.FindUsers(ctx, DefaultTenant, UserFilter{}, pagination.Params{Page: 1, PageSize: 1})
	if total != n-1 {
		t.Fatalf("%d users stored, want %d", total, n-1)
	}
}

func TestUpdate_AfterClose(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := db.Update(context.Background(), DefaultTenant, func(*Tx) error { return nil }); err == nil {
		t.Fatal("write after Close succeeded")
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

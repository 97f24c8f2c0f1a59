package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAPIClientState_UpgradeAndNanos opens a file written by main before
// client states had nanoseconds: its second-precision state keeps its
// meaning, and a disable and enable on the upgraded file cut off tokens to
// the nanosecond, within one second.
func TestAPIClientState_UpgradeAndNanos(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "upgrade", "main-0959aa9.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 24, 12, 0, 0, 200e6, time.UTC)
	ctx := context.Background()
	db, err := Open(ctx, path, Options{NoSync: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	active := func(at time.Time) bool {
		t.Helper()
		ok, err := db.ClientActive(ctx, DefaultTenant, "svc-one", at)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}

	c, err := db.FindAPIClient(ctx, DefaultTenant, "svc-one")
	if err != nil {
		t.Fatal(err)
	}
	created := time.Unix(c.CreatedAt/1000, 0) // the old state: tokens count from this second
	if !active(created) || active(created.Add(-time.Nanosecond)) {
		t.Fatalf("old state: active at %v %v, before %v", created, active(created), active(created.Add(-time.Nanosecond)))
	}

	if _, err := db.SetAPIClientDisabled(ctx, DefaultTenant, "svc-one", true); err != nil {
		t.Fatal(err)
	}
	disabledAt := now
	if active(now.Add(time.Hour)) {
		t.Fatal("disabled client active")
	}
	now = now.Add(300 * time.Millisecond)
	if _, err := db.SetAPIClientDisabled(ctx, DefaultTenant, "svc-one", false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{disabledAt.Add(-time.Millisecond), false}, // before the disable, same second
		{disabledAt, false},                        // at the disable
		{now.Add(-time.Nanosecond), false},         // while disabled
		{now, true},                                // at the enable
		{now.Add(time.Millisecond), true},          // after the enable, same second
	} {
		if got := active(tc.at); got != tc.want {
			t.Errorf("token issued at %v: active %v, want %v", tc.at.Format(time.StampNano), got, tc.want)
		}
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
}

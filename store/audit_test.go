package store

import (
	"context"
	"testing"
	"time"

	"github.com/idbolt/idbolt/pagination"
)

func TestMaskPayload(t *testing.T) {
	in := map[string]any{
		"key": "ExchangeTokenBy.ClientCredentials", "result": "Success", "tokenTypes": []any{"AccessToken"},
		"params": map[string]any{"client_secret": "s3cret", "grant_type": "client_credentials", "scope": "all",
			"nested": map[string]any{"Password": "x", "apiKey": "y", "accessToken": "z", "ok": "v"},
			"list":   []any{map[string]any{"authorization": "Bearer q"}}},
		"refresh_token": "r",
	}
	out := maskPayload(in)
	params := out["params"].(map[string]any)
	nested := params["nested"].(map[string]any)
	checks := []struct {
		name      string
		got, want any
	}{
		{"key kept", out["key"], "ExchangeTokenBy.ClientCredentials"},
		{"client_secret", params["client_secret"], "******"},
		{"grant_type kept", params["grant_type"], "client_credentials"},
		{"Password", nested["Password"], "******"},
		{"apiKey", nested["apiKey"], "******"},
		{"accessToken", nested["accessToken"], "******"},
		{"ok kept", nested["ok"], "v"},
		{"in list", params["list"].([]any)[0].(map[string]any)["authorization"], "******"},
		{"top-level token", out["refresh_token"], "******"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
	if in["params"].(map[string]any)["client_secret"] != "s3cret" {
		t.Error("maskPayload changed its input")
	}
}

func TestAudit_PruneAndFlushOnClose(t *testing.T) {
	ctx := context.Background()
	now := testNow
	db, err := Open(ctx, t.TempDir()+"/a.db", Options{NoSync: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateTenant(ctx, NewTenant{ID: DefaultTenant, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	for i := range 1200 {
		if i == 1000 {
			now = now.Add(48 * time.Hour)
		}
		db.AuditAsync(DefaultTenant, "ExchangeTokenBy.ClientCredentials", map[string]any{"result": "Success"})
	}
	path := db.Path()
	// Close flushes what is queued.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, path, Options{NoSync: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, total, err := db.FindAuditEntries(ctx, DefaultTenant, AuditFilter{}, pagination.Params{Page: 1, PageSize: 1})
	if err != nil || total != 1200 {
		t.Fatalf("after close and reopen: %d entries (%v), want 1200", total, err)
	}
	n, err := db.PruneAudit(ctx, now.Add(-24*time.Hour))
	if err != nil || n != 1000 {
		t.Fatalf("pruned %d (%v), want 1000", n, err)
	}
	page, total, err := db.FindAuditEntries(ctx, DefaultTenant, AuditFilter{}, pagination.Params{Page: 2, PageSize: 150})
	if err != nil || total != 200 || len(page) != 50 {
		t.Fatalf("after prune: total %d, page 2 has %d (%v)", total, len(page), err)
	}
	if _, err := db.FindAuditEntryByID(ctx, DefaultTenant, page[0].ID); err != nil {
		t.Errorf("kept entry not found by id: %v", err)
	}
}

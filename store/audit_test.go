package store

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/pagination"
)

func TestSensitiveName(t *testing.T) {
	for name, want := range map[string]bool{"client_secret": true, "client_assertion": true, "refresh_token": true,
		"Password": true, "apiKey": true, "Authorization": true, "grant_type": false, "scope": false, "resource": false, "client_id": false} {
		if got := sensitiveName(name); got != want {
			t.Errorf("sensitiveName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestAuditRecord_Codec(t *testing.T) {
	r := auditRecord{ID: auditID(42, "abcdefgh"), Key: "Management.User.Create", Payload: json.RawMessage(`{"key":"x"}`), CreatedAt: 1795280000000}
	got, err := decodeAuditRecord(r.encode())
	if err != nil || got.ID != r.ID || got.Key != r.Key || string(got.Payload) != string(r.Payload) || got.CreatedAt != r.CreatedAt {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	enc := r.encode()
	for _, bad := range [][]byte{nil, enc[:5], enc[:12], enc[:len(enc)-3], append(enc[:len(enc):len(enc)], '}')} {
		if _, err := decodeAuditRecord(bad); err == nil {
			t.Errorf("decoded a malformed record %q", bad)
		}
	}
}

func FuzzDecodeAuditRecord(f *testing.F) {
	r := auditRecord{ID: auditID(7, "abcdefgh"), Key: "k", Payload: json.RawMessage(`{}`), CreatedAt: 1}
	f.Add(r.encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, v []byte) {
		got, err := decodeAuditRecord(v)
		if err == nil {
			again, err := decodeAuditRecord(got.encode())
			if err != nil || again.ID != got.ID || again.Key != got.Key || string(again.Payload) != string(got.Payload) {
				t.Fatalf("re-encode changed the record: %+v vs %+v (%v)", got, again, err)
			}
		}
	})
}

func TestAuditID_RoundTrip(t *testing.T) {
	for _, seq := range []uint64{1, 35, 36, 1 << 40, ^uint64(0)} {
		id := auditID(seq, randomSuffix())
		got, ok := auditSeq(id)
		if len(id) != 21 || !ok || got != seq || strings.Trim(id, idAlphabet) != "" {
			t.Errorf("seq %d: id %q decodes to %d, %v", seq, id, got, ok)
		}
	}
	// The last one's 13 digits overflow uint64.
	for _, bad := range []string{"", "short", "0000000000001-abcdefg", "0000000000001ABCDEFGH", "zzzzzzzzzzzzzzzzzzzzz"} {
		if _, ok := auditSeq(bad); ok {
			t.Errorf("auditSeq(%q) accepted", bad)
		}
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
		db.AuditAsync(DefaultTenant, AuditPayload{Key: "ExchangeTokenBy.ClientCredentials", Result: "Success"})
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

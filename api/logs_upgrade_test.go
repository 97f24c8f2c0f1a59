package api_test

import (
	"encoding/binary"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/idbolt/idbolt/api/apitest"
)

// rawLogEntry is an audit entry as GET /api/logs returns it, its payload
// kept as the bytes sent.
type rawLogEntry struct {
	TenantID  string          `json:"tenantId"`
	ID        string          `json:"id"`
	Key       string          `json:"key"`
	Payload   json.RawMessage `json:"payload"`
	CreatedAt int64           `json:"createdAt"`
}

// legacyAuditEntries reads tenant's audit log straight from a data file
// written before issue 13, oldest first, by that version's layout:
// [8-byte createdAt][1-byte id length][id][2-byte key length][key][payload
// JSON]. What that version's GET /api/logs returned is exactly these fields.
func legacyAuditEntries(t *testing.T, path, tenant string) []rawLogEntry {
	t.Helper()
	db, err := bbolt.Open(path, 0o400, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []rawLogEntry
	err = db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("tenants")).Bucket([]byte(tenant)).Bucket([]byte("audit")).ForEach(func(_, v []byte) error {
			v = append([]byte(nil), v...) // v lives only as long as the transaction
			e := rawLogEntry{TenantID: tenant, CreatedAt: int64(binary.BigEndian.Uint64(v))}
			n := int(v[8])
			e.ID, v = string(v[9:9+n]), v[9+n:]
			n = int(binary.BigEndian.Uint16(v))
			e.Key, e.Payload = string(v[2:2+n]), json.RawMessage(v[2+n:])
			out = append(out, e)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLogs_UpgradedFileReadsTheSame starts on a copy of a file written by
// main before audit records were compact: every old entry reads through GET
// /api/logs and /api/logs/{id} as that version returned it, byte for byte,
// and entries written since (compact) list before them. bbolt is used only
// to read the old entries from the file as that version stored them.
func TestLogs_UpgradedFileReadsTheSame(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "testdata", "upgrade", "main-0959aa9.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.db")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	old := legacyAuditEntries(t, path, "default")
	if len(old) < 3 {
		t.Fatalf("the fixture holds %d audit entries of tenant default", len(old))
	}
	e := &env{Server: apitest.Start(t, apitest.Options{Path: path})}
	e.token = apitest.Token(t, e.URL, "default", fixtureAdminID, fixtureAdminSecret, mgmtResource, "all")
	e.do(t, "POST", "/api/roles", map[string]any{"name": "after-upgrade", "description": "d"}, http.StatusOK, nil)

	r := call(t, "GET", e.URL+"/api/logs?page_size=100", e.token, nil)
	var got []rawLogEntry
	r.JSON(t, &got)
	if total, _ := strconv.Atoi(r.Header.Get("Total-Number")); total != len(got) || len(got) < len(old)+2 {
		t.Fatalf("%d entries (Total-Number %s), want the %d old ones and at least the token request and role creation after them",
			len(got), r.Header.Get("Total-Number"), len(old))
	}
	// The token request's entry is queued, so it may follow the role's.
	keys := map[string]bool{}
	for _, g := range got[:len(got)-len(old)] {
		keys[g.Key] = true
	}
	if !keys["Management.Role.Create"] || !keys["ExchangeTokenBy.ClientCredentials"] {
		t.Errorf("new entries have keys %v", keys)
	}
	for i, want := range old {
		g := got[len(got)-1-i]
		if g.ID != want.ID || g.Key != want.Key || g.CreatedAt != want.CreatedAt || g.TenantID != want.TenantID ||
			string(g.Payload) != string(want.Payload) {
			t.Errorf("old entry %d reads\n%s %s %d %s\nwas\n%s %s %d %s", i, g.ID, g.Key, g.CreatedAt, g.Payload,
				want.ID, want.Key, want.CreatedAt, want.Payload)
		}
		var one rawLogEntry
		call(t, "GET", e.URL+"/api/logs/"+want.ID, e.token, nil).JSON(t, &one)
		if one.ID != want.ID || string(one.Payload) != string(want.Payload) {
			t.Errorf("GET /api/logs/%s: %s, was %s", want.ID, one.Payload, want.Payload)
		}
	}
	for _, q := range []string{"applicationId=" + fixtureAdminID, "logKey=ExchangeTokenBy.ClientCredentials"} {
		entries, _ := e.logs(t, q)
		if len(entries) == 0 {
			t.Errorf("%s matches nothing", q)
		}
	}
}

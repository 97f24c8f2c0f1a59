package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store/kv"

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

// encodeLegacyAudit writes r in the envelope main wrote before issue 13:
// [8-byte createdAt][1-byte id length][id][2-byte key length][key][payload].
// It is written out here, apart from the decoder, so that a test of the
// decoder does not check the code against itself.
func encodeLegacyAudit(r auditRecord) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(r.CreatedAt))
	b = append(b, byte(len(r.ID)))
	b = append(b, r.ID...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Key)))
	b = append(b, r.Key...)
	return append(b, r.Payload...)
}

func TestAuditRecord_LegacyCodec(t *testing.T) {
	r := auditRecord{ID: auditID(42, "abcdefgh"), Key: "Management.User.Create", Payload: json.RawMessage(`{"key":"x"}`), CreatedAt: 1795280000000}
	got, err := decodeAuditRecord(itob(42), encodeLegacyAudit(r))
	if err != nil || got.ID != r.ID || got.Key != r.Key || string(got.Payload) != string(r.Payload) || got.CreatedAt != r.CreatedAt {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	enc := encodeLegacyAudit(r)
	for _, bad := range [][]byte{nil, enc[:5], enc[:12], enc[:len(enc)-3], append(enc[:len(enc):len(enc)], '}')} {
		if _, err := decodeAuditRecord(itob(42), bad); err == nil {
			t.Errorf("decoded a malformed record %q", bad)
		}
	}
}

// auditPayloads are entries of every shape the log holds, and some it could.
var auditPayloads = []AuditPayload{
	{Key: "ExchangeTokenBy.ClientCredentials", Result: "Success", IP: "203.0.113.7", UserAgent: "Go-http-client/1.1",
		ApplicationID: "m1xq0ps5c8ns3ul6tfg2a", Params: map[string]string{"grant_type": "client_credentials",
			"client_id": "m1xq0ps5c8ns3ul6tfg2a", "client_secret": "******", "resource": "https://api.example.com", "scope": "read write"},
		TokenTypes: []string{"AccessToken"}},
	{Key: "ExchangeTokenBy.JwtBearer", Result: "Error", IP: "2001:db8::1", UserAgent: "curl/8 <x> & \"q\"",
		ApplicationID: "svc", Params: map[string]string{"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "******",
			"b": "\x00\x1f\u2028", "a": "\xff\xfe"},
		Error: map[string]string{"error": "invalid_grant", "error_description": "jti was already used"}},
	{Key: "ExchangeTokenBy.Suppressed", Result: "Error", IP: "::ffff:192.0.2.1",
		Params: map[string]string{"suppressed": "12", "since": "1795280000000"},
		Error:  map[string]string{"error": "too_many_failures", "error_description": "12 failed token requests"}},
	{Key: "Management.User.Delete", Result: "Success", UserID: "u1", IP: "fe80::1%eth0", ApplicationID: "admin"},
	{Key: "Management.Role.Update", Result: "Success", IP: "010.0.0.1", Target: &AuditTarget{Type: "role", ID: "i\\d"}},
	{Key: "Management.SigningKey.Rotate", Result: "Success", Target: &AuditTarget{}},
	{Key: "Not.In.The.Dictionary", Result: "Pending", IP: "not an address", Params: map[string]string{}, TokenTypes: []string{"A", "A", "B"}},
	{Key: "", Result: ""},
	{Key: "x", UserAgent: "x", ApplicationID: "x", UserID: "x"},
	// A write by a person through the console: the user changed, and the
	// user who changed it.
	{Key: "Management.User.Update", Result: "Success", IP: "192.0.2.9", UserID: "u2", ActorUserID: "ada01"},
	{Key: "Management.Organization.Update", Result: "Success", Target: &AuditTarget{Type: "organization", ID: "o1"}, ActorUserID: "ada01"},
	manyLiterals(),
}

// manyLiterals has more distinct strings than the encoder remembers for
// back references, and repeats of early and late ones.
func manyLiterals() AuditPayload {
	p := AuditPayload{Key: "k", Result: "Success", UserAgent: "ua", Params: map[string]string{}, Error: map[string]string{}}
	for i := range 24 {
		p.Params["p"+strconv.Itoa(i)] = "v" + strconv.Itoa(i)
		p.Error["e"+strconv.Itoa(i)] = "v" + strconv.Itoa(23-i)
	}
	p.TokenTypes = []string{"ua", "p3", "v20"}
	return p
}

// TestAuditRecord_Compact: every payload survives the compact record with
// the JSON the API returns unchanged, byte for byte.
func TestAuditRecord_Compact(t *testing.T) {
	for i, p := range auditPayloads {
		want := p.appendJSON(nil)
		for _, key := range []string{p.Key, "Other.Key"} {
			v, err := appendCompactAudit(nil, key, 1795280000000+int64(i), "0z9a8b7c", &p)
			if err != nil {
				t.Fatal(err)
			}
			e, err := readAuditRecord(itob(uint64(i+1)), v)
			if err != nil {
				t.Fatalf("%d: %v", i, err)
			}
			if string(e.Payload) != string(want) || e.Key != key || e.ID != auditID(uint64(i+1), "0z9a8b7c") || e.CreatedAt != 1795280000000+int64(i) {
				t.Errorf("%d: got %+v %s\nwant payload %s", i, e, e.Payload, want)
			}
			for cut := 1; cut < len(v); cut++ {
				if e, err := readAuditRecord(itob(1), v[:cut]); err == nil && string(e.Payload) == string(want) {
					t.Errorf("%d: a record cut to %d of %d bytes decodes to the whole entry", i, cut, len(v))
				}
			}
		}
	}
	for _, bad := range []string{"", "0z9a8b7", "0z9a8b7cd", "0Z9A8B7C", "+z9a8b7c", "zzzzzzzz0"} {
		if _, err := appendCompactAudit(nil, "k", 1, bad, &AuditPayload{}); err == nil {
			t.Errorf("suffix %q accepted", bad)
		}
	}
}

// TestAudit_LegacyAndCompactReadTheSame writes every payload twice, once in
// the envelope of files written before issue 13 and once as a compact
// record, and reads both back through FindAuditEntries, with and without
// filters, and FindAuditEntryByID: apart from the id, the two read the same.
// Pruning then removes the old entries first.
func TestAudit_LegacyAndCompactReadTheSame(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	createdAt := msec(testNow)
	_, base, err := db.FindAuditEntries(ctx, DefaultTenant, AuditFilter{}, pagination.Params{Page: 1, PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	err = db.update(func(btx *kv.Tx) error {
		log := btx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant)).Bucket(bucketAudit)
		for _, compact := range []bool{false, true} {
			for i := range auditPayloads {
				p := auditPayloads[i]
				seq, err := log.NextSequence()
				if err != nil {
					return err
				}
				suffix := randomSuffix()
				ids = append(ids, auditID(seq, suffix))
				v := encodeLegacyAudit(auditRecord{ID: auditID(seq, suffix), Key: p.Key, Payload: p.appendJSON(nil), CreatedAt: createdAt})
				if compact {
					if v, err = appendCompactAudit(nil, p.Key, createdAt+1, suffix, &p); err != nil {
						return err
					}
				}
				if err := log.Put(itob(seq), v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n := len(auditPayloads)
	// userId selects the entries about a user and those a user made; each
	// payload is stored twice (legacy and compact).
	for _, c := range []struct {
		user string
		want int
	}{{"u1", 2}, {"u2", 2}, {"ada01", 4}, {"nobody", 0}} {
		if _, total, err := db.FindAuditEntries(ctx, DefaultTenant, AuditFilter{UserID: c.user}, pagination.Params{Page: 1, PageSize: 1}); err != nil || total != c.want {
			t.Errorf("userId %s: %d entries (%v), want %d", c.user, total, err, c.want)
		}
	}
	for _, f := range []AuditFilter{{}, {ApplicationID: "x"}, {UserID: "u1"}, {Key: "ExchangeTokenBy.Suppressed"}, {ApplicationID: "svc", Key: "ExchangeTokenBy.JwtBearer"}} {
		got, total, err := db.FindAuditEntries(ctx, DefaultTenant, f, pagination.Params{Page: 1, PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		if f == (AuditFilter{}) {
			if total != base+2*n {
				t.Fatalf("%d entries, want %d", total, base+2*n)
			}
			total = 2 * n
		}
		if total%2 != 0 || len(got) < total {
			t.Fatalf("filter %+v: %d entries of %d", f, len(got), total)
		}
		// Newest first: the compact half, then the legacy half.
		for i := range total / 2 {
			c, l := got[i], got[i+total/2]
			if string(c.Payload) != string(l.Payload) || c.Key != l.Key || c.CreatedAt != l.CreatedAt+1 {
				t.Errorf("filter %+v: compact %s %s, legacy %s %s", f, c.Key, c.Payload, l.Key, l.Payload)
			}
		}
	}
	for i, id := range ids {
		e, err := db.FindAuditEntryByID(ctx, DefaultTenant, id)
		if err != nil || e.ID != id || string(e.Payload) != string(auditPayloads[i%n].appendJSON(nil)) {
			t.Errorf("entry %s: %+v, %v", id, e, err)
		}
	}
	pruned, err := db.PruneAudit(ctx, testNow.Add(time.Millisecond))
	if err != nil || pruned != base+n {
		t.Fatalf("pruned %d (%v), want the %d legacy entries and the %d before them", pruned, err, n, base)
	}
	if _, total, err := db.FindAuditEntries(ctx, DefaultTenant, AuditFilter{}, pagination.Params{Page: 1, PageSize: 1}); err != nil || total != n {
		t.Fatalf("after prune: %d entries (%v), want %d", total, err, n)
	}
}

// readAuditRecord decodes a stored record whole, as a log read does.
func readAuditRecord(k, v []byte) (*AuditEntry, error) {
	r, err := decodeAuditRecord(k, v)
	if err != nil {
		return nil, err
	}
	return r.toEntry()
}

// FuzzDecodeAuditRecord reads arbitrary records, as a restored backup from
// elsewhere could hold. A compact record that reads must give the same JSON
// whether written straight from its fields or through the payload struct,
// and must survive being encoded again.
func FuzzDecodeAuditRecord(f *testing.F) {
	for _, p := range auditPayloads {
		v, err := appendCompactAudit(nil, p.Key, 1795280000000, "abcdefgh", &p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint64(7), v)
	}
	f.Add(uint64(7), encodeLegacyAudit(auditRecord{ID: auditID(7, "abcdefgh"), Key: "k", Payload: json.RawMessage(`{}`), CreatedAt: 1}))
	f.Add(uint64(0), []byte{})
	f.Fuzz(func(t *testing.T, seq uint64, v []byte) {
		got, err := decodeAuditRecord(itob(seq), v)
		if err != nil {
			return
		}
		e, err := got.toEntry()
		var enc []byte
		if got.compact {
			p, perr := decodeCompactPayload(got.Key, got.fields)
			if (err == nil) != (perr == nil) {
				t.Fatalf("fields read straight: %v, through the payload: %v", err, perr)
			}
			if err != nil {
				return
			}
			if want := p.appendJSON(nil); len(e.ID) != 21 || string(e.Payload) != string(want) || !json.Valid(e.Payload) {
				t.Fatalf("entry %s %s, through the payload %s", e.ID, e.Payload, want)
			}
			if enc, err = appendCompactAudit(nil, got.Key, got.CreatedAt, e.ID[auditSeqDigits:], p); err != nil {
				t.Fatal(err)
			}
		} else {
			if err != nil {
				t.Fatalf("legacy record read, then failed: %v", err)
			}
			enc = encodeLegacyAudit(got)
		}
		again, err := readAuditRecord(itob(seq), enc)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if again.ID != e.ID || again.Key != e.Key || again.CreatedAt != e.CreatedAt || string(again.Payload) != string(e.Payload) {
			t.Fatalf("re-encode changed the entry: %+v vs %+v", e, again)
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

// TestCheckIntegrity_FindsAuditDamage damages a sound audit log behind the
// store's back and expects the checker to say what broke.
func TestCheckIntegrity_FindsAuditDamage(t *testing.T) {
	legacy := func(id string) []byte {
		return encodeLegacyAudit(auditRecord{ID: id, Key: "k", Payload: json.RawMessage(`{}`), CreatedAt: 1})
	}
	cases := []struct {
		name   string
		damage func(log *kv.Bucket) error
		want   string
	}{
		{"undecodable", func(log *kv.Bucket) error { return log.Put(itob(2), []byte{auditFormatCompact, 1}) }, "audit entry"},
		{"gap", func(log *kv.Bucket) error { return log.Delete(itob(2)) }, "audit entries 2 to 2 are missing"},
		{"wrong id", func(log *kv.Bucket) error { return log.Put(itob(2), legacy(auditID(5, "abcdefgh"))) }, "has id"},
		{"beyond sequence", func(log *kv.Bucket) error {
			return log.Put(itob(log.Sequence()+1), legacy(auditID(log.Sequence()+1, "abcdefgh")))
		},
			"beyond the log's sequence"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := mustOpen(t)
			for range 3 {
				db.AuditAsync(DefaultTenant, AuditPayload{Key: "ExchangeTokenBy.ClientCredentials", Result: "Success"})
			}
			if _, _, err := db.FindAuditEntries(ctx, DefaultTenant, AuditFilter{}, pagination.Params{Page: 1, PageSize: 1}); err != nil {
				t.Fatal(err)
			}
			if err := db.CheckIntegrity(ctx); err != nil {
				t.Fatalf("sound file reported: %v", err)
			}
			err := db.update(func(btx *kv.Tx) error {
				return tc.damage(btx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant)).Bucket(bucketAudit))
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.CheckIntegrity(ctx); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckIntegrity = %v, want a report containing %q", err, tc.want)
			}
			// A fresh tenant bucket repairs it for mustOpen's own check.
			db.update(func(btx *kv.Tx) error { return btx.Bucket(bucketTenants).DeleteBucket([]byte(DefaultTenant)) })
		})
	}
}

package store

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/idbolt/idbolt/store/internal/rankindex"
	"github.com/idbolt/idbolt/store/search"
)

func testPermutation(t *testing.T, key string) userIDPermutation {
	t.Helper()
	p, err := newUserIDPermutation([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUserIDPermutation_RoundTrip(t *testing.T) {
	// The keys differ in one bit of the last byte; not its lowest bit,
	// which DES ignores (a parity bit), so 168 of a key's 192 bits count.
	keyA := "0123456789abcdefghijklmn"
	keyB := "0123456789abcdefghijklml"
	pa, pb := testPermutation(t, keyA), testPermutation(t, keyB)
	for _, tc := range []struct {
		name string
		seq  uint64
	}{
		{"zero", 0},
		{"one", 1},
		{"two", 2},
		{"2^32", 1 << 32},
		{"2^40", 1 << 40},
		{"2^62", 1 << 62},
		{"last", userIDSpace - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := pa.id(tc.seq)
			if err != nil {
				t.Fatal(err)
			}
			if len(id) != userIDLen || strings.Trim(id, idAlphabet) != "" {
				t.Errorf("id %q: want 12 characters of idAlphabet", id)
			}
			if got, ok := pa.seq(id); !ok || got != tc.seq {
				t.Errorf("seq(%q) = %d, %v; want %d", id, got, ok, tc.seq)
			}
			if other, _ := pb.id(tc.seq); other == id {
				t.Errorf("keys differing in one byte give the same id %q", id)
			}
			if got, _ := pb.seq(id); got == tc.seq {
				t.Errorf("another key decodes %q to the same seq %d", id, got)
			}
		})
	}
	t.Run("BeyondSpace", func(t *testing.T) {
		for _, seq := range []uint64{userIDSpace, userIDSpace + 1, 1<<64 - 1} {
			if id, err := pa.id(seq); err == nil {
				t.Errorf("id(%d) = %q, want an error", seq, id)
			}
		}
	})
	t.Run("Many", func(t *testing.T) {
		seen := make(map[string]uint64)
		for seq := uint64(0); seq < 20_000; seq++ {
			id, err := pa.id(seq)
			if err != nil {
				t.Fatal(err)
			}
			if prev, dup := seen[id]; dup {
				t.Fatalf("seqs %d and %d share id %q", prev, seq, id)
			}
			seen[id] = seq
			if got, ok := pa.seq(id); !ok || got != seq {
				t.Fatalf("seq(%q) = %d, %v; want %d", id, got, ok, seq)
			}
		}
		// Neighbouring seqs must not give neighbouring ids: count the ids
		// of consecutive seqs that share their first 4 characters.
		near := 0
		prev, _ := pa.id(0)
		for seq := uint64(1); seq < 20_000; seq++ {
			id, _ := pa.id(seq)
			if id[:4] == prev[:4] {
				near++
			}
			prev = id
		}
		if near > 5 {
			t.Errorf("%d of 20,000 consecutive seqs give ids with a common 4-character prefix", near)
		}
	})
}

func TestDecodeUserID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want uint64
		ok   bool
	}{
		{"000000000000", 0, true},
		{"000000000001", 1, true},
		{"00000000000z", 35, true},
		{"000000000010", 36, true},
		{"zzzzzzzzzzzz", userIDSpace - 1, true},
		{"00000000000", 0, false},
		{"0000000000000", 0, false},
		{"00000000000A", 0, false},
		{"00000000000-", 0, false},
		{"", 0, false},
	} {
		got, ok := decodeUserID(tc.id)
		if ok != tc.ok || got != tc.want {
			t.Errorf("decodeUserID(%q) = %d, %v; want %d, %v", tc.id, got, ok, tc.want, tc.ok)
		}
		if ok && encodeUserID(got) != tc.id {
			t.Errorf("encodeUserID(%d) = %q, want %q", got, encodeUserID(got), tc.id)
		}
	}
}

func TestFoldToUserID(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"abc123def456", "abc123def456", true},
		{"ABC123DEF456", "abc123def456", true},
		{"\u212Aabc123def45", "kabc123def45", true}, // Kelvin sign folds to k
		{"\u017Fabc123def45", "sabc123def45", true}, // long s folds to s
		{"abc123def45", "", false},
		{"abc123def4567", "", false},
		{"abc123def45-", "", false},
		{"abc123def45é", "", false},
	} {
		got, ok := foldToUserID(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("foldToUserID(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// putOldStyleUser writes a user as builds before user id keys did: a
// random id with a user_ids entry.
func putOldStyleUser(t *testing.T, db *DB, tenant, id, username string) {
	t.Helper()
	err := db.Update(context.Background(), tenant, func(tx *Tx) error {
		users, _ := tx.bucket(bucketUsers)
		ids, _ := tx.bucket(bucketUserIDs)
		rank, _ := tx.bucket(bucketUsersRank)
		seq, err := users.NextSequence()
		if err != nil {
			return err
		}
		r := userRecord{ID: id, Seq: seq, Username: &username, CreatedAt: msec(tx.now), UpdatedAt: msec(tx.now)}
		if err := putUserRecord(users, &r); err != nil {
			return err
		}
		if err := ids.Put([]byte(id), itob(seq)); err != nil {
			return err
		}
		if err := putUserIndexes(tx, &r); err != nil {
			return err
		}
		return rankindex.Add(rank, seq, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// userIDIndexed reports whether user_ids holds id.
func userIDIndexed(t *testing.T, db *DB, tenant, id string) bool {
	t.Helper()
	var indexed bool
	if err := db.View(context.Background(), tenant, func(tx *Tx) error {
		ids, err := tx.bucket(bucketUserIDs)
		indexed = err == nil && ids.Get([]byte(id)) != nil
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return indexed
}

// tenantPermutation returns the permutation of tenant, which must have a key.
func tenantPermutation(t *testing.T, db *DB, tenant string) userIDPermutation {
	t.Helper()
	var p userIDPermutation
	if err := db.View(context.Background(), tenant, func(tx *Tx) error {
		var ok bool
		var err error
		if p, ok, err = tx.userIDPermutation(); err == nil && !ok {
			t.Fatalf("tenant %s has no user id key", tenant)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

// wantFound checks that user id of tenant is found by GET and by an exact id
// search, case-sensitive and not, and that its username is username.
func wantFound(t *testing.T, db *DB, tenant, id, username string) {
	t.Helper()
	ctx := context.Background()
	u, err := db.FindUserByID(ctx, tenant, id)
	if err != nil {
		t.Fatalf("FindUserByID(%s): %v", id, err)
	}
	if u.ID != id || u.Username == nil || *u.Username != username {
		t.Errorf("FindUserByID(%s) = %s %v, want username %s", id, u.ID, u.Username, username)
	}
	for _, caseSensitive := range []bool{true, false} {
		value := id
		if !caseSensitive {
			value = strings.ToUpper(id)
		}
		q := search.Query{CaseSensitive: caseSensitive, Items: []search.Item{{Field: "id", Mode: search.ModeExact, Values: []string{value}}}}
		got, total, err := db.FindUsers(ctx, tenant, UserFilter{Search: q}, contractPageAll)
		if err != nil {
			t.Fatal(err)
		}
		if total != 1 || len(got) != 1 || got[0].ID != id {
			t.Errorf("exact id search %q (case-sensitive %v): %d users, total %d; want %s", value, caseSensitive, len(got), total, id)
		}
	}
}

func wantNotFound(t *testing.T, db *DB, tenant, id string) {
	t.Helper()
	if u, err := db.FindUserByID(context.Background(), tenant, id); ErrorCode(err) != ENOTFOUND {
		t.Errorf("FindUserByID(%s, %s) = %v, %v; want ENOTFOUND", tenant, id, u, err)
	}
}

func TestUserIDs_OldAndNew(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	t.Run("NewUsersHaveNoIndexEntry", func(t *testing.T) {
		u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("fresh")})
		if err != nil {
			t.Fatal(err)
		}
		batch, err := db.CreateUsers(ctx, DefaultTenant, []UserCreate{{Username: ptr("b1")}, {Username: ptr("b2")}})
		if err != nil {
			t.Fatal(err)
		}
		p := tenantPermutation(t, db, DefaultTenant)
		for i, v := range []*User{u, batch[0], batch[1]} {
			if userIDIndexed(t, db, DefaultTenant, v.ID) {
				t.Errorf("user %s has a user_ids entry", v.ID)
			}
			if want, _ := p.id(uint64(i + 1)); v.ID != want {
				t.Errorf("user %d has id %s, want its sequence's %s", i+1, v.ID, want)
			}
			wantFound(t, db, DefaultTenant, v.ID, *v.Username)
		}
	})
	t.Run("OldTenantWithoutKey", func(t *testing.T) {
		// A tenant of a file from before user id keys: no key, and its
		// users' random ids in user_ids.
		if err := db.Update(ctx, "other", func(tx *Tx) error {
			meta, _ := tx.bucket(bucketTenantMeta)
			return meta.Delete(keyUserIDKey)
		}); err != nil {
			t.Fatal(err)
		}
		old := []string{newID(12), newID(12), newID(12)}
		for i, id := range old {
			putOldStyleUser(t, db, "other", id, "old"+string(rune('a'+i)))
		}
		for i, id := range old {
			wantFound(t, db, "other", id, "old"+string(rune('a'+i)))
		}
		u, err := db.CreateUser(ctx, "other", UserCreate{Username: ptr("newer")})
		if err != nil {
			t.Fatal(err)
		}
		if userIDIndexed(t, db, "other", u.ID) {
			t.Errorf("new user %s of an old tenant has a user_ids entry", u.ID)
		}
		if want, _ := tenantPermutation(t, db, "other").id(4); u.ID != want {
			t.Errorf("new user has id %s, want its sequence's %s", u.ID, want)
		}
		wantFound(t, db, "other", u.ID, "newer")
		for i, id := range old {
			wantFound(t, db, "other", id, "old"+string(rune('a'+i)))
		}
		// Delete one of each kind: both are gone, the rest stay.
		if err := db.DeleteUser(ctx, "other", old[1]); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteUser(ctx, "other", u.ID); err != nil {
			t.Fatal(err)
		}
		wantNotFound(t, db, "other", old[1])
		wantNotFound(t, db, "other", u.ID)
		wantFound(t, db, "other", old[0], "olda")
	})
	t.Run("PermutedIDHeldByOldUser", func(t *testing.T) {
		// An old random id that is the id the permutation gives the next
		// sequence: the new user must get another id.
		p := tenantPermutation(t, db, "other")
		var next uint64
		if err := db.View(ctx, "other", func(tx *Tx) error {
			users, _ := tx.bucket(bucketUsers)
			next = users.Sequence() + 2 // the old user takes +1
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		clash, _ := p.id(next)
		putOldStyleUser(t, db, "other", clash, "clash")
		u, err := db.CreateUser(ctx, "other", UserCreate{Username: ptr("unlucky")})
		if err != nil {
			t.Fatal(err)
		}
		if u.ID == clash {
			t.Fatalf("new user got id %s, which an old user holds", clash)
		}
		if !userIDIndexed(t, db, "other", u.ID) {
			t.Errorf("new user %s with a random id has no user_ids entry", u.ID)
		}
		wantFound(t, db, "other", clash, "clash")
		wantFound(t, db, "other", u.ID, "unlucky")
	})
}

func TestUserIDs_ForeignIDsNotFound(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	mine, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("mine")})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := db.CreateUser(ctx, "other", UserCreate{Username: ptr("theirs")})
	if err != nil {
		t.Fatal(err)
	}
	// Both are seq 1 of their tenant: an id decodes under the wrong key
	// to some seq, and only the stored id comparison refuses it.
	wantNotFound(t, db, DefaultTenant, theirs.ID)
	wantNotFound(t, db, "other", mine.ID)
	for range 50 {
		wantNotFound(t, db, DefaultTenant, newID(12))
	}
	for _, id := range []string{"", "x", strings.ToUpper(mine.ID), mine.ID + "0", mine.ID[:11]} {
		wantNotFound(t, db, DefaultTenant, id)
	}
	// The id of a seq that exists, but not under this tenant's key.
	p := tenantPermutation(t, db, "other")
	other1, _ := p.id(1)
	wantNotFound(t, db, DefaultTenant, other1)
	wantFound(t, db, DefaultTenant, mine.ID, "mine")
}

func TestUserIDs_TenantRecreated(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	key := SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}
	if _, _, err := db.CreateTenant(ctx, NewTenant{ID: "again", SigningKey: key}); err != nil {
		t.Fatal(err)
	}
	first, err := db.CreateUser(ctx, "again", UserCreate{Username: ptr("first")})
	if err != nil {
		t.Fatal(err)
	}
	wantFound(t, db, "again", first.ID, "first") // caches the first key
	if err := db.DeleteTenant(ctx, "again"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateTenant(ctx, NewTenant{ID: "again", SigningKey: key}); err != nil {
		t.Fatal(err)
	}
	second, err := db.CreateUser(ctx, "again", UserCreate{Username: ptr("second")})
	if err != nil {
		t.Fatal(err)
	}
	if second.ID == first.ID {
		t.Fatalf("the re-created tenant's first user has the old tenant's id %s", first.ID)
	}
	wantNotFound(t, db, "again", first.ID)
	wantFound(t, db, "again", second.ID, "second")
}

func TestUserIDs_KeySealed(t *testing.T) {
	db := mustOpen(t)
	err := db.View(context.Background(), DefaultTenant, func(tx *Tx) error {
		meta, _ := tx.bucket(bucketTenantMeta)
		sealed := meta.Get(keyUserIDKey)
		if sealed == nil {
			t.Fatal("a new tenant has no user id key")
		}
		key, err := db.sealer.open(sealed, userIDKeyAD(DefaultTenant))
		if err != nil {
			t.Fatalf("unseal: %v", err)
		}
		if len(key) != userIDKeySize || bytes.Contains(sealed, key) {
			t.Errorf("key of %d bytes, found in clear in the sealed value: %v", len(key), bytes.Contains(sealed, key))
		}
		if _, err := db.sealer.open(sealed, userIDKeyAD("other")); err == nil {
			t.Error("the key unseals as another tenant's")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkUserIDPermutation measures the cost of a user id: making it from
// a sequence and decoding it back (about four Triple DES blocks each).
func BenchmarkUserIDPermutation(b *testing.B) {
	p, err := newUserIDPermutation([]byte("0123456789abcdefghijklmn"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("id", func(b *testing.B) {
		seq := uint64(0)
		for b.Loop() {
			seq++
			if _, err := p.id(seq); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("seq", func(b *testing.B) {
		id, _ := p.id(12345)
		for b.Loop() {
			if _, ok := p.seq(id); !ok {
				b.Fatal("id does not decode")
			}
		}
	})
}

// TestUserIDs_UpgradedFile opens a file written by main before user id
// keys: its user keeps its indexed id, the first new user gives the tenant
// a key and needs no index entry, both are found (also after a reopen) and
// can be members of the same organization.
func TestUserIDs_UpgradedFile(t *testing.T) {
	const alice, org = "6baiztznn37h", "4389banihwnx" // see testdata/upgrade/README.md
	ctx := context.Background()
	path, keyPath := copyTodaysMainFixture(t)
	opts := Options{NoSync: true, MasterKeyFile: keyPath}
	db, err := Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	if err := db.View(ctx, DefaultTenant, func(tx *Tx) error {
		if _, ok, err := tx.userIDPermutation(); ok || err != nil {
			t.Errorf("an upgraded tenant has a user id key (%v) before its first new user", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !userIDIndexed(t, db, DefaultTenant, alice) {
		t.Fatalf("alice is not in user_ids")
	}
	wantFound(t, db, DefaultTenant, alice, "alice")
	u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("newcomer")})
	if err != nil {
		t.Fatal(err)
	}
	if userIDIndexed(t, db, DefaultTenant, u.ID) {
		t.Errorf("new user %s has a user_ids entry", u.ID)
	}
	wantFound(t, db, DefaultTenant, u.ID, "newcomer")
	wantFound(t, db, DefaultTenant, alice, "alice")
	if err := db.AddOrganizationUsers(ctx, DefaultTenant, org, []string{u.ID}, false); err != nil {
		t.Fatal(err)
	}
	members, n, err := db.FindOrganizationUsers(ctx, DefaultTenant, org, MemberFilter{}, contractPageAll)
	if err != nil || n != 2 || len(members) != 2 {
		t.Fatalf("organization members %v (%d), %v; want alice and %s", members, n, err, u.ID)
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Error(err)
	}
	db.Close()
	if db, err = Open(ctx, path, opts); err != nil {
		t.Fatal(err)
	}
	wantFound(t, db, DefaultTenant, u.ID, "newcomer")
	wantFound(t, db, DefaultTenant, alice, "alice")
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Error(err)
	}
}

// TestUserIDPermutation_SeqMemo: a remembered sequence is the one the
// cipher gives, before and after the memo fills up and starts afresh.
func TestUserIDPermutation_SeqMemo(t *testing.T) {
	perm, err := newUserIDPermutation(bytes.Repeat([]byte{7}, userIDKeySize))
	if err != nil {
		t.Fatal(err)
	}
	for i := range uint64(2*maxSeqMemo + 10) {
		id, err := perm.id(i % (maxSeqMemo + 3))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if seq, ok := perm.seq(id); !ok || seq != i%(maxSeqMemo+3) {
				t.Fatalf("seq(%s) = %d %v, want %d", id, seq, ok, i%(maxSeqMemo+3))
			}
		}
		if len(perm.seqs.seqs) > maxSeqMemo {
			t.Fatalf("memo of %d, bound %d", len(perm.seqs.seqs), maxSeqMemo)
		}
	}
}

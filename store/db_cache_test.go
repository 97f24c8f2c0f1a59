package store

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store/kv"
)

// TestReadCache_GrantFollowsWrites: a cached client_credentials grant is
// refused at once after a write that changes it, after its secret expires,
// and for a wrong secret; audit entries do not move the data generation.
func TestReadCache_GrantFollowsWrites(t *testing.T) {
	ctx := context.Background()
	var clock atomic.Int64
	clock.Store(testNow.UnixNano())
	db := mustOpenClock(t, func() time.Time { return time.Unix(0, clock.Load()) })
	app, secret, err := db.CreateApplication(ctx, DefaultTenant, ApplicationCreate{Name: "m2m", Type: AppMachineToMachine})
	if err != nil {
		t.Fatal(err)
	}
	expires := testNow.Add(time.Minute).UnixMilli()
	_, shortSecret, err := db.CreateApplicationSecret(ctx, DefaultTenant, app.ID, "short", &expires)
	if err != nil {
		t.Fatal(err)
	}
	grant := func(secret string) error {
		_, err := db.GrantClientCredentials(ctx, DefaultTenant, ClientGrantRequest{ClientID: app.ID, Secret: secret,
			Resource: ManagementIndicator(DefaultTenant), Scopes: []string{"all"}})
		return err
	}
	for range 2 { // the second comes from the cache
		if err := grant(secret); err != nil {
			t.Fatal(err)
		}
		if err := grant(shortSecret); err != nil {
			t.Fatal(err)
		}
		if err := grant(secret + "x"); ErrorCode(err) != EUNAUTHORIZED {
			t.Fatalf("wrong secret: %v", err)
		}
	}

	gen := db.generation()
	db.AuditAsync(DefaultTenant, AuditPayload{Key: "ExchangeTokenBy.ClientCredentials", Result: "Success"})
	if err := db.waitForAudits(ctx); err != nil {
		t.Fatal(err)
	}
	if db.generation() != gen {
		t.Error("an audit entry moved the data generation")
	}

	clock.Add(int64(2 * time.Minute))
	if err := grant(shortSecret); ErrorCode(err) != EUNAUTHORIZED {
		t.Errorf("expired secret from the cache: %v", err)
	}
	if err := grant(secret); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteApplication(ctx, DefaultTenant, app.ID); err != nil {
		t.Fatal(err)
	}
	if db.generation() == gen {
		t.Error("a write left the data generation")
	}
	if err := grant(secret); ErrorCode(err) != EUNAUTHORIZED {
		t.Errorf("deleted application from the cache: %v", err)
	}
}

// TestReadCache_ClientActiveAndTenantFollowWrites: disabling an API client
// stops its tokens and its JWT bearer grants at once, and a deleted tenant
// is gone, though the answers were cached.
func TestReadCache_ClientActiveAndTenantFollowWrites(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	c, _, err := db.CreateAPIClient(ctx, "other", APIClientCreate{ClientID: "bot"})
	if err != nil {
		t.Fatal(err)
	}
	issued := testNow.Add(time.Second)
	grant := func() error {
		_, err := db.GrantServiceAccount(ctx, "other", ServiceAccountGrantRequest{ClientID: c.ClientID, UserID: c.UserID,
			Indicators: []string{ManagementIndicator("other")}, Scopes: []string{"all"}})
		return err
	}
	for range 2 {
		if err := grant(); err != nil {
			t.Fatalf("service account grant: %v", err)
		}
		if ok, err := db.ClientActive(ctx, "other", c.ClientID, issued); err != nil || !ok {
			t.Fatalf("active: %v %v", ok, err)
		}
		if ok, err := db.TenantExists(ctx, "other"); err != nil || !ok {
			t.Fatalf("tenant: %v %v", ok, err)
		}
	}
	if _, err := db.SetAPIClientDisabled(ctx, "other", c.ClientID, true); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.ClientActive(ctx, "other", c.ClientID, issued); err != nil || ok {
		t.Errorf("disabled client still active: %v %v", ok, err)
	}
	if err := grant(); ErrorCode(err) != EFORBIDDEN {
		t.Errorf("disabled client's service account grant: %v", err)
	}
	if err := db.DeleteTenant(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.TenantExists(ctx, "other"); err != nil || ok {
		t.Errorf("deleted tenant still exists: %v %v", ok, err)
	}
}

// TestChangeSet_Data: in cluster mode, an entry that writes only audit
// entries and claimed jtis leaves cached answers alone; any other write
// makes them stale.
func TestChangeSet_Data(t *testing.T) {
	tenant := []byte("acme")
	for _, tc := range []struct {
		name string
		ops  []kv.Op
		data bool
	}{
		{"audit", []kv.Op{{Type: kv.OpPut, Path: [][]byte{bucketTenants, tenant, bucketAudit}, Key: []byte("k"), Value: []byte("v")}}, false},
		{"jtis", []kv.Op{{Type: kv.OpDelete, Path: [][]byte{bucketTenants, tenant, bucketJTIs}, Key: []byte("k")}}, false},
		{"user", []kv.Op{{Type: kv.OpPut, Path: [][]byte{bucketTenants, tenant, bucketApps}, Key: []byte("k"), Value: []byte("v")}}, true},
		{"audit and app", []kv.Op{
			{Type: kv.OpPut, Path: [][]byte{bucketTenants, tenant, bucketAudit}, Key: []byte("k"), Value: []byte("v")},
			{Type: kv.OpPut, Path: [][]byte{bucketTenants, tenant, bucketApps}, Key: []byte("k"), Value: []byte("v")}}, true},
		{"tenant bucket", []kv.Op{{Type: kv.OpDeleteBucket, Path: [][]byte{bucketTenants, tenant}}}, true},
		{"root", []kv.Op{{Type: kv.OpPut, Path: [][]byte{bucketMeta}, Key: []byte("k"), Value: []byte("v")}}, true},
	} {
		var c changeSet
		c.noteWriteSet(kv.WriteSet{Ops: tc.ops})
		if c.data != tc.data {
			t.Errorf("%s: data %v, want %v", tc.name, c.data, tc.data)
		}
	}
}

func TestReadCache_Generations(t *testing.T) {
	var c readCache[int]
	c.put("a", 2, 1)
	if v, ok := c.get("a", 2); !ok || v != 1 {
		t.Errorf("get: %v %v", v, ok)
	}
	if _, ok := c.get("a", 3); ok {
		t.Error("a value of generation 2 returned for 3")
	}
	c.put("b", 1, 9) // older than what the cache holds: dropped
	if _, ok := c.get("b", 1); ok {
		t.Error("kept a value of an older generation")
	}
	c.put("b", 3, 5)
	if _, ok := c.get("a", 3); ok {
		t.Error("a newer generation kept an older value")
	}
	for i := range maxCacheEntries + 1 {
		c.put(cacheKey("k", string(rune(i))), 3, i)
	}
	if len(c.entries) > maxCacheEntries {
		t.Errorf("%d entries, bound %d", len(c.entries), maxCacheEntries)
	}
	if cacheKey("a", "bc") == cacheKey("ab", "c") || cacheKey("a", "") == cacheKey("a") {
		t.Error("cacheKey is ambiguous")
	}
}

// TestPublicKeys: a remembered key is the one its DER holds, bad DER is
// refused and not remembered, and the memo stays within its bound.
func TestPublicKeys(t *testing.T) {
	var m publicKeys
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		pub, err := m.parse(der)
		if err != nil || !key.PublicKey.Equal(pub) {
			t.Fatalf("parse: %v %v", pub, err)
		}
	}
	if _, err := m.parse([]byte("not DER")); err == nil || len(m.keys) != 1 {
		t.Errorf("bad DER: %v, %d keys", err, len(m.keys))
	}
	m.keys = make(map[string]crypto.PublicKey, maxCacheEntries)
	for i := range maxCacheEntries {
		m.keys[strconv.Itoa(i)] = nil
	}
	if _, err := m.parse(der); err != nil || len(m.keys) != 1 {
		t.Errorf("full memo: %v, %d keys", err, len(m.keys))
	}
}

// TestReadCache_ServiceAccountFollowsWrites: a service account found once
// comes from the cache until a write changes its keys; refusals (an issuer
// that names no service user, a subject of another user) are not cached, so
// made-up names never fill it.
func TestReadCache_ServiceAccountFollowsWrites(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	c, _, err := db.CreateAPIClient(ctx, "other", APIClientCreate{ClientID: "bot"})
	if err != nil {
		t.Fatal(err)
	}
	first, _, err := db.CreateServiceKey(ctx, "other", c.UserID, ServiceKeyCreate{Algorithm: "ES256"})
	if err != nil {
		t.Fatal(err)
	}
	keyIDs := func(issuer, subject string) []string {
		t.Helper()
		sa, err := db.FindServiceAccount(ctx, "other", issuer, subject)
		if err != nil {
			t.Fatalf("find %s/%s: %v", issuer, subject, err)
		}
		if sa.UserID != c.UserID || sa.ClientID != c.ClientID {
			t.Fatalf("find %s/%s: user %s client %s", issuer, subject, sa.UserID, sa.ClientID)
		}
		var ids []string
		for _, k := range sa.Keys {
			ids = append(ids, k.ID)
		}
		return ids
	}
	for range 2 { // the second comes from the cache
		if got := keyIDs(c.ClientID, c.UserID); len(got) != 1 || got[0] != first.ID {
			t.Fatalf("keys %v, want [%s]", got, first.ID)
		}
	}
	for _, names := range [][2]string{{"nobody", "nobody"}, {c.ClientID, "someone-else"}} {
		for range 2 {
			if _, err := db.FindServiceAccount(ctx, "other", names[0], names[1]); ErrorCode(err) != EFORBIDDEN {
				t.Fatalf("find %v: %v, want EFORBIDDEN", names, err)
			}
		}
	}
	if n := len(db.serviceAcctCache.entries); n != 1 {
		t.Errorf("%d cached service accounts, want 1 (refusals are not cached)", n)
	}

	second, _, err := db.CreateServiceKey(ctx, "other", c.UserID, ServiceKeyCreate{Algorithm: "ES256"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteServiceKey(ctx, "other", c.UserID, first.ID); err != nil {
		t.Fatal(err)
	}
	if got := keyIDs(c.ClientID, c.UserID); len(got) != 1 || got[0] != second.ID {
		t.Errorf("after a key change: keys %v, want [%s]", got, second.ID)
	}
	if err := db.DeleteAPIClient(ctx, "other", c.ClientID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindServiceAccount(ctx, "other", c.ClientID, c.UserID); ErrorCode(err) != EFORBIDDEN {
		t.Errorf("deleted client's service account: %v", err)
	}
}

// TestReadCache_UserFollowsWrites: a user found once comes from the cache
// until a write changes it; each caller gets maps of its own; ids of no
// user and users with large records are not cached.
func TestReadCache_UserFollowsWrites(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	u, err := db.CreateUser(ctx, "other", UserCreate{Username: ptr("cached"),
		CustomData: map[string]any{"tags": []any{"a"}, "nested": map[string]any{"n": 1.0}},
		Profile:    &Profile{Address: &Address{Country: "NL"}}})
	if err != nil {
		t.Fatal(err)
	}
	find := func() *User {
		t.Helper()
		got, err := db.FindUserByID(ctx, "other", u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := find()
	if n := len(db.userCache.entries); n != 1 {
		t.Fatalf("%d cached users after a read, want 1", n)
	}
	// A caller changing what it got changes nothing for the next.
	first.CustomData["tags"].([]any)[0] = "changed"
	first.CustomData["nested"].(map[string]any)["n"] = 2.0
	first.Identities["x"] = true
	first.Profile.Address.Country = "BE"
	second := find()
	if tag := second.CustomData["tags"].([]any)[0]; tag != "a" {
		t.Errorf("tag %v after another caller changed its copy, want a", tag)
	}
	if n := second.CustomData["nested"].(map[string]any)["n"]; n != 1.0 {
		t.Errorf("nested %v after another caller changed its copy, want 1", n)
	}
	if len(second.Identities) != 0 || second.Profile.Address.Country != "NL" {
		t.Errorf("identities %v, country %s after another caller changed its copy", second.Identities, second.Profile.Address.Country)
	}

	if _, err := db.UpdateUser(ctx, "other", u.ID, UserUpdate{Name: Field[string]{Set: true, Value: ptr("Renamed")}}); err != nil {
		t.Fatal(err)
	}
	if got := find(); got.Name == nil || *got.Name != "Renamed" {
		t.Errorf("name %v after an update, want Renamed", got.Name)
	}
	for range 2 {
		if _, err := db.FindUserByID(ctx, "other", "nosuchuser12"); ErrorCode(err) != ENOTFOUND {
			t.Fatalf("unknown id: %v, want ENOTFOUND", err)
		}
	}
	large, err := db.CreateUser(ctx, "other", UserCreate{Username: ptr("large"),
		CustomData: map[string]any{"blob": strings.Repeat("x", maxCachedUserBytes)}})
	if err != nil {
		t.Fatal(err)
	}
	find()
	for range 2 {
		if got, err := db.FindUserByID(ctx, "other", large.ID); err != nil || got.CustomData["blob"] == nil {
			t.Fatalf("large user: %v", err)
		}
	}
	if n := len(db.userCache.entries); n != 1 {
		t.Errorf("%d cached users, want 1 (neither unknown ids nor large records)", n)
	}

	if err := db.DeleteUser(ctx, "other", u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindUserByID(ctx, "other", u.ID); ErrorCode(err) != ENOTFOUND {
		t.Errorf("deleted user: %v, want ENOTFOUND", err)
	}
}

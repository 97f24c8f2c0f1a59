package store

import (
	"context"
	"testing"
)

// BenchmarkFindServiceAccount compares what finding the service account of
// a JWT bearer assertion costs before its signature (or the decoy's) is
// checked: one found in the cache, one read from the file (the cache holds
// another generation), and an issuer that names no service user (refusals
// are never cached). A caller without a key learns from timing whether a
// name exists only by how far "unknown" is from the other two; the cache
// must not put it farther than the file read does (issue 16: about 3.5 µs
// below against 9 µs above, on 2 cores).
func BenchmarkFindServiceAccount(b *testing.B) {
	ctx := context.Background()
	db := mustOpen(b)
	c, _, err := db.CreateAPIClient(ctx, "other", APIClientCreate{ClientID: "bot"})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := db.CreateServiceKey(ctx, "other", c.UserID, ServiceKeyCreate{Algorithm: "ES256"}); err != nil {
		b.Fatal(err)
	}
	find := func(b *testing.B, issuer string, wantErr bool) {
		if _, err := db.FindServiceAccount(ctx, "other", issuer, issuer); (err != nil) != wantErr {
			b.Fatal(err)
		}
	}
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			find(b, c.ClientID, false)
		}
	})
	b.Run("uncached", func(b *testing.B) {
		for b.Loop() {
			db.serviceAcctCache.put("", db.generation()+1, nil) // any other generation
			find(b, c.ClientID, false)
		}
	})
	b.Run("unknown", func(b *testing.B) {
		for b.Loop() {
			find(b, "nobody", true)
		}
	})
}

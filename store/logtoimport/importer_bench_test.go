package logtoimport_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/auth"
	"github.com/idbolt/idbolt/store"
	"github.com/idbolt/idbolt/store/logtoimport"
)

// BenchmarkImporter_Users imports 500 users with SHA256 digests from an
// in-process idbolt over loopback HTTP into a new data file written with
// fsync, as the command does; users/s is the figure. Each iteration
// imports into a file of its own.
func BenchmarkImporter_Users(b *testing.B) {
	const users = 500
	src := apitest.Start(b)
	ctx := context.Background()
	ins := make([]store.UserCreate, users)
	digest, alg := "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", "SHA256"
	for i := range ins {
		name := fmt.Sprintf("user%d", i)
		ins[i] = store.UserCreate{Username: &name, PasswordDigest: &digest, PasswordAlgorithm: &alg,
			CustomData: map[string]any{"n": i}}
	}
	if _, err := src.DB.CreateUsers(ctx, store.DefaultTenant, ins); err != nil {
		b.Fatal(err)
	}
	key, err := auth.GenerateKey("ES256")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := store.Open(ctx, filepath.Join(b.TempDir(), fmt.Sprintf("t%d.db", i)), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Bootstrap(ctx, store.NewTenant{ID: store.DefaultTenant, Name: "Default", SigningKey: key, System: true}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		s := logtoimport.NewSource(src.URL, "https://default.logto.app/api", src.ClientID, src.ClientSecret, nil)
		if err := s.Connect(ctx); err != nil {
			b.Fatal(err)
		}
		im := &logtoimport.Importer{Source: s, DB: db, Tenant: store.DefaultTenant, Secrets: &bytes.Buffer{}}
		sum, err := im.Run(ctx)
		if err != nil || sum.Failed() != 0 {
			b.Fatal(err, sum.Failed())
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(users*b.N)/b.Elapsed().Seconds(), "users/s")
}

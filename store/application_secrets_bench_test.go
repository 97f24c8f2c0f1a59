package store

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkApplicationSecrets_List lists an application holding the most
// secrets it may (20), hash-only and with readableApplicationSecrets on,
// where every listed value is opened (AES-256-GCM): compare the two as a
// ratio measured in one run.
func BenchmarkApplicationSecrets_List(b *testing.B) {
	for _, readable := range []bool{false, true} {
		b.Run(fmt.Sprintf("readable=%v", readable), func(b *testing.B) {
			ctx := context.Background()
			db := mustOpen(b)
			if _, err := db.UpdateTenant(ctx, DefaultTenant, TenantUpdate{ReadableApplicationSecrets: &readable}); err != nil {
				b.Fatal(err)
			}
			app, _, err := db.CreateApplication(ctx, DefaultTenant, ApplicationCreate{Name: "svc", Type: AppMachineToMachine})
			if err != nil {
				b.Fatal(err)
			}
			for i := 1; i < maxSecrets; i++ {
				if _, _, err := db.CreateApplicationSecret(ctx, DefaultTenant, app.ID, fmt.Sprintf("s%d", i), nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for range b.N {
				list, err := db.FindApplicationSecrets(ctx, DefaultTenant, app.ID)
				if err != nil || len(list) != maxSecrets || (list[0].Value != "") != readable {
					b.Fatalf("list: %d secrets, %v", len(list), err)
				}
			}
		})
	}
}

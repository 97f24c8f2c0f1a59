package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestNormalizeCORSOrigins(t *testing.T) {
	ok := []struct{ in, want string }{
		{"https://admin.example.com", "https://admin.example.com"},
		{"https://admin.example.com/", "https://admin.example.com"},
		{"HTTPS://Admin.Example.COM", "https://admin.example.com"},
		{"http://localhost:5173", "http://localhost:5173"},
		{"https://admin.example.com:443", "https://admin.example.com"},
		{"http://admin.example.com:80", "http://admin.example.com"},
		{"http://admin.example.com:443", "http://admin.example.com:443"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://[::1]:3000", "http://[::1]:3000"},
		{"https://[2001:DB8::1]", "https://[2001:db8::1]"},
		{"https://xn--bcher-kva.example", "https://xn--bcher-kva.example"},
	}
	for _, tt := range ok {
		t.Run("OK/"+tt.in, func(t *testing.T) {
			got, err := NormalizeCORSOrigins("corsAllowedOrigins", []string{tt.in})
			if err != nil || len(got) != 1 || got[0] != tt.want {
				t.Fatalf("NormalizeCORSOrigins(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	bad := []struct{ name, in, wantMsg string }{
		{"Empty", "", "characters"},
		{"Wildcard", "https://*.example.com", "wildcard"},
		{"Star", "*", "wildcard"},
		{"Null", "null", "http:// or https://"},
		{"NoScheme", "admin.example.com", "http:// or https://"},
		{"OtherScheme", "ftp://admin.example.com", "http:// or https://"},
		{"Path", "https://admin.example.com/console", "path"},
		{"Query", "https://admin.example.com?x=1", "query"},
		{"EmptyQuery", "https://admin.example.com?", "query"},
		{"Fragment", "https://admin.example.com#top", "fragment"},
		{"UserInfo", "https://user@admin.example.com", "user information"},
		{"NoHost", "https://", "host"},
		{"BadPort", "https://admin.example.com:99999", "port"},
		{"ZeroPort", "https://admin.example.com:0", "port"},
		{"LeadingZeroPort", "https://admin.example.com:0443", "port"},
		{"BadHost", "https://admin_example.com", "host"},
		{"Unicode", "https://bücher.example", "host"},
		{"Long", "https://" + strings.Repeat("a", 300) + ".com", "characters"},
	}
	for _, tt := range bad {
		t.Run("ErrInvalid/"+tt.name, func(t *testing.T) {
			_, err := NormalizeCORSOrigins("corsAllowedOrigins", []string{tt.in})
			if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tt.wantMsg) ||
				!strings.Contains(ErrorMessage(err), "corsAllowedOrigins") {
				t.Fatalf("NormalizeCORSOrigins(%q) = %v; want EINVALID naming the field and %q", tt.in, err, tt.wantMsg)
			}
		})
	}
	t.Run("Duplicates", func(t *testing.T) {
		got, err := NormalizeCORSOrigins("f", []string{"https://a.example", "HTTPS://A.example:443", "https://b.example"})
		if err != nil || !slices.Equal(got, []string{"https://a.example", "https://b.example"}) {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("ErrInvalid/TooMany", func(t *testing.T) {
		many := make([]string, MaxCORSOrigins+1)
		for i := range many {
			many[i] = fmt.Sprintf("https://a%d.example", i)
		}
		if _, err := NormalizeCORSOrigins("f", many[:MaxCORSOrigins]); err != nil {
			t.Fatalf("%d origins: %v", MaxCORSOrigins, err)
		}
		if _, err := NormalizeCORSOrigins("f", many); ErrorCode(err) != EINVALID {
			t.Fatalf("%d origins: %v, want EINVALID", len(many), err)
		}
	})
}

func FuzzNormalizeCORSOrigins(f *testing.F) {
	for _, s := range []string{"https://admin.example.com", "http://[::1]:80", "HTTP://A:443/", "https://*.x", "null", "https://a?b#c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeCORSOrigins("f", []string{s})
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("%q: %v, want EINVALID", s, err)
			}
			return
		}
		// A normalized origin is a fixed point, and has no path, query,
		// wildcard or upper case.
		again, err := NormalizeCORSOrigins("f", got)
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("%q normalized to %q, which normalizes to %q, %v", s, got, again, err)
		}
		o := got[0]
		rest := o[strings.Index(o, "://")+3:]
		if strings.ContainsAny(rest, "/?#*@") || strings.ToLower(o) != o {
			t.Fatalf("%q normalized to %q", s, o)
		}
	})
}

func TestTenantCORSOrigins(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	set := func(tenant string, origins []string) *Tenant {
		t.Helper()
		out, err := db.UpdateTenant(ctx, tenant, TenantUpdate{CORSAllowedOrigins: Field[[]string]{Set: true, Value: &origins}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := func(tenant string, w ...string) {
		t.Helper()
		got, err := db.TenantCORSOrigins(ctx, tenant)
		if err != nil || !slices.Equal(got, w) {
			t.Fatalf("TenantCORSOrigins(%s) = %q, %v; want %q", tenant, got, err, w)
		}
	}
	t.Run("OK", func(t *testing.T) {
		want(DefaultTenant) // read and cached: none
		if got := set(DefaultTenant, []string{"HTTPS://Admin.Example.com/"}).CORSAllowedOrigins; !slices.Equal(got, []string{"https://admin.example.com"}) {
			t.Fatalf("UpdateTenant returned %q", got)
		}
		want(DefaultTenant, "https://admin.example.com") // the cache was dropped
		want("other")                                    // no leak to another tenant
		if tn, err := db.FindTenantByID(ctx, DefaultTenant); err != nil || !slices.Equal(tn.CORSAllowedOrigins, []string{"https://admin.example.com"}) {
			t.Fatalf("FindTenantByID: %+v, %v", tn, err)
		}
		// Another update leaves them as they are.
		name := "renamed"
		if _, err := db.UpdateTenant(ctx, DefaultTenant, TenantUpdate{Name: &name}); err != nil {
			t.Fatal(err)
		}
		want(DefaultTenant, "https://admin.example.com")
		set(DefaultTenant, nil)
		want(DefaultTenant)
	})
	t.Run("Cached", func(t *testing.T) {
		set("other", []string{"https://cached.example"})
		want("other", "https://cached.example") // read once
		before := db.bolt.Stats().TxN
		for range 100 {
			want("other", "https://cached.example")
		}
		if n := db.bolt.Stats().TxN - before; n != 0 {
			t.Errorf("100 lookups opened %d read transactions, want 0", n)
		}
		set("other", nil)
		want("other")
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		origins := []string{"https://*.example.com"}
		_, err := db.UpdateTenant(ctx, "other", TenantUpdate{CORSAllowedOrigins: Field[[]string]{Set: true, Value: &origins}})
		if ErrorCode(err) != EINVALID {
			t.Fatalf("wildcard: %v, want EINVALID", err)
		}
		want("other")
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := db.TenantCORSOrigins(ctx, "nope"); ErrorCode(err) != ENOTFOUND {
			t.Fatalf("unknown tenant: %v, want ENOTFOUND", err)
		}
		if _, _, err := db.CreateTenant(ctx, NewTenant{ID: "gone", SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
			t.Fatal(err)
		}
		set("gone", []string{"https://gone.example"})
		want("gone", "https://gone.example")
		if err := db.DeleteTenant(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TenantCORSOrigins(ctx, "gone"); ErrorCode(err) != ENOTFOUND {
			t.Fatalf("deleted tenant: %v, want ENOTFOUND", err)
		}
		// A tenant created again with the id starts with none.
		if _, _, err := db.CreateTenant(ctx, NewTenant{ID: "gone", SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
			t.Fatal(err)
		}
		want("gone")
	})
}

// A follower caches origins too, and an entry applied from the cluster
// drops them: every node answers with what its file holds.
func TestReplica_CORSOriginsFollowTheLog(t *testing.T) {
	ctx := context.Background()
	_, dbs := openCluster(t, 2)
	if _, _, err := dbs[0].CreateTenant(ctx, NewTenant{ID: DefaultTenant, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	follower := dbs[1]
	if got, err := follower.TenantCORSOrigins(ctx, DefaultTenant); err != nil || len(got) != 0 {
		t.Fatalf("before: %q, %v", got, err)
	}
	origins := []string{"https://admin.example.com"}
	if _, err := dbs[0].UpdateTenant(ctx, DefaultTenant, TenantUpdate{CORSAllowedOrigins: Field[[]string]{Set: true, Value: &origins}}); err != nil {
		t.Fatal(err)
	}
	if got, err := follower.TenantCORSOrigins(ctx, DefaultTenant); err != nil || !slices.Equal(got, origins) {
		t.Fatalf("follower after the update: %q, %v; want %q", got, err, origins)
	}
}

// A lookup that read the file before an update and caches after it must
// not keep the old origins: after the last update, every lookup sees it.
func TestTenantCORSOrigins_ConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := db.TenantCORSOrigins(ctx, DefaultTenant); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var last []string
	for i := range 50 {
		last = []string{fmt.Sprintf("https://v%d.example", i)}
		if _, err := db.UpdateTenant(ctx, DefaultTenant, TenantUpdate{CORSAllowedOrigins: Field[[]string]{Set: true, Value: &last}}); err != nil {
			t.Fatal(err)
		}
		if got, err := db.TenantCORSOrigins(ctx, DefaultTenant); err != nil || !slices.Equal(got, last) {
			t.Fatalf("after update %d: %q, %v", i, got, err)
		}
	}
	close(stop)
	readers.Wait()
	if got, err := db.TenantCORSOrigins(ctx, DefaultTenant); err != nil || !slices.Equal(got, last) {
		t.Fatalf("at the end: %q, %v; want %q", got, err, last)
	}
}

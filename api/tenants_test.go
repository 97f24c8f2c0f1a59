package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/idbolt/idbolt/api/apitest"
)

// createdTenant is the answer of POST /system/tenants.
type createdTenant struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	CreatedAt   int64  `json:"createdAt"`
	Credentials struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	} `json:"credentials"`
}

func createTenant(t testing.TB, e *env, id string) createdTenant {
	t.Helper()
	r := call(t, "POST", e.URL+"/system/tenants", e.SystemToken(t), map[string]any{"id": id, "name": "Tenant " + id})
	if r.Status != http.StatusCreated {
		t.Fatalf("create tenant: %d %s", r.Status, r.Body)
	}
	var c createdTenant
	r.JSON(t, &c)
	return c
}

func TestTenants_System(t *testing.T) {
	e := newEnv(t)
	sys := e.SystemToken(t)
	acme := createTenant(t, e, "acme")
	if acme.ID != "acme" || acme.Name != "Tenant acme" || acme.CreatedAt == 0 || acme.Credentials.ClientID == "" || len(acme.Credentials.ClientSecret) < 32 {
		t.Fatalf("created %+v", acme)
	}

	t.Run("Errors", func(t *testing.T) {
		tests := []struct {
			name       string
			body       any
			wantStatus int
			wantCode   string
		}{
			{"Duplicate", map[string]any{"id": "acme"}, 422, "tenant.id_already_in_use"},
			{"Uppercase", map[string]any{"id": "Acme"}, 400, "guard.invalid_input"},
			{"TooLong", map[string]any{"id": strings.Repeat("a", 33)}, 400, "guard.invalid_input"},
			{"Empty", map[string]any{"id": ""}, 400, "guard.invalid_input"},
			{"Missing", map[string]any{"name": "x"}, 400, "guard.invalid_input"},
			{"Slash", map[string]any{"id": "a/b"}, 400, "guard.invalid_input"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := call(t, "POST", e.URL+"/system/tenants", sys, tt.body)
				if r.Status != tt.wantStatus || r.Code() != tt.wantCode {
					t.Errorf("got %d %s, want %d %s", r.Status, r.Body, tt.wantStatus, tt.wantCode)
				}
			})
		}
	})
	t.Run("ListAndGet", func(t *testing.T) {
		createTenant(t, e, "beta")
		r := call(t, "GET", e.URL+"/system/tenants?page_size=2", sys, nil)
		var list []createdTenant
		r.JSON(t, &list)
		if r.Status != 200 || r.Header.Get("Total-Number") != "3" || len(list) != 2 || list[0].ID != "acme" {
			t.Fatalf("list: %d %v %s", r.Status, r.Header, r.Body)
		}
		if strings.Contains(string(r.Body), "clientSecret") {
			t.Error("list shows credentials")
		}
		r = call(t, "GET", e.URL+"/system/tenants/acme", sys, nil)
		if r.Status != 200 || strings.Contains(string(r.Body), "credentials") {
			t.Fatalf("get: %d %s", r.Status, r.Body)
		}
		if r := call(t, "GET", e.URL+"/system/tenants/nope", sys, nil); r.Status != 404 {
			t.Errorf("get unknown: %d", r.Status)
		}
	})
	t.Run("TokenSeparation", func(t *testing.T) {
		if r := call(t, "GET", e.URL+"/system/tenants", e.token, nil); r.Status != 401 {
			t.Errorf("management token on /system: %d %s", r.Status, r.Body)
		}
		if r := call(t, "GET", e.URL+"/api/users", sys, nil); r.Status != 401 {
			t.Errorf("system token on /api: %d %s", r.Status, r.Body)
		}
		if r := call(t, "GET", e.URL+"/system/tenants", "", nil); r.Status != 401 {
			t.Errorf("no token on /system: %d", r.Status)
		}
		// Another tenant's admin cannot get a system token at all.
		r := postForm(t, e.URL+"/t/acme/oidc/token", map[string][]string{"grant_type": {"client_credentials"},
			"resource": {"urn:idbolt:system"}, "scope": {"all"}}, acme.Credentials.ClientID, acme.Credentials.ClientSecret)
		if r.Status != 400 || !strings.Contains(string(r.Body), "invalid_target") {
			t.Errorf("system token from tenant acme: %d %s", r.Status, r.Body)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		tok := apitest.Token(t, e.URL, "acme", acme.Credentials.ClientID, acme.Credentials.ClientSecret, "https://acme.logto.app/api", "all")
		if r := call(t, "GET", e.URL+"/t/acme/api/users", tok, nil); r.Status != 200 {
			t.Fatalf("acme before delete: %d", r.Status)
		}
		if r := call(t, "DELETE", e.URL+"/system/tenants/acme", sys, nil); r.Status != 204 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if r := call(t, "GET", e.URL+"/t/acme/api/users", tok, nil); r.Status != 404 {
			t.Errorf("deleted tenant: %d %s", r.Status, r.Body)
		}
		if r := call(t, "DELETE", e.URL+"/system/tenants/acme", sys, nil); r.Status != 404 {
			t.Errorf("delete again: %d", r.Status)
		}
		if r := call(t, "DELETE", e.URL+"/system/tenants/default", sys, nil); r.Status != 422 {
			t.Errorf("delete default: %d %s", r.Status, r.Body)
		}
		// Recreated under the same id, the old token must not work.
		createTenant(t, e, "acme")
		if r := call(t, "GET", e.URL+"/t/acme/api/users", tok, nil); r.Status != 401 {
			t.Errorf("old token on recreated tenant: %d %s", r.Status, r.Body)
		}
	})
}

func TestTenants_Isolation(t *testing.T) {
	e := newEnv(t)
	a := createTenant(t, e, "tenant-a")
	b := createTenant(t, e, "tenant-b")
	tokA := apitest.Token(t, e.URL, "tenant-a", a.Credentials.ClientID, a.Credentials.ClientSecret, "https://tenant-a.logto.app/api", "all")
	tokB := apitest.Token(t, e.URL, "tenant-b", b.Credentials.ClientID, b.Credentials.ClientSecret, "https://tenant-b.logto.app/api", "all")

	r := call(t, "POST", e.URL+"/t/tenant-a/api/users", tokA, map[string]any{"username": "shared", "primaryEmail": "s@example.com"})
	if r.Status != 200 {
		t.Fatalf("create in A: %d %s", r.Status, r.Body)
	}
	var ua user
	r.JSON(t, &ua)

	// The same unique values are free in B and in default.
	if r := call(t, "POST", e.URL+"/t/tenant-b/api/users", tokB, map[string]any{"username": "shared", "primaryEmail": "s@example.com"}); r.Status != 200 {
		t.Errorf("same username in B: %d %s", r.Status, r.Body)
	}
	tests := []struct {
		name       string
		method     string
		path       string
		token      string
		wantStatus int
	}{
		{"AToken on B", "GET", "/t/tenant-b/api/users", tokA, 401},
		{"BToken on A", "GET", "/t/tenant-a/api/users", tokB, 401},
		{"AToken on default", "GET", "/api/users", tokA, 401},
		{"DefaultToken on A", "GET", "/t/tenant-a/api/users", e.token, 401},
		{"A id in B", "GET", "/t/tenant-b/api/users/" + ua.ID, tokB, 404},
		{"A id in default", "GET", "/api/users/" + ua.ID, e.token, 404},
		{"Delete A id from B", "DELETE", "/t/tenant-b/api/users/" + ua.ID, tokB, 404},
		{"A id in A", "GET", "/t/tenant-a/api/users/" + ua.ID, tokA, 200},
		{"Unknown tenant", "GET", "/t/nope/api/users", tokA, 404},
		{"Unknown tenant token", "POST", "/t/nope/oidc/token", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, tt.method, e.URL+tt.path, tt.token, nil)
			if r.Status != tt.wantStatus {
				t.Errorf("%s %s: %d, want %d: %s", tt.method, tt.path, r.Status, tt.wantStatus, r.Body)
			}
		})
	}
	r = call(t, "GET", e.URL+"/t/tenant-b/api/users", tokB, nil)
	if r.Header.Get("Total-Number") != "1" {
		t.Errorf("B sees %s users, want 1", r.Header.Get("Total-Number"))
	}
	r = call(t, "GET", e.URL+"/api/users", e.token, nil)
	if r.Header.Get("Total-Number") != "0" {
		t.Errorf("default sees %s users, want 0", r.Header.Get("Total-Number"))
	}
}

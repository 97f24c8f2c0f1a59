package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/store"
)

// BenchmarkManagers_PermissionCheck measures GET /api/organizations/{id}
// with a token of scope all ("all") and with the token of an API client
// whose only right is ORG_OWNER of that organization and of 49 others
// ("org-owner"); the difference is the per-request cost of resolving the
// caller's manager roles and the route's policy. "org-owner-1" holds
// ORG_OWNER of the one organization only.
func BenchmarkManagers_PermissionCheck(b *testing.B) {
	srv := apitest.Start(b)
	ctx, tenant := context.Background(), store.DefaultTenant
	c, secret, err := srv.DB.CreateAPIClient(ctx, tenant, store.APIClientCreate{ClientID: "bench-manager"})
	if err != nil {
		b.Fatal(err)
	}
	var target string
	for i := range 50 {
		o, err := srv.DB.CreateOrganization(ctx, tenant, store.OrganizationCreate{Name: fmt.Sprintf("org %d", i)})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := srv.DB.SetManager(ctx, tenant, store.ManagerScope{OrganizationID: o.ID}, c.UserID, []string{store.ManagerOrgOwner}); err != nil {
			b.Fatal(err)
		}
		target = o.ID
	}
	managerToken := apitest.Token(b, srv.URL, tenant, c.ClientID, secret, mgmtResource, "")
	one, oneSecret, err := srv.DB.CreateAPIClient(ctx, tenant, store.APIClientCreate{ClientID: "bench-manager-1"})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := srv.DB.SetManager(ctx, tenant, store.ManagerScope{OrganizationID: target}, one.UserID, []string{store.ManagerOrgOwner}); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, token string }{
		{"all", srv.ManagementToken(b, tenant)},
		{"org-owner-1", apitest.Token(b, srv.URL, tenant, one.ClientID, oneSecret, mgmtResource, "")},
		{"org-owner", managerToken},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("GET", "/api/organizations/"+target, nil)
				req.Header.Set("Authorization", "Bearer "+tc.token)
				serve(b, srv.Handler, req, http.StatusOK)
			}
		})
	}
}

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

// seedMembers creates n users in batches and makes them members of a new
// organization; it returns the organization's id.
func seedMembers(b *testing.B, db *store.DB, n int) string {
	b.Helper()
	ctx := context.Background()
	org, err := db.CreateOrganization(ctx, "default", store.OrganizationCreate{Name: "Big"})
	if err != nil {
		b.Fatal(err)
	}
	for done := 0; done < n; {
		batch := make([]store.UserCreate, min(1000, n-done))
		for i := range batch {
			batch[i] = store.UserCreate{Name: ptr(fmt.Sprint(done + i))}
		}
		users, err := db.CreateUsers(ctx, "default", batch)
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]string, len(users))
		for i, u := range users {
			ids[i] = u.ID
		}
		if err := db.AddOrganizationUsers(ctx, "default", org.ID, ids, false); err != nil {
			b.Fatal(err)
		}
		done += len(batch)
	}
	return org.ID
}

// BenchmarkOrganizations_MembersDeep compares page 1 of an organization of
// 100,000 members with pages 2,500 and 5,000 (the last); the prefix rank
// index should keep them within 2x.
func BenchmarkOrganizations_MembersDeep(b *testing.B) {
	srv := apitest.Start(b)
	token := srv.ManagementToken(b, "default")
	org := seedMembers(b, srv.DB, 100_000)
	for _, page := range []int{1, 2500, 5000} {
		b.Run(fmt.Sprintf("page=%d", page), func(b *testing.B) {
			target := fmt.Sprintf("/api/organizations/%s/users?page=%d&page_size=20", org, page)
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("GET", target, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				serve(b, srv.Handler, req, http.StatusOK)
			}
		})
	}
}

// BenchmarkOrganizations_UserOrganizations measures GET
// /api/users/{id}/organizations for a user who is a member of 1,000
// organizations with one role in each.
func BenchmarkOrganizations_UserOrganizations(b *testing.B) {
	srv := apitest.Start(b)
	token := srv.ManagementToken(b, "default")
	ctx := context.Background()
	u, err := srv.DB.CreateUser(ctx, "default", store.UserCreate{Name: ptr("busy")})
	if err != nil {
		b.Fatal(err)
	}
	role, err := srv.DB.CreateOrganizationRole(ctx, "default", store.OrganizationRoleCreate{Name: "member"})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		org, err := srv.DB.CreateOrganization(ctx, "default", store.OrganizationCreate{Name: fmt.Sprint("org ", i)})
		if err != nil {
			b.Fatal(err)
		}
		if err := srv.DB.AddOrganizationUsers(ctx, "default", org.ID, []string{u.ID}, false); err != nil {
			b.Fatal(err)
		}
		if _, err := srv.DB.AssignOrganizationUserRoles(ctx, "default", org.ID, u.ID, []string{role.ID}, nil, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/api/users/"+u.ID+"/organizations", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		serve(b, srv.Handler, req, http.StatusOK)
	}
}

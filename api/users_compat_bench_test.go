package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store"
)

// BenchmarkUsers_ListExcludeRole compares pages of GET /api/users with
// excludeRoleId, in a tenant of 100,000 users, with the same pages without
// it: for a role of 1,000 users spread over the list and one of 50,000 (every
// second user). An exclusion alone pages through the rank index, reading the
// rank of each excluded user newer than the page, so a page costs what the
// unfiltered one does plus the role's member list.
func BenchmarkUsers_ListExcludeRole(b *testing.B) {
	srv := apitest.Start(b)
	token := srv.ManagementToken(b, "default")
	seedUsers(b, srv.DB, 100_000)
	ctx := context.Background()
	all, _, err := srv.DB.FindUsers(ctx, "default", store.UserFilter{}, pagination.Params{Page: 1, PageSize: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	roles := map[string]string{}
	for _, every := range []int{100, 2} {
		role, err := srv.DB.CreateRole(ctx, "default", store.RoleCreate{Name: fmt.Sprintf("every%d", every), Description: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		var ids []string
		for i := 0; i < len(all); i += every {
			ids = append(ids, all[i].ID)
		}
		for chunk := range slices.Chunk(ids, 1000) {
			if err := srv.DB.AssignRoleUsers(ctx, "default", role.ID, chunk); err != nil {
				b.Fatal(err)
			}
		}
		roles[fmt.Sprintf("%dmembers", len(ids))] = role.ID
	}
	for _, members := range []string{"none", "1000members", "50000members"} {
		for _, page := range []int{1, 1250, 2450} {
			b.Run(fmt.Sprintf("%s/page=%d", members, page), func(b *testing.B) {
				target := fmt.Sprintf("/api/users?page=%d&page_size=20", page)
				if members != "none" {
					target += "&excludeRoleId=" + roles[members]
				}
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest("GET", target, nil)
					req.Header.Set("Authorization", "Bearer "+token)
					serve(b, srv.Handler, req, http.StatusOK)
				}
			})
		}
	}
}

// BenchmarkUsers_SearchRegex measures a posix and a similar_to search on
// the name of 100,000 users (a scan: no index can serve a pattern), next
// to a like search of the same names, in one run.
func BenchmarkUsers_SearchRegex(b *testing.B) {
	srv := apitest.Start(b)
	token := srv.ManagementToken(b, "default")
	seedUsers(b, srv.DB, 100_000)
	for _, q := range []string{
		"search.name=" + url.QueryEscape("9999%") + "&isCaseSensitive=true",
		"search.name=" + url.QueryEscape("^9999[0-9]$") + "&mode=posix&isCaseSensitive=true",
		"search.name=" + url.QueryEscape("9999[0-9]") + "&mode=similar_to&isCaseSensitive=true",
	} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest("GET", "/api/users?"+q, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				serve(b, srv.Handler, req, http.StatusOK)
			}
		})
	}
}

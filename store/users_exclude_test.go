package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/idbolt/idbolt/pagination"
)

// TestFindUsers_ExcludeRoleDeepPages checks the rank path of an exclusion
// (rankindex.SeekNewestExcept) on a list that spans several blocks of every
// level but the top of the rank index, with gaps from deletions: every page
// of several sizes equals the page of the full list with the role's users
// taken out, and the total counts only those listed.
func TestFindUsers_ExcludeRoleDeepPages(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	var ids []string
	for b := range 5 {
		ins := make([]UserCreate, 1000)
		for i := range ins {
			ins[i].Username = ptr(fmt.Sprintf("u%d_%d", b, i))
		}
		users, err := db.CreateUsers(ctx, DefaultTenant, ins)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			ids = append(ids, u.ID)
		}
	}
	for i := 0; i < len(ids); i += 97 { // gaps in the sequence
		if err := db.DeleteUser(ctx, DefaultTenant, ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	role, err := db.CreateRole(ctx, DefaultTenant, RoleCreate{Name: "r", Description: "r"})
	if err != nil {
		t.Fatal(err)
	}
	// Runs of members (whole blocks) and scattered ones.
	var members []string
	for i, id := range ids {
		if i%97 != 0 && ((i >= 1000 && i < 1200) || rng.IntN(5) == 0) {
			members = append(members, id)
		}
	}
	for chunk := range slices.Chunk(members, 100) {
		if err := db.AssignRoleUsers(ctx, DefaultTenant, role.ID, chunk); err != nil {
			t.Fatal(err)
		}
	}
	all, total, err := db.FindUsers(ctx, DefaultTenant, UserFilter{}, pagination.Params{Page: 1, PageSize: 100000})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, u := range all {
		if !slices.Contains(members, u.ID) {
			want = append(want, u.ID)
		}
	}
	if total-len(members) != len(want) {
		t.Fatalf("fixture: %d users, %d members, %d left", total, len(members), len(want))
	}
	filter := UserFilter{ExcludeRoleID: role.ID}
	for _, size := range []int{1, 7, 100} {
		pages := (len(want) + size - 1) / size
		for _, page := range []int{1, 2, pages / 3, pages / 2, pages - 1, pages, pages + 1} {
			if page < 1 {
				continue
			}
			got, gotTotal, err := db.FindUsers(ctx, DefaultTenant, filter, pagination.Params{Page: page, PageSize: size})
			if err != nil {
				t.Fatal(err)
			}
			lo, hi := min((page-1)*size, len(want)), min(page*size, len(want))
			var gotIDs []string
			for _, u := range got {
				gotIDs = append(gotIDs, u.ID)
			}
			if gotTotal != len(want) || !slices.Equal(gotIDs, want[lo:hi]) {
				t.Fatalf("page_size=%d page=%d: total %d (want %d), %v, want %v", size, page, gotTotal, len(want), gotIDs, want[lo:hi])
			}
		}
	}
}

// TestFindUsers_ExcludeOldStyleIDs checks an exclusion whose members have
// ids of both kinds: random ones kept in user_ids (users from before user
// id keys) and ones made by the tenant's permutation.
func TestFindUsers_ExcludeOldStyleIDs(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	putOldStyleUser(t, db, DefaultTenant, "oldstyle0001", "old1")
	putOldStyleUser(t, db, DefaultTenant, "oldstyle0002", "old2")
	var ids []string
	for _, name := range []string{"new1", "new2", "new3"} {
		u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr(name)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	role, err := db.CreateRole(ctx, DefaultTenant, RoleCreate{Name: "r", Description: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AssignRoleUsers(ctx, DefaultTenant, role.ID, []string{"oldstyle0001", ids[1]}); err != nil {
		t.Fatal(err)
	}
	for _, filter := range []UserFilter{{ExcludeRoleID: role.ID}, {ExcludeRoleID: role.ID, IsSuspended: ptr(false)}} {
		for _, page := range []int{1, 2, 3, 4} {
			got, total, err := db.FindUsers(ctx, DefaultTenant, filter, pagination.Params{Page: page, PageSize: 1})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"new3", "new1", "old2"}
			if total != len(want) || (page <= len(want) && (len(got) != 1 || *got[0].Username != want[page-1])) || (page > len(want) && len(got) != 0) {
				t.Errorf("%+v page %d: %d users, total %d, want %v", filter, page, len(got), total, want)
			}
		}
	}
}

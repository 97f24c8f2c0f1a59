package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/idbolt/idbolt/api/apitest"
)

func TestUsers_Pagination(t *testing.T) {
	e := newEnv(t)
	const n = 45
	for i := range n {
		e.createUser(t, map[string]any{"username": fmt.Sprintf("p%02d", i)})
	}
	base := e.URL + "/api/users"
	tests := []struct {
		name      string
		query     string
		wantLen   int
		wantFirst string // username of the first item
		wantLinks []string
	}{
		{"Default", "", 20, "p44", []string{
			`<` + base + `?page=1>; rel="first"`, `<` + base + `?page=3>; rel="last"`, `<` + base + `?page=2>; rel="next"`}},
		{"Middle", "?page=2&page_size=10", 10, "p34", []string{
			`<` + base + `?page=1&page_size=10>; rel="first"`, `<` + base + `?page=1&page_size=10>; rel="prev"`,
			`<` + base + `?page=5&page_size=10>; rel="last"`, `<` + base + `?page=3&page_size=10>; rel="next"`}},
		{"Last", "?page=5&page_size=10", 5, "p04", []string{
			`<` + base + `?page=1&page_size=10>; rel="first"`, `<` + base + `?page=4&page_size=10>; rel="prev"`,
			`<` + base + `?page=5&page_size=10>; rel="last"`}},
		{"BeyondLast", "?page=99&page_size=10", 0, "", []string{
			`<` + base + `?page=1&page_size=10>; rel="first"`, `<` + base + `?page=98&page_size=10>; rel="prev"`,
			`<` + base + `?page=5&page_size=10>; rel="last"`}},
		{"KeepsOtherParams", "?search.username=%25p4%25&page_size=2", 2, "p44", []string{
			`<` + base + `?search.username=%25p4%25&page_size=2&page=1>; rel="first"`,
			`<` + base + `?search.username=%25p4%25&page_size=2&page=3>; rel="last"`,
			`<` + base + `?search.username=%25p4%25&page_size=2&page=2>; rel="next"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, "GET", base+tt.query, e.token, nil)
			var users []user
			r.JSON(t, &users)
			if r.Status != 200 || len(users) != tt.wantLen {
				t.Fatalf("%d, %d users: %s", r.Status, len(users), r.Body)
			}
			if tt.wantFirst != "" && *users[0].Username != tt.wantFirst {
				t.Errorf("first %s, want %s", *users[0].Username, tt.wantFirst)
			}
			if got := r.Header.Values("Link"); strings.Join(got, "\n") != strings.Join(tt.wantLinks, "\n") {
				t.Errorf("Link\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.wantLinks, "\n"))
			}
			wantTotal := "45"
			if strings.Contains(tt.query, "search") {
				wantTotal = "5" // %p4% matches p40 to p44
			}
			if r.Header.Get("Total-Number") != wantTotal {
				t.Errorf("Total-Number %s, want %s", r.Header.Get("Total-Number"), wantTotal)
			}
		})
	}
	t.Run("NewestFirst", func(t *testing.T) {
		r := call(t, "GET", base+"?page_size=100", e.token, nil)
		var users []user
		r.JSON(t, &users)
		for i := 1; i < len(users); i++ {
			if *users[i-1].Username < *users[i].Username {
				t.Fatalf("not newest first at %d: %s before %s", i, *users[i-1].Username, *users[i].Username)
			}
		}
	})
	t.Run("TenantPrefixInLinks", func(t *testing.T) {
		c := createTenant(t, e, "acme")
		tok := apitest.Token(t, e.URL, "acme", c.Credentials.ClientID, c.Credentials.ClientSecret, "https://acme.logto.app/api", "all")
		r := call(t, "GET", e.URL+"/t/acme/api/users?page_size=5", tok, nil)
		if got := r.Header.Values("Link")[0]; got != `<`+e.URL+`/t/acme/api/users?page_size=5&page=1>; rel="first"` {
			t.Errorf("Link %s", got)
		}
	})
	for _, bad := range []string{"page=0", "page=-1", "page=1.5", "page=1e9", "page=0x10", "page=abc", "page=",
		"page_size=0", "page_size=101", "page_size=1000", "page=99999999999999999999999", "page=1&page=2"} {
		t.Run("Invalid/"+bad, func(t *testing.T) {
			r := call(t, "GET", base+"?"+bad, e.token, nil)
			if r.Status != 400 || r.Code() != "guard.invalid_pagination" {
				t.Errorf("%s: %d %s", bad, r.Status, r.Body)
			}
		})
	}
}

func TestUsers_Search(t *testing.T) {
	e := newEnv(t)
	e.createUser(t, map[string]any{"username": "alice", "name": "Alice Liddell", "primaryEmail": "alice@wonder.land"})
	e.createUser(t, map[string]any{"username": "bob", "name": "Bob", "primaryEmail": "bob@example.com", "primaryPhone": "16502530000"})
	e.createUser(t, map[string]any{"username": "carol", "name": "carol"})
	tests := []struct {
		query string
		want  string // usernames, newest first
	}{
		{"search=%25liddell%25", "alice"},
		{"search=%25LIDDELL%25", "alice"},
		{"search=%25LIDDELL%25&isCaseSensitive=true", ""},
		{"search=%25example%25", "bob"},
		{"search=%25o%25", "carol,bob,alice"}, // o in carol, bob, wonder
		{"search.username=bob&mode.username=exact", "bob"},
		{"search.username=BOB&mode=exact", "bob"},
		{"search.username=bo", ""},
		{"search.username=b_b", "bob"},
		{"search.username=alice&search.username=carol&mode=exact", "carol,alice"},
		{"search.name=%25a%25&search.primaryEmail=%25.land&joint=and", "alice"},
		{"search.name=%25a%25&search.primaryEmail=%25.land", "carol,alice"},
		{"search.primaryPhone=%25", "bob"},
		{"search.id=nope&mode=exact", ""},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := call(t, "GET", e.URL+"/api/users?"+tt.query, e.token, nil)
			if r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			var users []user
			r.JSON(t, &users)
			var names []string
			for _, u := range users {
				names = append(names, *u.Username)
			}
			if got := strings.Join(names, ","); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if r.Header.Get("Total-Number") != fmt.Sprint(len(names)) {
				t.Errorf("Total-Number %s for %d results", r.Header.Get("Total-Number"), len(names))
			}
		})
	}
}

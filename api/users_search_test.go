package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// listUsernames returns the usernames of GET /api/users?query, newest first,
// and Total-Number.
func (e *env) listUsernames(t *testing.T, query string) ([]string, string) {
	t.Helper()
	r := call(t, "GET", e.URL+"/api/users?"+query, e.token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /api/users?%s: %d %s", query, r.Status, r.Body)
	}
	var users []user
	r.JSON(t, &users)
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = *u.Username
	}
	return names, r.Header.Get("Total-Number")
}

func TestUsers_SearchCustomDataAndSuspended(t *testing.T) {
	e := newEnv(t)
	for _, u := range []map[string]any{
		{"username": "ann", "customData": map[string]any{"plan": "pro", "seats": 10, "beta": true}},
		{"username": "ben", "customData": map[string]any{"plan": "Pro-Annual", "seats": 1e8}},
		{"username": "cat", "customData": map[string]any{"plan": "free", "seats": 2.5, "beta": false}},
		{"username": "dan", "customData": map[string]any{"plan": map[string]any{"name": "pro"}, "tags": []any{"pro"}}},
		{"username": "eve"},
	} {
		e.createUser(t, u)
	}
	for _, name := range []string{"ben", "dan", "eve"} {
		r := call(t, "GET", e.URL+"/api/users?search.username="+name+"&mode=exact", e.token, nil)
		var found []user
		r.JSON(t, &found)
		if len(found) != 1 {
			t.Fatalf("find %s: %s", name, r.Body)
		}
		if r := call(t, "PATCH", e.URL+"/api/users/"+found[0].ID+"/is-suspended", e.token, map[string]any{"isSuspended": true}); r.Status != http.StatusOK {
			t.Fatalf("suspend %s: %d %s", name, r.Status, r.Body)
		}
	}

	tests := []struct {
		name      string
		query     url.Values
		want      []string // newest first
		wantTotal string   // "" means len(want)
	}{
		{"ExactString", url.Values{"search.customData.plan": {"pro"}, "mode": {"exact"}}, []string{"ann"}, ""},
		{"ExactCaseInsensitive", url.Values{"search.customData.plan": {"PRO"}, "mode": {"exact"}}, []string{"ann"}, ""},
		{"ExactCaseSensitive", url.Values{"search.customData.plan": {"PRO"}, "mode": {"exact"}, "isCaseSensitive": {"true"}}, nil, ""},
		{"ExactSeveralValues", url.Values{"search.customData.plan": {"pro", "free"}, "mode.customData.plan": {"exact"}}, []string{"cat", "ann"}, ""},
		{"Like", url.Values{"search.customData.plan": {"pro%"}}, []string{"ben", "ann"}, ""},
		{"LikeNoMatch", url.Values{"search.customData.plan": {"%enterprise%"}}, nil, ""},
		{"LikeMatchesNoObject", url.Values{"search.customData.plan": {"%"}}, []string{"cat", "ben", "ann"}, ""},
		{"NumberAsJSONText", url.Values{"search.customData.seats": {"10"}, "mode": {"exact"}}, []string{"ann"}, ""},
		{"LargeNumberAsJSONText", url.Values{"search.customData.seats": {"100000000"}, "mode": {"exact"}}, []string{"ben"}, ""},
		{"FractionAsJSONText", url.Values{"search.customData.seats": {"2.5"}, "mode": {"exact"}}, []string{"cat"}, ""},
		{"Bool", url.Values{"search.customData.beta": {"false"}, "mode": {"exact"}}, []string{"cat"}, ""},
		{"ArrayIsNull", url.Values{"search.customData.tags": {"%"}}, nil, ""},
		{"MissingKey", url.Values{"search.customData.nokey": {"%"}}, nil, ""},
		{"OrWithTopLevelField", url.Values{"search.customData.plan": {"free"}, "search.username": {"eve"}, "mode": {"exact"}}, []string{"eve", "cat"}, ""},
		{"AndWithTopLevelField", url.Values{"search.customData.plan": {"%pro%"}, "search.username": {"b%"}, "joint": {"and"}}, []string{"ben"}, ""},
		{"GeneralSearchSkipsCustomData", url.Values{"search": {"%pro%"}}, nil, ""},
		{"Suspended", url.Values{"isSuspended": {"true"}}, []string{"eve", "dan", "ben"}, ""},
		{"NotSuspended", url.Values{"isSuspended": {"false"}}, []string{"cat", "ann"}, ""},
		{"SuspendedAndSearch", url.Values{"isSuspended": {"true"}, "search.customData.plan": {"%pro%"}}, []string{"ben"}, ""},
		{"NotSuspendedAndSearch", url.Values{"isSuspended": {"false"}, "search.customData.plan": {"%pro%"}}, []string{"ann"}, ""},
		{"SuspendedPaged", url.Values{"isSuspended": {"true"}, "page": {"2"}, "page_size": {"2"}}, []string{"ben"}, "3"},
		{"SuspendedBeyondLastPage", url.Values{"isSuspended": {"true"}, "page": {"3"}, "page_size": {"2"}}, nil, "3"},
		{"RepeatedSameValue", url.Values{"isSuspended": {"false", "false"}}, []string{"cat", "ann"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total := e.listUsernames(t, tt.query.Encode())
			want := tt.wantTotal
			if want == "" {
				want = strconv.Itoa(len(tt.want))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if total != want {
				t.Errorf("Total-Number %s, want %s", total, want)
			}
		})
	}

	bad := []struct{ name, query, wantInMsg string }{
		{"SuspendedNotBool", "isSuspended=yes", "isSuspended"},
		{"SuspendedEmpty", "isSuspended=", "isSuspended"},
		{"SuspendedConflicting", "isSuspended=true&isSuspended=false", "isSuspended"},
		{"CustomDataWithoutKey", "search.customData=pro", "customData"},
		{"CustomDataTooDeep", "search.customData.plan.name=pro", "single nested key"},
		{"OtherNestedField", "search.profile.givenName=x", "customData"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, "GET", e.URL+"/api/users?"+tt.query, e.token, nil)
			if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), tt.wantInMsg) {
				t.Errorf("got %d %s, want 400 mentioning %q", r.Status, r.Body, tt.wantInMsg)
			}
		})
	}
}

package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestUsers_PhoneNormalForm checks that phones are stored, compared for
// uniqueness and found by exact search in Logto's normal form (E.164 digits
// without +), and that an invalid number is 422 user.invalid_phone.
func TestUsers_PhoneNormalForm(t *testing.T) {
	e := newEnv(t)
	base := e.URL + "/api/users"
	stored := []struct{ in, want string }{
		{"610412345678", "61412345678"},      // the trunk 0 after the country code goes
		{"+1 (650) 253-0000", "16502530000"}, // separators
		{"+44 20 7946 0000", "442079460000"},
		{"4402079460001", "442079460001"},
		{"+39 06 1234 5678", "390612345678"}, // Italy keeps its leading 0
	}
	ids := map[string]string{}
	for _, tt := range stored {
		u := e.createUser(t, map[string]any{"primaryPhone": tt.in})
		if u.PrimaryPhone == nil || *u.PrimaryPhone != tt.want {
			t.Errorf("POST primaryPhone %q: stored %v, want %q", tt.in, u.PrimaryPhone, tt.want)
		}
		ids[tt.want] = u.ID
	}

	for _, tt := range []struct {
		name, method, path string
		body               any
		wantStatus         int
		wantCode           string
	}{
		{"SameNumberOtherFormat", "POST", "", map[string]any{"primaryPhone": "+61 412 345 678"}, 422, "user.phone_already_in_use"},
		{"SameNumberNormalForm", "POST", "", map[string]any{"primaryPhone": "61412345678"}, 422, "user.phone_already_in_use"},
		{"PatchIntoTaken", "PATCH", "/" + ids["16502530000"], map[string]any{"primaryPhone": "+61 (0)412 345 678"}, 422, "user.phone_already_in_use"},
		{"TooShort", "POST", "", map[string]any{"primaryPhone": "99999"}, 422, "user.invalid_phone"},
		{"NoSuchCountry", "POST", "", map[string]any{"primaryPhone": "+999 123 456"}, 422, "user.invalid_phone"},
		{"PatchInvalid", "PATCH", "/" + ids["61412345678"], map[string]any{"primaryPhone": "+61 4"}, 422, "user.invalid_phone"},
		{"Letters", "POST", "", map[string]any{"primaryPhone": "1-800-FLOWERS"}, 400, "guard.invalid_input"},
		{"Empty", "POST", "", map[string]any{"primaryPhone": ""}, 400, "guard.invalid_input"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := e.countUsers(t)
			r := call(t, tt.method, base+tt.path, e.token, tt.body)
			if r.Status != tt.wantStatus || r.Code() != tt.wantCode {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tt.wantStatus, tt.wantCode)
			}
			if after := e.countUsers(t); after != before {
				t.Errorf("user count changed from %s to %s", before, after)
			}
		})
	}

	// A batch compares its own entries in the normal form too.
	r := call(t, "POST", base+"/batch", e.token, map[string]any{"users": []map[string]any{
		{"primaryPhone": "+49 151 12345678"}, {"primaryPhone": "4915112345678"}}})
	if r.Status != 422 || r.Code() != "user.phone_already_in_use" || !strings.Contains(string(r.Body), "users[1]") {
		t.Errorf("batch with one number twice: %d %s", r.Status, r.Body)
	}
	r = call(t, "POST", base+"/batch", e.token, map[string]any{"users": []map[string]any{{"primaryPhone": "+49 151 1234567"}, {"primaryPhone": "99999"}}})
	if r.Status != 422 || r.Code() != "user.invalid_phone" {
		t.Errorf("batch with an invalid number: %d %s", r.Status, r.Body)
	}

	// PATCH stores the normal form, and frees the old number.
	r = call(t, "PATCH", base+"/"+ids["16502530000"], e.token, map[string]any{"primaryPhone": "+1 650-253-0001"})
	var got user
	r.JSON(t, &got)
	if r.Status != 200 || got.PrimaryPhone == nil || *got.PrimaryPhone != "16502530001" {
		t.Fatalf("PATCH phone: %d %s", r.Status, r.Body)
	}
	e.createUser(t, map[string]any{"primaryPhone": "16502530000"})

	// An exact search in any format finds the normal form; like compares
	// with the stored text as Logto's SQL does.
	for _, tt := range []struct{ query, wantTotal string }{
		{"search.primaryPhone=" + url.QueryEscape("+61 412 345 678") + "&mode.primaryPhone=exact", "1"},
		{"search.primaryPhone=610412345678&mode.primaryPhone=exact", "1"},
		{"search.primaryPhone=61412345678&search.primaryPhone=" + url.QueryEscape("+1 650 253 0001") + "&mode=exact", "2"},
		{"search.primaryPhone=" + url.QueryEscape("61%"), "1"},
		{"search.primaryPhone=" + url.QueryEscape("+61%"), "0"},
		{"search.primaryPhone=" + url.QueryEscape("+61 412 345 679") + "&mode.primaryPhone=exact", "0"},
	} {
		r := call(t, "GET", base+"?"+tt.query, e.token, nil)
		if r.Status != 200 || r.Header.Get("Total-Number") != tt.wantTotal {
			t.Errorf("%s: %d Total-Number %q, want %s: %s", tt.query, r.Status, r.Header.Get("Total-Number"), tt.wantTotal, r.Body)
		}
	}
}

// TestUsers_EmptyUpdates checks Logto's answers to updates that carry
// nothing: PATCH {} is 422 entity.invalid_input (404 first for an unknown
// user), and an empty password to verify is 400 guard.invalid_input.
func TestUsers_EmptyUpdates(t *testing.T) {
	e := newEnv(t)
	base := e.URL + "/api/users"
	u := e.createUser(t, map[string]any{"username": "quiet", "password": "Str0ng-Passw0rd!"})
	for _, tt := range []struct {
		name, method, path string
		body               any
		wantStatus         int
		wantCode           string
	}{
		{"PatchEmpty", "PATCH", "/" + u.ID, `{}`, 422, "entity.invalid_input"},
		{"PatchEmptyUnknownUser", "PATCH", "/nosuchuser00", `{}`, 404, "entity.not_found"},
		{"VerifyEmptyPassword", "POST", "/" + u.ID + "/password/verify", `{"password":""}`, 400, "guard.invalid_input"},
		{"VerifyEmptyPasswordUnknownUser", "POST", "/nosuchuser00/password/verify", `{"password":""}`, 400, "guard.invalid_input"},
		{"VerifyWrongPassword", "POST", "/" + u.ID + "/password/verify", `{"password":"nope"}`, 422, "session.invalid_credentials"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, tt.method, base+tt.path, e.token, tt.body)
			if r.Status != tt.wantStatus || r.Code() != tt.wantCode {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tt.wantStatus, tt.wantCode)
			}
		})
	}
	r := call(t, "GET", base+"/"+u.ID, e.token, nil)
	var got user
	r.JSON(t, &got)
	if got.UpdatedAt != u.UpdatedAt {
		t.Errorf("PATCH {} changed updatedAt: %d -> %d", u.UpdatedAt, got.UpdatedAt)
	}
}

// TestUsers_ListExclusions checks excludeRoleId and excludeOrganizationId on
// GET /api/users: alone, with search and isSuspended, on every page of
// several sizes, and that Total-Number counts only the users listed.
func TestUsers_ListExclusions(t *testing.T) {
	e := newEnv(t)
	ids := map[string]string{}
	for i := range 12 {
		name := fmt.Sprintf("u%02d", i)
		ids[name] = e.createUser(t, map[string]any{"username": name}).ID
	}
	role := e.newRole(t, "Reader", "User")
	e.do(t, "POST", "/api/roles/"+role.ID+"/users", map[string]any{"userIds": []string{ids["u01"], ids["u03"], ids["u04"], ids["u08"]}}, http.StatusCreated, nil)
	org := e.orgCreate(t, "Acme")
	e.orgAddUsers(t, org.ID, ids["u00"], ids["u04"], ids["u05"], ids["u11"])
	e.do(t, "PATCH", "/api/users/"+ids["u07"]+"/is-suspended", map[string]any{"isSuspended": true}, http.StatusOK, nil)
	// A deleted member leaves no trace in the exclusion.
	gone := e.createUser(t, map[string]any{"username": "gone"})
	e.do(t, "POST", "/api/roles/"+role.ID+"/users", map[string]any{"userIds": []string{gone.ID}}, http.StatusCreated, nil)
	e.do(t, "DELETE", "/api/users/"+gone.ID, nil, http.StatusNoContent, nil)

	for _, tt := range []struct{ query, want string }{
		{"excludeRoleId=" + role.ID, "u11,u10,u09,u07,u06,u05,u02,u00"},
		{"excludeOrganizationId=" + org.ID, "u10,u09,u08,u07,u06,u03,u02,u01"},
		{"excludeRoleId=nosuchrole", "u11,u10,u09,u08,u07,u06,u05,u04,u03,u02,u01,u00"},
		{"excludeOrganizationId=nosuchorg", "u11,u10,u09,u08,u07,u06,u05,u04,u03,u02,u01,u00"},
		{"excludeRoleId=" + role.ID + "&search=u0%25", "u09,u07,u06,u05,u02,u00"},
		{"excludeRoleId=" + role.ID + "&isSuspended=false", "u11,u10,u09,u06,u05,u02,u00"},
		{"excludeOrganizationId=" + org.ID + "&search.username=u03&search.username=u04&mode=exact", "u03"},
	} {
		t.Run(tt.query, func(t *testing.T) {
			all := strings.Split(tt.want, ",")
			for _, size := range []int{1, 3, 5, 20} {
				var got []string
				for page := 1; ; page++ {
					names, total := e.listUsernames(t, fmt.Sprintf("%s&page=%d&page_size=%d", tt.query, page, size))
					if total != fmt.Sprint(len(all)) {
						t.Fatalf("page_size=%d page=%d: Total-Number %s, want %d", size, page, total, len(all))
					}
					if len(names) == 0 {
						break
					}
					got = append(got, names...)
				}
				if strings.Join(got, ",") != tt.want {
					t.Errorf("page_size=%d: %v, want %s", size, got, tt.want)
				}
			}
		})
	}
	r := call(t, "GET", e.URL+"/api/users?excludeRoleId="+role.ID+"&excludeOrganizationId="+org.ID, e.token, nil)
	if r.Status != 400 || r.Code() != "request.invalid_input" {
		t.Errorf("both exclusions: %d %s, want 400 request.invalid_input", r.Status, r.Body)
	}
}

// TestUsers_ListIncludes checks includePasswordHash and includeSsoIdentities:
// the fields appear only when asked for, a listed digest imports back as
// the same password, and only a caller who may change every user gets
// password hashes.
func TestUsers_ListIncludes(t *testing.T) {
	f := newManagerFixture(t)
	e := f.env
	const password = "Str0ng-Passw0rd!"
	e.createUser(t, map[string]any{"username": "native", "password": password})
	e.createUser(t, map[string]any{"username": "imported", "passwordAlgorithm": "SHA256",
		"passwordDigest": "5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8"}) // sha256("password")
	plain := e.createUser(t, map[string]any{"username": "nopassword"})

	type entry struct {
		Username          string          `json:"username"`
		PasswordDigest    json.RawMessage `json:"passwordDigest"`
		PasswordAlgorithm json.RawMessage `json:"passwordAlgorithm"`
		SSOIdentities     json.RawMessage `json:"ssoIdentities"`
	}
	list := func(query string) map[string]entry {
		var l []entry
		e.do(t, "GET", "/api/users?search.username=native&search.username=imported&search.username=nopassword&mode=exact&"+query, nil, http.StatusOK, &l)
		out := map[string]entry{}
		for _, u := range l {
			out[u.Username] = u
		}
		return out
	}
	for _, u := range list("") {
		if u.PasswordDigest != nil || u.PasswordAlgorithm != nil || u.SSOIdentities != nil {
			t.Errorf("without include*: %+v", u)
		}
	}
	got := list("includePasswordHash=true&includeSsoIdentities=1")
	if d := string(got["native"].PasswordDigest); !strings.HasPrefix(d, `"$argon2id$v=19$`) || string(got["native"].PasswordAlgorithm) != `"Argon2id"` {
		t.Errorf("native: %s %s", d, got["native"].PasswordAlgorithm)
	}
	if d := string(got["imported"].PasswordDigest); d != `"5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"` || string(got["imported"].PasswordAlgorithm) != `"SHA256"` {
		t.Errorf("imported: %s %s", d, got["imported"].PasswordAlgorithm)
	}
	if string(got["nopassword"].PasswordDigest) != "null" || string(got["nopassword"].PasswordAlgorithm) != "null" {
		t.Errorf("nopassword: %+v", got["nopassword"])
	}
	for name, u := range got {
		if string(u.SSOIdentities) != "[]" {
			t.Errorf("%s: ssoIdentities %s, want []", name, u.SSOIdentities)
		}
	}
	// What a listing gives, POST /api/users takes back: the copy accepts
	// the same password.
	var digest, algorithm string
	json.Unmarshal(got["native"].PasswordDigest, &digest)
	json.Unmarshal(got["native"].PasswordAlgorithm, &algorithm)
	copied := e.createUser(t, map[string]any{"username": "copy", "passwordDigest": digest, "passwordAlgorithm": algorithm})
	e.do(t, "POST", "/api/users/"+copied.ID+"/password/verify", map[string]any{"password": password}, http.StatusNoContent, nil)

	r := e.do(t, "GET", "/api/users/"+plain.ID+"?includeSsoIdentities=true", nil, http.StatusOK, nil)
	if !strings.Contains(string(r.Body), `"ssoIdentities":[]`) {
		t.Errorf("GET by id with includeSsoIdentities: %s", r.Body)
	}
	r = e.do(t, "GET", "/api/users/"+plain.ID, nil, http.StatusOK, nil)
	if strings.Contains(string(r.Body), "ssoIdentities") {
		t.Errorf("GET by id without includeSsoIdentities: %s", r.Body)
	}

	for _, tt := range []struct {
		caller, query string
		want          int
	}{
		{"iam", "includePasswordHash=true", 200},
		{"iamView", "includePasswordHash=true", 403},
		{"org", "includePasswordHash=true", 403},
		{"iamView", "excludeRoleId=x", 200},
		{"org", "excludeRoleId=x", 403},
		{"org", "excludeOrganizationId=" + f.o2, 403},
		{"org", "excludeOrganizationId=" + f.o1, 200},
		{"org", "includePasswordHash=false&includeSsoIdentities=true", 200},
	} {
		r := call(t, "GET", e.URL+"/api/users?"+tt.query, f.tokens[tt.caller], nil)
		if r.Status != tt.want || (tt.want == 403 && r.Code() != "auth.forbidden") {
			t.Errorf("%s ?%s: %d %s, want %d", tt.caller, tt.query, r.Status, r.Body, tt.want)
		}
		if tt.want == 200 && strings.Contains(tt.query, "includePasswordHash=true") && !strings.Contains(string(r.Body), "$argon2id$") {
			t.Errorf("%s ?%s: no digest in %s", tt.caller, tt.query, r.Body)
		}
	}
	r = call(t, "GET", e.URL+"/api/users?excludeOrganizationId="+f.o1, f.tokens["org"], nil)
	if string(r.Body) != "[]" || r.Header.Get("Total-Number") != "0" {
		t.Errorf("org manager excluding its own organization: %s (%s)", r.Body, r.Header.Get("Total-Number"))
	}
}

// TestUsers_RegexSearch checks mode=posix and mode=similar_to on GET
// /api/users and GET /api/roles/{id}/users with Logto's own example, and
// that a pattern idbolt cannot handle, or one that backtracks without end,
// is 400 request.invalid_input. The time a hostile pattern takes is
// logged, not checked.
func TestUsers_RegexSearch(t *testing.T) {
	e := newEnv(t)
	ids := map[string]string{}
	for _, name := range []string{"Jerry Smith Jr", "Jerry Jr Jr", "Jerry Jones", "Tom Jerry Jr", "jerry lee", strings.Repeat("a", 100) + "!"} {
		ids[name] = e.createUser(t, map[string]any{"name": name}).ID
	}
	role := e.newRole(t, "Jerries", "User")
	e.do(t, "POST", "/api/roles/"+role.ID+"/users", map[string]any{"userIds": []string{ids["Jerry Smith Jr"], ids["Tom Jerry Jr"]}}, http.StatusCreated, nil)
	names := func(r response) string {
		var list []struct {
			Name string `json:"name"`
		}
		r.JSON(t, &list)
		out := make([]string, len(list))
		for i, u := range list {
			out[i] = u.Name
		}
		return strings.Join(out, "|")
	}
	q := url.QueryEscape
	for _, tt := range []struct{ path, want, total string }{
		{"/api/users?search.name=" + q(`^Jerry((?!Jr).)*Jr{1}((?!Jr).)*$`) + "&mode.name=posix&isCaseSensitive=true", "Jerry Smith Jr", "1"},
		{"/api/users?search=" + q(`^jerry\y`) + "&mode=posix", "jerry lee|Jerry Jones|Jerry Jr Jr|Jerry Smith Jr", "4"},
		{"/api/users?search=" + q(`^jerry\y`) + "&mode=posix&page=2&page_size=3", "Jerry Smith Jr", "4"},
		{"/api/users?search.name=" + q(`Jerry%Jr`) + "&mode.name=similar_to&isCaseSensitive=true", "Jerry Jr Jr|Jerry Smith Jr", "2"}, // the whole name
		{"/api/users?search.name=" + q(`%Jerry%Jr`) + "&mode.name=similar_to&isCaseSensitive=true", "Tom Jerry Jr|Jerry Jr Jr|Jerry Smith Jr", "3"},
		{"/api/users?search.name=" + q(`Jerry (Smith|Jones)%`) + "&mode.name=similar_to&isCaseSensitive=true", "Jerry Jones|Jerry Smith Jr", "2"},
		{"/api/roles/" + role.ID + "/users?search.name=" + q(`Jr$`) + "&mode.name=posix", "Jerry Smith Jr|Tom Jerry Jr", "2"},
	} {
		r := e.do(t, "GET", tt.path, nil, http.StatusOK, nil)
		got := names(r)
		if strings.HasPrefix(tt.path, "/api/roles/") {
			// A role's users are listed in id order, and ids are not in
			// creation order: compare the sets.
			list := strings.Split(got, "|")
			slices.Sort(list)
			got = strings.Join(list, "|")
		}
		if got != tt.want || r.Header.Get("Total-Number") != tt.total {
			t.Errorf("%s: %q (Total-Number %s), want %q (%s)", tt.path, got, r.Header.Get("Total-Number"), tt.want, tt.total)
		}
	}
	for _, tt := range []struct{ name, query, param string }{
		{"SimilarToCaseInsensitive", "search.name=Jerry%25&mode.name=similar_to", "search.name"},
		{"Hostile", "search.name=" + q(`^(a+)+$`) + "&mode.name=posix", "search.name"},
		{"HostileSimilarTo", "search=" + q(`(aa|a)+`) + "&mode=similar_to&isCaseSensitive=true", "search"},
		{"TooLong", "search.name=" + strings.Repeat("a", 129) + "&mode.name=posix", "search.name"},
		{"NotPostgres", "search.name=" + q(`(?<x>a)`) + "&mode.name=posix", "search.name"},
		{"BadBound", "search.name=" + q(`a{300}`) + "&mode.name=posix", "search.name"},
		{"TwoValues", "search.name=a&search.name=b&mode.name=posix", "search.name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r := call(t, "GET", e.URL+"/api/users?"+tt.query, e.token, nil)
			t.Logf("%s: %d in %v: %s", tt.query, r.Status, time.Since(start), r.Body)
			if r.Status != 400 || r.Code() != "request.invalid_input" || !strings.Contains(string(r.Body), tt.param) {
				t.Fatalf("got %d %s, want 400 request.invalid_input naming %s", r.Status, r.Body, tt.param)
			}
			if strings.Contains(string(r.Body), "aaaaaaaa") {
				t.Errorf("the error quotes a user's data: %s", r.Body)
			}
		})
	}
	// The other lists still refuse the regex modes.
	e.fail(t, "GET", "/api/applications?search=a&mode=posix", nil, 400, "request.invalid_input")
}

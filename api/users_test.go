package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestUsers_CRUD(t *testing.T) {
	e := newEnv(t)
	base := e.URL + "/api/users"

	u := e.createUser(t, map[string]any{"username": "alice", "primaryEmail": "Alice@Example.com",
		"name": "Alice", "password": "Str0ng-Passw0rd!", "customData": map[string]any{"plan": "pro"},
		"profile": map[string]any{"givenName": "Alice"}})
	if len(u.ID) != 12 || strings.Trim(u.ID, "0123456789abcdefghijklmnopqrstuvwxyz") != "" {
		t.Errorf("id %q: want 12 chars of [0-9a-z]", u.ID)
	}
	if !u.HasPassword || u.CustomData["plan"] != "pro" || u.Profile["givenName"] != "Alice" || u.CreatedAt == 0 {
		t.Errorf("created user = %+v", u)
	}

	t.Run("Get", func(t *testing.T) {
		r := call(t, "GET", base+"/"+u.ID, e.token, nil)
		var got user
		r.JSON(t, &got)
		if r.Status != 200 || got.ID != u.ID || *got.Username != "alice" {
			t.Fatalf("get: %d %s", r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), "argon2") || strings.Contains(string(r.Body), "password\"") {
			t.Errorf("password hash leaked: %s", r.Body)
		}
		for _, field := range []string{`"primaryPhone":null`, `"avatar":null`, `"identities":{}`, `"lastSignInAt":null`, `"applicationId":null`, `"isSuspended":false`} {
			if !strings.Contains(string(r.Body), field) {
				t.Errorf("body lacks %s: %s", field, r.Body)
			}
		}
	})
	t.Run("Patch", func(t *testing.T) {
		r := call(t, "PATCH", base+"/"+u.ID, e.token, map[string]any{"name": "Renamed", "primaryEmail": nil})
		var got user
		r.JSON(t, &got)
		if r.Status != 200 || *got.Name != "Renamed" || got.PrimaryEmail != nil || *got.Username != "alice" {
			t.Fatalf("patch: %d %s", r.Status, r.Body)
		}
		// The email was cleared, so it is free again.
		e.createUser(t, map[string]any{"primaryEmail": "alice@example.com"})
	})
	t.Run("CustomData", func(t *testing.T) {
		r := call(t, "PATCH", base+"/"+u.ID+"/custom-data", e.token, map[string]any{"customData": map[string]any{"seats": 3}})
		if r.Status != 200 || string(r.Body) != `{"plan":"pro","seats":3}` {
			t.Fatalf("patch custom data: %d %s", r.Status, r.Body)
		}
		r = call(t, "GET", base+"/"+u.ID+"/custom-data", e.token, nil)
		if r.Status != 200 || string(r.Body) != `{"plan":"pro","seats":3}` {
			t.Fatalf("get custom data: %d %s", r.Status, r.Body)
		}
		r = call(t, "PATCH", base+"/"+u.ID+"/custom-data", e.token, map[string]any{})
		if r.Status != 400 || r.Code() != "guard.invalid_input" {
			t.Fatalf("patch without customData: %d %s", r.Status, r.Body)
		}
	})
	t.Run("Profile", func(t *testing.T) {
		r := call(t, "PATCH", base+"/"+u.ID+"/profile", e.token, map[string]any{"profile": map[string]any{"familyName": "Liddell"}})
		if r.Status != 200 || string(r.Body) != `{"familyName":"Liddell","givenName":"Alice"}` {
			t.Fatalf("patch profile: %d %s", r.Status, r.Body)
		}
	})
	t.Run("Password", func(t *testing.T) {
		r := call(t, "POST", base+"/"+u.ID+"/password/verify", e.token, map[string]any{"password": "Str0ng-Passw0rd!"})
		if r.Status != 204 {
			t.Fatalf("verify right password: %d %s", r.Status, r.Body)
		}
		r = call(t, "POST", base+"/"+u.ID+"/password/verify", e.token, map[string]any{"password": "wrong"})
		if r.Status != 422 {
			t.Fatalf("verify wrong password: %d %s", r.Status, r.Body)
		}
		r = call(t, "PATCH", base+"/"+u.ID+"/password", e.token, map[string]any{"password": "An0ther-one!"})
		if r.Status != 200 {
			t.Fatalf("set password: %d %s", r.Status, r.Body)
		}
		r = call(t, "POST", base+"/"+u.ID+"/password/verify", e.token, map[string]any{"password": "An0ther-one!"})
		if r.Status != 204 {
			t.Fatalf("verify new password: %d %s", r.Status, r.Body)
		}
		r = call(t, "GET", base+"/"+u.ID+"/has-password", e.token, nil)
		if r.Status != 200 || string(r.Body) != `{"hasPassword":true}` {
			t.Fatalf("has-password: %d %s", r.Status, r.Body)
		}
		nopw := e.createUser(t, map[string]any{})
		r = call(t, "GET", base+"/"+nopw.ID+"/has-password", e.token, nil)
		if string(r.Body) != `{"hasPassword":false}` {
			t.Fatalf("has-password without one: %s", r.Body)
		}
		r = call(t, "POST", base+"/"+nopw.ID+"/password/verify", e.token, map[string]any{"password": "x"})
		if r.Status != 422 {
			t.Fatalf("verify on user without password: %d %s", r.Status, r.Body)
		}
	})
	t.Run("Suspend", func(t *testing.T) {
		r := call(t, "PATCH", base+"/"+u.ID+"/is-suspended", e.token, map[string]any{"isSuspended": true})
		var got user
		r.JSON(t, &got)
		if r.Status != 200 || !got.IsSuspended {
			t.Fatalf("suspend: %d %s", r.Status, r.Body)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		if r := call(t, "DELETE", base+"/"+u.ID, e.token, nil); r.Status != 204 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		r := call(t, "DELETE", base+"/"+u.ID, e.token, nil)
		if r.Status != 404 || r.Code() != "entity.not_found" {
			t.Fatalf("delete again: %d %s", r.Status, r.Body)
		}
		if r := call(t, "GET", base+"/"+u.ID, e.token, nil); r.Status != 404 {
			t.Fatalf("get deleted: %d", r.Status)
		}
		// The username is free again.
		e.createUser(t, map[string]any{"username": "alice"})
	})
}

func TestUsers_Conflicts(t *testing.T) {
	e := newEnv(t)
	base := e.URL + "/api/users"
	first := e.createUser(t, map[string]any{"username": "bob", "primaryEmail": "bob@example.com", "primaryPhone": "16502530000"})
	other := e.createUser(t, map[string]any{"username": "carol"})
	tests := []struct {
		name     string
		method   string
		path     string
		body     any
		wantCode string
	}{
		{"Username", "POST", "", map[string]any{"username": "bob"}, "user.username_already_in_use"},
		{"EmailCaseInsensitive", "POST", "", map[string]any{"primaryEmail": "BOB@example.COM"}, "user.email_already_in_use"},
		{"Phone", "POST", "", map[string]any{"primaryPhone": "16502530000"}, "user.phone_already_in_use"},
		{"PatchIntoUsername", "PATCH", "/" + other.ID, map[string]any{"username": "bob"}, "user.username_already_in_use"},
		{"PatchIntoEmail", "PATCH", "/" + other.ID, map[string]any{"primaryEmail": "Bob@Example.com"}, "user.email_already_in_use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.countUsers(t)
			r := call(t, tt.method, base+tt.path, e.token, tt.body)
			if r.Status != 422 || r.Code() != tt.wantCode {
				t.Fatalf("got %d %s, want 422 %s", r.Status, r.Body, tt.wantCode)
			}
			if after := e.countUsers(t); after != before {
				t.Errorf("user count changed from %s to %s", before, after)
			}
		})
	}
	t.Run("PatchOwnValues", func(t *testing.T) {
		r := call(t, "PATCH", base+"/"+first.ID, e.token, map[string]any{"username": "bob", "primaryEmail": "BOB@example.com"})
		if r.Status != 200 {
			t.Fatalf("re-setting own values: %d %s", r.Status, r.Body)
		}
	})
	t.Run("Unchanged", func(t *testing.T) {
		r := call(t, "GET", base+"/"+other.ID, e.token, nil)
		var got user
		r.JSON(t, &got)
		if *got.Username != "carol" || got.PrimaryEmail != nil {
			t.Errorf("failed patch changed data: %s", r.Body)
		}
	})
}

func TestUsers_BadInput(t *testing.T) {
	e := newEnv(t)
	victim := e.createUser(t, map[string]any{"username": "victim", "name": "V"})
	base := e.URL + "/api/users"
	big := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		wantCode   string
		wantInMsg  string
	}{
		{"WrongType", "POST", "", `{"username":123}`, 400, "guard.invalid_input", "username"},
		{"BadEmail", "POST", "", `{"primaryEmail":"not-an-email"}`, 400, "guard.invalid_input", "primaryEmail"},
		{"BadPhone", "POST", "", `{"primaryPhone":"+1 555 CALL"}`, 400, "guard.invalid_input", "primaryPhone"},
		{"InvalidPhone", "POST", "", `{"primaryPhone":"99999"}`, 422, "user.invalid_phone", "primaryPhone"},
		{"PatchInvalidPhone", "PATCH", "/" + victim.ID, `{"primaryPhone":"+1 555"}`, 422, "user.invalid_phone", "primaryPhone"},
		{"BadUsername", "POST", "", `{"username":"1abc"}`, 400, "guard.invalid_input", "username"},
		{"LongUsername", "POST", "", `{"username":"` + strings.Repeat("a", 129) + `"}`, 400, "guard.invalid_input", "username"},
		{"BadAvatar", "POST", "", `{"avatar":"javascript:alert(1)"}`, 400, "guard.invalid_input", "avatar"},
		{"EmptyPassword", "POST", "", `{"password":""}`, 400, "guard.invalid_input", "password"},
		{"CustomDataNotObject", "POST", "", `{"customData":[1]}`, 400, "guard.invalid_input", "customData"},
		{"ProfileWrongType", "POST", "", `{"profile":{"givenName":5}}`, 400, "guard.invalid_input", "givenName"},
		{"MalformedJSON", "POST", "", `{"username":`, 400, "guard.invalid_input", "JSON"},
		{"NotAnObject", "POST", "", `[1,2]`, 400, "guard.invalid_input", "object"},
		{"TrailingData", "POST", "", `{} {}`, 400, "guard.invalid_input", "after"},
		{"TooLarge", "POST", "", big, 413, "request.body_too_large", ""},
		{"PasswordDigest", "POST", "", `{"passwordDigest":"x","passwordAlgorithm":"MD5"}`, 400, "guard.invalid_input", "passwordDigest"},
		{"PatchWrongType", "PATCH", "/" + victim.ID, `{"name":5}`, 400, "guard.invalid_input", "name"},
		{"PatchBadEmail", "PATCH", "/" + victim.ID, `{"primaryEmail":"x"}`, 400, "guard.invalid_input", "primaryEmail"},
		{"PatchUnknownUser", "PATCH", "/nosuchuser00", `{"name":"x"}`, 404, "entity.not_found", ""},
		{"SuspendMissing", "PATCH", "/" + victim.ID + "/is-suspended", `{}`, 400, "guard.invalid_input", "isSuspended"},
		{"SuspendWrongType", "PATCH", "/" + victim.ID + "/is-suspended", `{"isSuspended":"yes"}`, 400, "guard.invalid_input", "isSuspended"},
		{"PasswordMissing", "PATCH", "/" + victim.ID + "/password", `{}`, 400, "guard.invalid_input", "password"},
		{"VerifyUnknownUser", "POST", "/nosuchuser00/password/verify", `{"password":"x"}`, 404, "entity.not_found", ""},
		{"ProfileMissing", "PATCH", "/" + victim.ID + "/profile", `{}`, 400, "guard.invalid_input", "profile"},
		{"GetUnknown", "GET", "/doesnotexist", nil, 404, "entity.not_found", ""},
		{"SearchBadMode", "GET", "?search=x&mode=regex", nil, 400, "", "regex"},
		{"SearchUnknownField", "GET", "?search.password=x", nil, 400, "", "password"},
		{"SearchEmptyValue", "GET", "?search.username=", nil, 400, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.countUsers(t)
			r := call(t, tt.method, base+tt.path, e.token, tt.body)
			if r.Status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.wantStatus, r.Body)
			}
			if tt.wantCode != "" && r.Code() != tt.wantCode {
				t.Errorf("code %q, want %q: %s", r.Code(), tt.wantCode, r.Body)
			}
			if !strings.Contains(string(r.Body), tt.wantInMsg) {
				t.Errorf("body %s does not mention %q", r.Body, tt.wantInMsg)
			}
			if after := e.countUsers(t); after != before {
				t.Errorf("user count changed from %s to %s", before, after)
			}
		})
	}
	r := call(t, "GET", base+"/"+victim.ID, e.token, nil)
	var got user
	r.JSON(t, &got)
	if *got.Name != "V" || got.PrimaryEmail != nil || got.IsSuspended || got.HasPassword {
		t.Errorf("bad input changed the user: %s", r.Body)
	}
}

func TestUsers_ParallelSameUsername(t *testing.T) {
	e := newEnv(t)
	const n = 32
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = call(t, "POST", e.URL+"/api/users", e.token, map[string]any{"username": "racer"}).Status
		}()
	}
	wg.Wait()
	won, lost := 0, 0
	for _, s := range statuses {
		switch s {
		case 200:
			won++
		case 422:
			lost++
		default:
			t.Errorf("unexpected status %d", s)
		}
	}
	if won != 1 || lost != n-1 {
		t.Fatalf("won %d, lost %d: want exactly one winner", won, lost)
	}
	r := call(t, "GET", e.URL+"/api/users?search.username=racer&mode=exact", e.token, nil)
	if r.Header.Get("Total-Number") != "1" {
		t.Fatalf("users named racer: %s", r.Header.Get("Total-Number"))
	}
}

func TestUsers_ParallelCreates(t *testing.T) {
	e := newEnv(t)
	const workers, each = 16, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := call(t, "POST", e.URL+"/api/users", e.token, map[string]any{"username": fmt.Sprintf("u%d_%d", w, i)})
				if r.Status != 200 {
					t.Errorf("create: %d %s", r.Status, r.Body)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got, want := e.countUsers(t), fmt.Sprint(workers*each); got != want {
		t.Fatalf("Total-Number %s, want %s", got, want)
	}
}

func TestUsers_NotFoundMethods(t *testing.T) {
	e := newEnv(t)
	r := call(t, "PUT", e.URL+"/api/users", e.token, `{}`)
	if r.Status != http.StatusMethodNotAllowed || !strings.Contains(r.Header.Get("Allow"), "POST") || r.Code() == "" {
		t.Errorf("PUT /api/users: %d %v %s", r.Status, r.Header, r.Body)
	}
	r = call(t, "GET", e.URL+"/api/nope", e.token, nil)
	if r.Status != http.StatusNotFound || r.Code() == "" {
		t.Errorf("GET /api/nope: %d %s", r.Status, r.Body)
	}
	r = call(t, "GET", e.URL+"/api/status", "", nil)
	if r.Status != http.StatusNoContent {
		t.Errorf("GET /api/status: %d", r.Status)
	}
}

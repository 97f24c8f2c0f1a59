package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestText_InvalidInput checks that invalid UTF-8, unpaired surrogates and
// control characters in names are refused with a 400 naming the field, and
// that nothing is stored.
func TestText_InvalidInput(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, map[string]any{"username": "alice"})
	cases := []struct {
		name, method, path string
		body               string // raw JSON, sent as is
		wantField          string
	}{
		{"user name, invalid UTF-8", "POST", "/api/users", "{\"username\":\"bob\",\"name\":\"Bob \xe9\"}", "name"},
		{"user name, lone surrogate", "POST", "/api/users", `{"username":"bob","name":"Bob \ud800"}`, "name"},
		{"user name, NUL", "POST", "/api/users", `{"username":"bob","name":"Bob\u0000"}`, "name"},
		{"user email, NUL", "POST", "/api/users", `{"username":"bob","primaryEmail":"bob@example.com\u0000"}`, "primaryEmail"},
		{"user name, newline", "PATCH", "/api/users/" + u.ID, `{"name":"Alice\nSmith"}`, "name"},
		{"user customData, nested", "POST", "/api/users", "{\"username\":\"bob\",\"customData\":{\"prefs\":{\"nick\":\"\xff\xfe\"}}}", "customData.prefs.nick"},
		{"user customData, in an array", "PATCH", "/api/users/" + u.ID + "/custom-data", "{\"customData\":{\"tags\":[\"ok\",\"\xc3\"]}}", "customData.tags[1]"},
		{"user profile, control character", "PATCH", "/api/users/" + u.ID + "/profile", `{"profile":{"givenName":"Al\u001bice"}}`, "profile.givenName"},
		{"batch entry", "POST", "/api/users/batch", "{\"users\":[{\"username\":\"c\"},{\"username\":\"d\",\"name\":\"\x80\"}]}", "users[1].name"},
		{"application name, NUL", "POST", "/api/applications", `{"name":"app\u0000","type":"MachineToMachine"}`, "name"},
		{"application description, ESC", "POST", "/api/applications", `{"name":"app","type":"SPA","description":"\u001b[2J"}`, "description"},
		{"role name, tab", "POST", "/api/roles", `{"name":"a\tb","description":"d"}`, "name"},
		{"resource name, C1", "POST", "/api/resources", `{"name":"r\u0085","indicator":"https://r.example.com"}`, "name"},
		{"organization name, line separator", "POST", "/api/organizations", `{"name":"Acme\u2028Inc"}`, "name"},
		{"organization role name, DEL", "POST", "/api/organization-roles", `{"name":"x\u007f"}`, "name"},
		{"API client first name, NUL", "POST", "/api/api-clients", `{"clientId":"text-bot","firstName":"A\u0000"}`, "firstName"},
	}
	before := e.countUsers(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, tc.method, e.URL+tc.path, e.token, []byte(tc.body))
			if r.Status != http.StatusBadRequest || r.Code() != "guard.invalid_input" {
				t.Fatalf("%d %s, want 400 guard.invalid_input", r.Status, r.Body)
			}
			var body struct{ Details string }
			r.JSON(t, &body)
			if !strings.HasPrefix(body.Details, `Error in key path "`+tc.wantField+`": `) {
				t.Errorf("details %q, want the field %s", body.Details, tc.wantField)
			}
		})
	}
	if got := e.countUsers(t); got != before {
		t.Errorf("users: %s, want %s", got, before)
	}
	var got user
	e.do(t, "GET", "/api/users/"+u.ID, nil, http.StatusOK, &got)
	if got.Name != nil || len(got.CustomData) != 0 || len(got.Profile) != 0 {
		t.Errorf("user changed: %+v", got)
	}

	// What stays allowed: multi-line descriptions, any Unicode, a U+FFFD
	// that was sent as such, and control characters inside customData.
	e.do(t, "POST", "/api/roles", []byte(`{"name":"Zoë 注文 🚀","description":"line one\nline two\ttabbed"}`), http.StatusOK, nil)
	var ok user
	e.do(t, "POST", "/api/users", []byte(`{"username":"carol","name":"Carol \ufffd \ud83d\ude80","customData":{"raw":"a\u0000b"}}`), http.StatusOK, &ok)
	if *ok.Name != "Carol \uFFFD 🚀" || ok.CustomData["raw"] != "a\x00b" {
		t.Errorf("created %+v", ok)
	}
}

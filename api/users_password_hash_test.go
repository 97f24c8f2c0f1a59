package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestUsers_GetIncludePasswordHash checks includePasswordHash on GET
// /api/users/{id}: the fields appear only with the flag (null for a user
// without a password), the digest imports back as the same password, a
// viewer or an organization manager is refused (403, not a body without the
// fields), and every read of digests is in the audit log.
func TestUsers_GetIncludePasswordHash(t *testing.T) {
	f := newManagerFixture(t)
	e := f.env
	const password = "Str0ng-Passw0rd!"
	native := e.createUser(t, map[string]any{"username": "native", "password": password})
	imported := e.createUser(t, map[string]any{"username": "imported", "passwordAlgorithm": "SHA256",
		"passwordDigest": "5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8"}) // sha256("password")
	plain := e.createUser(t, map[string]any{"username": "nopassword"})

	type entry struct {
		PasswordDigest    json.RawMessage `json:"passwordDigest"`
		PasswordAlgorithm json.RawMessage `json:"passwordAlgorithm"`
	}
	get := func(id, query string) entry {
		t.Helper()
		var u entry
		e.do(t, "GET", "/api/users/"+id+query, nil, http.StatusOK, &u)
		return u
	}
	for _, tt := range []struct {
		name, id, query, digestPrefix, algorithm string
	}{
		{"no flag", native.ID, "", "", ""},
		{"flag false", native.ID, "?includePasswordHash=false", "", ""},
		{"argon2id", native.ID, "?includePasswordHash=true", `"$argon2id$v=19$`, `"Argon2id"`},
		{"flag 1", native.ID, "?includePasswordHash=1", `"$argon2id$v=19$`, `"Argon2id"`},
		{"sha256", imported.ID, "?includePasswordHash=yes", `"5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"`, `"SHA256"`},
		{"no password", plain.ID, "?includePasswordHash=true", "null", "null"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := get(tt.id, tt.query)
			if tt.digestPrefix == "" {
				if u.PasswordDigest != nil || u.PasswordAlgorithm != nil {
					t.Errorf("fields present without the flag: %s %s", u.PasswordDigest, u.PasswordAlgorithm)
				}
				return
			}
			if !strings.HasPrefix(string(u.PasswordDigest), tt.digestPrefix) || string(u.PasswordAlgorithm) != tt.algorithm {
				t.Errorf("got %s %s, want %s... %s", u.PasswordDigest, u.PasswordAlgorithm, tt.digestPrefix, tt.algorithm)
			}
		})
	}

	// The digest of GET by id creates a user with the same password.
	u := get(native.ID, "?includePasswordHash=true")
	var digest, algorithm string
	json.Unmarshal(u.PasswordDigest, &digest)
	json.Unmarshal(u.PasswordAlgorithm, &algorithm)
	copied := e.createUser(t, map[string]any{"username": "copy", "passwordDigest": digest, "passwordAlgorithm": algorithm})
	e.do(t, "POST", "/api/users/"+copied.ID+"/password/verify", map[string]any{"password": password}, http.StatusNoContent, nil)

	// f.u1 is a member of the organization "org" and "orgView" manage, so
	// they may read it, but not its digest.
	for _, tt := range []struct {
		caller, query string
		want          int
	}{
		{"iam", "?includePasswordHash=true", 200},
		{"iamView", "?includePasswordHash=true", 403},
		{"org", "?includePasswordHash=true", 403},
		{"orgView", "?includePasswordHash=true", 403},
		{"org", "", 200},
		{"org", "?includePasswordHash=false", 200},
	} {
		r := call(t, "GET", e.URL+"/api/users/"+f.u1.ID+tt.query, f.tokens[tt.caller], nil)
		if r.Status != tt.want || (tt.want == 403 && r.Code() != "auth.forbidden") {
			t.Errorf("%s %s: %d %s, want %d", tt.caller, tt.query, r.Status, r.Body, tt.want)
		}
		if tt.want == 200 && strings.Contains(string(r.Body), "passwordDigest") != (tt.query == "?includePasswordHash=true") {
			t.Errorf("%s %s: %s", tt.caller, tt.query, r.Body)
		}
	}

	// Each read of digests is audited: GET by id with the user, a listing
	// with the number of users it gave; refusals and plain reads are not.
	entries, _ := e.logs(t, "logKey=Management.User.PasswordDigest.Read")
	var byUser, listings int
	for _, l := range entries {
		if l.Payload["result"] != "Success" || l.Payload["ip"] == nil {
			t.Errorf("entry %+v", l)
		}
		if l.Payload["userId"] == f.u1.ID {
			byUser++
		}
	}
	// 3 reads of native, 1 of imported, 1 of plain, 1 of u1 by iam.
	if len(entries) != 6 || byUser != 1 {
		t.Fatalf("%d digest reads audited (%d of u1), want 6 (1): %+v", len(entries), byUser, entries)
	}
	e.do(t, "GET", "/api/users?includePasswordHash=true&search.username=native&mode=exact", nil, http.StatusOK, nil)
	entries, _ = e.logs(t, "logKey=Management.User.PasswordDigest.Read")
	for _, l := range entries {
		if l.Payload["userId"] == nil {
			listings++
			if params, _ := l.Payload["params"].(map[string]any); params["users"] != "1" {
				t.Errorf("listing entry %+v, want params.users 1", l)
			}
		}
	}
	if listings != 1 {
		t.Errorf("%d listings audited, want 1", listings)
	}
}

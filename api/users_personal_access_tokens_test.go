package api_test

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api/apitest"
)

// pat is a personal access token on the wire.
type pat struct {
	TenantID  string  `json:"tenantId"`
	UserID    string  `json:"userId"`
	Name      string  `json:"name"`
	Value     *string `json:"value"`
	CreatedAt int64   `json:"createdAt"`
	ExpiresAt *int64  `json:"expiresAt"`
}

func patsPath(userID string) string { return "/api/users/" + userID + "/personal-access-tokens" }

// listPATs returns user id's tokens by name, in order.
func (e *env) listPATs(t testing.TB, id string) []pat {
	t.Helper()
	var list []pat
	r := e.do(t, "GET", patsPath(id), nil, http.StatusOK, &list)
	if bytes.Contains(r.Body, []byte(`"value"`)) {
		t.Errorf("the list shows values: %s", r.Body)
	}
	return list
}

func patNames(list []pat) string {
	var names []string
	for _, p := range list {
		names = append(names, p.Name)
	}
	return strings.Join(names, ",")
}

// TestPersonalAccessTokens: Logto's routes, with the value shown once (the
// file keeps a keyed hash), names unique per user and renamed or deleted
// by path or by body, and the tokens deleted with their user.
func TestPersonalAccessTokens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	e := newEnv(t, apitest.Options{Path: path, Sync: true})
	ada := e.createUser(t, map[string]any{"username": "ada"})
	bob := e.createUser(t, map[string]any{"username": "bob"})

	expires := time.Now().Add(time.Hour).UnixMilli()
	var ci pat
	r := e.do(t, "POST", patsPath(ada.ID), map[string]any{"name": "ci", "expiresAt": expires}, http.StatusCreated, &ci)
	if r.Header.Get("Cache-Control") != "no-store" || ci.Value == nil || !strings.HasPrefix(*ci.Value, "pat_") || len(*ci.Value) != 36 ||
		ci.UserID != ada.ID || ci.TenantID != "default" || ci.ExpiresAt == nil || *ci.ExpiresAt != expires {
		t.Fatalf("created %s", r.Body)
	}
	var laptop pat
	e.do(t, "POST", patsPath(ada.ID), map[string]any{"name": "laptop", "expiresAt": nil}, http.StatusCreated, &laptop)
	if laptop.ExpiresAt != nil || *laptop.Value == *ci.Value {
		t.Errorf("created %+v", laptop)
	}
	e.do(t, "POST", patsPath(bob.ID), map[string]any{"name": "ci"}, http.StatusCreated, nil) // names are per user
	if got := patNames(e.listPATs(t, ada.ID)); got != "ci,laptop" {
		t.Errorf("ada's tokens: %s", got)
	}

	// Refusals.
	e.expectErrors(t, "POST", []errorCase{
		{"NameTaken", patsPath(ada.ID), map[string]any{"name": "ci"}, 422, "user.personal_access_token_name_exists"},
		{"NoName", patsPath(ada.ID), map[string]any{}, 400, "guard.invalid_input"},
		{"EmptyName", patsPath(ada.ID), map[string]any{"name": ""}, 400, "guard.invalid_input"},
		{"SlashInName", patsPath(ada.ID), map[string]any{"name": "a/b"}, 400, "guard.invalid_input"},
		{"Expired", patsPath(ada.ID), map[string]any{"name": "old", "expiresAt": time.Now().UnixMilli() - 1000}, 400, "request.invalid_input"},
		{"ExpiresString", patsPath(ada.ID), map[string]any{"name": "s", "expiresAt": "soon"}, 400, "guard.invalid_input"},
		{"UnknownUser", patsPath("nosuchuser"), map[string]any{"name": "x"}, 404, "entity.not_found"},
		{"DeleteNoName", patsPath(ada.ID) + "/delete", map[string]any{}, 400, "guard.invalid_input"},
	})
	wantError(t, call(t, "GET", e.URL+patsPath("nosuchuser"), e.token, nil), 404, "entity.not_found")

	// Renames: by path, and by body.
	var renamed pat
	e.do(t, "PATCH", patsPath(ada.ID)+"/ci", map[string]any{"name": "ci-2"}, http.StatusOK, &renamed)
	if renamed.Name != "ci-2" || renamed.Value != nil || renamed.CreatedAt != ci.CreatedAt || *renamed.ExpiresAt != expires {
		t.Errorf("renamed %+v", renamed)
	}
	e.do(t, "PATCH", patsPath(ada.ID), map[string]any{"currentName": "laptop", "name": "laptop 2"}, http.StatusOK, nil)
	if got := patNames(e.listPATs(t, ada.ID)); got != "ci-2,laptop 2" {
		t.Errorf("after the renames: %s", got)
	}
	wantError(t, call(t, "PATCH", e.URL+patsPath(ada.ID)+"/ci-2", e.token, map[string]any{"name": "laptop 2"}), 422,
		"user.personal_access_token_name_exists")
	wantError(t, call(t, "PATCH", e.URL+patsPath(ada.ID)+"/nope", e.token, map[string]any{"name": "x"}), 404, "entity.not_found")
	wantError(t, call(t, "PATCH", e.URL+patsPath(ada.ID), e.token, map[string]any{"name": "x"}), 400, "guard.invalid_input")

	// Deletes: by path, and by body (a name with a space, no encoding).
	e.do(t, "DELETE", patsPath(ada.ID)+"/ci-2", nil, http.StatusNoContent, nil)
	e.do(t, "POST", patsPath(ada.ID)+"/delete", map[string]any{"name": "laptop 2"}, http.StatusNoContent, nil)
	wantError(t, call(t, "DELETE", e.URL+patsPath(ada.ID)+"/ci-2", e.token, nil), 404, "entity.not_found")
	if got := e.listPATs(t, ada.ID); len(got) != 0 {
		t.Errorf("after the deletes: %s", patNames(got))
	}

	// The name is free again, and the user's deletion takes its tokens.
	var again pat
	e.do(t, "POST", patsPath(ada.ID), map[string]any{"name": "ci"}, http.StatusCreated, &again)
	e.do(t, "DELETE", "/api/users/"+ada.ID, nil, http.StatusNoContent, nil)
	if got := patNames(e.listPATs(t, bob.ID)); got != "ci" {
		t.Errorf("bob's tokens after ada's deletion: %s", got)
	}

	data := e.closedFile(t, path)
	for _, v := range []string{*ci.Value, *laptop.Value, *again.Value} {
		if bytes.Contains(data, []byte(v)) {
			t.Errorf("the data file holds the token value %s", v)
		}
	}
}

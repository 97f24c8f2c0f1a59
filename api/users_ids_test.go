package api_test

import (
	"crypto/rand"
	"net/http"
	"strings"
	"testing"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/store"
)

// TestUsers_ForeignIDNotFound checks that a user id is found only in the
// tenant that made it: another tenant's valid id, a random id and the id of
// a deleted user are 404 on the user routes (422, as in Logto, when added
// to an organization), while the tenant's own ids work there.
func TestUsers_ForeignIDNotFound(t *testing.T) {
	e := newEnv(t)
	acme := createTenant(t, e, "acme")
	acmeToken := apitest.Token(t, e.URL, "acme", acme.Credentials.ClientID, acme.Credentials.ClientSecret,
		store.ManagementIndicator("acme"), "all")
	mine := e.createUser(t, map[string]any{"username": "mine"})
	r := call(t, "POST", e.URL+"/t/acme/api/users", acmeToken, map[string]any{"username": "theirs"})
	if r.Status != http.StatusOK {
		t.Fatalf("create user in acme: %d %s", r.Status, r.Body)
	}
	var theirs user
	r.JSON(t, &theirs)
	gone := e.createUser(t, map[string]any{"username": "gone"})
	e.do(t, "DELETE", "/api/users/"+gone.ID, nil, http.StatusNoContent, nil)
	var org struct {
		ID string `json:"id"`
	}
	e.do(t, "POST", "/api/organizations", map[string]any{"name": "org"}, http.StatusCreated, &org)

	foreign := map[string]string{"another tenant's id": theirs.ID, "a random id": randomUserID(t), "a deleted user's id": gone.ID}
	for name, id := range foreign {
		for _, tc := range []struct {
			method, path string
			body         any
			wantStatus   int
		}{
			{"GET", "/api/users/" + id, nil, http.StatusNotFound},
			{"PATCH", "/api/users/" + id, map[string]any{"name": "x"}, http.StatusNotFound},
			{"GET", "/api/users/" + id + "/custom-data", nil, http.StatusNotFound},
			{"DELETE", "/api/users/" + id, nil, http.StatusNotFound},
			{"POST", "/api/organizations/" + org.ID + "/users", map[string]any{"userIds": []string{id}}, http.StatusUnprocessableEntity},
		} {
			r := call(t, tc.method, e.URL+tc.path, e.token, tc.body)
			if r.Status != tc.wantStatus {
				t.Errorf("%s: %s %s = %d %s, want %d", name, tc.method, tc.path, r.Status, r.Body, tc.wantStatus)
			}
		}
		var found []user
		e.do(t, "GET", "/api/users?search.id="+id+"&mode.id=exact", nil, http.StatusOK, &found)
		if len(found) != 0 {
			t.Errorf("%s: exact id search found %v", name, found)
		}
	}

	var got user
	e.do(t, "GET", "/api/users/"+mine.ID, nil, http.StatusOK, &got)
	if got.ID != mine.ID || *got.Username != "mine" {
		t.Errorf("GET own user = %+v", got)
	}
	var found []user
	e.do(t, "GET", "/api/users?search.id="+strings.ToUpper(mine.ID)+"&mode.id=exact", nil, http.StatusOK, &found)
	if len(found) != 1 || found[0].ID != mine.ID {
		t.Errorf("case-insensitive exact id search found %v, want %s", found, mine.ID)
	}
	e.do(t, "POST", "/api/organizations/"+org.ID+"/users", map[string]any{"userIds": []string{mine.ID}}, http.StatusCreated, nil)
	e.do(t, "GET", "/api/organizations/"+org.ID+"/users", nil, http.StatusOK, &found)
	if len(found) != 1 || found[0].ID != mine.ID {
		t.Errorf("organization members %v, want %s", found, mine.ID)
	}
	r = call(t, "GET", e.URL+"/t/acme/api/users/"+theirs.ID, acmeToken, nil)
	if r.Status != http.StatusOK {
		t.Errorf("GET acme's user in acme: %d %s", r.Status, r.Body)
	}
}

// randomUserID returns 12 random characters of Logto's id alphabet.
func randomUserID(t *testing.T) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

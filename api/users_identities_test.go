package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// identitiesPath is the path of user id's identity at target.
func identitiesPath(id, target string) string { return "/api/users/" + id + "/identities/" + target }

// TestUserIdentities: identities set, replaced, read, listed, found by
// search and removed through Logto's routes, an external id held by one
// user per target (and freed when its user changes it, loses it or is
// deleted), and every refusal.
func TestUserIdentities(t *testing.T) {
	e := newEnv(t)
	ada := e.createUser(t, map[string]any{"username": "ada"})
	bob := e.createUser(t, map[string]any{"username": "bob"})

	// Create (201), then replace (200): the answer is the identities map.
	var ids map[string]struct {
		UserID  string         `json:"userId"`
		Details map[string]any `json:"details"`
	}
	e.do(t, "PUT", identitiesPath(ada.ID, "github"), map[string]any{"userId": "gh-1", "details": map[string]any{"login": "ada"}},
		http.StatusCreated, &ids)
	if len(ids) != 1 || ids["github"].UserID != "gh-1" || ids["github"].Details["login"] != "ada" {
		t.Errorf("after the first PUT: %+v", ids)
	}
	e.do(t, "PUT", identitiesPath(ada.ID, "google"), map[string]any{"userId": "g-1"}, http.StatusCreated, &ids)
	e.do(t, "PUT", identitiesPath(ada.ID, "github"), map[string]any{"userId": "gh-2"}, http.StatusOK, &ids)
	if len(ids) != 2 || ids["github"].UserID != "gh-2" || ids["github"].Details != nil || ids["google"].UserID != "g-1" {
		t.Errorf("after the replace: %+v", ids)
	}

	// One user per external id and target; the replaced id is free again.
	wantError(t, call(t, "PUT", e.URL+identitiesPath(bob.ID, "github"), e.token, map[string]any{"userId": "gh-2"}),
		422, "user.identity_already_in_use")
	e.do(t, "PUT", identitiesPath(bob.ID, "github"), map[string]any{"userId": "gh-1"}, http.StatusCreated, nil)
	e.do(t, "PUT", identitiesPath(bob.ID, "gitlab"), map[string]any{"userId": "gh-2"}, http.StatusCreated, nil)

	// Reads.
	var one struct {
		Identity struct {
			UserID  string         `json:"userId"`
			Details map[string]any `json:"details"`
		} `json:"identity"`
	}
	e.do(t, "GET", identitiesPath(ada.ID, "google")+"?includeTokenSecret=true", nil, http.StatusOK, &one)
	if one.Identity.UserID != "g-1" {
		t.Errorf("GET google: %+v", one)
	}
	wantError(t, call(t, "GET", e.URL+identitiesPath(ada.ID, "gitlab"), e.token, nil), 404, "user.identity_not_exist")
	wantError(t, call(t, "GET", e.URL+identitiesPath("nosuchuser", "github"), e.token, nil), 404, "entity.not_found")
	var all struct {
		SocialIdentities []struct {
			Identity struct {
				UserID string `json:"userId"`
			} `json:"identity"`
			Target string `json:"target"`
		} `json:"socialIdentities"`
		SSOIdentities []any `json:"ssoIdentities"`
	}
	r := e.do(t, "GET", "/api/users/"+ada.ID+"/all-identities", nil, http.StatusOK, &all)
	if len(all.SocialIdentities) != 2 || all.SocialIdentities[0].Target != "github" || all.SocialIdentities[0].Identity.UserID != "gh-2" ||
		all.SocialIdentities[1].Target != "google" || all.SSOIdentities == nil || len(all.SSOIdentities) != 0 {
		t.Errorf("all-identities: %s", r.Body)
	}
	var got user
	e.do(t, "GET", "/api/users/"+bob.ID, nil, http.StatusOK, &got)
	if gh, _ := got.Identities["github"].(map[string]any); gh["userId"] != "gh-1" {
		t.Errorf("GET user shows identities %v", got.Identities)
	}

	// Search: the user with GitHub id X, through the index.
	for query, want := range map[string]string{
		"search.identities.github=gh-1&mode=exact":                                       bob.ID,
		"search.identities.github=GH-2&mode=exact":                                       ada.ID,
		"search.identities.github=GH-2&mode=exact&isCaseSensitive=true":                  "",
		"search.identities.gitlab=gh-2&mode=exact":                                       bob.ID,
		"search.identities.GitHub=gh-1&mode=exact":                                       "",
		"search.identities.google=%25-1":                                                 ada.ID,
		"search.identities.github=gh-1&search.identities.google=g-1&mode=exact&joint=or": bob.ID + "," + ada.ID,
	} {
		var users []user
		e.do(t, "GET", "/api/users?"+query, nil, http.StatusOK, &users)
		var found []string
		for _, u := range users {
			found = append(found, u.ID)
		}
		if strings.Join(found, ",") != want {
			t.Errorf("?%s finds %v, want %s", query, found, want)
		}
	}

	// Removal answers the user without it; a second removal is refused.
	var after user
	e.do(t, "DELETE", identitiesPath(ada.ID, "github"), nil, http.StatusOK, &after)
	if _, ok := after.Identities["github"]; ok || after.ID != ada.ID || after.Identities["google"] == nil {
		t.Errorf("after DELETE: %+v", after.Identities)
	}
	wantError(t, call(t, "DELETE", e.URL+identitiesPath(ada.ID, "github"), e.token, nil), 404, "user.identity_not_exist")
	e.do(t, "PUT", identitiesPath(bob.ID, "github"), map[string]any{"userId": "gh-2"}, http.StatusOK, nil) // freed by the removal

	// Deleting a user frees its identities.
	e.do(t, "DELETE", "/api/users/"+bob.ID, nil, http.StatusNoContent, nil)
	e.do(t, "PUT", identitiesPath(ada.ID, "github"), map[string]any{"userId": "gh-2"}, http.StatusCreated, nil)
	e.do(t, "PUT", identitiesPath(ada.ID, "gitlab"), map[string]any{"userId": "gh-2"}, http.StatusCreated, nil)

	// Linking through a social connector: idbolt has none, and an email
	// connector is not one.
	wantError(t, call(t, "POST", e.URL+"/api/users/"+ada.ID+"/identities", e.token,
		map[string]any{"connectorId": "github-connector", "connectorData": map[string]any{"code": "x"}}), 404, "entity.not_found")
	mail := e.connCreate(t, map[string]any{"connectorId": "http-email", "config": map[string]any{"endpoint": "https://mail.example.com/send"}})
	wantError(t, call(t, "POST", e.URL+"/api/users/"+ada.ID+"/identities", e.token,
		map[string]any{"connectorId": mail.ID, "connectorData": map[string]any{"code": "x"}}), 422, "session.invalid_connector_id")
	wantError(t, call(t, "POST", e.URL+"/api/users/nosuchuser/identities", e.token,
		map[string]any{"connectorId": "c", "connectorData": map[string]any{}}), 404, "entity.not_found")
}

// TestUserIdentities_BadInput: each malformed identity is a 400 that
// changes nothing.
func TestUserIdentities_BadInput(t *testing.T) {
	e := newEnv(t)
	ada := e.createUser(t, map[string]any{"username": "ada"})
	big := map[string]any{"blob": strings.Repeat("x", 17<<10)}
	e.expectErrors(t, "PUT", []errorCase{
		{"NoUserID", identitiesPath(ada.ID, "github"), map[string]any{}, 400, "guard.invalid_input"},
		{"EmptyUserID", identitiesPath(ada.ID, "github"), map[string]any{"userId": ""}, 400, "guard.invalid_input"},
		{"LongUserID", identitiesPath(ada.ID, "github"), map[string]any{"userId": strings.Repeat("1", 513)}, 400, "guard.invalid_input"},
		{"UserIDNumber", identitiesPath(ada.ID, "github"), map[string]any{"userId": 12}, 400, "guard.invalid_input"},
		{"DetailsArray", identitiesPath(ada.ID, "github"), map[string]any{"userId": "1", "details": []int{1}}, 400, "guard.invalid_input"},
		{"DetailsString", identitiesPath(ada.ID, "github"), map[string]any{"userId": "1", "details": "x"}, 400, "guard.invalid_input"},
		{"DetailsTooBig", identitiesPath(ada.ID, "github"), map[string]any{"userId": "1", "details": big}, 400, "guard.invalid_input"},
		{"TargetWithSpace", identitiesPath(ada.ID, "git%20hub"), map[string]any{"userId": "1"}, 400, "guard.invalid_input"},
		{"TargetTooLong", identitiesPath(ada.ID, strings.Repeat("t", 129)), map[string]any{"userId": "1"}, 400, "guard.invalid_input"},
		{"UnknownUser", identitiesPath("nosuchuser", "github"), map[string]any{"userId": "1"}, 404, "entity.not_found"},
	})
	e.expectErrors(t, "POST", []errorCase{
		{"LinkNoConnector", "/api/users/" + ada.ID + "/identities", map[string]any{"connectorData": map[string]any{}}, 400, "guard.invalid_input"},
		{"LinkNoData", "/api/users/" + ada.ID + "/identities", map[string]any{"connectorId": "c"}, 400, "guard.invalid_input"},
	})
	var got user
	if e.do(t, "GET", "/api/users/"+ada.ID, nil, http.StatusOK, &got); len(got.Identities) != 0 {
		t.Errorf("refused PUTs left identities %v", got.Identities)
	}
}

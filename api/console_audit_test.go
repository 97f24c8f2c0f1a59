package api_test

import (
	"net/http"
	"net/url"
	"testing"
)

// auditEntry is an entry of GET /api/logs, with the payload fields that say
// who did what.
type auditEntry struct {
	Key     string `json:"key"`
	Payload struct {
		Result        string `json:"result"`
		UserID        string `json:"userId"`
		ActorUserID   string `json:"actorUserId"`
		ApplicationID string `json:"applicationId"`
		Target        *struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"target"`
	} `json:"payload"`
}

// auditEntries returns the entries GET /api/logs answers for query.
func auditEntries(t *testing.T, e *env, query url.Values) []auditEntry {
	t.Helper()
	var out []auditEntry
	e.do(t, "GET", "/api/logs?"+query.Encode(), nil, http.StatusOK, &out)
	return out
}

// TestConsole_AuditNamesThePerson: a write made through a console session
// signed in with a password names that user as actorUserId, beside the
// user it changed (userId); GET /api/logs?userId= finds the entries a user
// made as well as those about it. A session of a client, and a bearer
// token, name no person, as before.
func TestConsole_AuditNamesThePerson(t *testing.T) {
	e := newEnv(t)
	ada := e.createUser(t, map[string]any{"username": "ada", "password": "correct horse battery"})
	bob := e.createUser(t, map[string]any{"username": "bob"})
	e.do(t, "POST", "/api/managers", map[string]any{"userId": ada.ID, "roles": []string{"IAM_OWNER"}}, http.StatusCreated, nil)

	person := newConsoleClient(t, e.URL)
	person.signIn(map[string]string{"username": "ada", "password": "correct horse battery"})
	if r := person.send("PATCH", "/console/api/users/"+bob.ID, map[string]any{"name": "Bob B"}, nil); r.Status != http.StatusOK {
		t.Fatalf("rename bob: %d %s", r.Status, r.Body)
	}
	var org struct {
		ID string `json:"id"`
	}
	r := person.send("POST", "/console/api/organizations", map[string]any{"name": "Acme"}, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("create organization: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &org)

	client := newConsoleClient(t, e.URL)
	client.signIn(adminCreds(e.Server))
	if r := client.send("PATCH", "/console/api/users/"+bob.ID, map[string]any{"name": "Bob C"}, nil); r.Status != http.StatusOK {
		t.Fatalf("rename bob as the client: %d %s", r.Status, r.Body)
	}
	e.do(t, "PATCH", "/api/users/"+bob.ID, map[string]any{"name": "Bob D"}, http.StatusOK, nil)

	// Newest first: the bearer token's, the client session's, the person's.
	updates := auditEntries(t, e, url.Values{"logKey": {"Management.User.Update"}})
	if len(updates) != 3 {
		t.Fatalf("%d Management.User.Update entries, want 3: %+v", len(updates), updates)
	}
	for i, want := range []struct{ actor, app string }{{"", e.ClientID}, {"", e.ClientID}, {ada.ID, ""}} {
		p := updates[i].Payload
		if p.UserID != bob.ID || p.ActorUserID != want.actor || p.ApplicationID != want.app || p.Result != "Success" {
			t.Errorf("update %d: %+v, want userId %s, actorUserId %q, applicationId %q", i, p, bob.ID, want.actor, want.app)
		}
	}
	created := auditEntries(t, e, url.Values{"logKey": {"Management.Organization.Create"}})
	if len(created) != 1 || created[0].Payload.ActorUserID != ada.ID || created[0].Payload.Target == nil ||
		created[0].Payload.Target.ID != org.ID {
		t.Errorf("organization create: %+v", created)
	}

	// userId finds what ada did (and her sign-in); bob's entries are
	// those about him.
	byAda := auditEntries(t, e, url.Values{"userId": {ada.ID}, "logKey": {"Management.User.Update"}})
	if len(byAda) != 1 || byAda[0].Payload.ActorUserID != ada.ID {
		t.Errorf("userId=ada, the updates: %+v", byAda)
	}
	keys := map[string]int{}
	for _, en := range auditEntries(t, e, url.Values{"userId": {ada.ID}}) {
		keys[en.Key]++
	}
	for _, k := range []string{"ConsoleSignIn.Password", "Management.User.Update", "Management.Organization.Create"} {
		if keys[k] == 0 {
			t.Errorf("userId=ada lacks %s: %v", k, keys)
		}
	}
	if n := len(auditEntries(t, e, url.Values{"userId": {bob.ID}, "logKey": {"Management.User.Update"}})); n != 3 {
		t.Errorf("userId=bob: %d updates, want 3", n)
	}
	if n := len(auditEntries(t, e, url.Values{"userId": {bob.ID}, "logKey": {"Management.Organization.Create"}})); n != 0 {
		t.Errorf("userId=bob: %d organization creates, want 0", n)
	}
}

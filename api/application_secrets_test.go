package api_test

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api/apitest"
)

// appSecret is the wire shape of an application secret.
type appSecret struct {
	TenantID      string `json:"tenantId"`
	ApplicationID string `json:"applicationId"`
	Name          string `json:"name"`
	Value         string `json:"value"`
	CreatedAt     int64  `json:"createdAt"`
	ExpiresAt     *int64 `json:"expiresAt"`
}

func secretsPath(appID string) string { return "/api/applications/" + appID + "/secrets" }

func secretPath(appID, name string) string { return secretsPath(appID) + "/" + url.PathEscape(name) }

// createSecret adds a secret to app; expiresAt 0 means none.
func (e *env) createSecret(t testing.TB, appID, name string, expiresAt int64) appSecret {
	t.Helper()
	body := map[string]any{"name": name}
	if expiresAt != 0 {
		body["expiresAt"] = expiresAt
	}
	var s appSecret
	e.do(t, "POST", secretsPath(appID), body, http.StatusCreated, &s)
	if s.Value == "" {
		t.Fatalf("secret %q: create response has no value", name)
	}
	return s
}

// listSecrets lists the secrets of app and checks that no value shows.
func (e *env) listSecrets(t testing.TB, appID string, values ...string) []appSecret {
	t.Helper()
	var list []appSecret
	r := e.do(t, "GET", secretsPath(appID), nil, http.StatusOK, &list)
	if bytes.Contains(r.Body, []byte(`"value"`)) {
		t.Errorf("secret list has a value field: %s", r.Body)
	}
	for _, v := range values {
		if bytes.Contains(r.Body, []byte(v)) {
			t.Errorf("secret list shows a secret value: %s", r.Body)
		}
	}
	return list
}

func secretNames(list []appSecret) string {
	names := make([]string, len(list))
	for i, s := range list {
		names[i] = s.Name
	}
	return strings.Join(names, ",")
}

// expectToken fails the test unless secret gets a token for app.
func (e *env) expectToken(t testing.TB, what, appID, secret string) {
	t.Helper()
	if r := e.managementToken(t, appID, secret); r.Status != http.StatusOK {
		t.Errorf("%s: %d %s, want a token", what, r.Status, r.Body)
	}
}

func TestApplicationSecrets_CreateList(t *testing.T) {
	e := newEnv(t)
	app := e.newApp(t, "svc", "MachineToMachine")
	before := time.Now().UnixMilli()
	expires := time.Now().Add(time.Hour).UnixMilli()
	s := e.createSecret(t, app.ID, "ci", expires)
	if s.TenantID != "default" || s.ApplicationID != app.ID || s.Name != "ci" || s.CreatedAt < before ||
		s.ExpiresAt == nil || *s.ExpiresAt != expires || len(s.Value) < 32 || s.Value == app.Secret {
		t.Errorf("created %+v", s)
	}
	list := e.listSecrets(t, app.ID, app.Secret, s.Value)
	if got := secretNames(list); got != "Default secret,ci" {
		t.Fatalf("secrets %q, want the default then ci", got)
	}
	if list[0].ExpiresAt != nil || list[0].CreatedAt != app.CreatedAt || list[1].ExpiresAt == nil || *list[1].ExpiresAt != expires {
		t.Errorf("listed %+v", list)
	}
	// Neither the app nor the list of apps shows a secret value.
	for _, path := range []string{"/api/applications/" + app.ID, "/api/applications"} {
		r := e.do(t, "GET", path, nil, http.StatusOK, nil)
		if bytes.Contains(r.Body, []byte(s.Value)) || bytes.Contains(r.Body, []byte(app.Secret)) {
			t.Errorf("GET %s shows a secret value", path)
		}
	}
	// A Traditional app holds secrets too; a public client holds none.
	web := e.newApp(t, "web", "Traditional")
	e.createSecret(t, web.ID, "second", 0)
	spa := e.newApp(t, "spa", "SPA")
	if list := e.listSecrets(t, spa.ID); len(list) != 0 {
		t.Errorf("SPA secrets: %+v", list)
	}

	now := time.Now().UnixMilli()
	e.expectErrors(t, "POST", []errorCase{
		{"DuplicateName", secretsPath(app.ID), map[string]any{"name": "ci"}, 422, "application.secret_name_exists"},
		{"DuplicateDefault", secretsPath(app.ID), map[string]any{"name": "Default secret"}, 422, "application.secret_name_exists"},
		{"ExpiredAlready", secretsPath(app.ID), map[string]any{"name": "old", "expiresAt": now - 1000}, 400, "request.invalid_input"},
		{"ExpiresAtZero", secretsPath(app.ID), map[string]any{"name": "zero", "expiresAt": 0}, 400, "request.invalid_input"},
		{"ExpiresAtString", secretsPath(app.ID), map[string]any{"name": "str", "expiresAt": "tomorrow"}, 400, "guard.invalid_input"},
		{"MissingName", secretsPath(app.ID), map[string]any{}, 400, "guard.invalid_input"},
		{"EmptyName", secretsPath(app.ID), map[string]any{"name": ""}, 400, "guard.invalid_input"},
		// A name with a slash could never be renamed or deleted by path.
		{"SlashInName", secretsPath(app.ID), map[string]any{"name": "a/b"}, 400, "guard.invalid_input"},
		{"SPA", secretsPath(spa.ID), map[string]any{"name": "x"}, 422, "application.invalid_type"},
		{"Native", secretsPath(e.newApp(t, "native", "Native").ID), map[string]any{"name": "x"}, 422, "application.invalid_type"},
		{"UnknownApp", secretsPath("nosuchapp"), map[string]any{"name": "x"}, 404, "entity.not_found"},
	})
	if got := secretNames(e.listSecrets(t, app.ID)); got != "Default secret,ci" {
		t.Errorf("refused creates changed the secrets: %q", got)
	}
	wantError(t, call(t, "GET", e.URL+secretsPath("nosuchapp"), e.token, nil), 404, "entity.not_found")
}

// TestApplicationSecrets_Rotation rotates a secret without downtime: while
// two secrets exist both work, and deleting one stops it at once.
func TestApplicationSecrets_Rotation(t *testing.T) {
	e := newEnv(t)
	app := e.newApp(t, "svc", "MachineToMachine")
	next := e.createSecret(t, app.ID, "next", 0)
	e.expectToken(t, "old secret", app.ID, app.Secret)
	e.expectToken(t, "new secret", app.ID, next.Value)
	expectInvalidClient(t, "wrong secret", e.managementToken(t, app.ID, next.Value+"x"))

	e.do(t, "DELETE", secretPath(app.ID, "Default secret"), nil, http.StatusNoContent, nil)
	expectInvalidClient(t, "deleted secret", e.managementToken(t, app.ID, app.Secret))
	e.expectToken(t, "remaining secret", app.ID, next.Value)
	if got := secretNames(e.listSecrets(t, app.ID)); got != "next" {
		t.Errorf("secrets after delete: %q", got)
	}
	wantError(t, call(t, "DELETE", e.URL+secretPath(app.ID, "Default secret"), e.token, nil), 404, "entity.not_found")
	wantError(t, call(t, "DELETE", e.URL+secretPath("nosuchapp", "next"), e.token, nil), 404, "entity.not_found")

	// With no secret left the app cannot authenticate at all.
	e.do(t, "DELETE", secretPath(app.ID, "next"), nil, http.StatusNoContent, nil)
	expectInvalidClient(t, "no secrets", e.managementToken(t, app.ID, next.Value))
	expectInvalidClient(t, "empty secret", e.managementToken(t, app.ID, ""))
}

// TestApplicationSecrets_Expiry moves a controllable clock past a secret's
// expiresAt: the token endpoint refuses it from then on.
func TestApplicationSecrets_Expiry(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, apitest.Options{Now: clk.Now})
	app := e.newApp(t, "svc", "MachineToMachine")
	expires := clk.Now().Add(10 * time.Minute).UnixMilli()
	short := e.createSecret(t, app.ID, "short-lived", expires)
	if short.CreatedAt != clk.Now().UnixMilli() {
		t.Errorf("createdAt %d, want the pinned clock's %d", short.CreatedAt, clk.Now().UnixMilli())
	}
	// "In the past" is judged by the server's clock, not the wall clock.
	wantError(t, call(t, "POST", e.URL+secretsPath(app.ID), e.token,
		map[string]any{"name": "now", "expiresAt": clk.Now().UnixMilli()}), 400, "request.invalid_input")

	clk.Add(10*time.Minute - time.Millisecond)
	e.expectToken(t, "before expiry", app.ID, short.Value)
	clk.Add(time.Millisecond)
	expectInvalidClient(t, "at expiry", e.managementToken(t, app.ID, short.Value))
	clk.Add(time.Hour)
	expectInvalidClient(t, "after expiry", e.managementToken(t, app.ID, short.Value))
	e.expectToken(t, "secret without expiry", app.ID, app.Secret)
	// The expired secret is still listed, and can be deleted. (The Management
	// token expired with the hour, too.)
	e.token = e.ManagementToken(t, "default")
	if got := secretNames(e.listSecrets(t, app.ID)); got != "Default secret,short-lived" {
		t.Errorf("secrets: %q", got)
	}
	e.do(t, "DELETE", secretPath(app.ID, "short-lived"), nil, http.StatusNoContent, nil)
}

func TestApplicationSecrets_Rename(t *testing.T) {
	e := newEnv(t)
	app := e.newApp(t, "svc", "MachineToMachine")
	e.createSecret(t, app.ID, "other", 0)

	var s appSecret
	r := e.do(t, "PATCH", secretPath(app.ID, "Default secret"), map[string]any{"name": "primary"}, http.StatusOK, &s)
	if s.Name != "primary" || s.ApplicationID != app.ID || s.CreatedAt != app.CreatedAt || s.ExpiresAt != nil {
		t.Errorf("renamed %+v", s)
	}
	if bytes.Contains(r.Body, []byte(`"value"`)) || bytes.Contains(r.Body, []byte(app.Secret)) {
		t.Errorf("rename response shows the value: %s", r.Body)
	}
	if got := secretNames(e.listSecrets(t, app.ID, app.Secret)); got != "primary,other" {
		t.Errorf("secrets after rename: %q", got)
	}
	// The value is unchanged by a rename.
	e.expectToken(t, "renamed secret", app.ID, app.Secret)
	// Renaming to its own name is allowed.
	e.do(t, "PATCH", secretPath(app.ID, "primary"), map[string]any{"name": "primary"}, http.StatusOK, nil)
	// Names that need escaping in a path still round-trip.
	e.do(t, "PATCH", secretPath(app.ID, "other"), map[string]any{"name": "50% off?#"}, http.StatusOK, nil)
	e.do(t, "PATCH", secretPath(app.ID, "50% off?#"), map[string]any{"name": "other"}, http.StatusOK, nil)

	e.expectErrors(t, "PATCH", []errorCase{
		{"NameTaken", secretPath(app.ID, "primary"), map[string]any{"name": "other"}, 422, "application.secret_name_exists"},
		{"UnknownSecret", secretPath(app.ID, "Default secret"), map[string]any{"name": "x"}, 404, "entity.not_found"},
		{"UnknownApp", secretPath("nosuchapp", "primary"), map[string]any{"name": "x"}, 404, "entity.not_found"},
		{"MissingName", secretPath(app.ID, "primary"), map[string]any{}, 400, "guard.invalid_input"},
		{"EmptyName", secretPath(app.ID, "primary"), map[string]any{"name": ""}, 400, "guard.invalid_input"},
		{"SlashInName", secretPath(app.ID, "primary"), map[string]any{"name": "a/b"}, 400, "guard.invalid_input"},
	})
	if got := secretNames(e.listSecrets(t, app.ID)); got != "primary,other" {
		t.Errorf("refused renames changed the secrets: %q", got)
	}
}

// TestApplicationSecrets_NotStored reads the data file after the server
// stops: no secret value is in it, only hashes.
func TestApplicationSecrets_NotStored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	e := newEnv(t, apitest.Options{Path: path, Sync: true})
	m2m := e.newApp(t, "svc", "MachineToMachine")
	web := e.newApp(t, "web", "Traditional")
	extra := e.createSecret(t, m2m.ID, "extra", 0)
	acme := createTenant(t, e, "acme")
	e.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"m2m default": m2m.Secret, "traditional default": web.Secret, "extra": extra.Value,
		"bootstrap admin": e.ClientSecret, "tenant admin": acme.Credentials.ClientSecret} {
		if bytes.Contains(data, []byte(v)) {
			t.Errorf("the data file holds the %s secret in clear", name)
		}
	}
	if !bytes.Contains(data, []byte(m2m.ID)) {
		t.Fatalf("the data file does not hold app %s: wrong file?", m2m.ID)
	}
}

// setReadableSecrets flips tenant's readableApplicationSecrets switch
// through the system API and checks the answer and GET show it.
func (e *env) setReadableSecrets(t testing.TB, tenant string, on bool) {
	t.Helper()
	var got struct {
		ReadableApplicationSecrets *bool `json:"readableApplicationSecrets"`
	}
	sys := e.SystemToken(t)
	r := call(t, "PATCH", e.URL+"/system/tenants/"+tenant, sys, map[string]any{"readableApplicationSecrets": on})
	r.JSON(t, &got)
	if r.Status != http.StatusOK || got.ReadableApplicationSecrets == nil || *got.ReadableApplicationSecrets != on {
		t.Fatalf("PATCH readableApplicationSecrets=%v: %d %s", on, r.Status, r.Body)
	}
	got.ReadableApplicationSecrets = nil
	call(t, "GET", e.URL+"/system/tenants/"+tenant, sys, nil).JSON(t, &got)
	if got.ReadableApplicationSecrets == nil || *got.ReadableApplicationSecrets != on {
		t.Fatalf("GET after PATCH readableApplicationSecrets=%v: %v", on, got.ReadableApplicationSecrets)
	}
}

// listValues lists app's secrets and returns their values by name ("" for
// a secret listed without one).
func (e *env) listValues(t testing.TB, appID string) map[string]string {
	t.Helper()
	var list []appSecret
	r := e.do(t, "GET", secretsPath(appID), nil, http.StatusOK, &list)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("secret list Cache-Control %q, want no-store", r.Header.Get("Cache-Control"))
	}
	out := map[string]string{}
	for _, s := range list {
		out[s.Name] = s.Value
	}
	return out
}

// TestApplicationSecrets_Readable turns on the readableApplicationSecrets
// switch: secrets made from then on are listed with their values, as Logto
// lists them, and still work; older ones stay hash-only; switching it off
// forgets every stored value; other tenants are not affected.
func TestApplicationSecrets_Readable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	e := newEnv(t, apitest.Options{Path: path})
	before := e.newApp(t, "before", "MachineToMachine")

	// Off by default: nothing changes.
	var tn map[string]any
	call(t, "GET", e.URL+"/system/tenants/default", e.SystemToken(t), nil).JSON(t, &tn)
	if tn["readableApplicationSecrets"] != false {
		t.Fatalf("default tenant: %v", tn)
	}
	wantError(t, call(t, "PATCH", e.URL+"/system/tenants/default", e.SystemToken(t),
		map[string]any{"readableApplicationSecrets": "yes"}), 400, "guard.invalid_input")
	if r := call(t, "PATCH", e.URL+"/system/tenants/default", e.token, map[string]any{"readableApplicationSecrets": true}); r.Status != 401 {
		t.Errorf("PATCH with a Management API token: %d %s", r.Status, r.Body)
	}

	e.setReadableSecrets(t, "default", true)
	after := e.newApp(t, "after", "MachineToMachine")
	web := e.newApp(t, "web", "Traditional")
	added := e.createSecret(t, before.ID, "added", 0)
	second := e.createSecret(t, after.ID, "second", time.Now().Add(time.Hour).UnixMilli())

	if got := e.listValues(t, before.ID); got["Default secret"] != "" || got["added"] != added.Value {
		t.Errorf("app made before the switch: %v, want only %q readable", got, added.Value)
	}
	if got := e.listValues(t, after.ID); got["Default secret"] != after.Secret || got["second"] != second.Value {
		t.Errorf("app made after the switch: %v", got)
	}
	if got := e.listValues(t, web.ID); got["Default secret"] != web.Secret {
		t.Errorf("Traditional app: %v", got)
	}
	// The listed values are the secrets themselves, and a rename keeps the
	// value readable (it is bound to the secret, not to its name).
	e.expectToken(t, "listed default secret", after.ID, e.listValues(t, after.ID)["Default secret"])
	e.expectToken(t, "listed added secret", before.ID, e.listValues(t, before.ID)["added"])
	e.do(t, "PATCH", secretPath(after.ID, "second"), map[string]any{"name": "renamed"}, http.StatusOK, nil)
	if got := e.listValues(t, after.ID); got["renamed"] != second.Value {
		t.Errorf("after rename: %v", got)
	}
	// Sealed in the file, never in clear.
	if raw, err := os.ReadFile(path); err != nil || bytes.Contains(raw, []byte(after.Secret)) || bytes.Contains(raw, []byte(second.Value)) {
		t.Errorf("a readable secret is in the data file in clear (read error %v)", err)
	}
	// Another tenant keeps the default.
	acme := createTenant(t, e, "acme")
	acmeToken := apitest.Token(t, e.URL, "acme", acme.Credentials.ClientID, acme.Credentials.ClientSecret, "https://acme.logto.app/api", "all")
	r := call(t, "POST", e.URL+"/t/acme/api/applications", acmeToken, map[string]any{"name": "svc", "type": "MachineToMachine"})
	var acmeApp application
	r.JSON(t, &acmeApp)
	if r = call(t, "GET", e.URL+"/t/acme/api/applications/"+acmeApp.ID+"/secrets", acmeToken, nil); r.Status != 200 ||
		bytes.Contains(r.Body, []byte(`"value"`)) || acmeApp.Secret == "" {
		t.Errorf("tenant acme lists: %d %s", r.Status, r.Body)
	}

	// Off again: the stored values are deleted, so turning it back on shows
	// none of them; the secrets keep working.
	e.setReadableSecrets(t, "default", false)
	e.listSecrets(t, after.ID, after.Secret, second.Value)
	e.setReadableSecrets(t, "default", true)
	e.listSecrets(t, after.ID, after.Secret, second.Value)
	e.expectToken(t, "secret after the switch went off", after.ID, after.Secret)
	third := e.createSecret(t, after.ID, "third", 0)
	if got := e.listValues(t, after.ID); got["third"] != third.Value || got["Default secret"] != "" {
		t.Errorf("after off and on: %v", got)
	}
}

// TestApplicationSecrets_LegacySecret: idbolt's applications hold only
// named secrets, so deleting Logto's legacy secret is refused as Logto
// refuses it for an application without one, and changes nothing: the
// default secret stays and still gets a token. An unknown application is 404, and a
// token without the Management API's scope may not ask.
func TestApplicationSecrets_LegacySecret(t *testing.T) {
	e := newEnv(t)
	for _, typ := range []string{"MachineToMachine", "Traditional", "SPA"} {
		app := e.newApp(t, "app-"+typ, typ)
		wantError(t, call(t, "DELETE", e.URL+"/api/applications/"+app.ID+"/legacy-secret", e.token, nil), 400,
			"application.no_legacy_secret_found")
		if typ == "MachineToMachine" {
			e.expectToken(t, typ+" after the refusal", app.ID, app.Secret)
		}
		if app.Secret != "" {
			if got := secretNames(e.listSecrets(t, app.ID, app.Secret)); got != "Default secret" {
				t.Errorf("%s: secrets %q after the refusal", typ, got)
			}
		}
	}
	wantError(t, call(t, "DELETE", e.URL+"/api/applications/nosuchapp/legacy-secret", e.token, nil), 404, "entity.not_found")
	wantError(t, call(t, "DELETE", e.URL+"/api/applications/nosuchapp/legacy-secret", "", nil), 401, "auth.authorization_header_missing")
}

package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/store"
)

const jwtCustomizerPath = "/api/configs/jwt-customizer"

// billingIndicator is a resource of the tests' own, since tokens for
// idbolt's Management API get no custom claims.
const billingIndicator = "https://billing.example.com"

// m2mClient makes a machine-to-machine app and the billing resource, and
// returns a function that asks for a client credentials token.
func (e *env) m2mClient(t *testing.T) (application, func() response) {
	t.Helper()
	e.do(t, "POST", "/api/resources", map[string]any{"name": "billing", "indicator": billingIndicator}, http.StatusCreated, nil)
	app := e.newApp(t, "billing-worker", "MachineToMachine")
	return app, func() response { return e.clientCredentials(t, app.ID, app.Secret, billingIndicator, "") }
}

// issuedClaims returns the claims of the token of a successful token response.
func issuedClaims(t *testing.T, r response) map[string]any {
	t.Helper()
	return tokenClaims(t, accessToken(t, r))
}

// TestJWTCustomizer_Routes: create (201), replace (200), get, list, patch
// and delete, with Logto's answers, each error path included.
func TestJWTCustomizer_Routes(t *testing.T) {
	e := newEnv(t)
	ccPath := jwtCustomizerPath + "/client-credentials"
	atPath := jwtCustomizerPath + "/access-token"
	script := `const getCustomJwtClaims = async ({ token, context, environmentVariables }) => ({ tier: environmentVariables.TIER });`

	wantError(t, call(t, "GET", e.URL+ccPath, e.token, nil), 404, "entity.not_exists_with_id")
	wantError(t, call(t, "DELETE", e.URL+ccPath, e.token, nil), 404, "entity.not_found")
	wantError(t, call(t, "PATCH", e.URL+ccPath, e.token, map[string]any{"script": script}), 404, "entity.not_exists_with_id")
	var list []map[string]any
	e.do(t, "GET", jwtCustomizerPath, nil, http.StatusOK, &list)
	if len(list) != 0 {
		t.Fatalf("list before any: %v", list)
	}

	body := map[string]any{"script": script, "environmentVariables": map[string]string{"TIER": "gold"},
		"contextSample": map[string]any{"application": map[string]any{"id": "sample"}}, "tokenSample": map[string]any{"clientId": "sample"}}
	var got map[string]any
	r := e.do(t, "PUT", ccPath, body, http.StatusCreated, &got)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("PUT answer may be cached: %v", r.Header)
	}
	if got["script"] != script || got["environmentVariables"].(map[string]any)["TIER"] != "gold" || got["tokenSample"].(map[string]any)["clientId"] != "sample" {
		t.Errorf("PUT answered %v", got)
	}
	body["blockIssuanceOnError"] = true
	e.do(t, "PUT", ccPath, body, http.StatusOK, &got)
	if got["blockIssuanceOnError"] != true {
		t.Errorf("replace answered %v", got)
	}
	e.do(t, "GET", ccPath, nil, http.StatusOK, &got)
	if got["script"] != script || got["blockIssuanceOnError"] != true || got["contextSample"].(map[string]any)["application"] == nil {
		t.Errorf("GET answered %v", got)
	}

	// PATCH changes what it sends and keeps the rest.
	newScript := `const getCustomJwtClaims = () => ({ v: 2 });`
	e.do(t, "PATCH", ccPath, map[string]any{"script": newScript, "environmentVariables": map[string]string{"TIER": "silver"}}, http.StatusOK, &got)
	if got["script"] != newScript || got["environmentVariables"].(map[string]any)["TIER"] != "silver" || got["blockIssuanceOnError"] != true || got["tokenSample"] == nil {
		t.Errorf("PATCH answered %v", got)
	}

	e.do(t, "PUT", atPath, map[string]any{"script": script, "contextSample": map[string]any{"user": map[string]any{"id": "u1"}}}, http.StatusCreated, nil)
	var items []struct {
		Key   string         `json:"key"`
		Value map[string]any `json:"value"`
	}
	e.do(t, "GET", jwtCustomizerPath, nil, http.StatusOK, &items)
	if len(items) != 2 || items[0].Key != "jwt.accessToken" || items[1].Key != "jwt.clientCredentials" || items[1].Value["script"] != newScript {
		t.Errorf("list: %+v", items)
	}

	for _, tt := range []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"UnknownTokenType", "GET", jwtCustomizerPath + "/id-token", nil, 400, "guard.invalid_input"},
		{"UnknownTokenTypePut", "PUT", jwtCustomizerPath + "/id-token", map[string]any{"script": script}, 400, "guard.invalid_input"},
		{"NoScript", "PUT", ccPath, map[string]any{"environmentVariables": map[string]string{}}, 400, "guard.invalid_input"},
		{"ScriptNotString", "PUT", ccPath, map[string]any{"script": 1}, 400, "guard.invalid_input"},
		{"ScriptSyntax", "PUT", ccPath, map[string]any{"script": "const getCustomJwtClaims = ("}, 400, "guard.invalid_input"},
		{"ScriptTooLong", "PUT", ccPath, map[string]any{"script": strings.Repeat(" ", 70<<10)}, 400, "guard.invalid_input"},
		{"UnknownField", "PUT", ccPath, map[string]any{"script": script, "extra": 1}, 400, "guard.invalid_input"},
		{"EnvNotStrings", "PUT", ccPath, map[string]any{"script": script, "environmentVariables": map[string]any{"N": 1}}, 400, "guard.invalid_input"},
		{"TooManyVariables", "PUT", ccPath, map[string]any{"script": script, "environmentVariables": manyVariables(101, 1)}, 400, "guard.invalid_input"},
		{"VariablesTooLarge", "PATCH", ccPath, map[string]any{"script": script, "environmentVariables": manyVariables(2, 40<<10)}, 400, "guard.invalid_input"},
		{"ContextSampleNotObject", "PUT", ccPath, map[string]any{"script": script, "contextSample": "x"}, 400, "guard.invalid_input"},
		{"ContextSampleUserOnM2M", "PUT", ccPath, map[string]any{"script": script, "contextSample": map[string]any{"user": map[string]any{}}}, 400, "guard.invalid_input"},
		{"ContextSampleWithoutUser", "PUT", atPath, map[string]any{"script": script, "contextSample": map[string]any{"application": map[string]any{}}}, 400, "guard.invalid_input"},
		{"TokenSampleNotObject", "PATCH", ccPath, map[string]any{"script": script, "tokenSample": []int{1}}, 400, "guard.invalid_input"},
		{"BlockNotBool", "PATCH", ccPath, map[string]any{"script": script, "blockIssuanceOnError": "yes"}, 400, "guard.invalid_input"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, call(t, tt.method, e.URL+tt.path, e.token, tt.body), tt.status, tt.code)
		})
	}
	// Nothing the refused requests sent was stored.
	e.do(t, "GET", ccPath, nil, http.StatusOK, &got)
	if got["script"] != newScript {
		t.Errorf("after refusals: %v", got)
	}

	e.do(t, "DELETE", ccPath, nil, http.StatusNoContent, nil)
	wantError(t, call(t, "GET", e.URL+ccPath, e.token, nil), 404, "entity.not_exists_with_id")
	wantError(t, call(t, "DELETE", e.URL+ccPath, e.token, nil), 404, "entity.not_found")
	e.do(t, "GET", jwtCustomizerPath, nil, http.StatusOK, &items)
	if len(items) != 1 || items[0].Key != "jwt.accessToken" {
		t.Errorf("list after delete: %+v", items)
	}

	// No token, no access; the customizers are another tenant's business.
	wantError(t, call(t, "GET", e.URL+jwtCustomizerPath, "", nil), 401, "auth.authorization_header_missing")
	c := createTenant(t, e, "acme")
	acme := apitest.Token(t, e.URL, "acme", c.Credentials.ClientID, c.Credentials.ClientSecret, store.ManagementIndicator("acme"), "all")
	wantError(t, call(t, "GET", e.URL+"/t/acme"+atPath, acme, nil), 404, "entity.not_exists_with_id")
}

// manyVariables returns n environment variables of size bytes each.
func manyVariables(n, size int) map[string]string {
	out := map[string]string{}
	for i := range n {
		out[fmt.Sprint("V", i)] = strings.Repeat("x", size)
	}
	return out
}

// TestJWTCustomizer_ClientCredentialsToken: the issued token carries the
// script's claims, computed from Logto's token and context and the
// environment variables; reserved claims stay the server's.
func TestJWTCustomizer_ClientCredentialsToken(t *testing.T) {
	e := newEnv(t)
	app, token := e.m2mClient(t)
	before := issuedClaims(t, token())
	if _, ok := before["tenantTier"]; ok {
		t.Fatalf("claims before any script: %v", before)
	}
	script := `const getCustomJwtClaims = async ({ token, context, environmentVariables }) => ({
		tenantTier: environmentVariables.TIER, appId: context.application.id, appName: context.application.name,
		appType: context.application.type, kind: token.kind, sawJti: token.jti, aud0: token.aud,
		sub: 'forged', iss: 'https://evil.example.com', aud: 'x', exp: 1, client_id: 'x', scope: 'all', jti: 'x',
		nested: { list: [1, 'two', null] } });`
	e.do(t, "PUT", jwtCustomizerPath+"/client-credentials", map[string]any{"script": script,
		"environmentVariables": map[string]string{"TIER": "gold"}}, http.StatusCreated, nil)
	c := issuedClaims(t, token())
	want := map[string]any{"tenantTier": "gold", "appId": app.ID, "appName": "billing-worker", "appType": "MachineToMachine",
		"kind": "ClientCredentials", "aud0": billingIndicator, "sub": app.ID, "client_id": app.ID, "aud": billingIndicator}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("claim %s = %v, want %v (claims %v)", k, c[k], v, c)
		}
	}
	if c["sawJti"] != c["jti"] || c["jti"] == "x" {
		t.Errorf("the script saw jti %v, the token has %v", c["sawJti"], c["jti"])
	}
	if c["iss"] == "https://evil.example.com" || c["exp"] == float64(1) || c["scope"] == "all" {
		t.Errorf("a reserved claim was overridden: %v", c)
	}
	if n, ok := c["nested"].(map[string]any); !ok || len(n["list"].([]any)) != 3 {
		t.Errorf("nested = %v", c["nested"])
	}

	// A changed script takes effect at once; a deleted one stops.
	e.do(t, "PATCH", jwtCustomizerPath+"/client-credentials", map[string]any{"script": `const getCustomJwtClaims = () => ({ v: 2 });`}, http.StatusOK, nil)
	if c := issuedClaims(t, token()); c["v"] != float64(2) || c["tenantTier"] != nil {
		t.Errorf("after PATCH: %v", c)
	}
	// The Management API's tokens never run the script.
	e.do(t, "PUT", jwtCustomizerPath+"/client-credentials", map[string]any{"script": `const getCustomJwtClaims = ({ api }) => api.denyAccess('no');`}, http.StatusOK, nil)
	if c := issuedClaims(t, e.clientCredentials(t, e.ClientID, e.ClientSecret, mgmtResource, "all")); c["v"] != nil {
		t.Errorf("management token: %v", c)
	}
	e.do(t, "DELETE", jwtCustomizerPath+"/client-credentials", nil, http.StatusNoContent, nil)
	if c := issuedClaims(t, token()); c["v"] != nil {
		t.Errorf("after DELETE: %v", c)
	}
}

// TestJWTCustomizer_FailingScript: a denial fails the token request with
// access_denied and the script's message; another failure issues the
// token without custom claims unless blockIssuanceOnError, which fails it
// with invalid_request, as Logto.
func TestJWTCustomizer_FailingScript(t *testing.T) {
	e := newEnv(t)
	_, token := e.m2mClient(t)
	path := jwtCustomizerPath + "/client-credentials"
	for _, tt := range []struct {
		name, script string
		block        bool
		status       int
		error        string
		description  string
	}{
		{"Denied", `const getCustomJwtClaims = async ({ api }) => { api.denyAccess('Billing is closed.'); };`, false, 400, "access_denied", "Billing is closed."},
		{"DeniedWhileBlocking", `const getCustomJwtClaims = async ({ api }) => api.denyAccess();`, true, 400, "access_denied", "Access denied"},
		{"Throws", `const getCustomJwtClaims = async () => { throw new Error('boom'); };`, false, 200, "", ""},
		{"ThrowsBlocking", `const getCustomJwtClaims = async () => { throw new Error('boom'); };`, true, 400, "invalid_request", "Custom claims script error: boom"},
		{"InfiniteLoopBlocking", `const getCustomJwtClaims = async () => { for (;;) {} };`, true, 400, "invalid_request", "Custom claims script error: Script execution timed out after 100ms."},
		{"InfiniteLoop", `const getCustomJwtClaims = async () => { for (;;) {} };`, false, 200, "", ""},
		// Eight doublings of a 256 KiB string pass the 64 MB bound in about 15 ms.
		{"GrowingBlocking", `const getCustomJwtClaims = async () => { let s = 'x'.repeat(1 << 18); for (;;) s += s; };`, true, 400, "invalid_request", "Custom claims script error: Script execution allocated more than 64 MB."},
		{"FetchBlocking", `const getCustomJwtClaims = async () => (await fetch('http://127.0.0.1/')).json();`, true, 400, "invalid_request", "Custom claims script error: fetch is not defined"},
		{"NotAnObjectBlocking", `const getCustomJwtClaims = () => 42;`, true, 400, "invalid_request", "Custom claims script error: The script must return an object of claims."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.do(t, "PUT", path, map[string]any{"script": tt.script, "blockIssuanceOnError": tt.block}, statusOf(t, e, path), nil)
			r := token()
			if tt.status == 200 {
				if c := issuedClaims(t, r); c["sub"] == nil {
					t.Errorf("claims %v", c)
				}
				return
			}
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
				Code        string `json:"code"`
			}
			r.JSON(t, &body)
			if r.Status != tt.status || body.Error != tt.error || body.Description != tt.description || body.Code != "oidc."+tt.error {
				t.Errorf("%d %s, want %d %s %q", r.Status, r.Body, tt.status, tt.error, tt.description)
			}
		})
	}
}

// The failures are counted by kind, blocking or not.
func TestJWTCustomizer_FailuresCounted(t *testing.T) {
	e := newEnv(t)
	_, token := e.m2mClient(t)
	e.do(t, "PUT", jwtCustomizerPath+"/client-credentials", map[string]any{"script": `const getCustomJwtClaims = () => { throw new Error('x'); };`}, http.StatusCreated, nil)
	for range 2 {
		issuedClaims(t, token())
	}
	labels := map[string]string{"tenant": "default", "token_type": "client-credentials", "kind": "runtime"}
	if got := counter(t, e.Registry, "idbolt_custom_claims_failures_total", labels); got != 2 {
		t.Errorf("failures counted: %v, want 2", got)
	}
}

// statusOf is the status a PUT of path answers: 201 the first time.
func statusOf(t *testing.T, e *env, path string) int {
	t.Helper()
	if call(t, "GET", e.URL+path, e.token, nil).Status == http.StatusNotFound {
		return http.StatusCreated
	}
	return http.StatusOK
}

// TestJWTCustomizer_AccessToken: a user's token from the token exchange
// runs the access-token script with Logto's context: the user with roles
// and organizations, the application and the subject token's grant.
func TestJWTCustomizer_AccessToken(t *testing.T) {
	e := newEnv(t)
	e.do(t, "POST", "/api/resources", map[string]any{"name": "billing", "indicator": billingIndicator}, http.StatusCreated, nil)
	ada := e.createUser(t, map[string]any{"username": "ada", "primaryEmail": "ada@example.com", "customData": map[string]any{"plan": "pro"}})
	role := e.newRole(t, "accountant", "User")
	e.do(t, "POST", "/api/users/"+ada.ID+"/roles", map[string]any{"roleIds": []string{role.ID}}, http.StatusCreated, nil)
	var org idName
	e.do(t, "POST", "/api/organizations", map[string]any{"name": "Acme"}, http.StatusCreated, &org)
	e.do(t, "POST", "/api/organizations/"+org.ID+"/users", map[string]any{"userIds": []string{ada.ID}}, http.StatusCreated, nil)
	tool := e.createApp(t, map[string]any{"name": "tool", "type": "MachineToMachine", "customClientMetadata": map[string]any{"allowTokenExchange": true}})
	script := `const getCustomJwtClaims = async ({ token, context }) => ({
		email: context.user.primaryEmail, plan: context.user.customData.plan, roles: context.user.roles.map((r) => r.name),
		orgs: context.user.organizations.map((o) => o.name), app: context.application.name, ticket: context.grant.subjectTokenContext.ticket,
		grant: context.grant.type, gty: token.gty, kind: token.kind, account: token.accountId });`
	e.do(t, "PUT", jwtCustomizerPath+"/access-token", map[string]any{"script": script}, http.StatusCreated, nil)
	var st struct {
		SubjectToken string `json:"subjectToken"`
	}
	e.do(t, "POST", "/api/subject-tokens", map[string]any{"userId": ada.ID, "context": map[string]any{"ticket": "T-7"}}, http.StatusCreated, &st)
	r := postForm(t, e.URL+"/oidc/token", url.Values{"grant_type": {tokenExchange}, "subject_token": {st.SubjectToken},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "resource": {billingIndicator}}, tool.ID, tool.Secret)
	c := issuedClaims(t, r)
	want := map[string]any{"email": "ada@example.com", "plan": "pro", "app": "tool", "ticket": "T-7", "grant": tokenExchange,
		"gty": tokenExchange, "kind": "AccessToken", "account": ada.ID, "sub": ada.ID}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("claim %s = %v, want %v", k, c[k], v)
		}
	}
	if roles, _ := c["roles"].([]any); len(roles) != 1 || roles[0] != "accountant" {
		t.Errorf("roles = %v", c["roles"])
	}
	if orgs, _ := c["orgs"].([]any); len(orgs) != 1 || orgs[0] != "Acme" {
		t.Errorf("orgs = %v", c["orgs"])
	}
	// The client credentials script is another one: M2M tokens are untouched.
	app, token := e.m2mClient2(t)
	if c := issuedClaims(t, token()); c["email"] != nil || c["sub"] != app.ID {
		t.Errorf("M2M token ran the access token script: %v", c)
	}
}

// m2mClient2 is an M2M app for the billing resource already made.
func (e *env) m2mClient2(t *testing.T) (application, func() response) {
	app := e.newApp(t, "billing-worker", "MachineToMachine")
	return app, func() response { return e.clientCredentials(t, app.ID, app.Secret, billingIndicator, "") }
}

// TestJWTCustomizer_Test: the test route runs a script on a sample token
// and context without storing it; failures are Logto's 422 (403 for a
// denial) jwt_customizer.general with the script's message.
func TestJWTCustomizer_Test(t *testing.T) {
	e := newEnv(t)
	path := jwtCustomizerPath + "/test"
	ok := map[string]any{"tokenType": "client-credentials", "script": `const getCustomJwtClaims = async ({ token, context, environmentVariables }) => ({ a: token.clientId, b: context.application.name, c: environmentVariables.X, iss: 'kept' });`,
		"environmentVariables": map[string]string{"X": "y"}, "token": map[string]any{"clientId": "c1"}, "context": map[string]any{"application": map[string]any{"name": "n"}}}
	var got map[string]any
	e.do(t, "POST", path, ok, http.StatusOK, &got)
	if got["a"] != "c1" || got["b"] != "n" || got["c"] != "y" || got["iss"] != "kept" || len(got) != 4 {
		t.Errorf("test answered %v", got)
	}
	wantError(t, call(t, "GET", e.URL+jwtCustomizerPath+"/client-credentials", e.token, nil), 404, "entity.not_exists_with_id")

	user := map[string]any{"tokenType": "access-token", "script": `const getCustomJwtClaims = ({ context }) => ({ u: context.user.id });`,
		"token": map[string]any{}, "context": map[string]any{"user": map[string]any{"id": "u1"}}}
	e.do(t, "POST", path, user, http.StatusOK, &got)
	if got["u"] != "u1" {
		t.Errorf("access token test answered %v", got)
	}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range ok {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, tt := range []struct {
		name   string
		body   any
		status int
		code   string
		msg    string
	}{
		{"Throws", with("script", `const getCustomJwtClaims = () => { throw new Error('bad input'); };`), 422, "jwt_customizer.general", "bad input"},
		{"Syntax", with("script", `const getCustomJwtClaims = (`), 422, "jwt_customizer.general", ""},
		{"NoFunction", with("script", `const f = () => ({});`), 422, "jwt_customizer.general", "getCustomJwtClaims"},
		{"Denied", with("script", `const getCustomJwtClaims = ({ api }) => api.denyAccess('nope');`), 403, "jwt_customizer.general", "nope"},
		{"Timeout", with("script", `const getCustomJwtClaims = () => { while (true) {} };`), 422, "jwt_customizer.general", "timed out"},
		{"Require", with("script", `const getCustomJwtClaims = () => ({ fs: require('fs').readFileSync('/etc/passwd', 'utf8') });`), 422, "jwt_customizer.general", "require is not defined"},
		{"Process", with("script", `const getCustomJwtClaims = () => ({ env: process.env });`), 422, "jwt_customizer.general", "process is not defined"},
		{"NoTokenType", with("tokenType", nil), 400, "guard.invalid_input", ""},
		{"BadTokenType", with("tokenType", "id-token"), 400, "guard.invalid_input", ""},
		{"NoScript", with("script", nil), 400, "guard.invalid_input", ""},
		{"NoToken", with("token", nil), 400, "guard.invalid_input", ""},
		{"NoContext", with("context", nil), 400, "guard.invalid_input", ""},
		{"ContextNotObject", with("context", "x"), 400, "guard.invalid_input", ""},
		{"AccessTokenWithoutUser", with("tokenType", "access-token"), 400, "guard.invalid_input", "context.user"},
		{"UnknownField", with("payload", map[string]any{}), 400, "guard.invalid_input", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, "POST", e.URL+path, e.token, tt.body)
			wantError(t, r, tt.status, tt.code)
			if !strings.Contains(string(r.Body), tt.msg) {
				t.Errorf("message: %s, want %q in it", r.Body, tt.msg)
			}
		})
	}
}

// TestJWTCustomizer_VariablesSealed: environment variables are not in the
// data file in clear; the script is.
func TestJWTCustomizer_VariablesSealed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	e := newEnv(t, apitest.Options{Path: path, Sync: true})
	const secret = "sk_live_4f9a8b7c6d5e4f3a2b1c"
	script := `const getCustomJwtClaims = ({ environmentVariables }) => ({ markerScriptText: 1 });`
	e.do(t, "PUT", jwtCustomizerPath+"/client-credentials", map[string]any{"script": script,
		"environmentVariables": map[string]string{"API_KEY": secret}}, http.StatusCreated, nil)
	data := e.closedFile(t, path)
	if bytes.Contains(data, []byte(secret)) {
		t.Error("the data file holds an environment variable in clear")
	}
	if !bytes.Contains(data, []byte("markerScriptText")) {
		t.Fatal("the data file does not hold the script: wrong file?")
	}
}

// TestJWTCustomizer_NotForViewers: a tenant-wide viewer reads users but
// not the customizers, whose answers show the environment variables, and
// cannot test scripts.
func TestJWTCustomizer_NotForViewers(t *testing.T) {
	f := newManagerFixture(t)
	viewer := f.tokens["iamView"]
	if r := call(t, "GET", f.URL+"/api/users", viewer, nil); r.Status != http.StatusOK {
		t.Fatalf("viewer cannot read users: %d %s", r.Status, r.Body)
	}
	wantError(t, call(t, "GET", f.URL+jwtCustomizerPath, viewer, nil), 403, "auth.forbidden")
	wantError(t, call(t, "GET", f.URL+jwtCustomizerPath+"/access-token", viewer, nil), 403, "auth.forbidden")
	wantError(t, call(t, "POST", f.URL+jwtCustomizerPath+"/test", viewer, map[string]any{"tokenType": "client-credentials",
		"script": "const getCustomJwtClaims = () => ({});", "token": map[string]any{}, "context": map[string]any{}}), 403, "auth.forbidden")
	wantError(t, call(t, "PUT", f.URL+jwtCustomizerPath+"/access-token", viewer, map[string]any{"script": "const getCustomJwtClaims = () => ({});"}),
		403, "auth.forbidden")
}

// TestJWTCustomizer_JWTBearer: a service user's token from the JWT bearer
// grant runs the access-token script, with the service user as
// context.user and the API client as context.application; a denial
// refuses it.
func TestJWTCustomizer_JWTBearer(t *testing.T) {
	b := newBearerEnv(t)
	script := `const getCustomJwtClaims = async ({ token, context }) =>
		({ who: context.user.username, app: context.application.id, gty: token.gty, account: token.accountId });`
	b.do(t, "PUT", jwtCustomizerPath+"/access-token", map[string]any{"script": script}, http.StatusCreated, nil)
	assertion := func() string {
		return signAssertion(t, b.signer, jose.RS256, b.key.KeyID, b.claims(b.client.UserID))
	}
	orders := url.Values{"resource": {b.orders.Indicator}, "scope": {"read"}}
	tok := b.bearerIssued(t, assertion(), orders)
	want := map[string]any{"who": "service-account-robot", "app": b.client.ClientID, "gty": grantJWTBearer, "account": b.client.UserID}
	for k, v := range want {
		if tok.Claims[k] != v {
			t.Errorf("claim %s = %v, want %v (claims %v)", k, tok.Claims[k], v, tok.Claims)
		}
	}
	// The Management API's token runs no script.
	if m := b.bearerIssued(t, assertion(), mgmtForm("all")); m.Claims["who"] != nil {
		t.Errorf("management token ran the script: %v", m.Claims)
	}
	b.do(t, "PUT", jwtCustomizerPath+"/access-token", map[string]any{"script": `const getCustomJwtClaims = async ({ context, api }) => {
		if (context.user.username.startsWith('service-account-')) api.denyAccess('service user is blocked');
		return {};
	};`}, http.StatusOK, nil)
	r := b.bearer(t, assertion(), orders)
	wantOAuthError(t, r, 400, "access_denied")
	if !strings.Contains(string(r.Body), "service user is blocked") {
		t.Errorf("denial: %s", r.Body)
	}
}

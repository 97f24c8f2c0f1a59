package api_test

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/store"
)

const tokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// TestTokenExchange_PersonalAccessToken: a user's personal access token,
// exchanged (RFC 8693) through an application that allows token exchange,
// gets an access token for the user at the resource with requested ∩ the
// scopes of the user's roles; every other case is refused with the OAuth
// error Logto's oidc-provider answers, and the audit log keeps no token.
func TestTokenExchange_PersonalAccessToken(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixMilli())
	e := newEnv(t, apitest.Options{Now: func() time.Time { return time.UnixMilli(now.Load()) }})
	const indicator = "https://orders.example.com"
	var res idName
	e.do(t, "POST", "/api/resources", map[string]any{"name": "orders", "indicator": indicator}, http.StatusCreated, &res)
	var read, write idName
	e.do(t, "POST", "/api/resources/"+res.ID+"/scopes", map[string]any{"name": "read"}, http.StatusCreated, &read)
	e.do(t, "POST", "/api/resources/"+res.ID+"/scopes", map[string]any{"name": "write"}, http.StatusCreated, &write)
	reader := e.newRole(t, "orders-reader", "User")
	e.do(t, "POST", "/api/roles/"+reader.ID+"/scopes", map[string]any{"scopeIds": []string{read.ID}}, http.StatusCreated, nil)
	ada := e.createUser(t, map[string]any{"username": "ada"})
	e.do(t, "POST", "/api/users/"+ada.ID+"/roles", map[string]any{"roleIds": []string{reader.ID}}, http.StatusCreated, nil)
	var pt pat
	e.do(t, "POST", patsPath(ada.ID), map[string]any{"name": "cli", "expiresAt": now.Load() + 3_600_000}, http.StatusCreated, &pt)

	allow := map[string]any{"allowTokenExchange": true}
	tool := e.createApp(t, map[string]any{"name": "tool", "type": "Traditional", "customClientMetadata": allow})
	cli := e.createApp(t, map[string]any{"name": "cli", "type": "SPA", "customClientMetadata": allow})
	plain := e.newApp(t, "plain", "MachineToMachine")
	tokenURL := e.URL + "/oidc/token"
	form := func(kv ...string) url.Values {
		f := url.Values{"grant_type": {tokenExchange}, "subject_token": {*pt.Value},
			"subject_token_type": {"urn:logto:token-type:personal_access_token"}, "resource": {indicator}, "scope": {"read write"}}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				f.Del(kv[i])
			} else {
				f.Set(kv[i], kv[i+1])
			}
		}
		return f
	}

	// A confidential client with its secret, and a public one by its id.
	for name, r := range map[string]response{
		"Traditional": postForm(t, tokenURL, form(), tool.ID, tool.Secret),
		"SPA":         postForm(t, tokenURL, form("client_id", cli.ID), "", ""),
	} {
		var body struct {
			AccessToken string `json:"access_token"`
			Scope       string `json:"scope"`
			TokenType   string `json:"token_type"`
			ExpiresIn   int    `json:"expires_in"`
		}
		r.JSON(t, &body)
		if r.Status != http.StatusOK || body.Scope != "read" || body.TokenType != "Bearer" || body.ExpiresIn != store.DefaultAccessTokenTTL {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
		claims := tokenClaims(t, body.AccessToken)
		want := tool.ID
		if name == "SPA" {
			want = cli.ID
		}
		if claims["sub"] != ada.ID || claims["client_id"] != want || claims["aud"] != indicator || claims["scope"] != "read" {
			t.Errorf("%s: claims %v", name, claims)
		}
		verifiedKid(t, e.URL, body.AccessToken)
	}

	// The Management API: a user without its roles gets no scope there,
	// and the token opens nothing.
	r := postForm(t, tokenURL, form("resource", store.ManagementIndicator("default"), "scope", "all"), tool.ID, tool.Secret)
	var mgmt struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	r.JSON(t, &mgmt)
	if r.Status != http.StatusOK || mgmt.Scope != "" {
		t.Fatalf("management API exchange: %d %s", r.Status, r.Body)
	}
	if r := call(t, "GET", e.URL+"/api/users", mgmt.AccessToken, nil); r.Status != http.StatusForbidden {
		t.Errorf("a scopeless exchanged token lists users: %d", r.Status)
	}

	// Refusals.
	for _, tc := range []struct {
		name, id, secret string
		form             url.Values
		status           int
		oauthError       string
	}{
		{"NotAllowed", plain.ID, plain.Secret, form(), 400, "unauthorized_client"},
		{"WrongSecret", tool.ID, "wrong", form(), 401, "invalid_client"},
		{"SPAWithSecret", cli.ID, "x", form(), 401, "invalid_client"},
		{"ConfidentialWithoutSecret", "", "", form("client_id", tool.ID), 401, "invalid_client"},
		{"NoClient", "", "", form(), 401, "invalid_client"},
		{"UnknownToken", tool.ID, tool.Secret, form("subject_token", "pat_nosuchtoken"), 400, "invalid_grant"},
		{"OtherTokenType", tool.ID, tool.Secret, form("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"), 400, "invalid_grant"},
		{"NoSubjectToken", tool.ID, tool.Secret, form("subject_token", ""), 400, "invalid_request"},
		{"NoSubjectTokenType", tool.ID, tool.Secret, form("subject_token_type", ""), 400, "invalid_request"},
		{"ActorTokenWithoutType", tool.ID, tool.Secret, form("actor_token", "x"), 400, "invalid_grant"},
		{"UnknownResource", tool.ID, tool.Secret, form("resource", "https://nowhere.example"), 400, "invalid_target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantOAuthError(t, postForm(t, tokenURL, tc.form, tc.id, tc.secret), tc.status, tc.oauthError)
		})
	}

	// A suspended user's token, then an expired one, then a deleted one.
	e.do(t, "PATCH", "/api/users/"+ada.ID+"/is-suspended", map[string]any{"isSuspended": true}, http.StatusOK, nil)
	wantOAuthError(t, postForm(t, tokenURL, form(), tool.ID, tool.Secret), 400, "invalid_grant")
	e.do(t, "PATCH", "/api/users/"+ada.ID+"/is-suspended", map[string]any{"isSuspended": false}, http.StatusOK, nil)
	now.Add(3_600_000)
	wantOAuthError(t, postForm(t, tokenURL, form(), tool.ID, tool.Secret), 400, "invalid_grant")
	now.Add(-3_600_000)
	e.do(t, "DELETE", patsPath(ada.ID)+"/cli", nil, http.StatusNoContent, nil)
	wantOAuthError(t, postForm(t, tokenURL, form(), tool.ID, tool.Secret), 400, "invalid_grant")

	// The audit log records the exchanges, never the token.
	logs := e.do(t, "GET", "/api/logs?logKey=ExchangeTokenBy.TokenExchange&page_size=100", nil, http.StatusOK, nil)
	if !bytes.Contains(logs.Body, []byte(ada.ID)) && !bytes.Contains(logs.Body, []byte(tool.ID)) {
		t.Errorf("no exchange in the audit log: %s", logs.Body)
	}
	if bytes.Contains(logs.Body, []byte(*pt.Value)) {
		t.Error("the audit log holds the personal access token")
	}
}

// wantOAuthError fails unless r is an OAuth error answer of status with
// error code oauthError.
func wantOAuthError(t testing.TB, r response, status int, oauthError string) {
	t.Helper()
	var body struct {
		Error string `json:"error"`
	}
	r.JSON(t, &body)
	if r.Status != status || body.Error != oauthError {
		t.Errorf("%d %s, want %d %s", r.Status, r.Body, status, oauthError)
	}
}

// TestTokenExchange_SubjectToken: a subject token made through the
// Management API (impersonation) is exchanged once, within its 600 s, for
// a token as the user; of concurrent exchanges exactly one wins; its
// creation is audited with the creator and the user.
func TestTokenExchange_SubjectToken(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixMilli())
	e := newEnv(t, apitest.Options{Now: func() time.Time { return time.UnixMilli(now.Load()) }})
	ada := e.createUser(t, map[string]any{"username": "ada"})
	tool := e.createApp(t, map[string]any{"name": "tool", "type": "MachineToMachine",
		"customClientMetadata": map[string]any{"allowTokenExchange": true}})
	newSubject := func() string {
		var st struct {
			SubjectToken string `json:"subjectToken"`
			ExpiresIn    int    `json:"expiresIn"`
		}
		r := e.do(t, "POST", "/api/subject-tokens", map[string]any{"userId": ada.ID, "context": map[string]any{"ticket": "T-1"}},
			http.StatusCreated, &st)
		if len(st.SubjectToken) != 36 || st.SubjectToken[:4] != "sub_" || st.ExpiresIn != 600 || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("subject token: %s", r.Body)
		}
		return st.SubjectToken
	}
	tokenURL := e.URL + "/oidc/token"
	exchange := func(subject string) response {
		return postForm(t, tokenURL, url.Values{"grant_type": {tokenExchange}, "subject_token": {subject},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
			"resource":           {store.ManagementIndicator("default")}}, tool.ID, tool.Secret)
	}

	subject := newSubject()
	r := exchange(subject)
	if r.Status != http.StatusOK {
		t.Fatalf("exchange: %d %s", r.Status, r.Body)
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	r.JSON(t, &body)
	if c := tokenClaims(t, body.AccessToken); c["sub"] != ada.ID || c["client_id"] != tool.ID {
		t.Errorf("claims %v", c)
	}
	wantOAuthError(t, exchange(subject), 400, "invalid_grant") // once only

	late := newSubject()
	now.Add(600_000)
	wantOAuthError(t, exchange(late), 400, "invalid_grant")

	contested := newSubject()
	var wins, refused atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			switch r := exchange(contested); r.Status {
			case http.StatusOK:
				wins.Add(1)
			case http.StatusBadRequest:
				refused.Add(1)
			default:
				t.Errorf("exchange: %d %s", r.Status, r.Body)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || refused.Load() != 15 {
		t.Errorf("%d of 16 concurrent exchanges won, %d were refused; want 1 and 15", wins.Load(), refused.Load())
	}

	wantError(t, call(t, "POST", e.URL+"/api/subject-tokens", e.token, map[string]any{"userId": "nosuchuser"}), 404, "entity.not_found")
	wantError(t, call(t, "POST", e.URL+"/api/subject-tokens", e.token, map[string]any{}), 400, "guard.invalid_input")
	wantError(t, call(t, "POST", e.URL+"/api/subject-tokens", e.token, map[string]any{"userId": ada.ID, "context": "x"}), 400, "guard.invalid_input")

	// Who impersonated whom.
	var logs []struct {
		Payload struct {
			ApplicationID string `json:"applicationId"`
			UserID        string `json:"userId"`
		} `json:"payload"`
	}
	e.do(t, "GET", "/api/logs?logKey=Management.SubjectToken.Create", nil, http.StatusOK, &logs)
	if len(logs) != 3 || logs[0].Payload.ApplicationID != e.ClientID || logs[0].Payload.UserID != ada.ID {
		t.Errorf("creation audit: %+v", logs)
	}
}

// exchangeFixture is a tenant with a resource, an application that allows
// token exchange, and users ada and bob each holding a personal access
// token that does not expire.
type exchangeFixture struct {
	e              *env
	now            *atomic.Int64
	resource       wireResource
	tool           application
	ada, bob       user
	adaPAT, bobPAT string
}

func newExchangeFixture(t *testing.T) *exchangeFixture {
	t.Helper()
	f := &exchangeFixture{now: new(atomic.Int64)}
	f.now.Store(time.Now().UnixMilli())
	f.e = newEnv(t, apitest.Options{Now: func() time.Time { return time.UnixMilli(f.now.Load()) }})
	f.resource = f.e.createResource(t, "Docs API", "https://docs.example.com/api")
	f.tool = f.e.createApp(t, map[string]any{"name": "tool", "type": "Traditional", "customClientMetadata": map[string]any{"allowTokenExchange": true}})
	f.ada = f.e.createUser(t, map[string]any{"username": "ada"})
	f.bob = f.e.createUser(t, map[string]any{"username": "bob"})
	var pt pat
	f.e.do(t, "POST", patsPath(f.ada.ID), map[string]any{"name": "cli"}, http.StatusCreated, &pt)
	f.adaPAT = *pt.Value
	f.e.do(t, "POST", patsPath(f.bob.ID), map[string]any{"name": "cli"}, http.StatusCreated, &pt)
	f.bobPAT = *pt.Value
	return f
}

// exchange posts a token exchange of subject (a personal access token, or
// a subject token when it starts with sub_) with the parameters kv, and
// the fixture's resource unless kv asks for an organization.
func (f *exchangeFixture) exchange(t *testing.T, subject string, kv ...string) response {
	t.Helper()
	form := url.Values{"grant_type": {tokenExchange}, "subject_token": {subject},
		"subject_token_type": {"urn:logto:token-type:personal_access_token"}}
	if len(subject) > 4 && subject[:4] == "sub_" {
		form.Set("subject_token_type", "urn:ietf:params:oauth:token-type:access_token")
	}
	if !slices.Contains(kv, "organization_id") {
		form.Set("resource", f.resource.Indicator)
	}
	for i := 0; i < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	return postForm(t, f.e.URL+"/oidc/token", form, f.tool.ID, f.tool.Secret)
}

// grantedToken returns r's access token, scope and lifetime, failing
// unless r is a 200.
func grantedToken(t *testing.T, r response) (token string, scope string, expiresIn int) {
	t.Helper()
	var body struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
		ExpiresIn   int    `json:"expires_in"`
	}
	r.JSON(t, &body)
	if r.Status != http.StatusOK || body.AccessToken == "" {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	return body.AccessToken, body.Scope, body.ExpiresIn
}

// TestTokenExchange_ActorToken: an actor token (an access token of the
// tenant acting as a user) adds act {sub: that user} to the exchanged
// token, as Logto's; a wrong type, an expired token, another tenant's, a
// token that acts as no user, an organization token and garbage are
// refused with invalid_grant, and a refusal does not use up a subject token.
func TestTokenExchange_ActorToken(t *testing.T) {
	f := newExchangeFixture(t)
	e := f.e
	const accessType = "urn:ietf:params:oauth:token-type:access_token"
	bobToken, _, _ := grantedToken(t, f.exchange(t, f.bobPAT))

	token, _, _ := grantedToken(t, f.exchange(t, f.adaPAT, "actor_token", bobToken, "actor_token_type", accessType))
	claims := tokenClaims(t, token)
	act, _ := claims["act"].(map[string]any)
	if claims["sub"] != f.ada.ID || act == nil || act["sub"] != f.bob.ID || len(act) != 1 {
		t.Errorf("claims %v", claims)
	}
	verifiedKid(t, e.URL, token)
	if _, ok := tokenClaims(t, bobToken)["act"]; ok {
		t.Error("a token exchanged without an actor token has an act claim")
	}
	// The audit entry names both users: the user as userId, the actor as actorUserId.
	entries, _ := e.logs(t, "logKey=ExchangeTokenBy.TokenExchange&page_size=1")
	if len(entries) != 1 || entries[0].Payload["userId"] != f.ada.ID || entries[0].Payload["actorUserId"] != f.bob.ID {
		t.Errorf("audit entry: %+v", entries)
	}

	// Refusals.
	c := createTenant(t, e, "acme")
	acmeToken := apitest.Token(t, e.URL, "acme", c.Credentials.ClientID, c.Credentials.ClientSecret, "https://acme.logto.app/api", "all")
	appToken := e.ManagementToken(t, "default") // acts as an application, no user
	var org idName
	e.do(t, "POST", "/api/organizations", map[string]any{"name": "Org"}, http.StatusCreated, &org)
	e.do(t, "POST", "/api/organizations/"+org.ID+"/users", map[string]any{"userIds": []string{f.bob.ID}}, http.StatusCreated, nil)
	bobOrgToken, _, _ := grantedToken(t, f.exchange(t, f.bobPAT, "organization_id", org.ID))
	for _, tc := range []struct {
		name, token, tokenType, why string
	}{
		{"WrongType", bobToken, "urn:ietf:params:oauth:token-type:jwt", "unsupported actor token type"},
		{"NoType", bobToken, "", "unsupported actor token type"},
		{"OtherTenant", acmeToken, accessType, "live key of this tenant"},
		{"NoUser", appToken, accessType, "not a user"},
		{"OrganizationToken", bobOrgToken, accessType, "resource token"},
		{"Garbage", "not.a.jwt", accessType, "not a valid JWS"},
		{"Tampered", bobToken[:len(bobToken)-4] + "AAAA", accessType, "signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kv := []string{"actor_token", tc.token}
			if tc.tokenType != "" {
				kv = append(kv, "actor_token_type", tc.tokenType)
			}
			r := f.exchange(t, f.adaPAT, kv...)
			wantOAuthError(t, r, 400, "invalid_grant")
			if !bytes.Contains(r.Body, []byte(tc.why)) {
				t.Errorf("the reason does not say %q: %s", tc.why, r.Body)
			}
		})
	}

	// A subject token survives a refused actor token.
	var st struct {
		SubjectToken string `json:"subjectToken"`
	}
	e.do(t, "POST", "/api/subject-tokens", map[string]any{"userId": f.ada.ID}, http.StatusCreated, &st)
	wantOAuthError(t, f.exchange(t, st.SubjectToken, "actor_token", appToken, "actor_token_type", accessType), 400, "invalid_grant")
	token, _, _ = grantedToken(t, f.exchange(t, st.SubjectToken, "actor_token", bobToken, "actor_token_type", accessType))
	if act, _ := tokenClaims(t, token)["act"].(map[string]any); act["sub"] != f.bob.ID {
		t.Errorf("impersonation with an actor: %v", tokenClaims(t, token))
	}

	// A deleted actor, then an expired actor token.
	carl := e.createUser(t, map[string]any{"username": "carl"})
	var pt pat
	e.do(t, "POST", patsPath(carl.ID), map[string]any{"name": "cli"}, http.StatusCreated, &pt)
	carlToken, _, _ := grantedToken(t, f.exchange(t, *pt.Value))
	e.do(t, "DELETE", "/api/users/"+carl.ID, nil, http.StatusNoContent, nil)
	wantOAuthError(t, f.exchange(t, f.adaPAT, "actor_token", carlToken, "actor_token_type", accessType), 400, "invalid_grant")
	f.now.Add((store.DefaultAccessTokenTTL + 1) * 1000)
	r := f.exchange(t, f.adaPAT, "actor_token", bobToken, "actor_token_type", accessType)
	wantOAuthError(t, r, 400, "invalid_grant")
	if !bytes.Contains(r.Body, []byte("expired")) {
		t.Errorf("an expired actor token: %s", r.Body)
	}
}

// TestTokenExchange_Organization: with organization_id, a member gets an
// organization token (audience urn:logto:organization:<id>, requested ∩ the
// organization scopes of the user's roles there, an organization token's
// lifetime), or with a resource a token for it carrying the organization
// roles' resource scopes and naming the organization; a non-member or an
// unknown organization is 403 access_denied, as Logto answers.
func TestTokenExchange_Organization(t *testing.T) {
	f := newExchangeFixture(t)
	e := f.e
	var org, other idName
	e.do(t, "POST", "/api/organizations", map[string]any{"name": "Acme"}, http.StatusCreated, &org)
	e.do(t, "POST", "/api/organizations", map[string]any{"name": "Other"}, http.StatusCreated, &other)
	var read, write idName
	e.do(t, "POST", "/api/organization-scopes", map[string]any{"name": "read:docs"}, http.StatusCreated, &read)
	e.do(t, "POST", "/api/organization-scopes", map[string]any{"name": "write:docs"}, http.StatusCreated, &write)
	resScopes := e.createScopes(t, f.resource.ID, "docs:list", "docs:purge")
	// A tenant-wide role with docs:purge must not reach tokens within the organization.
	global := e.createRole(t, "global purge", "User", resScopes[1])
	e.do(t, "POST", "/api/users/"+f.ada.ID+"/roles", map[string]any{"roleIds": []string{global.ID}}, http.StatusCreated, nil)
	var reader idName
	e.do(t, "POST", "/api/organization-roles", map[string]any{"name": "reader",
		"organizationScopeIds": []string{read.ID}, "resourceScopeIds": []string{resScopes[0].ID}}, http.StatusCreated, &reader)
	e.do(t, "POST", "/api/organizations/"+org.ID+"/users", map[string]any{"userIds": []string{f.ada.ID}}, http.StatusCreated, nil)
	e.do(t, "POST", "/api/organizations/"+org.ID+"/users/"+f.ada.ID+"/roles",
		map[string]any{"organizationRoleIds": []string{reader.ID}}, http.StatusCreated, nil)

	token, scope, ttl := grantedToken(t, f.exchange(t, f.adaPAT, "organization_id", org.ID, "scope", "write:docs read:docs docs:purge"))
	claims := tokenClaims(t, token)
	if claims["aud"] != "urn:logto:organization:"+org.ID || claims["sub"] != f.ada.ID || claims["client_id"] != f.tool.ID ||
		scope != "read:docs" || claims["scope"] != scope || ttl != store.OrganizationTokenTTL {
		t.Errorf("organization token: scope %q, ttl %d, claims %v", scope, ttl, claims)
	}
	if _, ok := claims["organization_id"]; ok {
		t.Errorf("an organization token has no organization_id claim: %v", claims)
	}
	if r := call(t, "GET", e.URL+"/api/users", token, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("an organization token opens the Management API: %d", r.Status)
	}

	token, scope, _ = grantedToken(t, f.exchange(t, f.adaPAT, "organization_id", org.ID, "resource", f.resource.Indicator, "scope", "docs:purge docs:list"))
	claims = tokenClaims(t, token)
	if claims["aud"] != f.resource.Indicator || claims["organization_id"] != org.ID || scope != "docs:list" {
		t.Errorf("resource token within the organization: scope %q, claims %v", scope, claims)
	}
	// Without the organization, the tenant-wide role counts.
	if _, scope, _ := grantedToken(t, f.exchange(t, f.adaPAT, "scope", "docs:purge docs:list")); scope != "docs:purge" {
		t.Errorf("resource token: scope %q", scope)
	}

	for name, r := range map[string]response{
		"non-member":          f.exchange(t, f.bobPAT, "organization_id", org.ID, "scope", "read:docs"),
		"other organization":  f.exchange(t, f.adaPAT, "organization_id", other.ID),
		"unknown":             f.exchange(t, f.adaPAT, "organization_id", "nosuchorg"),
		"non-member+resource": f.exchange(t, f.bobPAT, "organization_id", org.ID, "resource", f.resource.Indicator),
	} {
		wantOAuthError(t, r, http.StatusForbidden, "access_denied")
		if r.Code() != "oidc.access_denied" {
			t.Errorf("%s: %s", name, r.Body)
		}
	}
	wantOAuthError(t, f.exchange(t, f.adaPAT, "organization_id", org.ID, "resource", "https://nope.example.com"), 400, "invalid_target")

	// A subject token (impersonation) is not used up by a refusal.
	var st struct {
		SubjectToken string `json:"subjectToken"`
	}
	e.do(t, "POST", "/api/subject-tokens", map[string]any{"userId": f.bob.ID}, http.StatusCreated, &st)
	wantOAuthError(t, f.exchange(t, st.SubjectToken, "organization_id", org.ID), http.StatusForbidden, "access_denied")
	e.do(t, "POST", "/api/organizations/"+org.ID+"/users", map[string]any{"userIds": []string{f.bob.ID}}, http.StatusCreated, nil)
	if _, scope, _ := grantedToken(t, f.exchange(t, st.SubjectToken, "organization_id", org.ID, "scope", "read:docs")); scope != "" {
		t.Errorf("a member without roles gets %q", scope)
	}
}

package api_test

import (
	"bytes"
	"net/http"
	"net/url"
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
		{"ActorToken", tool.ID, tool.Secret, form("actor_token", "x"), 400, "invalid_request"},
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

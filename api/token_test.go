package api_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idbolt/idbolt/api/apitest"
)

const mgmtResource = "https://default.logto.app/api"

func TestToken_ClientCredentials(t *testing.T) {
	srv := apitest.Start(t)
	tokenURL := srv.URL + "/oidc/token"
	good := url.Values{"grant_type": {"client_credentials"}, "resource": {mgmtResource}, "scope": {"all"}}
	with := func(kv ...string) url.Values {
		f := url.Values{}
		for k, v := range good {
			f[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				f.Del(kv[i])
			} else {
				f.Set(kv[i], kv[i+1])
			}
		}
		return f
	}
	tests := []struct {
		name       string
		form       url.Values
		id, secret string // Basic credentials; empty = none
		wantStatus int
		wantError  string
		wantScope  string
	}{
		{"Basic", good, srv.ClientID, srv.ClientSecret, 200, "", "all"},
		{"Post", with("client_id", srv.ClientID, "client_secret", srv.ClientSecret), "", "", 200, "", "all"},
		{"NoScopeGrantsNone", with("scope", ""), srv.ClientID, srv.ClientSecret, 200, "", ""},
		{"UngrantedScopeDropped", with("scope", "all write:stuff"), srv.ClientID, srv.ClientSecret, 200, "", "all"},
		{"NoResource", with("resource", ""), srv.ClientID, srv.ClientSecret, 400, "invalid_target", ""},
		{"UnknownResource", with("resource", "https://nope.example.com/api"), srv.ClientID, srv.ClientSecret, 400, "invalid_target", ""},
		{"RelativeResource", with("resource", "/api"), srv.ClientID, srv.ClientSecret, 400, "invalid_target", ""},
		{"WrongSecret", good, srv.ClientID, "wrongsecret", 401, "invalid_client", ""},
		{"UnknownClient", good, "nosuchclient", srv.ClientSecret, 401, "invalid_client", ""},
		{"NoClientAuth", good, "", "", 401, "invalid_client", ""},
		{"WrongSecretPost", with("client_id", srv.ClientID, "client_secret", "nope"), "", "", 401, "invalid_client", ""},
		{"TwoAuthMethods", with("client_secret", srv.ClientSecret), srv.ClientID, srv.ClientSecret, 400, "invalid_request", ""},
		{"UnsupportedGrant", with("grant_type", "password"), srv.ClientID, srv.ClientSecret, 400, "unsupported_grant_type", ""},
		{"MissingGrant", with("grant_type", ""), srv.ClientID, srv.ClientSecret, 400, "invalid_request", ""},
		{"BadScopeChars", with("scope", `all "x"`), srv.ClientID, srv.ClientSecret, 400, "invalid_scope", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postForm(t, tokenURL, tt.form, tt.id, tt.secret)
			if r.Status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.wantStatus, r.Body)
			}
			if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Pragma") != "no-cache" {
				t.Errorf("cache headers: %v", r.Header)
			}
			var body map[string]any
			r.JSON(t, &body)
			if tt.wantError != "" {
				if body["error"] != tt.wantError || body["code"] != "oidc."+tt.wantError || body["error_description"] == "" {
					t.Errorf("error body %s, want error %s", r.Body, tt.wantError)
				}
				if tt.wantError == "invalid_client" && tt.id != "" && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic") {
					t.Errorf("no Basic challenge: %v", r.Header)
				}
				return
			}
			if body["token_type"] != "Bearer" || body["expires_in"] != float64(3600) {
				t.Errorf("body %s", r.Body)
			}
			scope, hasScope := body["scope"]
			if tt.wantScope == "" && hasScope || tt.wantScope != "" && scope != tt.wantScope {
				t.Errorf("scope %v, want %q", scope, tt.wantScope)
			}
		})
	}
	t.Run("UnknownIDAndWrongSecretLookAlike", func(t *testing.T) {
		a := postForm(t, tokenURL, good, srv.ClientID, "wrongsecret")
		b := postForm(t, tokenURL, good, "nosuchclient", "wrongsecret")
		if a.Status != b.Status || string(a.Body) != string(b.Body) {
			t.Errorf("responses differ: %d %s vs %d %s", a.Status, a.Body, b.Status, b.Body)
		}
	})
	t.Run("WrongContentType", func(t *testing.T) {
		r := call(t, "POST", tokenURL, "", `{"grant_type":"client_credentials"}`)
		if r.Status != 400 || !strings.Contains(string(r.Body), "invalid_request") {
			t.Errorf("JSON body: %d %s", r.Status, r.Body)
		}
	})
	t.Run("RepeatedParameter", func(t *testing.T) {
		f := with()
		f.Add("scope", "all")
		r := postForm(t, tokenURL, f, srv.ClientID, srv.ClientSecret)
		if r.Status != 400 || !strings.Contains(string(r.Body), "invalid_request") {
			t.Errorf("repeated scope: %d %s", r.Status, r.Body)
		}
	})
	t.Run("URLEncodedBasicCredentials", func(t *testing.T) {
		// RFC 6749 2.3.1: id and secret are form-encoded before Basic.
		f := with()
		r := postForm(t, tokenURL, f, url.QueryEscape(srv.ClientID), url.QueryEscape(srv.ClientSecret))
		if r.Status != 200 {
			t.Errorf("encoded basic: %d %s", r.Status, r.Body)
		}
	})
}

func TestToken_Claims(t *testing.T) {
	srv := apitest.Start(t)
	raw := srv.ManagementToken(t, "default")

	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %s", raw)
	}
	hdrJSON, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var hdr map[string]any
	json.Unmarshal(hdrJSON, &hdr)
	if hdr["typ"] != "at+jwt" || hdr["alg"] != "ES256" || hdr["kid"] == "" {
		t.Fatalf("header %s", hdrJSON)
	}

	r := call(t, "GET", srv.URL+"/oidc/jwks", "", nil)
	var set jose.JSONWebKeySet
	r.JSON(t, &set)
	keys := set.Key(hdr["kid"].(string))
	if len(keys) != 1 || !keys[0].IsPublic() || keys[0].Use != "sig" {
		t.Fatalf("kid %v not published as one public signing key: %s", hdr["kid"], r.Body)
	}
	if strings.Contains(string(r.Body), `"d":`) {
		t.Fatalf("JWKS leaks a private key: %s", r.Body)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		jwt.Claims
		ClientID string `json:"client_id"`
		Scope    string `json:"scope"`
	}
	if err := tok.Claims(keys[0].Key, &c); err != nil {
		t.Fatalf("signature does not verify with the published key: %v", err)
	}
	if c.Issuer != srv.URL+"/oidc" || c.Subject != srv.ClientID || c.ClientID != srv.ClientID ||
		len(c.Audience) != 1 || c.Audience[0] != mgmtResource || c.Scope != "all" || c.ID == "" {
		t.Errorf("claims %+v", c)
	}
	if c.IssuedAt == nil || c.Expiry == nil || c.Expiry.Time().Sub(c.IssuedAt.Time()) != time.Hour {
		t.Errorf("iat/exp %v %v", c.IssuedAt, c.Expiry)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if !strings.Contains(string(payload), `"aud":"`+mgmtResource+`"`) {
		t.Errorf("aud should be a string as in Logto: %s", payload)
	}
}

func TestDiscovery(t *testing.T) {
	e := newEnv(t)
	created := createTenant(t, e, "acme")
	for _, tc := range []struct{ prefix, issuer string }{
		{"", e.URL + "/oidc"},
		{"/t/acme", e.URL + "/t/acme/oidc"},
	} {
		r := call(t, "GET", e.URL+tc.prefix+"/oidc/.well-known/openid-configuration", "", nil)
		var d map[string]any
		r.JSON(t, &d)
		if r.Status != 200 || d["issuer"] != tc.issuer || d["token_endpoint"] != tc.issuer+"/token" || d["jwks_uri"] != tc.issuer+"/jwks" {
			t.Errorf("discovery at %q: %s", tc.prefix, r.Body)
		}
		for _, field := range []string{"grant_types_supported", "token_endpoint_auth_methods_supported", "scopes_supported",
			"id_token_signing_alg_values_supported", "response_types_supported", "subject_types_supported"} {
			if _, ok := d[field].([]any); !ok {
				t.Errorf("discovery lacks %s", field)
			}
		}
	}
	// Each tenant has its own keys.
	a := call(t, "GET", e.URL+"/oidc/jwks", "", nil)
	b := call(t, "GET", e.URL+"/t/acme/oidc/jwks", "", nil)
	if string(a.Body) == string(b.Body) {
		t.Error("tenants share a JWKS")
	}
	_ = created
}

func TestAuth_ScopeAndHeader(t *testing.T) {
	srv := apitest.Start(t)
	noScope := apitest.Token(t, srv.URL, "default", srv.ClientID, srv.ClientSecret, mgmtResource, "")
	tests := []struct {
		name       string
		header     string
		wantStatus int
		wantCode   string
	}{
		{"NoHeader", "", 401, "auth.authorization_header_missing"},
		{"Garbage", "Bearer garbage", 401, "auth.unauthorized"},
		{"BasicScheme", "Basic YTpi", 401, "auth.unauthorized"},
		{"EmptyBearer", "Bearer ", 401, "auth.unauthorized"},
		{"TokenWithoutAll", "Bearer " + noScope, 403, "auth.forbidden"},
		{"LowercaseScheme", "bearer " + srv.ManagementToken(t, "default"), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/api/users", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			checkResponse(t, req, resp.StatusCode, resp.Header, body)
			r := response{Status: resp.StatusCode, Body: body}
			if r.Status != tt.wantStatus || (tt.wantCode != "" && r.Code() != tt.wantCode) {
				t.Errorf("got %d %s, want %d %s", r.Status, body, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api/apitest"
)

func kidOf(t *testing.T, token string) string {
	t.Helper()
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	var h struct {
		Kid string `json:"kid"`
	}
	json.Unmarshal(hdr, &h)
	return h.Kid
}

func jwksKids(t *testing.T, url string) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	call(t, "GET", url+"/oidc/jwks", "", nil).JSON(t, &set)
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

func TestOIDCKeys_Rotation(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	srv := apitest.Start(t, apitest.Options{Now: clk.Now})
	old := srv.ManagementToken(t, "default")
	oldKid := kidOf(t, old)
	keysURL := srv.URL + "/api/configs/oidc/private-keys"

	var keys []struct {
		ID                  string `json:"id"`
		Status              string `json:"status"`
		SigningKeyAlgorithm string `json:"signingKeyAlgorithm"`
	}
	r := call(t, "GET", keysURL, old, nil)
	r.JSON(t, &keys)
	if r.Status != 200 || len(keys) != 1 || keys[0].ID != oldKid || keys[0].Status != "Current" || keys[0].SigningKeyAlgorithm != "EC" {
		t.Fatalf("keys before rotation: %d %s", r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), `"d"`) || strings.Contains(string(r.Body), "priv") {
		t.Fatalf("key material listed: %s", r.Body)
	}

	r = call(t, "POST", keysURL+"/rotate", old, map[string]any{"signingKeyAlgorithm": "RSA", "rotationGracePeriod": 600})
	r.JSON(t, &keys)
	if r.Status != 200 || len(keys) != 2 || keys[0].Status != "Current" || keys[0].SigningKeyAlgorithm != "RSA" || keys[1].ID != oldKid || keys[1].Status != "Previous" {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	newKid := keys[0].ID

	// The old token still verifies during the grace period; both keys are published.
	if r := call(t, "GET", srv.URL+"/api/users", old, nil); r.Status != 200 {
		t.Errorf("old token after rotation: %d %s", r.Status, r.Body)
	}
	if kids := jwksKids(t, srv.URL); len(kids) != 2 {
		t.Errorf("JWKS during grace: %v", kids)
	}
	fresh := srv.ManagementToken(t, "default")
	if kidOf(t, fresh) != newKid {
		t.Errorf("new token signed by %s, want %s", kidOf(t, fresh), newKid)
	}
	if r := call(t, "DELETE", keysURL+"/"+newKid, fresh, nil); r.Status != 422 {
		t.Errorf("delete current key: %d %s", r.Status, r.Body)
	}
	if r := call(t, "DELETE", keysURL+"/nosuchkey", fresh, nil); r.Status != 404 {
		t.Errorf("delete unknown key: %d", r.Status)
	}

	// After the grace period the old key is gone and its tokens stop.
	clk.Add(601 * time.Second)
	if kids := jwksKids(t, srv.URL); len(kids) != 1 || kids[0] != newKid {
		t.Errorf("JWKS after grace: %v", kids)
	}
	if r := call(t, "GET", srv.URL+"/api/users", old, nil); r.Status != 401 {
		t.Errorf("old token after grace: %d", r.Status)
	}
	if r := call(t, "GET", srv.URL+"/api/users", fresh, nil); r.Status != 200 {
		t.Errorf("new token after grace: %d", r.Status)
	}

	t.Run("BadInput", func(t *testing.T) {
		for _, tc := range []struct {
			method, path string
			body         any
			want         int
		}{
			{"POST", "/rotate", map[string]any{"signingKeyAlgorithm": "HS256"}, 400},
			{"POST", "/rotate", map[string]any{"rotationGracePeriod": -1}, 400},
			{"POST", "/rotate", map[string]any{"rotationGracePeriod": "soon"}, 400},
		} {
			if r := call(t, tc.method, keysURL+tc.path, fresh, tc.body); r.Status != tc.want {
				t.Errorf("%s %s %v: %d %s", tc.method, tc.path, tc.body, r.Status, r.Body)
			}
		}
		if r := call(t, "GET", srv.URL+"/api/configs/oidc/other-keys", fresh, nil); r.Status != 400 {
			t.Errorf("unknown key type: %d", r.Status)
		}
		if r := call(t, "GET", srv.URL+"/api/configs/oidc/cookie-keys", fresh, nil); r.Status != 200 || !strings.HasPrefix(string(r.Body), `[{"id":`) {
			t.Errorf("cookie keys: %d %s", r.Status, r.Body)
		}
	})
}

// TestOIDCKeys_DeleteCodes: deleting a signing key answers Logto's codes, in
// Logto's order: the only key (oidc.key_required), an unknown key
// (oidc.key_not_found), the current key (oidc.only_previous_key_can_be_deleted);
// a previous key goes.
func TestOIDCKeys_DeleteCodes(t *testing.T) {
	srv := apitest.Start(t)
	token := srv.ManagementToken(t, "default")
	keysURL := srv.URL + "/api/configs/oidc/private-keys"
	first := kidOf(t, token)
	wantError(t, call(t, "DELETE", keysURL+"/"+first, token, nil), 422, "oidc.key_required")
	wantError(t, call(t, "DELETE", keysURL+"/nosuchkey", token, nil), 422, "oidc.key_required")

	var keys []struct {
		ID string `json:"id"`
	}
	r := call(t, "POST", keysURL+"/rotate", token, map[string]any{"signingKeyAlgorithm": "EC"})
	r.JSON(t, &keys)
	if r.Status != 200 || len(keys) != 2 || keys[1].ID != first {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	wantError(t, call(t, "DELETE", keysURL+"/nosuchkey", token, nil), 404, "oidc.key_not_found")
	wantError(t, call(t, "DELETE", keysURL+"/"+keys[0].ID, token, nil), 422, "oidc.only_previous_key_can_be_deleted")
	if r := call(t, "DELETE", keysURL+"/"+first, token, nil); r.Status != 204 {
		t.Errorf("delete the previous key: %d %s", r.Status, r.Body)
	}
}

// oidcKey is one key of GET /api/configs/oidc/{keyType}.
type oidcKey struct {
	ID                  string `json:"id"`
	CreatedAt           int64  `json:"createdAt"`
	SigningKeyAlgorithm string `json:"signingKeyAlgorithm"`
	Status              string `json:"status"`
}

// oidcKeyIDs returns the ids of keys, in order, joined with commas.
func oidcKeyIDs(keys []oidcKey) string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	return strings.Join(ids, ",")
}

// rotateKeys posts a rotation of keyType and returns the keys it answers.
func (e *env) rotateKeys(t *testing.T, keyType string, body map[string]any) []oidcKey {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	var keys []oidcKey
	e.do(t, "POST", "/api/configs/oidc/"+keyType+"/rotate", body, http.StatusOK, &keys)
	return keys
}

// TestOIDCKeys_CurrentAndPrevious: as in Logto, a rotation leaves the new
// key and the one that signed until then. Rotating again while tokens of
// that previous key can be live needs "dropPreviousKey": true; without it
// the answer is 422 oidc.previous_key_in_use and nothing changes.
func TestOIDCKeys_CurrentAndPrevious(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, apitest.Options{Now: clk.Now})
	t0 := e.token
	k0 := kidOf(t, t0)

	clk.Add(90 * time.Second)
	keys := e.rotateKeys(t, "private-keys", nil)
	if len(keys) != 2 || keys[1].ID != k0 || keys[0].Status != "Current" || keys[1].Status != "Previous" {
		t.Fatalf("first rotation: %+v", keys)
	}
	// createdAt is in seconds, as Logto stamps its OIDC keys.
	if keys[0].CreatedAt != clk.Now().Unix() || keys[0].CreatedAt-keys[1].CreatedAt != 90 {
		t.Errorf("createdAt %d and %d, want %d and 90 s before", keys[0].CreatedAt, keys[1].CreatedAt, clk.Now().Unix())
	}
	k1 := keys[0].ID
	e.token = e.ManagementToken(t, "default")
	t1 := e.token

	// Tokens signed by k0 are live: a second rotation would cut them off.
	clk.Add(30 * time.Minute)
	for _, body := range []map[string]any{{}, {"dropPreviousKey": false}, {"signingKeyAlgorithm": "RSA"}} {
		r := call(t, "POST", e.URL+"/api/configs/oidc/private-keys/rotate", e.token, body)
		wantError(t, r, 422, "oidc.previous_key_in_use")
		if !strings.Contains(string(r.Body), "dropPreviousKey") {
			t.Errorf("the refusal does not say how to confirm: %s", r.Body)
		}
	}
	var listed []oidcKey
	e.do(t, "GET", "/api/configs/oidc/private-keys", nil, http.StatusOK, &listed)
	if got := oidcKeyIDs(listed); got != k1+","+k0 {
		t.Fatalf("keys after refused rotations: %s, want %s,%s", got, k1, k0)
	}
	if r := call(t, "GET", e.URL+"/api/users", t0, nil); r.Status != 200 {
		t.Errorf("token of the previous key after a refused rotation: %d", r.Status)
	}

	// Confirmed: k0 goes, and its tokens with it; k1's still work.
	keys = e.rotateKeys(t, "private-keys", map[string]any{"dropPreviousKey": true})
	if len(keys) != 2 || keys[1].ID != k1 || keys[0].ID == k0 {
		t.Fatalf("confirmed rotation: %+v", keys)
	}
	k2 := keys[0].ID
	if kids := jwksKids(t, e.URL); strings.Join(kids, ",") != k2+","+k1 {
		t.Errorf("JWKS %v, want %s,%s", kids, k2, k1)
	}
	if r := call(t, "GET", e.URL+"/api/users", t0, nil); r.Status != 401 {
		t.Errorf("token of the dropped key: %d", r.Status)
	}
	if r := call(t, "GET", e.URL+"/api/users", t1, nil); r.Status != 200 {
		t.Errorf("token of the previous key: %d", r.Status)
	}

	// Once no token of the previous key can be live (the longest lifetime,
	// 24 h, after it stopped signing), a rotation needs no confirmation, even
	// with the previous key still in its longer grace.
	e.token = e.ManagementToken(t, "default")
	keys = e.rotateKeys(t, "private-keys", map[string]any{"rotationGracePeriod": 30 * 86400, "dropPreviousKey": true})
	k3 := keys[0].ID
	clk.Add(24*time.Hour - time.Second)
	e.token = e.ManagementToken(t, "default")
	wantError(t, call(t, "POST", e.URL+"/api/configs/oidc/private-keys/rotate", e.token, map[string]any{}), 422, "oidc.previous_key_in_use")
	clk.Add(time.Second)
	keys = e.rotateKeys(t, "private-keys", nil)
	if len(keys) != 2 || keys[1].ID != k3 {
		t.Fatalf("rotation after the longest token lifetime: %+v", keys)
	}
	// A previous key retired at once (grace 0) holds nothing live either.
	e.token = e.ManagementToken(t, "default")
	keys = e.rotateKeys(t, "private-keys", map[string]any{"rotationGracePeriod": 0, "dropPreviousKey": true})
	if len(keys) != 1 {
		t.Errorf("rotation with grace 0: %+v, want the new key alone", keys)
	}
	e.token = e.ManagementToken(t, "default")
	if again := e.rotateKeys(t, "private-keys", nil); len(again) != 2 || again[1].ID != keys[0].ID {
		t.Errorf("rotation after one with grace 0: %+v", again)
	}

	// Deleting: only a previous key goes, never the last one.
	e.token = e.ManagementToken(t, "default")
	keys = e.rotateKeys(t, "private-keys", map[string]any{"dropPreviousKey": true})
	e.token = e.ManagementToken(t, "default")
	e.fail(t, "DELETE", "/api/configs/oidc/private-keys/"+keys[0].ID, nil, 422, "oidc.only_previous_key_can_be_deleted")
	e.fail(t, "DELETE", "/api/configs/oidc/private-keys/nosuchkey", nil, 404, "oidc.key_not_found")
	e.do(t, "DELETE", "/api/configs/oidc/private-keys/"+keys[1].ID, nil, http.StatusNoContent, nil)
	e.fail(t, "DELETE", "/api/configs/oidc/private-keys/"+keys[0].ID, nil, 422, "oidc.key_required")
	e.do(t, "GET", "/api/users", nil, http.StatusOK, nil)
}

// discoveryAlgs returns id_token_signing_alg_values_supported of tenant's
// discovery document at prefix ("" for default, "/t/<id>" for another).
func discoveryAlgs(t *testing.T, base, prefix string) string {
	t.Helper()
	var doc struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	call(t, "GET", base+prefix+"/oidc/.well-known/openid-configuration", "", nil).JSON(t, &doc)
	return strings.Join(doc.Algs, ",")
}

// TestOIDCKeys_AlgorithmInDiscovery rotates to other algorithms: discovery
// lists the algorithm of every key that verifies, the signing one first,
// and drops a retired key's.
func TestOIDCKeys_AlgorithmInDiscovery(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, apitest.Options{Now: clk.Now})
	createTenant(t, e, "acme")
	if got := discoveryAlgs(t, e.URL, ""); got != "ES256" {
		t.Fatalf("discovery before rotation: %s", got)
	}
	for _, tc := range []struct {
		body       map[string]any
		wantAlg    string
		wantAlgs   string
		wantFamily string
	}{
		{map[string]any{"signingKeyAlgorithm": "ES384", "rotationGracePeriod": 600}, "ES384", "ES384,ES256", "EC"},
		{map[string]any{"signingKeyAlgorithm": "RSA", "rotationGracePeriod": 600}, "RS256", "RS256,ES384", "RSA"},
		{map[string]any{"signingKeyAlgorithm": "EdDSA", "rotationGracePeriod": 600}, "EdDSA", "EdDSA,RS256", ""},
		{map[string]any{"signingKeyAlgorithm": "EC", "rotationGracePeriod": 600}, "ES256", "ES256,EdDSA", "EC"},
	} {
		keys := e.rotateKeys(t, "private-keys", tc.body)
		if keys[0].SigningKeyAlgorithm != tc.wantFamily {
			t.Errorf("%v: signingKeyAlgorithm %q, want %q", tc.body, keys[0].SigningKeyAlgorithm, tc.wantFamily)
		}
		if got := discoveryAlgs(t, e.URL, ""); got != tc.wantAlgs {
			t.Errorf("%v: discovery %s, want %s", tc.body, got, tc.wantAlgs)
		}
		e.token = e.ManagementToken(t, "default")
		if alg := jwtHeader(t, e.token)["alg"]; alg != tc.wantAlg {
			t.Errorf("%v: new token alg %v, want %s", tc.body, alg, tc.wantAlg)
		}
		e.do(t, "GET", "/api/users", nil, http.StatusOK, nil)
		clk.Add(601 * time.Second) // the previous key retires
		if got := discoveryAlgs(t, e.URL, ""); got != tc.wantAlg {
			t.Errorf("%v: discovery after the grace %s, want %s", tc.body, got, tc.wantAlg)
		}
	}
	if got := discoveryAlgs(t, e.URL, apitest.TenantPrefix("acme")); got != "ES256" {
		t.Errorf("tenant acme's discovery: %s", got)
	}
	e.fail(t, "POST", "/api/configs/oidc/private-keys/rotate", map[string]any{"signingKeyAlgorithm": "HS256"}, 400, "guard.invalid_input")
}

// jwtHeader decodes the header of a JWT.
func jwtHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	data, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(data, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestOIDCKeys_CookieKeys: every tenant has its own cookie keys, listed
// with an id and a creation time only, rotated (new and previous kept) and
// deleted as Logto's.
func TestOIDCKeys_CookieKeys(t *testing.T) {
	e := newEnv(t)
	const path = "/api/configs/oidc/cookie-keys"
	var keys []oidcKey
	r := e.do(t, "GET", path, nil, http.StatusOK, &keys)
	if len(keys) != 1 || len(keys[0].ID) != 21 || keys[0].CreatedAt < time.Now().Unix()-60 || keys[0].CreatedAt > time.Now().Unix() {
		t.Fatalf("cookie keys of a new tenant: %s", r.Body)
	}
	if got := objectKeys(t, r.Body[1:len(r.Body)-1]); len(got) != 2 {
		t.Errorf("a cookie key shows more than id and createdAt: %s", r.Body)
	}
	first := keys[0].ID
	e.fail(t, "DELETE", path+"/"+first, nil, 422, "oidc.key_required")

	keys = e.rotateKeys(t, "cookie-keys", nil)
	if len(keys) != 2 || keys[1].ID != first {
		t.Fatalf("first rotation: %+v", keys)
	}
	second := keys[0].ID
	// Nothing is signed with cookie keys yet, so rotating again needs no
	// confirmation; the oldest goes.
	keys = e.rotateKeys(t, "cookie-keys", nil)
	if len(keys) != 2 || keys[1].ID != second {
		t.Fatalf("second rotation: %+v", keys)
	}
	var listed []oidcKey
	e.do(t, "GET", path, nil, http.StatusOK, &listed)
	if oidcKeyIDs(listed) != oidcKeyIDs(keys) {
		t.Errorf("listed %s, rotation answered %s", oidcKeyIDs(listed), oidcKeyIDs(keys))
	}
	e.fail(t, "DELETE", path+"/"+keys[0].ID, nil, 422, "oidc.only_previous_key_can_be_deleted")
	e.fail(t, "DELETE", path+"/"+first, nil, 404, "oidc.key_not_found")
	e.do(t, "DELETE", path+"/"+second, nil, http.StatusNoContent, nil)
	e.do(t, "GET", path, nil, http.StatusOK, &listed)
	if oidcKeyIDs(listed) != keys[0].ID {
		t.Errorf("after deleting the previous key: %s", oidcKeyIDs(listed))
	}
	// Signing keys are not touched by any of this.
	e.do(t, "GET", "/api/users", nil, http.StatusOK, nil)

	// Another tenant has its own, which tenant default cannot reach.
	acme := createTenant(t, e, "acme")
	tok := apitest.Token(t, e.URL, "acme", acme.Credentials.ClientID, acme.Credentials.ClientSecret, "https://acme.logto.app/api", "all")
	var acmeKeys []oidcKey
	call(t, "GET", e.URL+"/t/acme"+path, tok, nil).JSON(t, &acmeKeys)
	if len(acmeKeys) != 1 || acmeKeys[0].ID == keys[0].ID {
		t.Fatalf("acme's cookie keys: %+v", acmeKeys)
	}
	// Default holds one key now, so Logto's first check answers; with two,
	// acme's key is simply not found in default.
	e.fail(t, "DELETE", path+"/"+acmeKeys[0].ID, nil, 422, "oidc.key_required")
	e.rotateKeys(t, "cookie-keys", nil)
	e.fail(t, "DELETE", path+"/"+acmeKeys[0].ID, nil, 404, "oidc.key_not_found")
	call(t, "GET", e.URL+"/t/acme"+path, tok, nil).JSON(t, &acmeKeys)
	if len(acmeKeys) != 1 {
		t.Errorf("acme's cookie keys after default's deletes: %+v", acmeKeys)
	}
}

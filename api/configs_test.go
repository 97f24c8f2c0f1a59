package api_test

import (
	"encoding/base64"
	"encoding/json"
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
		if r := call(t, "GET", srv.URL+"/api/configs/oidc/cookie-keys", fresh, nil); r.Status != 200 || string(r.Body) != "[]" {
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

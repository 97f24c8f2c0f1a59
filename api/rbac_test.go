package api_test

import (
	"net/http"
	"testing"
)

// id is the part of a created object the tests need.
type idName struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Secret string `json:"secret"`
}

// TestRBAC_TokenScopes walks the whole machine-to-machine setup: a resource
// with scopes, a role holding some, an app holding the role, and tokens whose
// scope is exactly what was asked for and granted. A role change applies to
// the next token.
func TestRBAC_TokenScopes(t *testing.T) {
	e := newEnv(t)
	var res idName
	e.do(t, "POST", "/api/resources", map[string]any{"name": "Orders", "indicator": "https://orders.example.com", "accessTokenTtl": 600}, http.StatusCreated, &res)
	var read, write, admin idName
	e.do(t, "POST", "/api/resources/"+res.ID+"/scopes", map[string]any{"name": "read:orders"}, http.StatusCreated, &read)
	e.do(t, "POST", "/api/resources/"+res.ID+"/scopes", map[string]any{"name": "write:orders"}, http.StatusCreated, &write)
	e.do(t, "POST", "/api/resources/"+res.ID+"/scopes", map[string]any{"name": "admin:orders"}, http.StatusCreated, &admin)

	var role idName
	e.do(t, "POST", "/api/roles", map[string]any{"name": "orders-rw", "description": "read and write", "type": "MachineToMachine",
		"scopeIds": []string{read.ID, write.ID}}, http.StatusOK, &role)
	var app idName
	e.do(t, "POST", "/api/applications", map[string]any{"name": "worker", "type": "MachineToMachine"}, http.StatusOK, &app)
	if app.Secret == "" {
		t.Fatal("create response carries no secret")
	}
	e.do(t, "POST", "/api/applications/"+app.ID+"/roles", map[string]any{"roleIds": []string{role.ID}}, http.StatusCreated, nil)

	token := func(scope string) map[string]any {
		t.Helper()
		r := e.clientCredentials(t, app.ID, app.Secret, "https://orders.example.com", scope)
		if r.Status != http.StatusOK {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		var body struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
			Scope       string `json:"scope"`
		}
		r.JSON(t, &body)
		if body.ExpiresIn != 600 {
			t.Errorf("expires_in = %d, want the resource's 600", body.ExpiresIn)
		}
		return tokenClaims(t, body.AccessToken)
	}
	if got := token("read:orders admin:orders unknown")["scope"]; got != "read:orders" {
		t.Errorf("scope = %q, want read:orders", got)
	}
	if got := token("write:orders read:orders")["scope"]; got != "write:orders read:orders" {
		t.Errorf("scope = %q, want both, in request order", got)
	}
	claims := token("read:orders")
	if claims["aud"] != "https://orders.example.com" || claims["client_id"] != app.ID {
		t.Errorf("claims = %v", claims)
	}

	// Taking the role away applies to the next token.
	e.do(t, "DELETE", "/api/applications/"+app.ID+"/roles/"+role.ID, nil, http.StatusNoContent, nil)
	if got := token("read:orders write:orders")["scope"]; got != "" && got != nil {
		t.Errorf("scope after role removal = %q, want none", got)
	}
	// Deleting a scope drops it from every role at once.
	e.do(t, "POST", "/api/applications/"+app.ID+"/roles", map[string]any{"roleIds": []string{role.ID}}, http.StatusCreated, nil)
	e.do(t, "DELETE", "/api/resources/"+res.ID+"/scopes/"+write.ID, nil, http.StatusNoContent, nil)
	if got := token("read:orders write:orders")["scope"]; got != "read:orders" {
		t.Errorf("scope after scope deletion = %q, want read:orders", got)
	}
	var scopes []idName
	e.do(t, "GET", "/api/roles/"+role.ID+"/scopes", nil, http.StatusOK, &scopes)
	if len(scopes) != 1 || scopes[0].ID != read.ID {
		t.Errorf("role scopes after scope deletion = %v", scopes)
	}
}

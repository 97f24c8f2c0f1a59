package api_test

import (
	"net/http"
	"net/url"
	"testing"
)

// orgTokenFixture is an organization with an M2M member app whose org role
// holds organization scopes and a resource scope.
type orgTokenFixture struct {
	org, otherOrg string
	app, outsider idName
	resource      wireResource
}

func newOrgTokenFixture(t *testing.T, e *env) orgTokenFixture {
	t.Helper()
	var f orgTokenFixture
	var org, other idName
	e.do(t, "POST", "/api/organizations", map[string]any{"name": "Acme"}, http.StatusCreated, &org)
	e.do(t, "POST", "/api/organizations", map[string]any{"name": "Other"}, http.StatusCreated, &other)
	f.org, f.otherOrg = org.ID, other.ID
	var read, write, unused idName
	e.do(t, "POST", "/api/organization-scopes", map[string]any{"name": "read:docs"}, http.StatusCreated, &read)
	e.do(t, "POST", "/api/organization-scopes", map[string]any{"name": "write:docs"}, http.StatusCreated, &write)
	e.do(t, "POST", "/api/organization-scopes", map[string]any{"name": "unused"}, http.StatusCreated, &unused)
	f.resource = e.createResource(t, "Docs API", "https://docs.example.com/api")
	resScopes := e.createScopes(t, f.resource.ID, "docs:list", "docs:purge")
	// A tenant-wide role with docs:purge must not leak into organization tokens.
	global := e.createRole(t, "global purge", "MachineToMachine", resScopes[1])
	var role idName
	e.do(t, "POST", "/api/organization-roles", map[string]any{"name": "bot", "type": "MachineToMachine",
		"organizationScopeIds": []string{read.ID, write.ID}, "resourceScopeIds": []string{resScopes[0].ID}}, http.StatusCreated, &role)
	f.app = e.createM2M(t, "member bot", global)
	f.outsider = e.createM2M(t, "outsider bot", global)
	e.do(t, "POST", "/api/organizations/"+f.org+"/applications", map[string]any{"applicationIds": []string{f.app.ID}}, http.StatusCreated, nil)
	e.do(t, "POST", "/api/organizations/"+f.org+"/applications/"+f.app.ID+"/roles",
		map[string]any{"organizationRoleIds": []string{role.ID}}, http.StatusCreated, nil)
	return f
}

func (e *env) orgToken(t *testing.T, app idName, org, resource, scope string) response {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "organization_id": {org}}
	if resource != "" {
		form.Set("resource", resource)
	}
	if scope != "" {
		form.Set("scope", scope)
	}
	return postForm(t, e.URL+"/oidc/token", form, app.ID, app.Secret)
}

func TestOrganizationToken(t *testing.T) {
	e := newEnv(t)
	f := newOrgTokenFixture(t, e)

	decode := func(r response) (map[string]any, string, int) {
		t.Helper()
		if r.Status != http.StatusOK {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		var body struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
			Scope       string `json:"scope"`
		}
		r.JSON(t, &body)
		return tokenClaims(t, body.AccessToken), body.Scope, body.ExpiresIn
	}

	t.Run("organization audience, requested ∩ org role scopes", func(t *testing.T) {
		claims, scope, ttl := decode(e.orgToken(t, f.app, f.org, "", "write:docs unused read:docs nope write:docs"))
		if aud := claims["aud"]; aud != "urn:logto:organization:"+f.org {
			t.Errorf("aud = %v", aud)
		}
		if scope != "write:docs read:docs" || claims["scope"] != scope {
			t.Errorf("scope = %q, claim %v", scope, claims["scope"])
		}
		if ttl != 3600 || claims["sub"] != f.app.ID || claims["client_id"] != f.app.ID {
			t.Errorf("ttl %d, claims %v", ttl, claims)
		}
		if _, ok := claims["organization_id"]; ok {
			t.Errorf("an organization token has no organization_id claim: %v", claims)
		}
	})
	t.Run("no scope asked, none granted", func(t *testing.T) {
		claims, scope, _ := decode(e.orgToken(t, f.app, f.org, "", ""))
		if scope != "" || claims["scope"] != nil {
			t.Errorf("scope %q, claim %v", scope, claims["scope"])
		}
	})
	t.Run("resource within the organization", func(t *testing.T) {
		claims, scope, _ := decode(e.orgToken(t, f.app, f.org, f.resource.Indicator, "docs:purge docs:list read:docs"))
		// docs:purge is held tenant-wide, not through the organization role.
		if scope != "docs:list" {
			t.Errorf("scope = %q", scope)
		}
		if claims["aud"] != f.resource.Indicator || claims["organization_id"] != f.org {
			t.Errorf("claims %v", claims)
		}
	})
	t.Run("non-member and unknown organization", func(t *testing.T) {
		for name, r := range map[string]response{
			"outsider":           e.orgToken(t, f.outsider, f.org, "", "read:docs"),
			"other org":          e.orgToken(t, f.app, f.otherOrg, "", "read:docs"),
			"unknown org":        e.orgToken(t, f.app, "nosuchorg", "", "read:docs"),
			"other org+resource": e.orgToken(t, f.app, f.otherOrg, f.resource.Indicator, "docs:list"),
		} {
			var body struct{ Error string }
			r.JSON(t, &body)
			if r.Status != http.StatusBadRequest || body.Error != "invalid_grant" {
				t.Errorf("%s: %d %s", name, r.Status, r.Body)
			}
		}
	})
	t.Run("unknown resource", func(t *testing.T) {
		r := e.orgToken(t, f.app, f.org, "https://nope.example.com", "docs:list")
		if r.Status != http.StatusBadRequest || r.Code() != "oidc.invalid_target" {
			t.Errorf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("role changes apply to the next token; leaving ends access", func(t *testing.T) {
		var roles []idName
		e.do(t, "GET", "/api/organizations/"+f.org+"/applications/"+f.app.ID+"/roles", nil, http.StatusOK, &roles)
		e.do(t, "DELETE", "/api/organizations/"+f.org+"/applications/"+f.app.ID+"/roles/"+roles[0].ID, nil, http.StatusNoContent, nil)
		if _, scope, _ := decode(e.orgToken(t, f.app, f.org, "", "read:docs")); scope != "" {
			t.Errorf("scope after the role was removed = %q", scope)
		}
		e.do(t, "DELETE", "/api/organizations/"+f.org+"/applications/"+f.app.ID, nil, http.StatusNoContent, nil)
		if r := e.orgToken(t, f.app, f.org, "", "read:docs"); r.Status != http.StatusBadRequest {
			t.Errorf("after leaving: %d %s", r.Status, r.Body)
		}
	})
	t.Run("the organization token does not open the Management API", func(t *testing.T) {
		e.do(t, "POST", "/api/organizations/"+f.org+"/applications", map[string]any{"applicationIds": []string{f.app.ID}}, http.StatusCreated, nil)
		r := e.orgToken(t, f.app, f.org, "", "")
		var body struct {
			AccessToken string `json:"access_token"`
		}
		r.JSON(t, &body)
		if got := call(t, "GET", e.URL+"/api/organizations", body.AccessToken, nil); got.Status != http.StatusUnauthorized {
			t.Errorf("organization token on the Management API: %d %s", got.Status, got.Body)
		}
	})
}

package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/idbolt/idbolt/api"
)

// swaggerDoc is the part of the OpenAPI document the tests look at.
type swaggerDoc struct {
	OpenAPI string `json:"openapi"`
	Servers []struct {
		URL string `json:"url"`
	} `json:"servers"`
	Paths map[string]struct {
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
	} `json:"paths"`
}

// TestOpenAPI_Served: GET /api/swagger.json needs no token, as Logto's;
// each tenant's document names the tenant's base URL as its server (the
// system API keeps the root); an unknown tenant is a 404; the ETag gives a
// 304; and the document holds nothing of a tenant's data.
func TestOpenAPI_Served(t *testing.T) {
	e := newEnv(t)
	createTenant(t, e, "acme")
	e.createUser(t, map[string]any{"username": "openapi_secret_name", "customData": map[string]any{"k": "openapi-secret-value"}})

	root := call(t, "GET", e.URL+"/api/swagger.json", "", nil)
	if root.Status != http.StatusOK || root.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("GET /api/swagger.json: %d %s", root.Status, root.Header.Get("Content-Type"))
	}
	if !bytes.Equal(root.Body, api.OpenAPIDocument(e.URL)) {
		t.Error("the served document differs from api.OpenAPIDocument")
	}
	for _, secret := range []string{"openapi_secret_name", "openapi-secret-value", "acme", e.ClientID} {
		if bytes.Contains(root.Body, []byte(secret)) {
			t.Errorf("the document holds %q", secret)
		}
	}
	var doc swaggerDoc
	root.JSON(t, &doc)
	if doc.OpenAPI != "3.0.3" || len(doc.Servers) != 1 || doc.Servers[0].URL != e.URL {
		t.Errorf("openapi %q, servers %+v; want 3.0.3 and %s", doc.OpenAPI, doc.Servers, e.URL)
	}

	tenant := call(t, "GET", e.URL+"/t/acme/api/swagger.json", "", nil)
	if tenant.Status != http.StatusOK {
		t.Fatalf("GET /t/acme/api/swagger.json: %d %s", tenant.Status, tenant.Body)
	}
	var tdoc swaggerDoc
	tenant.JSON(t, &tdoc)
	if len(tdoc.Servers) != 1 || tdoc.Servers[0].URL != e.URL+"/t/acme" {
		t.Errorf("tenant acme's servers: %+v", tdoc.Servers)
	}
	if s := tdoc.Paths["/system/tenants"].Servers; len(s) != 1 || s[0].URL != e.URL {
		t.Errorf("/system/tenants servers in acme's document: %+v, want the root %s", s, e.URL)
	}
	if _, ok := tdoc.Paths["/api/users/{userId}"]; !ok {
		t.Error("acme's document has no /api/users/{userId}")
	}
	if tenant.Header.Get("ETag") == root.Header.Get("ETag") {
		t.Error("the root and acme documents differ but share an ETag")
	}

	if r := call(t, "GET", e.URL+"/t/nope/api/swagger.json", "", nil); r.Status != http.StatusNotFound {
		t.Errorf("an unknown tenant's document: %d, want 404", r.Status)
	}

	for _, tc := range []struct {
		path, etag string
		want       int
	}{
		{"/api/swagger.json", root.Header.Get("ETag"), http.StatusNotModified},
		{"/t/acme/api/swagger.json", tenant.Header.Get("ETag"), http.StatusNotModified},
		{"/t/acme/api/swagger.json", root.Header.Get("ETag"), http.StatusOK},
		{"/api/swagger.json", `"other", ` + root.Header.Get("ETag"), http.StatusNotModified},
	} {
		req, _ := http.NewRequest("GET", e.URL+tc.path, nil)
		req.Header.Set("If-None-Match", tc.etag)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		checkResponse(t, req, resp.StatusCode, resp.Header, body)
		if resp.StatusCode != tc.want || (tc.want == http.StatusNotModified && len(body) != 0) {
			t.Errorf("%s If-None-Match %s: %d with %d bytes, want %d", tc.path, tc.etag, resp.StatusCode, len(body), tc.want)
		}
	}
	if !json.Valid(tenant.Body) {
		t.Error("acme's document is not JSON")
	}
}

package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/idbolt/idbolt/pagination"
)

// registration is one route as handle registered it.
type registration struct {
	method, prefix, path string
	token                token
}

// openAPI is the OpenAPI document, built once by New from the route table:
// the bytes before and after the servers URL, which is the only part that
// differs between tenants.
type openAPI struct {
	head, tail []byte
	// version identifies the document's content, for the ETag.
	version string
}

// serverURLMarker stands for the tenant's base URL in the built document.
const serverURLMarker = "\u0000idbolt-server-url\u0000"

// OpenAPIDocument returns the OpenAPI 3.0 document of every route a server
// with base URL baseURL serves (GET /api/swagger.json of tenant default),
// without starting one: for tools and tests.
func OpenAPIDocument(baseURL string) []byte {
	s := newServer(Config{BaseURL: baseURL})
	return s.openapi.forTenant(s.baseURL)
}

// forTenant returns the document whose servers URL is serverURL.
func (d *openAPI) forTenant(serverURL string) []byte {
	u := jsonStringContent(serverURL)
	out := make([]byte, 0, len(d.head)+len(u)+len(d.tail))
	return append(append(append(out, d.head...), u...), d.tail...)
}

// handleOpenAPI serves GET /api/swagger.json, as Logto does, without a
// token: the document describes the API, never a tenant's data. Its server
// is the tenant's base URL.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *request) error {
	prefix, etag := "", `"`+s.openapi.version+`"`
	if t := r.param("tenant"); t != "" {
		// A tenant id is [a-z0-9-] (store.ValidateTenantID), and this one
		// exists: serve checked it.
		prefix, etag = "/t/"+t, `"`+s.openapi.version+"-"+t+`"`
	}
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache") // revalidate: an upgrade changes the document
	if match := r.Header.Get("If-None-Match"); match != "" && slices.Contains(strings.Split(strings.ReplaceAll(match, " ", ""), ","), etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	// Written in three pieces: no copy of the document per request.
	u := jsonStringContent(s.baseURL + prefix)
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(s.openapi.head)+len(u)+len(s.openapi.tail)))
	w.WriteHeader(http.StatusOK)
	for _, b := range [][]byte{s.openapi.head, u, s.openapi.tail} {
		if _, err := w.Write(b); err != nil {
			break // the client went away
		}
	}
	return nil
}

// jsonStringContent returns s as the inside of a JSON string literal.
func jsonStringContent(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b[1 : len(b)-1]
}

// buildOpenAPI builds the document of the routes registered, each
// described by its entry in operations, and of GET /metrics when metrics
// is served beside them.
func buildOpenAPI(baseURL string, routes []registration, metrics bool) *openAPI {
	ss := newSchemaSet()
	errRef := map[string]any{"$ref": "#/components/responses/Error"}
	paths := map[string]map[string]any{}
	// A route registered at the root only (the system API, RFC 8414's
	// discovery paths) is no tenant's: its path item names the root URL.
	tenantRoutes := map[string]bool{}
	for _, rt := range routes {
		if rt.prefix != "" {
			tenantRoutes[rt.method+" "+rt.path] = true
		}
	}
	for _, rt := range routes {
		if rt.prefix != "" {
			continue // the same routes under /t/{tenant}: the tenant's document
		}
		op, documented := operations[rt.method+" "+rt.path]
		docPath := rt.path
		if op.path != "" {
			docPath = op.path
		}
		docPath = openAPIPath(docPath)
		item := paths[docPath]
		if item == nil {
			item = map[string]any{}
			paths[docPath] = item
			if !tenantRoutes[rt.method+" "+rt.path] {
				item["servers"] = []map[string]string{{"url": baseURL}}
			}
		}
		o := map[string]any{"operationId": operationID(rt.method, docPath), "tags": []string{openAPITag(docPath)}}
		o["summary"] = op.summary
		if !documented {
			o["summary"] = "Undocumented"
		}
		var params []map[string]any
		for _, seg := range strings.Split(docPath, "/") {
			if strings.HasPrefix(seg, "{") {
				params = append(params, map[string]any{"name": seg[1 : len(seg)-1], "in": "path", "required": true,
					"schema": map[string]string{"type": "string"}})
			}
		}
		if op.list != notPaged {
			params = append(params, map[string]any{"$ref": "#/components/parameters/page"},
				map[string]any{"$ref": "#/components/parameters/page_size"})
		}
		for _, q := range op.query {
			params = append(params, map[string]any{"name": q, "in": "query", "schema": map[string]string{"type": "string"}})
		}
		if params != nil {
			o["parameters"] = params
		}
		switch {
		case op.body != nil:
			o["requestBody"] = map[string]any{"content": map[string]any{
				"application/json": map[string]any{"schema": ss.of(reflect.TypeOf(op.body), requestSchema)}}}
		case op.form != nil:
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/x-www-form-urlencoded": map[string]any{"schema": ss.of(reflect.TypeOf(op.form), requestSchema)}}}
		}
		responses := map[string]any{"default": errRef}
		if strings.HasPrefix(docPath, "/oidc/") || strings.HasPrefix(docPath, "/oauth/v2/") {
			responses["default"] = map[string]any{"$ref": "#/components/responses/OAuthError"}
		}
		for _, rp := range op.replies {
			resp := map[string]any{"description": http.StatusText(rp.status)}
			headers := map[string]any{}
			if op.list != notPaged && rp.status == http.StatusOK {
				headers["Total-Number"] = map[string]any{"$ref": "#/components/headers/Total-Number"}
				headers["Link"] = map[string]any{"$ref": "#/components/headers/Link"}
			}
			switch rp.secret {
			case alwaysSecret:
				headers["Cache-Control"] = map[string]any{"description": "no-store: the answer carries a secret.", "required": true,
					"schema": map[string]string{"type": "string", "pattern": "no-store"}}
			case sometimesSecret:
				headers["Cache-Control"] = map[string]any{"description": "no-store when the answer shows a secret.",
					"schema": map[string]string{"type": "string"}}
			}
			if len(headers) > 0 {
				resp["headers"] = headers
			}
			switch {
			case rp.body != nil:
				ct := rp.contentType
				if ct == "" {
					ct = "application/json"
				}
				resp["content"] = map[string]any{ct: map[string]any{"schema": ss.body(rp.body)}}
			case rp.contentType != "":
				resp["content"] = map[string]any{rp.contentType: map[string]any{
					"schema": map[string]string{"type": "string", "format": "binary"}}}
			}
			responses[strconv.Itoa(rp.status)] = resp
		}
		o["responses"] = responses
		switch rt.token {
		case managementToken:
			o["security"] = []map[string][]string{{"managementApi": {}}}
		case systemToken:
			o["security"] = []map[string][]string{{"systemApi": {}}}
		default:
			if rt.path == "/oidc/token" || rt.path == "/oauth/v2/token" {
				o["security"] = []map[string][]string{{"clientSecretBasic": {}}, {}}
			} else {
				o["security"] = []map[string][]string{}
			}
		}
		item[strings.ToLower(rt.method)] = o
	}

	securitySchemes := map[string]any{
		"managementApi": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
			"description": "An access token of this tenant for its Management API resource (https://<tenant>.logto.app/api, scope all or a manager's roles), from POST /oidc/token."},
		"systemApi": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
			"description": "An access token of tenant default for the system API resource (scope all) of an instance administrator."},
		"clientSecretBasic": map[string]any{"type": "http", "scheme": "basic",
			"description": "client_secret_basic. The token endpoint also takes client_secret_post (client_id and client_secret in the form) and the JWT bearer grant (assertion)."},
	}
	if metrics {
		securitySchemes["metricsToken"] = map[string]any{"type": "http", "scheme": "bearer",
			"description": "The token of --metrics-token-file."}
		paths["/metrics"] = map[string]any{
			"servers": []map[string]string{{"url": baseURL}},
			"get": map[string]any{"operationId": "getMetrics", "tags": []string{"metrics"},
				"summary":  "Prometheus metrics (served by main beside the API, only with a metrics token)",
				"security": []map[string][]string{{"metricsToken": {}}},
				"responses": map[string]any{
					"200": map[string]any{"description": "OK", "content": map[string]any{
						"text/plain": map[string]any{"schema": map[string]string{"type": "string"}}}},
					"401": map[string]any{"description": "No or a wrong metrics token."},
				}},
		}
	}

	errorSchema := ss.of(reflect.TypeFor[errorBody](), responseSchema)
	oauthSchema := ss.of(reflect.TypeFor[oauthErrorBody](), responseSchema)
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "idbolt Management API",
			"version":     "1",
			"description": "A Logto-compatible identity Management API. Errors are {code, message, details?}; lists page with page and page_size and answer with Total-Number and Link headers.",
		},
		"servers": []map[string]string{{"url": serverURLMarker}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": ss.components,
			"responses": map[string]any{
				"Error": map[string]any{"description": "An error.",
					"content": map[string]any{"application/json": map[string]any{"schema": errorSchema}},
					"headers": map[string]any{
						"WWW-Authenticate": map[string]any{"description": "With a 401: the Bearer challenge (RFC 6750), whose realm is the resource indicator a token must be issued for.",
							"schema": map[string]string{"type": "string"}},
						"Retry-After": map[string]any{"description": "With a 429 (and a 503 in cluster mode): seconds to wait.",
							"schema": map[string]string{"type": "string", "pattern": "^[0-9]+$"}},
					}},
				"OAuthError": map[string]any{"description": "An error: RFC 6749 section 5.2 at the token endpoint, otherwise the Management API's.",
					"content": map[string]any{"application/json": map[string]any{
						"schema": map[string]any{"anyOf": []any{oauthSchema, errorSchema}}}}},
			},
			"parameters": map[string]any{
				"page": map[string]any{"name": "page", "in": "query", "description": "The page, from 1.",
					"schema": map[string]any{"type": "integer", "minimum": 1}},
				"page_size": map[string]any{"name": "page_size", "in": "query",
					"description": fmt.Sprintf("Rows per page; %d when not given.", pagination.DefaultPageSize),
					"schema":      map[string]any{"type": "integer", "minimum": 1, "maximum": pagination.MaxPageSize}},
			},
			"headers": map[string]any{
				"Total-Number": map[string]any{"description": "How many rows match, on every page.",
					"schema": map[string]string{"type": "string", "pattern": "^[0-9]+$"}},
				"Link": map[string]any{"description": "RFC 8288 links to the first, previous, next and last pages.",
					"schema": map[string]string{"type": "string"}},
			},
			"securitySchemes": securitySchemes,
		},
	}
	data, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("openapi: %v", err)) // the document is built from fixed types
	}
	marker, _ := json.Marshal(serverURLMarker)
	head, tail, found := bytes.Cut(data, marker[1:len(marker)-1])
	if !found {
		panic("openapi: no servers URL in the document")
	}
	sum := sha256.Sum256(data)
	return &openAPI{head: head, tail: tail, version: hex.EncodeToString(sum[:8])}
}

// body returns the schema of a reply body.
func (ss *schemaSet) body(v any) *schema {
	if alts, ok := v.(oneOfBodies); ok {
		s := &schema{}
		for _, a := range alts {
			s.AnyOf = append(s.AnyOf, ss.of(reflect.TypeOf(a), responseSchema))
		}
		return s
	}
	return ss.of(reflect.TypeOf(v), responseSchema)
}

// openAPIPath turns an httprouter pattern into an OpenAPI path:
// /api/users/:userId is /api/users/{userId}.
func openAPIPath(pattern string) string {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}

// openAPITag groups operations by their first segment after /api, /system
// or /oidc.
func openAPITag(path string) string {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if segs[0] == "oidc" || len(segs) < 2 {
		return segs[0]
	}
	return segs[1]
}

// operationID is a unique name of an operation: getApiUsersByUserId.
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, seg := range strings.Split(path, "/") {
		if seg == "" {
			continue
		}
		if strings.HasPrefix(seg, "{") {
			b.WriteString("By")
			seg = seg[1 : len(seg)-1]
		}
		for _, part := range strings.FieldsFunc(seg, func(r rune) bool { return r == '-' || r == '.' || r == '_' }) {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

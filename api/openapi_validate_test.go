package api_test

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/idbolt/idbolt/api"
)

// validateResponses makes call and postForm check every response against
// the OpenAPI document, so the whole black-box suite checks the document
// (and the document the responses).
var validateResponses = flag.Bool("openapi.validate", true, "check every response of the api tests' call helpers against the OpenAPI document")

// openAPISpec is the document, loaded and validated once per test process.
var openAPISpec = sync.OnceValues(func() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPIDocument("http://idbolt.test"))
	if err != nil {
		return nil, err
	}
	return doc, doc.Validate(loader.Context)
})

// checkResponse fails t when the response to req does not match what the
// OpenAPI document says of the operation. Requests that match no documented
// operation (unknown routes, methods) are not checked.
func checkResponse(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	checkExchange(t, req, nil, status, header, body)
}

// checkExchange is checkResponse that also checks, when the server accepted
// it (2xx), the request with its body reqBody (nil: none) against the
// document: what the server takes, the document must allow.
func checkExchange(t testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	t.Helper()
	if !*validateResponses {
		return
	}
	doc, err := openAPISpec()
	if err != nil {
		t.Fatalf("openapi document: %v", err)
	}
	if status == http.StatusTeapot {
		return // the stand-in leader of the cluster tests (cluster_test.go), not idbolt
	}
	route, params, ok := findOperation(doc, req.Method, req.URL.Path)
	if !ok {
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("openapi: %s %s answered %d, which the document does not allow: %v\nbody: %.2000s", req.Method, req.URL.Path, status, err, body)
		return
	}
	if status/100 == 2 && (reqBody != nil || req.Body == nil || req.Method == http.MethodGet) {
		sent := req.Clone(context.Background())
		sent.Body = io.NopCloser(bytes.NewReader(reqBody))
		rin := &openapi3filter.RequestValidationInput{Request: sent, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if err := openapi3filter.ValidateRequest(context.Background(), rin); err != nil {
			t.Errorf("openapi: %s %s was accepted (%d), but the document does not allow the request: %v\nbody: %.2000s", req.Method, req.URL, status, err, reqBody)
		}
	}
	// kin-openapi checks no body where the document promises none.
	if resp := route.Operation.Responses.Status(status); resp != nil && len(resp.Value.Content) == 0 && len(body) > 0 {
		t.Errorf("openapi: %s %s answered %d with a body, which the document says has none: %.200s", req.Method, req.URL.Path, status, body)
	}
}

// findOperation finds the documented operation of method and path; a
// literal segment beats a parameter (/api/users/batch before
// /api/users/{userId}). A /t/{tenant} prefix is a tenant's server URL.
func findOperation(doc *openapi3.T, method, path string) (*routers.Route, map[string]string, bool) {
	if rest, ok := strings.CutPrefix(path, "/t/"); ok {
		if _, after, ok := strings.Cut(rest, "/"); ok && !strings.HasPrefix(after, "system/") {
			path = "/" + after
		}
	}
	segs := strings.Split(path, "/")
	var best *routers.Route
	var bestParams map[string]string
	bestScore := -1
	for tmpl, item := range doc.Paths.Map() {
		op := item.GetOperation(method)
		if op == nil {
			continue
		}
		tsegs := strings.Split(tmpl, "/")
		if len(tsegs) != len(segs) {
			continue
		}
		score, params := 0, map[string]string{}
		for i, ts := range tsegs {
			if strings.HasPrefix(ts, "{") {
				if segs[i] == "" {
					score = -1
					break
				}
				params[ts[1:len(ts)-1]] = segs[i]
			} else if ts == segs[i] {
				score++
			} else {
				score = -1
				break
			}
		}
		if score > bestScore {
			best = &routers.Route{Spec: doc, Path: tmpl, PathItem: item, Method: method, Operation: op}
			bestParams, bestScore = params, score
		}
	}
	return best, bestParams, best != nil
}

// TestOpenAPI_DocumentIsValid checks the document against the OpenAPI 3.0
// specification with kin-openapi.
func TestOpenAPI_DocumentIsValid(t *testing.T) {
	if _, err := openAPISpec(); err != nil {
		t.Fatal(err)
	}
}

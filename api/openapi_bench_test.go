package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/idbolt/idbolt/api"
	"github.com/idbolt/idbolt/api/apitest"
)

// BenchmarkOpenAPI_Call measures what response validation adds to a test's
// call: GET /api/users with 20 users over loopback, without and with the
// check. Compare the two as a ratio from one run.
func BenchmarkOpenAPI_Call(b *testing.B) {
	e := &env{Server: apitest.Start(b)}
	e.token = e.ManagementToken(b, "default")
	for i := range 20 {
		e.createUser(b, map[string]any{"username": fmt.Sprintf("bench_%d", i), "customData": map[string]any{"n": i}})
	}
	if _, err := openAPISpec(); err != nil {
		b.Fatal(err)
	}
	defer func(v bool) { *validateResponses = v }(*validateResponses)
	for _, validate := range []bool{false, true} {
		b.Run(fmt.Sprintf("validate=%v", validate), func(b *testing.B) {
			*validateResponses = validate
			b.ReportAllocs()
			for b.Loop() {
				if r := call(b, "GET", e.URL+"/api/users?page_size=20", e.token, nil); r.Status != http.StatusOK {
					b.Fatal(r.Status)
				}
			}
		})
	}
}

// BenchmarkOpenAPI_Load measures what the test process pays once: building,
// loading and validating the document.
func BenchmarkOpenAPI_Load(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(api.OpenAPIDocument("http://idbolt.test"))
		if err != nil {
			b.Fatal(err)
		}
		if err := doc.Validate(loader.Context); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenAPI_Serve measures GET /api/swagger.json in-process: the
// cached document copied out with the tenant's URL, and a 304 to a client
// that has it.
func BenchmarkOpenAPI_Serve(b *testing.B) {
	srv := apitest.Start(b)
	rec := httptest.NewRecorder()
	srv.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/api/swagger.json", nil))
	etag := rec.Header().Get("ETag")
	b.Run("200", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			serve(b, srv.Handler, httptest.NewRequest("GET", "/api/swagger.json", nil), http.StatusOK)
		}
	})
	b.Run("304", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest("GET", "/api/swagger.json", nil)
			req.Header.Set("If-None-Match", etag)
			serve(b, srv.Handler, req, http.StatusNotModified)
		}
	})
}

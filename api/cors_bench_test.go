package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idbolt/idbolt/api/apitest"
)

// BenchmarkCORS compares, in one run, a preflight of a tenant route (the
// tenant's origins from the store's cache) with GET /api/status (no CORS,
// no store read) and an actual cross-origin GET /api/users/{id}: a
// preflight must cost about what the cheapest route costs. Compare the
// ratios, not the times: the machine is shared.
func BenchmarkCORS(b *testing.B) {
	srv := apitest.Start(b, apitest.Options{CORSOrigins: []string{"https://ops.example"}})
	const admin = "https://admin.example"
	token := srv.ManagementToken(b, "default")
	sys := srv.SystemToken(b)
	patch := httptest.NewRequest("PATCH", "/system/tenants/default",
		strings.NewReader(`{"corsAllowedOrigins":["https://a.example","https://b.example","`+admin+`"]}`))
	patch.Header.Set("Authorization", "Bearer "+sys)
	patch.Header.Set("Content-Type", "application/json")
	serve(b, srv.Handler, patch, http.StatusOK)
	for _, bc := range []struct {
		name string
		req  func() *http.Request
		want int
	}{
		{"Status", func() *http.Request { return httptest.NewRequest("GET", "/api/status", nil) }, http.StatusNoContent},
		{"PreflightTenantOrigin", func() *http.Request {
			req := httptest.NewRequest("OPTIONS", "/api/users/x", nil)
			req.Header.Set("Origin", admin)
			req.Header.Set("Access-Control-Request-Method", "PATCH")
			req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
			return req
		}, http.StatusNoContent},
		{"PreflightRefused", func() *http.Request {
			req := httptest.NewRequest("OPTIONS", "/api/users/x", nil)
			req.Header.Set("Origin", "https://evil.example")
			req.Header.Set("Access-Control-Request-Method", "PATCH")
			return req
		}, http.StatusNoContent},
		{"GetUsersSameOrigin", func() *http.Request { return getUserRequest("nope00000000", token) }, http.StatusNotFound},
		{"GetUsersCrossOrigin", func() *http.Request {
			req := getUserRequest("nope00000000", token)
			req.Header.Set("Origin", admin)
			return req
		}, http.StatusNotFound},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serve(b, srv.Handler, bc.req(), bc.want)
			}
		})
	}
}

package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/rs/cors"

	"github.com/idbolt/idbolt/store"
	"github.com/idbolt/idbolt/store/cluster"
)

// CORS: which browser origins may read which answers. Tokens travel in the
// Authorization header, never in cookies, so credentials mode is never
// allowed: a page can only use a token it already holds, and CORS decides
// which pages may read the answers.
//
//   - Public metadata (discovery documents, JWKS): any origin, as every
//     OpenID provider does; it is public and unauthenticated.
//   - A tenant's Management API (/api/...) and token endpoint: the origins
//     the tenant allows (PATCH /system/tenants/{id} corsAllowedOrigins) and
//     the server's --cors-origins, matched exactly.
//   - The system API (/system/...): only the server's --cors-origins, which
//     the operator sets; a tenant's own origins never reach instance
//     administration.
//   - Anything else (/metrics): none.

// corsClass says which origins may call a path.
type corsClass int

const (
	corsNone   corsClass = iota
	corsAny              // public metadata
	corsTenant           // the tenant's origins and the global ones
	corsSystem           // the global ones only
)

// Declarative tables of the CORS policy, never changed.
var (
	// corsPublicPaths are the public metadata routes, below a tenant prefix.
	corsPublicPaths = map[string]bool{
		"/oidc/.well-known/openid-configuration":  true,
		"/.well-known/openid-configuration":       true,
		"/.well-known/oauth-authorization-server": true,
		"/oidc/jwks":     true,
		"/oauth/v2/keys": true,
	}
	// corsRequestHeaders are the request headers a browser may send: what
	// Logto's SDKs and a fetch-based client send, and the request id.
	corsRequestHeaders = []string{"Authorization", "Content-Type", "Accept", "Accept-Language", "X-Request-Id"}
	// corsExposedHeaders are the response headers a page may read beyond
	// the safelisted ones: the paging headers, the request id and why a
	// request was refused.
	corsExposedHeaders = []string{"Total-Number", "Link", "X-Request-Id", "Retry-After", "WWW-Authenticate"}
	corsMethods        = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
)

// corsMaxAge is how long, in seconds, a browser may reuse a preflight's
// answer. Removing an origin takes effect at once anyway: the actual
// request's answer then lacks Access-Control-Allow-Origin.
const corsMaxAge = 600

// classifyCORS returns the class of path and, for corsTenant, its tenant.
func classifyCORS(path string) (corsClass, string) {
	tenant, rest := store.DefaultTenant, path
	if after, ok := strings.CutPrefix(path, "/t/"); ok {
		var found bool
		tenant, rest, found = strings.Cut(after, "/")
		if !found || tenant == "" {
			return corsNone, ""
		}
		rest = "/" + rest
	} else {
		switch {
		case strings.HasPrefix(path, "/.well-known/oauth-authorization-server/"),
			strings.HasPrefix(path, "/.well-known/openid-configuration/"):
			return corsAny, "" // the forms of RFC 8414 section 3 for an issuer with a path
		case path == "/system" || strings.HasPrefix(path, "/system/"):
			return corsSystem, ""
		}
	}
	switch {
	case corsPublicPaths[rest]:
		return corsAny, ""
	case isTokenEndpoint(rest) || strings.HasPrefix(rest, "/api/"):
		return corsTenant, tenant
	}
	return corsNone, ""
}

// corsHandler answers preflights and adds CORS headers to next's answers.
type corsHandler struct {
	s                         *Server
	next                      http.Handler
	anyOrigin, tenant, system http.Handler // next behind rs/cors, per class
	global                    []string     // --cors-origins, normalized
}

// withCORS wraps next (the router) with the CORS policy; global are the
// server's --cors-origins, normalized (store.NormalizeCORSOrigins).
func (s *Server) withCORS(next http.Handler, global []string) http.Handler {
	h := &corsHandler{s: s, next: next, global: global}
	base := cors.Options{AllowedMethods: corsMethods, AllowedHeaders: corsRequestHeaders,
		ExposedHeaders: corsExposedHeaders, MaxAge: corsMaxAge, AllowCredentials: false}
	anyOrigin := base
	anyOrigin.AllowedOrigins = []string{"*"}
	anyOrigin.AllowedMethods = []string{http.MethodGet}
	h.anyOrigin = cors.New(anyOrigin).Handler(next)
	tenant := base
	tenant.AllowOriginVaryRequestFunc = h.tenantAllows
	h.tenant = cors.New(tenant).Handler(next)
	system := base
	system.AllowOriginVaryRequestFunc = func(_ *http.Request, origin string) (bool, []string) {
		return slices.Contains(h.global, origin), nil
	}
	h.system = cors.New(system).Handler(next)
	return h
}

func (h *corsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The node that took a forwarded request answers CORS for it; the
	// leader's headers would be added to its own.
	if cluster.Forwarded(r.Context()) {
		h.next.ServeHTTP(w, r)
		return
	}
	var next http.Handler
	switch class, _ := classifyCORS(r.URL.Path); class {
	case corsAny:
		next = h.anyOrigin
	case corsTenant:
		next = h.tenant
	case corsSystem:
		next = h.system
	default:
		h.next.ServeHTTP(w, r)
		return
	}
	if len(r.Header["Origin"]) == 0 && r.Method != http.MethodOptions {
		// Not a browser's cross-origin request: only the Vary field rs/cors
		// would add (so that a cache keeps answers per origin), without
		// asking whose origins the route allows.
		w.Header()["Vary"] = append(w.Header()["Vary"], "Origin")
		next = h.next
	} else if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		// A preflight: no authentication, no budget spent, at most one
		// cached lookup of the tenant's origins. It is logged and counted
		// as every request is, under a route of its own.
		h.s.serveObserved(w, r, "cors_preflight", func(w http.ResponseWriter, r *http.Request, info *requestInfo) {
			info.tenant = "-"
			next.ServeHTTP(w, r)
		})
		return
	}
	next.ServeHTTP(w, r)
}

// tenantAllows reports whether origin may call the tenant route of r: one
// of the server's origins or of the tenant's own.
func (h *corsHandler) tenantAllows(r *http.Request, origin string) (bool, []string) {
	if slices.Contains(h.global, origin) {
		return true, nil
	}
	_, tenant := classifyCORS(r.URL.Path)
	origins, err := h.s.store.TenantCORSOrigins(r.Context(), tenant)
	if err != nil {
		if store.ErrorCode(err) != store.ENOTFOUND {
			h.s.logger.WarnContext(r.Context(), "CORS: read the tenant's origins", "tenant", tenant, "err", err)
		}
		return false, nil
	}
	return slices.Contains(origins, origin), nil
}

// isTokenEndpoint reports whether route (without the tenant prefix) is the
// token endpoint or its ZITADEL-style alias.
func isTokenEndpoint(route string) bool {
	return route == "/oidc/token" || route == "/oauth/v2/token"
}

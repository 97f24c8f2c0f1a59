// Package api is idbolt's HTTP layer: every route in one list (server.go), the
// middleware that resolves the tenant and authenticates the caller, request
// decoding, response encoding, and writeError, the single place where an error
// becomes a response.
//
// Tenant default is served at the root paths (/api/..., /oidc/...), any other
// tenant T under /t/T/...; the tenant is resolved before anything else and
// passed into every store call, so one tenant's data is never reachable from
// another's routes. The wire format is Logto's: field names, status codes, the
// {"code","message"} error envelope and page-number pagination headers.
//
// Each route's line says who may call it: public, system, management
// (tenant access by method) or allow(policy) for the routes that manager
// roles reach (permissions.go). The middleware resolves the tenant, route
// params, caller and manager access once into a request value (request.go),
// the only thing a handler receives besides the ResponseWriter.
//
// In front of the router, main stacks what belongs to the listener:
// PublicListener (connection limits, TLS with a CertReloader's certificate),
// LimitBodies, and TrustProxies, which makes r.RemoteAddr the client's
// address when the peer is a trusted reverse proxy; auth.ClientIP reads it
// from there for the audit log, the per-address budgets and the logs.
//
// Handlers follow one shape: decode the request (any failure is EINVALID),
// make one store call, write JSON. They hold no business rules.
//
// In front of the router, cors.go decides per route which browser origins
// may read the answers and answers preflights (github.com/rs/cors does the
// headers).
//
// Beside the router, console.go serves the admin console under /console:
// its embedded files (package api/console), its sessions, and /console/api,
// which runs the Management API's own routes with the session as the caller
// (and /console/system, the system API's, for an instance administrator's
// session).
package api

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
// Handlers follow one shape: decode the request (any failure is EINVALID),
// make one store call, write JSON. They hold no business rules.
package api

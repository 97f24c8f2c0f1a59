package api

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/idbolt/idbolt/auth"
	"github.com/idbolt/idbolt/store"
)

// request is what a handler receives: the HTTP request and what the
// middleware (Server.handle) resolved for it, so that no handler digs
// values out of the context. Its context carries the store's actor
// (store.NewContextWithActor) for the audit log.
type request struct {
	*http.Request
	// tenant is the tenant the route is for: the :tenant of the path, or
	// store.DefaultTenant at the root and for system routes.
	tenant string
	params httprouter.Params
	// principal is the authenticated caller; nil on public routes.
	principal *auth.Principal
	// managers is the caller's manager access when its token lacks scope
	// all, as the route's policy allowed it; nil otherwise.
	managers *store.ManagerAccess
}

// param returns the route parameter name (":name" on the route line), or ""
// when the route has none.
func (r *request) param(name string) string { return r.params.ByName(name) }

// restricted returns the manager access of a caller who sees only part of
// the tenant (no tenant read access), or nil when the caller sees it all.
// List handlers show a restricted caller only what the access covers.
func (r *request) restricted() *store.ManagerAccess {
	if r.managers == nil || r.managers.Tenant >= read {
		return nil
	}
	return r.managers
}

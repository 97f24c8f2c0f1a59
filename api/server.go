package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/idbolt/idbolt/auth"
	"github.com/idbolt/idbolt/store"
)

// Config lists the dependencies of the HTTP API.
type Config struct {
	Store  *store.DB
	Auth   *auth.Auth
	Logger *slog.Logger
	// BaseURL is the public URL used in Link headers, without a trailing slash.
	BaseURL string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Server is the HTTP API. Build it with New.
type Server struct {
	store   *store.DB
	auth    *auth.Auth
	logger  *slog.Logger
	baseURL string
	now     func() time.Time
	router  *httprouter.Router
}

// New returns the HTTP handler of the whole server: the Management API of
// every tenant, the OAuth endpoints and the system API.
func New(cfg Config) http.Handler {
	s := &Server{store: cfg.Store, auth: cfg.Auth, logger: cfg.Logger,
		baseURL: strings.TrimRight(cfg.BaseURL, "/"), now: cfg.Now}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.router = httprouter.New()
	s.routes()
	return s.router
}

// handler is a route handler; a returned error goes to writeError.
type handler func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error

// access says who may call a route.
type access int

const (
	public     access = iota // no token
	management               // tenant's Management API token with scope all
	system                   // tenant default's system token with scope all
)

// routes registers every route. Tenant routes are registered twice: at the
// root for tenant default and under /t/:tenant for the others.
func (s *Server) routes() {
	r := s.router
	r.PanicHandler = func(w http.ResponseWriter, req *http.Request, v any) {
		s.writeError(w, req, fmt.Errorf("panic: %v", v))
	}
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.writeJSON(w, req, http.StatusNotFound, errorBody{Code: "guard.route_not_found",
			Message: fmt.Sprintf("No route matches %s %s.", req.Method, req.URL.Path)})
	})
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.writeJSON(w, req, http.StatusMethodNotAllowed, errorBody{Code: "guard.method_not_allowed",
			Message: fmt.Sprintf("Method %s is not allowed here; allowed: %s.", req.Method, w.Header().Get("Allow"))})
	})

	for _, prefix := range []string{"", "/t/:tenant"} {
		t := func(method, path string, acc access, h handler) { s.handle(method, prefix+path, acc, h) }

		t("GET", "/oidc/.well-known/openid-configuration", public, s.oidc(s.auth.HandleDiscovery))
		t("GET", "/oidc/jwks", public, s.oidc(s.auth.HandleJWKS))
		t("POST", "/oidc/token", public, s.oidc(s.auth.HandleToken))
		t("GET", "/api/status", public, s.handleStatus)

		t("GET", "/api/users", management, s.handleUserList)
		t("POST", "/api/users", management, s.handleUserCreate)
		t("GET", "/api/users/:userId", management, s.handleUserGet)
		t("PATCH", "/api/users/:userId", management, s.handleUserUpdate)
		t("DELETE", "/api/users/:userId", management, s.handleUserDelete)
		t("GET", "/api/users/:userId/custom-data", management, s.handleUserCustomDataGet)
		t("PATCH", "/api/users/:userId/custom-data", management, s.handleUserCustomDataUpdate)
		t("PATCH", "/api/users/:userId/profile", management, s.handleUserProfileUpdate)
		t("PATCH", "/api/users/:userId/password", management, s.handleUserPasswordUpdate)
		t("POST", "/api/users/:userId/password/verify", management, s.handleUserPasswordVerify)
		t("GET", "/api/users/:userId/has-password", management, s.handleUserHasPassword)
		t("PATCH", "/api/users/:userId/is-suspended", management, s.handleUserSuspend)
	}

	s.handle("GET", "/system/tenants", system, s.handleTenantList)
	s.handle("POST", "/system/tenants", system, s.handleTenantCreate)
	s.handle("GET", "/system/tenants/:id", system, s.handleTenantGet)
	s.handle("DELETE", "/system/tenants/:id", system, s.handleTenantDelete)
}

// handle registers h behind the middleware for its access level: resolve the
// tenant (404 when unknown), then authenticate and check scope all.
func (s *Server) handle(method, path string, acc access, h handler) {
	s.router.Handle(method, path, func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		tenant := ps.ByName("tenant")
		if tenant == "" {
			tenant = store.DefaultTenant
		}
		ctx := r.Context()
		if acc != system {
			ok, err := s.store.TenantExists(ctx, tenant)
			if err != nil {
				s.writeError(w, r, err)
				return
			} else if !ok {
				s.writeError(w, r, &store.Error{Code: store.ENOTFOUND, Detail: "tenant.not_found",
					Message: fmt.Sprintf("Tenant %q does not exist.", tenant)})
				return
			}
		}
		ctx = newContextWithTenant(ctx, tenant)
		if acc != public {
			audience := store.ManagementIndicator(tenant)
			if acc == system {
				tenant, audience = store.DefaultTenant, store.SystemIndicator
			}
			p, err := s.auth.Authenticate(ctx, r, tenant, audience)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			if !p.HasScope(store.ManagementScope) {
				s.writeError(w, r, &store.Error{Code: store.EFORBIDDEN, Detail: "auth.forbidden",
					Message: "Forbidden. Please check your user roles and permissions."})
				return
			}
			ctx = NewContextWithPrincipal(ctx, p)
		}
		r = r.WithContext(ctx)
		if err := h(w, r, ps); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// oidc adapts an auth handler, which writes its own RFC 6749 responses.
func (s *Server) oidc(h func(http.ResponseWriter, *http.Request, string)) handler {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		h(w, r, tenantFromContext(r.Context()))
		return nil
	}
}

// handleStatus is the unauthenticated health check, as Logto's.
func (s *Server) handleStatus(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

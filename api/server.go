package api

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/idbolt/idbolt/auth"
	"github.com/idbolt/idbolt/limits"
	"github.com/idbolt/idbolt/store"
)

// Config lists the dependencies of the HTTP API.
type Config struct {
	Store  *store.DB
	Auth   *auth.Auth
	Logger *slog.Logger
	// RequestLogger writes the one line of each request; nil means Logger.
	// It may batch its writes (a write per line costs a tenth of a GET).
	RequestLogger *slog.Logger
	// BaseURL is the public URL used in Link headers, without a trailing slash.
	BaseURL string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Limiter holds the per-tenant request budgets; nil means unlimited.
	// Only requests whose caller authenticated spend them.
	Limiter *limits.Limiter
	// Sources budgets, per source address (limits.SourceKey), the requests
	// that fail authentication and the token requests that fail, so that
	// such requests never spend a tenant's budget; nil means
	// DefaultSourceRate. Build it with limits.NewBounded.
	Sources *limits.Limiter
	// Registry receives the api's metrics; nil means they are not exported.
	Registry prometheus.Registerer
	// WebhookBackoff is the wait before each retry of an email webhook
	// delivery, one retry per entry; nil means the production 100 ms and
	// 400 ms. Tests shorten it.
	WebhookBackoff []time.Duration
	// BackupStallTimeout cuts a GET /system/backup download that makes no
	// progress for this long; zero means 30 s. Tests shorten it.
	BackupStallTimeout time.Duration
	// Cluster is the node of cluster mode; nil runs a single server.
	Cluster Cluster
	// CORSOrigins are the browser origins that may call every tenant's
	// Management API and token endpoint, besides each tenant's own, and the
	// only ones that may call the system API (cors.go). Give them
	// normalized by store.NormalizeCORSOrigins: they are matched exactly.
	CORSOrigins []string
	// MetricsOnListener says that GET /metrics is served beside this
	// handler, on its listener, behind the metrics token (main.go); the
	// OpenAPI document names it then.
	MetricsOnListener bool
}

// defaultBackupStallTimeout is how long a backup download may make no
// progress before it is cut.
const defaultBackupStallTimeout = 30 * time.Second

// Server is the HTTP API. Build it with New.
type Server struct {
	store   *store.DB
	auth    *auth.Auth
	logger  *slog.Logger
	reqLog  *slog.Logger // the line of each request (Config.RequestLogger)
	baseURL string
	now     func() time.Time
	router  *httprouter.Router
	limiter *limits.Limiter
	sources *limits.Limiter
	metrics *metrics
	webhook *webhookSender
	// messenger sends through tenants' connectors (connectors_send.go).
	messenger *messenger
	// hookClient sends POST /api/hooks/{id}/test's requests.
	hookClient *http.Client
	// backupStallTimeout cuts a backup download that makes no progress.
	backupStallTimeout time.Duration
	cluster            Cluster // nil outside cluster mode (cluster.go)
	// registered lists the routes as handle registered them, for the
	// OpenAPI document (openapi.go), which is built once from them.
	registered []registration
	openapi    *openAPI
	// jsonBuffers holds *[]byte buffers of hand-written answers
	// (writeJSON), which every GET /api/users/{id} allocated.
	jsonBuffers sync.Pool
}

// New returns the HTTP handler of the whole server: the Management API of
// every tenant, the OAuth endpoints and the system API, behind the CORS
// policy (cors.go). Serve it, with any other handler of the listener,
// behind LimitBodies.
func New(cfg Config) http.Handler {
	s := newServer(cfg)
	return s.withConsole(s.withCORS(s.router, cfg.CORSOrigins)) // console.go
}

// newServer builds the Server that New serves.
func newServer(cfg Config) *Server {
	s := &Server{store: cfg.Store, auth: cfg.Auth, logger: cfg.Logger,
		baseURL: strings.TrimRight(cfg.BaseURL, "/"), now: cfg.Now, limiter: cfg.Limiter, sources: cfg.Sources,
		cluster: cfg.Cluster}
	if s.sources == nil {
		s.sources = limits.NewBounded(DefaultSourceRate(), limits.MaxTrackedSources, cfg.Now)
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.metrics = newMetrics(reg)
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.reqLog = cmp.Or(cfg.RequestLogger, s.logger)
	if s.now == nil {
		s.now = time.Now
	}
	s.webhook = newWebhookSender(s.logger)
	s.messenger = newMessenger(s.logger)
	s.hookClient = newOutboundClient()
	if cfg.WebhookBackoff != nil {
		s.webhook.backoff = cfg.WebhookBackoff
	}
	s.backupStallTimeout = cfg.BackupStallTimeout
	if s.backupStallTimeout <= 0 {
		s.backupStallTimeout = defaultBackupStallTimeout
	}
	s.router = httprouter.New()
	// Logto answers neither redirects nor automatic OPTIONS: a path is
	// matched as sent, or it is a 404 (or 405).
	s.router.RedirectTrailingSlash = false
	s.router.RedirectFixedPath = false
	s.router.HandleOPTIONS = false
	s.routes()
	s.openapi = buildOpenAPI(s.baseURL, s.registered, cfg.MetricsOnListener)
	return s
}

// DefaultBodyTimeout is how long a request body may take to arrive.
const DefaultBodyTimeout = 30 * time.Second

// DefaultSourceRate returns the budget of failed requests (authentication
// failures and failed token requests) per source address: 100 a minute.
func DefaultSourceRate() limits.Rate { return limits.Rate{Requests: 100, Per: time.Minute} }

// handler is a route handler; a returned error goes to writeError.
type handler func(w http.ResponseWriter, r *request) error

// token is the bearer token a route needs.
type token int

const (
	noToken         token = iota
	managementToken       // the tenant's Management API token
	systemToken           // tenant default's system API token with scope all
)

// access says who may call a route; it stands on the route's line.
type access struct {
	token token
	// policy decides whether the manager roles of a Management API token
	// without scope all allow the route (permissions.go); nil means tenant
	// access: IAM_OWNER_VIEWER to read (GET), IAM_OWNER for other methods.
	policy policy
}

// The access of routes that need no policy of their own. Declarative
// values, never changed.
var (
	public     = access{token: noToken}
	management = access{token: managementToken} // scope all, or tenant access by method
	system     = access{token: systemToken}
)

// allow is the access of a Management API route that manager roles may call
// as p decides; a token with scope all may call it too.
func allow(p policy) access { return access{token: managementToken, policy: p} }

// routes registers every route. Tenant routes are registered twice: at the
// root for tenant default and under /t/:tenant for the others.
func (s *Server) routes() {
	r := s.router
	r.PanicHandler = func(w http.ResponseWriter, req *http.Request, v any) {
		s.writeError(w, &request{Request: req}, fmt.Errorf("panic: %v", v))
	}
	r.NotFound = s.observe("unmatched", func(w http.ResponseWriter, req *http.Request, _ *requestInfo) {
		s.writeJSON(w, &request{Request: req}, http.StatusNotFound, errorBody{Code: "guard.route_not_found",
			Message: fmt.Sprintf("No route matches %s %s.", req.Method, req.URL.Path)})
	})
	r.MethodNotAllowed = s.observe("unmatched", func(w http.ResponseWriter, req *http.Request, _ *requestInfo) {
		s.writeJSON(w, &request{Request: req}, http.StatusMethodNotAllowed, errorBody{Code: "guard.method_not_allowed",
			Message: fmt.Sprintf("Method %s is not allowed here; allowed: %s.", req.Method, w.Header().Get("Allow"))})
	})

	for _, prefix := range []string{"", "/t/:tenant"} {
		t := func(method, path string, acc access, h handler) { s.handle(method, prefix, path, acc, h) }

		t("GET", "/oidc/.well-known/openid-configuration", public, s.oidc(s.auth.HandleDiscovery))
		t("GET", "/.well-known/openid-configuration", public, s.oidc(s.auth.HandleDiscovery))
		t("GET", "/.well-known/oauth-authorization-server", public, s.oidc(s.auth.HandleDiscovery)) // RFC 8414
		t("GET", "/oidc/jwks", public, s.oidc(s.auth.HandleJWKS))
		t("POST", "/oidc/token", public, s.oidc(s.auth.HandleToken))
		// ZITADEL's paths, for its clients (isTokenEndpoint treats both alike).
		t("GET", "/oauth/v2/keys", public, s.oidc(s.auth.HandleJWKS))
		t("POST", "/oauth/v2/token", public, s.oidc(s.auth.HandleToken))
		t("GET", "/api/status", public, s.handleStatus)
		t("GET", "/api/status/ready", public, s.handleReady)
		t("GET", "/api/status/leader", public, s.handleLeader)
		t("GET", "/api/swagger.json", public, s.handleOpenAPI) // openapi.go

		// Lists that a manager may read show only what the roles cover (the list handlers).
		t("GET", "/api/users", allow(anyOf(tenantAccess(read), anyOrganization)), s.handleUserList)
		t("POST", "/api/users", management, s.handleUserCreate)
		t("POST", "/api/users/:userId", management, s.handleUserPost) // serves /api/users/batch (users_batch.go)
		t("GET", "/api/users/:userId", allow(anyOf(tenantAccess(read), memberUser)), s.handleUserGet)
		t("PATCH", "/api/users/:userId", management, s.handleUserUpdate)
		t("DELETE", "/api/users/:userId", management, s.handleUserDelete)
		t("GET", "/api/users/:userId/custom-data", management, s.handleUserCustomDataGet)
		t("PATCH", "/api/users/:userId/custom-data", management, s.handleUserCustomDataUpdate)
		t("PATCH", "/api/users/:userId/profile", management, s.handleUserProfileUpdate)
		t("PATCH", "/api/users/:userId/password", management, s.handleUserPasswordUpdate)
		t("POST", "/api/users/:userId/password/verify", management, s.handleUserPasswordVerify)
		t("PATCH", "/api/users/:userId/password/expiration", management, s.handleUserPasswordExpiration)
		t("GET", "/api/users/:userId/has-password", management, s.handleUserHasPassword)
		t("PATCH", "/api/users/:userId/is-suspended", management, s.handleUserSuspend)
		t("POST", "/api/users/:userId/identities", management, s.handleUserIdentityLink) // users_identities.go
		t("GET", "/api/users/:userId/identities/:target", management, s.handleUserIdentityGet)
		t("PUT", "/api/users/:userId/identities/:target", management, s.handleUserIdentityPut)
		t("DELETE", "/api/users/:userId/identities/:target", management, s.handleUserIdentityDelete)
		t("GET", "/api/users/:userId/all-identities", management, s.handleUserAllIdentities)
		t("GET", "/api/users/:userId/personal-access-tokens", management, s.handlePATList) // users_personal_access_tokens.go
		t("POST", "/api/users/:userId/personal-access-tokens", management, s.handlePATCreate)
		t("PATCH", "/api/users/:userId/personal-access-tokens", management, s.handlePATRename)
		t("PATCH", "/api/users/:userId/personal-access-tokens/:name", management, s.handlePATRename)
		t("DELETE", "/api/users/:userId/personal-access-tokens/:name", management, s.handlePATDelete)
		t("POST", "/api/users/:userId/personal-access-tokens/delete", management, s.handlePATDelete)
		t("GET", "/api/users/:userId/keys", management, s.handleUserKeyList)
		t("POST", "/api/users/:userId/keys", management, s.handleUserKeyCreate)
		t("DELETE", "/api/users/:userId/keys/:keyId", management, s.handleUserKeyDelete)

		t("GET", "/api/users/:userId/roles", management, s.handleUserRoleList)
		t("POST", "/api/users/:userId/roles", management, s.handleUserRoleAssign)
		t("PUT", "/api/users/:userId/roles", management, s.handleUserRoleAssign)
		t("DELETE", "/api/users/:userId/roles/:roleId", management, s.handleUserRoleRemove)

		t("GET", "/api/applications", management, s.handleApplicationList)
		t("POST", "/api/applications", management, s.handleApplicationCreate)
		t("GET", "/api/applications/:applicationId", management, s.handleApplicationGet)
		t("PATCH", "/api/applications/:applicationId", management, s.handleApplicationUpdate)
		t("DELETE", "/api/applications/:applicationId", management, s.handleApplicationDelete)
		t("GET", "/api/applications/:applicationId/custom-data", management, s.handleApplicationCustomDataGet)
		t("PATCH", "/api/applications/:applicationId/custom-data", management, s.handleApplicationCustomDataUpdate)
		t("GET", "/api/applications/:applicationId/secrets", allow(tenantAccess(write)), s.handleApplicationSecretList) // not for viewers
		t("POST", "/api/applications/:applicationId/secrets", management, s.handleApplicationSecretCreate)
		t("PATCH", "/api/applications/:applicationId/secrets/:name", management, s.handleApplicationSecretUpdate)
		t("DELETE", "/api/applications/:applicationId/secrets/:name", management, s.handleApplicationSecretDelete)
		t("DELETE", "/api/applications/:applicationId/legacy-secret", management, s.handleApplicationLegacySecretDelete)
		t("GET", "/api/applications/:applicationId/roles", management, s.handleApplicationRoleList)
		t("POST", "/api/applications/:applicationId/roles", management, s.handleApplicationRoleAssign)
		t("PUT", "/api/applications/:applicationId/roles", management, s.handleApplicationRoleAssign)
		t("DELETE", "/api/applications/:applicationId/roles/:roleId", management, s.handleApplicationRoleRemove)

		t("GET", "/api/resources", allow(anyOf(tenantAccess(read), anyResource)), s.handleResourceList)
		t("POST", "/api/resources", management, s.handleResourceCreate)
		t("GET", "/api/resources/:resourceId", allow(resource(read)), s.handleResourceGet)
		t("PATCH", "/api/resources/:resourceId", allow(anyOf(tenantAccess(write), resourceRename)), s.handleResourceUpdate)
		t("DELETE", "/api/resources/:resourceId", management, s.handleResourceDelete)
		t("PATCH", "/api/resources/:resourceId/is-default", management, s.handleResourceIsDefault)
		t("GET", "/api/resources/:resourceId/scopes", allow(resource(read)), s.handleScopeList)
		t("POST", "/api/resources/:resourceId/scopes", allow(resource(write)), s.handleScopeCreate)
		t("PATCH", "/api/resources/:resourceId/scopes/:scopeId", allow(resource(write)), s.handleScopeUpdate)
		t("DELETE", "/api/resources/:resourceId/scopes/:scopeId", allow(resource(write)), s.handleScopeDelete)

		t("GET", "/api/roles", management, s.handleRoleList)
		t("POST", "/api/roles", management, s.handleRoleCreate)
		t("GET", "/api/roles/:roleId", management, s.handleRoleGet)
		t("PATCH", "/api/roles/:roleId", management, s.handleRoleUpdate)
		t("DELETE", "/api/roles/:roleId", management, s.handleRoleDelete)
		t("GET", "/api/roles/:roleId/scopes", management, s.handleRoleScopeList)
		t("POST", "/api/roles/:roleId/scopes", management, s.handleRoleScopeAssign)
		t("DELETE", "/api/roles/:roleId/scopes/:scopeId", management, s.handleRoleScopeRemove)
		t("GET", "/api/roles/:roleId/users", management, s.handleRoleUserList)
		t("POST", "/api/roles/:roleId/users", management, s.handleRoleUserAssign)
		t("DELETE", "/api/roles/:roleId/users/:userId", management, s.handleRoleUserRemove)
		t("GET", "/api/roles/:roleId/applications", management, s.handleRoleApplicationList)
		t("POST", "/api/roles/:roleId/applications", management, s.handleRoleApplicationAssign)
		t("DELETE", "/api/roles/:roleId/applications/:applicationId", management, s.handleRoleApplicationRemove)

		// organizations (organizations.go, organization_*.go)
		t("GET", "/api/organizations", allow(anyOf(tenantAccess(read), anyOrganization)), s.handleOrganizationList)
		t("POST", "/api/organizations", management, s.handleOrganizationCreate)
		t("GET", "/api/organizations/:organizationId", allow(organization(read)), s.handleOrganizationGet)
		t("PATCH", "/api/organizations/:organizationId", management, s.handleOrganizationUpdate)
		t("DELETE", "/api/organizations/:organizationId", management, s.handleOrganizationDelete)
		t("GET", "/api/organizations/:organizationId/users", allow(organization(read)), s.handleOrganizationUserList)
		t("POST", "/api/organizations/:organizationId/users", allow(organization(write)), s.assignIDsHandler("organizationId", "userIds", false, true, s.store.AddOrganizationUsers))
		t("PUT", "/api/organizations/:organizationId/users", allow(organization(write)), s.assignIDsHandler("organizationId", "userIds", true, false, s.store.AddOrganizationUsers))
		t("POST", "/api/organizations/:organizationId/users/:userId", allow(memberRoles(true)), // serves .../users/roles
			s.bulkRolesHandler("userId", "userIds", s.store.AssignRolesToOrganizationUsers))
		t("DELETE", "/api/organizations/:organizationId/users/:userId", allow(organization(write)), s.removeMemberHandler("userId", s.store.RemoveOrganizationUser))
		t("GET", "/api/organizations/:organizationId/users/:userId/roles", allow(organization(read)), s.handleOrganizationUserRoleList)
		t("POST", "/api/organizations/:organizationId/users/:userId/roles", allow(memberRoles(true)), s.handleOrganizationUserRoleAssign)
		t("PUT", "/api/organizations/:organizationId/users/:userId/roles", allow(organization(write)), s.handleOrganizationUserRoleAssign) // replaces roles outside a grant
		t("DELETE", "/api/organizations/:organizationId/users/:userId/roles/:organizationRoleId", allow(memberRoles(false)), s.handleOrganizationUserRoleRemove)
		t("GET", "/api/organizations/:organizationId/users/:userId/scopes", allow(organization(read)), s.handleOrganizationUserScopeList)
		t("GET", "/api/organizations/:organizationId/applications", allow(organization(read)), s.handleOrganizationApplicationList)
		t("POST", "/api/organizations/:organizationId/applications", allow(organization(write)), s.assignIDsHandler("organizationId", "applicationIds", false, false, s.store.AddOrganizationApplications))
		t("PUT", "/api/organizations/:organizationId/applications", allow(organization(write)), s.assignIDsHandler("organizationId", "applicationIds", true, false, s.store.AddOrganizationApplications))
		t("POST", "/api/organizations/:organizationId/applications/:applicationId", allow(memberRoles(true)), // serves .../applications/roles
			s.bulkRolesHandler("applicationId", "applicationIds", s.store.AssignRolesToOrganizationApplications))
		t("DELETE", "/api/organizations/:organizationId/applications/:applicationId", allow(organization(write)),
			s.removeMemberHandler("applicationId", s.store.RemoveOrganizationApplication))
		t("GET", "/api/organizations/:organizationId/applications/:applicationId/roles", allow(organization(read)), s.handleOrganizationApplicationRoleList)
		t("POST", "/api/organizations/:organizationId/applications/:applicationId/roles", allow(memberRoles(true)), s.handleOrganizationApplicationRoleAssign)
		t("PUT", "/api/organizations/:organizationId/applications/:applicationId/roles", allow(organization(write)), s.handleOrganizationApplicationRoleAssign) // replaces roles outside a grant
		t("DELETE", "/api/organizations/:organizationId/applications/:applicationId/roles/:organizationRoleId", allow(memberRoles(false)),
			s.handleOrganizationApplicationRoleRemove)
		t("GET", "/api/users/:userId/organizations", management, s.handleUserOrganizationList)
		t("GET", "/api/applications/:applicationId/organizations", management, s.handleApplicationOrganizationList)

		// The organization template: its managers pick member roles from it.
		t("GET", "/api/organization-roles", allow(anyOf(tenantAccess(read), anyOrganization)), s.handleOrganizationRoleList)
		t("POST", "/api/organization-roles", management, s.handleOrganizationRoleCreate)
		t("GET", "/api/organization-roles/:organizationRoleId", allow(anyOf(tenantAccess(read), anyOrganization)), s.handleOrganizationRoleGet)
		t("PATCH", "/api/organization-roles/:organizationRoleId", management, s.handleOrganizationRoleUpdate)
		t("DELETE", "/api/organization-roles/:organizationRoleId", management, s.handleOrganizationRoleDelete)
		t("GET", "/api/organization-roles/:organizationRoleId/scopes", allow(anyOf(tenantAccess(read), anyOrganization)), s.handleOrganizationRoleScopeList)
		t("POST", "/api/organization-roles/:organizationRoleId/scopes", management,
			s.assignIDsHandler("organizationRoleId", "organizationScopeIds", false, false, s.store.AssignOrganizationRoleScopes))
		t("PUT", "/api/organization-roles/:organizationRoleId/scopes", management,
			s.assignIDsHandler("organizationRoleId", "organizationScopeIds", true, false, s.store.AssignOrganizationRoleScopes))
		t("DELETE", "/api/organization-roles/:organizationRoleId/scopes/:organizationScopeId", management, s.handleOrganizationRoleScopeRemove)
		t("GET", "/api/organization-roles/:organizationRoleId/resource-scopes", allow(anyOf(tenantAccess(read), anyOrganization)), s.handleOrganizationRoleResourceScopeList)
		t("POST", "/api/organization-roles/:organizationRoleId/resource-scopes", management,
			s.assignIDsHandler("organizationRoleId", "scopeIds", false, false, s.store.AssignOrganizationRoleResourceScopes))
		t("PUT", "/api/organization-roles/:organizationRoleId/resource-scopes", management,
			s.assignIDsHandler("organizationRoleId", "scopeIds", true, false, s.store.AssignOrganizationRoleResourceScopes))
		t("DELETE", "/api/organization-roles/:organizationRoleId/resource-scopes/:scopeId", management, s.handleOrganizationRoleResourceScopeRemove)

		t("GET", "/api/organization-scopes", allow(anyOf(tenantAccess(read), anyOrganization)), s.handleOrganizationScopeList)
		t("POST", "/api/organization-scopes", management, s.handleOrganizationScopeCreate)
		t("GET", "/api/organization-scopes/:organizationScopeId", allow(anyOf(tenantAccess(read), anyOrganization)), s.handleOrganizationScopeGet)
		t("PATCH", "/api/organization-scopes/:organizationScopeId", management, s.handleOrganizationScopeUpdate)
		t("DELETE", "/api/organization-scopes/:organizationScopeId", management, s.handleOrganizationScopeDelete)

		// organization invitations (invitations.go)
		t("POST", "/api/subject-tokens", management, s.handleSubjectTokenCreate)        // subject_tokens.go
		t("GET", "/api/dashboard/users/total", management, s.handleDashboardUsersTotal) // dashboard.go
		t("GET", "/api/dashboard/users/new", management, s.handleDashboardUsersNew)
		t("GET", "/api/dashboard/users/active", management, s.handleDashboardUsersActive)
		t("GET", "/api/one-time-tokens", management, s.handleOneTimeTokenList) // one_time_tokens.go
		t("POST", "/api/one-time-tokens", management, s.handleOneTimeTokenCreate)
		t("POST", "/api/one-time-tokens/verify", management, s.handleOneTimeTokenVerify)
		t("GET", "/api/one-time-tokens/:id", management, s.handleOneTimeTokenGet)
		t("DELETE", "/api/one-time-tokens/:id", management, s.handleOneTimeTokenDelete)
		t("PUT", "/api/one-time-tokens/:id/status", management, s.handleOneTimeTokenStatus)

		t("GET", "/api/organization-invitations", allow(anyOf(tenantAccess(read), anyOrganizationManager)), s.handleInvitationList)
		t("POST", "/api/organization-invitations", allow(invitationCreate), s.handleInvitationCreate)
		t("GET", "/api/organization-invitations/:invitationId", allow(invitation(read)), s.handleInvitationGet)
		t("DELETE", "/api/organization-invitations/:invitationId", allow(invitation(write)), s.handleInvitationDelete)
		t("PUT", "/api/organization-invitations/:invitationId/status", allow(invitation(write)), s.handleInvitationStatus)
		t("POST", "/api/organization-invitations/:invitationId/message", allow(invitation(write)), s.handleInvitationMessage)

		// connectors (connectors.go); /test's parameter is a factory id
		t("GET", "/api/connector-factories", management, s.handleConnectorFactoryList)
		t("GET", "/api/connector-factories/:factoryId", management, s.handleConnectorFactoryGet)
		// the sign-in experience (sign_in_exp.go)
		t("GET", "/api/sign-in-exp", management, s.handleSignInExpGet)
		t("PATCH", "/api/sign-in-exp", management, s.handleSignInExpUpdate)

		t("GET", "/api/connectors", management, s.handleConnectorList)
		t("POST", "/api/connectors", management, s.handleConnectorCreate)
		t("GET", "/api/connectors/:connectorId", management, s.handleConnectorGet)
		t("PATCH", "/api/connectors/:connectorId", management, s.handleConnectorUpdate)
		t("DELETE", "/api/connectors/:connectorId", management, s.handleConnectorDelete)
		t("POST", "/api/connectors/:connectorId/test", management, s.handleConnectorTest)

		// verification codes (verification_codes.go)
		t("POST", "/api/verification-codes", management, s.handleVerificationCodeCreate)
		t("POST", "/api/verification-codes/verify", management, s.handleVerificationCodeVerify)

		// API clients (api_clients.go)
		t("GET", "/api/api-clients", management, s.handleAPIClientList)
		t("POST", "/api/api-clients", management, s.handleAPIClientCreate)
		t("GET", "/api/api-clients/:clientId", management, s.handleAPIClientGet)
		t("PATCH", "/api/api-clients/:clientId", management, s.handleAPIClientUpdate)
		t("DELETE", "/api/api-clients/:clientId", management, s.handleAPIClientDelete)
		t("POST", "/api/api-clients/:clientId/secret", management, s.handleAPIClientSecret)
		t("POST", "/api/api-clients/:clientId/disable", management, s.apiClientDisabledHandler(true))
		t("POST", "/api/api-clients/:clientId/enable", management, s.apiClientDisabledHandler(false))

		// managers (managers.go, permissions.go)
		t("GET", "/api/managers", management, s.managerListHandler(tenantManagers))
		t("POST", "/api/managers", management, s.managerSetHandler(tenantManagers))
		t("DELETE", "/api/managers/:userId", management, s.managerRemoveHandler(tenantManagers))
		t("GET", "/api/organizations/:organizationId/managers", allow(organizationManager(read)), s.managerListHandler(organizationManagers))
		t("POST", "/api/organizations/:organizationId/managers", allow(organizationManager(write)), s.managerSetHandler(organizationManagers))
		t("DELETE", "/api/organizations/:organizationId/managers/:userId", allow(organizationManager(write)), s.managerRemoveHandler(organizationManagers))
		t("GET", "/api/resources/:resourceId/managers", allow(resourceManager(read)), s.managerListHandler(resourceManagers))
		t("POST", "/api/resources/:resourceId/managers", allow(resourceManagerSet), s.managerSetHandler(resourceManagers))
		t("DELETE", "/api/resources/:resourceId/managers/:userId", allow(resourceManagerRemove), s.managerRemoveHandler(resourceManagers))

		// webhooks (hooks.go, hooks_delivery.go)
		t("GET", "/api/hooks", management, s.handleHookList)
		t("POST", "/api/hooks", management, s.handleHookCreate)
		t("GET", "/api/hooks/:id", management, s.handleHookGet)
		t("PATCH", "/api/hooks/:id", management, s.handleHookUpdate)
		t("DELETE", "/api/hooks/:id", management, s.handleHookDelete)
		t("GET", "/api/hooks/:id/recent-logs", management, s.handleHookRecentLogs)
		t("PATCH", "/api/hooks/:id/signing-key", management, s.handleHookSigningKey)
		t("POST", "/api/hooks/:id/test", management, s.handleHookTest)

		t("GET", "/api/logs", management, s.handleLogList)
		t("GET", "/api/logs/:id", management, s.handleLogGet)

		t("GET", "/api/configs/oidc/:keyType", allow(tenantAccess(write)), s.handleOIDCKeysGet) // not for viewers
		t("POST", "/api/configs/oidc/:keyType/rotate", management, s.handleOIDCKeysRotate)
		t("DELETE", "/api/configs/oidc/:keyType/:keyId", management, s.handleOIDCKeyDelete)

		// custom JWT claims (configs_jwt_customizer.go): the answers show the
		// scripts' environment variables, so not for viewers either
		t("GET", "/api/configs/jwt-customizer", allow(tenantAccess(write)), s.handleJWTCustomizerList)
		t("GET", "/api/configs/jwt-customizer/:tokenTypePath", allow(tenantAccess(write)), s.handleJWTCustomizerGet)
		t("PUT", "/api/configs/jwt-customizer/:tokenTypePath", management, s.handleJWTCustomizerPut)
		t("PATCH", "/api/configs/jwt-customizer/:tokenTypePath", management, s.handleJWTCustomizerPatch)
		t("DELETE", "/api/configs/jwt-customizer/:tokenTypePath", management, s.handleJWTCustomizerDelete)
		t("POST", "/api/configs/jwt-customizer/test", management, s.handleJWTCustomizerTest)
	}

	// RFC 8414 section 3 puts the well-known segment before the issuer's
	// path ({base}/oidc, {base}/t/T/oidc); some clients do the same with
	// OpenID Connect's name.
	for _, wellKnown := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		s.handle("GET", "", wellKnown+"/oidc", public, s.oidc(s.auth.HandleDiscovery))
		s.handle("GET", "", wellKnown+"/t/:tenant/oidc", public, s.oidc(s.auth.HandleDiscovery))
	}

	s.handle("GET", "", "/system/tenants", system, s.handleTenantList)
	s.handle("POST", "", "/system/tenants", system, s.handleTenantCreate)
	s.handle("GET", "", "/system/tenants/:id", system, s.handleTenantGet)
	s.handle("PATCH", "", "/system/tenants/:id", system, s.handleTenantUpdate)
	s.handle("DELETE", "", "/system/tenants/:id", system, s.handleTenantDelete)
	s.handle("GET", "", "/system/backup", system, s.handleBackup)
	s.handle("GET", "", "/system/admins", system, s.handleSystemAdminList)
	s.handle("POST", "", "/system/admins", system, s.handleSystemAdminCreate)
	s.handle("DELETE", "", "/system/admins/:applicationId", system, s.handleSystemAdminDelete)
	s.handle("GET", "", "/system/cluster", system, s.handleClusterGet)
	s.handle("POST", "", "/system/cluster/nodes", system, s.handleClusterNodeAdd)
	s.handle("DELETE", "", "/system/cluster/nodes/:id", system, s.handleClusterNodeDelete)
}

// handle registers h at prefix+path behind the middleware, in this order:
// observe (request id, log line, metrics), resolve the tenant (404 when
// unknown), the source address's failure budget, authentication and scope
// all (or, for the Management API, manager roles that allow the route), the
// tenant's rate limit, handler.
//
// Only authenticated callers spend the tenant's budget, so anonymous clients
// cannot lock a tenant out. A failed authentication spends the budget of its
// source address instead, which is checked (a map lookup) before any
// signature is, so a flood of bad tokens costs little; a token this server
// has verified before passes even when its address is throttled. The token
// endpoint authenticates inside its handler: a token issued is charged to
// the tenant, a failed request to the source address (tokenCharge).
func (s *Server) handle(method, prefix, path string, acc access, h handler) {
	e := &endpoint{path: path, token: acc.token, policy: acc.policy, handler: h}
	if e.policy == nil && method == http.MethodGet {
		e.policy = tenantAccess(read)
	} else if e.policy == nil {
		e.policy = tenantAccess(write)
	}
	s.registered = append(s.registered, registration{method: method, prefix: prefix, path: path, token: acc.token})
	s.router.Handle(method, prefix+path, func(w http.ResponseWriter, hr *http.Request, ps httprouter.Params) {
		s.serveObserved(w, hr, path, func(w http.ResponseWriter, hr *http.Request, info *requestInfo) {
			s.serve(w, hr, ps, info, e)
		})
	})
}

// endpoint is a route as serve runs it.
type endpoint struct {
	path    string // the pattern without the tenant prefix: the metrics label
	token   token
	policy  policy // the route's, or tenant access by method
	handler handler
}

// serve runs the middleware of handle after observe, and then the
// endpoint's handler with the request value it resolved.
func (s *Server) serve(w http.ResponseWriter, hr *http.Request, ps httprouter.Params, info *requestInfo, e *endpoint) {
	route, tok := e.path, e.token
	tokenEndpoint := isTokenEndpoint(route)
	r := &request{Request: hr, params: ps}
	if s.clusterGate(w, r, e) {
		return
	}
	hr = r.Request
	tenant := ps.ByName("tenant")
	if tenant == "" {
		tenant = store.DefaultTenant
	}
	if tok == systemToken {
		info.tenant = "-"
	} else {
		ok, err := s.store.TenantExists(hr.Context(), tenant)
		if err != nil {
			s.writeError(w, r, err)
			return
		} else if !ok {
			s.writeError(w, r, &store.Error{Code: store.ENOTFOUND, Detail: "tenant.not_found",
				Message: fmt.Sprintf("Tenant %q does not exist.", tenant)})
			return
		}
		info.tenant = tenant
	}
	r.tenant = tenant
	var source string
	if tokenEndpoint || tok != noToken {
		source = limits.SourceKey(auth.ClientIP(hr))
	}
	if tokenEndpoint {
		if !s.peekLimit(w, r, route) {
			return
		}
		charge := &tokenCharge{ResponseWriter: w, server: s, tenant: tenant, source: source}
		if d, spent := s.sourceSpent(source); spent {
			// A right client secret still gets its token: the address may
			// be a NAT shared with a flood. auth refuses the rest.
			r.Request = hr.WithContext(auth.WithSourceThrottled(hr.Context(), d.RetryAfter))
			charge.throttledRoute = route
		}
		w = charge
	}
	if tok != noToken {
		authTenant, audience := tenant, store.ManagementIndicator(tenant)
		if tok == systemToken {
			authTenant, audience = store.DefaultTenant, store.SystemIndicator
		}
		// A token verified before passes a throttled address: it may
		// share the address (a NAT) with the flood. A console session
		// was checked by the console already (console.go).
		cc := consoleCallerFrom(hr.Context())
		if d, spent := s.sourceSpent(source); spent && cc == nil && !s.auth.Verified(hr, authTenant, audience) {
			s.refuseSource(w, r, route, d)
			return
		}
		var p *auth.Principal
		var err error
		if cc != nil {
			p, err = consoleAuthenticate(cc, authTenant, audience)
		} else {
			p, err = s.auth.Authenticate(hr.Context(), hr, authTenant, audience)
		}
		if err != nil {
			if store.ErrorCode(err) == store.EUNAUTHORIZED {
				s.sources.Allow(source)
			}
			s.writeError(w, r, err)
			return
		}
		if tok == managementToken && !s.limit(w, r, route) {
			return
		}
		if !p.HasScope(store.ManagementScope) {
			if tok == systemToken {
				s.writeError(w, r, &store.Error{Code: store.EFORBIDDEN, Detail: "auth.forbidden",
					Message: "Forbidden. Please check your user roles and permissions."})
				return
			}
			if r.managers, err = s.authorizeManager(r, e.policy, p.ClientID); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		r.principal = p
		actor := store.Actor{ApplicationID: p.ClientID, IP: auth.ClientIP(hr), UserAgent: hr.UserAgent(), Hook: hookRequest(r, e)}
		if cc != nil {
			actor.UserID = cc.session.UserID // a person signed in with a password: the audit names them
		}
		r.Request = r.WithContext(store.NewContextWithActor(r.Context(), actor))
	}
	if err := e.handler(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

// oidc adapts an auth handler, which writes its own RFC 6749 responses.
func (s *Server) oidc(h func(http.ResponseWriter, *http.Request, string)) handler {
	return func(w http.ResponseWriter, r *request) error {
		h(w, r.Request, r.tenant)
		return nil
	}
}

// handleStatus is the unauthenticated liveness check, as Logto's.
func (s *Server) handleStatus(w http.ResponseWriter, _ *request) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleReady is the readiness check: 204 only if the data file takes a
// synced write and, in cluster mode, the node has a leader and has caught
// up.
func (s *Server) handleReady(w http.ResponseWriter, r *request) error {
	if s.cluster != nil && !s.cluster.Ready() {
		s.writeJSON(w, r, http.StatusServiceUnavailable, errorBody{Code: "status.not_ready",
			Message: "This node has no cluster leader or has not caught up with it."})
		return nil
	}
	if err := s.store.Ping(r.Context()); err != nil {
		// The store logs the start and end of a disk-full episode once;
		// probes come every few seconds.
		msg := "The data file is not writable."
		if store.ErrorCode(err) == store.EINSUFFICIENTSTORAGE {
			msg = "The disk of the data file is full."
		} else {
			s.logger.ErrorContext(r.Context(), "readiness check failed", "err", err)
		}
		s.writeJSON(w, r, http.StatusServiceUnavailable, errorBody{Code: "status.not_ready", Message: msg})
		return nil
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleLeader answers 204 while this node leads the cluster and is ready
// (a server without cluster mode always leads), and 503 otherwise. A load
// balancer that sends writes to the node answering 204 spares followers
// the forwarding hop, as Vault's active-node health check does; writes
// that reach a follower are still forwarded.
func (s *Server) handleLeader(w http.ResponseWriter, r *request) error {
	if s.cluster != nil && !(s.cluster.Leader() && s.cluster.Ready()) {
		s.writeJSON(w, r, http.StatusServiceUnavailable, errorBody{Code: "cluster.not_leader",
			Message: "This node does not lead the cluster; any node forwards writes to the one that does."})
		return nil
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleBackup sends a consistent copy of the data file. The copy is taken
// to a temporary file first, so the download holds no read transaction, and
// a download that makes no progress for backupStallTimeout is cut, so a
// stalled client does not keep the connection and the file forever.
func (s *Server) handleBackup(w http.ResponseWriter, r *request) error {
	snap, err := s.store.Snapshot(r.Context())
	if err != nil {
		return err
	}
	defer snap.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="idbolt-backup.db"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.FormatInt(snap.Size, 10))
	out := &progressDeadline{w: w, rc: http.NewResponseController(w), stall: s.backupStallTimeout}
	n, err := io.Copy(out, snap)
	out.rc.SetWriteDeadline(time.Time{}) // the connection may serve further requests
	if out.deadlineErr != nil {
		s.logger.WarnContext(r.Context(), "backup download without a stall deadline", "err", out.deadlineErr)
	}
	if err != nil {
		// The status is already sent; the client gets a file shorter than
		// its Content-Length, which the backup command's check catches.
		s.logger.WarnContext(r.Context(), "backup download cut", "written", n, "size", snap.Size, "err", err)
	}
	return nil
}

// progressDeadline moves the connection's write deadline stall ahead before
// each write, so only a reader that takes no data for stall is cut.
type progressDeadline struct {
	w     io.Writer
	rc    *http.ResponseController
	stall time.Duration
	// deadlineErr is set when the connection does not support deadlines,
	// so a stalled download is not cut.
	deadlineErr error
}

func (p *progressDeadline) Write(b []byte) (int, error) {
	if err := p.rc.SetWriteDeadline(time.Now().Add(p.stall)); err != nil && p.deadlineErr == nil {
		p.deadlineErr = err
	}
	return p.w.Write(b)
}

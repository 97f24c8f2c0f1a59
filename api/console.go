package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/idbolt/idbolt/api/console"
	"github.com/idbolt/idbolt/auth"
	"github.com/idbolt/idbolt/limits"
	"github.com/idbolt/idbolt/store"
	"github.com/idbolt/idbolt/store/cluster"
)

// The admin console (api/console/ holds its files) is served beside the
// router rather than through handle: its paths are not part of the
// Management API, the OpenAPI document does not list them, and a
// catch-all under /console would clash with the router's own routes.
//
//   - GET, HEAD /console and /console/...: the console's files and pages.
//   - POST /console/session: sign in, with {clientId, clientSecret} or
//     {username, password} (and optionally {tenant}); sets the session
//     cookie and answers the CSRF token.
//   - GET /console/session: who is signed in, and the CSRF token.
//   - DELETE /console/session: sign out.
//   - /console/api/...: the Management API of the session's tenant, as
//     /api/... (or /t/{tenant}/api/...), run by the same route handlers
//     with the session standing in for a bearer token (serve).
//   - /console/system/...: the system API, as /system/..., for the session
//     of an instance administrator only (a client of tenant default listed
//     in system_admins, checked at every request); 403 for any other.
//
// A state-changing request (anything but GET and HEAD) must come from the
// console's own origin (Origin and Sec-Fetch-Site) and, once signed in,
// carry the session's CSRF token in X-CSRF-Token; otherwise it is refused
// with 403. Sign-in failures spend the source address's failure budget,
// as bad tokens do, and every sign-in and sign-out is audited.

// consoleCookie is the name of the session cookie.
const consoleCookie = "idbolt_console"

// consoleCSRFHeader carries the CSRF token of a state-changing request.
const consoleCSRFHeader = "X-CSRF-Token"

// The audit log keys of the console, in Logto's style.
const (
	auditConsoleSignInSecret   = "ConsoleSignIn.ClientSecret"
	auditConsoleSignInPassword = "ConsoleSignIn.Password"
	auditConsoleSignOut        = "ConsoleSignOut"
)

// consoleSecurityHeaders are set on every answer under /console.
var consoleSecurityHeaders = [][2]string{
	{"Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "no-referrer"},
	{"X-Frame-Options", "DENY"},
}

// consoleCaller is a signed-in console session, in the context of a
// request the console hands to a Management API route.
type consoleCaller struct {
	tenant  string
	session *store.ConsoleSession
	// instanceAdmin is set by serveConsoleAPI for a request to the system
	// API, once it has checked that the session's client is an instance
	// administrator now.
	instanceAdmin bool
}

type consoleCallerKey struct{}

// consoleCallerFrom returns the console session a request runs for, or nil
// for every request that did not come through /console/api. Only
// serveConsoleAPI sets it, on a request it builds itself.
func consoleCallerFrom(ctx context.Context) *consoleCaller {
	c, _ := ctx.Value(consoleCallerKey{}).(*consoleCaller)
	return c
}

// principal is the caller as a bearer token would give it: a client's
// scopes, or a user with none, whose manager roles authorizeManager reads.
func (c *consoleCaller) principal() *auth.Principal {
	p := &auth.Principal{Tenant: c.tenant, ClientID: c.session.ClientID, Subject: c.session.ClientID,
		Audience: store.ManagementIndicator(c.tenant), Scopes: c.session.Scopes, IssuedAt: c.session.CreatedAt}
	if c.session.UserID != "" {
		p.Subject = c.session.UserID
	}
	return p
}

// withConsole serves /console beside next, and sends / to the console.
func (s *Server) withConsole(next http.Handler) http.Handler {
	files, err := console.New()
	if err != nil {
		// The files are embedded: a failure is a broken build, which the
		// tests catch.
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			http.Redirect(w, r, console.Prefix, http.StatusFound)
			return
		}
		if p != console.Prefix && !strings.HasPrefix(p, console.Prefix+"/") {
			next.ServeHTTP(w, r)
			return
		}
		for _, h := range consoleSecurityHeaders {
			w.Header().Set(h[0], h[1])
		}
		if s.consoleForward(w, r) {
			return
		}
		switch {
		case p == console.Prefix+"/session":
			s.serveObserved(w, r, p, func(w http.ResponseWriter, hr *http.Request, info *requestInfo) {
				s.serveConsoleSession(w, &request{Request: hr, tenant: store.DefaultTenant}, info)
			})
		case strings.HasPrefix(p, console.Prefix+"/api/") || strings.HasPrefix(p, console.Prefix+"/system/"):
			s.serveConsoleAPI(w, r, next)
		default:
			s.serveObserved(w, r, console.Prefix, func(w http.ResponseWriter, hr *http.Request, _ *requestInfo) {
				files.ServeHTTP(w, hr)
			})
		}
	})
}

// consoleForward hands a request of the console's session or API to the
// leader when this node is a follower in cluster mode, and reports whether
// it did (and answered). Every such request may write (a sign-in, a
// sign-out, a session's last-seen time, the Management API call itself),
// and only the leader writes; the leader sees the request as the browser
// sent it, cookie and CSRF token included, and the session, replicated like
// any record, is there. The files are served here.
func (s *Server) consoleForward(w http.ResponseWriter, r *http.Request) bool {
	p := r.URL.Path
	if s.cluster == nil || s.cluster.Leader() || cluster.Forwarded(r.Context()) ||
		p != console.Prefix+"/session" && !strings.HasPrefix(p, console.Prefix+"/api/") &&
			!strings.HasPrefix(p, console.Prefix+"/system/") {
		return false
	}
	if err := s.cluster.Forward(w, r); err != nil {
		s.writeError(w, &request{Request: r, tenant: store.DefaultTenant}, err)
	}
	return true
}

// consoleSignIn is the body of POST /console/session.
type consoleSignIn struct {
	Tenant       string `json:"tenant"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	Username     string `json:"username"`
	Password     string `json:"password"`
}

// consoleSessionResponse describes a signed-in session.
type consoleSessionResponse struct {
	Tenant    string `json:"tenant"`
	ClientID  string `json:"clientId,omitempty"`
	UserID    string `json:"userId,omitempty"`
	CSRFToken string `json:"csrfToken"`
	// IdleTimeout is how long the session lives without a request, in
	// seconds.
	IdleTimeout int `json:"idleTimeout"`
	// InstanceAdmin says that the session may call the system API through
	// /console/system; the console shows its pages only then. The server
	// checks again at every such request.
	InstanceAdmin bool `json:"instanceAdmin"`
}

// serveConsoleSession serves /console/session.
func (s *Server) serveConsoleSession(w http.ResponseWriter, r *request, info *requestInfo) {
	var err error
	switch r.Method {
	case http.MethodPost:
		err = s.consoleSignIn(w, r, info)
	case http.MethodGet:
		var c *consoleCaller
		var id string
		if c, id, err = s.consoleSession(r); err == nil {
			info.tenant = c.tenant
			s.writeConsoleSession(w, r, http.StatusOK, c, id)
		}
	case http.MethodDelete:
		err = s.consoleSignOut(w, r, info)
	default:
		w.Header().Set("Allow", "DELETE, GET, POST")
		s.writeJSON(w, r, http.StatusMethodNotAllowed, errorBody{Code: "guard.method_not_allowed",
			Message: "Method " + r.Method + " is not allowed here; allowed: DELETE, GET, POST."})
		return
	}
	if err != nil {
		s.writeError(w, r, err)
	}
}

// errConsoleCrossSite refuses a state-changing request from another site.
var errConsoleCrossSite = &store.Error{Code: store.EFORBIDDEN, Detail: "auth.forbidden",
	Message: "The console refuses state-changing requests from another origin."}

// errConsoleCSRF refuses a state-changing request without the session's
// CSRF token.
var errConsoleCSRF = &store.Error{Code: store.EFORBIDDEN, Detail: "auth.forbidden",
	Message: "The request lacks the session's " + consoleCSRFHeader + " header."}

// errConsoleSignIn is the one answer to every failed sign-in, so that it
// tells nothing about which part was wrong.
var errConsoleSignIn = &store.Error{Code: store.EUNAUTHORIZED, Detail: "session.invalid_credentials",
	Message: "Wrong credentials, or they do not hold the Management API role or manager roles."}

// consoleSignIn serves POST /console/session.
func (s *Server) consoleSignIn(w http.ResponseWriter, r *request, info *requestInfo) error {
	if !s.consoleSameOrigin(r.Request) {
		return errConsoleCrossSite
	}
	source := limits.SourceKey(auth.ClientIP(r.Request))
	if d, spent := s.sourceSpent(source); spent {
		s.refuseSource(w, r, console.Prefix+"/session", d)
		return nil
	}
	var in consoleSignIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	tenant := in.Tenant
	if tenant == "" {
		tenant = store.DefaultTenant
	}
	ok, err := s.store.TenantExists(r.Context(), tenant)
	if err != nil {
		return err
	} else if !ok {
		s.sources.Allow(source)
		return errConsoleSignIn
	}
	info.tenant, r.tenant = tenant, tenant
	byPassword := in.Username != "" || in.Password != ""
	key := auditConsoleSignInSecret
	if byPassword {
		key = auditConsoleSignInPassword
	}
	sess, err := s.consoleCredentials(r.Context(), tenant, in, byPassword)
	// A failure is anonymous: what it brings is cut, and the failure
	// budget bounds how many entries one address adds.
	audit := store.AuditPayload{Key: key, Result: "Success", IP: auth.ClientIP(r.Request),
		UserAgent: clipAudit(r.UserAgent()), ApplicationID: clipAudit(in.ClientID), UserID: sess.UserID}
	if err != nil {
		if code := store.ErrorCode(err); code == store.EINTERNAL || code == store.ETOOMANYREQUESTS {
			return err // not the caller's fault: no failure to count
		}
		s.sources.Allow(source)
		audit.Result = "Error"
		audit.Error = map[string]string{"message": store.ErrorMessage(err)}
		s.store.AuditAsync(tenant, audit)
		return errConsoleSignIn
	}
	now := s.now()
	id, err := s.store.CreateConsoleSession(r.Context(), tenant, sess, now, store.DefaultConsoleSessionLimits)
	if err != nil {
		return err
	}
	s.store.AuditAsync(tenant, audit)
	sess.CreatedAt, sess.LastSeenAt = now, now
	http.SetCookie(w, &http.Cookie{Name: consoleCookie, Value: tenant + "." + id, Path: console.Prefix,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.consoleSecure(r.Request)})
	s.writeConsoleSession(w, r, http.StatusCreated, &consoleCaller{tenant: tenant, session: &sess}, id)
	return nil
}

// consoleCredentials checks a sign-in's credentials and returns the
// session they open. A client signs in as the token endpoint authenticates
// it, asking for the Management API's scope all; without it, the client's
// user must hold manager roles. A user signs in with the password the
// Management API verifies, and must hold manager roles and not be
// suspended. Any refusal is an error other than EINTERNAL.
func (s *Server) consoleCredentials(ctx context.Context, tenant string, in consoleSignIn, byPassword bool) (store.ConsoleSession, error) {
	if byPassword {
		if in.Username == "" || in.Password == "" || in.ClientID != "" || in.ClientSecret != "" {
			return store.ConsoleSession{}, store.Errorf(store.EINVALID, "Give a username and a password.")
		}
		u, err := s.store.VerifyUsernamePassword(ctx, tenant, in.Username, in.Password)
		if err != nil {
			if u != nil {
				return store.ConsoleSession{UserID: u.ID}, err
			}
			return store.ConsoleSession{}, err
		}
		if u.IsSuspended {
			return store.ConsoleSession{UserID: u.ID}, store.Errorf(store.EFORBIDDEN, "The user is suspended.")
		}
		a, err := s.store.FindUserManagerAccess(ctx, tenant, u.ID)
		if err != nil {
			return store.ConsoleSession{}, err
		} else if !a.Any() {
			return store.ConsoleSession{UserID: u.ID}, store.Errorf(store.EFORBIDDEN, "The user holds no manager roles.")
		}
		return store.ConsoleSession{UserID: u.ID}, nil
	}
	if in.ClientID == "" || in.ClientSecret == "" {
		return store.ConsoleSession{}, store.Errorf(store.EINVALID, "Give a client id and a client secret.")
	}
	g, err := s.store.GrantClientCredentials(ctx, tenant, store.ClientGrantRequest{ClientID: in.ClientID,
		Secret: in.ClientSecret, Resource: store.ManagementIndicator(tenant), Scopes: []string{store.ManagementScope}})
	if err != nil {
		return store.ConsoleSession{}, err
	}
	if !slices.Contains(g.Scopes, store.ManagementScope) {
		a, err := s.store.FindManagerAccess(ctx, tenant, in.ClientID)
		if err != nil {
			return store.ConsoleSession{}, err
		} else if !a.Any() {
			return store.ConsoleSession{}, store.Errorf(store.EFORBIDDEN, "The client holds neither scope all nor manager roles.")
		}
	}
	return store.ConsoleSession{ClientID: in.ClientID, Scopes: g.Scopes}, nil
}

// consoleSignOut serves DELETE /console/session.
func (s *Server) consoleSignOut(w http.ResponseWriter, r *request, info *requestInfo) error {
	c, id, err := s.consoleSession(r)
	if err != nil {
		return err
	}
	info.tenant, r.tenant = c.tenant, c.tenant
	if err := s.consoleCheckWrite(r.Request, id); err != nil {
		return err
	}
	if err := s.store.DeleteConsoleSession(r.Context(), c.tenant, id); err != nil {
		return err
	}
	s.store.AuditAsync(c.tenant, store.AuditPayload{Key: auditConsoleSignOut, Result: "Success", IP: auth.ClientIP(r.Request),
		UserAgent: r.UserAgent(), ApplicationID: c.session.ClientID, UserID: c.session.UserID})
	http.SetCookie(w, &http.Cookie{Name: consoleCookie, Value: "", Path: console.Prefix, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.consoleSecure(r.Request)})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// consoleSession returns the live session of r's cookie and its id.
// Returns EUNAUTHORIZED (auth.unauthorized) when there is none, and spends
// the source address's failure budget for a cookie that names no live
// session.
func (s *Server) consoleSession(r *request) (*consoleCaller, string, error) {
	ck, err := r.Cookie(consoleCookie)
	if err != nil {
		return nil, "", &store.Error{Code: store.EUNAUTHORIZED, Detail: "auth.unauthorized", Message: "Not signed in to the console."}
	}
	tenant, id, ok := parseConsoleCookie(ck.Value)
	var c *consoleCaller
	if ok {
		c, err = s.consoleTouch(r.Context(), tenant, id)
	} else {
		err = &store.Error{Code: store.EUNAUTHORIZED, Detail: "auth.unauthorized", Message: "The console session is malformed."}
	}
	if err != nil {
		if code := store.ErrorCode(err); code == store.EUNAUTHORIZED || code == store.ENOTFOUND {
			s.sources.Allow(limits.SourceKey(auth.ClientIP(r.Request)))
			return nil, "", &store.Error{Code: store.EUNAUTHORIZED, Detail: "auth.unauthorized", Message: store.ErrorMessage(err)}
		}
		return nil, "", err
	}
	return c, id, nil
}

// parseConsoleCookie splits the session cookie's value, "<tenant>.<id>":
// the id is base64url, without a dot, so the last dot ends the tenant id.
// Both parts must be non-empty.
func parseConsoleCookie(v string) (tenant, id string, ok bool) {
	dot := strings.LastIndexByte(v, '.')
	if dot <= 0 || dot == len(v)-1 {
		return "", "", false
	}
	return v[:dot], v[dot+1:], true
}

// consoleTouch returns tenant's live session id, ending a client's
// session whose client is gone or disabled as its tokens are.
func (s *Server) consoleTouch(ctx context.Context, tenant, id string) (*consoleCaller, error) {
	sess, err := s.store.TouchConsoleSession(ctx, tenant, id, s.now(), store.DefaultConsoleSessionLimits)
	if err != nil {
		return nil, err
	}
	if sess.ClientID != "" {
		active, err := s.store.ClientActive(ctx, tenant, sess.ClientID, sess.CreatedAt)
		if err != nil {
			return nil, err
		} else if !active {
			if err := s.store.DeleteConsoleSession(ctx, tenant, id); err != nil {
				return nil, err
			}
			return nil, &store.Error{Code: store.EUNAUTHORIZED, Detail: "auth.unauthorized",
				Message: "The session's client no longer exists or is disabled."}
		}
	}
	return &consoleCaller{tenant: tenant, session: sess}, nil
}

// writeConsoleSession answers a session's description.
func (s *Server) writeConsoleSession(w http.ResponseWriter, r *request, status int, c *consoleCaller, id string) {
	admin, err := s.consoleInstanceAdmin(r.Context(), c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, r, status, consoleSessionResponse{Tenant: c.tenant, ClientID: c.session.ClientID, UserID: c.session.UserID,
		CSRFToken: consoleCSRFToken(id), IdleTimeout: int(store.DefaultConsoleSessionLimits.Idle / time.Second),
		InstanceAdmin: admin})
}

// consoleInstanceAdmin reports whether session c's caller is an instance
// administrator now: a client of tenant default (never a user signed in by
// password) listed in system_admins, as a system token's client must be.
func (s *Server) consoleInstanceAdmin(ctx context.Context, c *consoleCaller) (bool, error) {
	if c.tenant != store.DefaultTenant || c.session.ClientID == "" {
		return false, nil
	}
	return s.store.SystemAdminActive(ctx, c.session.ClientID, c.session.CreatedAt)
}

// errConsoleNotInstanceAdmin refuses the system API to a session that is
// not an instance administrator's.
var errConsoleNotInstanceAdmin = &store.Error{Code: store.EFORBIDDEN, Detail: "auth.forbidden",
	Message: "Only an instance administrator's console session may call the system API."}

// consoleCSRFToken is the CSRF token of session id: an HMAC of a fixed
// label under the session id, so that it needs no storage, changes with
// every sign-in, and cannot be made without the session id, which the
// page's scripts never see (the cookie is HttpOnly).
func consoleCSRFToken(id string) string {
	m := hmac.New(sha256.New, []byte(id))
	m.Write([]byte("idbolt console csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// consoleCheckWrite refuses a state-changing request that comes from
// another origin or lacks session id's CSRF token. GET and HEAD pass.
func (s *Server) consoleCheckWrite(r *http.Request, id string) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	if !s.consoleSameOrigin(r) {
		return errConsoleCrossSite
	}
	got := r.Header.Get(consoleCSRFHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(consoleCSRFToken(id))) != 1 {
		return errConsoleCSRF
	}
	return nil
}

// consoleSameOrigin reports whether r may come from the console's own
// page: a browser says where a request comes from (Sec-Fetch-Site, Origin),
// and another site is refused; a request without either header is not a
// browser's, and the CSRF token still guards it.
func (s *Server) consoleSameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	scheme := "http"
	if s.consoleSecure(r) {
		scheme = "https"
	}
	if origin == scheme+"://"+r.Host {
		return true
	}
	if u, err := url.Parse(s.baseURL); err == nil && u.Host != "" && origin == u.Scheme+"://"+u.Host {
		return true
	}
	return false
}

// consoleSecure reports whether the console's cookie is Secure: the
// request came over TLS, or the public URL is https (TLS ends at a proxy).
func (s *Server) consoleSecure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(s.baseURL, "https://")
}

// serveConsoleAPI serves /console/api/... and /console/system/...: it
// checks the session, and for a state-changing request its origin and CSRF
// token, then runs the Management API route of the same path under /api (of
// the session's tenant), or the system API route under /system for an
// instance administrator's session, through the router, as its bearer
// token's request would be, with the session as the caller (serve). The
// cookie and any Authorization header are dropped from the request it
// builds.
func (s *Server) serveConsoleAPI(w http.ResponseWriter, hr *http.Request, router http.Handler) {
	r := &request{Request: hr, tenant: store.DefaultTenant}
	// The API a path names is fixed by its raw prefix, so that no
	// spelling (/console/api/../system/...) reaches another one.
	api := "/api/"
	if strings.HasPrefix(hr.URL.Path, console.Prefix+"/system/") {
		api = "/system/"
	}
	fail := func(err error) {
		s.serveObserved(w, hr, console.Prefix+strings.TrimSuffix(api, "/"), func(w http.ResponseWriter, _ *http.Request, info *requestInfo) {
			info.tenant = r.tenant
			s.writeError(w, r, err)
		})
	}
	// Another site's write is refused before its cookie is even read.
	if hr.Method != http.MethodGet && hr.Method != http.MethodHead && !s.consoleSameOrigin(hr) {
		fail(errConsoleCrossSite)
		return
	}
	c, id, err := s.consoleSession(r)
	if err != nil {
		fail(err)
		return
	}
	r.tenant = c.tenant
	if err := s.consoleCheckWrite(hr, id); err != nil {
		fail(err)
		return
	}
	target := path.Clean(strings.TrimPrefix(hr.URL.Path, console.Prefix))
	if !strings.HasPrefix(target, api) {
		fail(&store.Error{Code: store.ENOTFOUND, Detail: "guard.route_not_found", Message: "No such console API path."})
		return
	}
	if api == "/system/" {
		// Checked at every request, so that removing an administrator
		// ends its session's power at once, as it ends its tokens'.
		admin, err := s.consoleInstanceAdmin(hr.Context(), c)
		if err != nil {
			fail(err)
			return
		} else if !admin {
			fail(errConsoleNotInstanceAdmin)
			return
		}
		c.instanceAdmin = true
	} else {
		target = auth.TenantPrefix(c.tenant) + target
	}
	out := hr.Clone(context.WithValue(hr.Context(), consoleCallerKey{}, c))
	out.URL.Path, out.URL.RawPath, out.RequestURI = target, "", ""
	out.Header.Del("Authorization")
	out.Header.Del("Cookie")
	router.ServeHTTP(w, out)
}

// consoleAuthenticate is authentication for a request the console runs
// (consoleCallerFrom): the session's caller, for the Management API of the
// session's own tenant, or for the system API when serveConsoleAPI found
// the session an instance administrator's (with scope all, as its system
// token would have).
func consoleAuthenticate(c *consoleCaller, tenant, audience string) (*auth.Principal, error) {
	if audience == store.SystemIndicator && tenant == store.DefaultTenant && c.instanceAdmin {
		p := c.principal()
		p.Audience, p.Scopes = store.SystemIndicator, []string{store.ManagementScope}
		return p, nil
	}
	if c.tenant != tenant || audience != store.ManagementIndicator(tenant) {
		return nil, &store.Error{Code: store.EUNAUTHORIZED, Detail: "auth.unauthorized",
			Message: "A console session calls only its own tenant's Management API."}
	}
	return c.principal(), nil
}

// consoleManagerAccess returns the manager roles of a console session
// signed in by a user's password, and false for any other caller.
func (s *Server) consoleManagerAccess(r *request) (*store.ManagerAccess, bool, error) {
	c := consoleCallerFrom(r.Context())
	if c == nil || c.session.UserID == "" {
		return nil, false, nil
	}
	a, err := s.store.FindUserManagerAccess(r.Context(), r.tenant, c.session.UserID)
	return a, true, err
}

// maxConsoleAuditValue bounds each value a sign-in's audit entry takes from
// the request, in bytes.
const maxConsoleAuditValue = 128

// clipAudit cuts s to maxConsoleAuditValue bytes at a rune boundary.
func clipAudit(s string) string {
	if len(s) <= maxConsoleAuditValue {
		return s
	}
	return strings.ToValidUTF8(s[:maxConsoleAuditValue], "")
}

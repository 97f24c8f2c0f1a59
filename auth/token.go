package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idbolt/idbolt/auth/jwtcustom"
	"github.com/idbolt/idbolt/limits"
	"github.com/idbolt/idbolt/store"
)

// maxClientIDKey is how much of a client id goes into a failure budget's
// key: longer ids exist nowhere, and an attacker must not make keys large.
const maxClientIDKey = 128

// MaxTokenRequest bounds the token request body; real requests are < 1 KiB.
const MaxTokenRequest = 64 << 10

// tokenRequest is a parsed token request. Every parameter appeared at most once.
type tokenRequest struct {
	GrantType    string
	ClientID     string
	ClientSecret string
	Basic        bool // client authenticated with HTTP Basic
	Resource     string
	Scopes       []string // nil when scope was not sent
	Form         url.Values
	// UserID is the user a granted token acts as, for the audit entry,
	// which is what counts the user active (store.CountActiveUsers), and
	// ActorUserID the user acting for them (a token exchange's actor token).
	UserID, ActorUserID string
}

// tokenResponse is the RFC 6749 section 5.1 success body.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
	// userID is the token's user, for a grant that acts as one, and
	// actorID the user acting for them; not sent.
	userID, actorID string
}

// grant handles one grant_type. It returns an *oauthError or a store error.
type grant func(ctx context.Context, tenant string, req *tokenRequest) (*tokenResponse, error)

// throttledKey is the context key of a token request whose source address
// has spent its budget of failed requests (WithSourceThrottled).
type throttledKey struct{}

// WithSourceThrottled returns ctx marking a token request whose source
// address has spent its budget of failed requests until retryAfter from
// now. HandleToken then still checks a client secret (an HMAC and a read,
// cheap), so that a client sharing the address with a flood (a NAT) gets
// its token, but refuses every other grant (signature checks) with 429.
func WithSourceThrottled(ctx context.Context, retryAfter time.Duration) context.Context {
	return context.WithValue(ctx, throttledKey{}, retryAfter)
}

// HandleToken serves POST {issuer}/token for tenant.
func (a *Auth) HandleToken(w http.ResponseWriter, r *http.Request, tenant string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxTokenRequest))
	if err != nil {
		a.writeOAuthError(w, tenant, newOAuthError("invalid_request", "request body is too large or unreadable"))
		return
	}
	source := limits.SourceKey(ClientIP(r))
	req, oerr := parseTokenRequest(r.Header.Get("Content-Type"), r.Header.Get("Authorization"), body)
	if oerr != nil {
		a.audit(r, tenant, source, nil, oerr)
		a.writeOAuthError(w, tenant, oerr)
		return
	}
	g, ok := a.grants[req.GrantType]
	if !ok {
		oe := newOAuthError("unsupported_grant_type", "unsupported grant_type requested")
		a.audit(r, tenant, source, req, oe)
		a.writeOAuthError(w, tenant, oe)
		return
	}
	if retryAfter, throttled := r.Context().Value(throttledKey{}).(time.Duration); throttled && req.GrantType != "client_credentials" {
		w.Header().Set("Retry-After", limits.RetryAfter(retryAfter))
		writeOAuth(w, http.StatusTooManyRequests, map[string]string{"code": "request.too_many_requests",
			"message": "Too many failed requests from this address. Please try again later.",
			"error":   "invalid_request", "error_description": "too many failed requests from this address"})
		return
	}
	// A client id whose failure budget at this source address is spent is
	// refused before its secret is even checked, so guessing costs the
	// attacker time, not us CPU. The budget is per address so that guessing
	// from one address never locks the client out at another.
	failKey := tenant + "\x00" + req.GrantType + "\x00" + clipJSON(req.ClientID, maxClientIDKey) + "\x00" + source
	if d := a.authFail.Peek(failKey); !d.Allowed {
		a.failures.WithLabelValues(tenant, "too_many_failures").Inc()
		a.audit(r, tenant, source, req, &oauthError{Type: "invalid_client", Description: "too many failed client authentications"})
		w.Header().Set("Retry-After", limits.RetryAfter(d.RetryAfter))
		writeOAuth(w, http.StatusTooManyRequests, map[string]string{"code": "request.too_many_requests",
			"message": "Too many failed client authentications. Please try again later.",
			"error":   "invalid_client", "error_description": "too many failed client authentications"})
		return
	}
	resp, err := g(r.Context(), tenant, req)
	if err != nil {
		oe, known := toOAuthError(err)
		if !known {
			a.logger.ErrorContext(r.Context(), "token request failed", "tenant", tenant, "grant_type", req.GrantType, "err", err)
		}
		if oe.Type == "invalid_client" {
			a.authFail.Allow(failKey)
		}
		a.audit(r, tenant, source, req, oe)
		oe.basic = req.Basic
		a.writeOAuthError(w, tenant, oe)
		return
	}
	a.issued.WithLabelValues(tenant, grantLabel(req.GrantType)).Inc()
	req.UserID, req.ActorUserID = resp.userID, resp.actorID
	a.audit(r, tenant, source, req, nil)
	writeOAuthJSON(w, http.StatusOK, resp.appendJSON(make([]byte, 0, 128+len(resp.AccessToken))))
}

// auditKeys are Logto's log keys for token requests, by grant type.
var auditKeys = map[string]string{
	"client_credentials":   "ExchangeTokenBy.ClientCredentials",
	grantTypeJWTBearer:     "ExchangeTokenBy.JwtBearer",
	grantTypeTokenExchange: "ExchangeTokenBy.TokenExchange",
}

// ClientIP is the client address of r, the one function every use of it
// (audit, per-address budgets, logs) goes through. It is the peer address,
// which api.TrustProxies, for a peer that is a trusted proxy, has set to the
// client's address from the forwarding headers. Otherwise those headers are
// not believed: they are the client's word, not a fact.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// parseTokenRequest parses a token request from its content type, Authorization
// header and body. It returns an *oauthError for anything malformed.
const formContentType = "application/x-www-form-urlencoded"

func parseTokenRequest(contentType, authorization string, body []byte) (*tokenRequest, *oauthError) {
	if contentType != formContentType { // the common case needs no parsing
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || mt != formContentType {
			return nil, newOAuthError("invalid_request", "content type must be application/x-www-form-urlencoded")
		}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, newOAuthError("invalid_request", "request body is not valid form encoding")
	}
	for k, v := range form {
		// RFC 6749 section 3.2: parameters must not be repeated.
		if len(v) > 1 {
			if k == "resource" {
				return nil, newOAuthError("invalid_target", "only one resource indicator is supported per request")
			}
			return nil, newOAuthError("invalid_request", fmt.Sprintf("parameter %q is repeated", k))
		}
	}
	req := &tokenRequest{GrantType: form.Get("grant_type"), Resource: form.Get("resource"), Form: form}
	if req.GrantType == "" {
		return nil, newOAuthError("invalid_request", "missing parameter grant_type")
	}
	if authorization != "" {
		scheme, cred, _ := strings.Cut(authorization, " ")
		if !strings.EqualFold(scheme, "Basic") {
			return nil, &oauthError{Type: "invalid_client", Description: "unsupported authorization scheme", Status: http.StatusUnauthorized}
		}
		id, secret, ok := decodeBasic(cred)
		if !ok {
			return nil, &oauthError{Type: "invalid_client", Description: "malformed Basic credentials", Status: http.StatusUnauthorized, basic: true}
		}
		if form.Has("client_secret") || (form.Has("client_id") && form.Get("client_id") != id) {
			return nil, newOAuthError("invalid_request", "client authentication must use only one method")
		}
		req.ClientID, req.ClientSecret, req.Basic = id, secret, true
	} else {
		req.ClientID, req.ClientSecret = form.Get("client_id"), form.Get("client_secret")
	}
	if form.Has("scope") {
		req.Scopes = strings.Fields(form.Get("scope"))
		for _, s := range req.Scopes {
			if !validScopeToken(s) {
				return nil, newOAuthError("invalid_scope", "scope contains invalid characters")
			}
		}
	}
	if form.Has("resource") {
		u, err := url.Parse(req.Resource)
		if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(req.Resource, "#") {
			return nil, newOAuthError("invalid_target", "resource must be an absolute URI without a fragment")
		}
	}
	return req, nil
}

// decodeBasic decodes RFC 6749 section 2.3.1 credentials: base64 of
// form-encoded id and secret joined by a colon.
func decodeBasic(cred string) (id, secret string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", false
	}
	rawID, rawSecret, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	id, err1 := url.QueryUnescape(rawID)
	secret, err2 := url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil || id == "" {
		return "", "", false
	}
	return id, secret, true
}

// validScopeToken checks RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return s != ""
}

// grantClientCredentials implements RFC 6749 section 4.4 with RFC 8707
// resource indicators, granting requested ∩ held scopes as Logto does.
func (a *Auth) grantClientCredentials(ctx context.Context, tenant string, req *tokenRequest) (*tokenResponse, error) {
	if req.ClientID == "" {
		return nil, &oauthError{Type: "invalid_client", Description: "no client authentication", Status: http.StatusUnauthorized, basic: req.Basic}
	}
	g, err := a.store.GrantClientCredentials(ctx, tenant, store.ClientGrantRequest{
		ClientID: req.ClientID, Secret: req.ClientSecret, Resource: req.Resource, Scopes: req.Scopes,
		OrganizationID: req.Form.Get("organization_id")})
	if err != nil {
		return nil, err
	}
	ttl, audience, orgClaim := tokenTarget(g.Resource, g.OrganizationID)
	scope := strings.Join(g.Scopes, " ")
	m := mintRequest{subject: g.App.ID, clientID: g.App.ID, audience: audience,
		scope: scope, ttl: time.Duration(ttl) * time.Second, organizationID: orgClaim}
	err = a.customClaims(ctx, tenant, store.JWTClientCredentials, &m,
		func() map[string]any { return map[string]any{"clientId": g.App.ID, "kind": "ClientCredentials"} },
		func() (map[string]any, error) {
			return map[string]any{"application": applicationContext(tenant, g.App)}, nil
		})
	if err != nil {
		return nil, err
	}
	token, err := a.mint(ctx, tenant, m)
	if err != nil {
		return nil, err
	}
	a.logger.DebugContext(ctx, "token issued", slog.String("tenant", tenant), slog.String("client_id", g.App.ID))
	return &tokenResponse{AccessToken: token, TokenType: "Bearer", ExpiresIn: ttl, Scope: scope}, nil
}

// tokenTarget is the TTL, audience and organization_id claim of a token
// for resource or, when resource is nil, for organization organizationID.
// A resource token asked for within an organization names it, as Logto's.
func tokenTarget(resource *store.Resource, organizationID string) (ttl int, audience, orgClaim string) {
	if resource == nil {
		return store.OrganizationTokenTTL, store.OrganizationAudience(organizationID), ""
	}
	ttl = resource.AccessTokenTTL
	if ttl <= 0 {
		ttl = store.DefaultAccessTokenTTL
	}
	return ttl, resource.Indicator, organizationID
}

// mintRequest is what an access token says.
type mintRequest struct {
	subject, clientID, audience, scope string
	ttl                                time.Duration
	organizationID                     string            // optional claim
	actor                              string            // optional: the act claim's sub
	jti                                string            // empty: mint makes one
	custom                             []jwtcustom.Claim // a custom claims script's (custom_claims.go)
}

// newJTI returns a new token id: 192 random bits.
func newJTI() (string, error) {
	jti := make([]byte, 24)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("jti: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(jti), nil
}

// mint signs an RFC 9068 access token with tenant's current key.
func (a *Auth) mint(ctx context.Context, tenant string, m mintRequest) (string, error) {
	ks, err := a.keyset(ctx, tenant)
	if err != nil {
		return "", err
	}
	now := a.now()
	jti := m.jti
	if jti == "" {
		if jti, err = newJTI(); err != nil {
			return "", err
		}
	}
	c := accessClaims{
		Claims: jwt.Claims{
			Issuer:   a.Issuer(tenant),
			Subject:  m.subject,
			Audience: jwt.Audience{m.audience},
			IssuedAt: jwt.NewNumericDate(now),
			Expiry:   jwt.NewNumericDate(now.Add(m.ttl)),
			ID:       jti,
		},
		ClientID:       m.clientID,
		Scope:          m.scope,
		OrganizationID: m.organizationID,
		IssuedAtNanos:  now.UnixNano(),
		Custom:         m.custom,
	}
	if m.actor != "" {
		c.Act = &actClaim{Subject: m.actor}
	}
	token, err := ks.signer.signAccessToken(&c)
	if err != nil {
		return "", errors.Join(errors.New("sign access token"), err)
	}
	// A token for this server's own APIs is known good from its birth: so
	// that it passes an address throttled for failures (Verified) and is
	// never verified at all, it is cached as Authenticate would cache it.
	if m.organizationID == "" && (m.audience == store.ManagementIndicator(tenant) ||
		(m.audience == store.SystemIndicator && tenant == store.DefaultTenant)) {
		a.verified.put(sha256.Sum256([]byte(token)), &Principal{Tenant: tenant, ClientID: m.clientID, Subject: m.subject,
			Audience: m.audience, Scopes: strings.Fields(m.scope), IssuedAt: now, ExpiresAt: c.Expiry.Time()}, now)
	}
	return token, nil
}

package auth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/idbolt/idbolt/auth/jwtcustom"
	"github.com/idbolt/idbolt/limits"
	"github.com/idbolt/idbolt/store"
)

// Config lists the dependencies of Auth.
type Config struct {
	Store *store.DB
	// BaseURL is the public URL of the server, without a trailing slash.
	BaseURL string
	// Alg is the algorithm of new signing keys; empty means ES256.
	Alg string
	// Now returns the current time; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// CacheSize bounds the verified-token cache; zero means 10000 entries.
	CacheSize int
	// Registry receives the token metrics; nil means they are not exported.
	Registry prometheus.Registerer
	// AuthFailures budgets failed client authentications per tenant, client
	// id and source address, so secrets cannot be guessed at full speed and
	// guessing at one address never locks the client out at another; nil
	// means 20 per minute.
	AuthFailures *limits.Limiter
	// AuditFailures is how many failed token requests per source address
	// are stored one by one in the audit log; the rest are counted and
	// summarised. The zero Rate means 10 a minute.
	AuditFailures limits.Rate
	// CustomClaims bounds each run of a custom JWT claims script; zero
	// fields take jwtcustom's defaults.
	CustomClaims jwtcustom.Limits
}

// Auth issues and verifies access tokens. It is safe for concurrent use.
type Auth struct {
	store    *store.DB
	baseURL  string
	alg      string
	now      func() time.Time
	logger   *slog.Logger
	keys     keysets
	verified *tokenCache
	grants   map[string]grant
	issued   *prometheus.CounterVec
	failures *prometheus.CounterVec
	authFail *limits.Limiter
	suppress *auditSuppression // failed token requests not audited one by one (audit.go)
	bearer   *bearerState      // the jwt-bearer grant's decoy keys and metric (jwt_bearer.go)
	scripts  *jwtcustom.Engine // custom JWT claims scripts (custom_claims.go)
	slots    *scriptSlots      // how many scripts each tenant runs at once (script_slots.go)
	// scriptFailures counts the runs of custom claims scripts that failed,
	// by tenant, token type and kind: a failure that does not block the
	// token is otherwise seen only in the log.
	scriptFailures *prometheus.CounterVec
}

// New returns an Auth. It returns an error for an unsupported Alg.
func New(cfg Config) (*Auth, error) {
	a := &Auth{
		store:   cfg.Store,
		baseURL: strings.TrimRight(cfg.BaseURL, "/"),
		alg:     cfg.Alg,
		now:     cfg.Now,
		logger:  cfg.Logger,
		keys:    keysets{sets: map[string]*keyset{}},
		scripts: jwtcustom.New(cfg.CustomClaims),
		slots:   newScriptSlots(),
	}
	if a.alg == "" {
		a.alg = "ES256"
	}
	if !ValidAlg(a.alg) {
		return nil, fmt.Errorf("unsupported signing algorithm %q (want ES256, ES384, RS256 or EdDSA)", a.alg)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	size := cfg.CacheSize
	if size <= 0 {
		size = 10000
	}
	a.verified = newTokenCache(size)
	a.authFail = cfg.AuthFailures
	a.bearer = newBearerState()
	if a.authFail == nil {
		a.authFail = limits.NewBounded(limits.Rate{Requests: 20, Per: time.Minute}, limits.MaxTrackedSources, cfg.Now)
	}
	a.issued = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idbolt_tokens_issued_total",
		Help: "Access tokens issued, by tenant and grant type.",
	}, []string{"tenant", "grant_type"})
	a.failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idbolt_token_failures_total",
		Help: "Token requests refused, by tenant and OAuth error (the reason).",
	}, []string{"tenant", "reason"})
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	a.scriptFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idbolt_custom_claims_failures_total",
		Help: "Custom JWT claims script runs that failed, by tenant, token type and kind (denied, syntax, type, timeout, memory, runtime).",
	}, []string{"tenant", "token_type", "kind"})
	reg.MustRegister(a.issued, a.failures, a.bearer.unverified, a.scriptFailures)
	auditRate := cfg.AuditFailures
	if auditRate.Unlimited() {
		auditRate = limits.Rate{Requests: defaultAuditFailures, Per: time.Minute}
	}
	a.suppress = newAuditSuppression(auditRate, cfg.Now, reg)
	a.grants = map[string]grant{
		"client_credentials":   a.grantClientCredentials,
		grantTypeJWTBearer:     a.grantJWTBearer,
		grantTypeTokenExchange: a.grantTokenExchange,
	}
	return a, nil
}

// DropTenantMetrics removes every series of auth that names tenant, so that /metrics
// stops naming a deleted tenant, and its custom claims script slots: call it
// after the tenant is deleted.
func (a *Auth) DropTenantMetrics(tenant string) {
	// Every tenant-labelled vector of auth: a new one belongs here too.
	for _, v := range []*prometheus.CounterVec{a.issued, a.failures, a.bearer.unverified, a.suppress.metric, a.scriptFailures} {
		v.DeletePartialMatch(prometheus.Labels{"tenant": tenant})
	}
	a.slots.forget(tenant)
}

// NewSigningKey returns a new key of the configured algorithm, for a new tenant.
func (a *Auth) NewSigningKey() (store.SigningKey, error) { return GenerateKey(a.alg) }

// GenerateKey returns a new key of alg; see the package function.
func (a *Auth) GenerateKey(alg string) (store.SigningKey, error) { return GenerateKey(alg) }

// Alg returns the algorithm of new signing keys.
func (a *Auth) Alg() string { return a.alg }

// Issuer returns the issuer URL of tenant: {base}/oidc for default, and
// {base}/t/{tenant}/oidc for the others.
func (a *Auth) Issuer(tenant string) string {
	return a.baseURL + TenantPrefix(tenant) + "/oidc"
}

// TenantPrefix returns the path prefix tenant is served under: "" for
// default, "/t/{tenant}" for the others.
func TenantPrefix(tenant string) string {
	if tenant == store.DefaultTenant {
		return ""
	}
	return "/t/" + tenant
}

// Principal is the verified caller of the Management or system API.
type Principal struct {
	Tenant   string
	ClientID string
	Subject  string
	Audience string
	Scopes   []string
	// IssuedAt is when the token was issued: its iat, to the nanosecond
	// when it carries iat_ns (every token idbolt issues since it does).
	IssuedAt time.Time
	// ExpiresAt is when the token stops being accepted: its exp, or earlier
	// if its signing key retires first.
	ExpiresAt time.Time
}

// HasScope reports whether the token was granted scope.
func (p *Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// accessClaims are the RFC 9068 claims of an access token.
type accessClaims struct {
	jwt.Claims
	ClientID       string `json:"client_id"`
	Scope          string `json:"scope,omitempty"`
	OrganizationID string `json:"organization_id,omitempty"`
	// Act names who acts for the subject (RFC 8693 section 4.1): the user
	// of the actor token of a token exchange, as Logto sets it.
	Act *actClaim `json:"act,omitempty"`
	// IssuedAtNanos is iat in Unix nanoseconds. iat stays whole seconds
	// for every JWT library; this lets the Management API tell a token
	// issued just after an API client's enable from one issued just
	// before its disable, in the same second (store.ClientActive).
	IssuedAtNanos int64 `json:"iat_ns,omitempty"`
	// Custom are the claims a custom JWT claims script added, none of
	// them reserved; written after the others (claims_json.go).
	Custom []jwtcustom.Claim `json:"-"`
}

// actClaim is the act claim of a delegated token.
type actClaim struct {
	Subject string `json:"sub"`
}

// issuedAt returns the token's issue time: iat_ns when it agrees with iat,
// else iat (tokens issued before iat_ns existed).
func (c *accessClaims) issuedAt() time.Time {
	iat := c.IssuedAt.Time()
	if precise := time.Unix(0, c.IssuedAtNanos); c.IssuedAtNanos > 0 && precise.Unix() == iat.Unix() {
		return precise
	}
	return iat
}

// Authenticate verifies the bearer token of r for tenant's API with the given
// audience (resource indicator) and returns its principal. The token must be
// signed by one of tenant's keys with an allowed algorithm, be of type at+jwt,
// carry iss, sub, aud, client_id, iat, exp and jti, be unexpired, and its
// client must still exist and not be disabled; for the system audience it
// must also still be an instance administrator. It does not check scopes.
//
// Returns EUNAUTHORIZED with auth.authorization_header_missing or
// auth.unauthorized.
func (a *Auth) Authenticate(ctx context.Context, r *http.Request, tenant, audience string) (*Principal, error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return nil, &store.Error{Code: store.EUNAUTHORIZED, Detail: "auth.authorization_header_missing",
			Message: "Authorization header is missing."}
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, unauthorized("Authorization header must be \"Bearer <token>\".")
	}
	now := a.now()
	sum := sha256.Sum256([]byte(token))
	p, ok := a.verified.get(sum, tenant, audience, now)
	if !ok {
		var err error
		p, err = a.verify(ctx, token, tenant, audience, now)
		if err != nil {
			return nil, err
		}
		a.verified.put(sum, p, now)
	}
	var active bool
	var err error
	switch {
	case audience == store.SystemIndicator && tenant != store.DefaultTenant:
		// Instance administrators are applications of tenant default.
	case audience == store.SystemIndicator:
		// A system token is good only while its client is an instance
		// administrator, so removing one stops its tokens at once.
		active, err = a.store.SystemAdminActive(ctx, p.ClientID, p.IssuedAt)
	default:
		active, err = a.store.ClientActive(ctx, tenant, p.ClientID, p.IssuedAt)
	}
	if err != nil {
		return nil, err
	} else if !active {
		return nil, unauthorized("The token's client no longer exists or is disabled.")
	}
	return p, nil
}

// Verified reports whether r's bearer token is one this Auth has already
// verified for tenant and audience and that has not expired. It checks no
// signature: it lets a caller with a known good token through where
// unknown tokens are being throttled. Authenticate must still be called.
func (a *Auth) Verified(r *http.Request, tenant, audience string) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return false
	}
	_, ok = a.verified.get(sha256.Sum256([]byte(token)), tenant, audience, a.now())
	return ok
}

func unauthorized(msg string) *store.Error {
	return &store.Error{Code: store.EUNAUTHORIZED, Detail: "auth.unauthorized", Message: msg}
}

// verify checks the token's signature and claims. Every failure is the same
// 401 to the client; the reason is only in the message.
func (a *Auth) verify(ctx context.Context, token, tenant, audience string, now time.Time) (*Principal, error) {
	ks, err := a.keyset(ctx, tenant)
	if err != nil {
		return nil, err
	}
	c, kid, err := a.verifyAccessToken(ks, token, tenant, now)
	if err != nil {
		return nil, err
	}
	if c.OrganizationID != "" {
		// The scopes of an organization token come from organization roles,
		// which organization managers hand out: they must never reach the
		// Management or system API.
		return nil, unauthorized("An organization token is not accepted by this API.")
	}
	if !c.Audience.Contains(audience) {
		return nil, unauthorized("The token is not for this API.")
	}
	expires := c.Expiry.Time()
	if retire, ok := ks.retire[kid]; ok && retire.Before(expires) {
		expires = retire // the cache must not outlive the key
	}
	return &Principal{Tenant: tenant, ClientID: c.ClientID, Subject: c.Subject, Audience: audience,
		Scopes: strings.Fields(c.Scope), IssuedAt: c.issuedAt(), ExpiresAt: expires}, nil
}

// verifyAccessToken checks that token is an access token of tenant, whose
// keys are ks: a JWS with an allowed algorithm and one signature, of type
// at+jwt, signed by a live key of the tenant, carrying exp, iat, sub, jti
// and client_id, issued by the tenant and unexpired at now. It returns the
// claims and the signing key's id, or EUNAUTHORIZED (auth.unauthorized)
// saying which check failed; the audience is the caller's to check.
func (a *Auth) verifyAccessToken(ks *keyset, token, tenant string, now time.Time) (*accessClaims, string, error) {
	parsed, err := jwt.ParseSigned(token, ks.allowed)
	if err != nil {
		return nil, "", unauthorized("The token is not a valid JWS with an allowed algorithm.")
	}
	if len(parsed.Headers) != 1 {
		return nil, "", unauthorized("The token must have exactly one signature.")
	}
	h := parsed.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return nil, "", unauthorized("The token is not an access token (typ at+jwt).")
	}
	key, ok := ks.public[h.KeyID]
	if !ok || key.Algorithm != h.Algorithm || !ks.live(h.KeyID, now) {
		return nil, "", unauthorized("The token was not signed by a live key of this tenant.")
	}
	var c accessClaims
	if err := parsed.Claims(key.Key, &c); err != nil {
		return nil, "", unauthorized("The token signature is invalid.")
	}
	if c.Expiry == nil || c.IssuedAt == nil || c.Subject == "" || c.ID == "" || c.ClientID == "" {
		return nil, "", unauthorized("The token lacks a required claim (exp, iat, sub, jti, client_id).")
	}
	if err := c.Claims.ValidateWithLeeway(jwt.Expected{Issuer: a.Issuer(tenant), Time: now}, 0); err != nil {
		return nil, "", unauthorized("The token is expired or from another issuer: " + err.Error())
	}
	return &c, h.KeyID, nil
}

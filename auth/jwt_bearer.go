package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/idbolt/idbolt/store"
)

// The JWT bearer grant (RFC 7523 section 2.1) lets an API client's program
// get a token by signing an assertion with one of its service user's keys
// (store/user_keys.go), as ZITADEL's service users do. The assertion
// authenticates the client, so the request carries no client
// authentication: a request that sends some anyway is refused rather than
// half-trusted. Its failures are invalid_grant and never draw on the
// failed-authentication budget: a signature cannot be guessed, and charging
// a budget named by an unverified iss would let anyone lock a client out.
//
// Until the signature is verified, every refusal says only "assertion is
// invalid": "unknown issuer", "unknown key" or "algorithm does not fit the
// key" would tell anyone which ids are service users and which key ids
// exist. The exact reason goes to the audit log and to the
// idbolt_jwt_bearer_unverified_total metric. A refusal found without a
// signature check (no such user, no such key, an algorithm no key has)
// still verifies the signature with a decoy key of the header's algorithm,
// so that it does not answer a verification faster than a wrong signature.
// Once the signature is verified the reasons are specific: they tell the
// signer nothing it may not know.

// grantTypeJWTBearer is RFC 7523's grant type.
const grantTypeJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// Bounds of an assertion.
const (
	// maxAssertion is checked before parsing; real assertions are < 2 KiB.
	maxAssertion = 8 << 10
	// assertionSkew is how far an assertion's iat and nbf may be ahead of
	// our clock.
	assertionSkew = time.Second
	// maxAssertionAge bounds how old an assertion's iat may be, and so how
	// long its jti must be remembered.
	maxAssertionAge = time.Hour
)

// assertionInvalid is the one error_description of every refusal before an
// assertion's signature is verified.
const assertionInvalid = "assertion is invalid"

// Reasons of a refusal before the signature is verified, the labels of
// the unverified metric.
const (
	unverifiedMalformed    = "malformed"
	unverifiedIssuer       = "unknown_issuer" // or a subject that is not the issuer's user
	unverifiedKey          = "unknown_key"
	unverifiedAlgorithm    = "algorithm_mismatch"
	unverifiedBadSignature = "bad_signature"
)

// assertionAlgs are the algorithms an assertion may be signed with: those
// of the keys a service user can hold. "none" and HMAC are not on it, so
// parsing refuses them.
var assertionAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.ES384, jose.EdDSA}

// ZITADEL's audience scopes: a project (here: a resource, by id), and
// ZITADEL's own API (here: the tenant's Management API).
const (
	zitadelProjectPrefix = "urn:zitadel:iam:org:project:id:"
	zitadelAudSuffix     = ":aud"
	zitadelAPIAudience   = zitadelProjectPrefix + "zitadel" + zitadelAudSuffix
)

// assertionClaims are the claims of an assertion that the grant reads.
type assertionClaims struct {
	jwt.Claims
	// Scope is the requested scope when the form has none (as
	// golang.org/x/oauth2/jwt sends it); nil when absent.
	Scope *string `json:"scope"`
}

// bearerState is the JWT bearer grant's own state: the decoy keys that a
// refusal found without a signature check verifies with, and the metric of
// refusals before a verified signature. The jtis it has accepted are in
// the store (store/jti.go).
type bearerState struct {
	mu         sync.Mutex
	decoys     map[jose.SignatureAlgorithm]crypto.PublicKey
	unverified *prometheus.CounterVec
}

func newBearerState() *bearerState {
	return &bearerState{decoys: map[jose.SignatureAlgorithm]crypto.PublicKey{},
		unverified: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idbolt_jwt_bearer_unverified_total",
			Help: "JWT bearer assertions refused before their signature was verified, by tenant and exact reason " +
				"(the client is told only \"assertion is invalid\").",
		}, []string{"tenant", "reason"})}
}

// decoy returns the public key of a key pair made for alg when first
// needed, whose private key is then dropped: nothing it verifies is
// accepted, and nothing can be signed for it. Returns nil if alg is not
// an assertion algorithm.
func (b *bearerState) decoy(alg jose.SignatureAlgorithm) crypto.PublicKey {
	b.mu.Lock()
	defer b.mu.Unlock()
	if k, ok := b.decoys[alg]; ok {
		return k
	}
	var signer crypto.Signer
	var err error
	switch alg {
	case jose.RS256, jose.PS256:
		signer, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.ES384:
		signer, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case jose.EdDSA:
		_, signer, err = ed25519.GenerateKey(rand.Reader)
	}
	if signer == nil || err != nil {
		return nil
	}
	b.decoys[alg] = signer.Public()
	return b.decoys[alg]
}

// verifyDecoy spends on tok the signature check a refusal found without
// one skipped. Its result does not matter.
func (b *bearerState) verifyDecoy(tok *jwt.JSONWebToken) {
	if k := b.decoy(jose.SignatureAlgorithm(tok.Headers[0].Algorithm)); k != nil {
		_ = tok.Claims(k)
	}
}

// unverified turns oe, a refusal before the signature is verified, into
// the one public refusal, and counts it under reason.
func (a *Auth) unverified(tenant, reason string, oe *oauthError) *oauthError {
	a.bearer.unverified.WithLabelValues(tenant, reason).Inc()
	oe.public = assertionInvalid
	return oe
}

// grantLabel is a grant type's label on the issued-tokens metric.
func grantLabel(grantType string) string {
	switch grantType {
	case grantTypeJWTBearer:
		return "jwt-bearer"
	case grantTypeTokenExchange:
		return "token-exchange"
	}
	return grantType
}

func invalidGrant(format string, args ...any) *oauthError {
	return newOAuthError("invalid_grant", fmt.Sprintf(format, args...))
}

// parseAssertion checks an assertion's size and algorithm and reads its
// claims without verifying them, to find the service user whose keys verify
// it. It returns an *oauthError for anything malformed.
func parseAssertion(assertion string) (*jwt.JSONWebToken, *assertionClaims, *oauthError) {
	if assertion == "" {
		return nil, nil, newOAuthError("invalid_request", "missing parameter assertion")
	}
	if len(assertion) > maxAssertion {
		return nil, nil, invalidGrant("assertion too large (more than %d bytes)", maxAssertion)
	}
	tok, err := jwt.ParseSigned(assertion, assertionAlgs)
	if err != nil {
		return nil, nil, invalidGrant("assertion is not a JWT signed with RS256, PS256, ES256, ES384 or EdDSA")
	}
	if len(tok.Headers) != 1 {
		return nil, nil, invalidGrant("assertion must have exactly one signature")
	}
	var c assertionClaims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		return nil, nil, invalidGrant("assertion claims are malformed")
	}
	if c.Issuer == "" {
		return nil, nil, invalidGrant("assertion has no iss")
	}
	if c.Subject == "" {
		return nil, nil, invalidGrant("assertion has no sub")
	}
	return tok, &c, nil
}

// keyFits reports whether a JWS algorithm fits a key that verifies keyAlg:
// an RSA key verifies RS256 and PS256, any other key its own algorithm only.
func keyFits(alg jose.SignatureAlgorithm, keyAlg string) bool {
	return string(alg) == keyAlg || (alg == jose.PS256 && keyAlg == "RS256")
}

// verifyAssertion checks the signature with the key the header's kid names
// or, without kid, with each live key in turn. The claims parseAssertion
// read are those the signature covers, so they need no second decode. A
// refusal before a verified signature comes with its unverified reason; a
// signature made by an expired key is "key is expired", without one, since
// only the holder of the key can make it.
func (b *bearerState) verifyAssertion(tok *jwt.JSONWebToken, keys []store.ServiceAccountKey, now time.Time) (oe *oauthError, unverifiedReason string) {
	h := tok.Headers[0]
	alg := jose.SignatureAlgorithm(h.Algorithm)
	live := func(k *store.ServiceAccountKey) bool { return k.ExpiresAt == nil || *k.ExpiresAt > now.UnixMilli() }
	if h.KeyID == "" {
		fits := false
		for i := range keys {
			if k := &keys[i]; keyFits(alg, k.Algorithm) && live(k) {
				if fits = true; tok.Claims(k.Public) == nil {
					return nil, ""
				}
			}
		}
		for i := range keys {
			if k := &keys[i]; keyFits(alg, k.Algorithm) && !live(k) {
				if fits = true; tok.Claims(k.Public) == nil {
					return invalidGrant("key is expired"), ""
				}
			}
		}
		if !fits {
			b.verifyDecoy(tok)
			return invalidGrant("no key of the service user fits algorithm %s", alg), unverifiedAlgorithm
		}
		return invalidGrant("no key of the service user verifies the assertion"), unverifiedBadSignature
	}
	i := slices.IndexFunc(keys, func(k store.ServiceAccountKey) bool { return k.ID == h.KeyID })
	if i < 0 {
		b.verifyDecoy(tok)
		return invalidGrant("unknown key"), unverifiedKey
	}
	k := &keys[i]
	switch {
	case !keyFits(alg, k.Algorithm):
		b.verifyDecoy(tok)
		return invalidGrant("algorithm %s does not fit the key (%s)", alg, k.Algorithm), unverifiedAlgorithm
	case tok.Claims(k.Public) != nil:
		return invalidGrant("assertion signature is invalid"), unverifiedBadSignature
	case !live(k):
		return invalidGrant("key is expired"), ""
	}
	return nil, ""
}

// checkAssertionClaims checks the verified claims of an assertion for
// tenant at now (RFC 7523 section 3).
func (a *Auth) checkAssertionClaims(tenant string, c *assertionClaims, now time.Time) *oauthError {
	// RFC 7523 section 3: the issuer, or a URL of the token endpoint
	// (ZITADEL's alias too: golang.org/x/oauth2/jwt sends the URL it
	// posts to).
	issuer := a.Issuer(tenant)
	alias := a.baseURL + TenantPrefix(tenant) + "/oauth/v2/token"
	if !c.Audience.Contains(issuer) && !c.Audience.Contains(issuer+"/token") && !c.Audience.Contains(alias) {
		return invalidGrant("assertion audience must include %s or %s/token", issuer, issuer)
	}
	if c.Expiry == nil {
		return invalidGrant("assertion has no exp")
	} else if !now.Before(c.Expiry.Time()) {
		return invalidGrant("assertion is expired")
	}
	if c.IssuedAt == nil {
		return invalidGrant("assertion has no iat")
	}
	iat := c.IssuedAt.Time()
	if iat.After(now.Add(assertionSkew)) {
		return invalidGrant("assertion is issued in the future (iat)")
	} else if iat.Before(now.Add(-maxAssertionAge)) {
		return invalidGrant("assertion is too old (iat more than 1 hour ago)")
	}
	if c.NotBefore != nil && c.NotBefore.Time().After(now.Add(assertionSkew)) {
		return invalidGrant("assertion is not valid yet (nbf)")
	}
	return nil
}

// audienceScopes splits requested scopes into resource scopes and the
// audiences that ZITADEL-style scopes name (Management API indicators and
// resource ids). openid, profile and email are accepted and dropped: this
// grant issues access tokens only.
func audienceScopes(tenant string, requested []string) (scopes, indicators, resourceIDs []string) {
	if requested == nil {
		return nil, nil, nil
	}
	scopes = []string{}
	for _, s := range requested {
		switch {
		case s == "openid" || s == "profile" || s == "email":
		case s == zitadelAPIAudience:
			indicators = append(indicators, store.ManagementIndicator(tenant))
		case strings.HasPrefix(s, zitadelProjectPrefix) && strings.HasSuffix(s, zitadelAudSuffix) &&
			len(s) > len(zitadelProjectPrefix)+len(zitadelAudSuffix):
			resourceIDs = append(resourceIDs, strings.TrimSuffix(strings.TrimPrefix(s, zitadelProjectPrefix), zitadelAudSuffix))
		default:
			scopes = append(scopes, s)
		}
	}
	return scopes, indicators, resourceIDs
}

// grantJWTBearer implements RFC 7523 section 2.1 for service users: the
// assertion's iss and sub name the service user (by user id or API client
// id), one of its keys signs it, and the token is the API client's, with
// requested ∩ held scopes as client_credentials grants them.
func (a *Auth) grantJWTBearer(ctx context.Context, tenant string, req *tokenRequest) (*tokenResponse, error) {
	if req.ClientID != "" || req.ClientSecret != "" || req.Basic || req.Form.Has("client_assertion") {
		return nil, newOAuthError("invalid_request", "the jwt-bearer grant takes no client authentication: the assertion identifies the client")
	}
	tok, c, oe := parseAssertion(req.Form.Get("assertion"))
	if oe != nil {
		if oe.Type == "invalid_grant" {
			oe = a.unverified(tenant, unverifiedMalformed, oe)
		}
		return nil, oe
	}
	sa, err := a.store.FindServiceAccount(ctx, tenant, c.Issuer, c.Subject)
	if se := (*store.Error)(nil); errors.As(err, &se) && se.Detail == "oidc.invalid_grant" {
		a.bearer.verifyDecoy(tok)
		return nil, a.unverified(tenant, unverifiedIssuer, invalidGrant("%s", se.Message))
	} else if err != nil {
		return nil, err
	}
	req.ClientID = sa.ClientID // for the audit entry
	now := a.now()
	if oe, reason := a.bearer.verifyAssertion(tok, sa.Keys, now); oe != nil {
		if reason != "" {
			oe = a.unverified(tenant, reason, oe)
		}
		return nil, oe
	}
	if oe := a.checkAssertionClaims(tenant, c, now); oe != nil {
		return nil, oe
	}
	requested := req.Scopes
	if requested == nil && c.Scope != nil {
		requested = strings.Fields(*c.Scope)
		if slices.ContainsFunc(requested, func(s string) bool { return !validScopeToken(s) }) {
			return nil, newOAuthError("invalid_scope", "scope claim contains invalid characters")
		}
	}
	scopes, indicators, resourceIDs := audienceScopes(tenant, requested)
	if req.Resource != "" {
		indicators = append(indicators, req.Resource)
	}
	if c.ID == "" {
		return a.issueServiceAccountToken(ctx, tenant, sa, scopes, indicators, resourceIDs)
	}
	// Past exp, or an hour past iat (which is at most 1 s ahead of now),
	// the assertion is refused anyway: that bounds how long its jti stays.
	until := c.IssuedAt.Time().Add(maxAssertionAge)
	if exp := c.Expiry.Time(); exp.Before(until) {
		until = exp
	}
	if a.store.StorageInsufficient() {
		// A used jti is kept in memory and written in the background: while
		// writes fail it would not survive a restart, and the assertion
		// could be replayed after one.
		return nil, &oauthError{Type: "temporarily_unavailable", Status: http.StatusServiceUnavailable,
			Description: "the server cannot record the assertion's jti while its disk is full; retry later"}
	}
	jti := store.NewJTI(sa.ClientID, c.ID, until.Add(assertionSkew))
	if err := a.store.ClaimJTI(ctx, tenant, jti); err != nil {
		return nil, err
	}
	resp, err := a.issueServiceAccountToken(ctx, tenant, sa, scopes, indicators, resourceIDs)
	if err != nil {
		// Only an assertion that got a token counts as used, so a request
		// refused here can be retried with the same assertion.
		a.store.ReleaseJTI(tenant, jti)
		return nil, err
	}
	if err := a.store.KeepJTI(ctx, tenant, jti); err != nil {
		// Cluster mode: the jti is not known to be committed, so a next
		// leader might accept the assertion again; this token must not
		// leave. The assertion stays used on this node.
		return nil, &oauthError{Type: "temporarily_unavailable", Status: http.StatusServiceUnavailable,
			Description: "the assertion's jti could not be recorded by the cluster; retry with a new assertion"}
	}
	return resp, nil
}

// issueServiceAccountToken resolves the grant and mints the API client's
// token, with the service user as its subject.
func (a *Auth) issueServiceAccountToken(ctx context.Context, tenant string, sa *store.ServiceAccount,
	scopes, indicators, resourceIDs []string) (*tokenResponse, error) {
	g, err := a.store.GrantServiceAccount(ctx, tenant, store.ServiceAccountGrantRequest{ClientID: sa.ClientID,
		UserID: sa.UserID, Indicators: indicators, ResourceIDs: resourceIDs, Scopes: scopes})
	if err != nil {
		return nil, err
	}
	return a.userResourceToken(ctx, tenant, sa.UserID, sa.ClientID, g.Resource, g.Scopes, "jwt-bearer", nil)
}

// userResourceToken mints the token of a grant that acts as a user:
// subject userID, issued to clientID, for resource with scopes, living the
// resource's access token TTL, with the claims of the tenant's access token
// script. subjectTokenContext is the context of the subject token
// exchanged, if one was.
func (a *Auth) userResourceToken(ctx context.Context, tenant, userID, clientID string, resource *store.Resource,
	scopes []string, grantType string, subjectTokenContext map[string]any) (*tokenResponse, error) {
	return a.userToken(ctx, tenant, userGrant{userID: userID, clientID: clientID, resource: resource, scopes: scopes,
		subjectTokenContext: subjectTokenContext}, grantType)
}

// userGrant is what a token that acts as a user says.
type userGrant struct {
	userID, clientID string
	// resource is the token's audience; nil for an organization token.
	resource *store.Resource
	// organizationID names the organization the token is for or within.
	organizationID string
	scopes         []string
	// actor is the user acting for userID (the act claim), if any.
	actor string
	// subjectTokenContext is the context of the subject token exchanged,
	// if one was, for the access token script.
	subjectTokenContext map[string]any
}

// userToken mints g's token: for its resource, living the resource's access
// token TTL, or, without one, for its organization, living an organization
// token's; a resource token asked for within an organization names it. It
// carries the claims of the tenant's access token script.
func (a *Auth) userToken(ctx context.Context, tenant string, g userGrant, grantType string) (*tokenResponse, error) {
	ttl, audience, orgClaim := tokenTarget(g.resource, g.organizationID)
	scope := strings.Join(g.scopes, " ")
	m := mintRequest{subject: g.userID, clientID: g.clientID, audience: audience, scope: scope,
		ttl: time.Duration(ttl) * time.Second, organizationID: orgClaim, actor: g.actor}
	sample := func() map[string]any {
		return map[string]any{"clientId": g.clientID, "accountId": g.userID, "gty": logtoGrantTypes[grantType], "kind": "AccessToken"}
	}
	err := a.customClaims(ctx, tenant, store.JWTAccessToken, &m, sample, func() (map[string]any, error) {
		user, err := a.userContext(ctx, tenant, g.userID)
		if err != nil {
			return nil, err
		}
		out := map[string]any{"user": user}
		if app, err := a.store.FindApplicationByID(ctx, tenant, g.clientID); err == nil {
			out["application"] = applicationContext(tenant, app)
		} else if store.ErrorCode(err) != store.ENOTFOUND {
			return nil, err
		}
		if g.subjectTokenContext != nil {
			out["grant"] = map[string]any{"type": grantTypeTokenExchange, "subjectTokenContext": g.subjectTokenContext}
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	token, err := a.mint(ctx, tenant, m)
	if err != nil {
		return nil, err
	}
	a.logger.DebugContext(ctx, "token issued", slog.String("tenant", tenant), slog.String("client_id", g.clientID),
		slog.String("grant_type", grantType))
	return &tokenResponse{AccessToken: token, TokenType: "Bearer", ExpiresIn: ttl, Scope: scope, userID: g.userID, actorID: g.actor}, nil
}

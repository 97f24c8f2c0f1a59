package auth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idbolt/idbolt/store"
)

// The JWT bearer grant (RFC 7523 section 2.1) lets an API client's program
// get a token by signing an assertion with one of its service user's keys
// (store/service_key.go), as ZITADEL's service users do. The assertion
// authenticates the client, so the request carries no client
// authentication: a request that sends some anyway is refused rather than
// half-trusted. Its failures are invalid_grant and never draw on the
// failed-authentication budget: a signature cannot be guessed, and charging
// a budget named by an unverified iss would let anyone lock a client out.

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
	// replayCacheSize bounds the remembered jtis of one tenant (about 60
	// bytes each).
	replayCacheSize = 100_000
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

// bearerState is the JWT bearer grant's memory: the jtis it has accepted,
// and when this process started. The jtis are in memory only, so an
// assertion with a jti issued before the start is refused: it may have been
// accepted by the previous process.
type bearerState struct {
	started time.Time
	mu      sync.Mutex
	// replays holds one cache per tenant, so that one tenant's service
	// users cannot fill the memory every tenant relies on.
	replays map[string]*replayCache
}

func newBearerState(now time.Time) *bearerState {
	return &bearerState{started: now, replays: map[string]*replayCache{}}
}

// replay returns tenant's replay cache.
func (b *bearerState) replay(tenant string) *replayCache {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.replays[tenant]
	if !ok {
		c = newReplayCache(replayCacheSize)
		b.replays[tenant] = c
	}
	return c
}

// grantLabel is a grant type's label on the issued-tokens metric.
func grantLabel(grantType string) string {
	if grantType == grantTypeJWTBearer {
		return "jwt-bearer"
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
// read are those the signature covers, so they need no second decode.
func verifyAssertion(tok *jwt.JSONWebToken, keys []store.ServiceAccountKey, now time.Time) *oauthError {
	h := tok.Headers[0]
	alg := jose.SignatureAlgorithm(h.Algorithm)
	live := func(k *store.ServiceAccountKey) bool { return k.ExpiresAt == nil || *k.ExpiresAt > now.UnixMilli() }
	if h.KeyID == "" {
		for i := range keys {
			if k := &keys[i]; live(k) && keyFits(alg, k.Algorithm) && tok.Claims(k.Public) == nil {
				return nil
			}
		}
		return invalidGrant("no live key of the service user verifies the assertion")
	}
	i := slices.IndexFunc(keys, func(k store.ServiceAccountKey) bool { return k.ID == h.KeyID })
	if i < 0 {
		return invalidGrant("unknown key")
	}
	k := &keys[i]
	switch {
	case !live(k):
		return invalidGrant("key is expired")
	case !keyFits(alg, k.Algorithm):
		return invalidGrant("algorithm %s does not fit the key (%s)", alg, k.Algorithm)
	case tok.Claims(k.Public) != nil:
		return invalidGrant("assertion signature is invalid")
	}
	return nil
}

// checkAssertionClaims checks the verified claims of an assertion for
// tenant at now (RFC 7523 section 3).
func (a *Auth) checkAssertionClaims(tenant string, c *assertionClaims, now time.Time) *oauthError {
	issuer := a.Issuer(tenant)
	if !c.Audience.Contains(issuer) && !c.Audience.Contains(issuer+"/token") {
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
	if c.ID != "" && iat.Before(a.bearer.started) {
		return invalidGrant("assertion has a jti and was issued before the server started; sign a new one")
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
		return nil, oe
	}
	sa, err := a.store.FindServiceAccount(ctx, tenant, c.Issuer, c.Subject)
	if err != nil {
		return nil, err
	}
	req.ClientID = sa.ClientID // for the audit entry
	now := a.now()
	if oe := verifyAssertion(tok, sa.Keys, now); oe != nil {
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
	var jti [32]byte
	if c.ID != "" {
		jti = sha256.Sum256([]byte(tenant + "\x00" + sa.UserID + "\x00" + c.ID))
		// Past exp, or an hour past iat, the assertion is refused anyway.
		until := c.IssuedAt.Time().Add(maxAssertionAge)
		if exp := c.Expiry.Time(); exp.Before(until) {
			until = exp
		}
		until = until.Add(assertionSkew)
		if oe := a.bearer.replay(tenant).claim(jti, until, now); oe != nil {
			return nil, oe
		}
	}
	resp, err := a.issueServiceAccountToken(ctx, tenant, sa, scopes, indicators, resourceIDs)
	if err != nil && c.ID != "" {
		// Only an assertion that got a token counts as used, so a request
		// refused here can be retried with the same assertion.
		a.bearer.replay(tenant).release(jti)
	}
	return resp, err
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
	ttl := g.Resource.AccessTokenTTL
	if ttl <= 0 {
		ttl = store.DefaultAccessTokenTTL
	}
	scope := strings.Join(g.Scopes, " ")
	token, err := a.mint(ctx, tenant, mintRequest{subject: sa.UserID, clientID: sa.ClientID,
		audience: g.Resource.Indicator, scope: scope, ttl: time.Duration(ttl) * time.Second})
	if err != nil {
		return nil, err
	}
	a.logger.DebugContext(ctx, "token issued", slog.String("tenant", tenant), slog.String("client_id", sa.ClientID),
		slog.String("grant_type", "jwt-bearer"))
	return &tokenResponse{AccessToken: token, TokenType: "Bearer", ExpiresIn: ttl, Scope: scope}, nil
}

// replayCache remembers accepted jtis (as hashes) until their assertion
// can no longer be accepted anyway. It never forgets a live entry: when it
// is full of them, it refuses new ones instead.
type replayCache struct {
	mu   sync.Mutex
	max  int
	seen map[[32]byte]time.Time // -> when the entry may be forgotten
	// sweepAt is the earliest expiry left by the last sweep: sweeping
	// before it would free nothing.
	sweepAt time.Time
}

func newReplayCache(size int) *replayCache {
	return &replayCache{max: size, seen: map[[32]byte]time.Time{}}
}

// claim records key until until. It returns invalid_grant if key is
// already recorded (a replay), or if the cache is full of live entries.
func (c *replayCache) claim(key [32]byte, until, now time.Time) *oauthError {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.seen[key]; ok && now.Before(t) {
		return invalidGrant("assertion jti was already used")
	}
	if len(c.seen) >= c.max && !now.Before(c.sweepAt) {
		c.sweepAt = time.Time{}
		for k, t := range c.seen {
			if !now.Before(t) {
				delete(c.seen, k)
			} else if c.sweepAt.IsZero() || t.Before(c.sweepAt) {
				c.sweepAt = t
			}
		}
	}
	if _, ok := c.seen[key]; !ok && len(c.seen) >= c.max {
		return invalidGrant("too many recent assertions with a jti; try again later")
	}
	c.seen[key] = until
	return nil
}

// release forgets key, for an assertion that did not get a token.
func (c *replayCache) release(key [32]byte) {
	c.mu.Lock()
	delete(c.seen, key)
	c.mu.Unlock()
}

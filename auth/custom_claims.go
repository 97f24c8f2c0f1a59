package auth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/idbolt/idbolt/auth/jwtcustom"
	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store"
	"github.com/idbolt/idbolt/store/search"
)

// Custom JWT claims, as Logto's: a tenant's script for client credentials
// tokens and one for user access tokens (the JWT bearer grant of service
// users and the token exchange) add claims to the token. Logto's built-in
// claims cannot be overridden: a script's claim of the same name is
// dropped, as Logto ignores it.

// reservedClaims are the claims a script cannot set: those idbolt's tokens
// carry, and the registered ones a token could be trusted for.
var reservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true,
	"client_id": true, "scope": true, "organization_id": true, "iat_ns": true,
	"auth_time": true, "acr": true, "amr": true, "act": true, "cnf": true, "sid": true, "kid": true,
}

// Grant types as Logto's tokens name them (gty).
var logtoGrantTypes = map[string]string{
	"jwt-bearer":     grantTypeJWTBearer,
	"token-exchange": grantTypeTokenExchange,
}

// customClaims runs tenant's script for tokenType, if it has one, and
// sets the claims it adds, and the token id the script was shown, in m.
// The script gets Logto's token payload: what token makes, with m's jti,
// aud and scope; context builds the script's context. Both are built only
// when there is a script, so a token of a tenant without one pays a
// look-up. A denial (api.denyAccess) fails the request with access_denied;
// any other failure fails it with invalid_request when the customizer sets
// blockIssuanceOnError, and otherwise issues the token without the claims,
// as Logto does.
//
// Tokens for idbolt's own APIs (the tenant's Management API, the system
// API) get no custom claims: a script that denies or fails must not lock
// the tenant's administrators out of the API that would remove it (Logto
// cloud keeps customizers off its admin tenant for the same reason).
func (a *Auth) customClaims(ctx context.Context, tenant, tokenType string, m *mintRequest, token func() map[string]any,
	context func() (map[string]any, error)) error {
	if m.audience == store.ManagementIndicator(tenant) || m.audience == store.SystemIndicator {
		return nil
	}
	c, err := a.store.JWTCustomizerForToken(ctx, tenant, tokenType)
	if err != nil || c == nil {
		return err
	}
	if m.jti, err = newJTI(); err != nil {
		return err
	}
	sample := token()
	sample["jti"], sample["aud"] = m.jti, m.audience
	if m.scope != "" {
		sample["scope"] = m.scope
	}
	in := jwtcustom.Input{Token: sample, EnvironmentVariables: c.EnvironmentVariables}
	if in.Context, err = context(); err != nil {
		return err
	}
	release, ok := a.slots.acquire(ctx, tenant, scriptSlotWait)
	if !ok {
		return scriptsBusy()
	}
	claims, err := a.scripts.Run(ctx, tenant+"\x00"+tokenType, c.Script, in)
	release()
	var failed *jwtcustom.Error
	if errors.As(err, &failed) {
		a.scriptFailures.WithLabelValues(tenant, tokenType, string(failed.Kind)).Inc()
	}
	switch {
	case errors.As(err, &failed) && failed.Kind == jwtcustom.KindDenied:
		return &oauthError{Type: "access_denied", Description: failed.Message, Status: http.StatusBadRequest}
	case errors.As(err, &failed):
		// The script's own message is not logged: it may quote its
		// environment variables. POST /api/configs/jwt-customizer/test shows it.
		a.logger.WarnContext(ctx, "custom claims script failed", slog.String("tenant", tenant),
			slog.String("token_type", tokenType), slog.String("kind", string(failed.Kind)))
		if c.BlockIssuanceOnError != nil && *c.BlockIssuanceOnError {
			return newOAuthError("invalid_request", "Custom claims script error: "+failed.Message)
		}
		return nil
	case err != nil:
		return err
	}
	kept := claims[:0]
	for _, cl := range claims {
		if !reservedClaims[cl.Name] {
			kept = append(kept, cl)
		}
	}
	m.custom = kept
	return nil
}

// RunCustomClaimsScript runs script as a token of tokenType would, with
// the sample token and context given, for POST
// /api/configs/jwt-customizer/test; nothing is stored. Returns a
// *jwtcustom.Error for a script that fails.
func (a *Auth) RunCustomClaimsScript(ctx context.Context, tenant, tokenType, script string, env map[string]string,
	token, context map[string]any) ([]jwtcustom.Claim, error) {
	release, ok := a.slots.acquire(ctx, tenant, scriptSlotWait)
	if !ok {
		return nil, &store.Error{Code: store.ETOOMANYREQUESTS, Detail: "request.too_many_requests", RetryAfter: time.Second,
			Message: "The tenant's custom JWT claims scripts are all busy; try again."}
	}
	defer release()
	// Its own cache key, so a test never evicts the live script's runtimes.
	return a.scripts.Run(ctx, tenant+"\x00test\x00"+tokenType, script,
		jwtcustom.Input{Token: token, Context: context, EnvironmentVariables: env})
}

// scriptsBusy refuses a token whose tenant runs as many scripts as it may
// at once (scriptSlots) for longer than a token request waits.
func scriptsBusy() *oauthError {
	return &oauthError{Type: "temporarily_unavailable", Status: http.StatusServiceUnavailable,
		Description: "the tenant's custom claims scripts are all busy; retry"}
}

// CheckCustomClaimsScript reports a *jwtcustom.Error when script does not
// compile, so that one is refused before it is stored.
func (a *Auth) CheckCustomClaimsScript(script string) error { return a.scripts.Check(script) }

// applicationContext is Logto's context.application: the application
// without its secret.
func applicationContext(tenant string, app *store.Application) map[string]any {
	return map[string]any{
		"tenantId":                     tenant,
		"id":                           app.ID,
		"name":                         app.Name,
		"description":                  stringOrNil(app.Description),
		"type":                         app.Type,
		"oidcClientMetadata":           jsonValue(app.OIDCClientMetadata),
		"customClientMetadata":         jsonValue(app.CustomClientMetadata),
		"protectedAppMetadata":         nil,
		"customData":                   jsonValue(app.CustomData),
		"isThirdParty":                 app.IsThirdParty,
		"appLevelAccessControlEnabled": app.AppLevelAccessControlEnabled,
		"createdAt":                    app.CreatedAt,
	}
}

// userContext is Logto's context.user: the user's profile, roles with
// their scopes, and organizations with the roles held in them. Sign-in
// data idbolt does not have (SSO identities, MFA factors) is empty.
func (a *Auth) userContext(ctx context.Context, tenant, userID string) (map[string]any, error) {
	u, err := a.store.FindUserByID(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	page := pagination.Params{Page: 1, PageSize: pagination.MaxPageSize}
	roles, _, err := a.store.FindUserRoles(ctx, tenant, userID, search.Query{}, page)
	if err != nil {
		return nil, err
	}
	roleList := make([]any, 0, len(roles))
	for _, r := range roles {
		scopes, _, err := a.store.FindRoleScopes(ctx, tenant, r.ID, search.Query{}, page)
		if err != nil {
			return nil, err
		}
		scopeList := make([]any, 0, len(scopes))
		for _, s := range scopes {
			sc := map[string]any{"id": s.ID, "name": s.Name, "description": stringOrNil(s.Description), "resourceId": s.ResourceID}
			if s.Resource != nil {
				sc["resource"] = map[string]any{"tenantId": tenant, "id": s.Resource.ID, "name": s.Resource.Name,
					"indicator": s.Resource.Indicator, "isDefault": s.Resource.IsDefault, "accessTokenTtl": s.Resource.AccessTokenTTL}
			}
			scopeList = append(scopeList, sc)
		}
		roleList = append(roleList, map[string]any{"id": r.ID, "name": r.Name, "description": r.Description, "scopes": scopeList})
	}
	orgs, err := a.store.FindUserOrganizations(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	orgList, orgRoles := make([]any, 0, len(orgs)), make([]any, 0)
	for _, o := range orgs {
		orgList = append(orgList, map[string]any{"id": o.ID, "name": o.Name, "description": stringOrNil(o.Description)})
		for _, r := range o.Roles {
			orgRoles = append(orgRoles, map[string]any{"organizationId": o.ID, "roleId": r.ID, "roleName": r.Name})
		}
	}
	var lastSignIn any
	if u.LastSignInAt != nil {
		lastSignIn = *u.LastSignInAt
	}
	return map[string]any{
		"id":                     u.ID,
		"username":               stringOrNil(u.Username),
		"primaryEmail":           stringOrNil(u.PrimaryEmail),
		"primaryPhone":           stringOrNil(u.PrimaryPhone),
		"name":                   stringOrNil(u.Name),
		"avatar":                 stringOrNil(u.Avatar),
		"customData":             jsonValue(u.CustomData),
		"identities":             jsonValue(u.Identities),
		"lastSignInAt":           lastSignIn,
		"createdAt":              u.CreatedAt,
		"updatedAt":              u.UpdatedAt,
		"profile":                jsonValue(u.Profile),
		"applicationId":          stringOrNil(u.ApplicationID),
		"isSuspended":            u.IsSuspended,
		"hasPassword":            u.HasPassword,
		"ssoIdentities":          []any{},
		"mfaVerificationFactors": []any{},
		"roles":                  roleList,
		"organizations":          orgList,
		"organizationRoles":      orgRoles,
	}, nil
}

func stringOrNil(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// jsonValue returns v as JSON decodes it (maps, slices, strings, numbers),
// the shape a script sees; nil maps become empty objects.
func jsonValue(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil || out == nil {
		return map[string]any{}
	}
	return out
}

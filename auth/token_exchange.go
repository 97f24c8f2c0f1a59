package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/idbolt/idbolt/store"
)

// The RFC 8693 token exchange grant, as Logto has it: a user's tool
// presents its personal access token (subject_token_type
// urn:logto:token-type:personal_access_token), or a backend a subject token
// the Management API made for impersonating a user (...:access_token), through
// an application that allows token exchange, and gets an access token for
// the user at the resource asked for, with requested ∩ the scopes of the
// user's roles there. With organization_id it gets, for a member of that
// organization, an organization token (or, with a resource, a resource
// token within the organization) carrying the scopes of the user's roles
// there; with actor_token, a token whose act claim names the actor token's
// user.
const (
	grantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypePAT           = "urn:logto:token-type:personal_access_token"
	// tokenTypeAccessToken is the type Logto gives its subject tokens
	// (impersonation, POST /api/subject-tokens), each used once, and the
	// only type of an actor token.
	tokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
)

// grantTokenExchange serves the token exchange grant.
func (a *Auth) grantTokenExchange(ctx context.Context, tenant string, req *tokenRequest) (*tokenResponse, error) {
	if req.ClientID == "" {
		return nil, &oauthError{Type: "invalid_client", Description: "no client authentication", Status: http.StatusUnauthorized, basic: req.Basic}
	}
	subject, subjectType := req.Form.Get("subject_token"), req.Form.Get("subject_token_type")
	switch {
	case subject == "":
		return nil, newOAuthError("invalid_request", "missing parameter subject_token")
	case subjectType == "":
		return nil, newOAuthError("invalid_request", "missing parameter subject_token_type")
	case subjectType != tokenTypePAT && subjectType != tokenTypeAccessToken:
		return nil, invalidGrant("unsupported subject token type")
	}
	// The actor token is checked before the exchange, which uses a subject
	// token up: a refused actor must not cost the subject token.
	actor, err := a.actorTokenUser(ctx, tenant, req)
	if err != nil {
		return nil, err
	}
	exchange := a.store.GrantPATExchange
	if subjectType == tokenTypeAccessToken {
		exchange = a.store.GrantSubjectTokenExchange
	}
	g, err := exchange(ctx, tenant, store.ExchangeRequest{ClientID: req.ClientID, Secret: req.ClientSecret,
		SubjectToken: subject, Resource: req.Resource, Scopes: req.Scopes, OrganizationID: req.Form.Get("organization_id")})
	if err != nil {
		return nil, err
	}
	return a.userToken(ctx, tenant, userGrant{userID: g.UserID, clientID: g.App.ID, resource: g.Resource,
		organizationID: g.OrganizationID, scopes: g.Scopes, actor: actor, subjectTokenContext: g.SubjectTokenContext}, "token-exchange")
}

// actorTokenUser returns the user of the request's actor token, or "" when
// it has none. As in Logto, actor_token_type must then be
// urn:ietf:params:oauth:token-type:access_token and the token must stand
// for a user. Logto takes an opaque token of a user's sign-in (scope
// openid); idbolt has no sign-in and issues JWTs only, so the actor token is
// an access token of this tenant that acts as a user: signed by a live key
// of the tenant, issued by it, unexpired, not an organization token, and
// its subject an existing user of the tenant. Every refusal is
// invalid_grant.
func (a *Auth) actorTokenUser(ctx context.Context, tenant string, req *tokenRequest) (string, error) {
	token := req.Form.Get("actor_token")
	if token == "" {
		return "", nil
	}
	if req.Form.Get("actor_token_type") != tokenTypeAccessToken {
		return "", invalidGrant("unsupported actor token type")
	}
	ks, err := a.keyset(ctx, tenant)
	if err != nil {
		return "", err
	}
	c, _, err := a.verifyAccessToken(ks, token, tenant, a.now())
	if se := (*store.Error)(nil); errors.As(err, &se) {
		return "", invalidGrant("invalid actor token: %s", se.Message)
	} else if err != nil {
		return "", err
	}
	if c.OrganizationID != "" || len(c.Audience) == 0 || strings.HasPrefix(c.Audience[0], store.OrganizationAudience("")) {
		return "", invalidGrant("invalid actor token: an actor token must be a resource token")
	}
	u, err := a.store.FindUserByID(ctx, tenant, c.Subject)
	if store.ErrorCode(err) == store.ENOTFOUND {
		return "", invalidGrant("invalid actor token: its subject is not a user")
	} else if err != nil {
		return "", err
	}
	return u.ID, nil
}

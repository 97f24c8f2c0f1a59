package auth

import (
	"context"
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// The RFC 8693 token exchange grant, as Logto has it: a user's tool
// presents its personal access token (subject_token_type
// urn:logto:token-type:personal_access_token), or a backend a subject token
// the Management API made for impersonating a user (...:access_token), through
// an application that allows token exchange, and gets an access token for
// the user at the resource asked for, with requested ∩ the scopes of the
// user's roles there.
const (
	grantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypePAT           = "urn:logto:token-type:personal_access_token"
	// tokenTypeAccessToken is the type Logto gives its subject tokens
	// (impersonation, POST /api/subject-tokens), each used once.
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
	case req.Form.Has("actor_token") || req.Form.Has("organization_id"):
		return nil, newOAuthError("invalid_request", "actor tokens and organization tokens are not supported by the token exchange")
	}
	exchange := a.store.GrantPATExchange
	if subjectType == tokenTypeAccessToken {
		exchange = a.store.GrantSubjectTokenExchange
	}
	g, err := exchange(ctx, tenant, store.ExchangeRequest{ClientID: req.ClientID, Secret: req.ClientSecret,
		SubjectToken: subject, Resource: req.Resource, Scopes: req.Scopes})
	if err != nil {
		return nil, err
	}
	return a.userResourceToken(ctx, tenant, g.UserID, g.App.ID, g.Resource, g.Scopes, "token-exchange", g.SubjectTokenContext)
}

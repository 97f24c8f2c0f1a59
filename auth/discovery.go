package auth

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// discovery is the OpenID Connect discovery document, which is also the
// RFC 8414 authorization server metadata: the fields idbolt actually
// supports. There is no authorization endpoint (no grant idbolt serves uses
// one), so RFC 8414 has authorization_endpoint left out; response_types_supported
// is required by both specifications all the same, and lists only "none".
// No token endpoint authentication method signs anything, so
// token_endpoint_auth_signing_alg_values_supported is left out too.
type discovery struct {
	Issuer                            string   `json:"issuer"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
}

// HandleDiscovery serves tenant's metadata document, the same at every
// discovery URL ({issuer}/.well-known/openid-configuration, RFC 8414's
// {base}/.well-known/oauth-authorization-server{issuer path}, ...): its
// issuer is always Issuer(tenant), the iss of the tenant's tokens.
func (a *Auth) HandleDiscovery(w http.ResponseWriter, r *http.Request, tenant string) {
	iss := a.Issuer(tenant)
	algs := []string{a.alg}
	if ks, err := a.keyset(r.Context(), tenant); err == nil {
		algs = ks.liveAlgs(a.now())
	}
	writePublicJSON(w, "application/json; charset=utf-8", discovery{
		Issuer:              iss,
		TokenEndpoint:       iss + "/token",
		JWKSURI:             iss + "/jwks",
		GrantTypesSupported: []string{"client_credentials", grantTypeJWTBearer, grantTypeTokenExchange},
		// The jwt-bearer grant takes no client authentication: its
		// assertion identifies the client (jwt_bearer.go).
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
		ScopesSupported:                   []string{"all"},
		IDTokenSigningAlgValuesSupported:  algs,
		ResponseTypesSupported:            []string{"none"},
		SubjectTypesSupported:             []string{"public"},
	})
}

// HandleJWKS serves {issuer}/jwks: the public keys of tenant, current first.
func (a *Auth) HandleJWKS(w http.ResponseWriter, r *http.Request, tenant string) {
	ks, err := a.keyset(r.Context(), tenant)
	if err != nil {
		a.logger.ErrorContext(r.Context(), "load keyset", "tenant", tenant, "err", err)
		http.Error(w, `{"code":"internal_server_error","message":"Internal error."}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
	writePublicJSON(w, "application/jwk-set+json; charset=utf-8", ks.publicSet(a.now()))
}

func writePublicJSON(w http.ResponseWriter, contentType string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

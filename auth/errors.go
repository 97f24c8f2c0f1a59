package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/idbolt/idbolt/store"
)

// oauthError is an RFC 6749 section 5.2 error of the token endpoint.
type oauthError struct {
	Type string // the "error" value, e.g. invalid_client
	// Description is the exact reason, for the audit log.
	Description string
	// public, when set, is the error_description the client gets instead
	// of Description: the JWT bearer grant gives one public reason for
	// every refusal before the signature is verified, so that an unsigned
	// request learns nothing of the service users and keys that exist.
	public string
	Status int
	// basic asks for a WWW-Authenticate challenge (the client used Basic).
	basic bool
}

func (e *oauthError) Error() string { return e.Type + ": " + e.Description }

// logtoMessages are the "message" texts that go with Logto's "oidc.*" codes.
var logtoMessages = map[string]string{
	"invalid_request":         "Invalid request.",
	"access_denied":           "Access denied.",
	"invalid_client":          "Client authentication failed.",
	"invalid_grant":           "The provided grant is invalid.",
	"unauthorized_client":     "The client is not authorized to use this grant type.",
	"unsupported_grant_type":  "Unsupported `grant_type` requested.",
	"invalid_scope":           "Invalid scope.",
	"invalid_target":          "Invalid resource indicator.",
	"server_error":            "Internal server error.",
	"temporarily_unavailable": "The server is temporarily unable to handle the request.",
}

func newOAuthError(typ, description string) *oauthError {
	status := http.StatusBadRequest
	if typ == "invalid_client" {
		status = http.StatusUnauthorized
	}
	return &oauthError{Type: typ, Description: description, Status: status}
}

// toOAuthError maps a store error to the token endpoint's error. Anything
// unexpected is a server_error and is logged by the caller.
func toOAuthError(err error) (*oauthError, bool) {
	var oe *oauthError
	if errors.As(err, &oe) {
		return oe, true
	}
	var se *store.Error
	if !errors.As(err, &se) {
		return newOAuthError("server_error", "internal server error"), false
	}
	switch se.Detail {
	case "oidc.invalid_client":
		return newOAuthError("invalid_client", se.Message), true
	case "oidc.unauthorized_client":
		return newOAuthError("unauthorized_client", se.Message), true
	case "oidc.invalid_target":
		return newOAuthError("invalid_target", se.Message), true
	case "oidc.invalid_grant":
		return newOAuthError("invalid_grant", se.Message), true
	case "oidc.access_denied":
		// Logto's token exchange answers a user outside the organization
		// asked for with 403 access_denied.
		return &oauthError{Type: "access_denied", Description: se.Message, Status: http.StatusForbidden}, true
	}
	if se.Code == store.ENOTFOUND {
		return newOAuthError("invalid_request", se.Message), true
	}
	return newOAuthError("server_error", "internal server error"), false
}

// writeOAuth writes a token endpoint response with the headers RFC 6749
// requires on success and on error.
func writeOAuth(w http.ResponseWriter, status int, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	writeOAuthJSON(w, status, data)
}

// writeOAuthJSON is writeOAuth for a body already in JSON.
func writeOAuthJSON(w http.ResponseWriter, status int, data []byte) {
	h := w.Header()
	// Canonical names set directly: Set would check each name per token.
	h["Content-Type"] = []string{"application/json; charset=utf-8"}
	h["Cache-Control"] = []string{"no-store"}
	h["Pragma"] = []string{"no-cache"}
	h["Content-Length"] = []string{strconv.Itoa(len(data))}
	w.WriteHeader(status)
	w.Write(data)
}

func (a *Auth) writeOAuthError(w http.ResponseWriter, tenant string, e *oauthError) {
	a.failures.WithLabelValues(tenant, e.Type).Inc()
	if e.basic && e.Type == "invalid_client" {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+a.Issuer(tenant)+`", error="invalid_client", error_description="client authentication failed"`)
	}
	description := e.Description
	if e.public != "" {
		description = e.public
	}
	writeOAuth(w, e.Status, map[string]string{
		"code":              "oidc." + e.Type,
		"message":           logtoMessages[e.Type],
		"error":             e.Type,
		"error_description": description,
	})
}

package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/idbolt/idbolt/limits"
	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store"
)

// statusByCode maps store error codes to HTTP statuses. Logto answers
// uniqueness clashes and failed business rules with 422.
var statusByCode = map[string]int{
	store.ENOTFOUND:        http.StatusNotFound,
	store.ECONFLICT:        http.StatusUnprocessableEntity,
	store.EUNPROCESSABLE:   http.StatusUnprocessableEntity,
	store.EINVALID:         http.StatusBadRequest,
	store.EUNAUTHORIZED:    http.StatusUnauthorized,
	store.EFORBIDDEN:       http.StatusForbidden,
	store.ETOOLARGE:        http.StatusRequestEntityTooLarge,
	store.ETOOMANYREQUESTS: http.StatusTooManyRequests,
	store.EINTERNAL:        http.StatusInternalServerError,
	store.ENOTIMPLEMENTED:  http.StatusNotImplemented,
	store.EBADGATEWAY:      http.StatusBadGateway,

	// The disk of the data file is full.
	store.EINSUFFICIENTSTORAGE: http.StatusInsufficientStorage,

	// Cluster mode: no leader, or cut off from it.
	store.EUNAVAILABLE: http.StatusServiceUnavailable,
}

// defaultLogtoCode is the Logto "code" for an error that does not name one.
var defaultLogtoCode = map[string]string{
	store.ENOTFOUND:        "entity.not_found",
	store.ECONFLICT:        "entity.unique_integrity_violation",
	store.EUNPROCESSABLE:   "request.unprocessable",
	store.EINVALID:         "guard.invalid_input",
	store.EUNAUTHORIZED:    "auth.unauthorized",
	store.EFORBIDDEN:       "auth.forbidden",
	store.ETOOLARGE:        "request.body_too_large",
	store.ETOOMANYREQUESTS: "request.too_many_requests",
	store.EINTERNAL:        "internal_server_error",
	store.ENOTIMPLEMENTED:  "request.not_implemented",
	store.EBADGATEWAY:      "request.bad_gateway",

	store.EINSUFFICIENTSTORAGE: "storage.insufficient",
	store.EUNAVAILABLE:         "cluster.unavailable",
}

// errorBody is Logto's error envelope.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details string `json:"details,omitempty"`
}

// writeError is the only place an error becomes a response. Internal errors
// are logged and answered with a fixed message; their text never reaches the
// client.
func (s *Server) writeError(w http.ResponseWriter, r *request, err error) {
	var pe *pagination.ParamError
	if errors.As(err, &pe) {
		s.writeJSON(w, r, http.StatusBadRequest, errorBody{Code: "guard.invalid_pagination",
			Message: "The request pagination value is invalid.", Details: pe.Error()})
		return
	}
	code := store.ErrorCode(err)
	body := errorBody{Code: defaultLogtoCode[code], Message: store.ErrorMessage(err)}
	var se *store.Error
	if errors.As(err, &se) {
		if se.Detail != "" {
			body.Code = se.Detail
		}
		if se.Field != "" {
			body.Details = `Error in key path "` + se.Field + `": ` + strings.TrimPrefix(se.Message, se.Field+": ")
		}
		if se.RetryAfter > 0 {
			w.Header().Set("Retry-After", limits.RetryAfter(se.RetryAfter))
		}
	}
	status, ok := statusByCode[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", s.bearerChallenge(r))
	}
	if status == http.StatusInternalServerError {
		if errors.Is(err, context.Canceled) || r.Context().Err() != nil {
			s.logger.InfoContext(r.Context(), "request cancelled", "method", r.Method, "path", r.URL.Path)
		} else {
			s.logger.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path,
				"tenant", r.tenant, "err", err)
		}
	}
	s.writeJSON(w, r, status, body)
}

// bearerChallenge is the WWW-Authenticate value of a 401 (RFC 6750 section
// 3). The realm is the resource indicator a token must be issued for, so a
// client learns what to ask /oidc/token for. A request that sent a bearer
// token learns it was refused (invalid_token: bad signature, expired, wrong
// audience, client disabled); one that sent none gets no error code, as the
// RFC asks. The reason stays in the body's message, which may hold quotes.
func (s *Server) bearerChallenge(r *request) string {
	realm := store.SystemIndicator
	if !strings.HasPrefix(r.URL.Path, "/system/") {
		realm = store.ManagementIndicator(r.tenant)
	}
	challenge := `Bearer realm="` + realm + `"`
	if scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") && token != "" {
		challenge += `, error="invalid_token"`
	}
	return challenge
}

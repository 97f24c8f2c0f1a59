package store

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. They are deliberately few and generic; the Logto-specific code
// a client sees travels in Error.Detail and is chosen where the error is made.
const (
	ENOTFOUND        = "not_found"
	ECONFLICT        = "conflict"
	EINVALID         = "invalid"
	EUNPROCESSABLE   = "unprocessable"
	EUNAUTHORIZED    = "unauthorized"
	EFORBIDDEN       = "forbidden"
	ETOOLARGE        = "too_large"
	ETOOMANYREQUESTS = "too_many_requests"
	ENOTIMPLEMENTED  = "not_implemented"
	EBADGATEWAY      = "bad_gateway" // a service idbolt calls (an email webhook) failed
	EINTERNAL        = "internal"

	// EINSUFFICIENTSTORAGE is a write refused because the disk of the data
	// file is full (or a quota or file size limit is reached).
	EINSUFFICIENTSTORAGE = "insufficient_storage"

	// EUNAVAILABLE is a request this node cannot serve now: in cluster
	// mode, it has no leader or has not heard from one for too long.
	EUNAVAILABLE = "unavailable"
)

// Error is a domain error that is safe to show to an API client.
//
// Code is one of the E* constants and decides the HTTP status. Detail is the
// Logto error code (for example "user.username_already_in_use"); when empty,
// the api package uses its default for Code. Field names the request field at
// fault, when there is one.
type Error struct {
	Code    string
	Detail  string
	Message string
	Field   string

	// RetryAfter, when not zero, is how long a client refused with
	// ETOOMANYREQUESTS should wait before it tries again.
	RetryAfter time.Duration
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Detail, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// detailErrorf returns an *Error that carries a Logto error code.
func detailErrorf(code, detail, format string, args ...any) *Error {
	return &Error{Code: code, Detail: detail, Message: fmt.Sprintf(format, args...)}
}

// fieldError returns an EINVALID error that names the offending field.
func fieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Detail: "guard.invalid_input", Field: field,
		Message: field + ": " + fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err when it is (or wraps) an *Error, and
// EINTERNAL otherwise, so that unexpected failures never leak their text.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the message of an
// *Error, or "Internal error." for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// notFound is the error for a missing entity.
func notFound(entity, id string) *Error {
	return detailErrorf(ENOTFOUND, "entity.not_found", "The resource does not exist: %s %q.", entity, id)
}

// notExistsWithID is the error for a missing entity that Logto looks up by
// its generic find-by-id query, which answers entity.not_exists_with_id
// naming the table (GET /api/logs/{id}).
func notExistsWithID(table, id string) *Error {
	return detailErrorf(ENOTFOUND, "entity.not_exists_with_id", "The %s with ID `%s` does not exist.", table, id)
}

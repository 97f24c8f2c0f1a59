// Package auth issues and verifies idbolt's access tokens.
//
// It owns client authentication at the token endpoint, the grant types
// (dispatched through a map from grant_type to handler), JWT signing and
// verification with go-jose and an explicit algorithm allow-list, each
// tenant's JWKS and discovery document, and Authenticate, which the api
// middleware calls to turn a bearer token into a Principal.
//
// Access tokens follow RFC 9068: header typ "at+jwt" and kid; claims iss, sub,
// client_id, aud, scope, iat, exp and jti. Each tenant signs with its own keys,
// stored in the data file and cached here in parsed form. Verified tokens are
// cached by their SHA-256 until they expire, because a signature check costs
// more than the rest of a read request; the client's existence is still checked
// on every request, so deleting an application stops its tokens at once.
//
// The token endpoint answers errors in RFC 6749 section 5.2 form, with Logto's
// "code" and "message" added so Logto clients see what they expect.
package auth

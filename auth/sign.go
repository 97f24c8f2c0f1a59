package auth

import (
	"encoding/json"

	jose "github.com/go-jose/go-jose/v4"
)

// signAccessToken returns the compact JWS of c signed by signer. It signs
// the claims' JSON as it is: jwt.Signed(...).Claims(c) would turn them into
// a map and back first, which costs a map of every claim per token (more
// than the signature's own allocations once there are over eight claims).
func signAccessToken(signer jose.Signer, c *accessClaims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

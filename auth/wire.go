package auth

// The bodies the OAuth endpoints write, named for the OpenAPI document
// (api/openapi_routes.go), which derives their schemas from these types.
type (
	// DiscoveryDocument is the body of the discovery endpoint.
	DiscoveryDocument = discovery
	// TokenResponse is the success body of the token endpoint.
	TokenResponse = tokenResponse
)

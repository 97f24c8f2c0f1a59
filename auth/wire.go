package auth

// DiscoveryDocument is the body of the discovery endpoint and TokenResponse
// the success body of the token endpoint, named for the OpenAPI document
// (api/openapi_routes.go), which derives their schemas from these types.
type (
	DiscoveryDocument = discovery
	TokenResponse     = tokenResponse
)

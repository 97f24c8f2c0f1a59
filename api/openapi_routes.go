package api

import (
	"github.com/idbolt/idbolt/auth"
	"github.com/idbolt/idbolt/store"
	"github.com/idbolt/idbolt/store/cluster"
)

// operation describes one route of the route table (server.go) for the
// OpenAPI document: the Go types of its bodies, its success answers and
// whether it pages. The schemas are derived from the types by reflection,
// so a field added to a response type is in the document at once; a route
// registered without an entry here fails TestOpenAPI_CoversEveryRoute.
type operation struct {
	summary string
	// path is the documented path when it differs from the registered
	// pattern: httprouter holds some static routes as parameter routes
	// (POST /api/users/:userId serves /api/users/batch).
	path string
	// body is a zero value of the JSON request body's type; nil: none.
	body any
	// form is a zero value of the form request body's type (the token
	// endpoint); nil: none.
	form any
	// query lists the query parameters beyond the paging ones.
	query []string
	// list says whether the route pages (page, page_size, Total-Number,
	// Link) always, only when asked, or not at all.
	list listPaging
	// replies are the success answers; an error answer is the error body.
	replies []reply
}

// listPaging is how a route pages its list.
type listPaging int

const (
	notPaged listPaging = iota
	pagesAlways
	pagesOnRequest // every row, and no paging headers, unless page or page_size is given
)

// reply is one success answer of an operation.
type reply struct {
	status int
	// body is a zero value of the body's Go type; nil: no body. A
	// oneOfBodies value lists the shapes one answer may take.
	body any
	// contentType is the media type when it is not JSON.
	contentType string
	// secret says whether the answer carries a secret, sent with
	// Cache-Control: no-store.
	secret secrecy
}

// secrecy is whether an answer carries a secret.
type secrecy int

const (
	noSecret        secrecy = iota
	alwaysSecret            // always sent with Cache-Control: no-store
	sometimesSecret         // when it shows a secret (a generated key, a new webhook signing key)
)

// oneOfBodies is a reply body that takes one of several shapes.
type oneOfBodies []any

// The replies most routes have: one status, with body (a zero value of its
// type) or without one.
func replyOK(body any) []reply       { return []reply{{status: 200, body: body}} }
func replyOKSecret(body any) []reply { return []reply{{status: 200, body: body, secret: alwaysSecret}} }
func replyCreated(body any) []reply  { return []reply{{status: 201, body: body}} }
func replyCreatedSecret(body any) []reply {
	return []reply{{status: 201, body: body, secret: alwaysSecret}}
}

var (
	replyNoContent    = []reply{{status: 204}}
	replyCreatedEmpty = []reply{{status: 201}}
)

// Bodies that handlers write as maps or that other packages write; these
// types exist for the document only.
type (
	userIDsBody struct {
		UserIDs []string `json:"userIds"`
	}
	organizationRoleIDsBody struct {
		OrganizationRoleIDs []string `json:"organizationRoleIds"`
	}
	// jwksBody is the JSON Web Key Set of /oidc/jwks (RFC 7517): public keys only.
	jwksBody struct {
		Keys []jwkBody `json:"keys"`
	}
	jwkBody struct {
		Kty string `json:"kty"`
		Kid string `json:"kid"`
		Alg string `json:"alg"`
		Use string `json:"use"`
		Crv string `json:"crv,omitempty"`
		X   string `json:"x,omitempty"`
		Y   string `json:"y,omitempty"`
		N   string `json:"n,omitempty"`
		E   string `json:"e,omitempty"`
	}
	// oauthErrorBody is an RFC 6749 section 5.2 error of the token
	// endpoint, with Logto's code and message beside it.
	oauthErrorBody struct {
		Code             string `json:"code"`
		Message          string `json:"message"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	// tokenForm is the form of POST /oidc/token.
	tokenForm struct {
		GrantType      string `json:"grant_type" doc:"client_credentials, urn:ietf:params:oauth:grant-type:jwt-bearer or urn:ietf:params:oauth:grant-type:token-exchange"`
		Resource       string `json:"resource,omitempty" doc:"The API resource indicator the token is for."`
		Scope          string `json:"scope,omitempty" doc:"Space-separated scopes."`
		ClientID       string `json:"client_id,omitempty" doc:"client_secret_post: the client id (or HTTP Basic)."`
		ClientSecret   string `json:"client_secret,omitempty" doc:"client_secret_post: the client secret (or HTTP Basic)."`
		Assertion      string `json:"assertion,omitempty" doc:"The JWT bearer grant's signed assertion (RFC 7523)."`
		OrganizationID string `json:"organization_id,omitempty" doc:"An organization token for this organization."`
		// The token exchange's (RFC 8693), as Logto has them.
		SubjectToken     string `json:"subject_token,omitempty" doc:"Token exchange: a personal access token or a subject token."`
		SubjectTokenType string `json:"subject_token_type,omitempty" doc:"Token exchange: urn:logto:token-type:personal_access_token or urn:ietf:params:oauth:token-type:access_token."`
		ActorToken       string `json:"actor_token,omitempty" doc:"Token exchange: an access token of this tenant acting as a user, named in the act claim."`
		ActorTokenType   string `json:"actor_token_type,omitempty" doc:"Token exchange: urn:ietf:params:oauth:token-type:access_token, with actor_token."`
	}
	// customDataBody is a JSON object of free-form custom data.
	customDataBody map[string]any
)

// Query parameters shared by several routes.
var (
	searchQuery = []string{"search", "mode", "joint", "isCaseSensitive"}
	userQuery   = []string{"includeSsoIdentities", "includePasswordHash", "excludeRoleId", "excludeOrganizationId", "isSuspended",
		"search", "mode", "joint", "isCaseSensitive"}
)

// operations describes every route of the route table, by method and
// pattern (without the /t/:tenant prefix). Declarative: never changed.
var operations = map[string]operation{
	"GET /oidc/.well-known/openid-configuration":                 {summary: "OpenID Connect discovery document", replies: replyOK(auth.DiscoveryDocument{})},
	"GET /.well-known/openid-configuration":                      {summary: "OpenID Connect discovery document, at the root", replies: replyOK(auth.DiscoveryDocument{})},
	"GET /.well-known/oauth-authorization-server":                {summary: "OAuth 2.0 authorization server metadata (RFC 8414)", replies: replyOK(auth.DiscoveryDocument{})},
	"GET /.well-known/oauth-authorization-server/oidc":           {summary: "RFC 8414 metadata of tenant default's issuer ({base}/oidc)", replies: replyOK(auth.DiscoveryDocument{})},
	"GET /.well-known/oauth-authorization-server/t/:tenant/oidc": {summary: "RFC 8414 metadata of a tenant's issuer ({base}/t/T/oidc)", replies: replyOK(auth.DiscoveryDocument{})},
	"GET /.well-known/openid-configuration/oidc":                 {summary: "Discovery document of tenant default's issuer, RFC 8414's form", replies: replyOK(auth.DiscoveryDocument{})},
	"GET /.well-known/openid-configuration/t/:tenant/oidc":       {summary: "Discovery document of a tenant's issuer, RFC 8414's form", replies: replyOK(auth.DiscoveryDocument{})},
	"GET /oauth/v2/keys": {summary: "Public signing keys (JWKS), at ZITADEL's path",
		replies: []reply{{status: 200, body: jwksBody{}, contentType: "application/jwk-set+json"}}},
	"POST /oauth/v2/token": {summary: "Issue an access token, at ZITADEL's path (as POST /oidc/token)", form: tokenForm{},
		replies: []reply{{status: 200, body: auth.TokenResponse{}, secret: alwaysSecret}}},
	"GET /oidc/jwks": {summary: "Public signing keys (JWKS)",
		replies: []reply{{status: 200, body: jwksBody{}, contentType: "application/jwk-set+json"}}},
	"POST /oidc/token": {summary: "Issue an access token (client credentials or JWT bearer grant)", form: tokenForm{},
		replies: []reply{{status: 200, body: auth.TokenResponse{}, secret: alwaysSecret}}},
	"GET /api/status":                    {summary: "Liveness check", replies: replyNoContent},
	"GET /api/status/ready":              {summary: "Readiness check: the data file takes a write and, in cluster mode, the node has caught up", replies: replyNoContent},
	"GET /api/status/leader":             {summary: "Leader check: 204 while this node leads the cluster (always without cluster mode), for a load balancer that routes writes", replies: replyNoContent},
	"GET /api/swagger.json":              {summary: "This OpenAPI document", replies: []reply{{status: 200, body: map[string]any{}}, {status: 304}}},
	"GET /api/users":                     {summary: "List users", list: pagesAlways, query: userQuery, replies: replyOK([]userListEntry{})},
	"POST /api/users":                    {summary: "Create a user", body: userCreateRequest{}, replies: replyOK(userResponse{})},
	"POST /api/users/:userId":            {summary: "Create up to 1,000 users at once, all or none (idbolt's own)", path: "/api/users/batch", body: userBatchRequest{}, replies: replyCreated([]userResponse{})},
	"GET /api/users/:userId":             {summary: "Get a user", query: []string{"includeSsoIdentities", "includePasswordHash"}, replies: replyOK(userListEntry{})},
	"PATCH /api/users/:userId":           {summary: "Update a user", body: userUpdateRequest{}, replies: replyOK(userResponse{})},
	"DELETE /api/users/:userId":          {summary: "Delete a user", replies: replyNoContent},
	"GET /api/users/:userId/custom-data": {summary: "Get a user's custom data", replies: replyOK(customDataBody{})},
	"PATCH /api/users/:userId/custom-data": {summary: "Replace a user's custom data", body: userCustomDataRequest{},
		replies: replyOK(customDataBody{})},
	"PATCH /api/users/:userId/profile":                       {summary: "Update a user's profile", body: userProfileRequest{}, replies: replyOK(store.Profile{})},
	"PATCH /api/users/:userId/password":                      {summary: "Set a user's password", body: passwordRequest{}, replies: replyOK(userResponse{})},
	"POST /api/users/:userId/password/verify":                {summary: "Verify a user's password", body: passwordRequest{}, replies: replyNoContent},
	"PATCH /api/users/:userId/password/expiration":           {summary: "Mark a user's password expired or not (expiring needs the password expiration policy on)", body: passwordExpirationRequest{}, replies: replyOK(userResponse{})},
	"GET /api/users/:userId/has-password":                    {summary: "Whether a user has a password", replies: replyOK(hasPasswordResponse{})},
	"PATCH /api/users/:userId/is-suspended":                  {summary: "Suspend or reinstate a user", body: userSuspendRequest{}, replies: replyOK(userResponse{})},
	"POST /api/users/:userId/identities":                     {summary: "Link a social identity through a connector (idbolt has no social connectors: 404)", body: identityLinkRequest{}, replies: replyOK(identitiesMap{})},
	"GET /api/users/:userId/identities/:target":              {summary: "Get a user's identity at a provider", replies: replyOK(userIdentityResponse{})},
	"PUT /api/users/:userId/identities/:target":              {summary: "Set a user's identity at a provider (201 when new)", body: identityPutRequest{}, replies: []reply{{status: 200, body: identitiesMap{}}, {status: 201, body: identitiesMap{}}}},
	"DELETE /api/users/:userId/identities/:target":           {summary: "Remove a user's identity at a provider", replies: replyOK(userResponse{})},
	"GET /api/users/:userId/personal-access-tokens":          {summary: "List a user's personal access tokens (without their values)", replies: replyOK([]personalAccessTokenResponse{})},
	"POST /api/users/:userId/personal-access-tokens":         {summary: "Create a personal access token (its value shown once)", body: patCreateRequest{}, replies: replyCreatedSecret(createdPersonalAccessToken{})},
	"PATCH /api/users/:userId/personal-access-tokens":        {summary: "Rename a personal access token named by currentName", body: patRenameRequest{}, replies: replyOK(personalAccessTokenResponse{})},
	"PATCH /api/users/:userId/personal-access-tokens/:name":  {summary: "Rename a personal access token", body: patRenameRequest{}, replies: replyOK(personalAccessTokenResponse{})},
	"DELETE /api/users/:userId/personal-access-tokens/:name": {summary: "Delete a personal access token", replies: replyNoContent},
	"POST /api/users/:userId/personal-access-tokens/delete":  {summary: "Delete a personal access token named in the body", body: patDeleteRequest{}, replies: replyNoContent},
	"GET /api/users/:userId/all-identities":                  {summary: "List a user's identities", replies: replyOK(allIdentitiesResponse{})},
	"GET /api/users/:userId/keys":                            {summary: "List a service user's keys", replies: replyOK([]userKeyResponse{})},
	"POST /api/users/:userId/keys":                           {summary: "Add a key to a service user (generated, shown once, or uploaded)", body: userKeyCreateRequest{}, replies: []reply{{status: 201, body: oneOfBodies{userKeyResponse{}, keyFileResponse{}}, secret: sometimesSecret}}},
	"DELETE /api/users/:userId/keys/:keyId":                  {summary: "Delete a service user's key", replies: replyNoContent},
	"GET /api/users/:userId/roles":                           {summary: "List a user's roles", list: pagesAlways, query: searchQuery, replies: replyOK([]roleResponse{})},
	"POST /api/users/:userId/roles":                          {summary: "Add roles to a user", body: roleIDsBody{}, replies: replyCreated(assignResponse{})},
	"PUT /api/users/:userId/roles":                           {summary: "Replace a user's roles", body: roleIDsBody{}, replies: replyOK(roleIDsBody{})},
	"DELETE /api/users/:userId/roles/:roleId":                {summary: "Remove a role from a user", replies: replyNoContent},
	"GET /api/users/:userId/organizations":                   {summary: "List a user's organizations with its roles there", replies: replyOK([]organizationWithRoles{})},
	"GET /api/applications":                                  {summary: "List applications", list: pagesOnRequest, query: append([]string{"types", "isThirdParty", "excludeRoleId", "excludeOrganizationId"}, searchQuery...), replies: replyOK([]applicationResponse{})},
	"POST /api/applications":                                 {summary: "Create an application", body: applicationCreateRequest{}, replies: replyOKSecret(applicationResponse{})},
	"GET /api/applications/:applicationId":                   {summary: "Get an application", replies: replyOK(applicationDetail{})},
	"PATCH /api/applications/:applicationId":                 {summary: "Update an application", body: applicationUpdateRequest{}, replies: replyOK(applicationResponse{})},
	"DELETE /api/applications/:applicationId":                {summary: "Delete an application", replies: replyNoContent},
	"GET /api/applications/:applicationId/custom-data":       {summary: "Get an application's custom data", replies: replyOK(customDataBody{})},
	"PATCH /api/applications/:applicationId/custom-data": {summary: "Merge into an application's custom data", body: customDataBody{},
		replies: replyOK(customDataBody{})},
	"GET /api/applications/:applicationId/secrets":          {summary: "List an application's secrets", replies: replyOKSecret([]secretResponse{})},
	"POST /api/applications/:applicationId/secrets":         {summary: "Add an application secret (its value shown once)", body: applicationSecretCreateRequest{}, replies: replyCreatedSecret(createdSecretResponse{})},
	"PATCH /api/applications/:applicationId/secrets/:name":  {summary: "Rename an application secret", body: applicationSecretUpdateRequest{}, replies: replyOK(secretResponse{})},
	"DELETE /api/applications/:applicationId/secrets/:name": {summary: "Delete an application secret", replies: replyNoContent},
	"DELETE /api/applications/:applicationId/legacy-secret": {summary: "Delete an application's legacy secret (Logto's answer shape; idbolt's applications have only named secrets, so it is always 400 application.no_legacy_secret_found)", replies: replyOK(applicationResponse{})},
	"GET /api/applications/:applicationId/roles":            {summary: "List an application's roles", list: pagesAlways, query: searchQuery, replies: replyOK([]roleResponse{})},
	"POST /api/applications/:applicationId/roles":           {summary: "Add roles to an application", body: roleIDsBody{}, replies: replyCreated(assignResponse{})},
	"PUT /api/applications/:applicationId/roles":            {summary: "Replace an application's roles", body: roleIDsBody{}, replies: replyOK(roleIDsBody{})},
	"DELETE /api/applications/:applicationId/roles/:roleId": {summary: "Remove a role from an application", replies: replyNoContent},
	"GET /api/applications/:applicationId/organizations":    {summary: "List an application's organizations with its roles there", list: pagesOnRequest, replies: replyOK([]organizationWithRoles{})},

	"GET /api/resources":                                    {summary: "List API resources", list: pagesOnRequest, query: []string{"includeScopes"}, replies: replyOK([]resourceListItem{})},
	"POST /api/resources":                                   {summary: "Create an API resource", body: resourceCreateRequest{}, replies: replyCreated(resourceListItem{})},
	"GET /api/resources/:resourceId":                        {summary: "Get an API resource", replies: replyOK(resourceResponse{})},
	"PATCH /api/resources/:resourceId":                      {summary: "Update an API resource", body: resourceUpdateRequest{}, replies: replyOK(resourceResponse{})},
	"DELETE /api/resources/:resourceId":                     {summary: "Delete an API resource", replies: replyNoContent},
	"PATCH /api/resources/:resourceId/is-default":           {summary: "Make an API resource the default or not", body: resourceIsDefaultRequest{}, replies: replyOK(resourceResponse{})},
	"GET /api/resources/:resourceId/scopes":                 {summary: "List an API resource's scopes", list: pagesOnRequest, query: searchQuery, replies: replyOK([]scopeResponse{})},
	"POST /api/resources/:resourceId/scopes":                {summary: "Create a scope", body: scopeRequest{}, replies: replyCreated(scopeResponse{})},
	"PATCH /api/resources/:resourceId/scopes/:scopeId":      {summary: "Update a scope", body: scopeRequest{}, replies: replyOK(scopeResponse{})},
	"DELETE /api/resources/:resourceId/scopes/:scopeId":     {summary: "Delete a scope", replies: replyNoContent},
	"GET /api/roles":                                        {summary: "List roles", list: pagesAlways, query: append([]string{"excludeUserId", "excludeApplicationId", "type"}, searchQuery...), replies: replyOK([]roleListItem{})},
	"POST /api/roles":                                       {summary: "Create a role", body: roleCreateRequest{}, replies: replyOK(roleResponse{})},
	"GET /api/roles/:roleId":                                {summary: "Get a role", replies: replyOK(roleResponse{})},
	"PATCH /api/roles/:roleId":                              {summary: "Update a role", body: roleUpdateRequest{}, replies: replyOK(roleResponse{})},
	"DELETE /api/roles/:roleId":                             {summary: "Delete a role", replies: replyNoContent},
	"GET /api/roles/:roleId/scopes":                         {summary: "List a role's scopes", list: pagesOnRequest, query: searchQuery, replies: replyOK([]roleScopeResponse{})},
	"POST /api/roles/:roleId/scopes":                        {summary: "Add scopes to a role", body: scopeIDsBody{}, replies: replyCreated([]scopeResponse{})},
	"DELETE /api/roles/:roleId/scopes/:scopeId":             {summary: "Remove a scope from a role", replies: replyNoContent},
	"GET /api/roles/:roleId/users":                          {summary: "List a role's users", list: pagesAlways, query: searchQuery, replies: replyOK([]userResponse{})},
	"POST /api/roles/:roleId/users":                         {summary: "Assign a role to users", body: userIDsBody{}, replies: replyCreatedEmpty},
	"DELETE /api/roles/:roleId/users/:userId":               {summary: "Remove a role from a user", replies: replyNoContent},
	"GET /api/roles/:roleId/applications":                   {summary: "List a role's applications", list: pagesAlways, query: searchQuery, replies: replyOK([]applicationResponse{})},
	"POST /api/roles/:roleId/applications":                  {summary: "Assign a role to applications", body: applicationIDsBody{}, replies: replyCreatedEmpty},
	"DELETE /api/roles/:roleId/applications/:applicationId": {summary: "Remove a role from an application", replies: replyNoContent},

	"GET /api/organizations":                                     {summary: "List organizations", list: pagesAlways, query: []string{"q", "showFeatured"}, replies: replyOK([]organizationListItem{})},
	"POST /api/organizations":                                    {summary: "Create an organization", body: organizationBody{}, replies: replyCreated(organizationResponse{})},
	"GET /api/organizations/:organizationId":                     {summary: "Get an organization", replies: replyOK(organizationResponse{})},
	"PATCH /api/organizations/:organizationId":                   {summary: "Update an organization", body: organizationBody{}, replies: replyOK(organizationResponse{})},
	"DELETE /api/organizations/:organizationId":                  {summary: "Delete an organization", replies: replyNoContent},
	"GET /api/organizations/:organizationId/users":               {summary: "List an organization's members", list: pagesAlways, query: []string{"q", "organizationRoleId"}, replies: replyOK([]organizationUserItem{})},
	"POST /api/organizations/:organizationId/users":              {summary: "Add members to an organization", body: userIDsBody{}, replies: replyCreated(userIDsBody{})},
	"PUT /api/organizations/:organizationId/users":               {summary: "Replace an organization's members", body: userIDsBody{}, replies: replyNoContent},
	"POST /api/organizations/:organizationId/users/:userId":      {summary: "Assign organization roles to several members", path: "/api/organizations/:organizationId/users/roles", body: organizationMembersRolesBody{}, replies: replyCreatedEmpty},
	"DELETE /api/organizations/:organizationId/users/:userId":    {summary: "Remove a member from an organization", replies: replyNoContent},
	"GET /api/organizations/:organizationId/users/:userId/roles": {summary: "List a member's organization roles", list: pagesOnRequest, replies: replyOK([]organizationRoleResponse{})},
	"POST /api/organizations/:organizationId/users/:userId/roles": {summary: "Add organization roles to a member (by id or name)", body: organizationUserRolesRequest{},
		replies: replyCreated(organizationRoleIDsBody{})},
	"PUT /api/organizations/:organizationId/users/:userId/roles":                        {summary: "Replace a member's organization roles", body: organizationUserRolesRequest{}, replies: replyNoContent},
	"DELETE /api/organizations/:organizationId/users/:userId/roles/:organizationRoleId": {summary: "Remove an organization role from a member", replies: replyNoContent},
	"GET /api/organizations/:organizationId/users/:userId/scopes":                       {summary: "List a member's organization scopes", replies: replyOK([]organizationScopeResponse{})},
	"GET /api/organizations/:organizationId/applications":                               {summary: "List an organization's applications", list: pagesAlways, replies: replyOK([]organizationApplicationItem{})},
	"POST /api/organizations/:organizationId/applications":                              {summary: "Add applications to an organization", body: applicationIDsBody{}, replies: replyCreatedEmpty},
	"PUT /api/organizations/:organizationId/applications":                               {summary: "Replace an organization's applications", body: applicationIDsBody{}, replies: replyNoContent},
	"POST /api/organizations/:organizationId/applications/:applicationId": {summary: "Assign organization roles to several applications", path: "/api/organizations/:organizationId/applications/roles",
		body: organizationApplicationsRolesBody{}, replies: replyCreatedEmpty},
	"DELETE /api/organizations/:organizationId/applications/:applicationId":                           {summary: "Remove an application from an organization", replies: replyNoContent},
	"GET /api/organizations/:organizationId/applications/:applicationId/roles":                        {summary: "List an application's organization roles", list: pagesOnRequest, replies: replyOK([]organizationRoleResponse{})},
	"POST /api/organizations/:organizationId/applications/:applicationId/roles":                       {summary: "Add organization roles to an application", body: organizationRoleIDsBody{}, replies: replyCreatedEmpty},
	"PUT /api/organizations/:organizationId/applications/:applicationId/roles":                        {summary: "Replace an application's organization roles", body: organizationRoleIDsBody{}, replies: replyNoContent},
	"DELETE /api/organizations/:organizationId/applications/:applicationId/roles/:organizationRoleId": {summary: "Remove an organization role from an application", replies: replyNoContent},
	"GET /api/organization-roles":                                                    {summary: "List organization roles", list: pagesAlways, query: []string{"q"}, replies: replyOK([]organizationRoleListItem{})},
	"POST /api/organization-roles":                                                   {summary: "Create an organization role", body: organizationRoleCreateRequest{}, replies: replyCreated(organizationRoleResponse{})},
	"GET /api/organization-roles/:organizationRoleId":                                {summary: "Get an organization role", replies: replyOK(organizationRoleResponse{})},
	"PATCH /api/organization-roles/:organizationRoleId":                              {summary: "Update an organization role", body: organizationRoleUpdateRequest{}, replies: replyOK(organizationRoleResponse{})},
	"DELETE /api/organization-roles/:organizationRoleId":                             {summary: "Delete an organization role", replies: replyNoContent},
	"GET /api/organization-roles/:organizationRoleId/scopes":                         {summary: "List an organization role's scopes", list: pagesAlways, replies: replyOK([]organizationScopeResponse{})},
	"POST /api/organization-roles/:organizationRoleId/scopes":                        {summary: "Add organization scopes to an organization role", body: organizationScopeIDsBody{}, replies: replyCreatedEmpty},
	"PUT /api/organization-roles/:organizationRoleId/scopes":                         {summary: "Replace an organization role's scopes", body: organizationScopeIDsBody{}, replies: replyNoContent},
	"DELETE /api/organization-roles/:organizationRoleId/scopes/:organizationScopeId": {summary: "Remove a scope from an organization role", replies: replyNoContent},
	"GET /api/organization-roles/:organizationRoleId/resource-scopes":                {summary: "List an organization role's resource scopes", list: pagesAlways, replies: replyOK([]scopeResponse{})},
	"POST /api/organization-roles/:organizationRoleId/resource-scopes":               {summary: "Add resource scopes to an organization role", body: scopeIDsBody{}, replies: replyCreatedEmpty},
	"PUT /api/organization-roles/:organizationRoleId/resource-scopes":                {summary: "Replace an organization role's resource scopes", body: scopeIDsBody{}, replies: replyNoContent},
	"DELETE /api/organization-roles/:organizationRoleId/resource-scopes/:scopeId":    {summary: "Remove a resource scope from an organization role", replies: replyNoContent},
	"GET /api/organization-scopes":                                                   {summary: "List organization scopes", list: pagesOnRequest, query: []string{"q"}, replies: replyOK([]organizationScopeResponse{})},
	"POST /api/organization-scopes":                                                  {summary: "Create an organization scope", body: organizationScopeBody{}, replies: replyCreated(organizationScopeResponse{})},
	"GET /api/organization-scopes/:organizationScopeId":                              {summary: "Get an organization scope", replies: replyOK(organizationScopeResponse{})},
	"PATCH /api/organization-scopes/:organizationScopeId":                            {summary: "Update an organization scope", body: organizationScopeBody{}, replies: replyOK(organizationScopeResponse{})},
	"DELETE /api/organization-scopes/:organizationScopeId":                           {summary: "Delete an organization scope", replies: replyNoContent},
	"GET /api/dashboard/users/total":                                                 {summary: "Count the tenant's users", replies: replyOK(totalUsersResponse{})},
	"GET /api/dashboard/users/new":                                                   {summary: "Count the users created in the last 24 hours and 7 days, with the change from the period before", replies: replyOK(newUsersResponse{})},
	"GET /api/dashboard/users/active":                                                {summary: "Count the active users of a day, its week and its month (UTC), with the change from the period before, and the daily counts of its 30 days", query: []string{"date"}, replies: replyOK(activeUsersResponse{})},
	"POST /api/subject-tokens":                                                       {summary: "Create a subject token to act as a user (its value shown once; exchanged once within 600 s)", body: subjectTokenRequest{}, replies: replyCreatedSecret(subjectTokenResponse{})},
	"GET /api/one-time-tokens":                                                       {summary: "List one-time tokens (without their values)", list: pagesOnRequest, query: []string{"email", "status"}, replies: replyOK([]oneTimeTokenResponse{})},
	"POST /api/one-time-tokens":                                                      {summary: "Create a one-time token (its value shown once)", body: oneTimeTokenCreateRequest{}, replies: replyCreatedSecret(oneTimeTokenWithValue{})},
	"POST /api/one-time-tokens/verify":                                               {summary: "Verify and consume a one-time token", body: oneTimeTokenVerifyRequest{}, replies: replyOKSecret(oneTimeTokenWithValue{})},
	"GET /api/one-time-tokens/:id":                                                   {summary: "Get a one-time token (without its value)", replies: replyOK(oneTimeTokenResponse{})},
	"DELETE /api/one-time-tokens/:id":                                                {summary: "Delete a one-time token", replies: replyNoContent},
	"PUT /api/one-time-tokens/:id/status":                                            {summary: "Set a one-time token's status (consumed, revoked or expired)", body: oneTimeTokenStatusRequest{}, replies: replyOK(oneTimeTokenResponse{})},
	"GET /api/organization-invitations":                                              {summary: "List organization invitations", query: []string{"organizationId", "inviterId", "invitee"}, replies: replyOK([]invitationResponse{})},
	"POST /api/organization-invitations":                                             {summary: "Invite someone to an organization", body: invitationCreateRequest{}, replies: replyCreated(invitationResponse{})},
	"GET /api/organization-invitations/:invitationId":                                {summary: "Get an organization invitation", replies: replyOK(invitationResponse{})},
	"DELETE /api/organization-invitations/:invitationId":                             {summary: "Delete an organization invitation", replies: replyNoContent},
	"PUT /api/organization-invitations/:invitationId/status":                         {summary: "Accept or revoke an organization invitation", body: invitationStatusRequest{}, replies: replyOK(invitationResponse{})},
	"POST /api/organization-invitations/:invitationId/message":                       {summary: "Send an invitation's email again", body: invitationMessageBody{}, replies: replyNoContent},
	"GET /api/connector-factories":                                                   {summary: "List the connector factories (HTTP email, HTTP SMS, SMTP)", replies: replyOK([]connectorFactoryResponse{})},
	"GET /api/connector-factories/:factoryId":                                        {summary: "Get a connector factory", replies: replyOK(connectorFactoryResponse{})},
	"GET /api/sign-in-exp":                                                           {summary: "Get the sign-in experience (idbolt acts on passwordExpiration and forgotPasswordMethods only)", replies: replyOK(signInExpResponse{})},
	"PATCH /api/sign-in-exp":                                                         {summary: "Update the sign-in experience", body: map[string]any{}, replies: replyOK(signInExpResponse{})},
	"GET /api/connectors":                                                            {summary: "List connectors", query: []string{"target"}, replies: replyOK([]connectorResponse{})},
	"POST /api/connectors":                                                           {summary: "Create a connector (replaces the tenant's connector of its type)", body: connectorCreateRequest{}, replies: replyOK(connectorResponse{})},
	"GET /api/connectors/:connectorId":                                               {summary: "Get a connector", replies: replyOK(connectorResponse{})},
	"PATCH /api/connectors/:connectorId":                                             {summary: "Update a connector", body: connectorUpdateRequest{}, replies: replyOK(connectorResponse{})},
	"DELETE /api/connectors/:connectorId":                                            {summary: "Delete a connector", replies: replyNoContent},
	"POST /api/connectors/:connectorId/test":                                         {summary: "Send a test message with a factory and a config", path: "/api/connectors/{factoryId}/test", body: connectorTestRequest{}, replies: replyNoContent},
	"POST /api/verification-codes":                                                   {summary: "Send a verification code to an email or phone through the tenant's connector", body: verificationCodeRequest{}, replies: replyNoContent},
	"POST /api/verification-codes/verify":                                            {summary: "Verify a verification code (once; 10 wrong codes void it)", body: verificationCodeRequest{}, replies: replyNoContent},

	"GET /api/api-clients":                                       {summary: "List API clients (idbolt's own)", list: pagesAlways, query: searchQuery, replies: replyOK([]apiClientResponse{})},
	"POST /api/api-clients":                                      {summary: "Create an API client (its secret shown once)", body: apiClientCreateRequest{}, replies: replyCreatedSecret(apiClientResponse{})},
	"GET /api/api-clients/:clientId":                             {summary: "Get an API client", replies: replyOK(apiClientResponse{})},
	"PATCH /api/api-clients/:clientId":                           {summary: "Update an API client", body: apiClientUpdateRequest{}, replies: replyOK(apiClientResponse{})},
	"DELETE /api/api-clients/:clientId":                          {summary: "Delete an API client", replies: replyNoContent},
	"POST /api/api-clients/:clientId/secret":                     {summary: "Rotate an API client's secret (shown once)", body: apiClientSecretRequest{}, replies: replyCreatedSecret(apiClientSecretResponse{})},
	"POST /api/api-clients/:clientId/disable":                    {summary: "Disable an API client", replies: replyOK(apiClientResponse{})},
	"POST /api/api-clients/:clientId/enable":                     {summary: "Enable an API client", replies: replyOK(apiClientResponse{})},
	"GET /api/managers":                                          {summary: "List the tenant's managers (idbolt's own)", list: pagesAlways, replies: replyOK([]managerResponse{})},
	"POST /api/managers":                                         {summary: "Set a tenant manager's roles", body: managerSetRequest{}, replies: managerSetReplies},
	"DELETE /api/managers/:userId":                               {summary: "Remove a tenant manager", replies: replyNoContent},
	"GET /api/organizations/:organizationId/managers":            {summary: "List an organization's managers", list: pagesAlways, replies: replyOK([]managerResponse{})},
	"POST /api/organizations/:organizationId/managers":           {summary: "Set an organization manager's roles", body: managerSetRequest{}, replies: managerSetReplies},
	"DELETE /api/organizations/:organizationId/managers/:userId": {summary: "Remove an organization manager", replies: replyNoContent},
	"GET /api/resources/:resourceId/managers":                    {summary: "List an API resource's managers", list: pagesAlways, replies: replyOK([]managerResponse{})},
	"POST /api/resources/:resourceId/managers":                   {summary: "Set an API resource manager's roles", body: managerSetRequest{}, replies: managerSetReplies},
	"DELETE /api/resources/:resourceId/managers/:userId":         {summary: "Remove an API resource manager", query: []string{"organizationId"}, replies: replyNoContent},
	"GET /api/hooks":                                             {summary: "List webhooks", list: pagesOnRequest, query: []string{"includeExecutionStats"}, replies: replyOKSecret([]hookWithStats{})},
	"POST /api/hooks":                                            {summary: "Create a webhook", body: hookRequestBody{}, replies: replyCreatedSecret(hookResponse{})},
	"GET /api/hooks/:id":                                         {summary: "Get a webhook", query: []string{"includeExecutionStats"}, replies: replyOKSecret(hookWithStats{})},
	"PATCH /api/hooks/:id":                                       {summary: "Update a webhook", body: hookRequestBody{}, replies: replyOKSecret(hookResponse{})},
	"DELETE /api/hooks/:id":                                      {summary: "Delete a webhook", replies: replyNoContent},
	"GET /api/hooks/:id/recent-logs":                             {summary: "List a webhook's delivery attempts", list: pagesAlways, query: []string{"logKey", "start_time", "end_time"}, replies: replyOK([]hookLogResponse{})},
	"POST /api/hooks/:id/test":                                   {summary: "Send a sample of each event to a URL, signed with the webhook's key", body: hookTestBody{}, replies: replyNoContent},
	"PATCH /api/hooks/:id/signing-key":                           {summary: "Give a webhook a new signing key", replies: replyOKSecret(hookResponse{})},
	"GET /api/logs":                                              {summary: "List audit log entries", list: pagesAlways, query: []string{"logKey", "userId", "applicationId", "startTime", "endTime"}, replies: replyOK([]logResponse{})},
	"GET /api/logs/:id":                                          {summary: "Get an audit log entry", replies: replyOK(logResponse{})},
	"GET /api/configs/oidc/:keyType":                             {summary: "List the signing keys (private-keys) or cookie keys, without key material", replies: replyOK([]oidcKeyResponse{})},
	"POST /api/configs/oidc/:keyType/rotate":                     {summary: "Rotate the signing or cookie keys", body: oidcKeysRotateRequest{}, replies: replyOK([]oidcKeyResponse{})},
	"DELETE /api/configs/oidc/:keyType/:keyId":                   {summary: "Delete a previous signing or cookie key", replies: replyNoContent},
	"GET /api/configs/jwt-customizer":                            {summary: "List the custom JWT claims scripts", replies: replyOKSecret([]jwtCustomizerListItem{})},
	"GET /api/configs/jwt-customizer/:tokenTypePath":             {summary: "Get the custom JWT claims script of access-token or client-credentials", replies: replyOKSecret(jwtCustomizerResponse{})},
	"PUT /api/configs/jwt-customizer/:tokenTypePath": {summary: "Create or replace a custom JWT claims script", body: jwtCustomizerRequest{},
		replies: []reply{{status: 200, body: jwtCustomizerResponse{}, secret: alwaysSecret}, {status: 201, body: jwtCustomizerResponse{}, secret: alwaysSecret}}},
	"PATCH /api/configs/jwt-customizer/:tokenTypePath":  {summary: "Change a custom JWT claims script", body: jwtCustomizerRequest{}, replies: replyOKSecret(jwtCustomizerResponse{})},
	"DELETE /api/configs/jwt-customizer/:tokenTypePath": {summary: "Delete a custom JWT claims script", replies: replyNoContent},
	"POST /api/configs/jwt-customizer/test":             {summary: "Run a custom JWT claims script on a sample token and context, storing nothing", body: jwtCustomizerTestRequest{}, replies: replyOK(map[string]any{})},

	"GET /system/tenants":                  {summary: "List tenants", list: pagesAlways, replies: replyOK([]tenantResponse{})},
	"POST /system/tenants":                 {summary: "Create a tenant (its admin credentials shown once)", body: tenantCreateRequest{}, replies: replyCreatedSecret(tenantResponse{})},
	"GET /system/tenants/:id":              {summary: "Get a tenant", replies: replyOK(tenantResponse{})},
	"PATCH /system/tenants/:id":            {summary: "Update a tenant", body: tenantUpdateRequest{}, replies: []reply{{status: 200, body: tenantResponse{}, secret: sometimesSecret}}},
	"DELETE /system/tenants/:id":           {summary: "Delete a tenant and all its data", replies: replyNoContent},
	"GET /system/backup":                   {summary: "Download a consistent copy of the data file", replies: []reply{{status: 200, contentType: "application/octet-stream", secret: alwaysSecret}}},
	"GET /system/admins":                   {summary: "List instance administrators", list: pagesAlways, replies: replyOK([]systemAdminResponse{})},
	"POST /system/admins":                  {summary: "Make an application an instance administrator", body: systemAdminCreateRequest{}, replies: replyCreated(systemAdminResponse{})},
	"DELETE /system/admins/:applicationId": {summary: "Remove an instance administrator", replies: replyNoContent},
	"GET /system/cluster":                  {summary: "Cluster status", replies: replyOK(cluster.Status{})},
	"POST /system/cluster/nodes":           {summary: "Add a voter to the cluster", body: clusterAddNode{}, replies: replyOK(cluster.Status{})},
	"DELETE /system/cluster/nodes/:id":     {summary: "Remove a node from the cluster", replies: replyNoContent},
}

// managerSetReplies: 201 when the manager is new, 200 when its roles are replaced.
var managerSetReplies = []reply{{status: 200, body: managerResponse{}}, {status: 201, body: managerResponse{}}}

// Request bodies of the routes that read one id list (decodeIDs); the
// handlers read them through idsRequest, which holds every such field.
type (
	roleIDsBody struct {
		RoleIDs []string `json:"roleIds"`
	}
	scopeIDsBody struct {
		ScopeIDs []string `json:"scopeIds"`
	}
	applicationIDsBody struct {
		ApplicationIDs []string `json:"applicationIds"`
	}
	organizationScopeIDsBody struct {
		OrganizationScopeIDs []string `json:"organizationScopeIds"`
	}
	organizationMembersRolesBody struct {
		UserIDs             []string `json:"userIds"`
		OrganizationRoleIDs []string `json:"organizationRoleIds"`
	}
	organizationApplicationsRolesBody struct {
		ApplicationIDs      []string `json:"applicationIds"`
		OrganizationRoleIDs []string `json:"organizationRoleIds"`
	}
)

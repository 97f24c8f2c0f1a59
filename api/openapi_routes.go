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

func ok(body any) []reply       { return []reply{{status: 200, body: body}} }
func okSecret(body any) []reply { return []reply{{status: 200, body: body, secret: alwaysSecret}} }
func created(body any) []reply  { return []reply{{status: 201, body: body}} }
func createdSecret(body any) []reply {
	return []reply{{status: 201, body: body, secret: alwaysSecret}}
}

var (
	noContent   = []reply{{status: 204}}
	createdNone = []reply{{status: 201}}
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
		GrantType      string `json:"grant_type" doc:"client_credentials or urn:ietf:params:oauth:grant-type:jwt-bearer"`
		Resource       string `json:"resource,omitempty" doc:"The API resource indicator the token is for."`
		Scope          string `json:"scope,omitempty" doc:"Space-separated scopes."`
		ClientID       string `json:"client_id,omitempty" doc:"client_secret_post: the client id (or HTTP Basic)."`
		ClientSecret   string `json:"client_secret,omitempty" doc:"client_secret_post: the client secret (or HTTP Basic)."`
		Assertion      string `json:"assertion,omitempty" doc:"The JWT bearer grant's signed assertion (RFC 7523)."`
		OrganizationID string `json:"organization_id,omitempty" doc:"An organization token for this organization."`
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
	"GET /oidc/.well-known/openid-configuration": {summary: "OpenID Connect discovery document", replies: ok(auth.DiscoveryDocument{})},
	"GET /oidc/jwks": {summary: "Public signing keys (JWKS)",
		replies: []reply{{status: 200, body: jwksBody{}, contentType: "application/jwk-set+json"}}},
	"POST /oidc/token": {summary: "Issue an access token (client credentials or JWT bearer grant)", form: tokenForm{},
		replies: []reply{{status: 200, body: auth.TokenResponse{}, secret: alwaysSecret}}},
	"GET /api/status":                    {summary: "Liveness check", replies: noContent},
	"GET /api/status/ready":              {summary: "Readiness check: the data file takes a write and, in cluster mode, the node has caught up", replies: noContent},
	"GET /api/swagger.json":              {summary: "This OpenAPI document", replies: []reply{{status: 200, body: map[string]any{}}, {status: 304}}},
	"GET /api/users":                     {summary: "List users", list: pagesAlways, query: userQuery, replies: ok([]userListEntry{})},
	"POST /api/users":                    {summary: "Create a user", body: userCreateRequest{}, replies: ok(userResponse{})},
	"POST /api/users/:userId":            {summary: "Create up to 1,000 users at once, all or none (idbolt's own)", path: "/api/users/batch", body: userBatchRequest{}, replies: created([]userResponse{})},
	"GET /api/users/:userId":             {summary: "Get a user", query: []string{"includeSsoIdentities", "includePasswordHash"}, replies: ok(userListEntry{})},
	"PATCH /api/users/:userId":           {summary: "Update a user", body: userUpdateRequest{}, replies: ok(userResponse{})},
	"DELETE /api/users/:userId":          {summary: "Delete a user", replies: noContent},
	"GET /api/users/:userId/custom-data": {summary: "Get a user's custom data", replies: ok(customDataBody{})},
	"PATCH /api/users/:userId/custom-data": {summary: "Replace a user's custom data", body: userCustomDataRequest{},
		replies: ok(customDataBody{})},
	"PATCH /api/users/:userId/profile":                 {summary: "Update a user's profile", body: userProfileRequest{}, replies: ok(store.Profile{})},
	"PATCH /api/users/:userId/password":                {summary: "Set a user's password", body: passwordRequest{}, replies: ok(userResponse{})},
	"POST /api/users/:userId/password/verify":          {summary: "Verify a user's password", body: passwordRequest{}, replies: noContent},
	"GET /api/users/:userId/has-password":              {summary: "Whether a user has a password", replies: ok(hasPasswordResponse{})},
	"PATCH /api/users/:userId/is-suspended":            {summary: "Suspend or reinstate a user", body: userSuspendRequest{}, replies: ok(userResponse{})},
	"GET /api/users/:userId/keys":                      {summary: "List a service user's keys", replies: ok([]userKeyResponse{})},
	"POST /api/users/:userId/keys":                     {summary: "Add a key to a service user (generated, shown once, or uploaded)", body: userKeyCreateRequest{}, replies: []reply{{status: 201, body: oneOfBodies{userKeyResponse{}, keyFileResponse{}}, secret: sometimesSecret}}},
	"DELETE /api/users/:userId/keys/:keyId":            {summary: "Delete a service user's key", replies: noContent},
	"GET /api/users/:userId/roles":                     {summary: "List a user's roles", list: pagesAlways, query: searchQuery, replies: ok([]roleResponse{})},
	"POST /api/users/:userId/roles":                    {summary: "Add roles to a user", body: roleIDsBody{}, replies: created(assignResponse{})},
	"PUT /api/users/:userId/roles":                     {summary: "Replace a user's roles", body: roleIDsBody{}, replies: ok(roleIDsBody{})},
	"DELETE /api/users/:userId/roles/:roleId":          {summary: "Remove a role from a user", replies: noContent},
	"GET /api/users/:userId/organizations":             {summary: "List a user's organizations with its roles there", replies: ok([]organizationWithRoles{})},
	"GET /api/applications":                            {summary: "List applications", list: pagesOnRequest, query: append([]string{"types", "isThirdParty", "excludeRoleId", "excludeOrganizationId"}, searchQuery...), replies: ok([]applicationResponse{})},
	"POST /api/applications":                           {summary: "Create an application", body: applicationCreateRequest{}, replies: okSecret(applicationResponse{})},
	"GET /api/applications/:applicationId":             {summary: "Get an application", replies: ok(applicationDetail{})},
	"PATCH /api/applications/:applicationId":           {summary: "Update an application", body: applicationUpdateRequest{}, replies: ok(applicationResponse{})},
	"DELETE /api/applications/:applicationId":          {summary: "Delete an application", replies: noContent},
	"GET /api/applications/:applicationId/custom-data": {summary: "Get an application's custom data", replies: ok(customDataBody{})},
	"PATCH /api/applications/:applicationId/custom-data": {summary: "Merge into an application's custom data", body: customDataBody{},
		replies: ok(customDataBody{})},
	"GET /api/applications/:applicationId/secrets":          {summary: "List an application's secrets", replies: okSecret([]secretResponse{})},
	"POST /api/applications/:applicationId/secrets":         {summary: "Add an application secret (its value shown once)", body: applicationSecretCreateRequest{}, replies: createdSecret(createdSecretResponse{})},
	"PATCH /api/applications/:applicationId/secrets/:name":  {summary: "Rename an application secret", body: applicationSecretUpdateRequest{}, replies: ok(secretResponse{})},
	"DELETE /api/applications/:applicationId/secrets/:name": {summary: "Delete an application secret", replies: noContent},
	"GET /api/applications/:applicationId/roles":            {summary: "List an application's roles", list: pagesAlways, query: searchQuery, replies: ok([]roleResponse{})},
	"POST /api/applications/:applicationId/roles":           {summary: "Add roles to an application", body: roleIDsBody{}, replies: created(assignResponse{})},
	"PUT /api/applications/:applicationId/roles":            {summary: "Replace an application's roles", body: roleIDsBody{}, replies: ok(roleIDsBody{})},
	"DELETE /api/applications/:applicationId/roles/:roleId": {summary: "Remove a role from an application", replies: noContent},
	"GET /api/applications/:applicationId/organizations":    {summary: "List an application's organizations with its roles there", list: pagesOnRequest, replies: ok([]organizationWithRoles{})},

	"GET /api/resources":                                    {summary: "List API resources", list: pagesOnRequest, query: []string{"includeScopes"}, replies: ok([]resourceListItem{})},
	"POST /api/resources":                                   {summary: "Create an API resource", body: resourceCreateRequest{}, replies: created(resourceListItem{})},
	"GET /api/resources/:resourceId":                        {summary: "Get an API resource", replies: ok(resourceResponse{})},
	"PATCH /api/resources/:resourceId":                      {summary: "Update an API resource", body: resourceUpdateRequest{}, replies: ok(resourceResponse{})},
	"DELETE /api/resources/:resourceId":                     {summary: "Delete an API resource", replies: noContent},
	"PATCH /api/resources/:resourceId/is-default":           {summary: "Make an API resource the default or not", body: resourceIsDefaultRequest{}, replies: ok(resourceResponse{})},
	"GET /api/resources/:resourceId/scopes":                 {summary: "List an API resource's scopes", list: pagesOnRequest, query: searchQuery, replies: ok([]scopeResponse{})},
	"POST /api/resources/:resourceId/scopes":                {summary: "Create a scope", body: scopeRequest{}, replies: created(scopeResponse{})},
	"PATCH /api/resources/:resourceId/scopes/:scopeId":      {summary: "Update a scope", body: scopeRequest{}, replies: ok(scopeResponse{})},
	"DELETE /api/resources/:resourceId/scopes/:scopeId":     {summary: "Delete a scope", replies: noContent},
	"GET /api/roles":                                        {summary: "List roles", list: pagesAlways, query: append([]string{"excludeUserId", "excludeApplicationId", "type"}, searchQuery...), replies: ok([]roleListItem{})},
	"POST /api/roles":                                       {summary: "Create a role", body: roleCreateRequest{}, replies: ok(roleResponse{})},
	"GET /api/roles/:roleId":                                {summary: "Get a role", replies: ok(roleResponse{})},
	"PATCH /api/roles/:roleId":                              {summary: "Update a role", body: roleUpdateRequest{}, replies: ok(roleResponse{})},
	"DELETE /api/roles/:roleId":                             {summary: "Delete a role", replies: noContent},
	"GET /api/roles/:roleId/scopes":                         {summary: "List a role's scopes", list: pagesOnRequest, query: searchQuery, replies: ok([]roleScopeResponse{})},
	"POST /api/roles/:roleId/scopes":                        {summary: "Add scopes to a role", body: scopeIDsBody{}, replies: created([]scopeResponse{})},
	"DELETE /api/roles/:roleId/scopes/:scopeId":             {summary: "Remove a scope from a role", replies: noContent},
	"GET /api/roles/:roleId/users":                          {summary: "List a role's users", list: pagesAlways, query: searchQuery, replies: ok([]userResponse{})},
	"POST /api/roles/:roleId/users":                         {summary: "Assign a role to users", body: userIDsBody{}, replies: createdNone},
	"DELETE /api/roles/:roleId/users/:userId":               {summary: "Remove a role from a user", replies: noContent},
	"GET /api/roles/:roleId/applications":                   {summary: "List a role's applications", list: pagesAlways, query: searchQuery, replies: ok([]applicationResponse{})},
	"POST /api/roles/:roleId/applications":                  {summary: "Assign a role to applications", body: applicationIDsBody{}, replies: createdNone},
	"DELETE /api/roles/:roleId/applications/:applicationId": {summary: "Remove a role from an application", replies: noContent},

	"GET /api/organizations":                                     {summary: "List organizations", list: pagesAlways, query: []string{"q", "showFeatured"}, replies: ok([]organizationListItem{})},
	"POST /api/organizations":                                    {summary: "Create an organization", body: organizationBody{}, replies: created(organizationResponse{})},
	"GET /api/organizations/:organizationId":                     {summary: "Get an organization", replies: ok(organizationResponse{})},
	"PATCH /api/organizations/:organizationId":                   {summary: "Update an organization", body: organizationBody{}, replies: ok(organizationResponse{})},
	"DELETE /api/organizations/:organizationId":                  {summary: "Delete an organization", replies: noContent},
	"GET /api/organizations/:organizationId/users":               {summary: "List an organization's members", list: pagesAlways, query: []string{"q", "organizationRoleId"}, replies: ok([]organizationUserItem{})},
	"POST /api/organizations/:organizationId/users":              {summary: "Add members to an organization", body: userIDsBody{}, replies: created(userIDsBody{})},
	"PUT /api/organizations/:organizationId/users":               {summary: "Replace an organization's members", body: userIDsBody{}, replies: noContent},
	"POST /api/organizations/:organizationId/users/:userId":      {summary: "Assign organization roles to several members", path: "/api/organizations/:organizationId/users/roles", body: organizationMembersRolesBody{}, replies: createdNone},
	"DELETE /api/organizations/:organizationId/users/:userId":    {summary: "Remove a member from an organization", replies: noContent},
	"GET /api/organizations/:organizationId/users/:userId/roles": {summary: "List a member's organization roles", list: pagesOnRequest, replies: ok([]organizationRoleResponse{})},
	"POST /api/organizations/:organizationId/users/:userId/roles": {summary: "Add organization roles to a member (by id or name)", body: organizationUserRolesRequest{},
		replies: created(organizationRoleIDsBody{})},
	"PUT /api/organizations/:organizationId/users/:userId/roles":                        {summary: "Replace a member's organization roles", body: organizationUserRolesRequest{}, replies: noContent},
	"DELETE /api/organizations/:organizationId/users/:userId/roles/:organizationRoleId": {summary: "Remove an organization role from a member", replies: noContent},
	"GET /api/organizations/:organizationId/users/:userId/scopes":                       {summary: "List a member's organization scopes", replies: ok([]organizationScopeResponse{})},
	"GET /api/organizations/:organizationId/applications":                               {summary: "List an organization's applications", list: pagesAlways, replies: ok([]organizationApplicationItem{})},
	"POST /api/organizations/:organizationId/applications":                              {summary: "Add applications to an organization", body: applicationIDsBody{}, replies: createdNone},
	"PUT /api/organizations/:organizationId/applications":                               {summary: "Replace an organization's applications", body: applicationIDsBody{}, replies: noContent},
	"POST /api/organizations/:organizationId/applications/:applicationId": {summary: "Assign organization roles to several applications", path: "/api/organizations/:organizationId/applications/roles",
		body: organizationApplicationsRolesBody{}, replies: createdNone},
	"DELETE /api/organizations/:organizationId/applications/:applicationId":                           {summary: "Remove an application from an organization", replies: noContent},
	"GET /api/organizations/:organizationId/applications/:applicationId/roles":                        {summary: "List an application's organization roles", list: pagesOnRequest, replies: ok([]organizationRoleResponse{})},
	"POST /api/organizations/:organizationId/applications/:applicationId/roles":                       {summary: "Add organization roles to an application", body: organizationRoleIDsBody{}, replies: createdNone},
	"PUT /api/organizations/:organizationId/applications/:applicationId/roles":                        {summary: "Replace an application's organization roles", body: organizationRoleIDsBody{}, replies: noContent},
	"DELETE /api/organizations/:organizationId/applications/:applicationId/roles/:organizationRoleId": {summary: "Remove an organization role from an application", replies: noContent},
	"GET /api/organization-roles":                                                    {summary: "List organization roles", list: pagesAlways, query: []string{"q"}, replies: ok([]organizationRoleListItem{})},
	"POST /api/organization-roles":                                                   {summary: "Create an organization role", body: organizationRoleCreateRequest{}, replies: created(organizationRoleResponse{})},
	"GET /api/organization-roles/:organizationRoleId":                                {summary: "Get an organization role", replies: ok(organizationRoleResponse{})},
	"PATCH /api/organization-roles/:organizationRoleId":                              {summary: "Update an organization role", body: organizationRoleUpdateRequest{}, replies: ok(organizationRoleResponse{})},
	"DELETE /api/organization-roles/:organizationRoleId":                             {summary: "Delete an organization role", replies: noContent},
	"GET /api/organization-roles/:organizationRoleId/scopes":                         {summary: "List an organization role's scopes", list: pagesAlways, replies: ok([]organizationScopeResponse{})},
	"POST /api/organization-roles/:organizationRoleId/scopes":                        {summary: "Add organization scopes to an organization role", body: organizationScopeIDsBody{}, replies: createdNone},
	"PUT /api/organization-roles/:organizationRoleId/scopes":                         {summary: "Replace an organization role's scopes", body: organizationScopeIDsBody{}, replies: noContent},
	"DELETE /api/organization-roles/:organizationRoleId/scopes/:organizationScopeId": {summary: "Remove a scope from an organization role", replies: noContent},
	"GET /api/organization-roles/:organizationRoleId/resource-scopes":                {summary: "List an organization role's resource scopes", list: pagesAlways, replies: ok([]scopeResponse{})},
	"POST /api/organization-roles/:organizationRoleId/resource-scopes":               {summary: "Add resource scopes to an organization role", body: scopeIDsBody{}, replies: createdNone},
	"PUT /api/organization-roles/:organizationRoleId/resource-scopes":                {summary: "Replace an organization role's resource scopes", body: scopeIDsBody{}, replies: noContent},
	"DELETE /api/organization-roles/:organizationRoleId/resource-scopes/:scopeId":    {summary: "Remove a resource scope from an organization role", replies: noContent},
	"GET /api/organization-scopes":                                                   {summary: "List organization scopes", list: pagesOnRequest, query: []string{"q"}, replies: ok([]organizationScopeResponse{})},
	"POST /api/organization-scopes":                                                  {summary: "Create an organization scope", body: organizationScopeBody{}, replies: created(organizationScopeResponse{})},
	"GET /api/organization-scopes/:organizationScopeId":                              {summary: "Get an organization scope", replies: ok(organizationScopeResponse{})},
	"PATCH /api/organization-scopes/:organizationScopeId":                            {summary: "Update an organization scope", body: organizationScopeBody{}, replies: ok(organizationScopeResponse{})},
	"DELETE /api/organization-scopes/:organizationScopeId":                           {summary: "Delete an organization scope", replies: noContent},
	"GET /api/organization-invitations":                                              {summary: "List organization invitations", query: []string{"organizationId", "inviterId", "invitee"}, replies: ok([]invitationResponse{})},
	"POST /api/organization-invitations":                                             {summary: "Invite someone to an organization", body: invitationCreateRequest{}, replies: created(invitationResponse{})},
	"GET /api/organization-invitations/:invitationId":                                {summary: "Get an organization invitation", replies: ok(invitationResponse{})},
	"DELETE /api/organization-invitations/:invitationId":                             {summary: "Delete an organization invitation", replies: noContent},
	"PUT /api/organization-invitations/:invitationId/status":                         {summary: "Accept or revoke an organization invitation", body: invitationStatusRequest{}, replies: ok(invitationResponse{})},
	"POST /api/organization-invitations/:invitationId/message":                       {summary: "Send an invitation's email again", body: invitationMessageBody{}, replies: noContent},

	"GET /api/api-clients":                                       {summary: "List API clients (idbolt's own)", list: pagesAlways, query: searchQuery, replies: ok([]apiClientResponse{})},
	"POST /api/api-clients":                                      {summary: "Create an API client (its secret shown once)", body: apiClientCreateRequest{}, replies: createdSecret(apiClientResponse{})},
	"GET /api/api-clients/:clientId":                             {summary: "Get an API client", replies: ok(apiClientResponse{})},
	"PATCH /api/api-clients/:clientId":                           {summary: "Update an API client", body: apiClientUpdateRequest{}, replies: ok(apiClientResponse{})},
	"DELETE /api/api-clients/:clientId":                          {summary: "Delete an API client", replies: noContent},
	"POST /api/api-clients/:clientId/secret":                     {summary: "Rotate an API client's secret (shown once)", body: apiClientSecretRequest{}, replies: createdSecret(apiClientSecretResponse{})},
	"POST /api/api-clients/:clientId/disable":                    {summary: "Disable an API client", replies: ok(apiClientResponse{})},
	"POST /api/api-clients/:clientId/enable":                     {summary: "Enable an API client", replies: ok(apiClientResponse{})},
	"GET /api/managers":                                          {summary: "List the tenant's managers (idbolt's own)", list: pagesAlways, replies: ok([]managerResponse{})},
	"POST /api/managers":                                         {summary: "Set a tenant manager's roles", body: managerSetRequest{}, replies: managerSetReplies},
	"DELETE /api/managers/:userId":                               {summary: "Remove a tenant manager", replies: noContent},
	"GET /api/organizations/:organizationId/managers":            {summary: "List an organization's managers", list: pagesAlways, replies: ok([]managerResponse{})},
	"POST /api/organizations/:organizationId/managers":           {summary: "Set an organization manager's roles", body: managerSetRequest{}, replies: managerSetReplies},
	"DELETE /api/organizations/:organizationId/managers/:userId": {summary: "Remove an organization manager", replies: noContent},
	"GET /api/resources/:resourceId/managers":                    {summary: "List an API resource's managers", list: pagesAlways, replies: ok([]managerResponse{})},
	"POST /api/resources/:resourceId/managers":                   {summary: "Set an API resource manager's roles", body: managerSetRequest{}, replies: managerSetReplies},
	"DELETE /api/resources/:resourceId/managers/:userId":         {summary: "Remove an API resource manager", query: []string{"organizationId"}, replies: noContent},
	"GET /api/logs":                                              {summary: "List audit log entries", list: pagesAlways, query: []string{"logKey", "userId", "applicationId", "startTime", "endTime"}, replies: ok([]logResponse{})},
	"GET /api/logs/:id":                                          {summary: "Get an audit log entry", replies: ok(logResponse{})},
	"GET /api/configs/oidc/:keyType":                             {summary: "List the signing keys (private-keys) or cookie keys, without key material", replies: ok([]oidcKeyResponse{})},
	"POST /api/configs/oidc/:keyType/rotate":                     {summary: "Rotate the signing or cookie keys", body: oidcKeysRotateRequest{}, replies: ok([]oidcKeyResponse{})},
	"DELETE /api/configs/oidc/:keyType/:keyId":                   {summary: "Delete a previous signing or cookie key", replies: noContent},

	"GET /system/tenants":                  {summary: "List tenants", list: pagesAlways, replies: ok([]tenantResponse{})},
	"POST /system/tenants":                 {summary: "Create a tenant (its admin credentials shown once)", body: tenantCreateRequest{}, replies: createdSecret(tenantResponse{})},
	"GET /system/tenants/:id":              {summary: "Get a tenant", replies: ok(tenantResponse{})},
	"PATCH /system/tenants/:id":            {summary: "Update a tenant", body: tenantUpdateRequest{}, replies: []reply{{status: 200, body: tenantResponse{}, secret: sometimesSecret}}},
	"DELETE /system/tenants/:id":           {summary: "Delete a tenant and all its data", replies: noContent},
	"GET /system/backup":                   {summary: "Download a consistent copy of the data file", replies: []reply{{status: 200, contentType: "application/octet-stream", secret: alwaysSecret}}},
	"GET /system/admins":                   {summary: "List instance administrators", list: pagesAlways, replies: ok([]systemAdminResponse{})},
	"POST /system/admins":                  {summary: "Make an application an instance administrator", body: systemAdminCreateRequest{}, replies: created(systemAdminResponse{})},
	"DELETE /system/admins/:applicationId": {summary: "Remove an instance administrator", replies: noContent},
	"GET /system/cluster":                  {summary: "Cluster status", replies: ok(cluster.Status{})},
	"POST /system/cluster/nodes":           {summary: "Add a voter to the cluster", body: clusterAddNode{}, replies: ok(cluster.Status{})},
	"DELETE /system/cluster/nodes/:id":     {summary: "Remove a node from the cluster", replies: noContent},
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

package store

// Resource is an API resource (RFC 8707 resource indicator) of a tenant.
type Resource struct {
	ID             string
	Name           string
	Indicator      string
	IsDefault      bool
	AccessTokenTTL int // seconds
	// ReadOnly marks built-in resources (the Management API) that cannot be
	// changed or deleted.
	ReadOnly  bool
	CreatedAt int64
}

// Scope is a permission defined on a resource.
type Scope struct {
	ID          string
	ResourceID  string
	Name        string
	Description *string
	CreatedAt   int64
}

// Role types, as Logto names them.
const (
	RoleUser             = "User"
	RoleMachineToMachine = "MachineToMachine"
)

// Role is a named set of scopes that users or applications hold.
type Role struct {
	ID          string
	Name        string
	Description string
	Type        string
	IsDefault   bool
	// ReadOnly marks built-in roles (Management API access), which cannot
	// be renamed, deleted or given other scopes.
	ReadOnly  bool
	CreatedAt int64
}

// DefaultAccessTokenTTL is the lifetime of an access token, in seconds, when
// the resource does not say otherwise.
const DefaultAccessTokenTTL = 3600

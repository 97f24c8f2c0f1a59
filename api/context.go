package api

import (
	"context"

	"github.com/idbolt/idbolt/auth"
)

// contextKey is private so no other package can read or forge our values.
type contextKey int

const (
	principalKey contextKey = iota
	tenantKey
	managerAccessKey
)

// NewContextWithPrincipal returns ctx carrying the verified caller.
func NewContextWithPrincipal(ctx context.Context, p *auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}

// PrincipalFromContext returns the verified caller, or nil.
func PrincipalFromContext(ctx context.Context) *auth.Principal {
	p, _ := ctx.Value(principalKey).(*auth.Principal)
	return p
}

func newContextWithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey, tenant)
}

// tenantFromContext returns the tenant the request is for, or "".
func tenantFromContext(ctx context.Context) string {
	t, _ := ctx.Value(tenantKey).(string)
	return t
}

package store

import (
	"context"
	"slices"
)

// Access is a level of manager access: none, read, or read and write.
type Access int

// The levels of Access, ordered so that a higher one includes the lower.
const (
	NoAccess Access = iota
	ReadAccess
	WriteAccess
)

// ManagerAccess is what a caller's manager roles let it do, resolved once
// per request. The zero value allows nothing.
type ManagerAccess struct {
	// UserID is the manager: a user, or the user of an API client.
	UserID string
	// Tenant is the access to the whole tenant (IAM_OWNER, IAM_OWNER_VIEWER).
	Tenant Access
	// Organizations maps an organization id to ORG_OWNER(_VIEWER) access.
	Organizations map[string]Access
	// Resources maps a resource id to PROJECT_OWNER(_VIEWER) access.
	Resources map[string]Access
	// Grants maps an organization id to the resources granted in it
	// (PROJECT_GRANT_OWNER).
	Grants map[string][]string
}

// Any reports whether the caller holds any manager role.
func (a *ManagerAccess) Any() bool {
	return a.Tenant > NoAccess || len(a.Organizations) > 0 || len(a.Resources) > 0 || len(a.Grants) > 0
}

// Organization returns the access to organization id: from the tenant, its
// ORG_OWNER roles, or read access for a resource grant in it.
func (a *ManagerAccess) Organization(id string) Access {
	acc := max(a.Tenant, a.Organizations[id])
	if len(a.Grants[id]) > 0 {
		acc = max(acc, ReadAccess)
	}
	return acc
}

// Resource returns the access to resource id: from the tenant, its
// PROJECT_OWNER roles, or read access for a grant of it.
func (a *ManagerAccess) Resource(id string) Access {
	acc := max(a.Tenant, a.Resources[id])
	if acc == NoAccess {
		for _, resources := range a.Grants {
			if slices.Contains(resources, id) {
				return ReadAccess
			}
		}
	}
	return acc
}

// GrantOwner reports whether the caller holds PROJECT_GRANT_OWNER of some
// resource in organization id.
func (a *ManagerAccess) GrantOwner(id string) bool { return len(a.Grants[id]) > 0 }

// OrganizationIDs returns the organizations the caller can read without
// tenant access, sorted.
func (a *ManagerAccess) OrganizationIDs() []string {
	ids := []string{}
	for id := range a.Organizations {
		ids = append(ids, id)
	}
	for id := range a.Grants {
		if a.Organizations[id] == NoAccess {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// ResourceIDs returns the resources the caller can read without tenant
// access, sorted.
func (a *ManagerAccess) ResourceIDs() []string {
	ids := []string{}
	for id := range a.Resources {
		ids = append(ids, id)
	}
	for _, resources := range a.Grants {
		ids = append(ids, resources...)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// FindManagerAccess resolves the manager roles of the holder of a token
// without the Management API's scope all. Only users hold manager roles,
// and the only users with tokens are API clients' users, so the holder is
// the user of API client clientID; any other client has none. One read
// transaction.
func (db *DB) FindManagerAccess(ctx context.Context, tenant, clientID string) (*ManagerAccess, error) {
	out := &ManagerAccess{}
	err := db.View(ctx, tenant, func(tx *Tx) error {
		c, err := findAPIClient(tx, clientID)
		if ErrorCode(err) == ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		return out.collect(tx, c.UserID)
	})
	return out, err
}

// FindUserManagerAccess resolves the manager roles of user userID, for a
// console session signed in with the user's password (api/console.go). A
// user without manager roles gets an access with none (Any is false). One
// read transaction.
func (db *DB) FindUserManagerAccess(ctx context.Context, tenant, userID string) (*ManagerAccess, error) {
	out := &ManagerAccess{}
	err := db.View(ctx, tenant, func(tx *Tx) error { return out.collect(tx, userID) })
	return out, err
}

// collect adds the manager roles of userID.
func (a *ManagerAccess) collect(tx *Tx, userID string) error {
	grants, err := managerGrants(tx, userID)
	if err != nil {
		return err
	}
	a.UserID = userID
	for _, g := range grants {
		for _, role := range g.Roles {
			a.add(g, role)
		}
	}
	return nil
}

// add records one manager role.
func (a *ManagerAccess) add(g Manager, role string) {
	raise := func(m *map[string]Access, id string, acc Access) {
		if *m == nil {
			*m = map[string]Access{}
		}
		(*m)[id] = max((*m)[id], acc)
	}
	switch role {
	case ManagerIAMOwner:
		a.Tenant = WriteAccess
	case ManagerIAMOwnerViewer:
		a.Tenant = max(a.Tenant, ReadAccess)
	case ManagerOrgOwner:
		raise(&a.Organizations, g.OrganizationID, WriteAccess)
	case ManagerOrgOwnerViewer:
		raise(&a.Organizations, g.OrganizationID, ReadAccess)
	case ManagerProjectOwner:
		raise(&a.Resources, g.ResourceID, WriteAccess)
	case ManagerProjectOwnerViewer:
		raise(&a.Resources, g.ResourceID, ReadAccess)
	case ManagerProjectGrantOwner:
		if a.Grants == nil {
			a.Grants = map[string][]string{}
		}
		a.Grants[g.OrganizationID] = append(a.Grants[g.OrganizationID], g.ResourceID)
	}
}

// IsMemberOfAny reports whether user userID is a member of one of orgs.
func (db *DB) IsMemberOfAny(ctx context.Context, tenant, userID string, orgs []string) (bool, error) {
	var ok bool
	err := db.View(ctx, tenant, func(tx *Tx) error {
		var err error
		ok, err = memberOfAny(tx, relOrgUsers, userID, orgs)
		return err
	})
	return ok, err
}

func memberOfAny(tx *Tx, rel relation, member string, orgs []string) (bool, error) {
	for _, org := range orgs {
		if ok, err := rel.has(tx, org, member); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// OrganizationRolesWithin reports whether every organization role of ids
// and names carries no organization scope, some resource scope, and only
// resource scopes of resources: the roles a PROJECT_GRANT_OWNER may hand
// out. Unknown roles
// count as within, so the assignment itself reports them.
func (db *DB) OrganizationRolesWithin(ctx context.Context, tenant string, ids, names, resources []string) (bool, error) {
	ok := true
	err := db.View(ctx, tenant, func(tx *Tx) error {
		for _, name := range names {
			id, err := orgRolesTable.idOf(tx, name)
			if err != nil {
				return err
			} else if id != "" {
				ids = append(ids, id)
			}
		}
		for _, id := range ids {
			scopes, err := relOrgRoleScopes.list(tx, id)
			if err != nil {
				return err
			}
			if len(scopes) > 0 {
				ok = false
				return nil
			}
			resScopes, err := relOrgRoleResScopes.list(tx, id)
			if err != nil {
				return err
			}
			if len(resScopes) == 0 {
				ok = false // a role without scopes may mean anything to an app
				return nil
			}
			for _, sid := range resScopes {
				s, err := findScope(tx, sid)
				if err != nil {
					return err
				}
				if !slices.Contains(resources, s.ResourceID) {
					ok = false
					return nil
				}
			}
		}
		return nil
	})
	return ok, err
}

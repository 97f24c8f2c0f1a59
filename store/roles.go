package store

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/search"
)

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

// RoleCreate is the input of CreateRole.
type RoleCreate struct {
	// ID is the new role's id; empty makes one. A given id (an import
	// keeping a source's ids) must be free: ECONFLICT otherwise.
	ID          string
	Name        string
	Description string
	Type        string // RoleUser when empty
	IsDefault   bool
	ScopeIDs    []string
}

// RoleUpdate is the input of UpdateRole; nil fields stay unchanged.
type RoleUpdate struct {
	Name        *string
	Description *string
	IsDefault   *bool
}

// RoleFilter selects roles in FindRoles.
type RoleFilter struct {
	Type                 string // RoleUser, RoleMachineToMachine or "" for both
	ExcludeUserID        string // leave out the roles this user holds
	ExcludeApplicationID string // leave out the roles this application holds
	Search               search.Query
}

// RoleWithCounts is a role as GET /api/roles lists it, with Logto's counts
// and up to three featured holders of each kind.
type RoleWithCounts struct {
	*Role
	UsersCount           int
	FeaturedUsers        []FeaturedUser
	ApplicationsCount    int
	FeaturedApplications []FeaturedApplication
}

// FeaturedUser is a user shown beside a role.
type FeaturedUser struct {
	ID     string
	Avatar *string
	Name   *string
}

// FeaturedApplication is an application shown beside a role.
type FeaturedApplication struct {
	ID   string
	Name string
	Type string
}

// ScopeWithResource is a scope with the resource it belongs to.
type ScopeWithResource struct {
	*Scope
	Resource *Resource
}

// RoleSearchOptions returns the fields a role list searches, as in Logto.
func RoleSearchOptions() search.Options {
	return search.Options{Fields: []string{"id", "name", "description"}}
}

const (
	maxRoleName   = 128
	featuredLimit = 3
)

func validateRoleFields(name, description *string, roleType string, isDefault *bool) error {
	if name != nil && (*name == "" || utf8.RuneCountInString(*name) > maxRoleName || !utf8.ValidString(*name)) {
		return fieldError("name", "must be 1 to %d characters", maxRoleName)
	}
	if description != nil && (utf8.RuneCountInString(*description) > maxRoleName || !utf8.ValidString(*description)) {
		return fieldError("description", "must be at most %d characters", maxRoleName)
	}
	if err := firstErr(checkName("name", name), checkDescription("description", description)); err != nil {
		return err
	}
	if roleType != RoleUser && roleType != RoleMachineToMachine {
		return fieldError("type", "must be User or MachineToMachine")
	}
	if isDefault != nil && *isDefault && roleType != RoleUser {
		return fieldError("isDefault", "only User roles can be default roles")
	}
	return nil
}

// findRole returns the stored record of role id, or ENOTFOUND.
func findRole(tx *Tx, id string) (*roleRecord, error) {
	var r roleRecord
	if err := rolesTable.get(tx, id, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func errInternalRole() *Error {
	return detailErrorf(EFORBIDDEN, "role.internal_role_violation", "Built-in roles cannot be changed or deleted.")
}

// checkRoleName returns ECONFLICT if a role other than self is called name.
func checkRoleName(tx *Tx, self, name string) error {
	byName, err := tx.bucket(bucketRolesByName)
	if err != nil {
		return err
	}
	if id := byName.Get([]byte(name)); id != nil && string(id) != self {
		return detailErrorf(ECONFLICT, "role.name_in_use", "This role name %s is already in use.", name)
	}
	return nil
}

// putRole stores a new role and indexes its name.
func putRole(tx *Tx, r *roleRecord) error {
	if err := checkRoleName(tx, "", r.Name); err != nil {
		return err
	}
	byName, err := tx.bucket(bucketRolesByName)
	if err != nil {
		return err
	}
	if err := rolesTable.insert(tx, r.ID, &r.Seq, r); err != nil {
		return err
	}
	return byName.Put([]byte(r.Name), []byte(r.ID))
}

// CreateRole stores a new role holding scopeIDs. Returns EINVALID; ENOTFOUND
// for an unknown scope; ECONFLICT for a name in use; EUNPROCESSABLE for a
// Management API scope on a User role.
func (db *DB) CreateRole(ctx context.Context, tenant string, in RoleCreate) (*Role, error) {
	if in.Type == "" {
		in.Type = RoleUser
	}
	if err := validateRoleFields(&in.Name, &in.Description, in.Type, &in.IsDefault); err != nil {
		return nil, err
	}
	id, err := givenOrNewID(in.ID, 21)
	if err != nil {
		return nil, err
	}
	var out *Role
	err = db.Update(ctx, tenant, func(tx *Tx) error {
		if err := checkRoleName(tx, "", in.Name); err != nil {
			return err
		}
		if taken, err := rolesTable.exists(tx, id); err != nil || taken {
			return cmpErr(err, errIDInUse("role", id))
		}
		r := roleRecord{ID: id, Name: in.Name, Description: in.Description, Type: in.Type,
			IsDefault: in.IsDefault, CreatedAt: msec(tx.now)}
		check := scopeCheck(tx, &r)
		for _, s := range dedupe(in.ScopeIDs) {
			if err := check(s); err != nil {
				return err
			}
		}
		if err := putRole(tx, &r); err != nil {
			return err
		}
		if _, err := assign(tx, relRoleScopes, id, in.ScopeIDs, false, nil); err != nil {
			return err
		}
		out = r.toRole()
		return tx.auditTarget("Management.Role.Create", "role", id)
	})
	return out, err
}

// FindRoleByID returns role id. Returns ENOTFOUND.
func (db *DB) FindRoleByID(ctx context.Context, tenant, id string) (*Role, error) {
	var out *Role
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findRole(tx, id)
		if err != nil {
			return err
		}
		out = r.toRole()
		return nil
	})
	return out, err
}

// FindRoles returns one page of roles, newest first, with their counts, and
// the number of roles that match filter.
func (db *DB) FindRoles(ctx context.Context, tenant string, filter RoleFilter, p pagination.Params) ([]*RoleWithCounts, int, error) {
	out := []*RoleWithCounts{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		var r roleRecord
		match := func(id string, v []byte) (bool, error) {
			if filter.ExcludeUserID != "" {
				if has, err := relUserRoles.has(tx, filter.ExcludeUserID, id); err != nil || has {
					return false, err
				}
			}
			if filter.ExcludeApplicationID != "" {
				if has, err := relAppRoles.has(tx, filter.ExcludeApplicationID, id); err != nil || has {
					return false, err
				}
			}
			r = roleRecord{}
			if err := json.Unmarshal(v, &r); err != nil {
				return false, fmt.Errorf("decode role %s: %w", id, err)
			}
			if filter.Type != "" && r.Type != filter.Type {
				return false, nil
			}
			return filter.Search.Match(r.searchField), nil
		}
		emit := func(string, []byte) error {
			rc, err := withCounts(ctx, tx, &r)
			if err != nil {
				return err
			}
			out = append(out, rc)
			return nil
		}
		var err error
		total, err = rolesTable.walk(ctx, tx, p, true, match, emit)
		return err
	})
	return out, total, err
}

// withCounts adds Logto's holder counts and featured holders to role r.
func withCounts(ctx context.Context, tx *Tx, r *roleRecord) (*RoleWithCounts, error) {
	out := &RoleWithCounts{Role: r.toRole(), FeaturedUsers: []FeaturedUser{}, FeaturedApplications: []FeaturedApplication{}}
	roleUsers, roleApps := relUserRoles.inverse(), relAppRoles.inverse()
	var err error
	if out.UsersCount, err = roleUsers.count(tx, r.ID); err != nil {
		return nil, err
	}
	if out.ApplicationsCount, err = roleApps.count(tx, r.ID); err != nil {
		return nil, err
	}
	first := pagination.Params{Page: 1, PageSize: featuredLimit}
	if _, err := roleUsers.walk(ctx, tx, r.ID, first, nil, func(id string) error {
		u, err := findUserRecord(tx, id)
		if err != nil {
			return err
		}
		out.FeaturedUsers = append(out.FeaturedUsers, FeaturedUser{ID: u.ID, Avatar: u.Avatar, Name: u.Name})
		return nil
	}); err != nil {
		return nil, err
	}
	_, err = roleApps.walk(ctx, tx, r.ID, first, nil, func(id string) error {
		a, err := findApp(tx, id)
		if err != nil {
			return err
		}
		out.FeaturedApplications = append(out.FeaturedApplications, FeaturedApplication{ID: a.ID, Name: a.Name, Type: a.Type})
		return nil
	})
	return out, err
}

// UpdateRole changes the name, description or default flag of role id.
// Returns ENOTFOUND, EINVALID, ECONFLICT for a name in use, or EFORBIDDEN
// for a built-in role.
func (db *DB) UpdateRole(ctx context.Context, tenant, id string, upd RoleUpdate) (*Role, error) {
	var out *Role
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findRole(tx, id)
		if err != nil {
			return err
		}
		if r.ReadOnly {
			return errInternalRole()
		}
		if err := validateRoleFields(upd.Name, upd.Description, r.Type, upd.IsDefault); err != nil {
			return err
		}
		if upd.Name != nil {
			if err := checkRoleName(tx, id, *upd.Name); err != nil {
				return err
			}
			byName, err := tx.bucket(bucketRolesByName)
			if err != nil {
				return err
			}
			if err := byName.Delete([]byte(r.Name)); err != nil {
				return err
			}
			r.Name = *upd.Name
			if err := byName.Put([]byte(r.Name), []byte(id)); err != nil {
				return err
			}
		}
		if upd.Description != nil {
			r.Description = *upd.Description
		}
		if upd.IsDefault != nil {
			r.IsDefault = *upd.IsDefault
		}
		if err := rolesTable.update(tx, id, r); err != nil {
			return err
		}
		out = r.toRole()
		return tx.auditTarget("Management.Role.Update", "role", id)
	})
	return out, err
}

// DeleteRole removes role id and every relation that points at it (scopes,
// users, applications) in one transaction. Returns ENOTFOUND, or EFORBIDDEN
// for a built-in role.
func (db *DB) DeleteRole(ctx context.Context, tenant, id string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findRole(tx, id)
		if err != nil {
			return err
		}
		if r.ReadOnly {
			return errInternalRole()
		}
		if err := deleteRoleRecord(tx, r); err != nil {
			return err
		}
		return tx.auditTarget("Management.Role.Delete", "role", id)
	})
}

// deleteRoleRecord removes role r, its name index and every relation that
// points at it (scopes, users, applications).
func deleteRoleRecord(tx *Tx, r *roleRecord) error {
	if err := cascadeDelete(tx, entityRole, r.ID); err != nil {
		return err
	}
	byName, err := tx.bucket(bucketRolesByName)
	if err != nil {
		return err
	}
	if err := byName.Delete([]byte(r.Name)); err != nil {
		return err
	}
	return rolesTable.delete(tx, r.ID, r.Seq)
}

// defaultUserRoles returns the ids of the User roles marked default, which
// every new user gets.
func defaultUserRoles(ctx context.Context, tx *Tx) ([]string, error) {
	var ids []string
	match := func(id string, v []byte) (bool, error) {
		var r struct {
			Type      string `json:"ty"`
			IsDefault bool   `json:"def"`
		}
		if err := json.Unmarshal(v, &r); err != nil {
			return false, fmt.Errorf("decode role %s: %w", id, err)
		}
		return r.IsDefault && r.Type == RoleUser, nil
	}
	_, err := rolesTable.walk(ctx, tx, pagination.All(), false, match, func(id string, _ []byte) error {
		ids = append(ids, id)
		return nil
	})
	return ids, err
}

// isManagementScope reports whether scope s belongs to a built-in resource.
func isManagementScope(tx *Tx, s *scopeRecord) (bool, error) {
	res, err := findResource(tx, s.ResourceID)
	if err != nil {
		return false, err
	}
	return res.ReadOnly, nil
}

// scopeCheck returns the check for giving a scope to role r: the scope
// exists, and a User role gets no Management API scope.
func scopeCheck(tx *Tx, r *roleRecord) func(string) error {
	return func(id string) error {
		s, err := findScope(tx, id)
		if err != nil {
			return err
		}
		if r.Type == RoleUser {
			if mgmt, err := isManagementScope(tx, s); err != nil {
				return err
			} else if mgmt {
				return detailErrorf(EUNPROCESSABLE, "role.management_api_scopes_not_assignable_to_user_role",
					"Cannot assign management API scopes to a user role.")
			}
		}
		return nil
	}
}

// roleMatch returns the match function of a relation walk over role ids.
func roleMatch(tx *Tx, q search.Query, roleType string) func(id string) (bool, error) {
	return func(id string) (bool, error) {
		r, err := findRole(tx, id)
		if err != nil {
			return false, err
		}
		return (roleType == "" || r.Type == roleType) && q.Match(r.searchField), nil
	}
}

// collectRoles returns an emit function that appends role id to out.
func collectRoles(tx *Tx, out *[]*Role) func(id string) error {
	return func(id string) error {
		r, err := findRole(tx, id)
		if err != nil {
			return err
		}
		*out = append(*out, r.toRole())
		return nil
	}
}

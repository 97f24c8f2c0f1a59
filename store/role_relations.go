package store

import (
	"context"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/search"
)

// Errors of role assignment, with Logto's codes.
func errAppNotM2M() *Error {
	return detailErrorf(EUNPROCESSABLE, "application.invalid_type", "Only machine to machine applications can have associated roles.")
}

func errM2MRoleForUser() *Error {
	return detailErrorf(EUNPROCESSABLE, "user.invalid_role_type", "Invalid role type, can not assign machine-to-machine role to user.")
}

func errUserRoleForApp() *Error {
	return detailErrorf(EUNPROCESSABLE, "application.invalid_role_type", "Can not assign user type role to machine to machine application.")
}

// roleOfType returns a check that id is a role of type t, failing with wrong.
func roleOfType(tx *Tx, t string, wrong func() *Error) func(id string) error {
	return func(id string) error {
		r, err := findRole(tx, id)
		if err != nil {
			return err
		} else if r.Type != t {
			return wrong()
		}
		return nil
	}
}

// findM2MApp returns application id, or EUNPROCESSABLE if it cannot hold roles.
func findM2MApp(tx *Tx, id string) (*appRecord, error) {
	app, err := findApp(tx, id)
	if err != nil {
		return nil, err
	} else if app.Type != AppMachineToMachine {
		return nil, errAppNotM2M()
	}
	return app, nil
}

func m2mAppCheck(tx *Tx) func(id string) error {
	return func(id string) error {
		_, err := findM2MApp(tx, id)
		return err
	}
}

func userCheck(tx *Tx) func(id string) error {
	return func(id string) error {
		_, err := findUserRecord(tx, id)
		return err
	}
}

// AssignUserRoles gives user userID the User roles roleIDs; with replace,
// the user's other roles are removed. Returns the ids newly assigned.
// Returns ENOTFOUND, or EUNPROCESSABLE (user.invalid_role_type) for a
// machine-to-machine role.
func (db *DB) AssignUserRoles(ctx context.Context, tenant, userID string, roleIDs []string, replace bool) ([]string, error) {
	var added []string
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		if _, err := findUserRecord(tx, userID); err != nil {
			return err
		}
		var err error
		added, err = assign(tx, relUserRoles, userID, roleIDs, replace, roleOfType(tx, RoleUser, errM2MRoleForUser))
		if err != nil {
			return err
		}
		return tx.audit("Management.User.Roles.Update", AuditPayload{UserID: userID})
	})
	return added, err
}

// RemoveUserRole takes role roleID from user userID. Returns ENOTFOUND.
func (db *DB) RemoveUserRole(ctx context.Context, tenant, userID, roleID string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		if _, err := findUserRecord(tx, userID); err != nil {
			return err
		}
		if _, err := findRole(tx, roleID); err != nil {
			return err
		}
		if err := unassign(tx, relUserRoles, userID, roleID, "role of the user"); err != nil {
			return err
		}
		return tx.audit("Management.User.Roles.Update", AuditPayload{UserID: userID})
	})
}

// FindUserRoles returns one page of the roles of user userID that match q.
// Returns ENOTFOUND.
func (db *DB) FindUserRoles(ctx context.Context, tenant, userID string, q search.Query, p pagination.Params) ([]*Role, int, error) {
	out := []*Role{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		if _, err := findUserRecord(tx, userID); err != nil {
			return err
		}
		var err error
		total, err = relUserRoles.walk(ctx, tx, userID, p, roleMatch(tx, q, ""), collectRoles(tx, &out))
		return err
	})
	return out, total, err
}

// AssignApplicationRoles gives machine-to-machine application appID the
// machine-to-machine roles roleIDs; with replace, its other roles are
// removed. A role change applies to the next token. Returns the ids newly
// assigned; ENOTFOUND; EUNPROCESSABLE (application.invalid_type,
// application.invalid_role_type).
func (db *DB) AssignApplicationRoles(ctx context.Context, tenant, appID string, roleIDs []string, replace bool) ([]string, error) {
	var added []string
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		if _, err := findM2MApp(tx, appID); err != nil {
			return err
		}
		var err error
		added, err = assign(tx, relAppRoles, appID, roleIDs, replace, roleOfType(tx, RoleMachineToMachine, errUserRoleForApp))
		if err != nil {
			return err
		}
		return tx.auditTarget("Management.Application.Roles.Update", "application", appID)
	})
	return added, err
}

// RemoveApplicationRole takes role roleID from application appID. Returns
// ENOTFOUND or EUNPROCESSABLE (application.invalid_type).
func (db *DB) RemoveApplicationRole(ctx context.Context, tenant, appID, roleID string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		if _, err := findM2MApp(tx, appID); err != nil {
			return err
		}
		if _, err := findRole(tx, roleID); err != nil {
			return err
		}
		if err := unassign(tx, relAppRoles, appID, roleID, "role of the application"); err != nil {
			return err
		}
		return tx.auditTarget("Management.Application.Roles.Update", "application", appID)
	})
}

// FindApplicationRoles returns one page of the roles of application appID
// that match q. Returns ENOTFOUND or EUNPROCESSABLE (application.invalid_type).
func (db *DB) FindApplicationRoles(ctx context.Context, tenant, appID string, q search.Query, p pagination.Params) ([]*Role, int, error) {
	out := []*Role{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		if _, err := findM2MApp(tx, appID); err != nil {
			return err
		}
		var err error
		total, err = relAppRoles.walk(ctx, tx, appID, p, roleMatch(tx, q, RoleMachineToMachine), collectRoles(tx, &out))
		return err
	})
	return out, total, err
}

// AssignRoleUsers gives User role roleID to users userIDs. Returns ENOTFOUND
// or EUNPROCESSABLE (user.invalid_role_type).
func (db *DB) AssignRoleUsers(ctx context.Context, tenant, roleID string, userIDs []string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		if err := roleOfType(tx, RoleUser, errM2MRoleForUser)(roleID); err != nil {
			return err
		}
		if _, err := assign(tx, relUserRoles.inverse(), roleID, userIDs, false, userCheck(tx)); err != nil {
			return err
		}
		return tx.auditTarget("Management.Role.Users.Update", "role", roleID)
	})
}

// RemoveRoleUser takes role roleID from user userID. Returns ENOTFOUND.
func (db *DB) RemoveRoleUser(ctx context.Context, tenant, roleID, userID string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		if _, err := findRole(tx, roleID); err != nil {
			return err
		}
		if _, err := findUserRecord(tx, userID); err != nil {
			return err
		}
		if err := unassign(tx, relUserRoles.inverse(), roleID, userID, "user of the role"); err != nil {
			return err
		}
		return tx.auditTarget("Management.Role.Users.Update", "role", roleID)
	})
}

// FindRoleUsers returns one page of the users holding role roleID that
// match q (user search fields). Returns ENOTFOUND.
func (db *DB) FindRoleUsers(ctx context.Context, tenant, roleID string, q search.Query, p pagination.Params) ([]*User, int, error) {
	out := []*User{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		if _, err := findRole(tx, roleID); err != nil {
			return err
		}
		var u *userRecord
		match := func(id string) (bool, error) {
			var err error
			if u, err = findUserRecord(tx, id); err != nil {
				return false, err
			}
			return q.Match(u.searchField), nil
		}
		var err error
		total, err = relUserRoles.inverse().walk(ctx, tx, roleID, p, match, func(string) error {
			out = append(out, u.toUser())
			return nil
		})
		return err
	})
	return out, total, err
}

// AssignRoleApplications gives machine-to-machine role roleID to
// applications appIDs. Returns ENOTFOUND or EUNPROCESSABLE
// (application.invalid_role_type, application.invalid_type).
func (db *DB) AssignRoleApplications(ctx context.Context, tenant, roleID string, appIDs []string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		if err := roleOfType(tx, RoleMachineToMachine, errUserRoleForApp)(roleID); err != nil {
			return err
		}
		if _, err := assign(tx, relAppRoles.inverse(), roleID, appIDs, false, m2mAppCheck(tx)); err != nil {
			return err
		}
		return tx.auditTarget("Management.Role.Applications.Update", "role", roleID)
	})
}

// RemoveRoleApplication takes role roleID from application appID. Returns
// ENOTFOUND.
func (db *DB) RemoveRoleApplication(ctx context.Context, tenant, roleID, appID string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		if _, err := findRole(tx, roleID); err != nil {
			return err
		}
		if _, err := findApp(tx, appID); err != nil {
			return err
		}
		if err := unassign(tx, relAppRoles.inverse(), roleID, appID, "application of the role"); err != nil {
			return err
		}
		return tx.auditTarget("Management.Role.Applications.Update", "role", roleID)
	})
}

// FindRoleApplications returns one page of the applications holding role
// roleID that match q (application search fields). Returns ENOTFOUND.
func (db *DB) FindRoleApplications(ctx context.Context, tenant, roleID string, q search.Query, p pagination.Params) ([]*Application, int, error) {
	out := []*Application{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		if _, err := findRole(tx, roleID); err != nil {
			return err
		}
		var a *appRecord
		match := func(id string) (bool, error) {
			var err error
			if a, err = findApp(tx, id); err != nil {
				return false, err
			}
			return q.Match(a.searchField), nil
		}
		var err error
		total, err = relAppRoles.inverse().walk(ctx, tx, roleID, p, match, func(string) error {
			out = append(out, a.toApplication())
			return nil
		})
		return err
	})
	return out, total, err
}

// AssignRoleScopes gives role roleID the scopes scopeIDs and returns every
// scope the role then holds, as Logto does.
// Returns ENOTFOUND; EFORBIDDEN for a built-in role; EUNPROCESSABLE when the
// role already holds one (role.scope_exists) or for a Management API scope
// on a User role.
func (db *DB) AssignRoleScopes(ctx context.Context, tenant, roleID string, scopeIDs []string) ([]*Scope, error) {
	var out []*Scope
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findRole(tx, roleID)
		if err != nil {
			return err
		}
		if r.ReadOnly {
			return errInternalRole()
		}
		check := scopeCheck(tx, r)
		ids := dedupe(scopeIDs)
		for _, id := range ids {
			if err := check(id); err != nil {
				return err
			}
			if has, err := relRoleScopes.has(tx, roleID, id); err != nil {
				return err
			} else if has {
				return detailErrorf(EUNPROCESSABLE, "role.scope_exists", "The scope id %s has already been added to this role.", id)
			}
		}
		if _, err := assign(tx, relRoleScopes, roleID, ids, false, nil); err != nil {
			return err
		}
		// Logto answers with every scope the role now holds, not only the new ones.
		held, err := relRoleScopes.list(tx, roleID)
		if err != nil {
			return err
		}
		out = make([]*Scope, 0, len(held))
		for _, id := range held {
			s, err := findScope(tx, id)
			if err != nil {
				return err
			}
			out = append(out, s.toScope())
		}
		return tx.auditTarget("Management.Role.Scopes.Update", "role", roleID)
	})
	return out, err
}

// RemoveRoleScope takes scope scopeID from role roleID. Returns ENOTFOUND or
// EFORBIDDEN for a built-in role.
func (db *DB) RemoveRoleScope(ctx context.Context, tenant, roleID, scopeID string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findRole(tx, roleID)
		if err != nil {
			return err
		}
		if r.ReadOnly {
			return errInternalRole()
		}
		if _, err := findScope(tx, scopeID); err != nil {
			return err
		}
		if err := unassign(tx, relRoleScopes, roleID, scopeID, "scope of the role"); err != nil {
			return err
		}
		return tx.auditTarget("Management.Role.Scopes.Update", "role", roleID)
	})
}

// FindRoleScopes returns one page of the scopes of role roleID that match q,
// each with its resource. Returns ENOTFOUND.
func (db *DB) FindRoleScopes(ctx context.Context, tenant, roleID string, q search.Query, p pagination.Params) ([]ScopeWithResource, int, error) {
	out := []ScopeWithResource{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		if _, err := findRole(tx, roleID); err != nil {
			return err
		}
		var s *scopeRecord
		match := func(id string) (bool, error) {
			var err error
			if s, err = findScope(tx, id); err != nil {
				return false, err
			}
			return q.Match(s.searchField), nil
		}
		var err error
		total, err = relRoleScopes.walk(ctx, tx, roleID, p, match, func(string) error {
			res, err := findResource(tx, s.ResourceID)
			if err != nil {
				return err
			}
			out = append(out, ScopeWithResource{Scope: s.toScope(), Resource: res.toResource()})
			return nil
		})
		return err
	})
	return out, total, err
}

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

// userExists returns ENOTFOUND unless user id exists.
func userExists(tx *Tx, id string) error {
	_, err := findUserRecord(tx, id)
	return err
}

// roleHolderKind is what differs between the users and the applications that
// hold tenant roles, as memberKind is for organization members: the
// relation from holder to role, the role type a holder may hold, how a holder
// is found and what each side's change audits.
type roleHolderKind struct {
	roles     relation // holder -> role
	roleType  string
	wrongRole func() *Error // a role of the other type
	// listType keeps only the roles of this type in a holder's role list;
	// "" keeps every one.
	listType string
	// find finds a holder that may hold roles; exists finds any holder, as
	// removing one from a role's list only needs it to exist.
	find, exists func(tx *Tx, id string) error
	// ownRoles and roleHolders name the missing link in ENOTFOUND, seen
	// from the holder and from the role.
	ownRoles, roleHolders string
	holders               string // who holds roles of roleType, for errors
	audit                 func(tx *Tx, holderID string) error
	roleAction            string // audit action of a change seen from the role
}

var (
	userRoleHolders = roleHolderKind{roles: relUserRoles, roleType: RoleUser, wrongRole: errM2MRoleForUser,
		find:     userExists,
		exists:   userExists,
		ownRoles: "role of the user", roleHolders: "user of the role", holders: "users",
		audit: func(tx *Tx, id string) error {
			return tx.audit("Management.User.Roles.Update", AuditPayload{UserID: id})
		},
		roleAction: "Management.Role.Users.Update"}
	appRoleHolders = roleHolderKind{roles: relAppRoles, roleType: RoleMachineToMachine, wrongRole: errUserRoleForApp,
		listType: RoleMachineToMachine,
		find:     func(tx *Tx, id string) error { _, err := findM2MApp(tx, id); return err },
		exists:   func(tx *Tx, id string) error { _, err := findApp(tx, id); return err },
		ownRoles: "role of the application", roleHolders: "application of the role", holders: "applications",
		audit: func(tx *Tx, id string) error {
			return tx.auditTarget("Management.Application.Roles.Update", "application", id)
		},
		roleAction: "Management.Role.Applications.Update"}
)

// assignRoles gives holder holderID the roles roleIDs; with replace, its
// other roles are removed. It returns the ids newly assigned.
func (db *DB) assignRoles(ctx context.Context, tenant string, k roleHolderKind, holderID string, roleIDs []string, replace bool) ([]string, error) {
	var added []string
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		if err := k.find(tx, holderID); err != nil {
			return err
		}
		var err error
		added, err = assign(tx, k.roles, holderID, roleIDs, replace, roleOfType(tx, k.roleType, k.wrongRole))
		if err != nil {
			return err
		}
		return k.audit(tx, holderID)
	})
	return added, err
}

// removeRole takes role roleID from holder holderID.
func (db *DB) removeRole(ctx context.Context, tenant string, k roleHolderKind, holderID, roleID string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		if err := k.find(tx, holderID); err != nil {
			return err
		}
		if _, err := findRole(tx, roleID); err != nil {
			return err
		}
		if err := unassign(tx, k.roles, holderID, roleID, k.ownRoles); err != nil {
			return err
		}
		return k.audit(tx, holderID)
	})
}

// findRoles returns one page of the roles of holder holderID that match q.
func (db *DB) findRoles(ctx context.Context, tenant string, k roleHolderKind, holderID string, q search.Query, p pagination.Params) ([]*Role, int, error) {
	out := []*Role{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		if err := k.find(tx, holderID); err != nil {
			return err
		}
		var err error
		total, err = k.roles.walk(ctx, tx, holderID, p, roleMatch(tx, q, k.listType), collectRoles(tx, &out))
		return err
	})
	return out, total, err
}

// assignRoleHolders gives role roleID to holders holderIDs. Logto's routes
// on this side check no types: every id must exist (ENOTFOUND), and then its
// database refuses a pair of the wrong types, a role of the other type or an
// application that is not machine-to-machine, as
// entity.db_constraint_violated.
func (db *DB) assignRoleHolders(ctx context.Context, tenant string, k roleHolderKind, roleID string, holderIDs []string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		role, err := findRole(tx, roleID)
		if err != nil {
			return err
		}
		holderIDs = dedupe(holderIDs)
		if err := checkAll(holderIDs, func(id string) error { return k.exists(tx, id) }); err != nil {
			return err
		}
		if role.Type != k.roleType {
			return errConstraint("a " + role.Type + " role cannot be held by " + k.holders)
		}
		fits := func(id string) error {
			if err := k.find(tx, id); ErrorCode(err) == EUNPROCESSABLE {
				return errConstraint("only machine-to-machine applications hold roles")
			} else if err != nil {
				return err
			}
			return nil
		}
		if _, err := assign(tx, k.roles.inverse(), roleID, holderIDs, false, fits); err != nil {
			return err
		}
		return tx.auditTarget(k.roleAction, "role", roleID)
	})
}

// removeRoleHolder takes role roleID from holder holderID.
func (db *DB) removeRoleHolder(ctx context.Context, tenant string, k roleHolderKind, roleID, holderID string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		if _, err := findRole(tx, roleID); err != nil {
			return err
		}
		if err := k.exists(tx, holderID); err != nil {
			return err
		}
		if err := unassign(tx, k.roles.inverse(), roleID, holderID, k.roleHolders); err != nil {
			return err
		}
		return tx.auditTarget(k.roleAction, "role", roleID)
	})
}

// findRoleHolders pages through the holders of role roleID that match q:
// load reads a holder's record, field is its search field function, build
// makes the list item. A holder's record is read once, by the match, and
// built from there.
func findRoleHolders[R, T any](ctx context.Context, db *DB, tenant string, k roleHolderKind, roleID string, q search.Query, p pagination.Params,
	load func(tx *Tx, id string) (R, error), field func(R) func(string) (string, bool), build func(R) T) ([]T, int, error) {
	out := []T{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		if _, err := findRole(tx, roleID); err != nil {
			return err
		}
		var rec R
		match := func(id string) (bool, error) {
			var err error
			if rec, err = load(tx, id); err != nil {
				return false, err
			}
			ok := q.Match(field(rec))
			return ok, searchErr(q.Err()) // a regex out of time stops the walk
		}
		var err error
		total, err = k.roles.inverse().walk(ctx, tx, roleID, p, match, func(string) error {
			out = append(out, build(rec))
			return nil
		})
		return err
	})
	return out, total, err
}

// AssignUserRoles gives user userID the User roles roleIDs; with replace,
// the user's other roles are removed. Returns the ids newly assigned.
// Returns ENOTFOUND, or EUNPROCESSABLE (user.invalid_role_type) for a
// machine-to-machine role.
func (db *DB) AssignUserRoles(ctx context.Context, tenant, userID string, roleIDs []string, replace bool) ([]string, error) {
	return db.assignRoles(ctx, tenant, userRoleHolders, userID, roleIDs, replace)
}

// RemoveUserRole takes role roleID from user userID. Returns ENOTFOUND.
func (db *DB) RemoveUserRole(ctx context.Context, tenant, userID, roleID string) error {
	return db.removeRole(ctx, tenant, userRoleHolders, userID, roleID)
}

// FindUserRoles returns one page of the roles of user userID that match q.
// Returns ENOTFOUND.
func (db *DB) FindUserRoles(ctx context.Context, tenant, userID string, q search.Query, p pagination.Params) ([]*Role, int, error) {
	return db.findRoles(ctx, tenant, userRoleHolders, userID, q, p)
}

// AssignApplicationRoles gives machine-to-machine application appID the
// machine-to-machine roles roleIDs; with replace, its other roles are
// removed. A role change applies to the next token. Returns the ids newly
// assigned; ENOTFOUND; EUNPROCESSABLE (application.invalid_type,
// application.invalid_role_type).
func (db *DB) AssignApplicationRoles(ctx context.Context, tenant, appID string, roleIDs []string, replace bool) ([]string, error) {
	return db.assignRoles(ctx, tenant, appRoleHolders, appID, roleIDs, replace)
}

// RemoveApplicationRole takes role roleID from application appID. Returns
// ENOTFOUND or EUNPROCESSABLE (application.invalid_type).
func (db *DB) RemoveApplicationRole(ctx context.Context, tenant, appID, roleID string) error {
	return db.removeRole(ctx, tenant, appRoleHolders, appID, roleID)
}

// FindApplicationRoles returns one page of the roles of application appID
// that match q. Returns ENOTFOUND or EUNPROCESSABLE (application.invalid_type).
func (db *DB) FindApplicationRoles(ctx context.Context, tenant, appID string, q search.Query, p pagination.Params) ([]*Role, int, error) {
	return db.findRoles(ctx, tenant, appRoleHolders, appID, q, p)
}

// AssignRoleUsers gives User role roleID to users userIDs. Returns ENOTFOUND
// or EUNPROCESSABLE (entity.db_constraint_violated) for a machine-to-machine
// role, as Logto.
func (db *DB) AssignRoleUsers(ctx context.Context, tenant, roleID string, userIDs []string) error {
	return db.assignRoleHolders(ctx, tenant, userRoleHolders, roleID, userIDs)
}

// RemoveRoleUser takes role roleID from user userID. Returns ENOTFOUND.
func (db *DB) RemoveRoleUser(ctx context.Context, tenant, roleID, userID string) error {
	return db.removeRoleHolder(ctx, tenant, userRoleHolders, roleID, userID)
}

// FindRoleUsers returns one page of the users holding role roleID that
// match q (user search fields). Returns ENOTFOUND.
func (db *DB) FindRoleUsers(ctx context.Context, tenant, roleID string, q search.Query, p pagination.Params) ([]*User, int, error) {
	return findRoleHolders(ctx, db, tenant, userRoleHolders, roleID, q, p, findUserRecord,
		func(u *userRecord) func(string) (string, bool) { return u.searchField }, (*userRecord).toUser)
}

// AssignRoleApplications gives machine-to-machine role roleID to
// applications appIDs. Returns ENOTFOUND or EUNPROCESSABLE
// (entity.db_constraint_violated) for a User role or an application that is
// not machine-to-machine, as Logto.
func (db *DB) AssignRoleApplications(ctx context.Context, tenant, roleID string, appIDs []string) error {
	return db.assignRoleHolders(ctx, tenant, appRoleHolders, roleID, appIDs)
}

// RemoveRoleApplication takes role roleID from application appID. Returns
// ENOTFOUND.
func (db *DB) RemoveRoleApplication(ctx context.Context, tenant, roleID, appID string) error {
	return db.removeRoleHolder(ctx, tenant, appRoleHolders, roleID, appID)
}

// FindRoleApplications returns one page of the applications holding role
// roleID that match q (application search fields). Returns ENOTFOUND.
func (db *DB) FindRoleApplications(ctx context.Context, tenant, roleID string, q search.Query, p pagination.Params) ([]*Application, int, error) {
	return findRoleHolders(ctx, db, tenant, appRoleHolders, roleID, q, p, findApp,
		func(a *appRecord) func(string) (string, bool) { return a.searchField }, (*appRecord).toApplication)
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
		newScope := func(id string) error {
			if err := check(id); err != nil {
				return err
			}
			if has, err := relRoleScopes.has(tx, roleID, id); err != nil {
				return err
			} else if has {
				return detailErrorf(EUNPROCESSABLE, "role.scope_exists", "The scope id %s has already been added to this role.", id)
			}
			return nil
		}
		if _, err := assign(tx, relRoleScopes, roleID, scopeIDs, false, newScope); err != nil {
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
		tx.answered(hookDataScopes, out)
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

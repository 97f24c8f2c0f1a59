package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/idbolt/idbolt/pagination"
)

// UserWithOrganizationRoles is a member of an organization with the roles
// it holds there.
type UserWithOrganizationRoles struct {
	*User
	Roles []OrganizationRoleRef
}

// ApplicationWithOrganizationRoles is an application member of an
// organization with the roles it holds there.
type ApplicationWithOrganizationRoles struct {
	*Application
	Roles []OrganizationRoleRef
}

// MemberFilter selects the members of an organization.
type MemberFilter struct {
	// Keyword matches id, username, primaryEmail, primaryPhone or name of a
	// user, or id, name or description of an application, case-insensitively.
	Keyword string
	// RoleID keeps the members that hold this organization role.
	RoleID string
}

// memberKind is what differs between user and application members: the
// relations, the role type they may hold and the errors.
type memberKind struct {
	members  relation
	roles    relation
	roleType string
	entity   string
	find     func(tx *Tx, id string) error
	// idsField names the ids in the answer to adding members, for the
	// hook event's data; empty where Logto's answer has no body we know.
	idsField string
}

var (
	userMembers = memberKind{members: relOrgUsers, roles: relOrgUserRoles, roleType: RoleUser, entity: "user",
		find: userExists, idsField: "userIds"}
	appMembers = memberKind{members: relOrgApps, roles: relOrgAppRoles, roleType: RoleMachineToMachine, entity: "application",
		find: func(tx *Tx, id string) error {
			app, err := findApp(tx, id)
			if err == nil && app.Type != AppMachineToMachine {
				return errConstraint("only machine-to-machine applications can be members of an organization")
			}
			return err
		}}
)

func errRequireMembership() *Error {
	return detailErrorf(EUNPROCESSABLE, "organization.require_membership",
		"The user must be a member of the organization before proceeding.")
}

func errRoleType(kind memberKind) *Error {
	return errConstraint(fmt.Sprintf("only organization roles of type %s can be assigned to a %s", kind.roleType, kind.entity))
}

// roleCheck returns a check that id is an organization role this kind of
// member may hold.
func (k memberKind) roleCheck(tx *Tx) func(id string) error {
	return func(id string) error {
		r, err := findOrgRole(tx, id)
		if err != nil {
			return fk(err)
		} else if r.Type != k.roleType {
			return errRoleType(k)
		}
		return nil
	}
}

// requireMember returns organization.require_membership unless memberID is
// a member of orgID.
func (k memberKind) requireMember(tx *Tx, orgID, memberID string) error {
	if ok, err := k.members.has(tx, orgID, memberID); err != nil {
		return err
	} else if !ok {
		return errRequireMembership()
	}
	return nil
}

func (k memberKind) audit(tx *Tx, orgID string) error {
	return tx.auditTarget("Management.Organization.Members.Update", "organization", orgID)
}

// addMembers makes ids members of orgID; with replace, the other members
// leave, with their roles. Memberships that exist stay as they are.
func (db *DB) addMembers(ctx context.Context, tenant, orgID string, k memberKind, ids []string, replace bool) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		if _, err := findOrg(tx, orgID); err != nil {
			return fk(err)
		}
		check := func(id string) error { return fk(k.find(tx, id)) }
		leave := func(id string) error { return removeMember(tx, k.members, k.roles, orgID, id) }
		if _, err := assignDropping(tx, k.members, orgID, ids, replace, check, leave); err != nil {
			return err
		}
		if k.idsField != "" {
			tx.answered(hookDataMemberIDs, map[string][]string{k.idsField: ids})
		}
		return k.audit(tx, orgID)
	})
}

// removeMemberOf ends the membership of memberID in orgID. Returns
// ENOTFOUND when either is missing or it is not a member.
func (db *DB) removeMemberOf(ctx context.Context, tenant, orgID string, k memberKind, memberID string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		if _, err := findOrg(tx, orgID); err != nil {
			return err
		}
		if ok, err := k.members.has(tx, orgID, memberID); err != nil {
			return err
		} else if !ok {
			return notFound(k.entity+" of the organization", memberID)
		}
		if err := removeMember(tx, k.members, k.roles, orgID, memberID); err != nil {
			return err
		}
		return k.audit(tx, orgID)
	})
}

// assignMemberRoles gives every member of memberIDs every role of roleIDs
// and of roleNames in orgID; with replace (one member only), the member's
// other roles there are removed. It returns the role ids, given ones first,
// without repeats. Every member must belong to the organization (422
// organization.require_membership, which an unknown member or organization
// gets too, before the roles are looked at); an unknown role id is 422
// entity.relation_foreign_key_not_found, an unknown name 422
// organization.role_names_not_found.
func (db *DB) assignMemberRoles(ctx context.Context, tenant, orgID string, k memberKind, memberIDs, roleIDs, roleNames []string, replace bool) ([]string, error) {
	var ids []string
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		members := dedupe(memberIDs)
		if err := checkAll(members, func(id string) error { return k.requireMember(tx, orgID, id) }); err != nil {
			return err
		}
		named, err := orgRoleIDsByName(tx, roleNames)
		if err != nil {
			return err
		}
		ids = dedupe(append(slices.Clip(roleIDs), named...))
		if err := checkAll(ids, k.roleCheck(tx)); err != nil {
			return err
		}
		for _, m := range members {
			if _, err := assign(tx, k.roles, string(pairKey(orgID, m)), ids, replace, nil); err != nil {
				return err
			}
		}
		return k.audit(tx, orgID)
	})
	return ids, err
}

// orgRoleIDsByName returns the ids of the organization roles called names,
// in order, or 422 organization.role_names_not_found naming every unknown one.
func orgRoleIDsByName(tx *Tx, names []string) ([]string, error) {
	var out, missing []string
	for _, name := range names {
		id, err := orgRolesTable.idOf(tx, name)
		if err != nil {
			return nil, err
		} else if id == "" {
			missing = append(missing, name)
		}
		out = append(out, id)
	}
	if len(missing) > 0 {
		return nil, detailErrorf(EUNPROCESSABLE, "organization.role_names_not_found",
			"Invalid role names detected: %s.", strings.Join(missing, ", "))
	}
	return out, nil
}

// removeMemberRole takes role roleID from member memberID in orgID.
// Returns ENOTFOUND, or EUNPROCESSABLE for a non-member.
func (db *DB) removeMemberRole(ctx context.Context, tenant, orgID string, k memberKind, memberID, roleID string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		if err := k.requireMember(tx, orgID, memberID); err != nil {
			return err
		}
		if err := unassign(tx, k.roles, string(pairKey(orgID, memberID)), roleID, "organization role of the member"); err != nil {
			return err
		}
		return k.audit(tx, orgID)
	})
}

// roleCache keeps the organization roles a list has decoded: a list of many
// members or organizations names the same few roles over and over.
type roleCache map[string]*orgRoleRecord

func (c roleCache) find(tx *Tx, id string) (*orgRoleRecord, error) {
	if r, ok := c[id]; ok {
		return r, nil
	}
	r, err := findOrgRole(tx, id)
	if err == nil {
		c[id] = r
	}
	return r, err
}

// memberRoles returns the roles member holds in orgID, by name; cache may be
// nil.
func memberRoles(tx *Tx, k memberKind, orgID, memberID string, cache roleCache) ([]*orgRoleRecord, error) {
	ids, err := k.roles.list(tx, string(pairKey(orgID, memberID)))
	if err != nil {
		return nil, err
	}
	if cache == nil {
		cache = roleCache{}
	}
	out := make([]*orgRoleRecord, 0, len(ids))
	for _, id := range ids {
		r, err := cache.find(tx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *orgRoleRecord) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return out, nil
}

func roleRefs(roles []*orgRoleRecord) []OrganizationRoleRef {
	out := make([]OrganizationRoleRef, len(roles))
	for i, r := range roles {
		out[i] = OrganizationRoleRef{ID: r.ID, Name: r.Name}
	}
	return out
}

// findMemberRoles returns one page of the roles of a member, by name.
func (db *DB) findMemberRoles(ctx context.Context, tenant, orgID string, k memberKind, memberID string, p pagination.Params) ([]*OrganizationRole, int, error) {
	var out []*OrganizationRole
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		if err := k.requireMember(tx, orgID, memberID); err != nil {
			return err
		}
		roles, err := memberRoles(tx, k, orgID, memberID, nil)
		if err != nil {
			return err
		}
		total = len(roles)
		for _, r := range pageOf(roles, p) {
			out = append(out, r.toRole())
		}
		if out == nil {
			out = []*OrganizationRole{}
		}
		return nil
	})
	return out, total, err
}

// memberMatch returns the match function of a member list, nil when filter
// selects every member.
func memberMatch(tx *Tx, k memberKind, orgID string, filter MemberFilter, keyword func(id string) (bool, error)) func(id string) (bool, error) {
	if filter.Keyword == "" && filter.RoleID == "" {
		return nil
	}
	return func(id string) (bool, error) {
		if filter.RoleID != "" {
			if ok, err := k.roles.has(tx, string(pairKey(orgID, id)), filter.RoleID); err != nil || !ok {
				return false, err
			}
		}
		if filter.Keyword == "" {
			return true, nil
		}
		return keyword(id)
	}
}

// AddOrganizationUsers makes users members of organization orgID; with
// replace, the other members leave. An unknown organization or user is
// EUNPROCESSABLE (entity.relation_foreign_key_not_found), as in Logto.
func (db *DB) AddOrganizationUsers(ctx context.Context, tenant, orgID string, userIDs []string, replace bool) error {
	return db.addMembers(ctx, tenant, orgID, userMembers, userIDs, replace)
}

// RemoveOrganizationUser ends user userID's membership of orgID, with its
// roles there. Returns ENOTFOUND, also when the user is not a member.
func (db *DB) RemoveOrganizationUser(ctx context.Context, tenant, orgID, userID string) error {
	return db.removeMemberOf(ctx, tenant, orgID, userMembers, userID)
}

// AssignRolesToOrganizationUsers gives each member of userIDs (several, where
// AssignOrganizationUserRoles takes one) each User role of roleIDs in
// orgID. Returns EUNPROCESSABLE for a non-member
// (organization.require_membership), an unknown role
// (entity.relation_foreign_key_not_found) or a role of the other type
// (entity.db_constraint_violated).
func (db *DB) AssignRolesToOrganizationUsers(ctx context.Context, tenant, orgID string, userIDs, roleIDs []string) error {
	_, err := db.assignMemberRoles(ctx, tenant, orgID, userMembers, userIDs, roleIDs, nil, false)
	return err
}

// AssignOrganizationUserRoles gives member userID the roles roleIDs and
// roleNames in orgID; with replace, its other roles there are removed. It
// returns the ids assigned, given ones first.
func (db *DB) AssignOrganizationUserRoles(ctx context.Context, tenant, orgID, userID string, roleIDs, roleNames []string, replace bool) ([]string, error) {
	return db.assignMemberRoles(ctx, tenant, orgID, userMembers, []string{userID}, roleIDs, roleNames, replace)
}

// RemoveOrganizationUserRole takes role roleID from member userID in orgID.
func (db *DB) RemoveOrganizationUserRole(ctx context.Context, tenant, orgID, userID, roleID string) error {
	return db.removeMemberRole(ctx, tenant, orgID, userMembers, userID, roleID)
}

// FindOrganizationUserRoles returns one page of the roles of member userID
// in orgID, by name.
func (db *DB) FindOrganizationUserRoles(ctx context.Context, tenant, orgID, userID string, p pagination.Params) ([]*OrganizationRole, int, error) {
	return db.findMemberRoles(ctx, tenant, orgID, userMembers, userID, p)
}

// FindOrganizationUserScopes returns the organization scopes that member
// userID holds in orgID through its roles, in id order.
func (db *DB) FindOrganizationUserScopes(ctx context.Context, tenant, orgID, userID string) ([]*OrganizationScope, error) {
	var out []*OrganizationScope
	err := db.View(ctx, tenant, func(tx *Tx) error {
		// As Logto: a non-member (or an unknown user or organization)
		// holds no scopes, which is not an error.
		roleIDs, err := relOrgUserRoles.list(tx, string(pairKey(orgID, userID)))
		if err != nil {
			return err
		}
		if out, err = orgRoleScopes(tx, roleIDs); err != nil {
			return err
		}
		// Logto's DISTINCT ON (id) answers them in id order.
		slices.SortFunc(out, func(a, b *OrganizationScope) int { return cmp.Compare(a.ID, b.ID) })
		return nil
	})
	return out, err
}

// FindOrganizationUsers returns one page of the members of orgID in user id
// order, each with its roles there, and the number that match filter.
// Without a filter a page costs the same at any depth (rankindex.PrefixSeek).
func (db *DB) FindOrganizationUsers(ctx context.Context, tenant, orgID string, filter MemberFilter, p pagination.Params) ([]*UserWithOrganizationRoles, int, error) {
	keyword := func(u *userRecord) bool {
		for _, f := range []string{"id", "username", "primaryEmail", "primaryPhone", "name"} {
			if v, ok := u.scalarField(f); ok && containsFold(v, filter.Keyword) {
				return true
			}
		}
		return false
	}
	return findMembers(ctx, db, tenant, orgID, userMembers, filter, p, findUserRecord, keyword,
		func(u *userRecord, roles []OrganizationRoleRef) *UserWithOrganizationRoles {
			return &UserWithOrganizationRoles{User: u.toUser(), Roles: roles}
		})
}

// findMembers pages through the members of orgID of kind k: load reads a
// member's record, keyword matches it against filter.Keyword, build makes
// the list item.
func findMembers[R, T any](ctx context.Context, db *DB, tenant, orgID string, k memberKind, filter MemberFilter, p pagination.Params,
	load func(tx *Tx, id string) (R, error), keyword func(R) bool, build func(R, []OrganizationRoleRef) T) ([]T, int, error) {
	out := []T{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		if _, err := findOrg(tx, orgID); err != nil {
			return err
		}
		byKeyword := func(id string) (bool, error) {
			rec, err := load(tx, id)
			return err == nil && keyword(rec), err
		}
		cache := roleCache{}
		emit := func(id string) error {
			rec, err := load(tx, id)
			if err != nil {
				return err
			}
			roles, err := memberRoles(tx, k, orgID, id, cache)
			if err != nil {
				return err
			}
			out = append(out, build(rec, roleRefs(roles)))
			return nil
		}
		var err error
		total, err = k.members.walk(ctx, tx, orgID, p, memberMatch(tx, k, orgID, filter, byKeyword), emit)
		return err
	})
	return out, total, err
}

// memberOrganizations returns the organizations member belongs to, in id
// order, with its roles in each; a page of them when p is not All.
func memberOrganizations(ctx context.Context, tx *Tx, k memberKind, memberID string, p pagination.Params) ([]*OrganizationWithRoles, int, error) {
	out := []*OrganizationWithRoles{}
	cache := roleCache{}
	total, err := k.members.inverse().walk(ctx, tx, memberID, p, nil, func(orgID string) error {
		o, err := findOrg(tx, orgID)
		if err != nil {
			return err
		}
		roles, err := memberRoles(tx, k, orgID, memberID, cache)
		if err != nil {
			return err
		}
		out = append(out, &OrganizationWithRoles{Organization: o.toOrganization(), Roles: roleRefs(roles)})
		return nil
	})
	return out, total, err
}

// FindUserOrganizations returns every organization user userID belongs to,
// with its roles in each. Returns ENOTFOUND.
func (db *DB) FindUserOrganizations(ctx context.Context, tenant, userID string) ([]*OrganizationWithRoles, error) {
	var out []*OrganizationWithRoles
	err := db.View(ctx, tenant, func(tx *Tx) error {
		if err := userMembers.find(tx, userID); err != nil {
			return err
		}
		var err error
		out, _, err = memberOrganizations(ctx, tx, userMembers, userID, pagination.All())
		return err
	})
	return out, err
}

// AddOrganizationApplications makes machine-to-machine applications members
// of orgID; with replace, the other application members leave. Returns
// EUNPROCESSABLE for an unknown organization or application
// (entity.relation_foreign_key_not_found) or one of another type
// (entity.db_constraint_violated).
func (db *DB) AddOrganizationApplications(ctx context.Context, tenant, orgID string, appIDs []string, replace bool) error {
	return db.addMembers(ctx, tenant, orgID, appMembers, appIDs, replace)
}

// RemoveOrganizationApplication ends application appID's membership of orgID.
func (db *DB) RemoveOrganizationApplication(ctx context.Context, tenant, orgID, appID string) error {
	return db.removeMemberOf(ctx, tenant, orgID, appMembers, appID)
}

// AssignRolesToOrganizationApplications gives each member of appIDs
// (several, where AssignOrganizationApplicationRoles takes one) each
// machine-to-machine role of roleIDs in orgID.
func (db *DB) AssignRolesToOrganizationApplications(ctx context.Context, tenant, orgID string, appIDs, roleIDs []string) error {
	_, err := db.assignMemberRoles(ctx, tenant, orgID, appMembers, appIDs, roleIDs, nil, false)
	return err
}

// AssignOrganizationApplicationRoles gives member appID the roles roleIDs
// in orgID; with replace, its other roles there are removed.
func (db *DB) AssignOrganizationApplicationRoles(ctx context.Context, tenant, orgID, appID string, roleIDs []string, replace bool) error {
	_, err := db.assignMemberRoles(ctx, tenant, orgID, appMembers, []string{appID}, roleIDs, nil, replace)
	return err
}

// RemoveOrganizationApplicationRole takes role roleID from member appID.
func (db *DB) RemoveOrganizationApplicationRole(ctx context.Context, tenant, orgID, appID, roleID string) error {
	return db.removeMemberRole(ctx, tenant, orgID, appMembers, appID, roleID)
}

// FindOrganizationApplicationRoles returns one page of the roles of member
// appID in orgID, by name.
func (db *DB) FindOrganizationApplicationRoles(ctx context.Context, tenant, orgID, appID string, p pagination.Params) ([]*OrganizationRole, int, error) {
	return db.findMemberRoles(ctx, tenant, orgID, appMembers, appID, p)
}

// FindOrganizationApplications returns one page of the application members
// of orgID in id order, each with its roles there.
func (db *DB) FindOrganizationApplications(ctx context.Context, tenant, orgID string, filter MemberFilter, p pagination.Params) ([]*ApplicationWithOrganizationRoles, int, error) {
	return findMembers(ctx, db, tenant, orgID, appMembers, filter, p, findApp,
		func(a *appRecord) bool { return matchKeyword(filter.Keyword, a.ID, a.Name, a.Description) },
		func(a *appRecord, roles []OrganizationRoleRef) *ApplicationWithOrganizationRoles {
			return &ApplicationWithOrganizationRoles{Application: a.toApplication(), Roles: roles}
		})
}

// FindApplicationOrganizations returns one page of the organizations
// application appID belongs to, with its roles in each. Returns ENOTFOUND.
func (db *DB) FindApplicationOrganizations(ctx context.Context, tenant, appID string, p pagination.Params) ([]*OrganizationWithRoles, int, error) {
	var out []*OrganizationWithRoles
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		if _, err := findApp(tx, appID); err != nil {
			return err
		}
		var err error
		out, total, err = memberOrganizations(ctx, tx, appMembers, appID, p)
		return err
	})
	return out, total, err
}

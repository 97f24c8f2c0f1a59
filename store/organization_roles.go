package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/idbolt/idbolt/pagination"
)

// OrganizationRole is a role of the organization template.
type OrganizationRole struct {
	ID          string
	Name        string
	Description *string
	Type        string // RoleUser or RoleMachineToMachine
}

// OrganizationRoleWithScopes is an organization role as the list shows it.
type OrganizationRoleWithScopes struct {
	*OrganizationRole
	Scopes         []OrganizationRoleRef // organization scopes: id and name
	ResourceScopes []ScopeWithResource
}

// OrganizationRoleCreate is the input of CreateOrganizationRole.
type OrganizationRoleCreate struct {
	// ID is the new role's id; empty makes one. A given id (an import
	// keeping a source's ids) must be free: ECONFLICT otherwise.
	ID                   string
	Name                 string
	Description          *string
	Type                 string // RoleUser when empty
	OrganizationScopeIDs []string
	ResourceScopeIDs     []string
}

// OrganizationRoleUpdate is the input of UpdateOrganizationRole.
type OrganizationRoleUpdate struct {
	Name        *string
	Description Field[string]
	Type        *string
}

type orgRoleRecord struct {
	ID          string  `json:"id"`
	Name        string  `json:"nm"`
	Description *string `json:"ds,omitempty"`
	Type        string  `json:"ty"`
	CreatedAt   int64   `json:"ca"`
}

func (r *orgRoleRecord) toRole() *OrganizationRole {
	return &OrganizationRole{ID: r.ID, Name: r.Name, Description: r.Description, Type: r.Type}
}

func findOrgRole(tx *Tx, id string) (*orgRoleRecord, error) {
	var r orgRoleRecord
	if err := orgRolesTable.get(tx, id, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func validateRoleType(t string) error {
	if t != RoleUser && t != RoleMachineToMachine {
		return fieldError("type", "must be User or MachineToMachine")
	}
	return nil
}

// orgScopeCheck and resourceScopeCheck vet the scope ids of a request body.
func orgScopeCheck(tx *Tx) func(id string) error {
	return func(id string) error {
		_, err := findOrgScope(tx, id)
		return fk(err)
	}
}

func resourceScopeCheck(tx *Tx) func(id string) error {
	return func(id string) error {
		_, err := findScope(tx, id)
		return fk(err)
	}
}

// CreateOrganizationRole stores a new organization role with its scopes.
// Returns EINVALID, or EUNPROCESSABLE for a name in use
// (entity.unique_integrity_violation) or an unknown scope
// (entity.relation_foreign_key_not_found), in which case nothing is created.
func (db *DB) CreateOrganizationRole(ctx context.Context, tenant string, in OrganizationRoleCreate) (*OrganizationRole, error) {
	if in.Type == "" {
		in.Type = RoleUser
	}
	if err := firstErr(validateTemplateFields(&in.Name, in.Description), validateRoleType(in.Type)); err != nil {
		return nil, err
	}
	id, err := givenOrNewID(in.ID, 21)
	if err != nil {
		return nil, err
	}
	var out *OrganizationRole
	err = db.Update(ctx, tenant, func(tx *Tx) error {
		if err := orgRolesTable.checkName(tx, "", in.Name); err != nil {
			return err
		}
		if taken, err := orgRolesTable.exists(tx, id); err != nil || taken {
			return cmpErr(err, errIDInUse("organization role", id))
		}
		if err := checkAll(in.OrganizationScopeIDs, orgScopeCheck(tx)); err != nil {
			return err
		}
		if err := checkAll(in.ResourceScopeIDs, resourceScopeCheck(tx)); err != nil {
			return err
		}
		r := orgRoleRecord{ID: id, Name: in.Name, Description: in.Description, Type: in.Type, CreatedAt: msec(tx.now)}
		if err := orgRolesTable.put(tx, id, "", in.Name, &r); err != nil {
			return err
		}
		if _, err := assign(tx, relOrgRoleScopes, id, in.OrganizationScopeIDs, false, nil); err != nil {
			return err
		}
		if _, err := assign(tx, relOrgRoleResScopes, id, in.ResourceScopeIDs, false, nil); err != nil {
			return err
		}
		out = r.toRole()
		return tx.auditTarget("Management.OrganizationRole.Create", "organizationRole", id)
	})
	return out, err
}

// FindOrganizationRoleByID returns organization role id. Returns ENOTFOUND.
func (db *DB) FindOrganizationRoleByID(ctx context.Context, tenant, id string) (*OrganizationRole, error) {
	var out *OrganizationRole
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findOrgRole(tx, id)
		if err != nil {
			return err
		}
		out = r.toRole()
		return nil
	})
	return out, err
}

// FindOrganizationRoles returns one page of organization roles in name
// order, with their scopes, whose id, name or description contains keyword;
// and their number.
func (db *DB) FindOrganizationRoles(ctx context.Context, tenant, keyword string, p pagination.Params) ([]*OrganizationRoleWithScopes, int, error) {
	out := []*OrganizationRoleWithScopes{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		var r orgRoleRecord
		match := func(id string, v []byte) (bool, error) {
			r = orgRoleRecord{}
			if err := json.Unmarshal(v, &r); err != nil {
				return false, fmt.Errorf("decode organization role %s: %w", id, err)
			}
			return matchKeyword(keyword, r.ID, r.Name, r.Description), nil
		}
		emit := func(string, []byte) error {
			rs, err := withOrgRoleScopes(tx, &r)
			if err != nil {
				return err
			}
			out = append(out, rs)
			return nil
		}
		var err error
		total, err = orgRolesTable.walk(ctx, tx, p, match, emit)
		return err
	})
	return out, total, err
}

// withOrgRoleScopes adds a role's organization and resource scopes, each
// sorted by id as Logto's aggregate is.
func withOrgRoleScopes(tx *Tx, r *orgRoleRecord) (*OrganizationRoleWithScopes, error) {
	out := &OrganizationRoleWithScopes{OrganizationRole: r.toRole(), Scopes: []OrganizationRoleRef{}, ResourceScopes: []ScopeWithResource{}}
	ids, err := relOrgRoleScopes.list(tx, r.ID)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		s, err := findOrgScope(tx, id)
		if err != nil {
			return nil, err
		}
		out.Scopes = append(out.Scopes, OrganizationRoleRef{ID: s.ID, Name: s.Name})
	}
	if ids, err = relOrgRoleResScopes.list(tx, r.ID); err != nil {
		return nil, err
	}
	for _, id := range ids {
		s, err := findScope(tx, id)
		if err != nil {
			return nil, err
		}
		var res resourceRecord
		if err := resourcesTable.get(tx, s.ResourceID, &res); err != nil {
			return nil, err
		}
		out.ResourceScopes = append(out.ResourceScopes, ScopeWithResource{Scope: s.toScope(), Resource: res.toResource()})
	}
	return out, nil
}

// UpdateOrganizationRole changes the name, description or type of
// organization role id. Changing the type is refused while the role is held
// by a member of the other kind. Returns ENOTFOUND, EINVALID, or
// EUNPROCESSABLE.
func (db *DB) UpdateOrganizationRole(ctx context.Context, tenant, id string, upd OrganizationRoleUpdate) (*OrganizationRole, error) {
	if err := validateTemplateFields(upd.Name, upd.Description.Value); err != nil {
		return nil, err
	}
	if upd.Type != nil {
		if err := validateRoleType(*upd.Type); err != nil {
			return nil, err
		}
	}
	var out *OrganizationRole
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findOrgRole(tx, id)
		if err != nil {
			return notExists(err, "organization role")
		}
		oldName := r.Name
		if upd.Name != nil {
			if err := orgRolesTable.checkName(tx, id, *upd.Name); err != nil {
				return err
			}
			r.Name = *upd.Name
		}
		if upd.Description.Set {
			r.Description = upd.Description.Value
		}
		if upd.Type != nil && *upd.Type != r.Type {
			// Holders of the old kind would hold a role they may not; an
			// invitation that grants a User role could never be accepted.
			holders := []relation{relOrgUserRoles.inverse(), relInvitationRoles.inverse()}
			if r.Type == RoleMachineToMachine {
				holders = []relation{relOrgAppRoles.inverse()}
			}
			for _, h := range holders {
				n, err := h.count(tx, id)
				if err != nil {
					return err
				}
				if n > 0 {
					return detailErrorf(EUNPROCESSABLE, "organization.role_type_in_use",
						"The role is held by %d members or invitations of its current type; remove it from them before changing its type.", n)
				}
			}
			r.Type = *upd.Type
		}
		if err := orgRolesTable.put(tx, id, oldName, r.Name, r); err != nil {
			return err
		}
		out = r.toRole()
		return tx.auditTarget("Management.OrganizationRole.Update", "organizationRole", id)
	})
	return out, err
}

// DeleteOrganizationRole removes organization role id from every member,
// invitation and scope relation and deletes it. Returns ENOTFOUND.
func (db *DB) DeleteOrganizationRole(ctx context.Context, tenant, id string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findOrgRole(tx, id)
		if err != nil {
			return err
		}
		if err := cascadeDelete(tx, entityOrgRole, id); err != nil {
			return err
		}
		if err := orgRolesTable.delete(tx, id, r.Name); err != nil {
			return err
		}
		return tx.auditTarget("Management.OrganizationRole.Delete", "organizationRole", id)
	})
}

// AssignOrganizationRoleScopes gives organization role roleID the
// organization scopes ids; with replace, its other organization scopes are
// removed. An unknown role or scope is EUNPROCESSABLE
// (entity.relation_foreign_key_not_found), as in Logto.
func (db *DB) AssignOrganizationRoleScopes(ctx context.Context, tenant, roleID string, ids []string, replace bool) error {
	return db.assignRoleTemplate(ctx, tenant, roleID, relOrgRoleScopes, ids, replace, orgScopeCheck)
}

// AssignOrganizationRoleResourceScopes gives organization role roleID the
// API resource scopes ids; with replace, its other resource scopes are
// removed. An unknown role or scope is EUNPROCESSABLE
// (entity.relation_foreign_key_not_found), as in Logto.
func (db *DB) AssignOrganizationRoleResourceScopes(ctx context.Context, tenant, roleID string, ids []string, replace bool) error {
	return db.assignRoleTemplate(ctx, tenant, roleID, relOrgRoleResScopes, ids, replace, resourceScopeCheck)
}

func (db *DB) assignRoleTemplate(ctx context.Context, tenant, roleID string, rel relation, ids []string, replace bool, check func(*Tx) func(string) error) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		if _, err := findOrgRole(tx, roleID); err != nil {
			return fk(err)
		}
		if _, err := assign(tx, rel, roleID, ids, replace, check(tx)); err != nil {
			return err
		}
		return tx.auditTarget("Management.OrganizationRole.Scopes.Update", "organizationRole", roleID)
	})
}

// RemoveOrganizationRoleScope takes organization scope scopeID from role
// roleID. Returns ENOTFOUND for an unknown role or a scope it does not hold.
func (db *DB) RemoveOrganizationRoleScope(ctx context.Context, tenant, roleID, scopeID string) error {
	return db.removeRoleTemplate(ctx, tenant, roleID, scopeID, relOrgRoleScopes, "organization scope of the role")
}

// RemoveOrganizationRoleResourceScope takes resource scope scopeID from
// organization role roleID. Returns ENOTFOUND for an unknown role or a
// scope it does not hold.
func (db *DB) RemoveOrganizationRoleResourceScope(ctx context.Context, tenant, roleID, scopeID string) error {
	return db.removeRoleTemplate(ctx, tenant, roleID, scopeID, relOrgRoleResScopes, "resource scope of the role")
}

func (db *DB) removeRoleTemplate(ctx context.Context, tenant, roleID, scopeID string, rel relation, what string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		if _, err := findOrgRole(tx, roleID); err != nil {
			return err
		}
		if err := unassign(tx, rel, roleID, scopeID, what); err != nil {
			return err
		}
		return tx.auditTarget("Management.OrganizationRole.Scopes.Update", "organizationRole", roleID)
	})
}

// FindOrganizationRoleScopes returns one page of the organization scopes of
// role roleID, in name order. Returns ENOTFOUND.
func (db *DB) FindOrganizationRoleScopes(ctx context.Context, tenant, roleID string, p pagination.Params) ([]*OrganizationScope, int, error) {
	var out []*OrganizationScope
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		if _, err := findOrgRole(tx, roleID); err != nil {
			return err
		}
		all, err := orgRoleScopes(tx, []string{roleID})
		if err != nil {
			return err
		}
		total = len(all)
		out = pageOf(all, p)
		return nil
	})
	return out, total, err
}

// FindOrganizationRoleResourceScopes returns one page of the API resource
// scopes of organization role roleID, in name order. Returns ENOTFOUND.
func (db *DB) FindOrganizationRoleResourceScopes(ctx context.Context, tenant, roleID string, p pagination.Params) ([]*Scope, int, error) {
	var out []*Scope
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		if _, err := findOrgRole(tx, roleID); err != nil {
			return err
		}
		ids, err := relOrgRoleResScopes.list(tx, roleID)
		if err != nil {
			return err
		}
		all := make([]*Scope, 0, len(ids))
		for _, id := range ids {
			s, err := findScope(tx, id)
			if err != nil {
				return err
			}
			all = append(all, s.toScope())
		}
		slices.SortFunc(all, func(a, b *Scope) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
		total = len(all)
		out = pageOf(all, p)
		return nil
	})
	return out, total, err
}

// orgRoleScopes returns the distinct organization scopes of roles, in name
// order.
func orgRoleScopes(tx *Tx, roleIDs []string) ([]*OrganizationScope, error) {
	seen := map[string]bool{}
	out := []*OrganizationScope{}
	for _, roleID := range roleIDs {
		ids, err := relOrgRoleScopes.list(tx, roleID)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			s, err := findOrgScope(tx, id)
			if err != nil {
				return nil, err
			}
			out = append(out, s.toScope())
		}
	}
	slices.SortFunc(out, func(a, b *OrganizationScope) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return out, nil
}

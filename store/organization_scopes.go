package store

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/idbolt/idbolt/pagination"
)

// OrganizationScope is a permission of the organization template.
type OrganizationScope struct {
	ID          string
	Name        string
	Description *string
}

type orgScopeRecord struct {
	ID          string  `json:"id"`
	Name        string  `json:"nm"`
	Description *string `json:"ds,omitempty"`
	CreatedAt   int64   `json:"ca"`
}

func (r *orgScopeRecord) toScope() *OrganizationScope {
	return &OrganizationScope{ID: r.ID, Name: r.Name, Description: r.Description}
}

const maxOrgTemplateName = 128

// validateTemplateFields checks the name and description of an
// organization, organization role or scope: Logto's limits for all three.
func validateTemplateFields(name, description *string) error {
	if name != nil && (*name == "" || utf8.RuneCountInString(*name) > maxOrgTemplateName || !utf8.ValidString(*name)) {
		return fieldError("name", "must be 1 to %d characters", maxOrgTemplateName)
	}
	if description != nil && (utf8.RuneCountInString(*description) > maxOrgDescription || !utf8.ValidString(*description)) {
		return fieldError("description", "must be at most %d characters", maxOrgDescription)
	}
	return firstErr(checkName("name", name), checkDescription("description", description))
}

func findOrgScope(tx *Tx, id string) (*orgScopeRecord, error) {
	var r orgScopeRecord
	if err := orgScopesTable.get(tx, id, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// CreateOrganizationScope stores a new organization scope. Returns EINVALID,
// or EUNPROCESSABLE for a name in use.
func (db *DB) CreateOrganizationScope(ctx context.Context, tenant, name string, description *string) (*OrganizationScope, error) {
	if err := validateTemplateFields(&name, description); err != nil {
		return nil, err
	}
	id := newID(21)
	var out *OrganizationScope
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		if err := orgScopesTable.checkName(tx, "", name); err != nil {
			return err
		}
		r := orgScopeRecord{ID: id, Name: name, Description: description, CreatedAt: msec(tx.now)}
		if err := orgScopesTable.put(tx, id, "", name, &r); err != nil {
			return err
		}
		out = r.toScope()
		return tx.auditTarget("Management.OrganizationScope.Create", "organizationScope", id)
	})
	return out, err
}

// FindOrganizationScopeByID returns organization scope id. Returns ENOTFOUND.
func (db *DB) FindOrganizationScopeByID(ctx context.Context, tenant, id string) (*OrganizationScope, error) {
	var out *OrganizationScope
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findOrgScope(tx, id)
		if err != nil {
			return err
		}
		out = r.toScope()
		return nil
	})
	return out, err
}

// FindOrganizationScopes returns one page of organization scopes in name
// order whose name contains keyword (Logto searches only the name), and
// their number.
func (db *DB) FindOrganizationScopes(ctx context.Context, tenant, keyword string, p pagination.Params) ([]*OrganizationScope, int, error) {
	out := []*OrganizationScope{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		var r orgScopeRecord
		match := func(id string, v []byte) (bool, error) {
			r = orgScopeRecord{}
			if err := json.Unmarshal(v, &r); err != nil {
				return false, fmt.Errorf("decode organization scope %s: %w", id, err)
			}
			return keyword == "" || containsFold(r.Name, keyword), nil
		}
		var err error
		total, err = orgScopesTable.walk(ctx, tx, p, match, func(string, []byte) error {
			out = append(out, r.toScope())
			return nil
		})
		return err
	})
	return out, total, err
}

// matchKeyword is Logto's q search over id, name and description: a
// case-insensitive substring of any of them; an empty keyword matches all.
func matchKeyword(keyword, id, name string, description *string) bool {
	return keyword == "" || containsFold(id, keyword) || containsFold(name, keyword) ||
		(description != nil && containsFold(*description, keyword))
}

// UpdateOrganizationScope renames or redescribes organization scope id.
// Returns ENOTFOUND, EINVALID, or EUNPROCESSABLE for a name in use.
func (db *DB) UpdateOrganizationScope(ctx context.Context, tenant, id string, name *string, description Field[string]) (*OrganizationScope, error) {
	if err := validateTemplateFields(name, description.Value); err != nil {
		return nil, err
	}
	var out *OrganizationScope
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findOrgScope(tx, id)
		if err != nil {
			return notExists(err, "organization scope")
		}
		oldName := r.Name
		if name != nil {
			if err := orgScopesTable.checkName(tx, id, *name); err != nil {
				return err
			}
			r.Name = *name
		}
		if description.Set {
			r.Description = description.Value
		}
		if err := orgScopesTable.put(tx, id, oldName, r.Name, r); err != nil {
			return err
		}
		out = r.toScope()
		return tx.auditTarget("Management.OrganizationScope.Update", "organizationScope", id)
	})
	return out, err
}

// DeleteOrganizationScope removes organization scope id from every role
// and deletes it. Returns ENOTFOUND.
func (db *DB) DeleteOrganizationScope(ctx context.Context, tenant, id string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findOrgScope(tx, id)
		if err != nil {
			return err
		}
		if err := cascadeDelete(tx, entityOrgScope, id); err != nil {
			return err
		}
		if err := orgScopesTable.delete(tx, id, r.Name); err != nil {
			return err
		}
		return tx.auditTarget("Management.OrganizationScope.Delete", "organizationScope", id)
	})
}

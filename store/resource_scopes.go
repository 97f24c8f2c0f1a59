package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/kv"
	"github.com/idbolt/idbolt/store/search"
)

// Scope is a permission defined on a resource.
type Scope struct {
	ID          string
	ResourceID  string
	Name        string
	Description *string
	CreatedAt   int64
}

// ScopeSearchOptions returns the fields a scope list searches, as in Logto.
func ScopeSearchOptions() search.Options {
	return search.Options{Fields: []string{"id", "name", "description"}}
}

func validateScopeName(name *string) error {
	if name == nil {
		return nil
	}
	if strings.ContainsAny(*name, " \t\r\n") {
		return detailErrorf(EINVALID, "scope.name_with_space", "The name of the scope cannot contain any spaces.")
	}
	if *name == "" || utf8.RuneCountInString(*name) > maxAppName || !utf8.ValidString(*name) {
		return fieldError("name", "must be 1 to %d characters", maxAppName)
	}
	return checkName("name", name)
}

// findScope returns the stored record of scope id, or ENOTFOUND.
func findScope(tx *Tx, id string) (*scopeRecord, error) {
	scopes, err := tx.bucket(bucketScopes)
	if err != nil {
		return nil, err
	}
	var s scopeRecord
	if ok, err := getJSON(scopes, []byte(id), &s); err != nil {
		return nil, err
	} else if !ok {
		return nil, notFound("scope", id)
	}
	return &s, nil
}

// findResourceScope returns scope id of resource resID, or ENOTFOUND when
// either is missing or the scope belongs to another resource.
func findResourceScope(tx *Tx, resID, id string) (*resourceRecord, *scopeRecord, error) {
	res, err := findResource(tx, resID)
	if err != nil {
		return nil, nil, err
	}
	s, err := findScope(tx, id)
	if err != nil {
		return nil, nil, err
	} else if s.ResourceID != resID {
		return nil, nil, notFound("scope", id)
	}
	return res, s, nil
}

// resourceScopes returns the scopes of resource resID in creation order.
func resourceScopes(tx *Tx, resID string) ([]*scopeRecord, error) {
	rs, err := tx.bucket(bucketResourceScopes)
	if err != nil {
		return nil, err
	}
	var out []*scopeRecord
	err = forEachPair(rs, resID, func(id string) error {
		s, err := findScope(tx, id)
		if err != nil {
			return fmt.Errorf("resource %s lists scope %s: %w", resID, id, err)
		}
		out = append(out, s)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, err
}

// checkScopeName returns ECONFLICT if resource resID has another scope
// called name.
func checkScopeName(tx *Tx, resID, self, name string) error {
	byName, err := tx.bucket(bucketScopesByName)
	if err != nil {
		return err
	}
	if id := byName.Get(pairKey(resID, name)); id != nil && string(id) != self {
		return detailErrorf(ECONFLICT, "scope.name_exists", "The scope name %s is already in use.", name)
	}
	return nil
}

// scopeBuckets returns the scope records, the resource -> scope pairs and
// the per-resource name index.
func scopeBuckets(tx *Tx) (scopes, rs, byName *kv.Bucket, err error) {
	if scopes, err = tx.bucket(bucketScopes); err != nil {
		return
	}
	if rs, err = tx.bucket(bucketResourceScopes); err != nil {
		return
	}
	byName, err = tx.bucket(bucketScopesByName)
	return
}

// putScope stores scope s and its indexes; its name must be free.
func putScope(tx *Tx, s *scopeRecord) error {
	scopes, rs, byName, err := scopeBuckets(tx)
	if err != nil {
		return err
	}
	if s.Seq == 0 {
		if s.Seq, err = scopes.NextSequence(); err != nil {
			return err
		}
	}
	if err := putJSON(scopes, []byte(s.ID), s); err != nil {
		return err
	}
	if err := rs.Put(pairKey(s.ResourceID, s.ID), nil); err != nil {
		return err
	}
	return byName.Put(pairKey(s.ResourceID, s.Name), []byte(s.ID))
}

// deleteScopeRecord removes scope s, its indexes and every role's grant of it.
func deleteScopeRecord(tx *Tx, s *scopeRecord) error {
	if err := cascadeDelete(tx, entityScope, s.ID); err != nil {
		return err
	}
	scopes, rs, byName, err := scopeBuckets(tx)
	if err != nil {
		return err
	}
	if err := byName.Delete(pairKey(s.ResourceID, s.Name)); err != nil {
		return err
	}
	if err := rs.Delete(pairKey(s.ResourceID, s.ID)); err != nil {
		return err
	}
	return scopes.Delete([]byte(s.ID))
}

// FindResourceScopes returns one page of the scopes of resource resID that
// match q, in creation order, and their number. Returns ENOTFOUND.
func (db *DB) FindResourceScopes(ctx context.Context, tenant, resID string, q search.Query, p pagination.Params) ([]*Scope, int, error) {
	out := []*Scope{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		if _, err := findResource(tx, resID); err != nil {
			return err
		}
		scopes, err := resourceScopes(tx, resID)
		if err != nil {
			return err
		}
		for _, s := range scopes {
			if !q.Match(s.searchField) {
				continue
			}
			if total >= p.Offset() && total-p.Offset() < p.PageSize {
				out = append(out, s.toScope())
			}
			total++
		}
		return nil
	})
	return out, total, err
}

// CreateScope adds scope name to resource resID. Returns ENOTFOUND; EINVALID
// for a bad name and for a built-in resource; ECONFLICT when the resource has
// a scope of that name.
func (db *DB) CreateScope(ctx context.Context, tenant, resID, name string, description *string) (*Scope, error) {
	if err := firstErr(validateScopeName(&name), validateDescription(description)); err != nil {
		return nil, err
	}
	id := newID(21)
	var out *Scope
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		res, err := findResource(tx, resID)
		if err != nil {
			return err
		}
		if res.ReadOnly {
			return errManagementAPIReadOnly(false)
		}
		if err := checkScopeName(tx, resID, "", name); err != nil {
			return err
		}
		s := scopeRecord{ID: id, ResourceID: resID, Name: name, Description: description, CreatedAt: msec(tx.now)}
		if err := putScope(tx, &s); err != nil {
			return err
		}
		out = s.toScope()
		return tx.auditTarget("Management.Scope.Create", "scope", id)
	})
	return out, err
}

// UpdateScope renames or re-describes scope id of resource resID. Returns
// ENOTFOUND, EINVALID, or ECONFLICT for a name in use.
func (db *DB) UpdateScope(ctx context.Context, tenant, resID, id string, name *string, description Field[string]) (*Scope, error) {
	if err := firstErr(validateScopeName(name), validateDescription(description.Value)); err != nil {
		return nil, err
	}
	var out *Scope
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		res, s, err := findResourceScope(tx, resID, id)
		if err != nil {
			return err
		}
		if res.ReadOnly {
			return errManagementAPIReadOnly(false)
		}
		if name != nil {
			if err := checkScopeName(tx, resID, id, *name); err != nil {
				return err
			}
		}
		byName, err := tx.bucket(bucketScopesByName)
		if err != nil {
			return err
		}
		if err := byName.Delete(pairKey(resID, s.Name)); err != nil {
			return err
		}
		if name != nil {
			s.Name = *name
		}
		if description.Set {
			s.Description = description.Value
		}
		if err := putScope(tx, s); err != nil {
			return err
		}
		out = s.toScope()
		return tx.auditTarget("Management.Scope.Update", "scope", id)
	})
	return out, err
}

// DeleteScope removes scope id of resource resID and every role's grant of
// it, in one transaction. Returns ENOTFOUND, or EINVALID for a built-in
// resource.
func (db *DB) DeleteScope(ctx context.Context, tenant, resID, id string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		res, s, err := findResourceScope(tx, resID, id)
		if err != nil {
			return err
		}
		if res.ReadOnly { // Logto: modify, not delete, for a scope
			return errManagementAPIReadOnly(false)
		}
		if err := deleteScopeRecord(tx, s); err != nil {
			return err
		}
		return tx.auditTarget("Management.Scope.Delete", "scope", id)
	})
}

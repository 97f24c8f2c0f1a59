package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/idbolt/idbolt/pagination"
)

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

// DefaultAccessTokenTTL is the lifetime of an access token, in seconds, when
// the resource does not say otherwise.
const DefaultAccessTokenTTL = 3600

// ResourceCreate is the input of CreateResource.
type ResourceCreate struct {
	// ID is the new resource's id; empty makes one. A given id (an import
	// keeping a source's ids) must be free: ECONFLICT otherwise.
	ID             string
	Name           string
	Indicator      string
	AccessTokenTTL *int // seconds; nil means DefaultAccessTokenTTL
}

// ResourceUpdate is the input of UpdateResource; nil fields stay unchanged.
type ResourceUpdate struct {
	Name           *string
	AccessTokenTTL *int
}

// Bounds of a resource's fields.
const (
	maxIndicator      = 256
	minAccessTokenTTL = 60
	maxAccessTokenTTL = 86400
)

func validateResourceName(name *string) error {
	if name != nil && (*name == "" || utf8.RuneCountInString(*name) > maxAppName || !utf8.ValidString(*name)) {
		return fieldError("name", "must be 1 to %d characters", maxAppName)
	}
	return checkName("name", name)
}

// validateIndicator checks an RFC 8707 resource indicator: an absolute URI
// without a fragment.
func validateIndicator(ind string) error {
	u, err := url.Parse(ind)
	if err != nil || len(ind) > maxIndicator || !u.IsAbs() || u.Fragment != "" || strings.ContainsAny(ind, "# \t\r\n") {
		return fieldError("indicator", "must be an absolute URI without fragment, at most %d characters", maxIndicator)
	}
	if ind == SystemIndicator {
		return fieldError("indicator", "%s is reserved for the system API of this idbolt instance", SystemIndicator)
	}
	return nil
}

func validateTTL(ttl *int) error {
	if ttl != nil && (*ttl < minAccessTokenTTL || *ttl > maxAccessTokenTTL) {
		return fieldError("accessTokenTtl", "must be between %d and %d seconds", minAccessTokenTTL, maxAccessTokenTTL)
	}
	return nil
}

func errManagementAPIReadOnly(deleting bool) *Error {
	if deleting {
		return detailErrorf(EINVALID, "resource.cannot_delete_management_api", "Cannot delete a built-in API resource.")
	}
	return detailErrorf(EINVALID, "resource.cannot_modify_management_api", "Cannot modify a built-in API resource.")
}

// findResource returns the stored record of resource id, or ENOTFOUND.
func findResource(tx *Tx, id string) (*resourceRecord, error) {
	var r resourceRecord
	if err := resourcesTable.get(tx, id, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func findResourceByIndicator(tx *Tx, indicator string) (*resourceRecord, error) {
	byInd, err := tx.bucket(bucketResourcesByInd)
	if err != nil {
		return nil, err
	}
	id := byInd.Get([]byte(indicator))
	if id == nil {
		return nil, notFound("resource", indicator)
	}
	return findResource(tx, string(id))
}

// findDefaultResource returns the tenant's default resource, or nil.
func findDefaultResource(tx *Tx) (*resourceRecord, error) {
	meta, err := tx.bucket(bucketTenantMeta)
	if err != nil {
		return nil, err
	}
	id := meta.Get(keyDefaultResource)
	if id == nil {
		return nil, nil
	}
	return findResource(tx, string(id))
}

// putResource stores a new resource and indexes its indicator.
func putResource(tx *Tx, r *resourceRecord) error {
	byInd, err := tx.bucket(bucketResourcesByInd)
	if err != nil {
		return err
	}
	if byInd.Get([]byte(r.Indicator)) != nil {
		return detailErrorf(ECONFLICT, "resource.resource_identifier_in_use", "The API identifier %s is already in use.", r.Indicator)
	}
	if err := resourcesTable.insert(tx, r.ID, &r.Seq, r); err != nil {
		return err
	}
	return byInd.Put([]byte(r.Indicator), []byte(r.ID))
}

// CreateResource stores a new API resource. Returns EINVALID, or ECONFLICT
// when the indicator is in use.
func (db *DB) CreateResource(ctx context.Context, tenant string, in ResourceCreate) (*Resource, error) {
	if err := firstErr(validateResourceName(&in.Name), validateIndicator(in.Indicator), validateTTL(in.AccessTokenTTL)); err != nil {
		return nil, err
	}
	ttl := DefaultAccessTokenTTL
	if in.AccessTokenTTL != nil {
		ttl = *in.AccessTokenTTL
	}
	id, err := givenOrNewID(in.ID, 21)
	if err != nil {
		return nil, err
	}
	var out *Resource
	err = db.Update(ctx, tenant, func(tx *Tx) error {
		if taken, err := resourcesTable.exists(tx, id); err != nil || taken {
			return cmpErr(err, errIDInUse("resource", id))
		}
		r := resourceRecord{ID: id, Name: in.Name, Indicator: in.Indicator, AccessTokenTTL: ttl, CreatedAt: msec(tx.now)}
		if err := putResource(tx, &r); err != nil {
			return err
		}
		out = r.toResource()
		return tx.auditTarget("Management.Resource.Create", "resource", id)
	})
	return out, err
}

// FindResourceByID returns resource id. Returns ENOTFOUND.
func (db *DB) FindResourceByID(ctx context.Context, tenant, id string) (*Resource, error) {
	var out *Resource
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findResource(tx, id)
		if err != nil {
			return err
		}
		out = r.toResource()
		return nil
	})
	return out, err
}

// ResourceWithScopes is a resource and, when asked for, its scopes.
type ResourceWithScopes struct {
	*Resource
	Scopes []*Scope
}

// FindResources returns one page of resources, oldest first, and their
// number; withScopes attaches each resource's scopes, and only, when not
// nil, keeps only these resources (what a manager of some may see).
func (db *DB) FindResources(ctx context.Context, tenant string, p pagination.Params, withScopes bool, only []string) ([]ResourceWithScopes, int, error) {
	out := []ResourceWithScopes{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		emit := func(id string, v []byte) error {
			var r resourceRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode resource %s: %w", id, err)
			}
			item := ResourceWithScopes{Resource: r.toResource()}
			if withScopes {
				scopes, err := resourceScopes(tx, id)
				if err != nil {
					return err
				}
				item.Scopes = make([]*Scope, len(scopes))
				for i, s := range scopes {
					item.Scopes[i] = s.toScope()
				}
			}
			out = append(out, item)
			return nil
		}
		var match func(id string, v []byte) (bool, error)
		if only != nil {
			match = func(id string, _ []byte) (bool, error) { return slices.Contains(only, id), nil }
		}
		var err error
		total, err = resourcesTable.walk(ctx, tx, p, false, match, emit)
		return err
	})
	return out, total, err
}

// UpdateResource changes the name or token lifetime of resource id. Returns
// ENOTFOUND, or EINVALID for bad input and for a built-in resource.
func (db *DB) UpdateResource(ctx context.Context, tenant, id string, upd ResourceUpdate) (*Resource, error) {
	if err := firstErr(validateResourceName(upd.Name), validateTTL(upd.AccessTokenTTL)); err != nil {
		return nil, err
	}
	return db.updateResource(ctx, tenant, id, func(tx *Tx, r *resourceRecord) error {
		if upd.Name != nil {
			r.Name = *upd.Name
		}
		if upd.AccessTokenTTL != nil {
			r.AccessTokenTTL = *upd.AccessTokenTTL
		}
		return nil
	})
}

// SetResourceDefault makes resource id the tenant's default resource (the
// one a token request without resource gets), or clears that. At most one
// resource is the default. Returns ENOTFOUND, or EINVALID for a built-in
// resource.
func (db *DB) SetResourceDefault(ctx context.Context, tenant, id string, isDefault bool) (*Resource, error) {
	return db.updateResource(ctx, tenant, id, func(tx *Tx, r *resourceRecord) error {
		old, err := findDefaultResource(tx)
		if err != nil {
			return err
		}
		meta, err := tx.bucket(bucketTenantMeta)
		if err != nil {
			return err
		}
		r.IsDefault = isDefault
		if old != nil && old.ID != r.ID && isDefault {
			old.IsDefault = false
			if err := resourcesTable.update(tx, old.ID, old); err != nil {
				return err
			}
		}
		if isDefault {
			return meta.Put(keyDefaultResource, []byte(r.ID))
		} else if old != nil && old.ID == r.ID {
			return meta.Delete(keyDefaultResource)
		}
		return nil
	})
}

// updateResource loads resource id, refuses built-in ones, lets change
// modify the record (writing only after every check) and stores it.
func (db *DB) updateResource(ctx context.Context, tenant, id string, change func(*Tx, *resourceRecord) error) (*Resource, error) {
	var out *Resource
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findResource(tx, id)
		if err != nil {
			return err
		}
		if r.ReadOnly {
			return errManagementAPIReadOnly(false)
		}
		if err := change(tx, r); err != nil {
			return err
		}
		if err := resourcesTable.update(tx, id, r); err != nil {
			return err
		}
		out = r.toResource()
		return tx.auditTarget("Management.Resource.Update", "resource", id)
	})
	return out, err
}

// DeleteResource removes resource id, its scopes, and every role's grant of
// those scopes, in one transaction. Returns ENOTFOUND, or EINVALID for a
// built-in resource.
func (db *DB) DeleteResource(ctx context.Context, tenant, id string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findResource(tx, id)
		if err != nil {
			return err
		}
		if r.ReadOnly {
			return errManagementAPIReadOnly(true)
		}
		if err := deleteResourceRecord(tx, r); err != nil {
			return err
		}
		return tx.auditTarget("Management.Resource.Delete", "resource", id)
	})
}

// deleteResourceRecord removes resource r, its scopes with every role's and
// organization role's grant of them, its indicator index, its default mark
// and its managers.
func deleteResourceRecord(tx *Tx, r *resourceRecord) error {
	scopes, err := resourceScopes(tx, r.ID)
	if err != nil {
		return err
	}
	for _, s := range scopes {
		if err := deleteScopeRecord(tx, s); err != nil {
			return err
		}
	}
	byInd, err := tx.bucket(bucketResourcesByInd)
	if err != nil {
		return err
	}
	if err := byInd.Delete([]byte(r.Indicator)); err != nil {
		return err
	}
	if r.IsDefault {
		meta, err := tx.bucket(bucketTenantMeta)
		if err != nil {
			return err
		}
		if err := meta.Delete(keyDefaultResource); err != nil {
			return err
		}
	}
	if err := deleteResourceManagers(tx, r.ID); err != nil {
		return err
	}
	return resourcesTable.delete(tx, r.ID, r.Seq)
}

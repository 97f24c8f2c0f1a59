package store

import (
	"fmt"
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
	ReadOnly bool
}

// Scope is a permission defined on a resource.
type Scope struct {
	ID          string
	ResourceID  string
	Name        string
	Description string
	CreatedAt   int64
}

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
	CreatedAt   int64
}

// DefaultAccessTokenTTL is the lifetime of an access token, in seconds, when
// the resource does not say otherwise.
const DefaultAccessTokenTTL = 3600

func findResourceByIndicator(tx *Tx, indicator string) (*resourceRecord, error) {
	byInd, err := tx.bucket(bucketResourcesByInd)
	if err != nil {
		return nil, err
	}
	id := byInd.Get([]byte(indicator))
	if id == nil {
		return nil, notFound("resource", indicator)
	}
	resources, err := tx.bucket(bucketResources)
	if err != nil {
		return nil, err
	}
	var r resourceRecord
	if ok, err := getJSON(resources, id, &r); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("resource index points at missing %s", id)
	}
	return &r, nil
}

func putResource(tx *Tx, r *resourceRecord) error {
	resources, err := tx.bucket(bucketResources)
	if err != nil {
		return err
	}
	byInd, err := tx.bucket(bucketResourcesByInd)
	if err != nil {
		return err
	}
	if byInd.Get([]byte(r.Indicator)) != nil {
		return detailErrorf(ECONFLICT, "resource.resource_indicator_already_in_use", "The resource indicator is already in use.")
	}
	if err := putJSON(resources, []byte(r.ID), r); err != nil {
		return err
	}
	return byInd.Put([]byte(r.Indicator), []byte(r.ID))
}

func putScope(tx *Tx, s *scopeRecord) error {
	scopes, err := tx.bucket(bucketScopes)
	if err != nil {
		return err
	}
	return putJSON(scopes, []byte(s.ID), s)
}

func putRole(tx *Tx, r *roleRecord) error {
	roles, err := tx.bucket(bucketRoles)
	if err != nil {
		return err
	}
	return putJSON(roles, []byte(r.ID), r)
}

// linkRoleScope grants scopeID to roleID.
func linkRoleScope(tx *Tx, roleID, scopeID string) error {
	b, err := tx.bucket(bucketRoleScopes)
	if err != nil {
		return err
	}
	return b.Put(pairKey(roleID, scopeID), nil)
}

// linkAppRole assigns roleID to appID; both directions are indexed so that a
// delete on either side can remove the relation in the same transaction.
func linkAppRole(tx *Tx, appID, roleID string) error {
	ar, err := tx.bucket(bucketAppRoles)
	if err != nil {
		return err
	}
	ra, err := tx.bucket(bucketRoleApps)
	if err != nil {
		return err
	}
	if err := ar.Put(pairKey(appID, roleID), nil); err != nil {
		return err
	}
	return ra.Put(pairKey(roleID, appID), nil)
}

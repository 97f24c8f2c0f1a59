package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/kv"
)

// Manager roles (ZITADEL's administrator levels). Each belongs to one level
// of ManagerScope; this is also their canonical order, in which a Manager's
// Roles are kept.
const (
	// ManagerIAMOwner manages the whole tenant.
	ManagerIAMOwner = "IAM_OWNER"
	// ManagerIAMOwnerViewer reads the whole tenant.
	ManagerIAMOwnerViewer = "IAM_OWNER_VIEWER"
	// ManagerOrgOwner manages one organization.
	ManagerOrgOwner = "ORG_OWNER"
	// ManagerOrgOwnerViewer reads one organization.
	ManagerOrgOwnerViewer = "ORG_OWNER_VIEWER"
	// ManagerProjectOwner manages one API resource.
	ManagerProjectOwner = "PROJECT_OWNER"
	// ManagerProjectOwnerViewer reads one API resource.
	ManagerProjectOwnerViewer = "PROJECT_OWNER_VIEWER"
	// ManagerProjectGrantOwner manages one API resource within one
	// organization (a resource grant).
	ManagerProjectGrantOwner = "PROJECT_GRANT_OWNER"
)

// managerLevel is the kind of scope a manager role applies to; its value
// names the level in error messages.
type managerLevel string

const (
	levelTenant       managerLevel = "tenant"
	levelOrganization managerLevel = "organization"
	levelResource     managerLevel = "resource"
	levelGrant        managerLevel = "resource grant"
)

// managerRoles lists every manager role with its level, in canonical order.
var managerRoles = []struct {
	name  string
	level managerLevel
}{
	{ManagerIAMOwner, levelTenant},
	{ManagerIAMOwnerViewer, levelTenant},
	{ManagerOrgOwner, levelOrganization},
	{ManagerOrgOwnerViewer, levelOrganization},
	{ManagerProjectOwner, levelResource},
	{ManagerProjectOwnerViewer, levelResource},
	{ManagerProjectGrantOwner, levelGrant},
}

// ManagerScope says where a manager's roles apply: both ids empty = the
// whole tenant; only OrganizationID = one organization; only ResourceID = one
// API resource; both = a resource grant (the resource within the
// organization).
type ManagerScope struct {
	OrganizationID string
	ResourceID     string
}

// Manager is one user's manager roles at one scope.
type Manager struct {
	UserID         string
	OrganizationID string
	ResourceID     string
	Roles          []string // canonical order, never empty
	CreatedAt      int64
	UpdatedAt      int64
}

// Storage of manager roles. Two per-tenant buckets hold them:
//
//	managers/<user>\x00<scope key>           managerRecord
//	managers_by_scope/<scope key>\x00<user>  (empty), the list of one scope
//	managers_by_scope/g\x00<org>\x00<resource>\x00<user>
//	                                         (empty), a resource grant's
//	                                         mirror, found from its organization
//
// The scope key is "t" for the tenant, "o\x00<org>" for an organization, and
// "r\x00<resource>\x00<org>" for a resource (org empty) or a resource grant.
// A resource grant is keyed under its resource, not under a level byte of
// its own, so that the list of a resource (its owners, then its grants in
// (organization, user) order) is one prefix walk of "r\x00<resource>\x00";
// the 'g' mirror lets deleting an organization find its grants by prefix
// too. Ids never contain 0x00, so every part is delimited.
var (
	bucketManagers        = []byte("managers")
	bucketManagersByScope = []byte("managers_by_scope")
)

// managerRecord is a manager's roles at one scope as stored; the user and
// the scope are in the key. It is stored in 17 bytes rather than as JSON,
// since managerGrants reads every record of a manager on each request of
// its tokens: one byte with a bit per role of managerRoles (so the roles
// come out in canonical order), then CreatedAt and UpdatedAt as big-endian
// milliseconds.
type managerRecord struct {
	Roles     []string
	CreatedAt int64
	UpdatedAt int64
}

const managerRecordSize = 17

// encodeManagerRecord returns the stored form of r. Roles must be known.
func encodeManagerRecord(r managerRecord) []byte {
	v := make([]byte, managerRecordSize)
	for i, role := range managerRoles {
		if slices.Contains(r.Roles, role.name) {
			v[0] |= 1 << i
		}
	}
	binary.BigEndian.PutUint64(v[1:9], uint64(r.CreatedAt))
	binary.BigEndian.PutUint64(v[9:17], uint64(r.UpdatedAt))
	return v
}

// decodeManagerRecord decodes a stored managerRecord.
func decodeManagerRecord(v []byte, r *managerRecord) error {
	if len(v) != managerRecordSize || v[0] == 0 || v[0]>>len(managerRoles) != 0 {
		return fmt.Errorf("decode manager record: malformed %x", v)
	}
	r.Roles = make([]string, 0, 2)
	for i, role := range managerRoles {
		if v[0]&(1<<i) != 0 {
			r.Roles = append(r.Roles, role.name)
		}
	}
	r.CreatedAt = int64(binary.BigEndian.Uint64(v[1:9]))
	r.UpdatedAt = int64(binary.BigEndian.Uint64(v[9:17]))
	return nil
}

func (r *managerRecord) toManager(userID string, s ManagerScope) Manager {
	return Manager{UserID: userID, OrganizationID: s.OrganizationID, ResourceID: s.ResourceID,
		Roles: r.Roles, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func (s ManagerScope) level() managerLevel {
	switch {
	case s.OrganizationID == "" && s.ResourceID == "":
		return levelTenant
	case s.ResourceID == "":
		return levelOrganization
	case s.OrganizationID == "":
		return levelResource
	}
	return levelGrant
}

// describe names the scope in messages.
func (s ManagerScope) describe() string {
	switch s.level() {
	case levelTenant:
		return "the tenant"
	case levelOrganization:
		return fmt.Sprintf("organization %q", s.OrganizationID)
	case levelResource:
		return fmt.Sprintf("resource %q", s.ResourceID)
	}
	return fmt.Sprintf("resource %q in organization %q", s.ResourceID, s.OrganizationID)
}

// key returns the scope key.
func (s ManagerScope) key() []byte {
	switch s.level() {
	case levelTenant:
		return []byte("t")
	case levelOrganization:
		return pairKey("o", s.OrganizationID)
	}
	return pairKey("r", string(pairKey(s.ResourceID, s.OrganizationID)))
}

// listPrefix is the managers_by_scope prefix of FindManagers: a resource's
// list takes in its grants.
func (s ManagerScope) listPrefix() []byte {
	if s.level() == levelResource {
		return pairKey("r", string(pairKey(s.ResourceID, "")))
	}
	return pairKey(string(s.key()), "")
}

// indexKeys returns the managers_by_scope keys of userID's record at s.
func (s ManagerScope) indexKeys(userID string) [][]byte {
	keys := [][]byte{pairKey(string(s.key()), userID)}
	if s.level() == levelGrant {
		keys = append(keys, []byte("g\x00"+s.OrganizationID+"\x00"+s.ResourceID+"\x00"+userID))
	}
	return keys
}

// managerKey returns the managers key of userID's record at s.
func managerKey(userID string, s ManagerScope) []byte { return pairKey(userID, string(s.key())) }

// parseScopeKey is the inverse of ManagerScope.key.
func parseScopeKey(k []byte) (ManagerScope, bool) {
	if string(k) == "t" {
		return ManagerScope{}, true
	}
	level, rest, _ := bytes.Cut(k, []byte{0})
	switch string(level) {
	case "o":
		if len(rest) > 0 && bytes.IndexByte(rest, 0) < 0 {
			return ManagerScope{OrganizationID: string(rest)}, true
		}
	case "r":
		res, org, ok := bytes.Cut(rest, []byte{0})
		if ok && len(res) > 0 && bytes.IndexByte(org, 0) < 0 {
			return ManagerScope{ResourceID: string(res), OrganizationID: string(org)}, true
		}
	}
	return ManagerScope{}, false
}

// parseManagerKey splits a managers key into the user and the scope.
func parseManagerKey(k []byte) (ManagerScope, string, bool) {
	user, sk, ok := bytes.Cut(k, []byte{0})
	if !ok || len(user) == 0 {
		return ManagerScope{}, "", false
	}
	s, ok := parseScopeKey(sk)
	return s, string(user), ok
}

// parseIndexKey splits a managers_by_scope key, a grant's mirror included,
// into the scope and the user.
func parseIndexKey(k []byte) (ManagerScope, string, bool) {
	if parts := bytes.Split(k, []byte{0}); string(parts[0]) == "g" {
		if len(parts) != 4 || len(parts[1]) == 0 || len(parts[2]) == 0 || len(parts[3]) == 0 {
			return ManagerScope{}, "", false
		}
		return ManagerScope{OrganizationID: string(parts[1]), ResourceID: string(parts[2])}, string(parts[3]), true
	}
	i := bytes.LastIndexByte(k, 0)
	if i < 0 || i == len(k)-1 {
		return ManagerScope{}, "", false
	}
	s, ok := parseScopeKey(k[:i])
	return s, string(k[i+1:]), ok
}

// canonicalRoles checks roles for level and returns them without
// duplicates, in canonical order. Returns EINVALID.
func canonicalRoles(level managerLevel, roles []string) ([]string, error) {
	if len(roles) == 0 {
		return nil, fieldError("roles", "at least one manager role is required")
	}
	var allowed []string
	for _, r := range managerRoles {
		if r.level == level {
			allowed = append(allowed, r.name)
		}
	}
	for _, r := range roles {
		if !slices.Contains(allowed, r) {
			return nil, detailErrorf(EINVALID, "manager.invalid_role",
				"The manager role %q cannot be granted at the %s level; the roles of that level are %s.",
				r, level, strings.Join(allowed, ", "))
		}
	}
	out := make([]string, 0, len(allowed))
	for _, r := range allowed {
		if slices.Contains(roles, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

func managerBuckets(tx *Tx) (records, byScope *kv.Bucket, err error) {
	if records, err = tx.bucket(bucketManagers); err != nil {
		return nil, nil, err
	}
	byScope, err = tx.bucket(bucketManagersByScope)
	return records, byScope, err
}

// checkManagerScope returns the ENOTFOUND of a scope's missing organization
// or resource. The built-in resources are resources like the others.
func checkManagerScope(tx *Tx, s ManagerScope) error {
	if s.OrganizationID != "" {
		if _, err := findOrg(tx, s.OrganizationID); err != nil {
			return err
		}
	}
	if s.ResourceID != "" {
		if _, err := findResource(tx, s.ResourceID); err != nil {
			return err
		}
	}
	return nil
}

// checkManagerTarget returns the ENOTFOUND of a missing user or scope
// object. Checking them also keeps ids with 0x00, which no object has, out
// of the keys.
func checkManagerTarget(tx *Tx, s ManagerScope, userID string) error {
	if _, err := findUserRecord(tx, userID); err != nil {
		return err
	}
	return checkManagerScope(tx, s)
}

// auditPayload describes a change of userID's roles at s: the target is the
// resource, or else the organization, and a grant's organization is a
// parameter.
func (s ManagerScope) auditPayload(userID string, roles []string) AuditPayload {
	p := AuditPayload{UserID: userID, Params: map[string]string{}}
	switch s.level() {
	case levelOrganization:
		p.Target = &AuditTarget{Type: "organization", ID: s.OrganizationID}
	case levelGrant:
		p.Params["organizationId"] = s.OrganizationID
		fallthrough
	case levelResource:
		p.Target = &AuditTarget{Type: "resource", ID: s.ResourceID}
	}
	if roles != nil {
		p.Params["roles"] = strings.Join(roles, " ")
	}
	return p
}

// SetManager gives userID exactly roles at scope, creating the manager or
// replacing its roles; created reports a new one. Duplicate roles are
// dropped and the rest kept in canonical order. Returns EINVALID when roles
// is empty or names a role of another level (detail manager.invalid_role),
// and ENOTFOUND when the user, the organization or the resource does not
// exist.
func (db *DB) SetManager(ctx context.Context, tenant string, scope ManagerScope, userID string, roles []string) (m *Manager, created bool, err error) {
	canon, err := canonicalRoles(scope.level(), roles)
	if err != nil {
		return nil, false, err
	}
	err = db.Update(ctx, tenant, func(tx *Tx) error {
		if err := checkManagerTarget(tx, scope, userID); err != nil {
			return err
		}
		records, byScope, err := managerBuckets(tx)
		if err != nil {
			return err
		}
		key := managerKey(userID, scope)
		rec := managerRecord{CreatedAt: msec(tx.now)}
		old := records.Get(key)
		if old != nil {
			if err := decodeManagerRecord(old, &rec); err != nil {
				return err
			}
		}
		created = old == nil
		rec.Roles, rec.UpdatedAt = canon, msec(tx.now)
		if err := records.Put(key, encodeManagerRecord(rec)); err != nil {
			return err
		}
		for _, k := range scope.indexKeys(userID) {
			if err := byScope.Put(k, nil); err != nil {
				return err
			}
		}
		out := rec.toManager(userID, scope)
		out.Roles = slices.Clone(canon)
		m = &out
		return tx.audit("Management.Manager.Set", scope.auditPayload(userID, canon))
	})
	if err != nil {
		return nil, false, err
	}
	return m, created, nil
}

// RemoveManager takes every manager role of userID at scope away. Returns
// ENOTFOUND when the user, the organization or the resource does not exist,
// or (detail manager.not_found) when the user has no roles at scope.
func (db *DB) RemoveManager(ctx context.Context, tenant string, scope ManagerScope, userID string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		if err := checkManagerTarget(tx, scope, userID); err != nil {
			return err
		}
		records, byScope, err := managerBuckets(tx)
		if err != nil {
			return err
		}
		if records.Get(managerKey(userID, scope)) == nil {
			return detailErrorf(ENOTFOUND, "manager.not_found",
				"User %q has no manager roles at %s.", userID, scope.describe())
		}
		if err := deleteManager(records, byScope, scope, userID); err != nil {
			return err
		}
		return tx.audit("Management.Manager.Delete", scope.auditPayload(userID, nil))
	})
}

// FindManagers returns one page of the managers of scope in user id order,
// and their number. The list of a resource (ResourceID alone) also holds
// every grant of that resource: its own managers come first, then the
// grants in (organization id, user id) order. The total is counted by
// walking the scope's keys, which are few. Returns ENOTFOUND when the
// organization or the resource does not exist.
func (db *DB) FindManagers(ctx context.Context, tenant string, scope ManagerScope, p pagination.Params) ([]*Manager, int, error) {
	out := []*Manager{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		if err := checkManagerScope(tx, scope); err != nil {
			return err
		}
		records, byScope, err := managerBuckets(tx)
		if err != nil {
			return err
		}
		emit := func(k, _ []byte) error {
			s, user, ok := parseIndexKey(k)
			if !ok {
				return fmt.Errorf("managers_by_scope: malformed key %q", k)
			}
			v := records.Get(managerKey(user, s))
			if v == nil {
				return fmt.Errorf("managers_by_scope %q points at a missing record", k)
			}
			var r managerRecord
			if err := decodeManagerRecord(v, &r); err != nil {
				return fmt.Errorf("manager %q: %w", k, err)
			}
			m := r.toManager(user, s)
			out = append(out, &m)
			return nil
		}
		c := &prefixCursor{c: byScope.Cursor(), prefix: scope.listPrefix()}
		total, err = pagination.Walk(ctx, c, p, nil, emit)
		return err
	})
	return out, total, err
}

// FindUserManagerRoles returns every scope at which userID has manager
// roles, as managerGrants orders them. Returns ENOTFOUND when the user does
// not exist.
func (db *DB) FindUserManagerRoles(ctx context.Context, tenant, userID string) ([]Manager, error) {
	var out []Manager
	err := db.View(ctx, tenant, func(tx *Tx) error {
		if _, err := findUserRecord(tx, userID); err != nil {
			return err
		}
		var err error
		out, err = managerGrants(tx, userID)
		return err
	})
	return out, err
}

// managerGrants returns every scope at which userID has manager roles, in
// key order: organizations, then resources and grants, then the tenant. It
// is one prefix walk of the user's keys and checks nothing else (not even
// that the user exists), so it can run on every request of a manager token.
func managerGrants(tx *Tx, userID string) ([]Manager, error) {
	out := []Manager{}
	if userID == "" || strings.IndexByte(userID, 0) >= 0 {
		return out, nil // no such user; the prefix would reach another's keys
	}
	records, err := tx.bucket(bucketManagers)
	if err != nil {
		return nil, err
	}
	prefix := pairKey(userID, "")
	c := records.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		s, ok := parseScopeKey(k[len(prefix):])
		if !ok {
			return nil, fmt.Errorf("managers: malformed key %q", k)
		}
		var r managerRecord
		if err := decodeManagerRecord(v, &r); err != nil {
			return nil, fmt.Errorf("manager %q: %w", k, err)
		}
		out = append(out, r.toManager(userID, s))
	}
	return out, nil
}

// deleteManager removes userID's record at s and its index entries.
func deleteManager(records, byScope *kv.Bucket, s ManagerScope, userID string) error {
	for _, k := range s.indexKeys(userID) {
		if err := byScope.Delete(k); err != nil {
			return err
		}
	}
	return records.Delete(managerKey(userID, s))
}

// deleteUserManagers removes every manager role of a user being deleted.
func deleteUserManagers(tx *Tx, userID string) error {
	return deleteManagersUnder(tx, false, pairKey(userID, ""))
}

// deleteOrgManagers removes the managers of an organization being deleted
// and every grant of a resource within it.
func deleteOrgManagers(tx *Tx, orgID string) error {
	return deleteManagersUnder(tx, true, pairKey(string(ManagerScope{OrganizationID: orgID}.key()), ""),
		pairKey(string(pairKey("g", orgID)), ""))
}

// deleteResourceManagers removes the managers of a resource being deleted
// and every grant of it.
func deleteResourceManagers(tx *Tx, resourceID string) error {
	return deleteManagersUnder(tx, true, ManagerScope{ResourceID: resourceID}.listPrefix())
}

// deleteManagersUnder removes the managers whose keys start with one of
// prefixes, in managers_by_scope if byIndex and in managers otherwise. The
// keys are gathered before anything is deleted, because deleting under a
// bbolt cursor makes it skip keys.
func deleteManagersUnder(tx *Tx, byIndex bool, prefixes ...[]byte) error {
	records, byScope, err := managerBuckets(tx)
	if err != nil {
		return err
	}
	b, parse := records, parseManagerKey
	if byIndex {
		b, parse = byScope, parseIndexKey
	}
	type entry struct {
		scope ManagerScope
		user  string
	}
	var doomed []entry
	for _, prefix := range prefixes {
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			s, user, ok := parse(k)
			if !ok {
				return fmt.Errorf("manager key %q is malformed", k)
			}
			doomed = append(doomed, entry{s, user})
		}
	}
	for _, e := range doomed {
		if err := deleteManager(records, byScope, e.scope, e.user); err != nil {
			return err
		}
	}
	return nil
}

// managers checks every manager record against its index entries, its user,
// its organization and resource, and the roles its level allows; and every
// index entry against its record.
func (c *integrityCheck) managers() error {
	records, byScope, err := managerBuckets(c.tx)
	if err != nil {
		return err
	}
	if err := records.ForEach(func(k, v []byte) error {
		s, user, ok := parseManagerKey(k)
		if !ok {
			c.report("managers: malformed key %q", k)
			return nil
		}
		var r managerRecord
		if err := decodeManagerRecord(v, &r); err != nil {
			c.report("manager %q does not decode: %v", k, err)
			return nil
		}
		if canon, err := canonicalRoles(s.level(), r.Roles); err != nil || !slices.Equal(canon, r.Roles) {
			c.report("manager %s at %s has roles %q, not valid and canonical for the %s level", user, s.describe(), r.Roles, s.level())
		}
		for _, ik := range s.indexKeys(user) {
			if byScope.Get(ik) == nil {
				c.report("manager %s at %s missing from managers_by_scope (%q)", user, s.describe(), ik)
			}
		}
		if err := checkManagerTarget(c.tx, s, user); err != nil {
			if ErrorCode(err) != ENOTFOUND {
				return err
			}
			c.report("manager %s at %s: %s", user, s.describe(), ErrorMessage(err))
		}
		return nil
	}); err != nil {
		return err
	}
	return byScope.ForEach(func(k, _ []byte) error {
		s, user, ok := parseIndexKey(k)
		if !ok || !slices.ContainsFunc(s.indexKeys(user), func(ik []byte) bool { return bytes.Equal(ik, k) }) {
			c.report("managers_by_scope: malformed key %q", k)
		} else if records.Get(managerKey(user, s)) == nil {
			c.report("managers_by_scope %q points at a missing record", k)
		}
		return nil
	})
}

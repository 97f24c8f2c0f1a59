package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/idbolt/idbolt/store/internal/rankindex"
	"github.com/idbolt/idbolt/store/kv"
)

// maxIntegrityProblems bounds the report of CheckIntegrity.
const maxIntegrityProblems = 20

// CheckIntegrity checks that the file holds only the buckets and meta keys the
// schema declares (db_schema.go), and every tenant's references: both directions of
// every relation, the relation counts, that related objects exist and have the
// type the relation allows, and every secondary index against its records.
// It returns nil or an error listing up to 20 problems. It reads the whole
// file, so it is meant for tests and for operators, not for requests.
func (db *DB) CheckIntegrity(ctx context.Context) error {
	var problems []error
	report := func(format string, args ...any) {
		if len(problems) < maxIntegrityProblems {
			problems = append(problems, fmt.Errorf(format, args...))
		}
	}
	err := kv.View(db.bolt, func(btx *kv.Tx) error {
		// The root buckets besides tenants against the schema; each tenant
		// is checked with its references below.
		if err := btx.ForEach(func(name []byte, b *kv.Bucket) error {
			if bytes.Equal(name, bucketTenants) {
				return nil
			}
			return checkDeclared(b, string(name), findSpec(rootSchema, name), report)
		}); err != nil {
			return err
		}
		return btx.Bucket(bucketTenants).ForEachBucket(func(name []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			tx, err := db.bind(btx, string(name))
			if err != nil {
				return err
			}
			c := integrityCheck{tx: tx, report: func(format string, args ...any) {
				report("tenant %s: "+format, append([]any{tx.tenant}, args...)...)
			}}
			if err := c.run(); err != nil {
				return err
			}
			if tx.tenant == DefaultTenant {
				return checkSystemAdmins(tx, report)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	return errors.Join(problems...)
}

// integrityCheck checks one tenant.
type integrityCheck struct {
	tx     *Tx
	report func(format string, args ...any)
}

func (c *integrityCheck) run() error {
	if err := checkChildren(c.tx.b, "tenants/"+c.tx.tenant, tenantSchema, c.report); err != nil {
		return err
	}
	for _, r := range schemaRelations {
		if r.a.kind == entityMembership {
			continue // keyed by a membership: the member role check of its bucket
		}
		aOK, bOK := c.endOK(r.a), c.endOK(r.b)
		if aOK == nil || bOK == nil {
			return fmt.Errorf("schema: relation %s has an end of a kind CheckIntegrity cannot check", r.rel.fwd)
		}
		if err := c.relation(r.rel, aOK, bOK, string(r.a.kind), string(r.b.kind)); err != nil {
			return err
		}
	}
	for _, s := range tenantSchema {
		if s.check == nil {
			continue
		}
		if err := s.check(c); err != nil {
			return fmt.Errorf("check %s: %w", s.name, err)
		}
	}
	return nil
}

// checkTable returns the check of table t's records against its order.
func checkTable(t table) func(*integrityCheck) error {
	return func(c *integrityCheck) error { return c.table(t) }
}

// checkNamedTable returns the check of named table t's name index.
func checkNamedTable(t namedTable) func(*integrityCheck) error {
	return func(c *integrityCheck) error { return c.nameIndex(t) }
}

// checkInvitations checks the invitations table and the invitations'
// indexes and rules.
func checkInvitations(c *integrityCheck) error {
	if err := c.table(invitationsTable); err != nil {
		return err
	}
	return c.invitations()
}

// checkRolesByName checks the role name index against the roles.
func checkRolesByName(c *integrityCheck) error {
	return c.index(bucketRolesByName, rolesTable, func(v []byte) (string, error) {
		var r roleRecord
		return r.Name, json.Unmarshal(v, &r)
	})
}

// checkResourcesByIndicator checks the resource indicator index against
// the resources.
func checkResourcesByIndicator(c *integrityCheck) error {
	return c.index(bucketResourcesByInd, resourcesTable, func(v []byte) (string, error) {
		var r resourceRecord
		return r.Indicator, json.Unmarshal(v, &r)
	})
}

// table checks that records and the creation-order index match one to one.
func (c *integrityCheck) table(t table) error {
	records, err := c.tx.bucket(t.records)
	if err != nil {
		return err
	}
	order, err := c.tx.bucket(t.order)
	if err != nil {
		return err
	}
	if err := order.ForEach(func(k, v []byte) error {
		if records.Get(v) == nil {
			c.report("%s order %d points at missing %s", t.entity, btoi(k), v)
		}
		return nil
	}); err != nil {
		return err
	}
	return records.ForEach(func(k, v []byte) error {
		var rec struct {
			Seq uint64 `json:"seq"`
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			c.report("%s %s does not decode: %v", t.entity, k, err)
			return nil
		}
		if got := order.Get(itob(rec.Seq)); !bytes.Equal(got, k) {
			c.report("%s %s (seq %d) missing from the order index", t.entity, k, rec.Seq)
		}
		return nil
	})
}

// endOK returns the check that an id at relation end e is an entity of
// its kind and, when e names one, of its type; nil for a kind it does not
// know (TestSchema_Declarations).
func (c *integrityCheck) endOK(e relationEnd) func(string) (bool, error) {
	typedOrAny := func(t table) func(string) (bool, error) {
		if e.typ == "" {
			return c.exists(t)
		}
		return c.typed(t, e.typ)
	}
	switch e.kind {
	case entityUser:
		return c.userExists
	case entityApp:
		return typedOrAny(appsTable)
	case entityRole:
		return typedOrAny(rolesTable)
	case entityScope:
		return c.scopeExists
	case entityOrg:
		return c.orgExists
	case entityOrgRole:
		return c.named(orgRolesTable)
	case entityOrgScope:
		return c.named(orgScopesTable)
	case entityInvitation:
		return c.exists(invitationsTable)
	}
	return nil
}

func (c *integrityCheck) exists(t table) func(string) (bool, error) {
	return func(id string) (bool, error) { return t.exists(c.tx, id) }
}

// typed returns a check that record id of t exists and has type want.
func (c *integrityCheck) typed(t table, want string) func(string) (bool, error) {
	return func(id string) (bool, error) {
		var rec struct {
			Type string `json:"ty"`
		}
		ok, err := found(t.get(c.tx, id, &rec))
		return ok && rec.Type == want, err
	}
}

func (c *integrityCheck) named(t namedTable) func(string) (bool, error) {
	return func(id string) (bool, error) {
		var rec struct{}
		return found(t.get(c.tx, id, &rec))
	}
}

func (c *integrityCheck) orgExists(id string) (bool, error) {
	_, err := findOrg(c.tx, id)
	return found(err)
}

func (c *integrityCheck) scopeExists(id string) (bool, error) {
	_, err := findScope(c.tx, id)
	return found(err)
}

func (c *integrityCheck) userExists(id string) (bool, error) {
	_, err := findUserRecord(c.tx, id)
	return found(err)
}

// found turns the error of a lookup into whether the object exists; only
// errors other than ENOTFOUND remain errors.
func found(err error) (bool, error) {
	if ErrorCode(err) == ENOTFOUND {
		return false, nil
	}
	return err == nil, err
}

// relation checks that every pair is mirrored and joins objects that exist
// with the types the relation allows.
func (c *integrityCheck) relation(r relation, aOK, bOK func(string) (bool, error), aName, bName string) error {
	fwd, back, _, err := r.buckets(c.tx)
	if err != nil {
		return err
	}
	if err := fwd.ForEach(func(k, _ []byte) error {
		a, b, ok := bytes.Cut(k, []byte{0})
		if !ok {
			c.report("%s: malformed key %q", r.fwd, k)
			return nil
		}
		if back.Get(pairKey(string(b), string(a))) == nil {
			c.report("%s %s -> %s %s has no mirror in %s", aName, a, bName, b, r.back)
		}
		if ok, err := aOK(string(a)); err != nil {
			return err
		} else if !ok {
			c.report("%s: %s %s is missing or of the wrong type", r.fwd, aName, a)
		}
		if ok, err := bOK(string(b)); err != nil {
			return err
		} else if !ok {
			c.report("%s: %s %s is missing or of the wrong type", r.fwd, bName, b)
		}
		return nil
	}); err != nil {
		return err
	}
	return back.ForEach(func(k, _ []byte) error {
		b, a, _ := bytes.Cut(k, []byte{0})
		if fwd.Get(pairKey(string(a), string(b))) == nil {
			c.report("%s %s -> %s %s has no mirror in %s", bName, b, aName, a, r.fwd)
		}
		return nil
	})
}

// counts recounts every relation bucket and compares with relation_counts.
func (c *integrityCheck) counts() error {
	want := map[string]uint64{}
	for _, s := range schemaRelations {
		for _, name := range [][]byte{s.rel.fwd, s.rel.back} {
			b, err := c.tx.bucket(name)
			if err != nil {
				return err
			}
			// The member role relations' fwd side is keyed by a membership,
			// org\x00member, so its a ends at the last 0x00.
			composite := s.a.kind == entityMembership && bytes.Equal(name, s.rel.fwd)
			if err := b.ForEach(func(k, _ []byte) error {
				i := bytes.IndexByte(k, 0)
				if composite {
					i = bytes.LastIndexByte(k, 0)
				}
				if i < 0 {
					c.report("%s: malformed key %q", name, k)
					return nil
				}
				want[string(countKey(name, string(k[:i])))]++
				return nil
			}); err != nil {
				return err
			}
		}
	}
	counts, err := c.tx.bucket(bucketRelCounts)
	if err != nil {
		return err
	}
	if err := counts.ForEach(func(k, v []byte) error {
		if got := binary.BigEndian.Uint64(v); len(v) != 8 || got != want[string(k)] {
			c.report("relation count %q is %d, want %d", k, got, want[string(k)])
		}
		delete(want, string(k))
		return nil
	}); err != nil {
		return err
	}
	for k, n := range want {
		c.report("relation count %q missing, want %d", k, n)
	}
	return nil
}

// index checks a unique index (value -> id) against the records of t.
func (c *integrityCheck) index(name []byte, t table, value func(v []byte) (string, error)) error {
	idx, err := c.tx.bucket(name)
	if err != nil {
		return err
	}
	records, err := c.tx.bucket(t.records)
	if err != nil {
		return err
	}
	n := 0
	if err := records.ForEach(func(k, v []byte) error {
		n++
		val, err := value(v)
		if err != nil {
			c.report("%s %s does not decode: %v", t.entity, k, err)
		} else if got := idx.Get([]byte(val)); !bytes.Equal(got, k) {
			c.report("%s: %q maps to %q, want %s", name, val, got, k)
		}
		return nil
	}); err != nil {
		return err
	}
	if got := idx.Stats().KeyN; got != n {
		c.report("%s has %d entries for %d records", name, got, n)
	}
	return nil
}

// scopes checks every scope against its resource and the scope indexes.
func (c *integrityCheck) scopes() error {
	scopes, rs, byName, err := scopeBuckets(c.tx)
	if err != nil {
		return err
	}
	n := 0
	if err := scopes.ForEach(func(k, v []byte) error {
		n++
		var s scopeRecord
		if err := json.Unmarshal(v, &s); err != nil {
			c.report("scope %s does not decode: %v", k, err)
			return nil
		}
		if ok, err := resourcesTable.exists(c.tx, s.ResourceID); err != nil {
			return err
		} else if !ok {
			c.report("scope %s belongs to missing resource %s", s.ID, s.ResourceID)
		}
		if rs.Get(pairKey(s.ResourceID, s.ID)) == nil {
			c.report("scope %s missing from resource_scopes", s.ID)
		}
		if got := byName.Get(pairKey(s.ResourceID, s.Name)); string(got) != s.ID {
			c.report("scopes_by_name %s/%s maps to %q, want %s", s.ResourceID, s.Name, got, s.ID)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, b := range []*kv.Bucket{rs, byName} {
		if got := b.Stats().KeyN; got != n {
			c.report("a scope index has %d entries for %d scopes", got, n)
		}
	}
	meta, err := c.tx.bucket(bucketTenantMeta)
	if err != nil {
		return err
	}
	if id := meta.Get(keyDefaultResource); id != nil {
		var r resourceRecord
		if err := resourcesTable.get(c.tx, string(id), &r); err != nil || !r.IsDefault {
			c.report("default resource %s is missing or not flagged default", id)
		}
	}
	return nil
}

// memberRoles checks the roles of organization members: each pair is
// mirrored, the membership exists and the role has the member's type.
func (c *integrityCheck) memberRoles(k memberKind, name string) error {
	fwd, back, _, err := k.roles.buckets(c.tx)
	if err != nil {
		return err
	}
	roleOK := func(id string) (bool, error) {
		r, err := findOrgRole(c.tx, id)
		ok, err := found(err)
		return ok && r.Type == k.roleType, err
	}
	if err := fwd.ForEach(func(key, _ []byte) error {
		parts := bytes.Split(key, []byte{0})
		if len(parts) != 3 {
			c.report("%s: malformed key %q", k.roles.fwd, key)
			return nil
		}
		org, member, role := string(parts[0]), string(parts[1]), string(parts[2])
		if back.Get(pairKey(role, string(pairKey(org, member)))) == nil {
			c.report("%s %s role %s in organization %s has no mirror", name, member, role, org)
		}
		if ok, err := k.members.has(c.tx, org, member); err != nil {
			return err
		} else if !ok {
			c.report("%s %s holds role %s in organization %s without being a member", name, member, role, org)
		}
		if ok, err := roleOK(role); err != nil {
			return err
		} else if !ok {
			c.report("%s %s holds role %s, which is missing or of the wrong type", name, member, role)
		}
		return nil
	}); err != nil {
		return err
	}
	return back.ForEach(func(key, _ []byte) error {
		parts := bytes.Split(key, []byte{0})
		if len(parts) != 3 || fwd.Get(pairKey(string(pairKey(string(parts[1]), string(parts[2]))), string(parts[0]))) == nil {
			c.report("%s: %q has no mirror", k.roles.back, key)
		}
		return nil
	})
}

// prefixRank recounts the prefix rank index of r.
func (c *integrityCheck) prefixRank(r relation) error {
	fwd, err := c.tx.bucket(r.fwd)
	if err != nil {
		return err
	}
	idx, err := c.tx.bucket(r.rank)
	if err != nil {
		return err
	}
	want := map[string]uint64{}
	if err := fwd.ForEach(func(k, _ []byte) error {
		a, b, _ := bytes.Cut(k, []byte{0})
		for level := 1; level <= rankindex.PrefixLevels; level++ {
			want[string(rankindex.PrefixKey(string(a), level, b))]++
		}
		return nil
	}); err != nil {
		return err
	}
	if err := idx.ForEach(func(k, v []byte) error {
		if len(v) != 8 || btoi(v) != want[string(k)] {
			c.report("%s: count %q is %x, want %d", r.rank, k, v, want[string(k)])
		}
		delete(want, string(k))
		return nil
	}); err != nil {
		return err
	}
	for k, n := range want {
		c.report("%s: count %q missing, want %d", r.rank, k, n)
	}
	return nil
}

// nameIndex checks the name index of t against its records.
func (c *integrityCheck) nameIndex(t namedTable) error {
	records, err := c.tx.bucket(t.records)
	if err != nil {
		return err
	}
	byName, err := c.tx.bucket(t.byName)
	if err != nil {
		return err
	}
	if err := records.ForEach(func(k, v []byte) error {
		var rec struct {
			Name string `json:"nm"`
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			c.report("%s %s does not decode: %v", t.entity, k, err)
		} else if got := byName.Get([]byte(rec.Name)); !bytes.Equal(got, k) {
			c.report("%s: %q maps to %q, want %s", t.byName, rec.Name, got, k)
		}
		return nil
	}); err != nil {
		return err
	}
	if got, want := byName.Stats().KeyN, records.Stats().KeyN; got != want {
		c.report("%s has %d entries for %d records", t.byName, got, want)
	}
	return nil
}

// invitations checks every invitation's references and its two indexes:
// org_invitations lists exactly the invitations of each organization, and
// invitations_pending names exactly the invitations stored as Pending.
func (c *integrityCheck) invitations() error {
	records, err := c.tx.bucket(bucketInvitations)
	if err != nil {
		return err
	}
	byOrg, err := c.tx.bucket(bucketOrgInvitations)
	if err != nil {
		return err
	}
	pending, err := c.tx.bucket(bucketInvitationsPending)
	if err != nil {
		return err
	}
	n, nPending := 0, 0
	if err := records.ForEach(func(k, v []byte) error {
		n++
		var r invitationRecord
		if err := json.Unmarshal(v, &r); err != nil {
			c.report("invitation %s does not decode: %v", k, err)
			return nil
		}
		if ok, err := c.orgExists(r.OrganizationID); err != nil {
			return err
		} else if !ok {
			c.report("invitation %s: organization %s is missing", r.ID, r.OrganizationID)
		}
		for what, uid := range map[string]*string{"inviter": r.InviterID, "accepted user": r.AcceptedUserID} {
			if uid == nil {
				continue
			}
			if ok, err := c.userExists(*uid); err != nil {
				return err
			} else if !ok {
				c.report("invitation %s: %s %s is missing", r.ID, what, *uid)
			}
		}
		if byOrg.Get(pairKey(r.OrganizationID, r.ID)) == nil {
			c.report("invitation %s missing from org_invitations", r.ID)
		}
		switch r.Status {
		case InvitationPending:
			nPending++
			if got := pending.Get(pendingKey(r.OrganizationID, r.Invitee)); string(got) != r.ID {
				c.report("invitations_pending for pending invitation %s maps to %q", r.ID, got)
			}
		case InvitationAccepted:
			if r.AcceptedUserID == nil {
				c.report("accepted invitation %s has no accepted user", r.ID)
			}
		case InvitationExpired, InvitationRevoked:
		default:
			c.report("invitation %s has status %q", r.ID, r.Status)
		}
		return nil
	}); err != nil {
		return err
	}
	if got := byOrg.Stats().KeyN; got != n {
		c.report("org_invitations has %d entries for %d invitations", got, n)
	}
	if err := byOrg.ForEach(func(k, _ []byte) error {
		org, id, _ := bytes.Cut(k, []byte{0})
		var r invitationRecord
		if ok, err := found(invitationsTable.get(c.tx, string(id), &r)); err != nil {
			return err
		} else if !ok || r.OrganizationID != string(org) {
			c.report("org_invitations %q names a missing invitation or the wrong organization", k)
		}
		return nil
	}); err != nil {
		return err
	}
	if got := pending.Stats().KeyN; got != nPending {
		c.report("invitations_pending has %d entries for %d pending invitations", got, nPending)
	}
	return nil
}

// orgCount checks the stored number of organizations.
func (c *integrityCheck) orgCount() error {
	orgs, err := c.tx.bucket(bucketOrgs)
	if err != nil {
		return err
	}
	n, err := orgCount(c.tx)
	if err != nil {
		return err
	}
	if want := orgs.Stats().KeyN; n != want {
		c.report("organization count is %d, want %d", n, want)
	}
	return nil
}

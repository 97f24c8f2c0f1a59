package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/idbolt/idbolt/pagination"
)

// Organization invitation statuses. Accepted, Expired and Revoked are final.
const (
	InvitationPending  = "Pending"
	InvitationAccepted = "Accepted"
	InvitationExpired  = "Expired"
	InvitationRevoked  = "Revoked"
)

// Invitation is an invitation of an email address to an organization.
// Status is computed: a Pending invitation past ExpiresAt reads as Expired.
type Invitation struct {
	ID             string
	InviterID      *string
	Invitee        string
	AcceptedUserID *string
	OrganizationID string
	Status         string
	CreatedAt      int64
	UpdatedAt      int64
	ExpiresAt      int64
	// Roles are the organization roles the invitee gets on acceptance,
	// by name.
	Roles []OrganizationRoleRef
}

// InvitationMessage is what the caller puts in the invitation email,
// Logto's SendMessagePayload. Absent fields are nil.
type InvitationMessage struct {
	Code      *string
	Link      *string
	Locale    *string
	UILocales *string
}

// InvitationCreate is the input of CreateInvitation.
type InvitationCreate struct {
	InviterID      *string
	Invitee        string
	OrganizationID string
	ExpiresAt      int64
	RoleIDs        []string
	// Message, when not nil, is stored and the invitation email is due.
	Message *InvitationMessage
}

// InvitationFilter selects invitations in FindInvitations; empty fields
// select everything.
type InvitationFilter struct {
	OrganizationID string
	InviterID      string
	// Invitee matches case-insensitively.
	Invitee string
	// OrganizationIDs, when not nil, keeps only the invitations of these
	// organizations (what a manager of some organizations may see).
	OrganizationIDs []string
}

// InvitationEmail is an invitation email to deliver through the tenant's
// email connector or, when it has none, its email webhook. The store only
// describes it: sending is the caller's job, since no network I/O may
// happen inside a transaction.
type InvitationEmail struct {
	Invitation       *Invitation
	OrganizationName string
	Message          InvitationMessage
	// Connector is the tenant's email connector, its config in clear
	// (FindConnectorForSending); nil sends to Webhook.
	Connector *Connector
	Webhook   EmailWebhook
}

// messageRecord is an InvitationMessage as stored.
type messageRecord struct {
	Code      *string `json:"c,omitempty"`
	Link      *string `json:"l,omitempty"`
	Locale    *string `json:"lc,omitempty"`
	UILocales *string `json:"ul,omitempty"`
}

func (m *messageRecord) toMessage() InvitationMessage {
	if m == nil {
		return InvitationMessage{}
	}
	return InvitationMessage{Code: m.Code, Link: m.Link, Locale: m.Locale, UILocales: m.UILocales}
}

func fromMessage(m InvitationMessage) *messageRecord {
	return &messageRecord{Code: m.Code, Link: m.Link, Locale: m.Locale, UILocales: m.UILocales}
}

// status is the invitation's status at now (epoch ms). Logto computes it on
// every read: a stored Pending with expiresAt < now is Expired.
func (r *invitationRecord) status(now int64) string {
	if r.Status == InvitationPending && r.ExpiresAt < now {
		return InvitationExpired
	}
	return r.Status
}

// maxInvitee bounds the invitee (Logto's column is varchar(256)).
const maxInvitee = 256

// inviteeRE is zod's email rule, which Logto applies to the invitee, minus
// its two lookaheads (no leading dot, no "..") that RE2 lacks and
// validInvitee checks itself.
var inviteeRE = regexp.MustCompile(`(?i)^[A-Z0-9_'+\-.]*[A-Z0-9_+\-]@([A-Z0-9][A-Z0-9\-]*\.)+[A-Z]{2,}$`)

func validInvitee(s string) bool {
	return len(s) <= maxInvitee && inviteeRE.MatchString(s) && !strings.HasPrefix(s, ".") && !strings.Contains(s, "..")
}

// maxMessageField bounds each field of a message payload.
const maxMessageField = maxURLField

func validateMessage(m *InvitationMessage) error {
	if m == nil {
		return nil
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"code", m.Code}, {"link", m.Link}, {"locale", m.Locale}, {"uiLocales", m.UILocales}} {
		if f.v != nil && (len(*f.v) > maxMessageField || !utf8.ValidString(*f.v)) {
			return fieldError("messagePayload."+f.name, "must be at most %d bytes of UTF-8", maxMessageField)
		}
	}
	return nil
}

// errInvalidRequest is Logto's 422 request.invalid_input, which its
// invitation library uses for every broken business rule.
func errInvalidRequest(details string) *Error {
	return detailErrorf(EUNPROCESSABLE, "request.invalid_input", "Input is invalid. %s", details)
}

func findInvitation(tx *Tx, id string) (*invitationRecord, error) {
	var r invitationRecord
	if err := invitationsTable.get(tx, id, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// toInvitation adds the roles, sorted by name as Logto's aggregate is.
func (r *invitationRecord) toInvitation(tx *Tx) (*Invitation, error) {
	ids, err := relInvitationRoles.list(tx, r.ID)
	if err != nil {
		return nil, err
	}
	return r.toInvitationWithRoles(tx, ids)
}

// toInvitationWithRoles is toInvitation with the role ids given, so that a
// write can build its result before it links the roles.
func (r *invitationRecord) toInvitationWithRoles(tx *Tx, ids []string) (*Invitation, error) {
	roles := make([]*orgRoleRecord, 0, len(ids))
	for _, id := range ids {
		role, err := findOrgRole(tx, id)
		if err != nil {
			return nil, err
		}
		roles = append(roles, role)
	}
	slices.SortFunc(roles, func(a, b *orgRoleRecord) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return &Invitation{ID: r.ID, InviterID: r.InviterID, Invitee: r.Invitee, AcceptedUserID: r.AcceptedUserID,
		OrganizationID: r.OrganizationID, Status: r.status(msec(tx.now)), CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt, ExpiresAt: r.ExpiresAt, Roles: roleRefs(roles)}, nil
}

// invitationEmail describes the email of invitation inv, or returns nil
// when the tenant has neither an email connector nor an email webhook. The
// connector wins, as it does in Logto, where it is the only way.
func invitationEmail(tx *Tx, inv *Invitation, msg InvitationMessage) (*InvitationEmail, error) {
	email := &InvitationEmail{Invitation: inv, Message: msg}
	r, err := connectorOfType(tx, ConnectorEmail)
	if err != nil {
		return nil, err
	}
	if r != nil {
		if email.Connector, err = r.forSending(tx); err != nil {
			return nil, err
		}
	} else {
		hook, err := emailWebhook(tx)
		if err != nil || hook == nil {
			return nil, err
		}
		email.Webhook = *hook
	}
	org, err := findOrg(tx, inv.OrganizationID)
	if err != nil {
		return nil, err
	}
	email.OrganizationName = org.Name
	return email, nil
}

// isMemberByEmail reports whether the user whose primary email is email
// (case-insensitively, as the email index is) is a member of orgID.
func isMemberByEmail(tx *Tx, orgID, email string) (bool, error) {
	byEmail, err := tx.bucket(bucketUsersByEmail)
	if err != nil {
		return false, err
	}
	uid := byEmail.Get([]byte(strings.ToLower(email)))
	if uid == nil {
		return false, nil
	}
	return relOrgUsers.has(tx, orgID, string(uid))
}

// CreateInvitation stores a Pending invitation. An earlier invitation of
// the same invitee (case-insensitively) to the same organization that is
// Pending and not expired refuses it; one that is past due is marked
// Expired, as Logto does. When in.Message is set and the tenant has an
// email connector or webhook, the email to deliver is returned too, else nil.
//
// Returns EINVALID (invitee not an email, expiresAt not in the future),
// EUNPROCESSABLE for an unknown organization, inviter or role
// (entity.relation_foreign_key_not_found), a role that is not of type User
// (entity.db_constraint_violated), an invitee already a member
// (request.invalid_input) or a Pending one (entity.unique_integrity_violation).
func (db *DB) CreateInvitation(ctx context.Context, tenant string, in InvitationCreate) (*Invitation, *InvitationEmail, error) {
	if !validInvitee(in.Invitee) {
		return nil, nil, fieldError("invitee", "must be an email address of at most %d characters", maxInvitee)
	}
	if err := validateMessage(in.Message); err != nil {
		return nil, nil, err
	}
	roleIDs := dedupe(in.RoleIDs)
	id := newID(21)
	var out *Invitation
	var email *InvitationEmail
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		now := msec(tx.now)
		if in.ExpiresAt <= now {
			return &Error{Code: EINVALID, Detail: "request.invalid_input", Field: "expiresAt",
				Message: "expiresAt: the value of `expiresAt` must be in the future."}
		}
		if _, err := findOrg(tx, in.OrganizationID); err != nil {
			return fk(err)
		}
		if in.InviterID != nil {
			if _, err := findUserRecord(tx, *in.InviterID); err != nil {
				return fk(err)
			}
		}
		if err := checkAll(roleIDs, userMembers.roleCheck(tx)); err != nil {
			return err
		}
		if ok, err := isMemberByEmail(tx, in.OrganizationID, in.Invitee); err != nil {
			return err
		} else if ok {
			return errInvalidRequest("The invitee is already a member of the organization.")
		}
		pending, err := tx.bucket(bucketInvitationsPending)
		if err != nil {
			return err
		}
		pk := pendingKey(in.OrganizationID, in.Invitee)
		var stale *invitationRecord
		if old := pending.Get(pk); old != nil {
			if stale, err = findInvitation(tx, string(old)); err != nil {
				return err
			}
			if stale.status(now) == InvitationPending {
				return detailErrorf(EUNPROCESSABLE, "entity.unique_integrity_violation",
					"The invitee already has a pending invitation to this organization.")
			}
		}
		r := invitationRecord{ID: id, InviterID: in.InviterID, Invitee: in.Invitee, OrganizationID: in.OrganizationID,
			Status: InvitationPending, CreatedAt: now, UpdatedAt: now, ExpiresAt: in.ExpiresAt}
		if in.Message != nil {
			r.Message = fromMessage(*in.Message)
		}
		// The result and the email are built before the first write, since
		// they read records whose absence is a domain error (see Update).
		if out, err = r.toInvitationWithRoles(tx, roleIDs); err != nil {
			return err
		}
		email = nil
		if in.Message != nil {
			if email, err = invitationEmail(tx, out, *in.Message); err != nil {
				return err
			}
		}

		// Every check is done; the writes follow.
		if stale != nil {
			stale.Status = InvitationExpired
			if err := invitationsTable.update(tx, stale.ID, stale); err != nil {
				return err
			}
		}
		if err := invitationsTable.insert(tx, id, &r.Seq, &r); err != nil {
			return err
		}
		byOrg, err := tx.bucket(bucketOrgInvitations)
		if err != nil {
			return err
		}
		if err := byOrg.Put(pairKey(in.OrganizationID, id), nil); err != nil {
			return err
		}
		if err := pending.Put(pk, []byte(id)); err != nil {
			return err
		}
		if _, err := assign(tx, relInvitationRoles, id, roleIDs, false, nil); err != nil {
			return err
		}
		return tx.auditTarget("Management.OrganizationInvitation.Create", "organizationInvitation", id)
	})
	if err != nil {
		return nil, nil, err
	}
	return out, email, nil
}

// FindInvitationByID returns invitation id. Returns ENOTFOUND.
func (db *DB) FindInvitationByID(ctx context.Context, tenant, id string) (*Invitation, error) {
	var out *Invitation
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findInvitation(tx, id)
		if err != nil {
			return err
		}
		out, err = r.toInvitation(tx)
		return err
	})
	return out, err
}

// FindInvitations returns every invitation that matches filter, newest
// first (Logto's createdAt desc), unpaged as Logto's list is.
func (db *DB) FindInvitations(ctx context.Context, tenant string, filter InvitationFilter) ([]*Invitation, error) {
	out := []*Invitation{}
	err := db.View(ctx, tenant, func(tx *Tx) error {
		match := func(r *invitationRecord) bool {
			return (filter.OrganizationID == "" || r.OrganizationID == filter.OrganizationID) &&
				(filter.OrganizationIDs == nil || slices.Contains(filter.OrganizationIDs, r.OrganizationID)) &&
				(filter.InviterID == "" || (r.InviterID != nil && *r.InviterID == filter.InviterID)) &&
				(filter.Invitee == "" || strings.EqualFold(r.Invitee, filter.Invitee))
		}
		emit := func(r *invitationRecord) error {
			if !match(r) {
				return nil
			}
			inv, err := r.toInvitation(tx)
			if err != nil {
				return err
			}
			out = append(out, inv)
			return nil
		}
		if filter.OrganizationID != "" {
			// The organization's index is smaller than the whole table.
			recs, err := orgInvitationRecords(tx, filter.OrganizationID)
			if err != nil {
				return err
			}
			slices.SortFunc(recs, func(a, b *invitationRecord) int { return cmp.Compare(b.Seq, a.Seq) })
			for _, r := range recs {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := emit(r); err != nil {
					return err
				}
			}
			return nil
		}
		_, err := invitationsTable.walk(ctx, tx, pagination.All(), true, nil, func(id string, v []byte) error {
			var r invitationRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode invitation %s: %w", id, err)
			}
			return emit(&r)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// orgInvitationRecords returns the invitations of organization orgID.
func orgInvitationRecords(tx *Tx, orgID string) ([]*invitationRecord, error) {
	byOrg, err := tx.bucket(bucketOrgInvitations)
	if err != nil {
		return nil, err
	}
	var out []*invitationRecord
	err = forEachPair(byOrg, orgID, func(id string) error {
		r, err := findInvitation(tx, id)
		if err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// DeleteInvitation removes invitation id, whatever its status. Returns
// ENOTFOUND.
func (db *DB) DeleteInvitation(ctx context.Context, tenant, id string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findInvitation(tx, id)
		if err != nil {
			return err
		}
		if err := deleteInvitation(tx, r); err != nil {
			return err
		}
		return tx.auditTarget("Management.OrganizationInvitation.Delete", "organizationInvitation", id)
	})
}

// SetInvitationStatus moves a Pending invitation to Accepted or Revoked.
// Accepting needs acceptedUserID, a user whose primary email is the invitee
// (case-insensitively); the user joins the organization with the
// invitation's roles in the same transaction.
//
// Returns EINVALID for another status, ENOTFOUND for an unknown invitation
// or user, and EUNPROCESSABLE (request.invalid_input) when acceptedUserID
// is missing, the invitation is no longer Pending (final statuses and
// expiry) or the emails differ; a role that is no longer of type User is
// entity.db_constraint_violated.
func (db *DB) SetInvitationStatus(ctx context.Context, tenant, id, status string, acceptedUserID *string) (*Invitation, error) {
	switch status {
	case InvitationAccepted:
		// Logto checks this before it looks the invitation up.
		if acceptedUserID == nil || *acceptedUserID == "" {
			return nil, errInvalidRequest("The `acceptedUserId` is required when accepting an invitation.")
		}
	case InvitationRevoked:
		acceptedUserID = nil
	default:
		return nil, fieldError("status", "must be Accepted or Revoked")
	}
	var out *Invitation
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findInvitation(tx, id)
		if err != nil {
			return err
		}
		now := msec(tx.now)
		if r.status(now) != InvitationPending {
			return errInvalidRequest("The status of the invitation cannot be changed anymore.")
		}
		var roleIDs []string
		if status == InvitationAccepted {
			u, err := findUserRecord(tx, *acceptedUserID)
			if err != nil {
				return err
			}
			if u.PrimaryEmail == nil || !strings.EqualFold(*u.PrimaryEmail, r.Invitee) {
				return errInvalidRequest("The accepted user must have the same email as the invitee.")
			}
			if roleIDs, err = relInvitationRoles.list(tx, r.ID); err != nil {
				return err
			}
			if err := checkAll(roleIDs, userMembers.roleCheck(tx)); err != nil {
				return err
			}
			r.AcceptedUserID = acceptedUserID
		}
		r.Status, r.UpdatedAt = status, now
		// The result is built before the first write, since it reads
		// records whose absence is a domain error (see Update).
		if out, err = r.toInvitation(tx); err != nil {
			return err
		}

		// Every check is done; the writes follow.
		if status == InvitationAccepted {
			if _, err := relOrgUsers.link(tx, r.OrganizationID, *acceptedUserID); err != nil {
				return err
			}
			if _, err := assign(tx, relOrgUserRoles, string(pairKey(r.OrganizationID, *acceptedUserID)), roleIDs, false, nil); err != nil {
				return err
			}
			if err := userMembers.audit(tx, r.OrganizationID); err != nil {
				return err
			}
		}
		if err := invitationsTable.update(tx, r.ID, r); err != nil {
			return err
		}
		if err := dropPendingIndex(tx, r); err != nil {
			return err
		}
		return tx.auditTarget("Management.OrganizationInvitation.Update", "organizationInvitation", id)
	})
	return out, err
}

// dropPendingIndex removes r's invitations_pending entry if it names r.
func dropPendingIndex(tx *Tx, r *invitationRecord) error {
	pending, err := tx.bucket(bucketInvitationsPending)
	if err != nil {
		return err
	}
	pk := pendingKey(r.OrganizationID, r.Invitee)
	if string(pending.Get(pk)) != r.ID {
		return nil
	}
	return pending.Delete(pk)
}

// FindInvitationEmail returns the email that sends msg for invitation id,
// whatever its status (Logto re-sends to any invitation), or nil when the
// tenant has neither an email connector nor an email webhook. It only reads: the caller delivers the email
// and then stores msg with SetInvitationMessage, so that a message that
// could not be sent is not kept. Returns ENOTFOUND or EINVALID.
func (db *DB) FindInvitationEmail(ctx context.Context, tenant, id string, msg InvitationMessage) (*InvitationEmail, error) {
	if err := validateMessage(&msg); err != nil {
		return nil, err
	}
	var email *InvitationEmail
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findInvitation(tx, id)
		if err != nil {
			return err
		}
		inv, err := r.toInvitation(tx)
		if err != nil {
			return err
		}
		email, err = invitationEmail(tx, inv, msg)
		return err
	})
	if err != nil {
		return nil, err
	}
	return email, nil
}

// SetInvitationMessage stores msg as the message of invitation id, whatever
// its status. Returns ENOTFOUND or EINVALID.
func (db *DB) SetInvitationMessage(ctx context.Context, tenant, id string, msg InvitationMessage) error {
	if err := validateMessage(&msg); err != nil {
		return err
	}
	return db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findInvitation(tx, id)
		if err != nil {
			return err
		}
		r.Message = fromMessage(msg)
		if err := invitationsTable.update(tx, r.ID, r); err != nil {
			return err
		}
		return tx.auditTarget("Management.OrganizationInvitation.Update", "organizationInvitation", id)
	})
}

// FindInvitationMessage returns the message stored with invitation id,
// empty when none was. Returns ENOTFOUND.
func (db *DB) FindInvitationMessage(ctx context.Context, tenant, id string) (InvitationMessage, error) {
	var out InvitationMessage
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findInvitation(tx, id)
		if err != nil {
			return err
		}
		out = r.Message.toMessage()
		return nil
	})
	return out, err
}

// Invitations are stored in invitationsTable (creation order) with two
// indexes: org_invitations/<org>\x00<invitation> lists an organization's
// invitations, and invitations_pending/<org>\x00<lowercased invitee> names
// the one invitation that may be Pending for that invitee. The roles an
// invitation grants are relInvitationRoles.
var invitationsTable = table{"organization invitation", bucketInvitations, bucketInvitationsOrder}

var relInvitationRoles = relation{fwd: bucketInvitationRoles, back: bucketOrgRoleInvitations}

// invitationRecord is an invitation as stored. Status is the stored status;
// a Pending invitation past ExpiresAt reads as Expired.
type invitationRecord struct {
	ID             string         `json:"id"`
	Seq            uint64         `json:"seq,omitempty"`
	InviterID      *string        `json:"inv,omitempty"`
	Invitee        string         `json:"ee"`
	AcceptedUserID *string        `json:"acc,omitempty"`
	OrganizationID string         `json:"org"`
	Status         string         `json:"st"`
	Message        *messageRecord `json:"msg,omitempty"`
	CreatedAt      int64          `json:"ca"`
	UpdatedAt      int64          `json:"ua"`
	ExpiresAt      int64          `json:"ea"`
}

// deleteInvitation removes invitation r with its roles and index entries.
func deleteInvitation(tx *Tx, r *invitationRecord) error {
	if err := cascadeDelete(tx, entityInvitation, r.ID); err != nil {
		return err
	}
	byOrg, err := tx.bucket(bucketOrgInvitations)
	if err != nil {
		return err
	}
	if err := byOrg.Delete(pairKey(r.OrganizationID, r.ID)); err != nil {
		return err
	}
	if err := dropPendingIndex(tx, r); err != nil {
		return err
	}
	return invitationsTable.delete(tx, r.ID, r.Seq)
}

// pendingKey is the invitations_pending key of an invitee of an organization;
// Logto compares invitees case-insensitively.
func pendingKey(orgID, invitee string) []byte {
	return pairKey(orgID, strings.ToLower(invitee))
}

// deleteOrgInvitations removes every invitation of organization orgID.
func deleteOrgInvitations(tx *Tx, orgID string) error {
	// orgInvitationRecords has read the whole index before the first delete.
	records, err := orgInvitationRecords(tx, orgID)
	if err != nil {
		return err
	}
	for _, r := range records {
		if err := deleteInvitation(tx, r); err != nil {
			return err
		}
	}
	return nil
}

// deleteUserInvitations removes the invitations that user userID sent or
// accepted, as Logto's foreign keys cascade when a user is deleted. There is
// no index by user, so it walks the tenant's invitations.
func deleteUserInvitations(tx *Tx, userID string) error {
	records, err := tx.bucket(bucketInvitations)
	if err != nil {
		return err
	}
	var doomed []*invitationRecord
	if err := records.ForEach(func(k, v []byte) error {
		var r invitationRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode invitation %s: %w", k, err)
		}
		if (r.InviterID != nil && *r.InviterID == userID) || (r.AcceptedUserID != nil && *r.AcceptedUserID == userID) {
			doomed = append(doomed, &r)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, r := range doomed {
		if err := deleteInvitation(tx, r); err != nil {
			return err
		}
	}
	return nil
}

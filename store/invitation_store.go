package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

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
	if err := relInvitationRoles.unlinkAll(tx, r.ID); err != nil {
		return err
	}
	byOrg, err := tx.bucket(bucketOrgInvitations)
	if err != nil {
		return err
	}
	if err := byOrg.Delete(pairKey(r.OrganizationID, r.ID)); err != nil {
		return err
	}
	pending, err := tx.bucket(bucketInvitationsPending)
	if err != nil {
		return err
	}
	pk := pendingKey(r.OrganizationID, r.Invitee)
	if bytes.Equal(pending.Get(pk), []byte(r.ID)) {
		if err := pending.Delete(pk); err != nil {
			return err
		}
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
	byOrg, err := tx.bucket(bucketOrgInvitations)
	if err != nil {
		return err
	}
	var ids []string
	if err := forEachPair(byOrg, orgID, func(id string) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		return err
	}
	for _, id := range ids {
		var r invitationRecord
		if err := invitationsTable.get(tx, id, &r); err != nil {
			return err
		}
		if err := deleteInvitation(tx, &r); err != nil {
			return err
		}
	}
	return nil
}

// dropRoleFromInvitations removes organization role roleID from every
// invitation that would grant it.
func dropRoleFromInvitations(tx *Tx, roleID string) error {
	return relInvitationRoles.inverse().unlinkAll(tx, roleID)
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

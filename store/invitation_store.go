package store

import (
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

package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// invitationResponse is an organization invitation on the wire. The stored
// message payload is not part of it, as in Logto.
type invitationResponse struct {
	TenantID          string    `json:"tenantId"`
	ID                string    `json:"id"`
	InviterID         *string   `json:"inviterId"`
	Invitee           string    `json:"invitee"`
	AcceptedUserID    *string   `json:"acceptedUserId"`
	OrganizationID    string    `json:"organizationId"`
	Status            string    `json:"status"`
	CreatedAt         int64     `json:"createdAt"`
	UpdatedAt         int64     `json:"updatedAt"`
	ExpiresAt         int64     `json:"expiresAt"`
	OrganizationRoles []roleRef `json:"organizationRoles"`
}

func toInvitationResponse(tenant string) func(i *store.Invitation) invitationResponse {
	return func(i *store.Invitation) invitationResponse {
		return invitationResponse{TenantID: tenant, ID: i.ID, InviterID: i.InviterID, Invitee: i.Invitee,
			AcceptedUserID: i.AcceptedUserID, OrganizationID: i.OrganizationID, Status: i.Status,
			CreatedAt: i.CreatedAt, UpdatedAt: i.UpdatedAt, ExpiresAt: i.ExpiresAt,
			OrganizationRoles: toRoleRefs(i.Roles)}
	}
}

// invitationMessageBody is Logto's SendMessagePayload.
type invitationMessageBody struct {
	Code      *string `json:"code,omitempty"`
	Link      *string `json:"link,omitempty"`
	Locale    *string `json:"locale,omitempty"`
	UILocales *string `json:"uiLocales,omitempty"`
}

func (m invitationMessageBody) toStore() store.InvitationMessage {
	return store.InvitationMessage{Code: m.Code, Link: m.Link, Locale: m.Locale, UILocales: m.UILocales}
}

// decodeMessagePayload reads the messagePayload of a create: absent or
// false means no email, an object is the email's payload, and anything else
// (true included, as Logto's guard says) is invalid.
func decodeMessagePayload(raw json.RawMessage) (*store.InvitationMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "false" {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, fieldErr("messagePayload", "must be an object or false")
	}
	var m invitationMessageBody
	if err := json.Unmarshal(raw, &m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, fieldErr("messagePayload."+te.Field, "expected string")
		}
		return nil, fieldErr("messagePayload", "must be an object or false")
	}
	msg := m.toStore()
	return &msg, nil
}

func (s *Server) handleInvitationList(w http.ResponseWriter, r *request) error {
	q := r.URL.Query()
	tenant := r.tenant
	list, err := s.store.FindInvitations(r.Context(), tenant, store.InvitationFilter{
		OrganizationID: q.Get("organizationId"), InviterID: q.Get("inviterId"), Invitee: q.Get("invitee"),
		OrganizationIDs: r.managedOrganizations()})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, mapSlice(list, toInvitationResponse(tenant)))
	return nil
}

// invitationCreateRequest is the body of POST /api/organization-invitations.
type invitationCreateRequest struct {
	InviterID           store.Field[string] `json:"inviterId"`
	Invitee             *string             `json:"invitee"`
	OrganizationID      *string             `json:"organizationId"`
	ExpiresAt           *float64            `json:"expiresAt"`
	OrganizationRoleIDs *[]string           `json:"organizationRoleIds"`
	MessagePayload      json.RawMessage     `json:"messagePayload"`
}

func (s *Server) handleInvitationCreate(w http.ResponseWriter, r *request) error {
	var req invitationCreateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := firstError(requireField(req.Invitee != nil, "invitee"), requireField(req.OrganizationID != nil, "organizationId"),
		requireField(req.ExpiresAt != nil, "expiresAt")); err != nil {
		return err
	}
	if e := *req.ExpiresAt; math.IsInf(e, 0) || math.IsNaN(e) || e != math.Trunc(e) || math.Abs(e) > 1<<53 {
		return fieldErr("expiresAt", "must be a whole number of milliseconds since the epoch")
	}
	msg, err := decodeMessagePayload(req.MessagePayload)
	if err != nil {
		return err
	}
	in := store.InvitationCreate{InviterID: req.InviterID.Value, Invitee: *req.Invitee, OrganizationID: *req.OrganizationID,
		ExpiresAt: int64(*req.ExpiresAt), Message: msg}
	if req.OrganizationRoleIDs != nil {
		if in.RoleIDs, err = checkIDs("organizationRoleIds", *req.OrganizationRoleIDs); err != nil {
			return err
		}
	}
	ctx := r.Context()
	tenant := r.tenant
	inv, email, err := s.store.CreateInvitation(ctx, tenant, in)
	if err != nil {
		return err
	}
	if email != nil {
		if err := s.sendInvitationEmail(ctx, tenant, email); err != nil {
			// Logto creates the invitation and sends its email in one
			// transaction: an email that cannot be sent undoes the create.
			if derr := s.store.DeleteInvitation(context.WithoutCancel(ctx), tenant, inv.ID); derr != nil && store.ErrorCode(derr) != store.ENOTFOUND {
				s.logger.ErrorContext(ctx, "undo invitation after failed email", "tenant", tenant, "invitation", inv.ID, "err", derr)
			}
			return err
		}
	}
	s.writeJSON(w, r, http.StatusCreated, toInvitationResponse(tenant)(inv))
	return nil
}

func (s *Server) handleInvitationGet(w http.ResponseWriter, r *request) error {
	tenant := r.tenant
	inv, err := s.store.FindInvitationByID(r.Context(), tenant, r.param("invitationId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toInvitationResponse(tenant)(inv))
	return nil
}

func (s *Server) handleInvitationDelete(w http.ResponseWriter, r *request) error {
	if err := s.store.DeleteInvitation(r.Context(), r.tenant, r.param("invitationId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// invitationStatusRequest is the body of PUT /api/organization-invitations/{invitationId}/status.
type invitationStatusRequest struct {
	Status         *string             `json:"status"`
	AcceptedUserID store.Field[string] `json:"acceptedUserId"`
}

func (s *Server) handleInvitationStatus(w http.ResponseWriter, r *request) error {
	var req invitationStatusRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.Status != nil, "status"); err != nil {
		return err
	}
	tenant := r.tenant
	inv, err := s.store.SetInvitationStatus(r.Context(), tenant, r.param("invitationId"), *req.Status, req.AcceptedUserID.Value)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toInvitationResponse(tenant)(inv))
	return nil
}

func (s *Server) handleInvitationMessage(w http.ResponseWriter, r *request) error {
	var req invitationMessageBody
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	tenant, id, msg := r.tenant, r.param("invitationId"), req.toStore()
	// Deliver first and store after: a message whose email failed is not
	// kept, and the stored payload stays the last one delivered.
	email, err := s.store.FindInvitationEmail(ctx, tenant, id, msg)
	if err != nil {
		return err
	}
	if email != nil {
		if err := s.sendInvitationEmail(ctx, tenant, email); err != nil {
			return err
		}
	}
	// The email is out: record it even if the client has gone meanwhile.
	if err := s.store.SetInvitationMessage(context.WithoutCancel(ctx), tenant, id, msg); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// invitationEmailPayload is the body posted to a tenant's email webhook.
type invitationEmailPayload struct {
	Type         string `json:"type"`
	TenantID     string `json:"tenantId"`
	InvitationID string `json:"invitationId"`
	Invitee      string `json:"invitee"`
	Organization struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"organization"`
	InviterID         *string               `json:"inviterId"`
	OrganizationRoles []roleRef             `json:"organizationRoles"`
	ExpiresAt         int64                 `json:"expiresAt"`
	MessagePayload    invitationMessageBody `json:"messagePayload"`
}

// sendInvitationEmail delivers email through the tenant's email connector,
// or to its webhook when it has none.
func (s *Server) sendInvitationEmail(ctx context.Context, tenant string, email *store.InvitationEmail) error {
	inv := email.Invitation
	p := invitationEmailPayload{Type: "OrganizationInvitation", TenantID: tenant, InvitationID: inv.ID,
		Invitee: inv.Invitee, InviterID: inv.InviterID, OrganizationRoles: toRoleRefs(inv.Roles),
		ExpiresAt: inv.ExpiresAt,
		MessagePayload: invitationMessageBody{Code: email.Message.Code, Link: email.Message.Link,
			Locale: email.Message.Locale, UILocales: email.Message.UILocales}}
	p.Organization.ID, p.Organization.Name = inv.OrganizationID, email.OrganizationName
	if email.Connector != nil {
		// Logto's payload is the message payload; the organization is
		// added for templates (the SMTP connector's subject).
		payload := map[string]any{"organization": map[string]any{"id": inv.OrganizationID, "name": email.OrganizationName}}
		for k, v := range map[string]*string{payloadCode: email.Message.Code, "link": email.Message.Link,
			"locale": email.Message.Locale, "uiLocales": email.Message.UILocales} {
			if v != nil {
				payload[k] = *v
			}
		}
		return s.messenger.send(ctx, email.Connector, connectorMessage{To: inv.Invitee, Type: messageOrganizationInvitation,
			Payload: payload, invitation: &p})
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.webhook.deliver(ctx, email.Webhook, body)
}

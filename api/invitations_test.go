package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/store"
)

// invInvitation is the wire shape of an organization invitation.
type invInvitation struct {
	TenantID          string   `json:"tenantId"`
	ID                string   `json:"id"`
	InviterID         *string  `json:"inviterId"`
	Invitee           string   `json:"invitee"`
	AcceptedUserID    *string  `json:"acceptedUserId"`
	OrganizationID    string   `json:"organizationId"`
	Status            string   `json:"status"`
	CreatedAt         int64    `json:"createdAt"`
	UpdatedAt         int64    `json:"updatedAt"`
	ExpiresAt         int64    `json:"expiresAt"`
	OrganizationRoles []idName `json:"organizationRoles"`
}

const invPath = "/api/organization-invitations"

// invStart starts a server whose clock the test moves.
func invStart(t *testing.T, opts ...apitest.Options) (*env, *clock) {
	t.Helper()
	c := &clock{now: time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)}
	var o apitest.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	o.Now = c.Now
	return newEnv(t, o), c
}

// nowMS returns the test clock in Logto's epoch milliseconds.
func (c *clock) nowMS() int64 { return c.Now().UnixMilli() }

// invOrg creates an organization and returns its id.
func (e *env) invOrg(t testing.TB, name string) string {
	t.Helper()
	var o idName
	e.do(t, "POST", "/api/organizations", map[string]any{"name": name}, http.StatusCreated, &o)
	return o.ID
}

// invOrgRole creates an organization role of type typ and returns its id.
func (e *env) invOrgRole(t testing.TB, name, typ string) string {
	t.Helper()
	var r idName
	e.do(t, "POST", "/api/organization-roles", map[string]any{"name": name, "type": typ}, http.StatusCreated, &r)
	return r.ID
}

// invCreate creates an invitation and fails the test unless it answers 201.
func (e *env) invCreate(t testing.TB, body map[string]any) invInvitation {
	t.Helper()
	var inv invInvitation
	e.do(t, "POST", invPath, body, http.StatusCreated, &inv)
	return inv
}

func (e *env) invGet(t testing.TB, id string) invInvitation {
	t.Helper()
	var inv invInvitation
	e.do(t, "GET", invPath+"/"+id, nil, http.StatusOK, &inv)
	return inv
}

func (e *env) invList(t testing.TB, query string) []invInvitation {
	t.Helper()
	var list []invInvitation
	r := e.do(t, "GET", invPath+"?"+query, nil, http.StatusOK, &list)
	if r.Header.Get("Total-Number") != "" {
		t.Errorf("the invitation list is not paged, but has Total-Number %q", r.Header.Get("Total-Number"))
	}
	return list
}

func invIDs(list []invInvitation) []string {
	ids := make([]string, len(list))
	for i, inv := range list {
		ids[i] = inv.ID
	}
	return ids
}

func (e *env) invStatus(t testing.TB, id string, body map[string]any) response {
	t.Helper()
	return call(t, "PUT", e.URL+invPath+"/"+id+"/status", e.token, body)
}

// invMembers returns the members of org with their role names.
func (e *env) invMembers(t testing.TB, org string) map[string][]string {
	t.Helper()
	var list []struct {
		ID    string   `json:"id"`
		Roles []idName `json:"organizationRoles"`
	}
	e.do(t, "GET", "/api/organizations/"+org+"/users", nil, http.StatusOK, &list)
	out := map[string][]string{}
	for _, m := range list {
		names := []string{}
		for _, r := range m.Roles {
			names = append(names, r.Name)
		}
		out[m.ID] = names
	}
	return out
}

func TestInvitations_CreateGetList(t *testing.T) {
	e, c := invStart(t)
	org := e.invOrg(t, "Acme")
	other := e.invOrg(t, "Other")
	zeta := e.invOrgRole(t, "zeta", "User")
	alpha := e.invOrgRole(t, "alpha", "User")
	inviter := e.createUser(t, map[string]any{"username": "boss"})
	expires := c.nowMS() + 3_600_000

	r := e.do(t, "POST", invPath, map[string]any{"inviterId": inviter.ID, "invitee": "Alice@Example.com", "organizationId": org,
		"expiresAt": expires, "organizationRoleIds": []string{zeta, alpha, zeta}, "messagePayload": false}, http.StatusCreated, nil)
	want := []string{"acceptedUserId", "createdAt", "expiresAt", "id", "invitee", "inviterId", "organizationId",
		"organizationRoles", "status", "tenantId", "updatedAt"}
	if got := sortedKeys(objectKeys(t, r.Body)); !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	var a invInvitation
	r.JSON(t, &a)
	if len(a.ID) != 21 || a.TenantID != "default" || a.Status != "Pending" || a.Invitee != "Alice@Example.com" ||
		a.OrganizationID != org || a.InviterID == nil || *a.InviterID != inviter.ID || a.AcceptedUserID != nil ||
		a.CreatedAt != c.nowMS() || a.UpdatedAt != a.CreatedAt || a.ExpiresAt != expires {
		t.Errorf("created %s", r.Body)
	}
	if len(a.OrganizationRoles) != 2 || a.OrganizationRoles[0] != (idName{ID: alpha, Name: "alpha"}) || a.OrganizationRoles[1].Name != "zeta" {
		t.Errorf("roles %+v, want alpha then zeta", a.OrganizationRoles)
	}
	if got := e.invGet(t, a.ID); got.ID != a.ID || got.Status != "Pending" || len(got.OrganizationRoles) != 2 {
		t.Errorf("get %+v", got)
	}

	// Without inviter, roles or message payload.
	c.Add(time.Millisecond)
	b := e.invCreate(t, map[string]any{"invitee": "bob@example.com", "organizationId": org, "expiresAt": expires})
	if b.InviterID != nil || len(b.OrganizationRoles) != 0 || b.OrganizationRoles == nil {
		t.Errorf("minimal invitation %+v", b)
	}
	c.Add(time.Millisecond)
	d := e.invCreate(t, map[string]any{"invitee": "alice@example.com", "organizationId": other, "expiresAt": expires, "inviterId": inviter.ID})

	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{d.ID, b.ID, a.ID}}, // newest first
		{"organizationId=" + org, []string{b.ID, a.ID}},
		{"organizationId=" + other, []string{d.ID}},
		{"inviterId=" + inviter.ID, []string{d.ID, a.ID}},
		{"invitee=ALICE@example.COM", []string{d.ID, a.ID}},
		{"invitee=alice@example.com&organizationId=" + org, []string{a.ID}},
		{"invitee=alice@example.com&organizationId=" + org + "&inviterId=nobody", []string{}},
		{"organizationId=unknown", []string{}},
		{"page=1&page_size=1", []string{d.ID, b.ID, a.ID}}, // not paged
	}
	for _, tt := range tests {
		if got := invIDs(e.invList(t, tt.query)); !slices.Equal(got, tt.want) {
			t.Errorf("list ?%s: %v, want %v", tt.query, got, tt.want)
		}
	}
	if r := call(t, "GET", e.URL+invPath+"/nope", e.token, nil); r.Status != 404 || r.Code() != "entity.not_found" {
		t.Errorf("get unknown: %d %s", r.Status, r.Body)
	}
}

func TestInvitations_CreateErrors(t *testing.T) {
	e, c := invStart(t)
	org := e.invOrg(t, "Acme")
	m2m := e.invOrgRole(t, "machine", "MachineToMachine")
	member := e.createUser(t, map[string]any{"primaryEmail": "Member@example.com"})
	e.do(t, "POST", "/api/organizations/"+org+"/users", map[string]any{"userIds": []string{member.ID}}, http.StatusCreated, nil)
	future := c.nowMS() + 60_000
	body := func(kv ...any) map[string]any {
		b := map[string]any{"invitee": "new@example.com", "organizationId": org, "expiresAt": future}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(b, kv[i].(string))
			} else {
				b[kv[i].(string)] = kv[i+1]
			}
		}
		return b
	}
	e.expectErrors(t, "POST", []errorCase{
		{"NoInvitee", invPath, body("invitee", nil), 400, "guard.invalid_input"},
		{"InviteeNotEmail", invPath, body("invitee", "alice"), 400, "guard.invalid_input"},
		{"InviteeNotString", invPath, body("invitee", 42), 400, "guard.invalid_input"},
		{"NoOrganization", invPath, body("organizationId", nil), 400, "guard.invalid_input"},
		{"NoExpiresAt", invPath, body("expiresAt", nil), 400, "guard.invalid_input"},
		{"ExpiresAtNotNumber", invPath, body("expiresAt", "tomorrow"), 400, "guard.invalid_input"},
		{"ExpiresAtPast", invPath, body("expiresAt", c.nowMS()-1), 400, "request.invalid_input"},
		{"ExpiresAtNow", invPath, body("expiresAt", c.nowMS()), 400, "request.invalid_input"},
		{"UnknownOrganization", invPath, body("organizationId", "nope"), 422, "entity.relation_foreign_key_not_found"},
		{"UnknownInviter", invPath, body("inviterId", "nope"), 422, "entity.relation_foreign_key_not_found"},
		{"UnknownRole", invPath, body("organizationRoleIds", []string{"nope"}), 422, "entity.relation_foreign_key_not_found"},
		{"MachineRole", invPath, body("organizationRoleIds", []string{m2m}), 422, "entity.db_constraint_violated"},
		{"EmptyRoleID", invPath, body("organizationRoleIds", []string{""}), 400, "guard.invalid_input"},
		{"MessageTrue", invPath, body("messagePayload", true), 400, "guard.invalid_input"},
		{"MessageString", invPath, body("messagePayload", "hi"), 400, "guard.invalid_input"},
		{"MessageNull", invPath, body("messagePayload", json.RawMessage("null")), 400, "guard.invalid_input"},
		{"MessageBadField", invPath, body("messagePayload", map[string]any{"code": 123}), 400, "guard.invalid_input"},
		{"AlreadyMember", invPath, body("invitee", "member@EXAMPLE.com"), 422, "request.invalid_input"},
	})
	if list := e.invList(t, ""); len(list) != 0 {
		t.Errorf("refused creates left %d invitations", len(list))
	}
}

func TestInvitations_OnePending(t *testing.T) {
	e, c := invStart(t)
	org := e.invOrg(t, "Acme")
	other := e.invOrg(t, "Other")
	first := e.invCreate(t, map[string]any{"invitee": "Alice@example.com", "organizationId": org, "expiresAt": c.nowMS() + 60_000})

	// A second Pending invitation for the same invitee, in any case, is refused.
	e.fail(t, "POST", invPath, map[string]any{"invitee": "alice@EXAMPLE.com", "organizationId": org, "expiresAt": c.nowMS() + 120_000},
		422, "entity.unique_integrity_violation")
	// Another organization is fine.
	e.invCreate(t, map[string]any{"invitee": "alice@example.com", "organizationId": other, "expiresAt": c.nowMS() + 60_000})

	// Once the first has expired, a new one may be made, and the old one
	// stays Expired.
	c.Add(61 * time.Second)
	second := e.invCreate(t, map[string]any{"invitee": "ALICE@example.com", "organizationId": org, "expiresAt": c.nowMS() + 60_000})
	if got := e.invGet(t, first.ID).Status; got != "Expired" {
		t.Errorf("first after expiry: %s", got)
	}

	// A revoked one does not block either; a deleted one neither.
	if r := e.invStatus(t, second.ID, map[string]any{"status": "Revoked"}); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	third := e.invCreate(t, map[string]any{"invitee": "alice@example.com", "organizationId": org, "expiresAt": c.nowMS() + 60_000})
	e.do(t, "DELETE", invPath+"/"+third.ID, nil, http.StatusNoContent, nil)
	e.invCreate(t, map[string]any{"invitee": "alice@example.com", "organizationId": org, "expiresAt": c.nowMS() + 60_000})

	statuses := map[string]string{}
	for _, inv := range e.invList(t, "organizationId="+org) {
		statuses[inv.ID] = inv.Status
	}
	if statuses[first.ID] != "Expired" || statuses[second.ID] != "Revoked" || len(statuses) != 3 {
		t.Errorf("statuses %v", statuses)
	}
}

func TestInvitations_Status(t *testing.T) {
	e, c := invStart(t)
	org := e.invOrg(t, "Acme")
	reader := e.invOrgRole(t, "reader", "User")
	admin := e.invOrgRole(t, "admin", "User")
	alice := e.createUser(t, map[string]any{"username": "alice", "primaryEmail": "ALICE@example.com"})
	mallory := e.createUser(t, map[string]any{"username": "mallory", "primaryEmail": "mallory@example.com"})
	noEmail := e.createUser(t, map[string]any{"username": "noemail"})
	newInv := func(invitee string, ttl time.Duration) invInvitation {
		return e.invCreate(t, map[string]any{"invitee": invitee, "organizationId": org, "expiresAt": c.Now().Add(ttl).UnixMilli(),
			"organizationRoleIds": []string{reader, admin}})
	}
	put := func(id string, body map[string]any, status int, code string) invInvitation {
		t.Helper()
		r := call(t, "PUT", e.URL+invPath+"/"+id+"/status", e.token, body)
		if r.Status != status || (code != "" && r.Code() != code) {
			t.Fatalf("PUT status %v: %d %s, want %d %s", body, r.Status, r.Body, status, code)
		}
		var inv invInvitation
		if status == 200 {
			r.JSON(t, &inv)
		}
		return inv
	}

	t.Run("BadBodies", func(t *testing.T) {
		inv := newInv("x@example.com", time.Hour)
		for _, body := range []map[string]any{{}, {"status": "Pending"}, {"status": "Expired"}, {"status": "accepted"}, {"status": 1}} {
			put(inv.ID, body, 400, "guard.invalid_input")
		}
		put("nope", map[string]any{"status": "Revoked"}, 404, "entity.not_found")
		// Logto asks for acceptedUserId before it looks the invitation up.
		put("nope", map[string]any{"status": "Accepted"}, 422, "request.invalid_input")
		if got := e.invGet(t, inv.ID); got.Status != "Pending" {
			t.Errorf("after refusals: %s", got.Status)
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		inv := newInv("revoked@example.com", time.Hour)
		c.Add(time.Second)
		got := put(inv.ID, map[string]any{"status": "Revoked", "acceptedUserId": alice.ID}, 200, "")
		if got.Status != "Revoked" || got.AcceptedUserID != nil || got.UpdatedAt != c.nowMS() || got.CreatedAt != inv.CreatedAt {
			t.Errorf("revoked %+v", got)
		}
		// Revoked is final.
		put(inv.ID, map[string]any{"status": "Revoked"}, 422, "request.invalid_input")
		put(inv.ID, map[string]any{"status": "Accepted", "acceptedUserId": alice.ID}, 422, "request.invalid_input")
	})

	t.Run("Accept", func(t *testing.T) {
		inv := newInv("alice@EXAMPLE.com", time.Hour)
		put(inv.ID, map[string]any{"status": "Accepted"}, 422, "request.invalid_input")
		put(inv.ID, map[string]any{"status": "Accepted", "acceptedUserId": nil}, 422, "request.invalid_input")
		put(inv.ID, map[string]any{"status": "Accepted", "acceptedUserId": "nobody"}, 404, "entity.not_found")
		put(inv.ID, map[string]any{"status": "Accepted", "acceptedUserId": mallory.ID}, 422, "request.invalid_input")
		put(inv.ID, map[string]any{"status": "Accepted", "acceptedUserId": noEmail.ID}, 422, "request.invalid_input")
		if m := e.invMembers(t, org); len(m) != 0 {
			t.Fatalf("refused accepts made members %v", m)
		}
		c.Add(time.Second)
		got := put(inv.ID, map[string]any{"status": "Accepted", "acceptedUserId": alice.ID}, 200, "")
		if got.Status != "Accepted" || got.AcceptedUserID == nil || *got.AcceptedUserID != alice.ID || got.UpdatedAt != c.nowMS() ||
			len(got.OrganizationRoles) != 2 {
			t.Errorf("accepted %+v", got)
		}
		if got := e.invGet(t, inv.ID); got.Status != "Accepted" || *got.AcceptedUserID != alice.ID {
			t.Errorf("get after accept %+v", got)
		}
		if m := e.invMembers(t, org); !slices.Equal(m[alice.ID], []string{"admin", "reader"}) || len(m) != 1 {
			t.Errorf("members after accept %v", m)
		}
		// Accepted is final.
		put(inv.ID, map[string]any{"status": "Accepted", "acceptedUserId": alice.ID}, 422, "request.invalid_input")
		put(inv.ID, map[string]any{"status": "Revoked"}, 422, "request.invalid_input")
		// The invitee is now a member: no new invitation.
		e.fail(t, "POST", invPath, map[string]any{"invitee": "alice@example.com", "organizationId": org, "expiresAt": c.nowMS() + 1000},
			422, "request.invalid_input")
	})

	t.Run("Expiry", func(t *testing.T) {
		inv := newInv("late@example.com", time.Minute)
		late := e.createUser(t, map[string]any{"username": "late", "primaryEmail": "late@example.com"})
		c.Add(time.Minute) // exactly expiresAt: still Pending, as Logto's expiresAt < now
		if got := e.invGet(t, inv.ID).Status; got != "Pending" {
			t.Errorf("at expiresAt: %s", got)
		}
		c.Add(time.Millisecond)
		if got := e.invGet(t, inv.ID); got.Status != "Expired" || got.UpdatedAt != inv.UpdatedAt {
			t.Errorf("after expiresAt: %+v", got)
		}
		for _, l := range e.invList(t, "invitee=late@example.com") {
			if l.Status != "Expired" {
				t.Errorf("list shows %s", l.Status)
			}
		}
		put(inv.ID, map[string]any{"status": "Revoked"}, 422, "request.invalid_input")
		put(inv.ID, map[string]any{"status": "Accepted", "acceptedUserId": late.ID}, 422, "request.invalid_input")
		if m := e.invMembers(t, org); m[late.ID] != nil {
			t.Errorf("expired invitation made a member")
		}
		// The message route still answers (Logto re-sends to any invitation).
		e.do(t, "POST", invPath+"/"+inv.ID+"/message", map[string]any{"link": "https://x"}, http.StatusNoContent, nil)
	})
}

// TestInvitations_AcceptAtomic checks that an accept that fails changes
// nothing and that one that succeeds adds the membership and its roles.
func TestInvitations_AcceptAtomic(t *testing.T) {
	e, c := invStart(t)
	org := e.invOrg(t, "Acme")
	good := e.invOrgRole(t, "good", "User")
	turned := e.invOrgRole(t, "turned", "User")
	bob := e.createUser(t, map[string]any{"username": "bob", "primaryEmail": "bob@example.com"})
	inv := e.invCreate(t, map[string]any{"invitee": "bob@example.com", "organizationId": org, "expiresAt": c.nowMS() + 60_000,
		"organizationRoleIds": []string{good, turned}})
	// The invitation holds the User role: its type may not change, or the
	// invitation could never be accepted.
	e.fail(t, "PATCH", "/api/organization-roles/"+turned, map[string]any{"type": "MachineToMachine"}, 422, "organization.role_type_in_use")
	// An accept by a user whose email is not the invitee fails and changes
	// nothing.
	eve := e.createUser(t, map[string]any{"username": "eve", "primaryEmail": "eve@example.com"})
	r := call(t, "PUT", e.URL+invPath+"/"+inv.ID+"/status", e.token, map[string]any{"status": "Accepted", "acceptedUserId": eve.ID})
	wantError(t, r, 422, "request.invalid_input")
	if m := e.invMembers(t, org); len(m) != 0 {
		t.Errorf("failed accept made members %v", m)
	}
	if got := e.invGet(t, inv.ID); got.Status != "Pending" || got.AcceptedUserID != nil {
		t.Errorf("failed accept changed the invitation %+v", got)
	}
	// With the role deleted, the invitation no longer grants it, and the
	// accept of a user who is already a member adds the role.
	e.do(t, "DELETE", "/api/organization-roles/"+turned, nil, http.StatusNoContent, nil)
	if got := e.invGet(t, inv.ID).OrganizationRoles; len(got) != 1 || got[0].ID != good {
		t.Errorf("roles after role deletion %+v", got)
	}
	e.do(t, "POST", "/api/organizations/"+org+"/users", map[string]any{"userIds": []string{bob.ID}}, http.StatusCreated, nil)
	e.do(t, "PUT", invPath+"/"+inv.ID+"/status", map[string]any{"status": "Accepted", "acceptedUserId": bob.ID}, http.StatusOK, nil)
	if m := e.invMembers(t, org); !slices.Equal(m[bob.ID], []string{"good"}) {
		t.Errorf("members %v", m)
	}
}

func TestInvitations_Cascades(t *testing.T) {
	e, c := invStart(t)
	org := e.invOrg(t, "Acme")
	keep := e.invOrg(t, "Keep")
	role := e.invOrgRole(t, "r", "User")
	inviter := e.createUser(t, map[string]any{"username": "inviter"})
	carol := e.createUser(t, map[string]any{"username": "carol", "primaryEmail": "carol@example.com"})
	exp := c.nowMS() + 60_000

	byInviter := e.invCreate(t, map[string]any{"invitee": "a@example.com", "organizationId": keep, "expiresAt": exp, "inviterId": inviter.ID})
	accepted := e.invCreate(t, map[string]any{"invitee": "carol@example.com", "organizationId": keep, "expiresAt": exp, "organizationRoleIds": []string{role}})
	e.do(t, "PUT", invPath+"/"+accepted.ID+"/status", map[string]any{"status": "Accepted", "acceptedUserId": carol.ID}, http.StatusOK, nil)
	survivor := e.invCreate(t, map[string]any{"invitee": "b@example.com", "organizationId": keep, "expiresAt": exp, "organizationRoleIds": []string{role}})
	inOrg := e.invCreate(t, map[string]any{"invitee": "c@example.com", "organizationId": org, "expiresAt": exp, "organizationRoleIds": []string{role}})

	t.Run("RoleDeletion", func(t *testing.T) {
		e.do(t, "DELETE", "/api/organization-roles/"+role, nil, http.StatusNoContent, nil)
		for _, id := range []string{survivor.ID, inOrg.ID} {
			if got := e.invGet(t, id).OrganizationRoles; len(got) != 0 {
				t.Errorf("invitation %s still grants %v", id, got)
			}
		}
	})
	t.Run("OrganizationDeletion", func(t *testing.T) {
		e.do(t, "DELETE", "/api/organizations/"+org, nil, http.StatusNoContent, nil)
		e.fail(t, "GET", invPath+"/"+inOrg.ID, nil, 404, "entity.not_found")
		if list := e.invList(t, "organizationId="+org); len(list) != 0 {
			t.Errorf("deleted organization still lists %v", invIDs(list))
		}
	})
	t.Run("UserDeletion", func(t *testing.T) {
		// Logto's inviter_id and accepted_user_id cascade on delete.
		e.do(t, "DELETE", "/api/users/"+inviter.ID, nil, http.StatusNoContent, nil)
		e.do(t, "DELETE", "/api/users/"+carol.ID, nil, http.StatusNoContent, nil)
		e.fail(t, "GET", invPath+"/"+byInviter.ID, nil, 404, "entity.not_found")
		e.fail(t, "GET", invPath+"/"+accepted.ID, nil, 404, "entity.not_found")
		if got := invIDs(e.invList(t, "")); !slices.Equal(got, []string{survivor.ID}) {
			t.Errorf("left %v, want only %s", got, survivor.ID)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		e.do(t, "DELETE", invPath+"/"+survivor.ID, nil, http.StatusNoContent, nil)
		e.fail(t, "DELETE", invPath+"/"+survivor.ID, nil, 404, "entity.not_found")
		e.fail(t, "GET", invPath+"/"+survivor.ID, nil, 404, "entity.not_found")
		if list := e.invList(t, ""); len(list) != 0 {
			t.Errorf("left %v", invIDs(list))
		}
	})
}

func TestInvitations_TenantIsolation(t *testing.T) {
	e, c := invStart(t)
	acme := createTenant(t, e, "acme")
	acmeToken := apitest.Token(t, e.URL, "acme", acme.Credentials.ClientID, acme.Credentials.ClientSecret, store.ManagementIndicator("acme"), "all")
	acmeBase := e.URL + apitest.TenantPrefix("acme")

	var acmeOrg idName
	if r := call(t, "POST", acmeBase+"/api/organizations", acmeToken, map[string]any{"name": "Acme"}); r.Status != 201 {
		t.Fatalf("acme org: %d %s", r.Status, r.Body)
	} else {
		r.JSON(t, &acmeOrg)
	}
	r := call(t, "POST", acmeBase+invPath, acmeToken, map[string]any{"invitee": "z@example.com", "organizationId": acmeOrg.ID, "expiresAt": c.nowMS() + 60_000})
	if r.Status != 201 {
		t.Fatalf("acme invitation: %d %s", r.Status, r.Body)
	}
	var acmeInv invInvitation
	r.JSON(t, &acmeInv)
	if acmeInv.TenantID != "acme" {
		t.Errorf("tenantId %q", acmeInv.TenantID)
	}
	defInv := e.invCreate(t, map[string]any{"invitee": "z@example.com", "organizationId": e.invOrg(t, "Default org"), "expiresAt": c.nowMS() + 60_000})

	routes := []struct {
		method, suffix string
		body           any
	}{
		{"GET", "", nil}, {"DELETE", "", nil},
		{"PUT", "/status", map[string]any{"status": "Revoked"}},
		{"POST", "/message", map[string]any{"code": "1"}},
	}
	for _, rt := range routes {
		if r := call(t, rt.method, e.URL+invPath+"/"+acmeInv.ID+rt.suffix, e.token, rt.body); r.Status != 404 {
			t.Errorf("default %s %s of acme's invitation: %d %s", rt.method, rt.suffix, r.Status, r.Body)
		}
		if r := call(t, rt.method, acmeBase+invPath+"/"+defInv.ID+rt.suffix, acmeToken, rt.body); r.Status != 404 {
			t.Errorf("acme %s %s of default's invitation: %d %s", rt.method, rt.suffix, r.Status, r.Body)
		}
	}
	if got := invIDs(e.invList(t, "")); !slices.Equal(got, []string{defInv.ID}) {
		t.Errorf("default lists %v", got)
	}
	// An organization of another tenant does not exist here.
	e.fail(t, "POST", invPath, map[string]any{"invitee": "y@example.com", "organizationId": acmeOrg.ID, "expiresAt": c.nowMS() + 60_000},
		422, "entity.relation_foreign_key_not_found")
	if got := e.invGet(t, defInv.ID); got.Status != "Pending" {
		t.Errorf("default invitation after acme's attempts: %+v", got)
	}
}

// invHook is a test email webhook that answers with scripted statuses
// (204 once the script is used up) and records every request.
type invHook struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	reqs     []invHookRequest
}

type invHookRequest struct {
	header http.Header
	body   []byte
}

func invStartHook(t *testing.T, statuses ...int) *invHook {
	t.Helper()
	h := &invHook{statuses: statuses}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.reqs = append(h.reqs, invHookRequest{header: r.Header.Clone(), body: body})
		status := http.StatusNoContent
		if len(h.statuses) > 0 {
			status, h.statuses = h.statuses[0], h.statuses[1:]
		}
		h.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(h.Close)
	return h
}

// script replaces the statuses still to come and forgets past requests.
func (h *invHook) script(statuses ...int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.statuses, h.reqs = statuses, nil
}

func (h *invHook) requests() []invHookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reqs)
}

// invSetWebhook sets tenant default's email webhook and returns the PATCH
// answer.
func (e *env) invSetWebhook(t testing.TB, body map[string]any) (map[string]any, response) {
	t.Helper()
	r := call(t, "PATCH", e.URL+"/system/tenants/default", e.SystemToken(t), body)
	var out map[string]any
	if r.Status == http.StatusOK {
		r.JSON(t, &out)
	}
	return out, r
}

func invVerify(t testing.TB, key string, req invHookRequest) {
	t.Helper()
	m := hmac.New(sha256.New, []byte(key))
	m.Write(req.body)
	if got, want := req.header.Get("Logto-Signature-Sha-256"), hex.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("signature %q, want %q", got, want)
	}
	if ct := req.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestInvitations_WebhookConfig(t *testing.T) {
	e, _ := invStart(t)
	sys := e.SystemToken(t)
	hook := invStartHook(t)

	out, r := e.invSetWebhook(t, map[string]any{"emailWebhookUrl": hook.URL + "/mail"})
	key, _ := out["emailWebhookSigningKey"].(string)
	if r.Status != 200 || len(key) != 43 || out["emailWebhookUrl"] != hook.URL+"/mail" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("set webhook: %d %s", r.Status, r.Body)
	}
	get := call(t, "GET", e.URL+"/system/tenants/default", sys, nil)
	if !strings.Contains(string(get.Body), `"emailWebhookUrl":"`+hook.URL+`/mail"`) || strings.Contains(string(get.Body), key) ||
		strings.Contains(string(get.Body), "SigningKey") {
		t.Errorf("get shows %s", get.Body)
	}
	list := call(t, "GET", e.URL+"/system/tenants", sys, nil)
	if strings.Contains(string(list.Body), key) {
		t.Errorf("list shows the key")
	}

	// Changing the URL keeps the key, and shows none.
	out, r = e.invSetWebhook(t, map[string]any{"emailWebhookUrl": hook.URL + "/other", "name": "Default"})
	if r.Status != 200 || out["emailWebhookSigningKey"] != nil {
		t.Errorf("change URL: %d %s", r.Status, r.Body)
	}
	// Rotation makes a new key.
	out, r = e.invSetWebhook(t, map[string]any{"rotateEmailWebhookSigningKey": true})
	rotated, _ := out["emailWebhookSigningKey"].(string)
	if r.Status != 200 || len(rotated) != 43 || rotated == key {
		t.Errorf("rotate: %d %s", r.Status, r.Body)
	}
	// Refusals.
	for _, body := range []map[string]any{
		{"emailWebhookUrl": "ftp://example.com/x"},
		{"emailWebhookUrl": "not a url"},
		{"emailWebhookUrl": "/relative"},
		{"emailWebhookUrl": 5},
		{"emailWebhookUrl": nil, "rotateEmailWebhookSigningKey": true},
	} {
		if _, r := e.invSetWebhook(t, body); r.Status != 400 || r.Code() != "guard.invalid_input" {
			t.Errorf("PATCH %v: %d %s", body, r.Status, r.Body)
		}
	}
	// Removal, after which rotation has nothing to rotate; a new URL gets a
	// new key.
	out, r = e.invSetWebhook(t, map[string]any{"emailWebhookUrl": nil})
	if r.Status != 200 || out["emailWebhookUrl"] != nil {
		t.Errorf("remove: %d %s", r.Status, r.Body)
	}
	if _, r := e.invSetWebhook(t, map[string]any{"rotateEmailWebhookSigningKey": true}); r.Status != 400 {
		t.Errorf("rotate without webhook: %d %s", r.Status, r.Body)
	}
	out, _ = e.invSetWebhook(t, map[string]any{"emailWebhookUrl": hook.URL})
	if again, _ := out["emailWebhookSigningKey"].(string); len(again) != 43 || again == rotated {
		t.Errorf("set again: key %q", again)
	}
	if len(hook.requests()) != 0 {
		t.Errorf("configuration sent %d requests", len(hook.requests()))
	}
}

func TestInvitations_Webhook(t *testing.T) {
	logs := &syncBuffer{}
	e, c := invStart(t, apitest.Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		WebhookBackoff: []time.Duration{time.Millisecond, time.Millisecond}})
	org := e.invOrg(t, "Acme Inc")
	role := e.invOrgRole(t, "member", "User")
	inviter := e.createUser(t, map[string]any{"username": "inviter"})
	expires := c.nowMS() + 3_600_000
	secretLink, secretCode := "https://app.example.com/join?token=sekrit-link-123", "sekrit-code-456"

	// Without a webhook nothing is sent and every route still succeeds.
	hook := invStartHook(t)
	plain := e.invCreate(t, map[string]any{"invitee": "first@example.com", "organizationId": org, "expiresAt": expires,
		"messagePayload": map[string]any{"link": secretLink}})
	e.do(t, "POST", invPath+"/"+plain.ID+"/message", map[string]any{"code": secretCode}, http.StatusNoContent, nil)
	e.fail(t, "POST", invPath+"/nope/message", map[string]any{}, 404, "entity.not_found")
	e.fail(t, "POST", invPath+"/"+plain.ID+"/message", map[string]any{"code": 5}, 400, "guard.invalid_input")

	out, _ := e.invSetWebhook(t, map[string]any{"emailWebhookUrl": hook.URL + "/hook"})
	key := out["emailWebhookSigningKey"].(string)

	t.Run("CreateSends", func(t *testing.T) {
		hook.script()
		inv := e.invCreate(t, map[string]any{"invitee": "Dana@example.com", "organizationId": org, "expiresAt": expires,
			"inviterId": inviter.ID, "organizationRoleIds": []string{role},
			"messagePayload": map[string]any{"link": secretLink, "code": secretCode, "locale": "fr", "ignored": "x"}})
		reqs := hook.requests()
		if len(reqs) != 1 {
			t.Fatalf("%d requests, want 1", len(reqs))
		}
		invVerify(t, key, reqs[0])
		var got map[string]any
		if err := json.Unmarshal(reqs[0].body, &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"type": "OrganizationInvitation", "tenantId": "default", "invitationId": inv.ID,
			"invitee": "Dana@example.com", "organization": map[string]any{"id": org, "name": "Acme Inc"}, "inviterId": inviter.ID,
			"organizationRoles": []any{map[string]any{"id": role, "name": "member"}}, "expiresAt": float64(expires),
			"messagePayload": map[string]any{"link": secretLink, "code": secretCode, "locale": "fr"}}
		if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
			t.Errorf("payload\n got %s\nwant %s", g, w)
		}
	})
	t.Run("FalseSendsNothing", func(t *testing.T) {
		hook.script()
		e.invCreate(t, map[string]any{"invitee": "quiet@example.com", "organizationId": org, "expiresAt": expires, "messagePayload": false})
		if n := len(hook.requests()); n != 0 {
			t.Errorf("%d requests", n)
		}
	})
	t.Run("MessageSends", func(t *testing.T) {
		hook.script()
		e.do(t, "POST", invPath+"/"+plain.ID+"/message", map[string]any{"link": secretLink, "uiLocales": "de en"}, http.StatusNoContent, nil)
		reqs := hook.requests()
		if len(reqs) != 1 {
			t.Fatalf("%d requests", len(reqs))
		}
		invVerify(t, key, reqs[0])
		var got struct {
			InvitationID   string            `json:"invitationId"`
			InviterID      *string           `json:"inviterId"`
			Roles          []idName          `json:"organizationRoles"`
			MessagePayload map[string]string `json:"messagePayload"`
		}
		json.Unmarshal(reqs[0].body, &got)
		if got.InvitationID != plain.ID || got.InviterID != nil || got.Roles == nil || len(got.Roles) != 0 ||
			len(got.MessagePayload) != 2 || got.MessagePayload["uiLocales"] != "de en" {
			t.Errorf("payload %s", reqs[0].body)
		}
	})
	t.Run("RetryThenSuccess", func(t *testing.T) {
		hook.script(500, 429)
		e.do(t, "POST", invPath+"/"+plain.ID+"/message", map[string]any{"code": "1"}, http.StatusNoContent, nil)
		reqs := hook.requests()
		if len(reqs) != 3 {
			t.Fatalf("%d attempts, want 3", len(reqs))
		}
		for _, r := range reqs {
			invVerify(t, key, r)
			if string(r.body) != string(reqs[0].body) {
				t.Errorf("retries differ: %s vs %s", r.body, reqs[0].body)
			}
		}
	})
	t.Run("ClientErrorNotRetried", func(t *testing.T) {
		hook.script(400)
		e.fail(t, "POST", invPath+"/"+plain.ID+"/message", map[string]any{"code": "1"}, 502, "organization_invitation.email_delivery_failed")
		if n := len(hook.requests()); n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
	})
	t.Run("AllFail", func(t *testing.T) {
		hook.script(500, 503, 502, 500)
		e.fail(t, "POST", invPath+"/"+plain.ID+"/message", map[string]any{"code": "1"}, 502, "organization_invitation.email_delivery_failed")
		if n := len(hook.requests()); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
	})
	t.Run("FailureKeepsStoredMessage", func(t *testing.T) {
		stored := func() store.InvitationMessage {
			t.Helper()
			m, err := e.DB.FindInvitationMessage(context.Background(), store.DefaultTenant, plain.ID)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		// The last delivered message (RetryThenSuccess) is the stored one.
		before := stored()
		if before.Code == nil || *before.Code != "1" || before.Link != nil {
			t.Fatalf("stored before %s", mustJSON(t, before))
		}
		hook.script(400)
		e.fail(t, "POST", invPath+"/"+plain.ID+"/message", map[string]any{"code": "2", "link": secretLink}, 502,
			"organization_invitation.email_delivery_failed")
		if got, want := mustJSON(t, stored()), mustJSON(t, before); got != want {
			t.Errorf("stored after a failed delivery %s, want %s", got, want)
		}
	})
	t.Run("CreateUndoneWhenEmailFails", func(t *testing.T) {
		hook.script(500, 500, 500)
		body := map[string]any{"invitee": "erin@example.com", "organizationId": org, "expiresAt": expires, "messagePayload": map[string]any{"code": "9"}}
		e.fail(t, "POST", invPath, body, 502, "organization_invitation.email_delivery_failed")
		if list := e.invList(t, "invitee=erin@example.com"); len(list) != 0 {
			t.Errorf("failed email left %v", invIDs(list))
		}
		// The one-pending slot is free again.
		hook.script()
		e.invCreate(t, body)
	})
	t.Run("Unreachable", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		deadURL := dead.URL
		dead.Close()
		e.invSetWebhook(t, map[string]any{"emailWebhookUrl": deadURL + "/gone?token=url-secret"})
		e.fail(t, "POST", invPath+"/"+plain.ID+"/message", map[string]any{"code": "1"}, 502, "organization_invitation.email_delivery_failed")
		e.invSetWebhook(t, map[string]any{"emailWebhookUrl": hook.URL + "/hook"})
	})

	l := logs.String()
	for _, secret := range []string{key, secretLink, secretCode, "url-secret"} {
		if strings.Contains(l, secret) {
			t.Errorf("the log shows %q", secret)
		}
	}
	if !strings.Contains(l, "email webhook attempt failed") {
		t.Errorf("failed attempts are not logged")
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestInvitations_Audit checks the audit keys of invitation writes.
func TestInvitations_Audit(t *testing.T) {
	e, c := invStart(t)
	org := e.invOrg(t, "Acme")
	inv := e.invCreate(t, map[string]any{"invitee": "a@example.com", "organizationId": org, "expiresAt": c.nowMS() + 60_000})
	e.do(t, "PUT", invPath+"/"+inv.ID+"/status", map[string]any{"status": "Revoked"}, http.StatusOK, nil)
	e.do(t, "DELETE", invPath+"/"+inv.ID, nil, http.StatusNoContent, nil)
	entries, _ := e.logs(t, "page_size=100")
	var keys []string
	for _, en := range entries {
		if strings.HasPrefix(en.Key, "Management.OrganizationInvitation.") {
			keys = append(keys, en.Key)
			if target, _ := en.Payload["target"].(map[string]any); target["id"] != inv.ID || target["type"] != "organizationInvitation" {
				t.Errorf("entry %s has target %v", en.Key, en.Payload["target"])
			}
		}
	}
	want := []string{"Management.OrganizationInvitation.Delete", "Management.OrganizationInvitation.Update", "Management.OrganizationInvitation.Create"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
}

package api

import (
	"slices"
	"testing"

	"github.com/idbolt/idbolt/store"
)

// TestHookRoutes_AreRoutes checks hookRoutes against the routes New
// registers: a key that names no route (a typo, a route renamed) would
// fire its event never, and a status other than the route's documented
// success status would be reported wrongly in every payload. Every data
// event has a route, and every event named is one a hook may subscribe to.
func TestHookRoutes_AreRoutes(t *testing.T) {
	s := newServer(Config{BaseURL: "http://idbolt.test"})
	registered := map[string]bool{}
	for _, rt := range s.registered {
		registered[rt.method+" "+rt.path] = true
	}
	fired := map[string]bool{}
	for key, hr := range hookRoutes {
		if !registered[key] {
			t.Errorf("hookRoutes[%q]: no such route", key)
			continue
		}
		if !store.IsHookEvent(hr.event) {
			t.Errorf("hookRoutes[%q]: %q is not a hook event", key, hr.event)
		}
		fired[hr.event] = true
		op := operations[key]
		if !slices.ContainsFunc(op.replies, func(r reply) bool { return r.status == hr.status }) {
			t.Errorf("hookRoutes[%q]: status %d, but the route answers %v", key, hr.status, op.replies)
		}
	}
	for _, ev := range []string{store.HookUserCreated, store.HookUserDeleted, store.HookUserDataUpdated,
		store.HookUserSuspensionStatusUpdated, store.HookRoleCreated, store.HookRoleDeleted, store.HookRoleDataUpdated,
		store.HookRoleScopesUpdated, store.HookScopeCreated, store.HookScopeDeleted, store.HookScopeDataUpdated,
		store.HookOrganizationCreated, store.HookOrganizationDeleted, store.HookOrganizationDataUpdated,
		store.HookOrganizationMembershipUpdate, store.HookOrganizationRoleCreated, store.HookOrganizationRoleDeleted,
		store.HookOrganizationRoleDataUpdated, store.HookOrganizationRoleScopesUpdate, store.HookOrganizationScopeCreated,
		store.HookOrganizationScopeDeleted, store.HookOrganizationScopeDataUpdated} {
		if !fired[ev] {
			t.Errorf("no route fires %s", ev)
		}
	}
}

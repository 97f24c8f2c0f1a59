package api_test

import (
	"net/http"
	"testing"
)

func TestApplications_ExcludeOrganization(t *testing.T) {
	e := newEnv(t)
	member, other := e.createM2M(t, "member"), e.createM2M(t, "other")
	var org idName
	e.do(t, "POST", "/api/organizations", map[string]any{"name": "Acme"}, http.StatusCreated, &org)
	e.do(t, "POST", "/api/organizations/"+org.ID+"/applications", map[string]any{"applicationIds": []string{member.ID}}, http.StatusCreated, nil)

	// Newest first; the test server's own admin app is M2M too.
	got, r := e.appIDs(t, "types=MachineToMachine&excludeOrganizationId="+org.ID)
	if r.Status != http.StatusOK || join(got...) != join(other.ID, "apitest-admin") {
		t.Errorf("excluding the organization's members: %v (%d %s)", got, r.Status, r.Body)
	}
	if got, _ := e.appIDs(t, "types=MachineToMachine&excludeOrganizationId=nosuchorg"); join(got...) != join(other.ID, member.ID, "apitest-admin") {
		t.Errorf("an unknown organization excludes nothing: %v", got)
	}
}

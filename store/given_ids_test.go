package store

import (
	"context"
	"strings"
	"testing"
)

// TestCreate_GivenIDs checks the ID of each create input that an import
// sets to keep a source's ids: the record gets it and is found by it, a
// taken id is ECONFLICT, a malformed one EINVALID, and records created
// afterwards without an id still get fresh ones. The cleanup's integrity
// check covers the user_ids index a given user id goes into.
func TestCreate_GivenIDs(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	const tn = DefaultTenant
	name := func(s string) *string { return &s }
	for _, tc := range []struct {
		kind   string
		create func(id, n string) (string, error)
		find   func(id string) error
	}{
		{"user", func(id, n string) (string, error) {
			u, err := db.CreateUser(ctx, tn, UserCreate{ID: id, Username: name(n)})
			return idOf(u, err, func() string { return u.ID })
		}, func(id string) error { _, err := db.FindUserByID(ctx, tn, id); return err }},
		{"application", func(id, n string) (string, error) {
			a, _, err := db.CreateApplication(ctx, tn, ApplicationCreate{ID: id, Name: n, Type: "MachineToMachine"})
			return idOf(a, err, func() string { return a.ID })
		}, func(id string) error { _, err := db.FindApplicationByID(ctx, tn, id); return err }},
		{"role", func(id, n string) (string, error) {
			r, err := db.CreateRole(ctx, tn, RoleCreate{ID: id, Name: n, Description: n})
			return idOf(r, err, func() string { return r.ID })
		}, func(id string) error { _, err := db.FindRoleByID(ctx, tn, id); return err }},
		{"resource", func(id, n string) (string, error) {
			r, err := db.CreateResource(ctx, tn, ResourceCreate{ID: id, Name: n, Indicator: "https://" + n + ".example.com"})
			return idOf(r, err, func() string { return r.ID })
		}, func(id string) error { _, err := db.FindResourceByID(ctx, tn, id); return err }},
		{"organization", func(id, n string) (string, error) {
			o, err := db.CreateOrganization(ctx, tn, OrganizationCreate{ID: id, Name: n})
			return idOf(o, err, func() string { return o.ID })
		}, func(id string) error { _, err := db.FindOrganizationByID(ctx, tn, id); return err }},
		{"organization role", func(id, n string) (string, error) {
			r, err := db.CreateOrganizationRole(ctx, tn, OrganizationRoleCreate{ID: id, Name: n})
			return idOf(r, err, func() string { return r.ID })
		}, func(id string) error { _, err := db.FindOrganizationRoleByID(ctx, tn, id); return err }},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			t.Run("OK", func(t *testing.T) {
				for _, given := range []string{"given0id0001", "Source_ID-21-chars-xyz"} {
					id, err := tc.create(given, "n_"+strings.ReplaceAll(given, "-", "_"))
					if err != nil || id != given {
						t.Fatalf("create %s: %q %v", given, id, err)
					}
					if err := tc.find(given); err != nil {
						t.Errorf("find %s: %v", given, err)
					}
				}
				id, err := tc.create("", "fresh")
				if err != nil || id == "" || id == "given0id0001" {
					t.Errorf("create without an id: %q %v", id, err)
				}
			})
			t.Run("ErrConflict", func(t *testing.T) {
				if _, err := tc.create("given0id0001", "another"); ErrorCode(err) != ECONFLICT {
					t.Errorf("taken id: %v, want %s", err, ECONFLICT)
				}
			})
			t.Run("ErrInvalid", func(t *testing.T) {
				for _, bad := range []string{"has space", "a/b", "é", string(make([]byte, 129))} {
					if _, err := tc.create(bad, "bad"); ErrorCode(err) != EINVALID {
						t.Errorf("id %q: %v, want %s", bad, err, EINVALID)
					}
				}
			})
		})
	}
	// A batch takes given ids too, mixed with made ones, all or none.
	t.Run("batch", func(t *testing.T) {
		users, err := db.CreateUsers(ctx, tn, []UserCreate{{ID: "batch0000001"}, {}, {ID: "batch0000002"}})
		if err != nil || users[0].ID != "batch0000001" || users[2].ID != "batch0000002" || users[1].ID == "" {
			t.Fatalf("CreateUsers: %v", err)
		}
		for _, tc := range []struct {
			name string
			ins  []UserCreate
			code string
		}{
			{"taken", []UserCreate{{ID: "batch0000003"}, {ID: "batch0000001"}}, ECONFLICT},
			{"twice", []UserCreate{{ID: "batch0000004"}, {ID: "batch0000004"}}, ECONFLICT},
			{"malformed", []UserCreate{{ID: "no way"}}, EINVALID},
		} {
			if _, err := db.CreateUsers(ctx, tn, tc.ins); ErrorCode(err) != tc.code {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			}
		}
		for _, id := range []string{"batch0000003", "batch0000004"} {
			if _, err := db.FindUserByID(ctx, tn, id); ErrorCode(err) != ENOTFOUND {
				t.Errorf("a refused batch created %s: %v", id, err)
			}
		}
	})
}

// idOf returns id() unless err is set.
func idOf[T any](v *T, err error, id func() string) (string, error) {
	if err != nil || v == nil {
		return "", err
	}
	return id(), nil
}

package store

import (
	"context"
	"testing"
)

func TestDB_ResetAdminCredentials(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	grant := func(tenant, id, secret string) error {
		_, err := db.GrantClientCredentials(ctx, tenant, ClientGrantRequest{ClientID: id, Secret: secret,
			Resource: ManagementIndicator(tenant), Scopes: []string{ManagementScope}})
		return err
	}
	_, old, err := db.CreateTenant(ctx, NewTenant{ID: "acme", SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}})
	if err != nil {
		t.Fatal(err)
	}
	// An application made later with the same role is not the one reset.
	later, _, err := db.CreateApplication(ctx, "acme", ApplicationCreate{Name: "later", Type: AppMachineToMachine})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateApplication(ctx, "acme", later.ID, ApplicationUpdate{IsAdmin: ptr(true)}); err != nil {
		t.Fatal(err)
	}

	t.Run("OK", func(t *testing.T) {
		reset, err := db.ResetAdminCredentials(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if reset.ClientID != old.ClientID || reset.Created {
			t.Fatalf("reset %+v, want the first admin application %s", reset, old.ClientID)
		}
		if got, want := ErrorCode(grant("acme", old.ClientID, old.ClientSecret)), EUNAUTHORIZED; got != want {
			t.Errorf("old secret: %q, want %q", got, want)
		}
		if err := grant("acme", reset.ClientID, reset.ClientSecret); err != nil {
			t.Errorf("new secret: %v", err)
		}
	})

	t.Run("DeletedAdminApp", func(t *testing.T) {
		for _, id := range []string{old.ClientID, later.ID} {
			if err := db.DeleteApplication(ctx, "acme", id); err != nil {
				t.Fatal(err)
			}
		}
		reset, err := db.ResetAdminCredentials(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if !reset.Created {
			t.Errorf("reset %+v, want a new application", reset)
		}
		if err := grant("acme", reset.ClientID, reset.ClientSecret); err != nil {
			t.Errorf("new application: %v", err)
		}
		if admins, _, err := db.FindSystemAdmins(ctx, contractPageAll); err != nil || len(admins) != 0 {
			t.Errorf("instance administrators %v %v, want none: acme's admin is not one", admins, err)
		}
	})

	t.Run("DefaultBecomesInstanceAdministrator", func(t *testing.T) {
		reset, err := db.ResetAdminCredentials(ctx, DefaultTenant)
		if err != nil {
			t.Fatal(err)
		}
		admins, _, err := db.FindSystemAdmins(ctx, contractPageAll)
		if err != nil || len(admins) != 1 || admins[0].ApplicationID != reset.ClientID {
			t.Errorf("instance administrators %v %v, want %s", admins, err, reset.ClientID)
		}
		again, err := db.ResetAdminCredentials(ctx, DefaultTenant)
		if err != nil || again.ClientID != reset.ClientID || again.Created {
			t.Errorf("second reset %+v %v, want the same application", again, err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := db.ResetAdminCredentials(ctx, "nope"); ErrorCode(err) != ENOTFOUND {
			t.Errorf("unknown tenant: %v", err)
		}
	})
}

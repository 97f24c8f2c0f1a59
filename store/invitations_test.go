package store

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store/kv"
)

// invClock is a settable clock for invitation expiry.
type invClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *invClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *invClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// invOpen is mustOpen with a clock the test moves, and an organization in
// tenant default.
func invOpen(t *testing.T) (*DB, *invClock, string) {
	t.Helper()
	db := mustOpen(t)
	c := &invClock{now: testNow}
	db.now = c.Now
	org, err := db.CreateOrganization(context.Background(), DefaultTenant, OrganizationCreate{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	return db, c, org.ID
}

func TestInvitations_ExpiredMarkedOnCreate(t *testing.T) {
	db, c, org := invOpen(t)
	ctx := context.Background()
	first, _, err := db.CreateInvitation(ctx, DefaultTenant, InvitationCreate{Invitee: "a@example.com", OrganizationID: org,
		ExpiresAt: c.Now().Add(time.Minute).UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = db.CreateInvitation(ctx, DefaultTenant, InvitationCreate{Invitee: "A@example.com", OrganizationID: org,
		ExpiresAt: c.Now().Add(time.Hour).UnixMilli()})
	if got, want := ErrorCode(err), EUNPROCESSABLE; got != want {
		t.Fatalf("second pending: %v", err)
	}
	c.add(2 * time.Minute)
	if _, _, err := db.CreateInvitation(ctx, DefaultTenant, InvitationCreate{Invitee: "A@example.com", OrganizationID: org,
		ExpiresAt: c.Now().Add(time.Hour).UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	// As Logto's create does, the past-due invitation is now stored as
	// Expired, not only read as Expired.
	err = db.View(ctx, DefaultTenant, func(tx *Tx) error {
		r, err := findInvitation(tx, first.ID)
		if err != nil {
			return err
		}
		if r.Status != InvitationExpired {
			t.Errorf("stored status %s, want Expired", r.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestInvitations_Message(t *testing.T) {
	db, c, org := invOpen(t)
	ctx := context.Background()
	link := "https://example.com/join"
	inv, email, err := db.CreateInvitation(ctx, DefaultTenant, InvitationCreate{Invitee: "a@example.com", OrganizationID: org,
		ExpiresAt: c.Now().Add(time.Hour).UnixMilli(), Message: &InvitationMessage{Link: &link}})
	if err != nil {
		t.Fatal(err)
	}
	if email != nil {
		t.Errorf("email %+v without a webhook", email)
	}
	if m, err := db.FindInvitationMessage(ctx, DefaultTenant, inv.ID); err != nil || m.Link == nil || *m.Link != link || m.Code != nil {
		t.Errorf("stored message %+v, %v", m, err)
	}

	tn, err := db.UpdateTenant(ctx, DefaultTenant, TenantUpdate{EmailWebhookURL: Field[string]{Set: true, Value: ptr("https://hooks.example.com/mail")}})
	if err != nil {
		t.Fatal(err)
	}
	code := "123456"
	email, err = db.FindInvitationEmail(ctx, DefaultTenant, inv.ID, InvitationMessage{Code: &code})
	if err != nil {
		t.Fatal(err)
	}
	if email == nil || email.Webhook.URL != "https://hooks.example.com/mail" || email.Webhook.SigningKey != tn.EmailWebhookSigningKey ||
		email.OrganizationName != "Acme" || email.Invitation.ID != inv.ID || *email.Message.Code != code {
		t.Errorf("email %+v", email)
	}
	if m, _ := db.FindInvitationMessage(ctx, DefaultTenant, inv.ID); m.Link == nil || m.Code != nil {
		t.Errorf("finding the email stored the message: %+v", m)
	}
	if err := db.SetInvitationMessage(ctx, DefaultTenant, inv.ID, InvitationMessage{Code: &code}); err != nil {
		t.Fatal(err)
	}
	if m, _ := db.FindInvitationMessage(ctx, DefaultTenant, inv.ID); m.Link != nil || m.Code == nil {
		t.Errorf("message not replaced: %+v", m)
	}

	t.Run("ErrNotFound", func(t *testing.T) {
		if err := db.SetInvitationMessage(ctx, "other", inv.ID, InvitationMessage{}); ErrorCode(err) != ENOTFOUND {
			t.Errorf("other tenant: %v", err)
		}
		if _, err := db.FindInvitationEmail(ctx, "other", inv.ID, InvitationMessage{}); ErrorCode(err) != ENOTFOUND {
			t.Errorf("other tenant: %v", err)
		}
		if _, err := db.FindInvitationByID(ctx, "other", inv.ID); ErrorCode(err) != ENOTFOUND {
			t.Errorf("other tenant: %v", err)
		}
	})
}

func TestTenants_EmailWebhook(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	set := func(upd TenantUpdate) *Tenant {
		t.Helper()
		tn, err := db.UpdateTenant(ctx, "other", upd)
		if err != nil {
			t.Fatal(err)
		}
		return tn
	}
	url := func(u string) Field[string] { return Field[string]{Set: true, Value: &u} }

	first := set(TenantUpdate{EmailWebhookURL: url("https://a.example.com")})
	if len(first.EmailWebhookSigningKey) != 43 || *first.EmailWebhookURL != "https://a.example.com" {
		t.Fatalf("first %+v", first)
	}
	if got := set(TenantUpdate{EmailWebhookURL: url("http://b.example.com/x")}); got.EmailWebhookSigningKey != "" {
		t.Errorf("URL change showed a key")
	}
	rotated := set(TenantUpdate{RotateEmailWebhookSigningKey: true})
	if rotated.EmailWebhookSigningKey == "" || rotated.EmailWebhookSigningKey == first.EmailWebhookSigningKey {
		t.Errorf("rotation gave %q", rotated.EmailWebhookSigningKey)
	}
	if got, _ := db.FindTenantByID(ctx, "other"); got.EmailWebhookSigningKey != "" || *got.EmailWebhookURL != "http://b.example.com/x" {
		t.Errorf("read back %+v", got)
	}
	err := db.View(ctx, "other", func(tx *Tx) error {
		hook, err := emailWebhook(tx)
		if err == nil && hook.SigningKey != rotated.EmailWebhookSigningKey {
			t.Errorf("stored key is not the rotated one")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := set(TenantUpdate{EmailWebhookURL: Field[string]{Set: true}}); got.EmailWebhookURL != nil {
		t.Errorf("removed webhook reads %v", *got.EmailWebhookURL)
	}
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, upd := range []TenantUpdate{
			{EmailWebhookURL: url("ftp://x.example.com")},
			{EmailWebhookURL: url("https://")},
			{RotateEmailWebhookSigningKey: true}, // no webhook left
			{EmailWebhookURL: Field[string]{Set: true}, RotateEmailWebhookSigningKey: true},
		} {
			if _, err := db.UpdateTenant(ctx, "other", upd); ErrorCode(err) != EINVALID {
				t.Errorf("%+v: %v", upd, err)
			}
		}
	})
}

// TestInvitations_IntegrityFindsCorruption damages the invitation indexes
// one way at a time and expects CheckIntegrity to notice, then repairs them.
func TestInvitations_IntegrityFindsCorruption(t *testing.T) {
	db, c, org := invOpen(t)
	ctx := context.Background()
	inv, _, err := db.CreateInvitation(ctx, DefaultTenant, InvitationCreate{Invitee: "a@example.com", OrganizationID: org,
		ExpiresAt: c.Now().Add(time.Hour).UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		bucket []byte
		key    []byte
		want   string
	}{
		{"OrgIndex", bucketOrgInvitations, pairKey(org, inv.ID), "org_invitations"},
		{"PendingIndex", bucketInvitationsPending, pendingKey(org, "a@example.com"), "invitations_pending"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var saved []byte
			damage := func(restore bool) {
				t.Helper()
				err := db.update(func(btx *kv.Tx) error {
					b := btx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant)).Bucket(tt.bucket)
					if restore {
						return b.Put(tt.key, saved)
					}
					saved = append([]byte(nil), b.Get(tt.key)...)
					return b.Delete(tt.key)
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			damage(false)
			err := db.CheckIntegrity(ctx)
			damage(true)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckIntegrity = %v, want a report about %s", err, tt.want)
			}
			if err := db.CheckIntegrity(ctx); err != nil {
				t.Errorf("after repair: %v", err)
			}
		})
	}
}

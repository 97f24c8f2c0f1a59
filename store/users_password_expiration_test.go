package store

import (
	"context"
	"testing"
	"time"
)

// enablePasswordExpiration gives tenant default an email connector and
// turns the password expiration policy on.
func enablePasswordExpiration(t *testing.T, db *DB, days int64) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.CreateConnector(ctx, DefaultTenant, ConnectorCreate{FactoryID: FactoryHTTPEmail,
		Config: map[string]any{"endpoint": "https://mail.example.com/send"}}); err != nil {
		t.Fatal(err)
	}
	on := true
	if _, err := db.UpdateSignInExperience(ctx, DefaultTenant, SignInExperienceUpdate{
		ForgotPasswordMethods: &[]string{ForgotPasswordByEmail},
		PasswordExpiration:    &PasswordExpirationUpdate{Enabled: &on, ValidPeriodDays: days}}); err != nil {
		t.Fatal(err)
	}
}

func passwordState(t *testing.T, db *DB, id string) passwordStateRecord {
	t.Helper()
	var r passwordStateRecord
	if err := db.View(context.Background(), DefaultTenant, func(tx *Tx) (err error) {
		r, err = readPasswordState(tx, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPasswordState_MarkSetDelete(t *testing.T) {
	now := testNow
	db := mustOpenClock(t, func() time.Time { return now })
	ctx := context.Background()
	u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("alice"), Password: ptr("correct horse battery")})
	if err != nil {
		t.Fatal(err)
	}
	if got := passwordState(t, db, u.ID); got != (passwordStateRecord{}) {
		t.Errorf("state after create %+v, want none: createdAt is when the password was set", got)
	}

	if _, err := db.SetUserPasswordExpired(ctx, DefaultTenant, u.ID, true); ErrorCode(err) != EINVALID {
		t.Errorf("mark with the policy off: %v, want EINVALID", err)
	}
	enablePasswordExpiration(t, db, 30)
	now = now.Add(time.Hour)
	marked, err := db.SetUserPasswordExpired(ctx, DefaultTenant, u.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := marked.UpdatedAt, msec(now); got != want {
		t.Errorf("updatedAt %d, want %d (Logto stamps every user update)", got, want)
	}
	if got := passwordState(t, db, u.ID); !got.Expired || got.UpdatedAt != 0 {
		t.Errorf("state after the mark %+v, want expired with no change time", got)
	}

	// A new password clears the mark and records when it was set.
	now = now.Add(time.Hour)
	if _, err := db.SetUserPassword(ctx, DefaultTenant, u.ID, "another good password"); err != nil {
		t.Fatal(err)
	}
	if got, want := passwordState(t, db, u.ID), (passwordStateRecord{UpdatedAt: msec(now)}); got != want {
		t.Errorf("state after a new password %+v, want %+v", got, want)
	}

	// Marked again, then unmarked: the change time stays.
	for _, expired := range []bool{true, false} {
		if _, err := db.SetUserPasswordExpired(ctx, DefaultTenant, u.ID, expired); err != nil {
			t.Fatal(err)
		}
		if got, want := passwordState(t, db, u.ID), (passwordStateRecord{UpdatedAt: msec(now), Expired: expired}); got != want {
			t.Errorf("state after isExpired=%v: %+v, want %+v", expired, got, want)
		}
	}

	if _, err := db.SetUserPasswordExpired(ctx, DefaultTenant, "nosuchuser12", false); ErrorCode(err) != ENOTFOUND {
		t.Errorf("unknown user: %v, want ENOTFOUND", err)
	}
	// The state goes with its user (mustOpen's integrity check finds an
	// entry left behind).
	if err := db.DeleteUser(ctx, DefaultTenant, u.ID); err != nil {
		t.Fatal(err)
	}
	if got := passwordState(t, db, u.ID); got != (passwordStateRecord{}) {
		t.Errorf("state after delete %+v, want none", got)
	}
}

func TestPasswordState_IntegrityFindsOrphans(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	put := func(state passwordStateRecord) {
		t.Helper()
		if err := db.Update(ctx, DefaultTenant, func(tx *Tx) error { return putPasswordState(tx, "nosuchuser12", state) }); err != nil {
			t.Fatal(err)
		}
	}
	put(passwordStateRecord{Expired: true})
	if err := db.CheckIntegrity(ctx); err == nil {
		t.Error("integrity check passes with the password state of no user")
	}
	put(passwordStateRecord{}) // the zero state is no entry
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Error(err)
	}
}

func TestSignInExperience_EnabledAt(t *testing.T) {
	now := testNow
	db := mustOpenClock(t, func() time.Time { return now })
	ctx := context.Background()
	enablePasswordExpiration(t, db, 90)
	enabledAt := msec(now)
	on, off := true, false
	steps := []struct {
		name          string
		update        PasswordExpirationUpdate
		wantEnabled   bool
		wantDays      int64
		wantEnabledAt func() int64
	}{
		{"new period keeps enabledAt", PasswordExpirationUpdate{Enabled: &on, ValidPeriodDays: 30}, true, 30, func() int64 { return enabledAt }},
		{"no enabled keeps the policy", PasswordExpirationUpdate{}, true, 30, func() int64 { return enabledAt }},
		{"off", PasswordExpirationUpdate{Enabled: &off}, false, 0, func() int64 { return 0 }},
		{"on again restarts enabledAt", PasswordExpirationUpdate{Enabled: &on, ValidPeriodDays: 7}, true, 7, func() int64 { return msec(now) }},
	}
	for _, s := range steps {
		now = now.Add(24 * time.Hour)
		sie, err := db.UpdateSignInExperience(ctx, DefaultTenant, SignInExperienceUpdate{PasswordExpiration: &s.update})
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got := sie.PasswordExpiration
		if !got.Set || got.Enabled != s.wantEnabled || got.ValidPeriodDays != s.wantDays || got.EnabledAt != s.wantEnabledAt() {
			t.Errorf("%s: policy %+v, want enabled %v for %d days from %d", s.name, got, s.wantEnabled, s.wantDays, s.wantEnabledAt())
		}
	}
}

package store

import (
	"context"
	"errors"
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

// TestVerifyUserPassword_Expiry: with the policy on, a matching password
// older than the period (counted from its last change, or from when the
// policy was turned on for an older one) is password.expired; a wrong one
// is invalid_credentials whatever its age; the console's check ignores
// expiry.
func TestVerifyUserPassword_Expiry(t *testing.T) {
	const day = 24 * time.Hour
	ctx := context.Background()
	tests := []struct {
		name         string
		changedAfter time.Duration // since the user was created; 0: never changed
		enableAfter  time.Duration // since the user was created
		checkAfter   time.Duration // since the policy was turned on
		want         string        // detail code; "" passes
	}{
		{"old password, fresh policy", 0, 400 * day, day, ""},
		{"period counts from the policy", 0, 400 * day, 30*day - time.Millisecond, ""},
		{"expired a period after the policy", 0, 400 * day, 30 * day, "password.expired"},
		{"changed after the policy", 400*day + 20*day, 400 * day, 30 * day, ""},
		{"changed after the policy, a period on", 400*day + 20*day, 400 * day, 50 * day, "password.expired"},
		{"created after the policy", 0, 0, 29 * day, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := testNow
			db := mustOpenClock(t, func() time.Time { return now })
			u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("alice"), Password: ptr("correct horse battery")})
			if err != nil {
				t.Fatal(err)
			}
			created := now
			if tt.changedAfter != 0 && tt.changedAfter < tt.enableAfter {
				now = created.Add(tt.changedAfter)
				if _, err := db.SetUserPassword(ctx, DefaultTenant, u.ID, "correct horse battery"); err != nil {
					t.Fatal(err)
				}
			}
			now = created.Add(tt.enableAfter)
			enablePasswordExpiration(t, db, 30)
			if tt.changedAfter >= tt.enableAfter {
				now = created.Add(tt.changedAfter)
				if _, err := db.SetUserPassword(ctx, DefaultTenant, u.ID, "correct horse battery"); err != nil {
					t.Fatal(err)
				}
			}
			now = created.Add(tt.enableAfter + tt.checkAfter)
			err = db.VerifyUserPassword(ctx, DefaultTenant, u.ID, "correct horse battery")
			if got := errorDetail(err); got != tt.want {
				t.Errorf("right password: %v (%q), want %q", err, got, tt.want)
			}
			if got := errorDetail(db.VerifyUserPassword(ctx, DefaultTenant, u.ID, "wrong")); got != "session.invalid_credentials" {
				t.Errorf("wrong password: %q", got)
			}
			if err := db.checkUserPassword(ctx, DefaultTenant, u.ID, "correct horse battery", false); err != nil {
				t.Errorf("console check: %v", err)
			}
		})
	}
}

// errorDetail is the Logto code of err, "" for nil.
func errorDetail(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Detail
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

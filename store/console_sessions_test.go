package store

import (
	"context"
	"testing"
	"time"
)

var testConsoleLimits = ConsoleSessionLimits{Idle: 30 * time.Minute, Max: 12 * time.Hour}

func TestConsoleSessions(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	t0 := testNow

	t.Run("OK", func(t *testing.T) {
		id, err := db.CreateConsoleSession(ctx, DefaultTenant, ConsoleSession{ClientID: "c1", Scopes: []string{"all"}}, t0, testConsoleLimits)
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 43 {
			t.Fatalf("id %q", id)
		}
		s, err := db.TouchConsoleSession(ctx, DefaultTenant, id, t0.Add(time.Minute), testConsoleLimits)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := s.ClientID, "c1"; got != want || !s.CreatedAt.Equal(t0) || !s.LastSeenAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("session %+v", s)
		}
		// Only the hash is stored: the id is no key of the bucket.
		err = db.View(ctx, DefaultTenant, func(tx *Tx) error {
			b, err := tx.bucket(bucketConsoleSessions)
			if err != nil {
				return err
			}
			if b.Get([]byte(id)) != nil || b.Get(consoleSessionKey(id)) == nil {
				t.Error("the session is not stored under the hash of its id")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Another tenant does not know it.
		if _, err := db.TouchConsoleSession(ctx, "other", id, t0, testConsoleLimits); ErrorCode(err) != EUNAUTHORIZED {
			t.Errorf("other tenant: %v", err)
		}
		if err := db.DeleteConsoleSession(ctx, DefaultTenant, id); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteConsoleSession(ctx, DefaultTenant, id); err != nil {
			t.Fatalf("second delete: %v", err)
		}
		if _, err := db.TouchConsoleSession(ctx, DefaultTenant, id, t0, testConsoleLimits); ErrorCode(err) != EUNAUTHORIZED {
			t.Errorf("after delete: %v", err)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, s := range []ConsoleSession{{}, {ClientID: "c", UserID: "u"}} {
			if _, err := db.CreateConsoleSession(ctx, DefaultTenant, s, t0, testConsoleLimits); ErrorCode(err) != EINVALID {
				t.Errorf("%+v: %v", s, err)
			}
		}
	})

	t.Run("Expired", func(t *testing.T) {
		id, err := db.CreateConsoleSession(ctx, DefaultTenant, ConsoleSession{ClientID: "c1"}, t0, testConsoleLimits)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.TouchConsoleSession(ctx, DefaultTenant, id, t0.Add(30*time.Minute), testConsoleLimits); ErrorCode(err) != EUNAUTHORIZED {
			t.Fatalf("idle 30 minutes: %v", err)
		}
		if n := countConsoleSessions(t, db); n != 0 {
			t.Errorf("%d sessions left after expiry, want 0", n)
		}
	})

	t.Run("UserSuspendedOrGone", func(t *testing.T) {
		name := "sess_user"
		u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: &name})
		if err != nil {
			t.Fatal(err)
		}
		id, err := db.CreateConsoleSession(ctx, DefaultTenant, ConsoleSession{UserID: u.ID}, t0, testConsoleLimits)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.TouchConsoleSession(ctx, DefaultTenant, id, t0, testConsoleLimits); err != nil {
			t.Fatal(err)
		}
		yes := true
		if _, err := db.UpdateUser(ctx, DefaultTenant, u.ID, UserUpdate{IsSuspended: &yes}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TouchConsoleSession(ctx, DefaultTenant, id, t0, testConsoleLimits); ErrorCode(err) != EUNAUTHORIZED {
			t.Errorf("suspended user's session: %v", err)
		}
	})

	t.Run("Bounded", func(t *testing.T) {
		for i := range MaxConsoleSessions + 5 {
			if _, err := db.CreateConsoleSession(ctx, DefaultTenant, ConsoleSession{ClientID: "c1"}, t0.Add(time.Duration(i)*time.Millisecond), testConsoleLimits); err != nil {
				t.Fatal(err)
			}
		}
		if n := countConsoleSessions(t, db); n != MaxConsoleSessions {
			t.Errorf("%d sessions, want at most %d", n, MaxConsoleSessions)
		}
		if err := db.PruneConsoleSessions(ctx, DefaultTenant, t0.Add(13*time.Hour), testConsoleLimits); err != nil {
			t.Fatal(err)
		}
		if n := countConsoleSessions(t, db); n != 0 {
			t.Errorf("%d sessions after pruning expired ones, want 0", n)
		}
	})
}

func countConsoleSessions(t *testing.T, db *DB) int {
	t.Helper()
	n := 0
	err := db.View(context.Background(), DefaultTenant, func(tx *Tx) error {
		b, err := tx.bucket(bucketConsoleSessions)
		if err != nil {
			return err
		}
		n = b.Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestVerifyUsernamePassword(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	name, pw := "grace", "correct horse battery"
	u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: &name, Password: &pw})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		got, err := db.VerifyUsernamePassword(ctx, DefaultTenant, name, pw)
		if err != nil || got.ID != u.ID {
			t.Fatalf("%v %v", got, err)
		}
	})
	for _, tc := range []struct{ name, username, password, code string }{
		{"WrongPassword", name, "wrong", EUNPROCESSABLE},
		{"UnknownUser", "nobody", pw, EUNPROCESSABLE},
		{"OtherCase", "Grace", pw, EUNPROCESSABLE},
		{"EmptyPassword", "nobody", "", EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := db.VerifyUsernamePassword(ctx, DefaultTenant, tc.username, tc.password); ErrorCode(err) != tc.code {
				t.Errorf("%v, want %s", err, tc.code)
			}
		})
	}
}

// BenchmarkVerifyUsernamePassword compares a wrong password of an existing
// user with any password of an unknown username: the two should cost the
// same (one Argon2id), so that timing tells no usernames.
func BenchmarkVerifyUsernamePassword(b *testing.B) {
	ctx := context.Background()
	db := mustOpen(b)
	name, pw := "grace", "correct horse battery"
	if _, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: &name, Password: &pw}); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, username string }{{"WrongPassword", name}, {"UnknownUser", "nobody"}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := db.VerifyUsernamePassword(ctx, DefaultTenant, bc.username, "wrong"); ErrorCode(err) != EUNPROCESSABLE {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPruneAllConsoleSessions: the hourly pruning deletes the expired
// sessions of every tenant and keeps the live ones, also in a file from
// before console sessions.
func TestPruneAllConsoleSessions(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	t0 := testNow
	live := map[string]string{} // tenant -> the session that stays
	for _, tenant := range []string{DefaultTenant, "other"} {
		if _, err := db.CreateConsoleSession(ctx, tenant, ConsoleSession{ClientID: "c1"}, t0, testConsoleLimits); err != nil {
			t.Fatal(err)
		}
		id, err := db.CreateConsoleSession(ctx, tenant, ConsoleSession{ClientID: "c2"}, t0.Add(20*time.Minute), testConsoleLimits)
		if err != nil {
			t.Fatal(err)
		}
		live[tenant] = id
	}
	now := t0.Add(31 * time.Minute) // the first of each tenant is idle too long
	if err := db.PruneAllConsoleSessions(ctx, now, testConsoleLimits); err != nil {
		t.Fatal(err)
	}
	count := func(tenant string) (n int) {
		db.View(ctx, tenant, func(tx *Tx) error {
			b, err := tx.bucket(bucketConsoleSessions)
			if err == nil {
				n = b.Stats().KeyN
			}
			return err
		})
		return n
	}
	for tenant, id := range live {
		if n := count(tenant); n != 1 {
			t.Errorf("%s: %d sessions left, want the live one", tenant, n)
		}
		if _, err := db.TouchConsoleSession(ctx, tenant, id, now, testConsoleLimits); err != nil {
			t.Errorf("%s: live session: %v", tenant, err)
		}
	}

	old := openFixture(t)
	defer old.Close()
	if err := old.PruneAllConsoleSessions(ctx, now, testConsoleLimits); err != nil {
		t.Errorf("file from before console sessions: %v", err)
	}
}

package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Digests of "password" made by other implementations, so that a
// verification is checked against more than our own hasher.
const (
	// phc-winner-argon2 src/test.c (the reference implementation).
	refArgon2id = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	refArgon2i  = "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA"
	refSHA256   = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
	refSHA1     = "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"
	refMD5      = "5f4dcc3b5aa765d61d8327deb882cf99"
)

// cheapBcrypt returns a cost-4 bcrypt hash of password with the given prefix.
func cheapBcrypt(t testing.TB, password, prefix string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return prefix + string(h[4:])
}

func TestPasswordDigest_Import(t *testing.T) {
	bc := cheapBcrypt(t, "password", "$2b$")
	tests := []struct {
		name      string
		algorithm string
		digest    string
		wantField string // "" means accepted
		wantInMsg string
	}{
		{"Argon2id", "Argon2id", refArgon2id, "", ""},
		{"Argon2i", "Argon2i", refArgon2i, "", ""},
		{"Bcrypt2a", "Bcrypt", "$2a$" + bc[4:], "", ""},
		{"Bcrypt2b", "Bcrypt", bc, "", ""},
		{"Bcrypt2y", "Bcrypt", "$2y$" + bc[4:], "", ""},
		{"SHA256", "SHA256", refSHA256, "", ""},
		{"SHA256Uppercase", "SHA256", strings.ToUpper(refSHA256), "", ""},
		{"SHA1", "SHA1", refSHA1, "", ""},
		{"MD5", "MD5", refMD5, "", ""},

		{"UnknownAlgorithm", "SHA512", refSHA256, "passwordAlgorithm", "must be one of"},
		{"Legacy", "Legacy", `["md5",["@"],"x"]`, "passwordAlgorithm", "Legacy"},
		{"Argon2d", "Argon2d", "$argon2d$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "passwordAlgorithm", "Argon2d"},
		{"AlgorithmMismatch", "Argon2i", refArgon2id, "passwordDigest", "argon2id hash"},
		{"PlainForArgon", "Argon2id", refSHA256, "passwordDigest", "PHC"},
		{"Empty", "SHA256", "", "passwordDigest", "64 hexadecimal"},
		{"ShortHex", "SHA256", refSHA256[:62], "passwordDigest", "64 hexadecimal"},
		{"NotHex", "MD5", strings.Repeat("g", 32), "passwordDigest", "32 hexadecimal"},
		{"HexWithDollar", "MD5", "$" + refMD5[1:], "passwordDigest", "hexadecimal"},
		{"ArgonVersion16", "Argon2i", "$argon2i$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA", "passwordDigest", "version 16"},
		{"ArgonVersion18", "Argon2i", strings.Replace(refArgon2i, "v=19", "v=18", 1), "passwordDigest", "v=19"},
		{"ArgonMemoryTooLarge", "Argon2id", strings.Replace(refArgon2id, "m=65536", "m=262145", 1), "passwordDigest", "m <= 262144"},
		{"ArgonMemoryAtBound", "Argon2id", strings.Replace(refArgon2id, "m=65536", "m=262144", 1), "", ""},
		{"ArgonTimeTooLarge", "Argon2id", strings.Replace(refArgon2id, "t=2", "t=11", 1), "passwordDigest", "t <= 10"},
		{"ArgonTimeZero", "Argon2id", strings.Replace(refArgon2id, "t=2", "t=0", 1), "passwordDigest", "1 <= t"},
		{"ArgonLanesTooMany", "Argon2id", strings.Replace(refArgon2id, "p=1", "p=17", 1), "passwordDigest", "p <= 16"},
		{"ArgonMemoryBelowLanes", "Argon2id", strings.Replace(refArgon2id, "m=65536,t=2,p=1", "m=15,t=2,p=2", 1), "passwordDigest", "8*p <= m"},
		{"ArgonParamOrder", "Argon2id", strings.Replace(refArgon2id, "m=65536,t=2,p=1", "t=2,m=65536,p=1", 1), "passwordDigest", "parameters"},
		{"ArgonLeadingZero", "Argon2id", strings.Replace(refArgon2id, "t=2", "t=02", 1), "passwordDigest", "parameters"},
		{"ArgonSign", "Argon2id", strings.Replace(refArgon2id, "t=2", "t=+2", 1), "passwordDigest", "parameters"},
		{"ArgonExtraParam", "Argon2id", strings.Replace(refArgon2id, "p=1", "p=1,keyid=x", 1), "passwordDigest", "parameters"},
		{"ArgonPaddedSalt", "Argon2id", strings.Replace(refArgon2id, "c29tZXNhbHQ", "c29tZXNhbHQ=", 1), "passwordDigest", "salt"},
		{"ArgonShortSalt", "Argon2id", strings.Replace(refArgon2id, "c29tZXNhbHQ", "c2FsdA", 1), "passwordDigest", "salt"},
		{"ArgonShortKey", "Argon2id", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMa", "passwordDigest", "hash must be"},
		{"ArgonMissingKey", "Argon2id", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ", "passwordDigest", "PHC"},
		{"ArgonUnknownVariant", "Argon2id", strings.Replace(refArgon2id, "argon2id", "argon2x", 1), "passwordDigest", "variant"},
		{"Bcrypt2x", "Bcrypt", "$2x$" + bc[4:], "passwordDigest", "bcrypt hash"},
		{"BcryptShort", "Bcrypt", bc[:59], "passwordDigest", "bcrypt hash"},
		{"BcryptCostTooHigh", "Bcrypt", bc[:4] + "16" + bc[6:], "passwordDigest", "cost"},
		{"BcryptCostTooLow", "Bcrypt", bc[:4] + "03" + bc[6:], "passwordDigest", "cost"},
		{"BcryptBadAlphabet", "Bcrypt", bc[:30] + "+" + bc[31:], "passwordDigest", "bcrypt hash"},
		{"BcryptForSHA", "SHA256", bc, "passwordDigest", "hexadecimal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, err := importPasswordDigest(tt.algorithm, tt.digest)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				h, err := parsePasswordHash(stored)
				if err != nil || h.encode() != stored {
					t.Fatalf("stored %q does not round-trip: %v", stored, err)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Code != EINVALID || e.Field != tt.wantField || !strings.Contains(e.Message, tt.wantInMsg) {
				t.Fatalf("got %v (stored %q), want EINVALID on %s mentioning %q", err, stored, tt.wantField, tt.wantInMsg)
			}
		})
	}
}

func TestPasswordHasher_Verify(t *testing.T) {
	h := testHashTicket(t)
	native, err := h.hash(context.Background(), "password")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, algorithm, digest string }{
		{"Argon2id", "Argon2id", refArgon2id},
		{"Argon2i", "Argon2i", refArgon2i},
		{"Bcrypt2a", "Bcrypt", cheapBcrypt(t, "password", "$2a$")},
		{"Bcrypt2y", "Bcrypt", cheapBcrypt(t, "password", "$2y$")},
		{"SHA256", "SHA256", strings.ToUpper(refSHA256)},
		{"SHA1", "SHA1", refSHA1},
		{"MD5", "MD5", refMD5},
		{"Native", "Argon2id", native},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, err := importPasswordDigest(tt.algorithm, tt.digest)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				password string
				want     bool
			}{{"password", true}, {"Password", false}, {"", false}, {"password ", false}} {
				if got, err := h.verify(context.Background(), stored, c.password); err != nil || got != c.want {
					t.Errorf("verify(%q) = %v, %v; want %v", c.password, got, err, c.want)
				}
			}
			if got, want := needsRehash(stored), tt.algorithm != "Argon2id"; got != want {
				t.Errorf("needsRehash = %v, want %v", got, want)
			}
		})
	}
	if _, err := h.verify(context.Background(), "garbage", "password"); err == nil {
		t.Error("verify of an unparsable hash: no error")
	}
}

// FuzzParsePasswordDigest checks that no digest panics the parser, that
// every accepted one is stored in a form that parses back to itself, and
// that verifying against it (where that is cheap) fails cleanly.
func FuzzParsePasswordDigest(f *testing.F) {
	bc := cheapBcrypt(f, "password", "$2b$")
	for _, seed := range []struct{ alg, digest string }{
		{"Argon2id", refArgon2id}, {"Argon2i", refArgon2i}, {"Argon2id", "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJH"},
		{"Argon2d", "$argon2d$v=19$m=8,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5g"}, {"Bcrypt", bc},
		{"SHA256", refSHA256}, {"SHA1", refSHA1}, {"MD5", refMD5}, {"MD5", "md5$" + refMD5},
		{"Legacy", "[]"}, {"", ""}, {"Argon2i", "$argon2i$m=1,t=1,p=1$$"}, {"Bcrypt", "$2b$99$"},
	} {
		f.Add(seed.alg, seed.digest)
	}
	h := testHashTicket(f)
	f.Fuzz(func(t *testing.T, algorithm, digest string) {
		stored, err := importPasswordDigest(algorithm, digest)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Code != EINVALID || (e.Field != "passwordDigest" && e.Field != "passwordAlgorithm") {
				t.Fatalf("refusal is not EINVALID on a named field: %#v", err)
			}
			return
		}
		p, err := parsePasswordHash(stored)
		if err != nil {
			t.Fatalf("accepted %q but stored %q does not parse: %v", digest, stored, err)
		}
		if p.encode() != stored {
			t.Fatalf("stored %q re-encodes as %q", stored, p.encode())
		}
		cheap := p.memory*p.time <= 64
		if p.kind == hashBcrypt {
			cheap = stored[4:6] == "04"
		}
		if cheap {
			if _, err := h.verify(context.Background(), stored, "fuzz"); err != nil {
				t.Fatalf("verify against accepted %q: %v", stored, err)
			}
		}
	})
}

func TestVerifyUserPassword_RehashesDigest(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{PasswordDigest: ptr(refSHA256), PasswordAlgorithm: ptr("SHA256")})
	if err != nil {
		t.Fatal(err)
	}
	stored := func() string {
		var hash string
		if err := db.View(ctx, DefaultTenant, func(tx *Tx) error {
			r, err := findUserRecord(tx, u.ID)
			if err == nil {
				hash = r.PasswordHash
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return hash
	}
	if err := db.VerifyUserPassword(ctx, DefaultTenant, u.ID, "wrong"); ErrorCode(err) != EUNPROCESSABLE {
		t.Fatalf("wrong password: %v", err)
	}
	if got := stored(); got != "sha256$"+refSHA256 {
		t.Fatalf("a failed verification changed the hash to %q", got)
	}
	if err := db.VerifyUserPassword(ctx, DefaultTenant, u.ID, "password"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if got := stored(); !strings.HasPrefix(got, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("after a match the hash is %q, want our Argon2id", got)
	}
	if err := db.VerifyUserPassword(ctx, DefaultTenant, u.ID, "password"); err != nil {
		t.Fatalf("right password after rehash: %v", err)
	}
	got, err := db.FindUserByID(ctx, DefaultTenant, u.ID)
	if err != nil || got.UpdatedAt != u.UpdatedAt || !got.HasPassword {
		t.Errorf("rehash changed the user: %+v, %v", got, err)
	}
}

// testHashTicket returns an admission to a new hasher, closed when tb ends.
func testHashTicket(tb testing.TB) *hashTicket {
	tb.Helper()
	t, err := newPasswordHasher().admit("test")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(t.close)
	return t
}

// TestPasswordHasher_TenantsTakeTurns checks the scheduling order on a
// one-slot hasher: while tenant a's hash runs and three more of a's wait,
// tenant b's hash is served right after the running one, not after a's queue.
func TestPasswordHasher_TenantsTakeTurns(t *testing.T) {
	h := newPasswordHasher()
	h.slots, h.idle = 1, 1
	ctx := context.Background()
	ticket := func(tenant string) *hashTicket {
		tk, err := h.admit(tenant)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tk.close)
		return tk
	}
	a, b := ticket("a"), ticket("b")
	running, finish := make(chan struct{}), make(chan struct{})
	go a.run(ctx, func() { close(running); <-finish })
	<-running
	order := make(chan string, 8)
	waiters := 0
	queue := func(tk *hashTicket, name string) {
		waiters++
		go tk.run(ctx, func() { order <- name })
		// Wait until it is queued, so that the arrival order is known.
		for {
			h.mu.Lock()
			n := 0
			for _, q := range h.tenants {
				n += len(q.waiting)
			}
			h.mu.Unlock()
			if n == waiters {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	queue(a, "a1")
	queue(a, "a2")
	queue(a, "a3")
	queue(b, "b1")
	close(finish)
	var got []string
	for range waiters {
		got = append(got, <-order)
	}
	if want := []string{"a1", "b1", "a2", "a3"}; !slices.Equal(got, want) {
		t.Errorf("served %v, want %v", got, want)
	}
}

// TestPasswordHasher_QueueBound checks that a tenant may hold only so many
// admissions, that the refusal carries a retry hint, and that other tenants
// and later requests are not affected.
func TestPasswordHasher_QueueBound(t *testing.T) {
	h := newPasswordHasher()
	var held []*hashTicket
	for range h.perTenant {
		tk, err := h.admit("a")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, tk)
	}
	_, err := h.admit("a")
	var e *Error
	if !errors.As(err, &e) || e.Code != ETOOMANYREQUESTS || e.RetryAfter <= 0 {
		t.Fatalf("admission past the bound: %#v, want ETOOMANYREQUESTS with RetryAfter", err)
	}
	if tk, err := h.admit("b"); err != nil {
		t.Fatalf("another tenant refused: %v", err)
	} else {
		tk.close()
	}
	held[0].close()
	if tk, err := h.admit("a"); err != nil {
		t.Fatalf("refused after a request ended: %v", err)
	} else {
		tk.close()
	}
	for _, tk := range held[1:] {
		tk.close()
	}
	if len(h.tenants) != 0 {
		t.Errorf("tenants left after every request ended: %d", len(h.tenants))
	}
}

// TestPasswordHasher_CancelWhileWaiting checks that a hash whose context
// ends while it waits leaves the queue and does not run, and that the slot
// still goes to the next waiter.
func TestPasswordHasher_CancelWhileWaiting(t *testing.T) {
	h := newPasswordHasher()
	h.slots, h.idle = 1, 1
	tk, err := h.admit("a")
	if err != nil {
		t.Fatal(err)
	}
	defer tk.close()
	running, finish := make(chan struct{}), make(chan struct{})
	go tk.run(context.Background(), func() { close(running); <-finish })
	<-running
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := tk.run(ctx, func() { t.Error("a cancelled hash ran") }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("run after the deadline: %v", err)
	}
	close(finish)
	ran := false
	if err := tk.run(context.Background(), func() { ran = true }); err != nil || !ran {
		t.Errorf("next hash: ran %v, err %v", ran, err)
	}
}

// TestVerifyUserPassword_StoredBcryptAboveImportCap checks that a bcrypt
// digest imported before the import cap was lowered to 12 still verifies,
// while a new import at that cost is refused.
func TestVerifyUserPassword_StoredBcryptAboveImportCap(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	costly, err := bcrypt.GenerateFromPassword([]byte("password"), 13)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(ctx, DefaultTenant, UserCreate{PasswordDigest: ptr(string(costly)), PasswordAlgorithm: ptr("Bcrypt")}); ErrorCode(err) != EINVALID {
		t.Fatalf("import of a cost-13 digest: %v, want EINVALID", err)
	}
	u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{PasswordDigest: ptr(refSHA256), PasswordAlgorithm: ptr("SHA256")})
	if err != nil {
		t.Fatal(err)
	}
	// As an earlier version stored it.
	if err := db.Update(ctx, DefaultTenant, func(tx *Tx) error {
		r, err := findUserRecord(tx, u.ID)
		if err != nil {
			return err
		}
		r.PasswordHash = string(costly)
		users, err := tx.bucket(bucketUsers)
		if err != nil {
			return err
		}
		return putJSON(users, itob(r.Seq), r)
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.VerifyUserPassword(ctx, DefaultTenant, u.ID, "wrong"); ErrorCode(err) != EUNPROCESSABLE {
		t.Fatalf("wrong password: %v", err)
	}
	if err := db.VerifyUserPassword(ctx, DefaultTenant, u.ID, "password"); err != nil {
		t.Fatalf("right password against a stored cost-13 digest: %v", err)
	}
}

package store

import (
	"context"
	"strings"
	"testing"

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
	h := newPasswordHasher()
	native, err := h.hash("password")
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
				if got, err := h.verify(stored, c.password); err != nil || got != c.want {
					t.Errorf("verify(%q) = %v, %v; want %v", c.password, got, err, c.want)
				}
			}
			if got, want := needsRehash(stored), tt.algorithm != "Argon2id"; got != want {
				t.Errorf("needsRehash = %v, want %v", got, want)
			}
		})
	}
	if _, err := h.verify("garbage", "password"); err == nil {
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
	h := newPasswordHasher()
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
			if _, err := h.verify(stored, "fuzz"); err != nil {
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

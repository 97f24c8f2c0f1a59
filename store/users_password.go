package store

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// Bounds on the parameters of a stored hash. Imported digests choose their
// own parameters, and every verification pays them while holding a hasher
// slot, so they are capped: at the bounds one Argon2 verification takes about
// 2.6 s and 256 MiB (2 cores, 2025). bcrypt is capped lower at import
// (maxImportBcryptCost, about 0.25 s a verification) than in a stored hash
// (maxBcryptCost, about 2 s), so that users imported before the lower cap
// still sign in.
const (
	maxArgonMemoryKiB   = 256 * 1024
	maxArgonTime        = 10
	maxArgonThreads     = 16
	minArgonSaltLen     = 8 // the Argon2 specification's minimum
	maxArgonSaltLen     = 64
	minArgonKeyLen      = 16
	maxArgonKeyLen      = 128
	maxBcryptCost       = 15
	maxImportBcryptCost = 12
)

// Stored hash kinds. Argon2 hashes are PHC strings and bcrypt hashes modular
// crypt strings, both of which name their kind ("$argon2id$...", "$2b$...");
// unsalted legacy digests are stored as "<kind>$<lowercase hex>".
const (
	hashArgon2id = "argon2id"
	hashArgon2i  = "argon2i"
	hashArgon2d  = "argon2d" // recognised only to be refused
	hashBcrypt   = "bcrypt"
	hashSHA256   = "sha256"
	hashSHA1     = "sha1"
	hashMD5      = "md5"
)

// digestAlgorithms maps Logto's passwordAlgorithm values to hash kinds.
// Logto's Legacy (a JSON recipe run at sign-in) has no kind: it is refused.
var digestAlgorithms = map[string]string{
	"Argon2i": hashArgon2i, "Argon2id": hashArgon2id, "Argon2d": hashArgon2d,
	"Bcrypt": hashBcrypt, "SHA256": hashSHA256, "SHA1": hashSHA1, "MD5": hashMD5,
}

// plainDigests are the unsalted legacy digests, computed by the standard library.
var plainDigests = map[string]func([]byte) []byte{
	hashSHA256: func(p []byte) []byte { s := sha256.Sum256(p); return s[:] },
	hashSHA1:   func(p []byte) []byte { s := sha1.Sum(p); return s[:] },
	hashMD5:    func(p []byte) []byte { s := md5.Sum(p); return s[:] },
}

var plainDigestSizes = map[string]int{hashSHA256: sha256.Size, hashSHA1: sha1.Size, hashMD5: md5.Size}

// bcrypt's own base64 alphabet, without padding.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

var bcryptEncoding = base64.NewEncoding(bcryptAlphabet).WithPadding(base64.NoPadding)

// passwordHash is a parsed stored hash.
type passwordHash struct {
	kind    string
	memory  uint32 // Argon2 only
	time    uint32
	threads uint8
	salt    []byte // Argon2 only
	key     []byte // Argon2: the derived key; plain digests: the digest
	mcf     []byte // bcrypt: the whole modular crypt string
}

// parsePasswordHash parses a stored hash. It is the only parser, used both to
// validate an imported digest and to verify a password, so nothing that it
// refuses can be stored. Its errors say what is wrong, for a client.
func parsePasswordHash(s string) (passwordHash, error) {
	switch {
	case strings.HasPrefix(s, "$argon2"):
		return parseArgon2(s)
	case strings.HasPrefix(s, "$2"):
		return parseBcrypt(s, maxBcryptCost)
	}
	kind, digest, ok := strings.Cut(s, "$")
	size, known := plainDigestSizes[kind]
	if !ok || !known {
		return passwordHash{}, errors.New("is not an Argon2 PHC string, a bcrypt hash or a hex digest")
	}
	if len(digest) != 2*size || strings.ToLower(digest) != digest {
		return passwordHash{}, fmt.Errorf("must be %d hexadecimal digits", 2*size)
	}
	key, err := hex.DecodeString(digest)
	if err != nil {
		return passwordHash{}, fmt.Errorf("must be %d hexadecimal digits", 2*size)
	}
	return passwordHash{kind: kind, key: key}, nil
}

// parseArgon2 parses a PHC string: $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>,
// with salt and key in unpadded standard base64.
func parseArgon2(s string) (passwordHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) == 5 && strings.HasPrefix(parts[2], "m=") {
		return passwordHash{}, errors.New("Argon2 version 16 (a PHC string without v=) is not supported; only v=19")
	}
	if len(parts) != 6 {
		return passwordHash{}, errors.New("must be a PHC string: $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>")
	}
	h := passwordHash{kind: parts[1]}
	switch h.kind {
	case hashArgon2id, hashArgon2i:
	case hashArgon2d:
		return passwordHash{}, errors.New("Argon2d is not supported by idbolt (golang.org/x/crypto implements Argon2i and Argon2id only)")
	default:
		return passwordHash{}, fmt.Errorf("unknown Argon2 variant %.32q", parts[1])
	}
	if parts[2] != "v=19" {
		return passwordHash{}, errors.New("only Argon2 version 19 (v=19) is supported")
	}
	m, t, p, ok := parseArgonParams(parts[3])
	if !ok {
		return passwordHash{}, fmt.Errorf("parameters must be m=<KiB>,t=<passes>,p=<lanes> with 1 <= t <= %d, 1 <= p <= %d and 8*p <= m <= %d",
			maxArgonTime, maxArgonThreads, maxArgonMemoryKiB)
	}
	h.memory, h.time, h.threads = m, t, p
	var ok1, ok2 bool
	if h.salt, ok1 = decodeBase64(base64.RawStdEncoding, parts[4]); !ok1 || len(h.salt) < minArgonSaltLen || len(h.salt) > maxArgonSaltLen {
		return passwordHash{}, fmt.Errorf("salt must be %d to %d bytes in unpadded base64", minArgonSaltLen, maxArgonSaltLen)
	}
	if h.key, ok2 = decodeBase64(base64.RawStdEncoding, parts[5]); !ok2 || len(h.key) < minArgonKeyLen || len(h.key) > maxArgonKeyLen {
		return passwordHash{}, fmt.Errorf("hash must be %d to %d bytes in unpadded base64", minArgonKeyLen, maxArgonKeyLen)
	}
	return h, nil
}

// decodeBase64 decodes s only if it is the canonical encoding of its bytes:
// encoding/base64 skips \r and \n and may ignore trailing bits, so a
// decode alone would let two strings stand for one hash.
func decodeBase64(enc *base64.Encoding, s string) ([]byte, bool) {
	b, err := enc.DecodeString(s)
	return b, err == nil && enc.EncodeToString(b) == s
}

// parseArgonParams parses "m=..,t=..,p=.." in that order (the PHC order),
// within the bounds above. Argon2 needs 8 KiB per lane at least.
func parseArgonParams(s string) (m, t uint32, p uint8, ok bool) {
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return 0, 0, 0, false
	}
	mv, ok1 := decimalParam(fields[0], "m=", maxArgonMemoryKiB)
	tv, ok2 := decimalParam(fields[1], "t=", maxArgonTime)
	pv, ok3 := decimalParam(fields[2], "p=", maxArgonThreads)
	if !ok1 || !ok2 || !ok3 || tv < 1 || pv < 1 || mv < 8*pv {
		return 0, 0, 0, false
	}
	return uint32(mv), uint32(tv), uint8(pv), true
}

// decimalParam parses name followed by a decimal without sign or leading
// zeros, at most limit.
func decimalParam(s, name string, limit uint64) (uint64, bool) {
	digits, ok := strings.CutPrefix(s, name)
	if !ok || digits == "" || len(digits) > 10 || (len(digits) > 1 && digits[0] == '0') || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	v, err := strconv.ParseUint(digits, 10, 64)
	return v, err == nil && v <= limit
}

// parseBcrypt checks a bcrypt hash: $2a$, $2b$ or $2y$, a two-digit cost of
// at most maxCost, then 22 characters of salt and 31 of hash in bcrypt's
// base64.
func parseBcrypt(s string, maxCost uint64) (passwordHash, error) {
	const form = "must be a bcrypt hash: $2a$, $2b$ or $2y$, a two-digit cost, then 53 characters of salt and hash"
	if len(s) != 60 || (s[:4] != "$2a$" && s[:4] != "$2b$" && s[:4] != "$2y$") || s[6] != '$' {
		return passwordHash{}, errors.New(form)
	}
	cost, ok := decimalParam(strings.TrimPrefix(s[4:6], "0"), "", maxCost)
	if !ok || cost < uint64(bcrypt.MinCost) {
		return passwordHash{}, fmt.Errorf("bcrypt cost must be %d to %d", bcrypt.MinCost, maxCost)
	}
	// The salt's last character carries 4 unused bits, which bcrypt
	// ignores; the hash's 2 must be zero, or no password could ever match.
	if strings.Trim(s[7:29], bcryptAlphabet) != "" {
		return passwordHash{}, errors.New(form)
	}
	if _, ok := decodeBase64(bcryptEncoding, s[29:]); !ok {
		return passwordHash{}, errors.New(form)
	}
	return passwordHash{kind: hashBcrypt, mcf: []byte(s)}, nil
}

// encode returns the stored form of h; for a string that parsePasswordHash
// accepted, it is that string again.
func (h passwordHash) encode() string {
	switch h.kind {
	case hashArgon2id, hashArgon2i:
		enc := base64.RawStdEncoding
		return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s", h.kind, argon2.Version,
			h.memory, h.time, h.threads, enc.EncodeToString(h.salt), enc.EncodeToString(h.key))
	case hashBcrypt:
		return string(h.mcf)
	}
	return h.kind + "$" + hex.EncodeToString(h.key)
}

// importPasswordDigest validates a digest imported with Logto's
// passwordAlgorithm and returns its stored form. Returns EINVALID naming
// passwordAlgorithm or passwordDigest.
func importPasswordDigest(algorithm, digest string) (string, error) {
	if err := checkPasswordAlgorithm(algorithm); err != nil {
		return "", err
	}
	kind := digestAlgorithms[algorithm]
	switch {
	case algorithm == "Legacy":
		return "", fieldError("passwordAlgorithm", "Legacy is not supported by idbolt; use Argon2i, Argon2id, Bcrypt, SHA256, SHA1 or MD5")
	case kind == hashArgon2d:
		return "", fieldError("passwordAlgorithm", "Argon2d is not supported by idbolt (golang.org/x/crypto implements Argon2i and Argon2id only)")
	}
	stored := digest
	if _, plain := plainDigests[kind]; plain {
		stored = kind + "$" + strings.ToLower(digest)
	}
	parse := parsePasswordHash
	if strings.HasPrefix(stored, "$2") {
		parse = func(s string) (passwordHash, error) { return parseBcrypt(s, maxImportBcryptCost) }
	}
	h, err := parse(stored)
	if err != nil {
		return "", fieldError("passwordDigest", "%s", err)
	} else if h.kind != kind {
		return "", fieldError("passwordDigest", "is a %s hash, but passwordAlgorithm is %s", h.kind, algorithm)
	}
	return stored, nil
}

// checkPasswordAlgorithm returns EINVALID unless v is one of Logto's
// passwordAlgorithm values (supported or not).
func checkPasswordAlgorithm(v string) error {
	if _, ok := digestAlgorithms[v]; ok || v == "Legacy" {
		return nil
	}
	return fieldError("passwordAlgorithm", "must be one of Argon2i, Argon2id, Argon2d, Bcrypt, SHA256, SHA1, MD5, Legacy")
}

// Password hasher scheduling. Slow hashes run at most one per core; each
// tenant may have at most max(minHashRequestsPerTenant, hashRequestsPerCore
// x cores) requests admitted (waiting for a core or hashing) at once, and a
// refused one is told to retry after hashRetryAfter.
const (
	minHashRequestsPerTenant = 8
	hashRequestsPerCore      = 4
	hashRetryAfter           = time.Second
)

// passwordHasher runs slow hashes (Argon2, bcrypt) fairly between tenants.
// Each takes a core for tens to hundreds of milliseconds, and Argon2 19 MiB
// or more, so at most one runs per core and the rest wait. Waiting hashes
// queue per tenant, first come first served within a tenant, and a freed core
// goes to the tenants in turn, so a tenant that floods the hasher delays
// another tenant's hash by at most one hash per tenant ahead of it. Each
// tenant's queue is bounded, so a flood is refused rather than held in memory.
type passwordHasher struct {
	slots     int // hashes that may run at once
	perTenant int // requests of one tenant admitted at once

	mu      sync.Mutex
	idle    int                   // free slots; never > 0 while a hash waits
	tenants map[string]*hashQueue // tenants with admitted requests
	turns   []*hashQueue          // tenants with waiting hashes, in serving order
}

// hashQueue is one tenant's admitted requests and waiting hashes.
type hashQueue struct {
	tenant   string
	admitted int
	waiting  []chan struct{} // closed to hand the waiter a slot
}

func newPasswordHasher() *passwordHasher {
	slots := runtime.GOMAXPROCS(0)
	return &passwordHasher{slots: slots, perTenant: max(minHashRequestsPerTenant, hashRequestsPerCore*slots),
		idle: slots, tenants: make(map[string]*hashQueue)}
}

// hashTicket is one request's admission to the hasher: the request may run
// any number of hashes with it, one after another or (a batch import) in
// parallel, and must close it when done.
type hashTicket struct {
	h *passwordHasher
	q *hashQueue
}

// admit admits one request of tenant. Returns ETOOMANYREQUESTS, with a retry
// hint, when tenant already has as many requests admitted as it may.
func (h *passwordHasher) admit(tenant string) (*hashTicket, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	q := h.tenants[tenant]
	if q == nil {
		q = &hashQueue{tenant: tenant}
		h.tenants[tenant] = q
	}
	if q.admitted >= h.perTenant {
		return nil, &Error{Code: ETOOMANYREQUESTS, Detail: "request.too_many_requests", RetryAfter: hashRetryAfter,
			Message: "Too many password checks of this tenant are under way. Please try again later."}
	}
	q.admitted++
	return &hashTicket{h: h, q: q}, nil
}

// close ends the request's admission. It must not be called while a hash of
// the ticket runs or waits.
func (t *hashTicket) close() {
	h := t.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if t.q.admitted--; t.q.admitted == 0 {
		delete(h.tenants, t.q.tenant)
	}
}

// run waits for the ticket's turn and a free slot, then runs f. Returns
// ctx's error, without running f, if ctx ends first.
func (t *hashTicket) run(ctx context.Context, f func()) error {
	if err := t.h.acquire(ctx, t.q); err != nil {
		return err
	}
	defer t.h.release()
	f()
	return nil
}

// acquire takes a free slot, or queues for one in q and waits.
func (h *passwordHasher) acquire(ctx context.Context, q *hashQueue) error {
	h.mu.Lock()
	if h.idle > 0 {
		h.idle--
		h.mu.Unlock()
		return nil
	}
	granted := make(chan struct{})
	q.waiting = append(q.waiting, granted)
	if len(q.waiting) == 1 {
		h.turns = append(h.turns, q)
	}
	h.mu.Unlock()
	select {
	case <-granted:
		return nil
	case <-ctx.Done():
	}
	h.mu.Lock()
	if i := slices.Index(q.waiting, granted); i >= 0 {
		q.waiting = slices.Delete(q.waiting, i, i+1)
		if len(q.waiting) == 0 {
			h.turns = slices.DeleteFunc(h.turns, func(o *hashQueue) bool { return o == q })
		}
		h.mu.Unlock()
		return ctx.Err()
	}
	h.mu.Unlock()
	h.release() // the slot was handed over as ctx ended: pass it on
	return ctx.Err()
}

// release hands the slot to the oldest waiting hash of the tenant whose turn
// it is, and puts that tenant at the back of the turns if it has more.
func (h *passwordHasher) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.turns) == 0 {
		h.idle++
		return
	}
	q := h.turns[0]
	h.turns = h.turns[1:]
	granted := q.waiting[0]
	q.waiting = q.waiting[1:]
	if len(q.waiting) > 0 {
		h.turns = append(h.turns, q)
	}
	close(granted)
}

// hash returns a PHC-format Argon2id hash of password. Returns ctx's error
// if ctx ends while the hash waits.
func (t *hashTicket) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	var key []byte
	if err := t.run(ctx, func() {
		key = argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	}); err != nil {
		return "", err
	}
	return passwordHash{kind: hashArgon2id, memory: argonMemoryKiB, time: argonTime, threads: argonThreads,
		salt: salt, key: key}.encode(), nil
}

// hash admits one request of tenant and hashes password with it. Returns
// ETOOMANYREQUESTS (see admit) or ctx's error.
func (h *passwordHasher) hash(ctx context.Context, tenant, password string) (string, error) {
	t, err := h.admit(tenant)
	if err != nil {
		return "", err
	}
	defer t.close()
	return t.hash(ctx, password)
}

// verify reports whether password matches the stored hash encoded, of any
// kind parsePasswordHash accepts. The parameters come from the hash, so hashes
// made with older settings still verify. Every comparison is constant-time.
// Returns ctx's error if ctx ends while the hash waits.
func (t *hashTicket) verify(ctx context.Context, encoded, password string) (bool, error) {
	ph, err := parsePasswordHash(encoded)
	if err != nil {
		return false, fmt.Errorf("password hash: %v", err)
	}
	pw := []byte(password)
	switch ph.kind {
	case hashArgon2id, hashArgon2i:
		derive := argon2.IDKey
		if ph.kind == hashArgon2i {
			derive = argon2.Key
		}
		var got []byte
		if err := t.run(ctx, func() { got = derive(pw, ph.salt, ph.time, ph.memory, ph.threads, uint32(len(ph.key))) }); err != nil {
			return false, err
		}
		return subtle.ConstantTimeCompare(got, ph.key) == 1, nil
	case hashBcrypt:
		if runErr := t.run(ctx, func() { err = bcrypt.CompareHashAndPassword(ph.mcf, pw) }); runErr != nil {
			return false, runErr
		}
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, nil
		}
		return err == nil, err
	}
	return subtle.ConstantTimeCompare(plainDigests[ph.kind](pw), ph.key) == 1, nil
}

// needsRehash reports whether a stored hash should be replaced by our own
// Argon2id once the password is known, as Logto does at sign-in.
func needsRehash(encoded string) bool {
	return !strings.HasPrefix(encoded, "$"+hashArgon2id+"$")
}

// SetUserPassword hashes password and stores it for user id. Returns ENOTFOUND
// or EINVALID.
func (db *DB) SetUserPassword(ctx context.Context, tenant, id, password string) (*User, error) {
	if err := ValidatePassword("password", password); err != nil {
		return nil, err
	}
	// Fail fast on an unknown user before spending a hash on it.
	if _, err := db.FindUserByID(ctx, tenant, id); err != nil {
		return nil, err
	}
	hash, err := db.hasher.hash(ctx, tenant, password)
	if err != nil {
		return nil, err
	}
	var out *User
	err = db.Update(ctx, tenant, func(tx *Tx) error {
		old, err := findEditableUser(tx, id)
		if err != nil {
			return err
		}
		r := *old
		r.PasswordHash = hash
		r.UpdatedAt = msec(tx.now)
		if err := putUser(tx, &r); err != nil {
			return err
		}
		// A new password is a fresh one: it counts from now and is no
		// longer marked expired, as Logto's passwordUpdatedAt and
		// isPasswordExpired.
		if err := putPasswordState(tx, r.ID, passwordStateRecord{UpdatedAt: r.UpdatedAt}); err != nil {
			return err
		}
		out = r.toUser()
		return tx.audit("Management.User.UpdatePassword", AuditPayload{UserID: r.ID})
	})
	return out, err
}

// VerifyUserPassword checks password against user id's stored hash, of any
// kind (native Argon2id or an imported digest). Returns EINVALID
// (guard.invalid_input) for an empty password, as Logto's guard does before
// it looks the user up; ENOTFOUND; or EUNPROCESSABLE (Logto's
// session.invalid_credentials) when it does not match or the user has no
// password.
//
// As Logto does, a matching imported digest of another kind is then replaced
// by our Argon2id hash of the same password. That re-encodes the credential
// without changing it, so updatedAt is left alone.
//
// When the tenant's password expiration policy is on (PATCH
// /api/sign-in-exp) and the user's password has expired, a matching
// password is EUNPROCESSABLE password.expired, the answer Logto's sign-in
// gives it: idbolt has no sign-in flow, so this route is where the policy
// acts. A wrong password is answered as always, so expiry is told only to
// whoever knows the password.
//
// A check of an existing user's password, matching or not, is audited as
// Logto audits a password sign-in (Interaction.SignIn.Identifier.Password.
// Submit), naming the user: in a deployment whose sign-in calls this route,
// that is what counts the user active (CountActiveUsers). It is queued like
// a token request's entry, so the check waits for no disk write.
func (db *DB) VerifyUserPassword(ctx context.Context, tenant, id, password string) error {
	return db.checkUserPassword(ctx, tenant, id, password, true)
}

// checkUserPassword is VerifyUserPassword; without expiry, an expired
// password that matches passes (the console's sign-in, which has no way to
// set a new one).
func (db *DB) checkUserPassword(ctx context.Context, tenant, id, password string, expiry bool) error {
	if password == "" {
		return fieldError("password", "must not be empty")
	}
	err := db.verifyUserPassword(ctx, tenant, id, password, expiry)
	var e *Error
	if err == nil || errors.As(err, &e) && e.Code == EUNPROCESSABLE {
		actor := actorFromContext(ctx)
		p := AuditPayload{Key: passwordVerifyKey, Result: "Success", UserID: id,
			ApplicationID: actor.ApplicationID, IP: actor.IP, UserAgent: actor.UserAgent, ActorUserID: actor.UserID}
		if err != nil {
			p.Result = "Error"
			p.Error = map[string]string{"code": e.Detail, "message": e.Message}
		}
		db.AuditAsync(tenant, p)
	}
	return err
}

// verifyUserPassword is checkUserPassword without the audit entry.
func (db *DB) verifyUserPassword(ctx context.Context, tenant, id, password string, expiry bool) error {
	var hash string
	var expired bool
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findUserRecord(tx, id)
		if err != nil {
			return err
		}
		hash = r.PasswordHash
		if expiry && hash != "" {
			expired, err = passwordExpired(tx, r)
		}
		return err
	})
	if err != nil {
		return err
	}
	mismatch := detailErrorf(EUNPROCESSABLE, "session.invalid_credentials", "Wrong password.")
	if hash == "" {
		return mismatch
	}
	// One admission covers the check and the rehash, so that a right
	// password is never refused half way.
	ticket, err := db.hasher.admit(tenant)
	if err != nil {
		return err
	}
	defer ticket.close()
	ok, err := ticket.verify(ctx, hash, password)
	if err != nil {
		return err
	} else if !ok {
		return mismatch
	}
	if needsRehash(hash) {
		if err := db.rehashPassword(ctx, ticket, tenant, id, hash, password); err != nil {
			return err
		}
	}
	if expired {
		return detailErrorf(EUNPROCESSABLE, "password.expired", "The password has expired. Set a new one.")
	}
	return nil
}

// rehashPassword replaces user id's stored hash old by an Argon2id hash of
// password, unless the hash changed (or the user went) meanwhile.
func (db *DB) rehashPassword(ctx context.Context, ticket *hashTicket, tenant, id, old, password string) error {
	hash, err := ticket.hash(ctx, password)
	if err != nil {
		return err
	}
	return db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findUserRecord(tx, id)
		if ErrorCode(err) == ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		if r.PasswordHash != old {
			return nil
		}
		r.PasswordHash = hash
		users, err := tx.bucket(bucketUsers)
		if err != nil {
			return err
		}
		return putUserRecord(users, r)
	})
}

// passwordDigest returns the stored password as Logto's passwordDigest and
// passwordAlgorithm (the form POST /api/users imports), or two nils when
// the user has no password: Argon2 PHC strings and bcrypt hashes as they
// are, plain digests as their hex.
func (r *userRecord) passwordDigest() (digest, algorithm *string) {
	if r.PasswordHash == "" {
		return nil, nil
	}
	h, err := parsePasswordHash(r.PasswordHash)
	if err != nil {
		// Only parsed hashes are ever stored (parsePasswordHash is the
		// one parser); give it as it is rather than fail a listing.
		return &r.PasswordHash, nil
	}
	d := r.PasswordHash
	if _, plain := plainDigests[h.kind]; plain {
		d = hex.EncodeToString(h.key)
	}
	for name, kind := range digestAlgorithms {
		if kind == h.kind {
			return &d, &name
		}
	}
	return &d, nil
}

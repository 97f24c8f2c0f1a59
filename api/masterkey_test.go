package api_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"go.etcd.io/bbolt"

	"github.com/idbolt/idbolt/api/apitest"
)

// keyHunter looks through bytes the way someone holding a copy of the data
// file would, for anything that parses as a private key: DER (PKCS#8,
// PKCS#1, SEC 1), PEM blocks, and JSON Web Keys with their private part,
// also inside JSON strings and base64.
type keyHunter struct {
	found []jose.JSONWebKey // each key once
	pem   int               // PEM blocks of private keys, whether or not they parse
	seen  map[string]bool   // public key thumbprints
}

func (h *keyHunter) add(k jose.JSONWebKey) {
	pub := k.Public()
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil || h.seen[string(thumb)] {
		return
	}
	if h.seen == nil {
		h.seen = map[string]bool{}
	}
	h.seen[string(thumb)] = true
	h.found = append(h.found, k)
}

var (
	quotedRE = regexp.MustCompile(`"((?:[^"\\]|\\.){16,})"`)
	base64RE = regexp.MustCompile(`[A-Za-z0-9+/_-]{40,}={0,2}`)
	objectRE = regexp.MustCompile(`\{[^{}]{16,}\}`)
)

func (h *keyHunter) value(v []byte, depth int) {
	if depth > 4 || len(v) < 16 {
		return
	}
	h.der(v)
	for rest := v; ; {
		i := bytes.Index(rest, []byte("-----BEGIN"))
		if i < 0 {
			break
		}
		block, next := pem.Decode(rest[i:])
		if block == nil {
			if bytes.Contains(rest[i:min(len(rest), i+40)], []byte("PRIVATE KEY")) {
				h.pem++
			}
			rest = rest[i+10:]
			continue
		}
		if strings.Contains(block.Type, "PRIVATE KEY") {
			h.pem++
		}
		h.der(block.Bytes)
		rest = next
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(v); err == nil && !jwk.IsPublic() && jwk.Valid() {
		h.add(jwk)
		return
	}
	var doc any
	if json.Unmarshal(v, &doc) == nil {
		h.json(doc, depth)
		return
	}
	// Not JSON: a raw page or a binary value. Look at what JSON, strings
	// and base64 it embeds.
	for _, m := range objectRE.FindAll(v, -1) {
		h.value(m, depth+1)
	}
	for _, m := range quotedRE.FindAllSubmatch(v, -1) {
		var s string
		if json.Unmarshal(m[0], &s) == nil {
			h.text(s, depth)
		}
	}
	for _, m := range base64RE.FindAll(v, -1) {
		h.text(string(m), depth)
	}
}

func (h *keyHunter) json(doc any, depth int) {
	switch d := doc.(type) {
	case map[string]any:
		if data, err := json.Marshal(d); err == nil {
			var jwk jose.JSONWebKey
			if jwk.UnmarshalJSON(data) == nil && !jwk.IsPublic() && jwk.Valid() {
				h.add(jwk)
			}
		}
		for _, v := range d {
			h.json(v, depth)
		}
	case []any:
		for _, v := range d {
			h.json(v, depth)
		}
	case string:
		h.text(d, depth)
	}
}

func (h *keyHunter) text(s string, depth int) {
	h.value([]byte(s), depth+1)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if data, err := enc.DecodeString(s); err == nil {
			h.value(data, depth+1)
		}
	}
}

func (h *keyHunter) der(v []byte) {
	if k, err := x509.ParsePKCS8PrivateKey(v); err == nil {
		h.add(jose.JSONWebKey{Key: k})
	}
	if k, err := x509.ParsePKCS1PrivateKey(v); err == nil {
		h.add(jose.JSONWebKey{Key: k})
	}
	if k, err := x509.ParseECPrivateKey(v); err == nil {
		h.add(jose.JSONWebKey{Key: k})
	}
}

// huntFile returns the private keys found in the file at path: in every
// value of every bucket, and in its raw bytes (free pages included, since a
// backup copies them).
func huntFile(t *testing.T, path string) keyHunter {
	t.Helper()
	var h keyHunter
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h.value(raw, 0)
	db, err := bbolt.Open(path, 0o400, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	values := 0
	var walk func(b *bbolt.Bucket)
	walk = func(b *bbolt.Bucket) {
		b.ForEach(func(k, v []byte) error {
			if v == nil {
				walk(b.Bucket(k))
				return nil
			}
			values++
			h.value(v, 0)
			return nil
		})
	}
	db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bbolt.Bucket) error { walk(b); return nil })
	})
	if values < 50 {
		t.Fatalf("%s: only %d values: wrong file?", path, values)
	}
	return h
}

// downloadBackup saves GET /system/backup to a file.
func downloadBackup(t *testing.T, e *env) string {
	t.Helper()
	req, _ := http.NewRequest("GET", e.URL+"/system/backup", nil)
	req.Header.Set("Authorization", "Bearer "+e.SystemToken(t))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("backup: %d %s", resp.StatusCode, body)
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	checkResponse(t, req, resp.StatusCode, resp.Header, data)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// forge signs claims with key as the server would, under kid.
func forge(t *testing.T, key jose.JSONWebKey, kid string, claims map[string]any) string {
	t.Helper()
	alg := jose.SignatureAlgorithm(key.Algorithm)
	if alg == "" {
		alg = jose.ES256
	}
	key.KeyID = kid
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatalf("signer: %v", err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// tryToMint plays the attacker of the issue: with the keys found in a
// backup, it signs a copy of a real system token's claims and calls the
// system API. It fails the test for every key found, and for every forged
// token the server accepts.
func tryToMint(t *testing.T, e *env, what string, h keyHunter) {
	t.Helper()
	if h.pem > 0 {
		t.Errorf("%s holds %d PEM private key blocks", what, h.pem)
	}
	real := e.SystemToken(t)
	claims := tokenClaims(t, real)
	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(real, ".")[0])
	var hdr struct {
		Kid string `json:"kid"`
	}
	json.Unmarshal(header, &hdr)
	for _, key := range h.found {
		t.Errorf("%s holds a private key (%T, kid %q)", what, key.Key, key.KeyID)
		kid := key.KeyID
		if kid == "" {
			kid = hdr.Kid
		}
		if r := call(t, "GET", e.URL+"/system/tenants", forge(t, key, kid, claims), nil); r.Status != http.StatusUnauthorized {
			t.Errorf("a system token minted with a key from %s was accepted: %d", what, r.Status)
		}
	}
}

// TestMasterKey_BackupCannotMintTokens is the attack of the issue: no value
// of the data file or of a backup, nor any byte of their free pages, parses
// as a private key, so a backup alone cannot mint a token the server takes.
func TestMasterKey_BackupCannotMintTokens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	e := newEnv(t, apitest.Options{Path: path})
	createTenant(t, e, "acme")
	for _, alg := range []string{"RSA", "EC"} {
		// Rotating twice in a row drops the first key's live tokens, which
		// needs the confirmation.
		e.do(t, "POST", "/api/configs/oidc/private-keys/rotate", map[string]any{"signingKeyAlgorithm": alg, "dropPreviousKey": true}, http.StatusOK, nil)
	}
	e.SystemToken(t) // signed by the newest key, after the rotations

	backup := downloadBackup(t, e)
	tryToMint(t, e, "the backup", huntFile(t, backup))

	// The live file, read once the server has stopped (bbolt locks it).
	if err := e.DB.CheckIntegrity(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.Close()
	h := huntFile(t, path)
	if len(h.found) > 0 || h.pem > 0 {
		t.Errorf("the data file holds %d private keys and %d PEM private key blocks", len(h.found), h.pem)
	}
}

// TestMasterKey_HunterFindsClearKeys proves the hunt above can succeed: a
// file holding a clear JWK, the way signing keys were stored before, is
// caught, and the forged token would have been tried.
func TestMasterKey_HunterFindsClearKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clear.db")
	fixture, err := os.ReadFile(filepath.Join("..", "testdata", "upgrade", "main-0959aa9.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fixture, 0o600); err != nil {
		t.Fatal(err)
	}
	if h := huntFile(t, path); len(h.found) < 2 {
		t.Fatalf("found %d keys in a file with clear signing keys of two tenants", len(h.found))
	}
}

// Credentials of testdata/upgrade/main-0959aa9.db (see its README).
const (
	fixtureAdminID     = "admin"
	fixtureAdminSecret = "fixture-secret-0123456789abcdefghijklmnop"
	fixtureAcmeID      = "0jad7mjgod5d0qun0rkvk"
	fixtureAcmeSecret  = "IJNpoH-MkN-nR5BKsivOJNwC-R4enM5QNSb_ZAvZYSM"
)

// TestMasterKey_UpgradesFileOfOlderVersion starts on a copy of a file that
// main wrote before keys were encrypted: its clear keys are sealed on first
// start under a new key file beside it, with the same key ids, so tokens
// they signed still verify, the admins' secrets still work, and neither the
// file nor a backup holds a private key or the clear secret-hash key any more.
func TestMasterKey_UpgradesFileOfOlderVersion(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "idbolt.db")
	fixture, err := os.ReadFile(filepath.Join("..", "testdata", "upgrade", "main-0959aa9.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fixture, 0o600); err != nil {
		t.Fatal(err)
	}
	old := huntFile(t, path) // the keys that signed tokens before the upgrade
	if len(old.found) < 2 {
		t.Fatalf("the fixture holds %d clear keys, want one per tenant", len(old.found))
	}
	var pepper []byte
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *bbolt.Tx) error {
		pepper = bytes.Clone(tx.Bucket([]byte("meta")).Get([]byte("secret_hash_key")))
		return nil
	})
	db.Close()
	if len(pepper) != 32 {
		t.Fatalf("fixture pepper: %d bytes", len(pepper))
	}

	start := func() *env {
		srv := apitest.Start(t, apitest.Options{Path: path})
		srv.ClientID, srv.ClientSecret = fixtureAdminID, fixtureAdminSecret // an existing file keeps its admin
		return &env{Server: srv, token: srv.ManagementToken(t, "default")}
	}
	e := start()
	fi, err := os.Stat(path + ".key")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key file beside the data file: %v %v", fi, err)
	}
	// A token signed before the upgrade (by the old clear key, under its
	// kid) still verifies: the sealed keys are the same keys.
	real := e.SystemToken(t)
	if r := call(t, "GET", e.URL+"/system/tenants", real, nil); r.Status != http.StatusOK {
		t.Fatalf("system token after the upgrade: %d %s", r.Status, r.Body)
	}
	accepted := 0
	for _, k := range old.found {
		if r := call(t, "GET", e.URL+"/system/tenants", forge(t, k, k.KeyID, tokenClaims(t, real)), nil); r.Status == http.StatusOK {
			accepted++
		}
	}
	if accepted != 1 {
		t.Errorf("%d of the pre-upgrade keys sign system tokens the server accepts, want the default tenant's one", accepted)
	}
	apitest.Token(t, e.URL, "acme", fixtureAcmeID, fixtureAcmeSecret, "https://acme.logto.app/api", "all")

	tryToMint(t, e, "a backup of the upgraded file", huntFile(t, downloadBackup(t, e)))
	if err := e.DB.CheckIntegrity(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.Close()
	if h := huntFile(t, path); len(h.found) > 0 {
		t.Errorf("the upgraded file still holds %d private keys (free pages?)", len(h.found))
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, pepper) {
		t.Error("the upgraded file still holds the clear secret-hash key")
	}

	// Later starts find nothing to upgrade and keep working.
	e = start()
	e.do(t, "GET", "/api/users/fs9f8p5fiew0", nil, http.StatusOK, nil)
}

// TestMasterKey_UpgradeRotatesExposedKeys: the signing keys of a file that
// main wrote before keys were encrypted are in every backup taken then. On
// upgrade each tenant gets a new key that signs; a token forged with an old
// key (read from the fixture, as from an old backup) verifies only until
// the longest token lifetime has passed, and is refused after; a restart
// rotates nothing more.
func TestMasterKey_UpgradeRotatesExposedKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	fixture, err := os.ReadFile(filepath.Join("..", "testdata", "upgrade", "main-0959aa9.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fixture, 0o600); err != nil {
		t.Fatal(err)
	}
	old := huntFile(t, path)
	clk := &clock{now: time.Now()}
	start := func() *env {
		srv := apitest.Start(t, apitest.Options{Path: path, Now: clk.Now})
		srv.ClientID, srv.ClientSecret = fixtureAdminID, fixtureAdminSecret
		return &env{Server: srv, token: srv.ManagementToken(t, "default")}
	}
	kidOf := func(token string) string {
		head, _, _ := strings.Cut(token, ".")
		raw, err := base64.RawURLEncoding.DecodeString(head)
		if err != nil {
			t.Fatal(err)
		}
		var h struct {
			Kid string `json:"kid"`
		}
		json.Unmarshal(raw, &h)
		return h.Kid
	}
	forgedAccepted := func(e *env, real string) (accepted int) {
		claims := tokenClaims(t, real)
		for _, k := range old.found {
			if r := call(t, "GET", e.URL+"/system/tenants", forge(t, k, k.KeyID, claims), nil); r.Status == http.StatusOK {
				accepted++
			}
		}
		return accepted
	}
	e := start()
	real := e.SystemToken(t)
	newKid := kidOf(real)
	for _, k := range old.found {
		if k.KeyID == newKid {
			t.Fatalf("after the upgrade tokens are still signed by the exposed key %s", newKid)
		}
	}
	acme := apitest.Token(t, e.URL, "acme", fixtureAcmeID, fixtureAcmeSecret, "https://acme.logto.app/api", "all")
	if kid := kidOf(acme); slices.ContainsFunc(old.found, func(k jose.JSONWebKey) bool { return k.KeyID == kid }) {
		t.Errorf("tenant acme still signs with its exposed key %s", kid)
	}
	// Tokens the old key signed before the upgrade still verify for a while.
	if n := forgedAccepted(e, real); n != 1 {
		t.Errorf("right after the upgrade %d exposed keys sign accepted system tokens, want the default tenant's one", n)
	}
	// Once the longest token lifetime (24 h) has passed, the old key is
	// retired: even a fresh token it signs is refused.
	clk.Add(24*time.Hour + time.Minute)
	real = e.SystemToken(t)
	if n := forgedAccepted(e, real); n != 0 {
		t.Errorf("%d exposed keys still sign accepted system tokens after 24 h", n)
	}
	e.Close()
	e = start()
	if kid := kidOf(e.SystemToken(t)); kid != newKid {
		t.Errorf("a restart rotated the key again: %s, was %s", kid, newKid)
	}
}

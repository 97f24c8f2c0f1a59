package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idbolt/idbolt/store"
)

// Signing algorithms a tenant key may use. Symmetric algorithms and "none"
// are never on this list, so no token can be verified with them.
var signingAlgs = map[string]jose.SignatureAlgorithm{
	"ES256": jose.ES256,
	"ES384": jose.ES384,
	"RS256": jose.RS256,
	"EdDSA": jose.EdDSA,
}

// ValidAlg reports whether alg can be used for tenant signing keys.
func ValidAlg(alg string) bool {
	_, ok := signingAlgs[alg]
	return ok
}

// GenerateKey returns a new signing key for alg, with the JWK SHA-256
// thumbprint (RFC 7638) as its key id.
func GenerateKey(alg string) (store.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return store.SigningKey{}, fmt.Errorf("unsupported signing algorithm %q", alg)
	}
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	pub := jose.JSONWebKey{Key: priv.Public(), Algorithm: alg, Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("key thumbprint: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(thumb)
	jwk := jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: alg, Use: "sig"}
	data, err := jwk.MarshalJSON()
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("encode key: %w", err)
	}
	return store.SigningKey{ID: kid, Alg: alg, Private: data}, nil
}

// keyset is a tenant's keys, parsed once and kept in memory.
type keyset struct {
	signer  *tokenSigner
	kid     string
	public  map[string]jose.JSONWebKey // by kid
	retire  map[string]time.Time       // rotated-out keys: when they stop verifying
	jwks    jose.JSONWebKeySet
	allowed []jose.SignatureAlgorithm
}

// live reports whether key kid may verify tokens at now.
func (ks *keyset) live(kid string, now time.Time) bool {
	t, retiring := ks.retire[kid]
	return !retiring || now.Before(t)
}

// liveAlgs returns the algorithms of the keys that verify at now, the one
// that signs first: a key rotated to another algorithm shows at once, and a
// retired key's algorithm goes with it.
func (ks *keyset) liveAlgs(now time.Time) []string {
	var algs []string
	for _, k := range ks.jwks.Keys {
		if ks.live(k.KeyID, now) && !slices.Contains(algs, k.Algorithm) {
			algs = append(algs, k.Algorithm)
		}
	}
	return algs
}

// publicSet returns the JWKS at now: the keys that still verify.
func (ks *keyset) publicSet(now time.Time) jose.JSONWebKeySet {
	if len(ks.retire) == 0 {
		return ks.jwks
	}
	var set jose.JSONWebKeySet
	for _, k := range ks.jwks.Keys {
		if ks.live(k.KeyID, now) {
			set.Keys = append(set.Keys, k)
		}
	}
	return set
}

// keysets caches parsed keysets per tenant. A tenant's entry is dropped when
// its keys change or it is deleted.
type keysets struct {
	mu   sync.RWMutex
	sets map[string]*keyset
}

func (a *Auth) keyset(ctx context.Context, tenant string) (*keyset, error) {
	a.keys.mu.RLock()
	ks := a.keys.sets[tenant]
	a.keys.mu.RUnlock()
	if ks != nil {
		return ks, nil
	}
	stored, err := a.store.SigningKeys(ctx, tenant)
	if err != nil {
		return nil, err
	}
	ks, err = parseKeyset(stored)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", tenant, err)
	}
	a.keys.mu.Lock()
	a.keys.sets[tenant] = ks
	a.keys.mu.Unlock()
	return ks, nil
}

// parseKeyset builds a keyset from stored keys, newest first.
func parseKeyset(stored []store.SigningKey) (*keyset, error) {
	if len(stored) == 0 {
		return nil, fmt.Errorf("no signing keys")
	}
	ks := &keyset{public: map[string]jose.JSONWebKey{}, retire: map[string]time.Time{}}
	seenAlg := map[jose.SignatureAlgorithm]bool{}
	for i, k := range stored {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(k.Private); err != nil {
			return nil, fmt.Errorf("decode key %s: %w", k.ID, err)
		}
		alg, ok := signingAlgs[jwk.Algorithm]
		if !ok || jwk.KeyID != k.ID {
			return nil, fmt.Errorf("key %s: unusable algorithm or id", k.ID)
		}
		pub := jwk.Public()
		ks.public[k.ID] = pub
		if k.RetireAt != 0 {
			ks.retire[k.ID] = time.UnixMilli(k.RetireAt)
		}
		ks.jwks.Keys = append(ks.jwks.Keys, pub)
		if !seenAlg[alg] {
			seenAlg[alg] = true
			ks.allowed = append(ks.allowed, alg)
		}
		if i == 0 {
			signer, err := newTokenSigner(alg, k.ID, jwk.Key)
			if err != nil {
				return nil, fmt.Errorf("signer for %s: %w", k.ID, err)
			}
			ks.signer, ks.kid = signer, k.ID
		}
	}
	return ks, nil
}

// ForgetTenant drops everything cached for tenant: call it after the tenant's
// keys change or the tenant is deleted.
func (a *Auth) ForgetTenant(tenant string) {
	a.keys.mu.Lock()
	delete(a.keys.sets, tenant)
	a.keys.mu.Unlock()
	a.verified.forgetTenant(tenant)
}

// ForgetAllTenants drops everything cached for every tenant: call it after
// the whole content of the store was replaced (a cluster snapshot).
func (a *Auth) ForgetAllTenants() {
	a.keys.mu.Lock()
	clear(a.keys.sets)
	a.keys.mu.Unlock()
	a.verified.forgetAll()
}

// RotateExposedKeys gives a new signing key to every tenant whose keys an
// older version kept in clear (store.ExposedSigningKeys), so that a backup
// taken then can no longer sign tokens: the exposed keys only verify the
// tokens they signed until the longest token lifetime has passed. Call it
// once at start, after the store is open. It returns how many tenants it
// rotated.
func (a *Auth) RotateExposedKeys(ctx context.Context) (int, error) {
	exposed, err := a.store.ExposedSigningKeys(ctx)
	if err != nil {
		return 0, err
	}
	for _, e := range exposed {
		key, err := GenerateKey(e.Alg)
		if err != nil {
			key, err = GenerateKey(a.alg) // an algorithm this version no longer makes
		}
		if err != nil {
			return 0, err
		}
		if err := a.store.RotateExposedSigningKey(ctx, e.Tenant, key); err != nil {
			return 0, fmt.Errorf("rotate the exposed signing key of tenant %s: %w", e.Tenant, err)
		}
		a.ForgetTenant(e.Tenant)
	}
	return len(exposed), nil
}

package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/idbolt/idbolt/store/kv"
)

// The token types a JWT customizer applies to, as Logto's paths name them
// (LogtoJwtTokenKeyType), and their Logto config keys.
const (
	JWTAccessToken       = "access-token"
	JWTClientCredentials = "client-credentials"
)

// jwtCustomizerKeys are the token types and their Logto config keys, in
// the order Logto lists them.
var jwtCustomizerKeys = []struct{ tokenType, key string }{
	{JWTAccessToken, "jwt.accessToken"},
	{JWTClientCredentials, "jwt.clientCredentials"},
}

// JWTCustomizerKey returns Logto's config key of tokenType
// ("jwt.accessToken", "jwt.clientCredentials"), or "" for another type.
func JWTCustomizerKey(tokenType string) string {
	for _, k := range jwtCustomizerKeys {
		if k.tokenType == tokenType {
			return k.key
		}
	}
	return ""
}

// JWTCustomizer is a tenant's custom JWT claims script for one token type,
// Logto's JwtCustomizer config.
type JWTCustomizer struct {
	TokenType string // JWTAccessToken or JWTClientCredentials
	Script    string
	// EnvironmentVariables are handed to the script; they are where script
	// authors put API keys, so they are sealed under the master key.
	EnvironmentVariables map[string]string
	// ContextSample and TokenSample are the console's test data, kept as
	// the JSON objects they were sent as; nil when absent.
	ContextSample        json.RawMessage
	TokenSample          json.RawMessage
	BlockIssuanceOnError *bool
}

// JWTCustomizerUpdate is a PATCH of a JWT customizer: nil fields are kept.
type JWTCustomizerUpdate struct {
	Script               *string
	EnvironmentVariables map[string]string // nil keeps them
	ContextSample        json.RawMessage
	TokenSample          json.RawMessage
	BlockIssuanceOnError *bool
}

// jwtCustomizerRecord is a JWT customizer as stored.
type jwtCustomizerRecord struct {
	Script    string          `json:"script"`
	SealedEnv []byte          `json:"env,omitempty"` // JSON of the variables, sealed
	Context   json.RawMessage `json:"ctx,omitempty"`
	Token     json.RawMessage `json:"tok,omitempty"`
	Block     *bool           `json:"block,omitempty"`
}

func jwtCustomizerAD(tenant, tokenType string) []byte {
	return associatedData("jwt-customizer", tenant, tokenType)
}

// errJWTCustomizerNotFound is Logto's answer for a token type without a
// customizer: the config row's find-by-key.
func errJWTCustomizerNotFound(tokenType string) *Error {
	return notExistsWithID("logto_config", JWTCustomizerKey(tokenType))
}

func (tx *Tx) readJWTCustomizer(tokenType string) (*JWTCustomizer, error) {
	b, err := tx.bucket(bucketJWTCustomizers)
	if err != nil {
		return nil, err
	}
	var r jwtCustomizerRecord
	if ok, err := getJSON(b, []byte(tokenType), &r); err != nil || !ok {
		return nil, err
	}
	c := &JWTCustomizer{TokenType: tokenType, Script: r.Script, ContextSample: r.Context, TokenSample: r.Token,
		BlockIssuanceOnError: r.Block}
	if r.SealedEnv != nil {
		plain, err := tx.db.sealer.open(r.SealedEnv, jwtCustomizerAD(tx.tenant, tokenType))
		if err != nil {
			return nil, fmt.Errorf("jwt customizer %s of tenant %s: %w", tokenType, tx.tenant, err)
		}
		if err := json.Unmarshal(plain, &c.EnvironmentVariables); err != nil {
			return nil, fmt.Errorf("decode jwt customizer %s variables: %w", tokenType, err)
		}
	}
	return c, nil
}

func (tx *Tx) putJWTCustomizer(c *JWTCustomizer) error {
	b, err := tx.bucket(bucketJWTCustomizers)
	if err != nil {
		return err
	}
	r := jwtCustomizerRecord{Script: c.Script, Context: c.ContextSample, Token: c.TokenSample, Block: c.BlockIssuanceOnError}
	if c.EnvironmentVariables != nil {
		plain, err := json.Marshal(c.EnvironmentVariables)
		if err != nil {
			return err
		}
		if r.SealedEnv, err = tx.db.sealer.seal(plain, jwtCustomizerAD(tx.tenant, c.TokenType)); err != nil {
			return err
		}
	}
	return putJSON(b, []byte(c.TokenType), r)
}

// FindJWTCustomizer returns tenant's customizer of tokenType. Returns
// ENOTFOUND (entity.not_exists_with_id) when it has none.
func (db *DB) FindJWTCustomizer(ctx context.Context, tenant, tokenType string) (*JWTCustomizer, error) {
	var out *JWTCustomizer
	err := db.View(ctx, tenant, func(tx *Tx) (err error) {
		out, err = tx.readJWTCustomizer(tokenType)
		if err == nil && out == nil {
			err = errJWTCustomizerNotFound(tokenType)
		}
		return err
	})
	return out, err
}

// JWTCustomizerForToken returns tenant's customizer of tokenType, or nil
// when it has none, for the token path: answers are cached until the next
// write (db_cache.go), and the customizer returned is shared, read-only.
func (db *DB) JWTCustomizerForToken(ctx context.Context, tenant, tokenType string) (*JWTCustomizer, error) {
	gen := db.generation()
	key := cacheKey(tenant, tokenType)
	if c, ok := db.jwtCustomizerCache.get(key, gen); ok {
		return c, nil
	}
	var out *JWTCustomizer
	err := db.View(ctx, tenant, func(tx *Tx) (err error) {
		out, err = tx.readJWTCustomizer(tokenType)
		return err
	})
	if err != nil {
		return nil, err
	}
	db.jwtCustomizerCache.put(key, gen, out)
	return out, nil
}

// JWTCustomizers returns tenant's customizers, access tokens' first.
// Returns ENOTFOUND for an unknown tenant.
func (db *DB) JWTCustomizers(ctx context.Context, tenant string) ([]*JWTCustomizer, error) {
	var out []*JWTCustomizer
	err := db.View(ctx, tenant, func(tx *Tx) error {
		for _, k := range jwtCustomizerKeys {
			c, err := tx.readJWTCustomizer(k.tokenType)
			if err != nil {
				return err
			}
			if c != nil {
				out = append(out, c)
			}
		}
		return nil
	})
	return out, err
}

// PutJWTCustomizer creates or replaces tenant's customizer of c.TokenType,
// and reports whether it created it. The caller has validated c.
func (db *DB) PutJWTCustomizer(ctx context.Context, tenant string, c *JWTCustomizer) (created bool, err error) {
	err = db.Update(ctx, tenant, func(tx *Tx) error {
		old, err := tx.readJWTCustomizer(c.TokenType)
		if err != nil {
			return err
		}
		created = old == nil
		if err := tx.putJWTCustomizer(c); err != nil {
			return err
		}
		return tx.auditTarget("Management.JwtCustomizer.Upsert", "jwtCustomizer", c.TokenType)
	})
	return created, err
}

// UpdateJWTCustomizer applies u to tenant's customizer of tokenType, as
// Logto's PATCH does (the fields sent replace the stored ones), and
// returns the result. check validates the result before it is stored.
// Returns ENOTFOUND (entity.not_exists_with_id) when there is none, or
// check's error.
func (db *DB) UpdateJWTCustomizer(ctx context.Context, tenant, tokenType string, u JWTCustomizerUpdate,
	check func(*JWTCustomizer) error) (*JWTCustomizer, error) {
	var out *JWTCustomizer
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		c, err := tx.readJWTCustomizer(tokenType)
		if err != nil {
			return err
		} else if c == nil {
			return errJWTCustomizerNotFound(tokenType)
		}
		if u.Script != nil {
			c.Script = *u.Script
		}
		if u.EnvironmentVariables != nil {
			c.EnvironmentVariables = u.EnvironmentVariables
		}
		if u.ContextSample != nil {
			c.ContextSample = u.ContextSample
		}
		if u.TokenSample != nil {
			c.TokenSample = u.TokenSample
		}
		if u.BlockIssuanceOnError != nil {
			c.BlockIssuanceOnError = u.BlockIssuanceOnError
		}
		if check != nil {
			if err := check(c); err != nil {
				return err
			}
		}
		if err := tx.putJWTCustomizer(c); err != nil {
			return err
		}
		out = c
		return tx.auditTarget("Management.JwtCustomizer.Update", "jwtCustomizer", tokenType)
	})
	return out, err
}

// DeleteJWTCustomizer deletes tenant's customizer of tokenType. Returns
// ENOTFOUND (entity.not_found, as Logto's deletion) when there is none.
func (db *DB) DeleteJWTCustomizer(ctx context.Context, tenant, tokenType string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		b, err := tx.bucket(bucketJWTCustomizers)
		if err != nil {
			return err
		}
		if b.Get([]byte(tokenType)) == nil {
			return notFound("logto_config", JWTCustomizerKey(tokenType))
		}
		if err := b.Delete([]byte(tokenType)); err != nil {
			return err
		}
		return tx.auditTarget("Management.JwtCustomizer.Delete", "jwtCustomizer", tokenType)
	})
}

// resealJWTCustomizers re-encrypts every customizer's variables from one
// master key to another.
func resealJWTCustomizers(tenants *kv.Bucket, from, to *sealer) error {
	return resealRecords(tenants, bucketJWTCustomizers, "jwt customizer", func(tenant string, k []byte, r *jwtCustomizerRecord) (bool, error) {
		if r.SealedEnv == nil {
			return false, nil
		}
		ad := jwtCustomizerAD(tenant, string(k))
		plain, err := from.open(r.SealedEnv, ad)
		if err != nil {
			return false, err
		}
		r.SealedEnv, err = to.seal(plain, ad)
		return err == nil, err
	})
}

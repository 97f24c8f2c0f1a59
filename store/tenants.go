package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"regexp"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/kv"
)

// DefaultTenant is the tenant served at the root paths.
const DefaultTenant = "default"

// Built-in resources.
const (
	// ManagementResourceID is the id of every tenant's Management API resource.
	ManagementResourceID = "management-api"
	// ManagementScope is the one scope of the Management API, as in Logto.
	ManagementScope = "all"
	// ManagementScopeID is the id of scope ManagementScope of every
	// tenant's Management API: Logto seeds it with this fixed id and its
	// examples name it (POST /api/roles {"scopeIds":["management-api-all"]}).
	// Logto's "Logto Management API access" role has a random id, and so
	// does idbolt's.
	ManagementScopeID = "management-api-all"
	// SystemResourceID is the id of the instance administration resource of
	// system tokens. It is no tenant's resource: files written before issue
	// 12 had it in tenant default, and Open removes it from there.
	SystemResourceID = "idbolt-system"
	// SystemIndicator is the resource indicator of instance administration,
	// reserved: no tenant can create a resource with it.
	SystemIndicator = "urn:idbolt:system"
)

// ManagementIndicator returns the resource indicator of tenant's Management
// API, the one Logto clients send.
func ManagementIndicator(tenant string) string {
	return "https://" + tenant + ".logto.app/api"
}

// Tenant is one isolated set of users, applications and keys.
type Tenant struct {
	ID   string
	Name string
	// RateLimit is the tenant's own request budget; nil means the server's
	// default.
	RateLimit *RateLimit
	CreatedAt int64
	// EmailWebhookURL receives the tenant's emails (organization
	// invitations); nil means none are sent.
	EmailWebhookURL *string
	// EmailWebhookSigningKey is set only in the result of the UpdateTenant
	// that generated it: the key is shown once and never read back.
	EmailWebhookSigningKey string
	// ReadableApplicationSecrets is the Logto compatibility switch: while
	// it is on, application secrets created are also kept sealed under the
	// master key, and listing them shows their values.
	ReadableApplicationSecrets bool
	// CORSAllowedOrigins are the browser origins, besides the server's
	// --cors-origins, that may call the tenant's Management API and token
	// endpoint; never nil.
	CORSAllowedOrigins []string
}

// EmailWebhook is where a tenant's emails go and the key their HMAC-SHA256
// signature is made with.
type EmailWebhook struct {
	URL        string
	SigningKey string
}

// RateLimit is a request budget: Requests per PerSeconds seconds.
type RateLimit struct {
	Requests   int `json:"requests"`
	PerSeconds int `json:"perSeconds"`
}

// TenantUpdate is the input of UpdateTenant; absent fields stay unchanged.
type TenantUpdate struct {
	Name      *string
	RateLimit Field[RateLimit] // null restores the server default
	// EmailWebhookURL sets (http or https URL) or, with null, removes the
	// email webhook with its signing key.
	EmailWebhookURL Field[string]
	// RotateEmailWebhookSigningKey replaces the signing key of the webhook.
	RotateEmailWebhookSigningKey bool
	// ReadableApplicationSecrets turns the switch of that name on or off.
	// Turning it off also deletes the sealed values the tenant's secrets
	// hold, so they are hash-only again.
	ReadableApplicationSecrets *bool
	// CORSAllowedOrigins replaces the tenant's allowed browser origins;
	// null or [] removes them all. Checked by NormalizeCORSOrigins.
	CORSAllowedOrigins Field[[]string]
}

// NewTenant is the input of CreateTenant.
type NewTenant struct {
	ID   string
	Name string
	// SigningKey is the tenant's first token signing key.
	SigningKey SigningKey
	// ClientID and ClientSecret are the admin application's credentials;
	// empty means generate them.
	ClientID     string
	ClientSecret string
	// System also makes the admin application an instance administrator
	// (system_admins.go). Only the bootstrap of tenant default sets it.
	System bool
}

// TenantCredentials are the admin application's credentials, shown once.
type TenantCredentials struct {
	ClientID     string
	ClientSecret string
}

var (
	tenantIDRE = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
	clientIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
)

// minSecretLen is the shortest client secret accepted from outside.
const minSecretLen = 32

// ValidateTenantID checks a tenant id: 1-32 characters of [a-z0-9-].
// Returns EINVALID.
func ValidateTenantID(id string) error {
	if !tenantIDRE.MatchString(id) {
		return fieldError("id", "must be 1 to 32 characters of a-z, 0-9 and -")
	}
	return nil
}

func (in *NewTenant) validate() error {
	if err := ValidateTenantID(in.ID); err != nil {
		return err
	}
	if len(in.Name) > maxShortField {
		return fieldError("name", "must be at most %d characters", maxShortField)
	}
	if err := checkName("name", &in.Name); err != nil {
		return err
	}
	if in.ClientID != "" && !clientIDRE.MatchString(in.ClientID) {
		return fieldError("clientId", "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'")
	}
	if in.System && in.ID != DefaultTenant {
		return fieldError("system", "only tenant default has instance administrators")
	}
	if in.ClientSecret != "" && len(in.ClientSecret) < minSecretLen {
		return fieldError("clientSecret", "must be at least %d characters", minSecretLen)
	}
	return nil
}

// CreateTenant creates a tenant with its Management API resource, the
// "Logto Management API access" role and an admin machine-to-machine
// application holding it. Returns EINVALID, or ECONFLICT when the id is taken.
func (db *DB) CreateTenant(ctx context.Context, in NewTenant) (*Tenant, *TenantCredentials, error) {
	if err := in.validate(); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var t *Tenant
	var creds *TenantCredentials
	defer db.cors.drop(in.ID) // a deleted tenant of that id may be cached
	err := db.update(func(btx *kv.Tx) error {
		var err error
		t, creds, err = db.createTenant(btx, in)
		return err
	})
	return t, creds, err
}

// Bootstrap creates tenant in (normally default, with System set) when the
// file has no tenants yet. It returns nil credentials when tenants exist, so
// that later starts ignore the bootstrap settings.
func (db *DB) Bootstrap(ctx context.Context, in NewTenant) (*TenantCredentials, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var creds *TenantCredentials
	err := db.update(func(btx *kv.Tx) error {
		if k, _ := btx.Bucket(bucketTenants).Cursor().First(); k != nil {
			return nil
		}
		var err error
		_, creds, err = db.createTenant(btx, in)
		return err
	})
	return creds, err
}

func (db *DB) createTenant(btx *kv.Tx, in NewTenant) (*Tenant, *TenantCredentials, error) {
	tenants := btx.Bucket(bucketTenants)
	if tenants.Bucket([]byte(in.ID)) != nil {
		return nil, nil, detailErrorf(ECONFLICT, "tenant.id_already_in_use", "Tenant %q already exists.", in.ID)
	}
	tb, err := tenants.CreateBucket([]byte(in.ID))
	if err != nil {
		return nil, nil, fmt.Errorf("create tenant bucket: %w", err)
	}
	if err := createSchemaBuckets(tb, tenantSchema); err != nil {
		return nil, nil, err
	}
	tx := &Tx{tx: btx, tenant: in.ID, b: tb, now: db.now(), db: db}
	now := msec(tx.now)
	rec := tenantRecord{ID: in.ID, Name: in.Name, CreatedAt: now}
	meta, err := tx.bucket(bucketTenantMeta)
	if err != nil {
		return nil, nil, err
	}
	if err := putJSON(meta, keyTenant, rec); err != nil {
		return nil, nil, err
	}
	if _, err := tx.ensureUserIDPermutation(); err != nil {
		return nil, nil, err
	}
	if err := putSigningKey(tx, in.SigningKey); err != nil {
		return nil, nil, err
	}
	if _, err := putCookieKey(tx, newCookieKeyValue()); err != nil {
		return nil, nil, err
	}

	creds := &TenantCredentials{ClientID: in.ClientID, ClientSecret: in.ClientSecret}
	if creds.ClientID == "" {
		creds.ClientID = newID(21)
	}
	if creds.ClientSecret == "" {
		creds.ClientSecret = NewSecret()
	}
	app := &appRecord{ID: creds.ClientID, Name: "Tenant admin", Type: AppMachineToMachine, CreatedAt: now,
		Secrets: []secretRecord{{Name: "Default secret", Hash: db.hashSecret(creds.ClientSecret), CreatedAt: now}}}
	if err := putApp(tx, app); err != nil {
		return nil, nil, err
	}
	mgmt := builtinAccess{
		resource: resourceRecord{ID: ManagementResourceID, Name: "Logto Management API",
			Indicator: ManagementIndicator(in.ID), AccessTokenTTL: DefaultAccessTokenTTL, ReadOnly: true, CreatedAt: now},
		scopeID:          ManagementScopeID,
		scopeDescription: "Default scope for Management API, allows all permissions.",
		roleName:         "Logto Management API access",
		metaKey:          keyManagementRole,
		roleDescription:  "This default role grants access to the Logto management API.",
	}
	if err := mgmt.create(tx, app.ID); err != nil {
		return nil, nil, err
	}
	if in.System {
		if err := putSystemAdmin(tx, app.ID); err != nil {
			return nil, nil, err
		}
	}
	return rec.toTenant(), creds, nil
}

// builtinAccess is a read-only resource with scope "all" (id scopeID) and
// a machine-to-machine role holding it.
type builtinAccess struct {
	resource         resourceRecord
	scopeID          string
	scopeDescription string
	roleName         string
	roleDescription  string
	metaKey          []byte // where the tenant's meta bucket records the role id, if anywhere
}

func (b builtinAccess) create(tx *Tx, appID string) error {
	now := msec(tx.now)
	if err := putResource(tx, &b.resource); err != nil {
		return err
	}
	scope := scopeRecord{ID: b.scopeID, ResourceID: b.resource.ID, Name: ManagementScope,
		Description: &b.scopeDescription, CreatedAt: now}
	if err := putScope(tx, &scope); err != nil {
		return err
	}
	role := roleRecord{ID: newID(21), Name: b.roleName, Description: b.roleDescription,
		Type: RoleMachineToMachine, ReadOnly: true, CreatedAt: now}
	if err := putRole(tx, &role); err != nil {
		return err
	}
	if _, err := relRoleScopes.link(tx, role.ID, scope.ID); err != nil {
		return err
	}
	if b.metaKey != nil {
		meta, err := tx.bucket(bucketTenantMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(b.metaKey, []byte(role.ID)); err != nil {
			return err
		}
	}
	_, err := relAppRoles.link(tx, appID, role.ID)
	return err
}

// FindTenantByID returns tenant id. Returns ENOTFOUND.
func (db *DB) FindTenantByID(ctx context.Context, id string) (*Tenant, error) {
	var out *Tenant
	err := db.View(ctx, id, func(tx *Tx) error {
		var err error
		out, err = readTenant(tx)
		return err
	})
	return out, err
}

func readTenant(tx *Tx) (*Tenant, error) {
	r, err := readTenantRecord(tx)
	if err != nil {
		return nil, err
	}
	return r.toTenant(), nil
}

// readTenantRecord returns the stored record of tx's tenant. A tenant
// bucket without one is broken, so its absence is an internal error.
func readTenantRecord(tx *Tx) (*tenantRecord, error) {
	meta, err := tx.bucket(bucketTenantMeta)
	if err != nil {
		return nil, err
	}
	var r tenantRecord
	if ok, err := getJSON(meta, keyTenant, &r); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("tenant %s: missing record", tx.tenant)
	}
	return &r, nil
}

// UpdateTenant changes tenant id's name, rate limit, email webhook,
// readableApplicationSecrets switch or allowed browser origins. The
// webhook's signing key is generated when a URL is set on a tenant without
// one, or on request, and returned once in EmailWebhookSigningKey. Returns
// ENOTFOUND or EINVALID.
func (db *DB) UpdateTenant(ctx context.Context, id string, upd TenantUpdate) (*Tenant, error) {
	if upd.Name != nil && len(*upd.Name) > maxShortField {
		return nil, fieldError("name", "must be at most %d characters", maxShortField)
	}
	if err := checkName("name", upd.Name); err != nil {
		return nil, err
	}
	if u := upd.EmailWebhookURL.Value; u != nil && (len(*u) > maxURLField || !isWebURL(*u)) {
		return nil, fieldError("emailWebhookUrl", "must be an http or https URL of at most %d characters", maxURLField)
	}
	if upd.RotateEmailWebhookSigningKey && upd.EmailWebhookURL.Set && upd.EmailWebhookURL.Value == nil {
		return nil, fieldError("rotateEmailWebhookSigningKey", "cannot be combined with removing the webhook")
	}
	if rl := upd.RateLimit.Value; rl != nil {
		if rl.Requests < 1 || rl.Requests > 1_000_000_000 {
			return nil, fieldError("rateLimit.requests", "must be a whole number from 1 to 1000000000")
		}
		if rl.PerSeconds < 1 || rl.PerSeconds > 86400 {
			return nil, fieldError("rateLimit.perSeconds", "must be a whole number from 1 to 86400")
		}
	}
	var origins []string
	if upd.CORSAllowedOrigins.Value != nil {
		var err error
		if origins, err = NormalizeCORSOrigins("corsAllowedOrigins", *upd.CORSAllowedOrigins.Value); err != nil {
			return nil, err
		}
	}
	if len(origins) == 0 {
		origins = nil // stored as absent
	}
	// Whatever the outcome, a cached value read before the write is not
	// kept; in cluster mode the applied entry drops it on every node.
	defer db.cors.drop(id)
	var out *Tenant
	err := db.Update(ctx, id, func(tx *Tx) error {
		r, err := readTenantRecord(tx)
		if err != nil {
			return err
		}
		if upd.Name != nil {
			r.Name = *upd.Name
		}
		if upd.RateLimit.Set {
			r.RateLimit = upd.RateLimit.Value
		}
		if upd.CORSAllowedOrigins.Set {
			r.CORSOrigins = origins
		}
		if upd.EmailWebhookURL.Set {
			if upd.EmailWebhookURL.Value == nil {
				r.EmailWebhookURL, r.EmailWebhookKey, r.EmailWebhookKeySealed = "", "", nil
			} else {
				r.EmailWebhookURL = *upd.EmailWebhookURL.Value
			}
		}
		if v := upd.ReadableApplicationSecrets; v != nil && *v != r.ReadableSecrets {
			r.ReadableSecrets = *v
			if !*v {
				if err := dropSealedSecrets(tx); err != nil {
					return err
				}
			}
		}
		if upd.RotateEmailWebhookSigningKey && r.EmailWebhookURL == "" {
			return fieldError("rotateEmailWebhookSigningKey", "the tenant has no email webhook")
		}
		// The key is made only here, where the stored record says whether
		// one is needed.
		newKey := ""
		if r.EmailWebhookURL != "" && (len(r.EmailWebhookKeySealed) == 0 || upd.RotateEmailWebhookSigningKey) {
			if newKey, err = newWebhookKey(); err != nil {
				return err
			}
			if r.EmailWebhookKeySealed, err = tx.db.sealer.seal([]byte(newKey), webhookKeyAD(tx.tenant)); err != nil {
				return err
			}
			r.EmailWebhookKey = ""
		}
		meta, err := tx.bucket(bucketTenantMeta)
		if err != nil {
			return err
		}
		if err := putJSON(meta, keyTenant, r); err != nil {
			return err
		}
		out = r.toTenant()
		out.EmailWebhookSigningKey = newKey
		return tx.auditTarget("System.Tenant.Update", "tenant", id)
	})
	return out, err
}

// TenantRateLimits returns the tenants that have their own rate limit.
func (db *DB) TenantRateLimits(ctx context.Context) (map[string]RateLimit, error) {
	out := map[string]RateLimit{}
	err := kv.View(db.bolt, func(btx *kv.Tx) error {
		return btx.Bucket(bucketTenants).ForEachBucket(func(k []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			t, err := db.readTenantIn(btx, string(k))
			if err != nil {
				return err
			}
			if t.RateLimit != nil {
				out[t.ID] = *t.RateLimit
			}
			return nil
		})
	})
	return out, err
}

// readTenantIn reads tenant id's record in an open transaction.
func (db *DB) readTenantIn(btx *kv.Tx, id string) (*Tenant, error) {
	tx, err := db.bind(btx, id)
	if err != nil {
		return nil, err
	}
	return readTenant(tx)
}

// TenantExists reports whether tenant id exists.
func (db *DB) TenantExists(ctx context.Context, id string) (bool, error) {
	gen := db.generation()
	if _, ok := db.tenantCache.get(id, gen); ok {
		return true, ctx.Err()
	}
	err := db.View(ctx, id, func(*Tx) error { return nil })
	if ErrorCode(err) == ENOTFOUND {
		return false, nil // not cached: anyone can ask for any name
	}
	if err == nil {
		db.tenantCache.put(id, gen, true)
	}
	return err == nil, err
}

// tenantIDs returns the id of every tenant, in id order.
func (db *DB) tenantIDs() []string {
	var tenants []string
	kv.View(db.bolt, func(btx *kv.Tx) error {
		return btx.Bucket(bucketTenants).ForEachBucket(func(k []byte) error {
			tenants = append(tenants, string(k))
			return nil
		})
	})
	return tenants
}

// FindTenants returns one page of tenants in id order and the total count.
func (db *DB) FindTenants(ctx context.Context, p pagination.Params) ([]*Tenant, int, error) {
	var out []*Tenant
	var total int
	err := kv.View(db.bolt, func(btx *kv.Tx) error {
		emit := func(k, _ []byte) error {
			t, err := db.readTenantIn(btx, string(k))
			if err != nil {
				return err
			}
			out = append(out, t)
			return nil
		}
		var err error
		total, err = pagination.Walk(ctx, btx.Bucket(bucketTenants).Cursor(), p, nil, emit)
		return err
	})
	if out == nil {
		out = []*Tenant{}
	}
	return out, total, err
}

// DeleteTenant removes tenant id and every key it holds. Returns ENOTFOUND, or
// EUNPROCESSABLE for tenant default.
func (db *DB) DeleteTenant(ctx context.Context, id string) error {
	if id == DefaultTenant {
		return detailErrorf(EUNPROCESSABLE, "tenant.default_not_deletable", "Tenant default cannot be deleted.")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	defer db.cors.drop(id)
	return db.update(func(btx *kv.Tx) error {
		tenants := btx.Bucket(bucketTenants)
		if tenants.Bucket([]byte(id)) == nil {
			return detailErrorf(ENOTFOUND, "entity.not_found", "Tenant %q does not exist.", id)
		}
		return tenants.DeleteBucket([]byte(id))
	})
}

// newWebhookKey returns a random 32-byte signing key in unpadded base64url.
func newWebhookKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate webhook signing key: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// emailWebhook returns the tenant's email webhook, nil when it has none.
func emailWebhook(tx *Tx) (*EmailWebhook, error) {
	r, err := readTenantRecord(tx)
	if err != nil {
		return nil, err
	}
	if r.EmailWebhookURL == "" {
		return nil, nil
	}
	key, err := tx.db.sealer.open(r.EmailWebhookKeySealed, webhookKeyAD(tx.tenant))
	if err != nil {
		return nil, fmt.Errorf("tenant %s: email webhook key: %w", tx.tenant, err)
	}
	return &EmailWebhook{URL: r.EmailWebhookURL, SigningKey: string(key)}, nil
}

package store

import (
	"bytes"
	"fmt"

	"github.com/idbolt/idbolt/store/kv"
)

// keyFormatVersion in the root meta bucket holds the file's format version,
// 8 bytes big-endian: the number of migrations applied to it. Files written
// before it existed have none and count as version 0.
var keyFormatVersion = []byte("format_version")

// migration is one step of the file format: run in Open's upgrade
// transaction on a file at version-1, it leaves the file at version. Steps
// run only on files older than their version, and each is harmless on a
// file that already has what it makes: a file written before the format
// version existed counts as version 0 even when some steps had been
// applied to it by then.
type migration struct {
	version uint64
	what    string
	run     func(u *upgrade) error
}

// upgrade is what a migration works on.
type upgrade struct {
	db            *DB
	tx            *kv.Tx
	meta, tenants *kv.Bucket
	// sealed is set by a step that replaced values held in clear, so the
	// file is rewritten without the free pages that still hold them
	// (keyScrubPending) and the operator is told.
	sealed bool
}

// migrations lists every format step in order. A step that changes records
// or the meaning of keys goes at the end with the next version; a bucket
// new to the schema needs none, as Open creates missing declared buckets
// on every file.
var migrations = []migration{
	{1, "move instance administrators out of tenant default's role model",
		func(u *upgrade) error { return u.db.upgradeSystemAdmins(u.tx) }},
	{2, "rewrite JSON user records in the binary form",
		func(u *upgrade) error { _, err := upgradeUserRecords(u.meta, u.tenants); return err }},
	{3, "seal the secret-hash key, signing keys and email webhook keys kept in clear", sealClearSecrets},
	// Users created from here on have ids made from their sequence and no
	// user_ids entry (users_ids.go), which older binaries would not find.
	// Each tenant's key is made by its next write that creates a user, so
	// that in a cluster every node gets the same key.
	{4, "ids of new users come from a keyed permutation of their sequence (no data changes)",
		func(*upgrade) error { return nil }},
	{5, "move the last ping and the disk probe out of the replicated meta bucket into the node's own", dropNodeKeysFromMeta},
	{6, "give every tenant's Management API scope Logto's fixed id management-api-all", fixManagementScopeIDs},
	// Application secrets of a tenant with readableApplicationSecrets keep
	// their value sealed (application_secrets.go), and tenants have sealed
	// cookie keys (configs_cookie_keys.go; tenants from before get theirs at their
	// first rotation). An older binary's rotate-master-key would not
	// re-seal them, leaving values no key opens, so it must refuse the file.
	{7, "application secrets may keep their value sealed, and cookie keys are sealed, under the master key (no data changes)",
		func(*upgrade) error { return nil }},
	{8, "store phone numbers in Logto's normal form (users_phone.go)", normalizeStoredPhones},
	// An older binary would neither see the connectors nor send through them.
	{9, "turn each tenant's invitation email webhook into an HTTP email connector (connectors.go)", emailWebhooksToConnectors},
}

// dropNodeKeysFromMeta removes the keys that now live in the node bucket
// (created after the migrations) from meta: a last ping is of no use to
// keep, and a disk probe is deleted right after it is written.
func dropNodeKeysFromMeta(u *upgrade) error {
	for _, k := range [][]byte{keyLastPing, keySpaceProbe} {
		if err := u.meta.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// currentFormat is the format version this binary writes.
func currentFormat() uint64 { return migrations[len(migrations)-1].version }

// formatVersion reads the format version of a file; ok is false for a new
// file (no meta bucket).
func formatVersion(tx *kv.Tx) (version uint64, ok bool, err error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0, false, nil
	}
	v := meta.Get(keyFormatVersion)
	switch len(v) {
	case 0:
		return 0, true, nil
	case 8:
		return btoi(v), true, nil
	}
	return 0, true, fmt.Errorf("meta %s: malformed value %x", keyFormatVersion, v)
}

// errNewerFormat is the error for a file written by a newer binary, which
// this one must not touch.
func errNewerFormat(path string, version uint64) error {
	return fmt.Errorf("open %s: written by a newer idbolt: format %d, this binary knows up to %d", path, version, currentFormat())
}

// migrate brings the file of tx to currentFormat: a new file is marked
// current, an older one runs the steps it lacks in order; both in tx, so a
// crash leaves the file as it was. It reports whether a step sealed clear
// values.
func (db *DB) migrate(tx *kv.Tx, isNew bool) (sealed bool, err error) {
	u := &upgrade{db: db, tx: tx, meta: tx.Bucket(bucketMeta), tenants: tx.Bucket(bucketTenants)}
	version := currentFormat() // a new file has nothing to convert
	if !isNew {
		if version, _, err = formatVersion(tx); err != nil {
			return false, err
		}
		if version > currentFormat() {
			return false, errNewerFormat(db.bolt.Path(), version)
		}
		for _, m := range migrations {
			if m.version <= version {
				continue
			}
			if err := m.run(u); err != nil {
				return false, fmt.Errorf("upgrade to format %d (%s): %w", m.version, m.what, err)
			}
			version = m.version
		}
	}
	if cur := u.meta.Get(keyFormatVersion); !bytes.Equal(cur, itob(version)) {
		if err := u.meta.Put(keyFormatVersion, itob(version)); err != nil {
			return false, err
		}
	}
	return u.sealed, nil
}

// sealClearSecrets seals what versions before the master key kept in
// clear: the secret-hash key, the signing keys (marking their tenants for
// rotation) and the email webhook keys.
func sealClearSecrets(u *upgrade) error {
	if v := u.meta.Get(keyPepper); v != nil {
		sealed, err := u.db.sealer.seal(v, pepperAD())
		if err != nil {
			return err
		}
		if err := u.meta.Put(keySealedPepper, sealed); err != nil {
			return err
		}
		if err := u.meta.Delete(keyPepper); err != nil {
			return err
		}
		u.sealed = true
	}
	keys, err := sealClearSigningKeys(u.tenants, u.meta, u.db.sealer)
	if err != nil {
		return err
	}
	hooks, err := sealClearWebhookKeys(u.tenants, u.db.sealer)
	if err != nil {
		return err
	}
	u.sealed = u.sealed || keys+hooks > 0
	return nil
}

// fixManagementScopeIDs renames the scope "all" of every tenant's
// Management API from the random id older versions gave it to
// ManagementScopeID, everywhere it is referenced: its record and indexes,
// both directions of every relation with a scope end (roles', organization
// roles' resource scopes) and their counts. The resource and its meta key
// default_resource already had a fixed id, and the built-in role keeps its
// random one, as in Logto.
func fixManagementScopeIDs(u *upgrade) error {
	return u.tenants.ForEachBucket(func(name []byte) error {
		tx, err := u.db.bind(u.tx, string(name))
		if err != nil {
			return err
		}
		byName, err := tx.bucket(bucketScopesByName)
		if err != nil {
			return err
		}
		old := byName.Get(pairKey(ManagementResourceID, ManagementScope))
		if old == nil || string(old) == ManagementScopeID {
			return nil
		}
		if err := renameScope(tx, string(old), ManagementScopeID); err != nil {
			return fmt.Errorf("tenant %s: %w", name, err)
		}
		return nil
	})
}

// renameScope gives scope oldID the id newID, keeping its creation order
// and every relation pair it is in (schemaRelations).
func renameScope(tx *Tx, oldID, newID string) error {
	s, err := findScope(tx, oldID)
	if err != nil {
		return err
	}
	if _, err := findScope(tx, newID); err == nil {
		return fmt.Errorf("rename scope %s: id %s is taken", oldID, newID)
	} else if ErrorCode(err) != ENOTFOUND {
		return err
	}
	type link struct {
		rel     relation
		partner string
	}
	var links []link
	for _, spec := range schemaRelations {
		for _, side := range []struct {
			end relationEnd
			rel relation
		}{{spec.a, spec.rel}, {spec.b, spec.rel.inverse()}} {
			if side.end.kind != entityScope {
				continue
			}
			partners, err := side.rel.list(tx, oldID)
			if err != nil {
				return err
			}
			for _, p := range partners {
				links = append(links, link{side.rel, p})
			}
		}
	}
	if err := deleteScopeRecord(tx, s); err != nil {
		return err
	}
	s.ID = newID
	if err := putScope(tx, s); err != nil {
		return err
	}
	for _, l := range links {
		if _, err := l.rel.link(tx, newID, l.partner); err != nil {
			return err
		}
	}
	return nil
}

// emailWebhookConnectorID is the id of the connector migration 9 makes of a
// tenant's email webhook.
const emailWebhookConnectorID = "email-webhook"

// emailWebhooksToConnectors moves each tenant's email webhook into an HTTP
// email connector with the webhook's URL as its endpoint and the webhook's
// signing key as its signing key, so the receiver gets the same signed
// request (with Logto's fields besides, connectors_send.go), and clears the
// webhook from the tenant record. A tenant that already has an email
// connector keeps its webhook setting, which that connector overrides.
func emailWebhooksToConnectors(u *upgrade) error {
	return eachTenantRecord(u.tenants, func(tenant string, r *tenantRecord) (bool, error) {
		if r.EmailWebhookURL == "" {
			return false, nil
		}
		tx, err := u.db.bind(u.tx, tenant)
		if err != nil {
			return false, err
		}
		if existing, err := connectorOfType(tx, ConnectorEmail); err != nil || existing != nil {
			return false, err
		}
		config := map[string]any{"endpoint": r.EmailWebhookURL}
		if len(r.EmailWebhookKeySealed) > 0 {
			key, err := u.db.sealer.open(r.EmailWebhookKeySealed, webhookKeyAD(tenant))
			if err != nil {
				return false, fmt.Errorf("tenant %s: email webhook key: %w", tenant, err)
			}
			config["signingKey"] = string(key)
		}
		f, err := FindConnectorFactory(FactoryHTTPEmail)
		if err != nil {
			return false, err
		}
		// The id and time are fixed, not drawn or read from the clock: each
		// node of a cluster migrates its own file and must get the same
		// content (only the sealed bytes differ, by their nonces).
		c := &connectorRecord{ID: emailWebhookConnectorID, Factory: f.ID, Name: map[string]string{"en": "Email webhook"},
			CreatedAt: r.CreatedAt}
		if err := c.setConfig(tx, f, config, nil); err != nil {
			return false, fmt.Errorf("tenant %s: email webhook %q: %w", tenant, r.EmailWebhookURL, err)
		}
		if err := connectorsTable.insert(tx, c.ID, &c.Seq, c); err != nil {
			return false, err
		}
		r.EmailWebhookURL, r.EmailWebhookKey, r.EmailWebhookKeySealed = "", "", nil
		return true, nil
	})
}

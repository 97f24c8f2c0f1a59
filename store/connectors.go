package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/idbolt/idbolt/store/kv"
)

// Connector is a tenant's configured passwordless connector: Logto's
// connector, made by one of the built-in factories.
type Connector struct {
	ID string
	// FactoryID is the factory that made it (Logto's connectorId).
	FactoryID string
	// Config holds the connector's settings. In what FindConnectors,
	// FindConnectorByID, CreateConnector and UpdateConnector return,
	// confidential values are ConfigMask; only FindConnectorForSending
	// returns them in clear.
	Config             map[string]any
	Metadata           ConnectorMetadata
	SyncProfile        bool
	EnableTokenStorage bool
	CreatedAt          int64
}

// ConnectorMetadata is a connector's display metadata, Logto's.
type ConnectorMetadata struct {
	Target   *string
	Name     map[string]string
	Logo     *string
	LogoDark *string
}

// Factory returns the connector's factory.
func (c *Connector) Factory() *ConnectorFactory {
	f, _ := FindConnectorFactory(c.FactoryID)
	return f
}

// ConnectorCreate is the input of CreateConnector.
type ConnectorCreate struct {
	// ID is the new connector's id; empty makes one.
	ID                 string
	FactoryID          string
	Config             map[string]any
	Metadata           ConnectorMetadata
	SyncProfile        bool
	EnableTokenStorage bool
}

// ConnectorUpdate is the input of UpdateConnector; nil fields stay unchanged.
type ConnectorUpdate struct {
	// Config replaces the whole config; a confidential value that is
	// ConfigMask keeps the stored one.
	Config             map[string]any
	Metadata           *ConnectorMetadata
	SyncProfile        *bool
	EnableTokenStorage *bool
}

// connectorRecord is a Connector as stored: the config's confidential
// values apart, sealed with the master key.
type connectorRecord struct {
	ID                 string            `json:"id"`
	Seq                uint64            `json:"seq,omitempty"`
	Factory            string            `json:"f"`
	Config             map[string]any    `json:"c"`
	Sealed             []byte            `json:"s,omitempty"`  // JSON object of the confidential values, sealed
	SealedKeys         []string          `json:"sk,omitempty"` // the keys in Sealed, so answers mask just those
	Target             *string           `json:"t,omitempty"`
	Name               map[string]string `json:"n,omitempty"`
	Logo               *string           `json:"l,omitempty"`
	LogoDark           *string           `json:"ld,omitempty"`
	SyncProfile        bool              `json:"sp,omitempty"`
	EnableTokenStorage bool              `json:"ts,omitempty"`
	CreatedAt          int64             `json:"ca"`
}

// The buckets of connectors (declared in tenantSchema).
var (
	bucketConnectors      = []byte("connectors")
	bucketConnectorsOrder = []byte("connectors_order")
)

var connectorsTable = table{"connector", bucketConnectors, bucketConnectorsOrder}

// connectorSecretAD binds a connector's sealed values to its tenant and id.
func connectorSecretAD(tenant, id string) []byte {
	return associatedData("connector-config", tenant, id)
}

// toConnector returns r with its confidential values masked.
func (r *connectorRecord) toConnector() *Connector {
	c := &Connector{ID: r.ID, FactoryID: r.Factory, Config: maps.Clone(r.Config), SyncProfile: r.SyncProfile,
		EnableTokenStorage: r.EnableTokenStorage, CreatedAt: r.CreatedAt,
		Metadata: ConnectorMetadata{Target: r.Target, Name: r.Name, Logo: r.Logo, LogoDark: r.LogoDark}}
	if c.Config == nil {
		c.Config = map[string]any{}
	}
	for _, k := range r.SealedKeys {
		c.Config[k] = ConfigMask
	}
	return c
}

// secrets opens the confidential values of r.
func (r *connectorRecord) secrets(tx *Tx) (map[string]any, error) {
	out := map[string]any{}
	if len(r.Sealed) == 0 {
		return out, nil
	}
	plain, err := tx.db.sealer.open(r.Sealed, connectorSecretAD(tx.tenant, r.ID))
	if err != nil {
		return nil, fmt.Errorf("connector %s: %w", r.ID, err)
	}
	if err := json.Unmarshal(plain, &out); err != nil {
		return nil, fmt.Errorf("connector %s: decode sealed config: %w", r.ID, err)
	}
	return out, nil
}

// setConfig validates config against f, fills masked confidential values
// from old (nil for none) and stores it in r, sealing the confidential
// values.
func (r *connectorRecord) setConfig(tx *Tx, f *ConnectorFactory, config map[string]any, old map[string]any) error {
	full, err := f.validateConfig(unmask(f, config, old))
	if err != nil {
		return err
	}
	secret := map[string]any{}
	for _, it := range f.FormItems {
		if v, ok := full[it.Key]; ok && it.Confidential {
			secret[it.Key] = v
			delete(full, it.Key)
		}
	}
	r.Config, r.Sealed, r.SealedKeys = full, nil, nil
	for _, it := range f.FormItems {
		if _, ok := secret[it.Key]; ok {
			r.SealedKeys = append(r.SealedKeys, it.Key)
		}
	}
	if len(secret) > 0 {
		plain, err := json.Marshal(secret)
		if err != nil {
			return err
		}
		if r.Sealed, err = tx.db.sealer.seal(plain, connectorSecretAD(tx.tenant, r.ID)); err != nil {
			return err
		}
	}
	return nil
}

// unmask returns a copy of config in which each confidential value that is
// ConfigMask is old's value, or absent when old has none.
func unmask(f *ConnectorFactory, config, old map[string]any) map[string]any {
	config = maps.Clone(config)
	for _, it := range f.FormItems {
		if it.Confidential && config[it.Key] == ConfigMask {
			if v, ok := old[it.Key]; ok {
				config[it.Key] = v
			} else {
				delete(config, it.Key)
			}
		}
	}
	return config
}

// findConnector returns connector id, or ENOTFOUND as Logto words it.
func findConnector(tx *Tx, id string) (*connectorRecord, error) {
	var r connectorRecord
	if err := connectorsTable.get(tx, id, &r); err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, notExistsWithID("connectors", id)
		}
		return nil, err
	}
	return &r, nil
}

// eachConnector calls fn with every connector of the tenant in creation
// order. A tenant has a handful at most.
func eachConnector(tx *Tx, fn func(r *connectorRecord) error) error {
	records, err := tx.bucket(bucketConnectors)
	if err != nil {
		return err
	}
	order, err := tx.bucket(bucketConnectorsOrder)
	if err != nil {
		return err
	}
	return order.ForEach(func(_, id []byte) error {
		var r connectorRecord
		v := records.Get(id)
		if v == nil {
			return fmt.Errorf("connector order points at missing %s", id)
		}
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode connector %s: %w", id, err)
		}
		return fn(&r)
	})
}

// connectorOfType returns the tenant's connector of type typ, or nil.
func connectorOfType(tx *Tx, typ string) (*connectorRecord, error) {
	var found *connectorRecord
	err := eachConnector(tx, func(r *connectorRecord) error {
		if f, err := FindConnectorFactory(r.Factory); err == nil && f.Type == typ && found == nil {
			found = r
		}
		return nil
	})
	return found, err
}

func validateMetadata(m ConnectorMetadata) error {
	if m.Target != nil && (len(*m.Target) > 128 || !validText(*m.Target, false)) {
		return fieldError("metadata.target", "must be at most 128 characters")
	}
	for _, p := range []*string{m.Logo, m.LogoDark} {
		if p != nil && *p != "" && !isWebURL(*p) {
			return fieldError("metadata.logo", "must be an http or https URL")
		}
	}
	if len(m.Name) > 64 {
		return fieldError("metadata.name", "has too many languages")
	}
	for k, v := range m.Name {
		if len(k) > 32 || len(v) > 128 || !validText(k+v, false) {
			return fieldError("metadata.name", "must map language tags to names of at most 128 characters")
		}
	}
	return nil
}

// FindConnectors returns the tenant's connectors in creation order,
// confidential values masked.
func (db *DB) FindConnectors(ctx context.Context, tenant string) ([]*Connector, error) {
	var out []*Connector
	err := db.View(ctx, tenant, func(tx *Tx) error {
		return eachConnector(tx, func(r *connectorRecord) error {
			out = append(out, r.toConnector())
			return nil
		})
	})
	return out, err
}

// FindConnectorByID returns connector id, confidential values masked.
// Returns ENOTFOUND.
func (db *DB) FindConnectorByID(ctx context.Context, tenant, id string) (*Connector, error) {
	var out *Connector
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findConnector(tx, id)
		if err != nil {
			return err
		}
		out = r.toConnector()
		return nil
	})
	return out, err
}

// FindConnectorForSending returns the tenant's connector of type typ
// (ConnectorEmail or ConnectorSms) with its confidential values in clear,
// for a sender only: never put its config in an answer or a log. Returns
// ENOTFOUND (connector.not_found) when the tenant has none.
func (db *DB) FindConnectorForSending(ctx context.Context, tenant, typ string) (*Connector, error) {
	var out *Connector
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := connectorOfType(tx, typ)
		if err != nil {
			return err
		}
		if r == nil {
			return detailErrorf(ENOTFOUND, "connector.not_found", "The tenant has no %s connector.", typ)
		}
		out, err = r.forSending(tx)
		return err
	})
	return out, err
}

// forSending returns r with its confidential values in clear.
func (r *connectorRecord) forSending(tx *Tx) (*Connector, error) {
	secret, err := r.secrets(tx)
	if err != nil {
		return nil, err
	}
	c := r.toConnector()
	maps.Copy(c.Config, secret)
	return c, nil
}

// ResolveConnectorConfig validates config against factory factoryID for a
// test message and returns it ready for sending: defaults filled in and a
// confidential value that is ConfigMask taken from the tenant's connector
// of that factory (what an edited copy of its config holds). Returns
// ENOTFOUND for an unknown factory, EINVALID (connector.invalid_config).
func (db *DB) ResolveConnectorConfig(ctx context.Context, tenant, factoryID string, config map[string]any) (*Connector, error) {
	f, err := FindConnectorFactory(factoryID)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	err = db.View(ctx, tenant, func(tx *Tx) error {
		old := map[string]any{}
		err := eachConnector(tx, func(r *connectorRecord) error {
			if r.Factory == factoryID {
				s, err := r.secrets(tx)
				old = s
				return err
			}
			return nil
		})
		if err != nil {
			return err
		}
		out, err = f.validateConfig(unmask(f, config, old))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Connector{FactoryID: factoryID, Config: out}, nil
}

// CreateConnector stores a new connector. A tenant has one email and one
// SMS connector at most: as in Logto, a new one replaces the tenant's
// connector of its type, in the same transaction. Returns EUNPROCESSABLE
// (connector.not_found_with_connector_id) for an unknown factory, EINVALID
// (connector.invalid_config) for a config its form refuses, ECONFLICT for a
// given id in use.
func (db *DB) CreateConnector(ctx context.Context, tenant string, in ConnectorCreate) (*Connector, error) {
	f, err := FindConnectorFactory(in.FactoryID)
	if err != nil {
		return nil, detailErrorf(EUNPROCESSABLE, "connector.not_found_with_connector_id",
			"No connector factory has the id %q.", in.FactoryID)
	}
	if err := validateMetadata(in.Metadata); err != nil {
		return nil, err
	}
	id, err := givenOrNewID(in.ID, 12)
	if err != nil {
		return nil, err
	}
	var out *Connector
	err = db.Update(ctx, tenant, func(tx *Tx) error {
		if taken, err := connectorsTable.exists(tx, id); err != nil || taken {
			return cmpErr(err, errIDInUse("connector", id))
		}
		r := &connectorRecord{ID: id, Factory: f.ID, Target: in.Metadata.Target, Name: in.Metadata.Name,
			Logo: in.Metadata.Logo, LogoDark: in.Metadata.LogoDark, SyncProfile: in.SyncProfile,
			EnableTokenStorage: in.EnableTokenStorage, CreatedAt: msec(tx.now)}
		if err := r.setConfig(tx, f, in.Config, nil); err != nil {
			return err
		}
		old, err := connectorOfType(tx, f.Type)
		if err != nil {
			return err
		}
		if old != nil {
			if err := connectorsTable.delete(tx, old.ID, old.Seq); err != nil {
				return err
			}
			if err := tx.auditTarget("Management.Connector.Delete", "connector", old.ID); err != nil {
				return err
			}
		}
		if err := connectorsTable.insert(tx, id, &r.Seq, r); err != nil {
			return err
		}
		out = r.toConnector()
		return tx.auditTarget("Management.Connector.Create", "connector", id)
	})
	return out, err
}

// UpdateConnector changes connector id. Returns ENOTFOUND, EINVALID.
func (db *DB) UpdateConnector(ctx context.Context, tenant, id string, upd ConnectorUpdate) (*Connector, error) {
	if upd.Metadata != nil {
		if err := validateMetadata(*upd.Metadata); err != nil {
			return nil, err
		}
	}
	var out *Connector
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findConnector(tx, id)
		if err != nil {
			return err
		}
		if upd.Config != nil {
			f, err := FindConnectorFactory(r.Factory)
			if err != nil {
				return err
			}
			old, err := r.secrets(tx)
			if err != nil {
				return err
			}
			if err := r.setConfig(tx, f, upd.Config, old); err != nil {
				return err
			}
		}
		if m := upd.Metadata; m != nil {
			r.Target, r.Name, r.Logo, r.LogoDark = m.Target, m.Name, m.Logo, m.LogoDark
		}
		if upd.SyncProfile != nil {
			r.SyncProfile = *upd.SyncProfile
		}
		if upd.EnableTokenStorage != nil {
			r.EnableTokenStorage = *upd.EnableTokenStorage
		}
		if err := connectorsTable.update(tx, id, r); err != nil {
			return err
		}
		out = r.toConnector()
		return tx.auditTarget("Management.Connector.Update", "connector", id)
	})
	return out, err
}

// DeleteConnector deletes connector id. Returns ENOTFOUND, or
// EUNPROCESSABLE when it is the last way to reset a password while the
// password expiration policy is on (checkConnectorDeletable).
func (db *DB) DeleteConnector(ctx context.Context, tenant, id string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findConnector(tx, id)
		if err != nil {
			return err
		}
		if err := checkConnectorDeletable(tx, id); err != nil {
			return err
		}
		if err := connectorsTable.delete(tx, id, r.Seq); err != nil {
			return err
		}
		return tx.auditTarget("Management.Connector.Delete", "connector", id)
	})
}

// resealConnectorSecrets re-encrypts the sealed config values of every
// connector from one master key to another.
func resealConnectorSecrets(tenants *kv.Bucket, from, to *sealer) error {
	return tenants.ForEachBucket(func(name []byte) error {
		records := tenants.Bucket(name).Bucket(bucketConnectors)
		if records == nil {
			return nil
		}
		var changed []*connectorRecord // bbolt forbids puts while ForEach walks
		err := records.ForEach(func(k, v []byte) error {
			var r connectorRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("tenant %s: decode connector %s: %w", name, k, err)
			}
			if len(r.Sealed) == 0 {
				return nil
			}
			ad := connectorSecretAD(string(name), r.ID)
			plain, err := from.open(r.Sealed, ad)
			if err != nil {
				return fmt.Errorf("tenant %s: connector %s: %w", name, r.ID, err)
			}
			if r.Sealed, err = to.seal(plain, ad); err != nil {
				return err
			}
			changed = append(changed, &r)
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range changed {
			if err := putJSON(records, []byte(r.ID), r); err != nil {
				return err
			}
		}
		return nil
	})
}

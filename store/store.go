package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/idbolt/idbolt/store/kv"
)

// Options configure Open. The zero value is the production setting.
type Options struct {
	// Now returns the current time; nil means time.Now. Tests pin it.
	Now func() time.Time
	// NoSync skips fsync on commit. Only for tests: a 2xx must mean "on disk".
	NoSync bool
	// OpenTimeout is how long Open waits for the file lock held by another
	// process. Zero means one second.
	OpenTimeout time.Duration
	// NoAudit turns the audit log off (benchmarks only).
	NoAudit bool
	// OnAuditError is told when a group commit of queued audit entries
	// fails, except for lack of disk space (logged once per episode); nil
	// ignores it.
	OnAuditError func(err error, entries int)
	// MasterKeyFile holds the key that encrypts the signing keys, email
	// webhook keys and secret-hash key at rest (see ReadMasterKeyFile);
	// empty means DefaultMasterKeyFile(path). It is created when missing,
	// unless the data file is already encrypted.
	MasterKeyFile string
	// Logger is told, once, when Open creates a master key or encrypts the
	// keys of a file written by an older version, and of the start and end
	// of each episode of writes failing for lack of disk space; nil
	// discards.
	Logger *slog.Logger
	// MaxJTIsPerClient bounds the live assertion jtis one API client may
	// hold (jti.go); zero means DefaultMaxJTIsPerClient.
	MaxJTIsPerClient int
	// OnCommit, when set, receives the write-set of every committed write
	// transaction, in commit order, from the goroutine that committed it
	// (see kv.WriteSet); it must not call back into the DB. Open's own
	// writes (a new file's buckets and keys, migrations, the marker the
	// rewrite after an upgrade removes) are passed too, before Open
	// returns. Nil in production; tests replay the write-sets.
	OnCommit func(kv.WriteSet)
	// Replicator, when set, puts the DB in cluster mode: writes are
	// proposed to it and applied by ApplyEntries (db_replica.go).
	Replicator Replicator
	// OnApplied, when set, is told what entries applied in cluster mode
	// changed of what is cached outside the store (see Applied), after
	// they are committed, from the goroutine that applied them.
	OnApplied func(Applied)
}

// DB is the idbolt data file. It is safe for concurrent use.
type DB struct {
	bolt       *bbolt.DB
	now        func() time.Time
	pepper     atomic.Pointer[[]byte] // keys the secret hash; lives in the file, sealed, so a copied file works with its master key
	secretMACs sync.Pool              // of *secretMAC (hashSecret)
	sealer     *sealer
	hasher     *passwordHasher

	// Writes go to one committer goroutine (see db_commit.go).
	mu        sync.RWMutex // guards closed and sends on writes and audits
	closed    bool
	writes    chan *writeRequest
	committed chan struct{} // closed when the committer has exited

	noAudit       bool
	audits        chan queuedAudit
	auditDone     chan struct{} // closed when the audit writer has exited
	logAuditError func(err error, entries int)

	// Entries sent to audits and entries the writer has committed (or
	// failed to): equal when nothing is pending (see waitForAudits).
	auditQueued, auditCommitted atomic.Uint64

	storage    storageHealth // every write goes through db.update (db_storage.go)
	jtis       *jtiSets      // the JWT bearer grant's used jtis (jti.go)
	snapshotMu sync.Mutex    // held by the one Snapshot that may exist at a time (db_backup.go)

	onCommit func(kv.WriteSet) // Options.OnCommit

	userIDKeys userIDKeys // each tenant's user id permutation, checked against the file on use (users_ids.go)

	// Read-through caches of the token and read paths (db_cache.go).
	dataGen            atomic.Uint64
	tenantCache        readCache[bool]
	clientCache        readCache[clientStateAt]
	grantCache         readCache[cachedGrant]
	serviceGrantCache  readCache[ServiceAccountGrant]
	serviceAcctCache   readCache[*ServiceAccount]
	userCache          readCache[*userRecord]    // FindUserByID's; records are never changed once cached
	jwtCustomizerCache readCache[*JWTCustomizer] // JWTCustomizerForToken's; nil: none
	serviceKeys        publicKeys                // parsed service user keys (user_keys.go)

	// Cluster mode (db_replica.go).
	replicator Replicator
	replMu     sync.Mutex // held from computing a write-set until it is applied
	applied    appliedState
	genesis    atomic.Bool // the file holds a cluster's content (ClusterGenesis)
	forwarded  forwardedBatches
	onApplied  func(Applied)

	cors corsCache // each tenant's allowed browser origins (tenants_cors.go)

	// Webhooks' outbox (hooks.go): who subscribes to what, and the
	// deliverer's wake-up after a commit that appended events.
	hookSubs     hookSubscriptions
	hookDecoded  hookEventCache
	hookAppended atomic.Bool
	hookWake     chan struct{}
}

// ErrInUse is returned by Open when another process has the data file open.
var ErrInUse = errors.New("data file is in use by another process")

// Open opens (creating if needed) the data file at path, with the master key
// in opts.MasterKeyFile. It returns an error wrapping ErrInUse when another
// process has the file open, an error naming the file when it is damaged or
// truncated, and one wrapping ErrMasterKey when the key file is missing for
// an encrypted file, malformed, readable by others or not the key the file
// was encrypted with, and one naming both formats for a file written by a
// newer idbolt, which it leaves untouched. A file written by an older
// version is migrated to the current format (db_migrate.go); its keys, if in
// clear, are encrypted.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	timeout := opts.OpenTimeout
	if timeout == 0 {
		timeout = time.Second
	}
	if err := checkPath(path, path); err != nil {
		return nil, err // before bbolt maps a truncated file and crashes
	}
	boltOpts := bbolt.Options{Timeout: timeout, NoSync: opts.NoSync}
	b, err := openLocked(path, boltOpts)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrInUse)
	} else if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	keyPath := opts.MasterKeyFile
	if keyPath == "" {
		keyPath = DefaultMasterKeyFile(path)
	}
	if err := refuseNewerFormat(b); err != nil {
		b.Close()
		return nil, err // before anything, the master key file included, is written
	}
	sealer, created, err := unlock(b, path, keyPath, !opts.NoSync)
	if err != nil {
		b.Close()
		return nil, err
	}
	if created {
		logger.Warn("generated a new master key; back it up separately from the data file: without it the data file cannot be opened",
			"master_key_file", keyPath)
	}
	db := &DB{bolt: b, now: opts.Now, hasher: newPasswordHasher(), sealer: sealer,
		writes: make(chan *writeRequest, maxBatch), committed: make(chan struct{}),
		noAudit: opts.NoAudit, audits: make(chan queuedAudit, auditQueueSize), auditDone: make(chan struct{}),
		logAuditError: opts.OnAuditError, onCommit: opts.OnCommit, jtis: newJTISets(opts.MaxJTIsPerClient),
		replicator: opts.Replicator, onApplied: opts.OnApplied, hookWake: make(chan struct{}, 1)}
	if db.now == nil {
		db.now = time.Now
	}
	db.storage.logger = logger
	upgraded, err := db.init()
	if err != nil {
		b.Close()
		return nil, err
	}
	if upgraded {
		logger.Info("encrypted the signing keys, webhook keys and secret-hash key of a file written by an older version",
			"master_key_file", keyPath)
	}
	var scrubbed kv.WriteSet
	if db.bolt, err = scrubIfPending(b, boltOpts, &scrubbed); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if db.onCommit != nil && scrubbed.Len() > 0 {
		db.onCommit(scrubbed)
	}
	if err := db.loadAppliedIndex(); err != nil {
		db.bolt.Close()
		return nil, err
	}
	db.loadGenesis()
	go db.commitLoop()
	go db.auditLoop()
	go db.jtiLoop()
	return db, nil
}

// openLocked opens the bbolt file at path and makes sure the lock it holds
// is on the file now at path. A process that waited for the lock while
// another replaced the file (an upgrade's or rotation's rewrite, a restore)
// would otherwise get the lock of the replaced file and write where no one
// will ever read: it opens again instead.
func openLocked(path string, opts bbolt.Options) (*bbolt.DB, error) {
	for attempt := 1; ; attempt++ {
		before, _ := os.Stat(path) // nil for a new file
		b, err := openBolt(path, opts)
		if err != nil {
			return nil, err
		}
		after, err := os.Stat(path)
		if err == nil && (before == nil || os.SameFile(before, after)) {
			return b, nil
		}
		b.Close()
		if attempt == 5 {
			return nil, fmt.Errorf("%s keeps being replaced while it is opened", path)
		}
	}
}

// refuseNewerFormat returns the error of errNewerFormat when the file b
// was written by a newer idbolt.
func refuseNewerFormat(b *bbolt.DB) error {
	return kv.View(b, func(tx *kv.Tx) error {
		v, _, err := formatVersion(tx)
		if err == nil && v > currentFormat() {
			err = errNewerFormat(b.Path(), v)
		}
		return err
	})
}

// unlock loads (or, for a file with nothing sealed yet, creates) the master
// key in keyPath and checks it is the one the file was encrypted with.
func unlock(b *bbolt.DB, path, keyPath string, sync bool) (s *sealer, created bool, err error) {
	var check []byte
	if err := kv.View(b, func(tx *kv.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil {
			check = bytes.Clone(meta.Get(keyMasterCheck))
		}
		return nil
	}); err != nil {
		return nil, false, err
	}
	key, created, err := loadOrCreateMasterKey(keyPath, path, check != nil, sync)
	if err != nil {
		return nil, false, err
	}
	if s, err = newSealer(key); err != nil {
		return nil, false, err
	}
	if check != nil && !s.matches(check) {
		return nil, false, fmt.Errorf("%w file %s is not the key %s was encrypted with (a backup needs the key of the server that wrote it)",
			ErrMasterKey, keyPath, path)
	}
	return s, created, nil
}

// init brings the file to the current format (db_migrate.go): it creates the
// buckets of the schema a file lacks (all of them on a new file) and the
// master key check value, runs the migrations an older file needs and loads
// or makes the secret-hash key. It reports whether a migration sealed values
// an older version kept in clear.
//
// Its writes are a write-set like any other, handed to Options.OnCommit:
// they hold random values (the secret-hash key, nonces), so a replica must
// apply them, not make its own.
func (db *DB) init() (upgraded bool, err error) {
	var rec *kv.WriteSet
	if db.onCommit != nil {
		rec = new(kv.WriteSet)
		defer func() {
			if err == nil && rec.Len() > 0 {
				db.onCommit(*rec)
			}
		}()
	}
	err = kv.Update(db.bolt, rec, func(tx *kv.Tx) error {
		isNew := tx.Bucket(bucketMeta) == nil
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return fmt.Errorf("create meta bucket: %w", err)
		}
		tenants, err := tx.CreateBucketIfNotExists(bucketTenants)
		if err != nil {
			return fmt.Errorf("create tenants bucket: %w", err)
		}
		if err := addMissingTenantBuckets(tenants); err != nil {
			return err
		}
		if meta.Get(keyMasterCheck) == nil {
			check, err := db.sealer.checkValue()
			if err != nil {
				return err
			}
			if err := meta.Put(keyMasterCheck, check); err != nil {
				return err
			}
		}
		if upgraded, err = db.migrate(tx, isNew); err != nil {
			return err
		}
		// After the migrations, which may look for a bucket an older
		// version lacked (system_admins).
		if err := createSchemaBuckets(tx, rootSchema); err != nil {
			return err
		}
		if err := db.loadPepper(meta); err != nil {
			return err
		}
		if upgraded {
			// The clear values stay in the file's free pages until it is
			// rewritten; see scrubIfPending.
			return meta.Put(keyScrubPending, []byte{1})
		}
		return nil
	})
	return upgraded, err
}

// loadPepper unseals the secret-hash key, or makes one for a new file.
func (db *DB) loadPepper(meta *kv.Bucket) error {
	if v := meta.Get(keySealedPepper); v != nil {
		pepper, err := db.sealer.open(v, pepperAD())
		if err != nil {
			return fmt.Errorf("secret-hash key: %w", err)
		}
		db.pepper.Store(&pepper)
		return nil
	}
	pepper := make([]byte, 32)
	if _, err := rand.Read(pepper); err != nil {
		return fmt.Errorf("generate pepper: %w", err)
	}
	sealed, err := db.sealer.seal(pepper, pepperAD())
	if err != nil {
		return err
	}
	db.pepper.Store(&pepper)
	return meta.Put(keySealedPepper, sealed)
}

// loadAppliedIndex reads the index of the last log entry applied to the
// file (zero outside cluster mode).
func (db *DB) loadAppliedIndex() error {
	return kv.View(db.bolt, func(tx *kv.Tx) error {
		var index uint64
		if v := tx.Bucket(bucketNode).Get(keyAppliedIndex); len(v) == 8 {
			index = btoi(v)
		}
		db.applied.set(index)
		return nil
	})
}

// Close closes the data file. Writes and audit entries already queued are
// committed first; later ones fail. It is safe to call more than once.
func (db *DB) Close() error {
	db.mu.Lock()
	if !db.closed {
		db.closed = true
		close(db.writes)
		close(db.audits)
		close(db.jtis.queue)
	}
	db.mu.Unlock()
	<-db.committed
	<-db.auditDone
	<-db.jtis.done
	return db.bolt.Close()
}

// Path returns the data file's path.
func (db *DB) Path() string { return db.bolt.Path() }

// Tx is a transaction bound to one tenant. It cannot reach another tenant's
// buckets, which is what makes tenant isolation structural rather than a filter.
type Tx struct {
	tx     *kv.Tx
	tenant string
	b      *kv.Bucket
	now    time.Time
	db     *DB
	actor  Actor // who writes, for the audit log
	// hookWritten is set once the write's hook event is in the outbox
	// (hooks.go): one event per transaction.
	hookWritten bool
	// written is the user record the write left behind, offered by
	// writers that hold it anyway (wroteUser, hooks.go).
	written writtenUser
	// answer is what the route answers for a relation change, offered by
	// its writer (answered, hooks.go) for the hook event's data.
	answer hookEventData
}

// bucket returns a sub-bucket of the tenant. A missing one means the file was
// not written by this program, so it is an internal error, never a 404.
func (tx *Tx) bucket(name []byte) (*kv.Bucket, error) {
	b := tx.b.Bucket(name)
	if b == nil {
		return nil, fmt.Errorf("tenant %s: missing bucket %s", tx.tenant, name)
	}
	return b, nil
}

// View runs fn in a read-only transaction of tenant. Returns ENOTFOUND if the
// tenant does not exist. fn must not keep keys or values after it returns.
func (db *DB) View(ctx context.Context, tenant string, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return kv.View(db.bolt, func(btx *kv.Tx) error {
		tx, err := db.bind(btx, tenant)
		if err != nil {
			return err
		}
		return fn(tx)
	})
}

// bind looks up the tenant bucket and fixes the transaction's clock.
func (db *DB) bind(btx *kv.Tx, tenant string) (*Tx, error) {
	b := btx.Bucket(bucketTenants).Bucket([]byte(tenant))
	if b == nil {
		return nil, detailErrorf(ENOTFOUND, "tenant.not_found", "Tenant %q does not exist.", tenant)
	}
	return &Tx{tx: btx, tenant: tenant, b: b, now: db.now(), db: db}, nil
}

// Size returns the size of the data file in bytes.
func (db *DB) Size() (int64, error) {
	fi, err := os.Stat(db.bolt.Path())
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

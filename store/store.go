package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
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
	// fails; nil ignores it.
	OnAuditError func(err error, entries int)
}

// DB is the idbolt data file. It is safe for concurrent use.
type DB struct {
	bolt   *bbolt.DB
	now    func() time.Time
	pepper []byte // keys the secret hash; lives in the file so a copied file still works
	hasher *passwordHasher

	// Writes go to one committer goroutine (see commit.go).
	mu        sync.RWMutex // guards closed and sends on writes and audits
	closed    bool
	writes    chan *writeRequest
	committed chan struct{} // closed when the committer has exited

	noAudit       bool
	audits        chan queuedAudit
	auditDone     chan struct{} // closed when the audit writer has exited
	logAuditError func(err error, entries int)

	snapshotMu sync.Mutex // held by the one Snapshot that may exist at a time (backup.go)
}

// ErrInUse is returned by Open when another process holds the data file.
var ErrInUse = errors.New("data file is in use by another process")

// Open opens (creating if needed) the data file at path. It returns an error
// wrapping ErrInUse when another process has the file open, and an error
// naming the file when it is damaged or truncated.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	timeout := opts.OpenTimeout
	if timeout == 0 {
		timeout = time.Second
	}
	if err := checkPath(path, path); err != nil {
		return nil, err // before bbolt maps a truncated file and crashes
	}
	b, err := openBolt(path, bbolt.Options{Timeout: timeout, NoSync: opts.NoSync})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrInUse)
	} else if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db := &DB{bolt: b, now: opts.Now, hasher: newPasswordHasher(),
		writes: make(chan *writeRequest, maxBatch), committed: make(chan struct{}),
		noAudit: opts.NoAudit, audits: make(chan queuedAudit, auditQueueSize), auditDone: make(chan struct{}),
		logAuditError: opts.OnAuditError}
	if db.now == nil {
		db.now = time.Now
	}
	if err := db.init(); err != nil {
		b.Close()
		return nil, err
	}
	go db.commitLoop()
	go db.auditLoop()
	return db, nil
}

// init creates the root buckets and the secret-hash key on a new file, and
// the per-tenant buckets a file from an older version lacks.
func (db *DB) init() error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
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
		if v := meta.Get(keyPepper); v != nil {
			db.pepper = append([]byte(nil), v...)
			return nil
		}
		db.pepper = make([]byte, 32)
		if _, err := rand.Read(db.pepper); err != nil {
			return fmt.Errorf("generate pepper: %w", err)
		}
		return meta.Put(keyPepper, db.pepper)
	})
}

// addMissingTenantBuckets gives every tenant the buckets a newer version
// added since its file was written, so an upgrade needs no migration step:
// a bucket that is missing is empty, which is what the new feature starts
// from.
func addMissingTenantBuckets(tenants *bbolt.Bucket) error {
	return tenants.ForEachBucket(func(name []byte) error {
		t := tenants.Bucket(name)
		for _, b := range tenantBuckets {
			if _, err := t.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("tenant %s: create bucket %s: %w", name, b, err)
			}
		}
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
	}
	db.mu.Unlock()
	<-db.committed
	<-db.auditDone
	return db.bolt.Close()
}

// Path returns the data file's path.
func (db *DB) Path() string { return db.bolt.Path() }

// Tx is a transaction bound to one tenant. It cannot reach another tenant's
// buckets, which is what makes tenant isolation structural rather than a filter.
type Tx struct {
	tx     *bbolt.Tx
	tenant string
	b      *bbolt.Bucket
	now    time.Time
	db     *DB
	actor  Actor // who writes, for the audit log
}

// bucket returns a sub-bucket of the tenant. A missing one means the file was
// not written by this program, so it is an internal error, never a 404.
func (tx *Tx) bucket(name []byte) (*bbolt.Bucket, error) {
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
	return db.bolt.View(func(btx *bbolt.Tx) error {
		tx, err := db.bind(btx, tenant)
		if err != nil {
			return err
		}
		return fn(tx)
	})
}

// bind looks up the tenant bucket and fixes the transaction's clock.
func (db *DB) bind(btx *bbolt.Tx, tenant string) (*Tx, error) {
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

package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/idbolt/idbolt/pagination"
)

// AuditEntry is one entry of a tenant's audit log, in Logto's log shape.
type AuditEntry struct {
	ID        string
	Key       string         // e.g. Management.User.Create, ExchangeTokenBy.ClientCredentials
	Payload   map[string]any // key, result, ip, userAgent, applicationId, userId, params, error
	CreatedAt int64
}

// Actor is who makes a Management API write; it travels in the context so
// that the store can audit a write in the same transaction as the change.
type Actor struct {
	ApplicationID string
	IP            string
	UserAgent     string
}

type actorKey struct{}

// NewContextWithActor returns ctx carrying the actor of the writes made with it.
func NewContextWithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

func actorFromContext(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// Audit settings.
const (
	auditFlushEvery = 100 * time.Millisecond
	auditFlushSize  = 2000
	auditQueueSize  = 16384
	pruneChunk      = 500
)

// reservedPayloadFields are written by idbolt itself and never masked.
var reservedPayloadFields = map[string]bool{
	"key": true, "result": true, "ip": true, "userAgent": true, "applicationId": true,
	"userId": true, "error": true, "tokenTypes": true,
}

// maskPayload replaces the value of every field whose name contains secret,
// password, token, key or authorization, at any depth below the reserved
// top-level fields, with "******".
func maskPayload(p map[string]any) map[string]any {
	out := make(map[string]any, len(p))
	for k, v := range p {
		if reservedPayloadFields[k] {
			out[k] = v
			continue
		}
		out[k] = maskValue(k, v)
	}
	return out
}

func maskValue(name string, v any) any {
	n := strings.ToLower(name)
	for _, word := range []string{"secret", "password", "token", "key", "authorization", "assertion"} {
		if strings.Contains(n, word) {
			return "******"
		}
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, vv := range t {
			out[k] = maskValue(k, vv)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, vv := range t {
			out[i] = maskValue("", vv)
		}
		return out
	}
	return v
}

// audit appends a Management entry to tx's tenant log, in the same
// transaction as the change it records. fields add to the actor's details.
func (tx *Tx) audit(key string, fields map[string]any) error {
	if tx.db.noAudit {
		return nil
	}
	p := map[string]any{"key": key, "result": "Success"}
	if tx.actor.ApplicationID != "" {
		p["applicationId"] = tx.actor.ApplicationID
	}
	if tx.actor.IP != "" {
		p["ip"] = tx.actor.IP
	}
	if tx.actor.UserAgent != "" {
		p["userAgent"] = tx.actor.UserAgent
	}
	for k, v := range fields {
		p[k] = v
	}
	return appendAudit(tx.b, &auditRecord{ID: newID(21), Key: key, Payload: maskPayload(p), CreatedAt: msec(tx.now)})
}

// appendAudit writes one entry into a tenant bucket.
func appendAudit(tb *bbolt.Bucket, r *auditRecord) error {
	log, ids, rank := tb.Bucket(bucketAudit), tb.Bucket(bucketAuditIDs), tb.Bucket(bucketAuditRank)
	if log == nil || ids == nil || rank == nil {
		return fmt.Errorf("audit buckets missing")
	}
	seq, err := log.NextSequence()
	if err != nil {
		return err
	}
	if err := putJSON(log, itob(seq), r); err != nil {
		return err
	}
	if err := ids.Put([]byte(r.ID), itob(seq)); err != nil {
		return err
	}
	return rankAdd(rank, seq, 1)
}

// queuedAudit is an entry waiting for the audit writer.
type queuedAudit struct {
	tenant string
	rec    auditRecord
}

// AuditAsync queues an entry for tenant's log without waiting for the disk:
// the audit writer commits queued entries together at least every 100ms. A
// crash loses at most that window. The payload is masked here.
func (db *DB) AuditAsync(tenant, key string, payload map[string]any) {
	if db.noAudit {
		return
	}
	payload["key"] = key
	rec := auditRecord{ID: newID(21), Key: key, Payload: maskPayload(payload), CreatedAt: msec(db.now())}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return
	}
	db.audits <- queuedAudit{tenant: tenant, rec: rec}
}

// auditLoop group-commits queued entries: it waits for one, gathers more for
// up to auditFlushEvery or auditFlushSize entries, and writes them in one
// transaction. Entries of a tenant deleted meanwhile are dropped.
func (db *DB) auditLoop() {
	defer close(db.auditDone)
	batch := make([]queuedAudit, 0, auditFlushSize)
	for first := range db.audits {
		batch = append(batch[:0], first)
		timer := time.NewTimer(auditFlushEvery)
	gather:
		for len(batch) < auditFlushSize {
			select {
			case q, ok := <-db.audits:
				if !ok {
					break gather
				}
				batch = append(batch, q)
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		err := db.bolt.Update(func(btx *bbolt.Tx) error {
			tenants := btx.Bucket(bucketTenants)
			for i := range batch {
				tb := tenants.Bucket([]byte(batch[i].tenant))
				if tb == nil {
					continue
				}
				if err := appendAudit(tb, &batch[i].rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil && db.logAuditError != nil {
			db.logAuditError(err, len(batch))
		}
	}
}

// AuditFilter selects audit entries, as Logto's GET /api/logs does.
type AuditFilter struct {
	UserID        string
	ApplicationID string
	Key           string
	Start, End    *int64 // inclusive bounds on createdAt, epoch ms
}

func (f AuditFilter) empty() bool {
	return f.UserID == "" && f.ApplicationID == "" && f.Key == "" && f.Start == nil && f.End == nil
}

func (f AuditFilter) match(r *auditRecord) bool {
	str := func(k string) string { s, _ := r.Payload[k].(string); return s }
	return (f.UserID == "" || str("userId") == f.UserID) &&
		(f.ApplicationID == "" || str("applicationId") == f.ApplicationID) &&
		(f.Key == "" || r.Key == f.Key) &&
		(f.Start == nil || r.CreatedAt >= *f.Start) &&
		(f.End == nil || r.CreatedAt <= *f.End)
}

// FindAuditEntries returns one page of tenant's audit log, newest first, and
// the number of entries that match filter.
func (db *DB) FindAuditEntries(ctx context.Context, tenant string, filter AuditFilter, p pagination.Params) ([]*AuditEntry, int, error) {
	out := make([]*AuditEntry, 0, p.PageSize)
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		log, err := tx.bucket(bucketAudit)
		if err != nil {
			return err
		}
		if filter.empty() {
			rank, err := tx.bucket(bucketAuditRank)
			if err != nil {
				return err
			}
			total = rankTotal(rank)
			c := log.Cursor()
			k, v, err := rankSeekNewest(rank, c, p.Offset())
			for ; err == nil && k != nil && len(out) < p.PageSize; k, v = c.Prev() {
				var r auditRecord
				if err := json.Unmarshal(v, &r); err != nil {
					return fmt.Errorf("decode audit entry %x: %w", k, err)
				}
				out = append(out, r.toEntry())
			}
			return err
		}
		var r auditRecord
		match := func(k, v []byte) (bool, error) {
			r = auditRecord{}
			if err := json.Unmarshal(v, &r); err != nil {
				return false, fmt.Errorf("decode audit entry %x: %w", k, err)
			}
			return filter.match(&r), nil
		}
		emit := func(_, _ []byte) error {
			out = append(out, r.toEntry())
			return nil
		}
		total, err = pagination.Walk(ctx, pagination.Reverse(log.Cursor()), p, match, emit)
		return err
	})
	return out, total, err
}

// FindAuditEntryByID returns entry id of tenant's log. Returns ENOTFOUND.
func (db *DB) FindAuditEntryByID(ctx context.Context, tenant, id string) (*AuditEntry, error) {
	var out *AuditEntry
	err := db.View(ctx, tenant, func(tx *Tx) error {
		ids, err := tx.bucket(bucketAuditIDs)
		if err != nil {
			return err
		}
		seq := ids.Get([]byte(id))
		if seq == nil {
			return notFound("log", id)
		}
		log, err := tx.bucket(bucketAudit)
		if err != nil {
			return err
		}
		var r auditRecord
		if ok, err := getJSON(log, seq, &r); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("audit index points at missing entry %s", id)
		}
		out = r.toEntry()
		return nil
	})
	return out, err
}

// PruneAudit deletes entries created before cutoff from every tenant's log,
// oldest first, in transactions of at most pruneChunk entries so that writers
// never wait long. It returns how many it deleted.
func (db *DB) PruneAudit(ctx context.Context, cutoff time.Time) (int, error) {
	var tenants []string
	db.bolt.View(func(btx *bbolt.Tx) error {
		return btx.Bucket(bucketTenants).ForEachBucket(func(k []byte) error {
			tenants = append(tenants, string(k))
			return nil
		})
	})
	deleted := 0
	for _, tenant := range tenants {
		for {
			if err := ctx.Err(); err != nil {
				return deleted, err
			}
			n := 0
			err := db.bolt.Update(func(btx *bbolt.Tx) error {
				tb := btx.Bucket(bucketTenants).Bucket([]byte(tenant))
				if tb == nil {
					return nil
				}
				log, ids, rank := tb.Bucket(bucketAudit), tb.Bucket(bucketAuditIDs), tb.Bucket(bucketAuditRank)
				c := log.Cursor()
				for k, v := c.First(); k != nil && n < pruneChunk; k, v = c.First() {
					var r auditRecord
					if err := json.Unmarshal(v, &r); err != nil {
						return fmt.Errorf("decode audit entry %x: %w", k, err)
					}
					if r.CreatedAt >= msec(cutoff) {
						break
					}
					seq := btoi(k)
					if err := c.Delete(); err != nil {
						return err
					}
					if err := ids.Delete([]byte(r.ID)); err != nil {
						return err
					}
					if err := rankAdd(rank, seq, -1); err != nil {
						return err
					}
					n++
				}
				return nil
			})
			deleted += n
			if err != nil {
				return deleted, err
			}
			if n < pruneChunk {
				break
			}
		}
	}
	return deleted, nil
}

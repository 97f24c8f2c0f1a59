package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/kv"
)

// AuditEntry is one entry of a tenant's audit log, in Logto's log shape.
type AuditEntry struct {
	ID        string
	Key       string          // e.g. Management.User.Create, ExchangeTokenBy.ClientCredentials
	Payload   json.RawMessage // an encoded AuditPayload
	CreatedAt int64
}

// AuditPayload is the payload of an entry, with Logto's field names. It is a
// struct rather than a map because token requests are audited at thousands
// per second and reflection over maps is what would cost.
type AuditPayload struct {
	Key           string            `json:"key"`
	Result        string            `json:"result"` // Success or Error
	IP            string            `json:"ip,omitempty"`
	UserAgent     string            `json:"userAgent,omitempty"`
	ApplicationID string            `json:"applicationId,omitempty"`
	UserID        string            `json:"userId,omitempty"`
	Target        *AuditTarget      `json:"target,omitempty"`
	Params        map[string]string `json:"params,omitempty"` // masked before storing
	Error         map[string]string `json:"error,omitempty"`
	TokenTypes    []string          `json:"tokenTypes,omitempty"`
	// ActorUserID is the user who made a Management write, when a person
	// did (a console session signed in with a password), beside UserID,
	// which names the user a write changed. Last, so that a record's
	// fields and the JSON keep one order.
	ActorUserID string `json:"actorUserId,omitempty"`
}

// AuditTarget names what a Management write changed, when it is not a user.
type AuditTarget struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Actor is who makes a Management API write; it travels in the context so
// that the store can audit a write in the same transaction as the change.
type Actor struct {
	ApplicationID string
	// UserID is the user acting, when the caller is a person rather than
	// an application: a console session signed in with a password.
	UserID    string
	IP        string
	UserAgent string
	// Hook is the hook event of the request's route, nil for a route that
	// fires none: a write that carries one puts the event in the tenant's
	// outbox in its own transaction (hooks.go).
	Hook *HookRequest
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

// Request-derived parameters are masked: every one whose name contains
// secret, password, token, key, authorization or assertion is stored as
// "******". The rest of a payload is written by idbolt itself.

// sensitiveName reports whether a parameter name suggests a secret.
func sensitiveName(name string) bool {
	n := strings.ToLower(name)
	for _, word := range []string{"secret", "password", "token", "key", "authorization", "assertion"} {
		if strings.Contains(n, word) {
			return true
		}
	}
	return false
}

// audit appends a Management entry to tx's tenant log, in the same
// transaction as the change it records. p names what changed; the actor and
// the result are filled in here.
func (tx *Tx) audit(key string, p AuditPayload) error {
	if err := tx.appendHookEvent(p.Target, p.UserID); err != nil {
		return err
	}
	if tx.db.noAudit {
		return nil
	}
	p.Key, p.Result = key, "Success"
	p.ApplicationID, p.IP, p.UserAgent = tx.actor.ApplicationID, tx.actor.IP, tx.actor.UserAgent
	p.ActorUserID = tx.actor.UserID
	v, err := appendCompactAudit(nil, key, msec(tx.now), randomSuffix(), &p)
	if err != nil {
		return err
	}
	return appendAudit(tx.b, v)
}

// auditTarget audits a Management write that changed the object id of kind.
func (tx *Tx) auditTarget(key, kind, id string) error {
	return tx.audit(key, AuditPayload{Target: &AuditTarget{Type: kind, ID: id}})
}

// Audit ids are Logto-shaped (21 characters of [0-9a-z]): 13 base-36 digits of
// the entry's sequence number, then 8 random ones. The sequence lets an id be
// found without an index; the random part keeps ids unguessable.
const (
	auditSeqDigits    = 13 // 36^13 > 2^64
	auditSuffixDigits = 8
)

func randomSuffix() string { return newID(auditSuffixDigits) }

func auditID(seq uint64, suffix string) string {
	s := strconv.FormatUint(seq, 36)
	return strings.Repeat("0", auditSeqDigits-len(s)) + s + suffix
}

// auditSeq returns the sequence number an audit id names.
func auditSeq(id string) (uint64, bool) {
	if len(id) != auditSeqDigits+auditSuffixDigits || strings.Trim(id, idAlphabet) != "" {
		return 0, false
	}
	seq, err := strconv.ParseUint(id[:auditSeqDigits], 36, 64)
	return seq, err == nil
}

// auditFillPercent is how full bbolt packs the audit log's pages. Its keys
// are sequence numbers, always appended at the end, so a split page is never
// written to again: bbolt's default of half full would leave half of every
// page empty for good.
const auditFillPercent = 1.0

// appendAudit writes one encoded record into a tenant bucket. Entries are
// only ever deleted from the oldest end (PruneAudit), so the live sequence
// numbers stay contiguous: that is what lets a page be found by arithmetic.
func appendAudit(tb *kv.Bucket, record []byte) error {
	log := tb.Bucket(bucketAudit)
	if log == nil {
		return fmt.Errorf("audit bucket missing")
	}
	log.SetFillPercent(auditFillPercent)
	seq, err := log.NextSequence()
	if err != nil {
		return err
	}
	return log.Put(itob(seq), record)
}

// queuedAudit is an entry waiting for the audit writer, or, when flushed is
// set, a reader's request to commit every entry queued before it.
type queuedAudit struct {
	tenant  string
	record  []byte        // the compact record (logs_record.go)
	flushed chan struct{} // closed once the entries before it are committed
}

// AuditAsync queues an entry for tenant's log without waiting for the disk:
// the audit writer commits queued entries together at least every 100ms, so a
// crash loses at most that window. It takes p.Params over and masks it in
// place.
func (db *DB) AuditAsync(tenant string, p AuditPayload) {
	if db.noAudit {
		return
	}
	for k := range p.Params {
		if sensitiveName(k) {
			p.Params[k] = "******"
		}
	}
	record, err := appendCompactAudit(make([]byte, 0, 160), p.Key, msec(db.now()), randomSuffix(), &p)
	if err != nil {
		// randomSuffix makes valid suffixes; this cannot happen.
		if db.logAuditError != nil {
			db.logAuditError(err, 1)
		}
		return
	}
	q := queuedAudit{tenant: tenant, record: record}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return
	}
	// Counted before the send, so that a reader that sees no entry pending
	// knows every send that finished before it was committed.
	db.auditQueued.Add(1)
	db.audits <- q
}

// waitForAudits returns once every entry queued before the call is committed
// (or failed to commit), so that a log read sees the token requests answered
// before it. It costs nothing when no entry is pending; otherwise it asks the
// audit writer to commit its batch now rather than at the end of its window.
// Returns ctx's error if ctx ends first.
func (db *DB) waitForAudits(ctx context.Context) error {
	if db.auditQueued.Load() == db.auditCommitted.Load() {
		return nil
	}
	flushed := make(chan struct{})
	db.mu.RLock()
	if db.closed {
		// Close commits what was queued before it returns.
		db.mu.RUnlock()
		return nil
	}
	select {
	case db.audits <- queuedAudit{flushed: flushed}:
	case <-ctx.Done():
		db.mu.RUnlock()
		return ctx.Err()
	}
	db.mu.RUnlock()
	select {
	case <-flushed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// auditLoop group-commits queued entries: it waits for one, gathers more for
// up to auditFlushEvery or auditFlushSize entries, and writes them in one
// transaction. A reader's flush request ends the gathering at once. Entries
// of a tenant deleted meanwhile are dropped.
func (db *DB) auditLoop() {
	defer close(db.auditDone)
	batch := make([]queuedAudit, 0, auditFlushSize)
	var flushes []chan struct{}
	for first := range db.audits {
		batch, flushes = batch[:0], flushes[:0]
		if first.flushed != nil {
			flushes = append(flushes, first.flushed)
		} else {
			batch = append(batch, first)
		}
		timer := time.NewTimer(auditFlushEvery)
	gather:
		for len(flushes) == 0 && len(batch) < auditFlushSize {
			select {
			case q, ok := <-db.audits:
				if !ok {
					break gather
				}
				if q.flushed != nil {
					flushes = append(flushes, q.flushed)
				} else {
					batch = append(batch, q)
				}
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		db.commitAudits(batch)
		for _, f := range flushes {
			close(f)
		}
	}
}

// commitAudits writes batch in one transaction and counts it as committed,
// whether or not the commit succeeded: a reader waits for the attempt, not
// for a success that may never come. A follower of a cluster hands the batch
// to the leader instead, and waits until it has applied the entry holding
// it, so its own readers see it.
func (db *DB) commitAudits(batch []queuedAudit) {
	if len(batch) == 0 {
		return
	}
	defer db.auditCommitted.Add(uint64(len(batch)))
	var err error
	if db.replicator != nil && !db.replicator.Leader() {
		err = db.forwardAudits(batch)
	} else {
		err = db.writeAudits(batch)
	}
	if err != nil && ErrorCode(err) != EINSUFFICIENTSTORAGE && db.logAuditError != nil {
		db.logAuditError(err, len(batch))
	}
}

// auditForwardWait bounds how long a follower tries to hand a batch to a
// leader (one may be being elected) and then waits to apply the entry that
// holds it. Meanwhile new entries queue (auditQueueSize of them) and the
// node goes on issuing tokens.
const auditForwardWait = 3 * time.Second

// forwardAudits hands batch to the leader, trying again while there is
// none, and waits until this node applied the entry that holds it.
func (db *DB) forwardAudits(batch []queuedAudit) error {
	ctx, cancel := context.WithTimeout(context.Background(), auditForwardWait)
	defer cancel()
	payload := encodeAuditBatch(batch)
	for {
		index, err := db.replicator.ForwardAudits(payload)
		if err == nil {
			return db.WaitApplied(ctx, index)
		}
		if ErrorCode(err) != EUNAVAILABLE {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
		if db.replicator.Leader() {
			return db.writeAudits(batch)
		}
	}
}

// writeAudits appends batch to the tenants' logs in one write, and marks
// the users the entries show active (dashboard.go); entries of a tenant
// deleted meanwhile are dropped. In a cluster it runs on the leader, for
// its own entries and the ones followers forward, so every entry is marked
// once and the marks replicate with the entries.
func (db *DB) writeAudits(batch []queuedAudit) error {
	return db.updateLog(func(btx *kv.Tx) error {
		tenants := btx.Bucket(bucketTenants)
		active := activityMarker{today: utcDay(msec(db.now()))}
		for i := range batch {
			q := &batch[i]
			tb := tenants.Bucket([]byte(q.tenant))
			if tb == nil {
				continue
			}
			if err := appendAudit(tb, q.record); err != nil {
				return err
			}
			if user, day, ok := activeUserOf(q.record); ok {
				if err := active.mark(q.tenant, tb, user, day); err != nil {
					return err
				}
			}
		}
		return active.flush()
	})
}

// AuditFilter selects audit entries, as Logto's GET /api/logs does.
type AuditFilter struct {
	// UserID selects the entries that name the user, as the user an entry
	// is about (userId) or as the person who made a write (actorUserId).
	UserID        string
	ApplicationID string
	Key           string
	Start, End    *int64 // inclusive bounds on createdAt, epoch ms
	// HookID keeps the delivery attempts (TriggerHook.*) of this hook.
	HookID string
}

func (f AuditFilter) empty() bool {
	return f.UserID == "" && f.ApplicationID == "" && f.Key == "" && f.Start == nil && f.End == nil && f.HookID == ""
}

// match reports whether r passes the filter; of a legacy record it decodes
// only the two payload fields it needs, and only when asked for them.
func (f AuditFilter) match(r *auditRecord) (bool, error) {
	if (f.Key != "" && r.Key != f.Key) || (f.Start != nil && r.CreatedAt < *f.Start) || (f.End != nil && r.CreatedAt > *f.End) {
		return false, nil
	}
	if f.HookID != "" {
		if ok, err := r.isAttemptOf(f.HookID); err != nil || !ok {
			return false, err
		}
	}
	if f.UserID == "" && f.ApplicationID == "" {
		return true, nil
	}
	if r.compact {
		user, actor, app, err := compactAuditWho(r.fields)
		if err != nil {
			return false, fmt.Errorf("decode audit payload %s: %w", r.ID, err)
		}
		return (f.UserID == "" || string(user) == f.UserID || string(actor) == f.UserID) &&
			(f.ApplicationID == "" || string(app) == f.ApplicationID), nil
	}
	var who struct {
		UserID        string `json:"userId"`
		ActorUserID   string `json:"actorUserId"`
		ApplicationID string `json:"applicationId"`
	}
	if err := json.Unmarshal(r.Payload, &who); err != nil {
		return false, fmt.Errorf("decode audit payload %s: %w", r.ID, err)
	}
	return (f.UserID == "" || who.UserID == f.UserID || who.ActorUserID == f.UserID) &&
		(f.ApplicationID == "" || who.ApplicationID == f.ApplicationID), nil
}

// FindAuditEntries returns one page of tenant's audit log, newest first, and
// the number of entries that match filter.
//
// It first waits for the entries queued before it (see waitForAudits), so a
// client reads its own token requests.
func (db *DB) FindAuditEntries(ctx context.Context, tenant string, filter AuditFilter, p pagination.Params) ([]*AuditEntry, int, error) {
	if err := db.waitForAudits(ctx); err != nil {
		return nil, 0, err
	}
	out := make([]*AuditEntry, 0, p.PageSize)
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		log, err := tx.bucket(bucketAudit)
		if err != nil {
			return err
		}
		if filter.empty() {
			// Live sequence numbers are contiguous (see appendAudit).
			c := log.Cursor()
			first, _ := c.First()
			last, _ := c.Last()
			if first == nil {
				return nil
			}
			lo, hi := btoi(first), btoi(last)
			total = int(hi - lo + 1)
			if p.Offset() >= total {
				return nil
			}
			k, v := c.Seek(itob(hi - uint64(p.Offset())))
			for ; k != nil && len(out) < p.PageSize; k, v = c.Prev() {
				r, err := decodeAuditRecord(k, v)
				if err != nil {
					return fmt.Errorf("decode audit entry %x: %w", k, err)
				}
				e, err := r.toEntry()
				if err != nil {
					return err
				}
				out = append(out, e)
			}
			return nil
		}
		var r auditRecord
		match := func(k, v []byte) (bool, error) {
			var err error
			if r, err = decodeAuditRecord(k, v); err != nil {
				return false, fmt.Errorf("decode audit entry %x: %w", k, err)
			}
			return filter.match(&r)
		}
		emit := func(_, _ []byte) error {
			e, err := r.toEntry()
			out = append(out, e)
			return err
		}
		total, err = pagination.Walk(ctx, pagination.Reverse(log.Cursor()), p, match, emit)
		return err
	})
	return out, total, err
}

// FindAuditEntryByID returns entry id of tenant's log, after waiting for the
// entries queued before it as FindAuditEntries does. Returns ENOTFOUND
// (entity.not_exists_with_id, as Logto).
func (db *DB) FindAuditEntryByID(ctx context.Context, tenant, id string) (*AuditEntry, error) {
	if err := db.waitForAudits(ctx); err != nil {
		return nil, err
	}
	var out *AuditEntry
	err := db.View(ctx, tenant, func(tx *Tx) error {
		seq, ok := auditSeq(id)
		if !ok {
			return notExistsWithID("logs", id)
		}
		log, err := tx.bucket(bucketAudit)
		if err != nil {
			return err
		}
		k := itob(seq)
		v := log.Get(k)
		if v == nil {
			return notExistsWithID("logs", id)
		}
		r, err := decodeAuditRecord(k, v)
		if err != nil {
			return err
		} else if r.ID != id {
			return notExistsWithID("logs", id)
		}
		out, err = r.toEntry()
		return err
	})
	return out, err
}

// PruneAudit deletes entries created before cutoff from every tenant's log,
// oldest first, in transactions of at most pruneChunk entries so that writers
// never wait long. It returns how many it deleted.
func (db *DB) PruneAudit(ctx context.Context, cutoff time.Time) (int, error) {
	deleted := 0
	for _, tenant := range db.tenantIDs() {
		for {
			if err := ctx.Err(); err != nil {
				return deleted, err
			}
			n := 0
			err := db.updateLog(func(btx *kv.Tx) error {
				tb := btx.Bucket(bucketTenants).Bucket([]byte(tenant))
				if tb == nil {
					return nil
				}
				log := tb.Bucket(bucketAudit)
				log.SetFillPercent(auditFillPercent) // pages merged by the deletes stay full
				c := log.Cursor()
				for k, v := c.First(); k != nil && n < pruneChunk; k, v = c.First() {
					r, err := decodeAuditRecord(k, v)
					if err != nil {
						return fmt.Errorf("decode audit entry %x: %w", k, err)
					}
					if r.CreatedAt >= msec(cutoff) {
						break
					}
					if err := c.Delete(); err != nil {
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

// auditLog checks the tenant's audit log: every record decodes, in either
// format, and names the sequence it is stored under, and the sequences are
// contiguous and not beyond the bucket's, as reading pages by arithmetic
// (FindAuditEntries) and ids without an index (FindAuditEntryByID) require.
func (c *integrityCheck) auditLog() error {
	log, err := c.tx.bucket(bucketAudit)
	if err != nil {
		return err
	}
	var prev uint64
	cur := log.Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		r, err := decodeAuditRecord(k, v)
		if err == nil {
			_, err = r.toEntry()
		}
		if err != nil {
			c.report("audit entry %x: %v", k, err)
			continue
		}
		seq := btoi(k)
		if id, ok := auditSeq(r.ID); !ok || id != seq {
			c.report("audit entry %d has id %q", seq, r.ID)
		}
		if prev != 0 && seq != prev+1 {
			c.report("audit entries %d to %d are missing", prev+1, seq-1)
		}
		if seq > log.Sequence() {
			c.report("audit entry %d is beyond the log's sequence %d", seq, log.Sequence())
		}
		prev = seq
	}
	return nil
}

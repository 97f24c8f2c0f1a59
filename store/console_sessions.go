package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// The admin console (api/console.go) keeps its sign-ins here. A session id
// is 32 random bytes, handed to the browser once in a cookie; the file keeps
// only its SHA-256, so a copy of the data file (a backup) signs nobody in.
// Sessions live in the data file, written through Update like every other
// record, so they survive a restart and are replicated in cluster mode.

// bucketConsoleSessions holds a tenant's console sessions: sha256(session
// id) -> consoleSessionRecord (JSON).
var bucketConsoleSessions = []byte("console_sessions")

// MaxConsoleSessions bounds the live console sessions of one tenant: a new
// sign-in beyond it first drops expired sessions and then the least recently
// used ones, so that the table stays small whatever a caller with good
// credentials does.
const MaxConsoleSessions = 1000

// consoleSessionTouch is how stale a session's last-seen time may be before
// a request writes it again: a write a minute per session, not one per
// request, costs an idle timeout at most this much precision.
const consoleSessionTouch = time.Minute

// ConsoleSession is who signed in to the console: an application (ClientID,
// with the scopes its token would get) or a user holding manager roles
// (UserID).
type ConsoleSession struct {
	ClientID string
	UserID   string
	// Scopes are the Management API scopes of a client's session, granted
	// at sign-in as a token's are.
	Scopes     []string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// ConsoleSessionLimits are the lifetimes of a session.
type ConsoleSessionLimits struct {
	Idle time.Duration // since the last request
	Max  time.Duration // since sign-in, whatever the activity
}

// DefaultConsoleSessionLimits are the lifetimes of the console's sessions:
// 30 minutes idle, 12 hours at most.
var DefaultConsoleSessionLimits = ConsoleSessionLimits{Idle: 30 * time.Minute, Max: 12 * time.Hour}

// consoleSessionRecord is the stored form of a ConsoleSession.
type consoleSessionRecord struct {
	ClientID string   `json:"clientId,omitempty"`
	UserID   string   `json:"userId,omitempty"`
	Scopes   []string `json:"scopes,omitempty"`
	// Unix nanoseconds: ClientActive compares a client's changes with
	// the sign-in to the nanosecond, as it does a token's issue time.
	CreatedAt  int64 `json:"createdAt"`
	LastSeenAt int64 `json:"lastSeenAt"`
}

func (r *consoleSessionRecord) toSession() *ConsoleSession {
	return &ConsoleSession{ClientID: r.ClientID, UserID: r.UserID, Scopes: r.Scopes,
		CreatedAt: time.Unix(0, r.CreatedAt), LastSeenAt: time.Unix(0, r.LastSeenAt)}
}

// expired reports whether a session is over at now.
func (r *consoleSessionRecord) expired(now time.Time, lim ConsoleSessionLimits) bool {
	ns := now.UnixNano()
	return ns-r.LastSeenAt >= lim.Idle.Nanoseconds() || ns-r.CreatedAt >= lim.Max.Nanoseconds()
}

// consoleSessionKey is the stored key of session id.
func consoleSessionKey(id string) []byte {
	sum := sha256.Sum256([]byte(id))
	return sum[:]
}

// errNoConsoleSession is the answer for a session that is unknown, expired
// or ended: all alike to the caller.
func errNoConsoleSession() *Error {
	return &Error{Code: EUNAUTHORIZED, Detail: "auth.unauthorized", Message: "The console session is missing, expired or ended."}
}

// CreateConsoleSession stores a new session for s at now and returns its id
// (43 URL-safe characters), which only the caller ever sees. Each sign-in
// gets a new id, so a session id planted before sign-in is worthless. Beyond
// MaxConsoleSessions live sessions it drops the expired ones and then the
// least recently seen. Returns EINVALID unless exactly one of ClientID and
// UserID is set; ENOTFOUND if the tenant does not exist.
func (db *DB) CreateConsoleSession(ctx context.Context, tenant string, s ConsoleSession, now time.Time, lim ConsoleSessionLimits) (string, error) {
	if (s.ClientID == "") == (s.UserID == "") {
		return "", Errorf(EINVALID, "A console session belongs to exactly one client or user.")
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("console session id: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(raw)
	rec := consoleSessionRecord{ClientID: s.ClientID, UserID: s.UserID, Scopes: s.Scopes,
		CreatedAt: now.UnixNano(), LastSeenAt: now.UnixNano()}
	v, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("encode console session: %w", err)
	}
	err = db.Update(ctx, tenant, func(tx *Tx) error {
		b, err := tx.bucket(bucketConsoleSessions)
		if err != nil {
			return err
		}
		if err := pruneConsoleSessions(ctx, tx, now, lim, MaxConsoleSessions-1); err != nil {
			return err
		}
		return b.Put(consoleSessionKey(id), v)
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// pruneConsoleSessions deletes the expired sessions of tx's tenant and then,
// while more than keep remain, the least recently seen.
func pruneConsoleSessions(ctx context.Context, tx *Tx, now time.Time, lim ConsoleSessionLimits, keep int) error {
	b, err := tx.bucket(bucketConsoleSessions)
	if err != nil {
		return err
	}
	type live struct {
		key      []byte
		lastSeen int64
	}
	var dead [][]byte
	var alive []live
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		var r consoleSessionRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode console session: %w", err)
		}
		key := bytes.Clone(k)
		if r.expired(now, lim) {
			dead = append(dead, key)
		} else {
			alive = append(alive, live{key, r.LastSeenAt})
		}
	}
	for len(alive) > keep {
		oldest := 0
		for i, l := range alive {
			if l.lastSeen < alive[oldest].lastSeen {
				oldest = i
			}
		}
		dead = append(dead, alive[oldest].key)
		alive = append(alive[:oldest], alive[oldest+1:]...)
	}
	for _, k := range dead {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("delete console session: %w", err)
		}
	}
	return nil
}

// PruneAllConsoleSessions deletes every tenant's expired console sessions
// at now: sessions nobody comes back to are otherwise deleted only when
// their tenant's next sign-in passes by them.
func (db *DB) PruneAllConsoleSessions(ctx context.Context, now time.Time, lim ConsoleSessionLimits) error {
	for _, tenant := range db.tenantIDs() {
		if err := db.PruneConsoleSessions(ctx, tenant, now, lim); err != nil && ErrorCode(err) != ENOTFOUND {
			return fmt.Errorf("tenant %s: %w", tenant, err)
		}
	}
	return nil
}

// PruneConsoleSessions deletes tenant's expired console sessions at now.
// Returns ENOTFOUND if the tenant does not exist.
func (db *DB) PruneConsoleSessions(ctx context.Context, tenant string, now time.Time, lim ConsoleSessionLimits) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		return pruneConsoleSessions(ctx, tx, now, lim, MaxConsoleSessions)
	})
}

// TouchConsoleSession returns session id of tenant if it is live at now,
// and records now as its last-seen time (written at most once a minute). A
// user's session ends as soon as the user is deleted or suspended; a
// client's is checked by the caller (ClientActive), as its tokens are. An
// expired or ended session is deleted. Returns EUNAUTHORIZED
// (auth.unauthorized) for an unknown, expired or ended session; ENOTFOUND if
// the tenant does not exist.
func (db *DB) TouchConsoleSession(ctx context.Context, tenant, id string, now time.Time, lim ConsoleSessionLimits) (*ConsoleSession, error) {
	key := consoleSessionKey(id)
	var rec consoleSessionRecord
	var found, ended bool
	err := db.View(ctx, tenant, func(tx *Tx) error {
		b, err := tx.bucket(bucketConsoleSessions)
		if err != nil {
			return err
		}
		v := b.Get(key)
		if v == nil {
			return nil
		}
		found = true
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode console session: %w", err)
		}
		if rec.UserID != "" {
			u, err := findUserRecord(tx, rec.UserID)
			if ErrorCode(err) == ENOTFOUND {
				ended = true
				return nil
			} else if err != nil {
				return err
			}
			ended = u.IsSuspended
		}
		return nil
	})
	if err != nil {
		return nil, err
	} else if !found {
		return nil, errNoConsoleSession()
	}
	if ended || rec.expired(now, lim) {
		if err := db.DeleteConsoleSession(ctx, tenant, id); err != nil {
			return nil, err
		}
		return nil, errNoConsoleSession()
	}
	if now.UnixNano()-rec.LastSeenAt >= consoleSessionTouch.Nanoseconds() {
		rec.LastSeenAt = now.UnixNano()
		v, err := json.Marshal(rec)
		if err != nil {
			return nil, fmt.Errorf("encode console session: %w", err)
		}
		err = db.Update(ctx, tenant, func(tx *Tx) error {
			b, err := tx.bucket(bucketConsoleSessions)
			if err != nil {
				return err
			}
			if b.Get(key) == nil {
				return errNoConsoleSession() // signed out meanwhile
			}
			return b.Put(key, v)
		})
		if err != nil {
			return nil, err
		}
	}
	return rec.toSession(), nil
}

// DeleteConsoleSession ends session id of tenant; an unknown id is no
// error, so signing out twice is harmless. Returns ENOTFOUND if the tenant
// does not exist.
func (db *DB) DeleteConsoleSession(ctx context.Context, tenant, id string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		b, err := tx.bucket(bucketConsoleSessions)
		if err != nil {
			return err
		}
		key := consoleSessionKey(id)
		if b.Get(key) == nil {
			return nil
		}
		return b.Delete(key)
	})
}

// FindUserByUsername returns tenant's user whose username is exactly
// username. Returns ENOTFOUND when there is none.
func (db *DB) FindUserByUsername(ctx context.Context, tenant, username string) (*User, error) {
	var out *User
	err := db.View(ctx, tenant, func(tx *Tx) error {
		idx, err := tx.bucket(bucketUsersByName)
		if err != nil {
			return err
		}
		id := idx.Get([]byte(username))
		if id == nil {
			return Errorf(ENOTFOUND, "No user has this username.")
		}
		r, err := findUserRecord(tx, string(id))
		if err != nil {
			return err
		}
		out = r.toUser()
		return nil
	})
	return out, err
}

// VerifyUsernamePassword returns tenant's user whose username is exactly
// username if password is that user's password, for a sign-in by password
// (the console's). An unknown username costs the same Argon2id work as a
// wrong password, so that the time of the answer does not tell which
// usernames exist. Returns EINVALID for an empty password; EUNPROCESSABLE
// (session.invalid_credentials) for an unknown username or a wrong
// password, with the user for a wrong one; ETOOMANYREQUESTS when the tenant
// has too many password checks waiting.
func (db *DB) VerifyUsernamePassword(ctx context.Context, tenant, username, password string) (*User, error) {
	u, err := db.FindUserByUsername(ctx, tenant, username)
	if ErrorCode(err) == ENOTFOUND {
		if password == "" {
			return nil, fieldError("password", "must not be empty")
		}
		ticket, err := db.hasher.admit(tenant)
		if err != nil {
			return nil, err
		}
		defer ticket.close()
		// A hash with today's parameters that no password matches.
		decoy := passwordHash{kind: hashArgon2id, memory: argonMemoryKiB, time: argonTime, threads: argonThreads,
			salt: make([]byte, argonSaltLen), key: make([]byte, argonKeyLen)}.encode()
		if _, err := ticket.verify(ctx, decoy, password); err != nil {
			return nil, err
		}
		return nil, detailErrorf(EUNPROCESSABLE, "session.invalid_credentials", "Wrong password.")
	} else if err != nil {
		return nil, err
	}
	if err := db.checkUserPassword(ctx, tenant, u.ID, password, false); err != nil {
		return u, err
	}
	return u, nil
}

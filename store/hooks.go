package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/kv"
)

// Webhooks (Logto's hooks) and their transactional outbox.
//
// A hook is a record of hooks/ like any other. What makes delivery lose
// nothing is where events are written: a Management write whose route maps
// to a hook event (Actor.Hook) appends the event to the tenant's
// hook_events/ log in the same transaction as the change, through the
// audit call every Management write makes (Tx.audit). So an event exists
// exactly when its change committed, survives a crash with it, and in
// cluster mode is part of the replicated write-set. The record lists the
// enabled hooks that subscribed to the event at commit time; a tenant
// without such hooks writes nothing. The deliverer (api/hooks_delivery.go)
// reads the log in commit order per hook from the hook's cursor
// (hook_cursors/), advances the cursor after each delivered or abandoned
// event, and prunes the events every listed hook has passed.

// Buckets of a tenant's hooks (declared in tenantSchema).
var (
	bucketHooks       = []byte("hooks")
	bucketHooksOrder  = []byte("hooks_order")
	bucketHookEvents  = []byte("hook_events")
	bucketHookCursors = []byte("hook_cursors")
)

// hooksTable holds the hooks in creation order. Every change of a hook
// also moves the hooks bucket's sequence (bumpHooks), which keys the cache
// of subscriptions.
var hooksTable = table{"hook", bucketHooks, bucketHooksOrder}

// Hook events, as Logto names them. The data events are fired by the
// Management API routes that make their change (api/hooks.go maps them);
// the interaction events may be subscribed to, as in Logto, but idbolt has
// no sign-in flow, so they never fire.
const (
	HookUserCreated                  = "User.Created"
	HookUserDeleted                  = "User.Deleted"
	HookUserDataUpdated              = "User.Data.Updated"
	HookUserSuspensionStatusUpdated  = "User.SuspensionStatus.Updated"
	HookRoleCreated                  = "Role.Created"
	HookRoleDeleted                  = "Role.Deleted"
	HookRoleDataUpdated              = "Role.Data.Updated"
	HookRoleScopesUpdated            = "Role.Scopes.Updated"
	HookScopeCreated                 = "Scope.Created"
	HookScopeDeleted                 = "Scope.Deleted"
	HookScopeDataUpdated             = "Scope.Data.Updated"
	HookOrganizationCreated          = "Organization.Created"
	HookOrganizationDeleted          = "Organization.Deleted"
	HookOrganizationDataUpdated      = "Organization.Data.Updated"
	HookOrganizationMembershipUpdate = "Organization.Membership.Updated"
	HookOrganizationRoleCreated      = "OrganizationRole.Created"
	HookOrganizationRoleDeleted      = "OrganizationRole.Deleted"
	HookOrganizationRoleDataUpdated  = "OrganizationRole.Data.Updated"
	HookOrganizationRoleScopesUpdate = "OrganizationRole.Scopes.Updated"
	HookOrganizationScopeCreated     = "OrganizationScope.Created"
	HookOrganizationScopeDeleted     = "OrganizationScope.Deleted"
	HookOrganizationScopeDataUpdated = "OrganizationScope.Data.Updated"
)

// hookEventNames lists every event a hook may subscribe to, as Logto's
// HookEvent enum does; the first four and the last three are interaction
// and exception events, accepted and never fired.
var hookEventNames = []string{
	"PostRegister", "PostSignIn", "PostSignInAdaptiveMfaTriggered", "PostResetPassword",
	HookUserCreated, HookUserDeleted, HookUserDataUpdated, HookUserSuspensionStatusUpdated,
	HookRoleCreated, HookRoleDeleted, HookRoleDataUpdated, HookRoleScopesUpdated,
	HookScopeCreated, HookScopeDeleted, HookScopeDataUpdated,
	HookOrganizationCreated, HookOrganizationDeleted, HookOrganizationDataUpdated, HookOrganizationMembershipUpdate,
	HookOrganizationRoleCreated, HookOrganizationRoleDeleted, HookOrganizationRoleDataUpdated, HookOrganizationRoleScopesUpdate,
	HookOrganizationScopeCreated, HookOrganizationScopeDeleted, HookOrganizationScopeDataUpdated,
	"Identifier.Lockout", "Message.RateLimited", "Grant.LimitExceeded",
}

// IsHookEvent reports whether name is an event a hook may subscribe to.
func IsHookEvent(name string) bool { return slices.Contains(hookEventNames, name) }

// Hook is a webhook: the events it subscribes to and where they go.
type Hook struct {
	ID     string
	Name   string
	Events []string
	Config HookConfig
	// SigningKey keys the HMAC-SHA256 signature of every delivery; Logto
	// shows it in every answer, so the store opens it on every read.
	SigningKey string
	Enabled    bool
	CreatedAt  int64
}

// HookConfig is where a hook's events are posted.
type HookConfig struct {
	URL     string
	Headers map[string]string
	// Retries is Logto's deprecated field, kept as given; delivery retries
	// by its own schedule.
	Retries *int
}

// HookCreate is the input of CreateHook.
type HookCreate struct {
	Name    string
	Events  []string
	Config  HookConfig
	Enabled *bool // true when nil
}

// HookUpdate is the input of UpdateHook; nil fields stay unchanged.
type HookUpdate struct {
	Name    *string
	Events  *[]string
	Config  *HookConfig
	Enabled *bool
}

// hookRecord is the stored form of a Hook.
type hookRecord struct {
	ID        string            `json:"id"`
	Seq       uint64            `json:"seq"`
	Name      string            `json:"name"`
	Events    []string          `json:"events"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Retries   *int              `json:"retries,omitempty"`
	KeySealed []byte            `json:"key"` // signing key sealed under the master key, bound to tenant and hook
	Enabled   bool              `json:"enabled"`
	CreatedAt int64             `json:"createdAt"`
}

func hookKeyAD(tenant, id string) []byte { return associatedData("hook-signing-key", tenant, id) }

func (r *hookRecord) toHook(tx *Tx) (*Hook, error) {
	key, err := tx.db.sealer.open(r.KeySealed, hookKeyAD(tx.tenant, r.ID))
	if err != nil {
		return nil, fmt.Errorf("open signing key of hook %s: %w", r.ID, err)
	}
	return &Hook{ID: r.ID, Name: r.Name, Events: slices.Clone(r.Events), Enabled: r.Enabled, CreatedAt: r.CreatedAt,
		SigningKey: string(key), Config: HookConfig{URL: r.URL, Headers: r.Headers, Retries: r.Retries}}, nil
}

// Hook limits.
const (
	maxHookName    = 128
	maxHookURL     = 2048
	maxHookHeaders = 32
	maxHookHeader  = 4096
	// MaxHooksPerTenant bounds a tenant's hooks, and with them the
	// deliverer's workers (one per enabled hook).
	MaxHooksPerTenant = 20
)

func validateHookName(name string) error {
	if utf8.RuneCountInString(name) > maxHookName || !utf8.ValidString(name) {
		return fieldError("name", "must be at most %d characters", maxHookName)
	}
	return checkName("name", &name)
}

func validateHookEvents(events []string) error {
	if len(events) == 0 {
		return detailErrorf(EINVALID, "hook.missing_events", "You need to provide at least one event.")
	}
	for _, e := range events {
		if !IsHookEvent(e) {
			return fieldError("events", "unknown event %q", e)
		}
	}
	return nil
}

func validateHookConfig(c *HookConfig) error {
	u, err := url.Parse(c.URL)
	if err != nil || len(c.URL) > maxHookURL || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return fieldError("config.url", "must be an http or https URL without credentials, at most %d characters", maxHookURL)
	}
	if len(c.Headers) > maxHookHeaders {
		return fieldError("config.headers", "at most %d headers", maxHookHeaders)
	}
	for k, v := range c.Headers {
		if k == "" || len(k)+len(v) > maxHookHeader || strings.ContainsAny(k, " :\r\n\x00") || strings.ContainsAny(v, "\r\n\x00") {
			return fieldError("config.headers", "invalid header %q", k)
		}
		if strings.EqualFold(k, "logto-signature-sha-256") || strings.EqualFold(k, "host") || strings.EqualFold(k, "content-length") {
			return fieldError("config.headers", "header %q cannot be set", k)
		}
	}
	return nil
}

// bumpHooks moves the hooks bucket's sequence, which keys the cache of
// subscriptions (subscribers), so the next write sees the change.
func bumpHooks(tx *Tx) error {
	b, err := tx.bucket(bucketHooks)
	if err != nil {
		return err
	}
	_, err = b.NextSequence()
	return err
}

// CreateHook stores a new hook with a random signing key. Returns EINVALID
// (hook.missing_events without events), or EUNPROCESSABLE beyond
// MaxHooksPerTenant.
func (db *DB) CreateHook(ctx context.Context, tenant string, in HookCreate) (*Hook, error) {
	if err := firstErr(validateHookName(in.Name), validateHookEvents(in.Events), validateHookConfig(&in.Config)); err != nil {
		return nil, err
	}
	id := newID(21)
	key := newID(32)
	var out *Hook
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		order, err := tx.bucket(bucketHooksOrder)
		if err != nil {
			return err
		}
		if order.Stats().KeyN >= MaxHooksPerTenant {
			return detailErrorf(EUNPROCESSABLE, "hook.too_many_hooks", "A tenant has at most %d hooks.", MaxHooksPerTenant)
		}
		sealed, err := tx.db.sealer.seal([]byte(key), hookKeyAD(tx.tenant, id))
		if err != nil {
			return err
		}
		r := hookRecord{ID: id, Name: in.Name, Events: dedupe(in.Events), URL: in.Config.URL, Headers: in.Config.Headers,
			Retries: in.Config.Retries, KeySealed: sealed, Enabled: in.Enabled == nil || *in.Enabled, CreatedAt: msec(tx.now)}
		if err := hooksTable.insert(tx, id, &r.Seq, &r); err != nil {
			return err
		}
		if err := setHookCursor(tx, id, lastHookEvent(tx)); err != nil {
			return err
		}
		if out, err = r.toHook(tx); err != nil {
			return err
		}
		return tx.auditTarget("Management.Hook.Create", "hook", id)
	})
	return out, err
}

// FindHookByID returns hook id. Returns ENOTFOUND.
func (db *DB) FindHookByID(ctx context.Context, tenant, id string) (*Hook, error) {
	var out *Hook
	err := db.View(ctx, tenant, func(tx *Tx) error {
		var r hookRecord
		if err := hooksTable.get(tx, id, &r); err != nil {
			return err
		}
		var err error
		out, err = r.toHook(tx)
		return err
	})
	return out, err
}

// FindHooks returns one page of tenant's hooks, oldest first, and their
// number.
func (db *DB) FindHooks(ctx context.Context, tenant string, p pagination.Params) ([]*Hook, int, error) {
	out := []*Hook{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		var err error
		total, err = hooksTable.walk(ctx, tx, p, false, nil, func(id string, v []byte) error {
			var r hookRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode hook %s: %w", id, err)
			}
			h, err := r.toHook(tx)
			if err != nil {
				return err
			}
			out = append(out, h)
			return nil
		})
		return err
	})
	return out, total, err
}

// UpdateHook changes hook id. Returns ENOTFOUND or EINVALID.
func (db *DB) UpdateHook(ctx context.Context, tenant, id string, upd HookUpdate) (*Hook, error) {
	if upd.Name != nil {
		if err := validateHookName(*upd.Name); err != nil {
			return nil, err
		}
	}
	if upd.Events != nil {
		if err := validateHookEvents(*upd.Events); err != nil {
			return nil, err
		}
	}
	if upd.Config != nil {
		if err := validateHookConfig(upd.Config); err != nil {
			return nil, err
		}
	}
	return db.changeHook(ctx, tenant, id, "Management.Hook.Update", func(tx *Tx, r *hookRecord) error {
		if upd.Name != nil {
			r.Name = *upd.Name
		}
		if upd.Events != nil {
			r.Events = dedupe(*upd.Events)
		}
		if upd.Config != nil {
			r.URL, r.Headers, r.Retries = upd.Config.URL, upd.Config.Headers, upd.Config.Retries
		}
		if upd.Enabled != nil && *upd.Enabled != r.Enabled {
			r.Enabled = *upd.Enabled
			// A hook switched on hears of changes from now on, not of
			// those made while it was off.
			return setHookCursor(tx, r.ID, lastHookEvent(tx))
		}
		return nil
	})
}

// HookForTest returns hook id as POST /api/hooks/{id}/test uses it: its
// signing key, with config and events in place of its own. It changes
// nothing. Returns ENOTFOUND, or EINVALID (hook.missing_events without
// events).
func (db *DB) HookForTest(ctx context.Context, tenant, id string, events []string, config HookConfig) (*Hook, error) {
	if err := firstErr(validateHookEvents(events), validateHookConfig(&config)); err != nil {
		return nil, err
	}
	hook, err := db.FindHookByID(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	hook.Events, hook.Config = dedupe(events), config
	return hook, nil
}

// RotateHookSigningKey gives hook id a new random signing key. Returns
// ENOTFOUND.
func (db *DB) RotateHookSigningKey(ctx context.Context, tenant, id string) (*Hook, error) {
	key := newID(32)
	return db.changeHook(ctx, tenant, id, "Management.Hook.SigningKey.Rotate", func(tx *Tx, r *hookRecord) error {
		sealed, err := tx.db.sealer.seal([]byte(key), hookKeyAD(tx.tenant, r.ID))
		r.KeySealed = sealed
		return err
	})
}

// changeHook applies change to hook id and stores it, in one transaction.
func (db *DB) changeHook(ctx context.Context, tenant, id, auditKey string, change func(*Tx, *hookRecord) error) (*Hook, error) {
	var out *Hook
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		var r hookRecord
		if err := hooksTable.get(tx, id, &r); err != nil {
			return err
		}
		if err := change(tx, &r); err != nil {
			return err
		}
		if err := hooksTable.update(tx, id, &r); err != nil {
			return err
		}
		if err := bumpHooks(tx); err != nil {
			return err
		}
		var err error
		if out, err = r.toHook(tx); err != nil {
			return err
		}
		return tx.auditTarget(auditKey, "hook", id)
	})
	return out, err
}

// DeleteHook removes hook id and its cursor; events waiting only for it
// are pruned with the next delivery. Returns ENOTFOUND.
func (db *DB) DeleteHook(ctx context.Context, tenant, id string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		var r hookRecord
		if err := hooksTable.get(tx, id, &r); err != nil {
			return err
		}
		if err := hooksTable.delete(tx, id, r.Seq); err != nil {
			return err
		}
		cursors, err := tx.bucket(bucketHookCursors)
		if err != nil {
			return err
		}
		if err := cursors.Delete([]byte(id)); err != nil {
			return err
		}
		if err := bumpHooks(tx); err != nil {
			return err
		}
		if err := pruneHookEvents(tx); err != nil {
			return err
		}
		return tx.auditTarget("Management.Hook.Delete", "hook", id)
	})
}

// HookRequest is what a hook event tells of the Management API request that
// made the change: the route's event, its success status and the request's
// path, method and matched route parameters. The API puts it in the
// request's Actor; the store writes an event only for writes that carry one.
type HookRequest struct {
	Event        string
	Path         string
	Method       string
	MatchedRoute string
	Status       int
	Params       map[string]string
}

// Kinds of the data of relation events, the routes' answers.
const (
	hookDataScopes    = "scopes"    // *[]*Scope: the role's scopes after POST /api/roles/{id}/scopes
	hookDataMemberIDs = "memberIds" // *map[string][]string: {"userIds": [...]} after POST /api/organizations/{id}/users
)

// HookEvent is one event of the outbox as the deliverer reads it.
type HookEvent struct {
	Seq       uint64 // its place in the tenant's log: commit order
	ID        string // random, for receivers to deduplicate by
	Event     string
	CreatedAt int64 // epoch ms, the commit's clock
	Request   HookRequest
	IP        string
	UserAgent string
	// ApplicationID is the caller of the request.
	ApplicationID string
	// Data is the changed entity after the change (*User, *Role, *Scope,
	// *Organization, *OrganizationRole or *OrganizationScope); for a
	// relation change the route's answer (*[]*Scope of a role, or
	// *map[string][]string of the member ids added), nil when it answers
	// with no body, and for deletions.
	Data any
}

// hookEventRecord is a HookEvent as stored: in the binary form of
// hooks_codec.go, or as this JSON in files written before it.
type hookEventRecord struct {
	ID        string            `json:"id"`
	Event     string            `json:"event"`
	CreatedAt int64             `json:"createdAt"`
	Hooks     []string          `json:"hooks"` // the hooks that subscribed when it committed
	Path      string            `json:"path"`
	Method    string            `json:"method"`
	Route     string            `json:"route"`
	Status    int               `json:"status"`
	Params    map[string]string `json:"params,omitempty"`
	IP        string            `json:"ip,omitempty"`
	UserAgent string            `json:"ua,omitempty"`
	AppID     string            `json:"app,omitempty"`
	Kind      string            `json:"kind,omitempty"` // what Data holds
	Data      json.RawMessage   `json:"data,omitempty"`
}

// writtenUser is a user's record as a write left it (Tx.wroteUser).
type writtenUser struct {
	id string
	r  *userRecord
}

// wroteUser offers user record r as the write leaves it, for the hook
// event's data, so the event need not read and decode it again inside the
// commit. Only a writer that does not change r afterwards in the same
// transaction may offer it.
func (tx *Tx) wroteUser(r *userRecord) { tx.written = writtenUser{r.ID, r} }

// answered offers v, what the route answers for a relation change, as the
// hook event's data (Logto's data is the route's answer): kind names its
// type for decodeSnapshot.
func (tx *Tx) answered(kind string, v any) { tx.answer = hookEventData{kind: kind, v: v} }

// hookSubscriptions caches, per tenant, which enabled hooks subscribe to
// which event, stamped with the hooks bucket's sequence it was read at
// and its first hook's id: every change of a hook moves that sequence
// inside its own transaction, so a write (even one later in the same
// commit) never uses a stale set, on any node.
type hookSubscriptions struct {
	mu      sync.Mutex
	tenants map[string]hookSubscription
}

type hookSubscription struct {
	seq uint64
	// first is the id of the first hook in the bucket: a tenant deleted
	// and made again can reach the same sequence, never the same (random)
	// hook ids, so the two together tell its hooks from the old tenant's.
	first  string
	events map[string][]string // event -> ids of the enabled hooks subscribed
}

// subscribers returns the ids of tenant's enabled hooks subscribed to
// event. A tenant without hooks pays one empty-bucket look-up.
func (tx *Tx) subscribers(event string) ([]string, error) {
	hooks, err := tx.bucket(bucketHooks)
	if err != nil {
		return nil, err
	}
	seq := hooks.Sequence()
	if seq == 0 {
		return nil, nil // never had a hook
	}
	first, _ := hooks.Cursor().First()
	c := &tx.db.hookSubs
	c.mu.Lock()
	sub, ok := c.tenants[tx.tenant]
	c.mu.Unlock()
	if !ok || sub.seq != seq || sub.first != string(first) {
		sub = hookSubscription{seq: seq, first: string(first), events: map[string][]string{}}
		err := hooks.ForEach(func(k, v []byte) error {
			var r struct {
				Events  []string `json:"events"`
				Enabled bool     `json:"enabled"`
			}
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode hook %s: %w", k, err)
			}
			if r.Enabled {
				for _, e := range r.Events {
					sub.events[e] = append(sub.events[e], string(k))
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.tenants == nil {
			c.tenants = map[string]hookSubscription{}
		}
		c.tenants[tx.tenant] = sub
		c.mu.Unlock()
	}
	return sub.events[event], nil
}

// appendHookEvent writes the event of the write's route (tx.actor.Hook),
// once per transaction, if an enabled hook subscribes to it. target names
// the entity the write changed, for the event's data. It runs inside the
// write's transaction: the event commits with the change or not at all.
func (tx *Tx) appendHookEvent(target *AuditTarget, userID string) error {
	hr := tx.actor.Hook
	if hr == nil || tx.hookWritten {
		return nil
	}
	ids, err := tx.subscribers(hr.Event)
	if err != nil || len(ids) == 0 {
		return err
	}
	tx.hookWritten = true
	rec := hookEventRecord{ID: newID(21), Event: hr.Event, CreatedAt: msec(tx.now), Hooks: ids,
		Path: hr.Path, Method: hr.Method, Route: hr.MatchedRoute, Status: hr.Status, Params: hr.Params,
		IP: tx.actor.IP, UserAgent: tx.actor.UserAgent, AppID: tx.actor.ApplicationID}
	var data hookEventData
	if carriesData(hr.Event) {
		kind, id := "user", userID
		if target != nil {
			kind, id = target.Type, target.ID
		}
		if data, err = snapshotEntity(tx, kind, id); err != nil {
			return err
		}
	} else if hr.Status != http.StatusNoContent {
		data = tx.answer
	}
	events, err := tx.bucket(bucketHookEvents)
	if err != nil {
		return err
	}
	seq, err := events.NextSequence()
	if err != nil {
		return err
	}
	v, err := appendHookEventRecord(nil, &rec, data)
	if err != nil {
		return err
	}
	events.SetFillPercent(auditFillPercent) // appended at the end only, like the audit log
	if err := events.Put(itob(seq), v); err != nil {
		return err
	}
	tx.db.hookAppended.Store(true)
	return nil
}

// carriesData reports whether event's payload holds the changed entity:
// creations and data changes do; deletions and relation changes do not.
// Logto's payload data is the route's answer: the changed entity for the
// first, nothing for deletions, and for the relation changes that answer
// with a body, that body (Tx.answered).
func carriesData(event string) bool {
	return strings.HasSuffix(event, ".Created") || strings.HasSuffix(event, ".Data.Updated") ||
		strings.HasSuffix(event, ".SuspensionStatus.Updated")
}

// snapshotEntity returns entity id of kind as it is in tx, or no data for
// a kind without any.
func snapshotEntity(tx *Tx, kind, id string) (hookEventData, error) {
	var v any
	switch kind {
	case "user":
		if w := tx.written; w.r != nil && w.id == id {
			return hookEventData{kind: kind, user: w.r}, nil
		}
		r, err := findUserRecord(tx, id)
		if err != nil {
			return hookEventData{}, err
		}
		return hookEventData{kind: kind, user: r}, nil
	case "role":
		r, err := findRole(tx, id)
		if err != nil {
			return hookEventData{}, err
		}
		v = r.toRole()
	case "scope":
		r, err := findScope(tx, id)
		if err != nil {
			return hookEventData{}, err
		}
		v = r.toScope()
	case "organization":
		r, err := findOrg(tx, id)
		if err != nil {
			return hookEventData{}, err
		}
		v = r.toOrganization()
	case "organizationRole":
		r, err := findOrgRole(tx, id)
		if err != nil {
			return hookEventData{}, err
		}
		v = r.toRole()
	case "organizationScope":
		r, err := findOrgScope(tx, id)
		if err != nil {
			return hookEventData{}, err
		}
		v = r.toScope()
	default:
		return hookEventData{}, nil
	}
	return hookEventData{kind: kind, v: v}, nil
}

// decodeSnapshot turns a stored snapshot back into its entity.
func decodeSnapshot(kind string, data json.RawMessage) (any, error) {
	if len(data) == 0 {
		return nil, nil
	}
	var v any
	switch kind {
	case "user":
		v = new(User)
	case "role":
		v = new(Role)
	case "scope":
		v = new(Scope)
	case "organization":
		v = new(Organization)
	case "organizationRole":
		v = new(OrganizationRole)
	case "organizationScope":
		v = new(OrganizationScope)
	case hookDataScopes:
		v = new([]*Scope)
	case hookDataMemberIDs:
		v = new(map[string][]string)
	default:
		return nil, fmt.Errorf("hook event data of unknown kind %q", kind)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("decode hook event data: %w", err)
	}
	return v, nil
}

// HookEventsAppended returns a channel that receives after a commit that
// appended hook events, so the deliverer need not poll the file. One
// receive may stand for many commits.
func (db *DB) HookEventsAppended() <-chan struct{} { return db.hookWake }

// signalHookEvents wakes the deliverer if the commit that just succeeded
// appended events. Only the committer calls it.
func (db *DB) signalHookEvents() {
	if db.hookAppended.Swap(false) {
		select {
		case db.hookWake <- struct{}{}:
		default:
		}
	}
}

// lastHookEvent returns the sequence of the tenant's newest event (0 for
// none): a new or re-enabled hook's cursor starts there.
func lastHookEvent(tx *Tx) uint64 {
	events := tx.b.Bucket(bucketHookEvents)
	if events == nil {
		return 0
	}
	return events.Sequence()
}

func setHookCursor(tx *Tx, hookID string, seq uint64) error {
	cursors, err := tx.bucket(bucketHookCursors)
	if err != nil {
		return err
	}
	return cursors.Put([]byte(hookID), itob(seq))
}

func hookCursor(tx *Tx, hookID string) (uint64, error) {
	cursors, err := tx.bucket(bucketHookCursors)
	if err != nil {
		return 0, err
	}
	v := cursors.Get([]byte(hookID))
	if len(v) != 8 {
		return 0, fmt.Errorf("hook %s: cursor missing", hookID)
	}
	return btoi(v), nil
}

// HookRef names one hook of one tenant.
type HookRef struct {
	Tenant string
	HookID string
}

// FindEnabledHooks returns every enabled hook of every tenant: the
// deliverer runs one worker for each.
func (db *DB) FindEnabledHooks(ctx context.Context) ([]HookRef, error) {
	var out []HookRef
	for _, tenant := range db.tenantIDs() {
		err := db.View(ctx, tenant, func(tx *Tx) error {
			hooks, err := tx.bucket(bucketHooks)
			if err != nil {
				return err
			}
			return hooks.ForEach(func(k, v []byte) error {
				var r struct {
					Enabled bool `json:"enabled"`
				}
				if err := json.Unmarshal(v, &r); err != nil {
					return fmt.Errorf("decode hook %s: %w", k, err)
				}
				if r.Enabled {
					out = append(out, HookRef{Tenant: tenant, HookID: string(k)})
				}
				return nil
			})
		})
		if err != nil && ErrorCode(err) != ENOTFOUND { // a tenant deleted meanwhile
			return nil, err
		}
	}
	return out, nil
}

// NextHookEvents returns up to limit of hook's next events after its
// cursor, or after passed when that is further (the deliverer's own
// position: it stores the cursor in batches), in commit order, with the
// hook as it is now. It returns no events when none waits, and ENOTFOUND
// when the hook (or its tenant) is gone.
func (db *DB) NextHookEvents(ctx context.Context, tenant, hookID string, passed uint64, limit int) (*Hook, []*HookEvent, error) {
	var hook *Hook
	var out []*HookEvent
	err := db.View(ctx, tenant, func(tx *Tx) error {
		var r hookRecord
		if err := hooksTable.get(tx, hookID, &r); err != nil {
			return err
		}
		var err error
		if hook, err = r.toHook(tx); err != nil {
			return err
		}
		after, err := hookCursor(tx, hookID)
		if err != nil {
			return err
		}
		after = max(after, passed)
		events, err := tx.bucket(bucketHookEvents)
		if err != nil {
			return err
		}
		c := events.Cursor()
		for k, v := c.Seek(itob(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			ev, hooks, err := db.hookDecoded.decode(tx.tenant, btoi(k), v)
			if err != nil {
				return err
			}
			if slices.Contains(hooks, hookID) {
				out = append(out, ev)
			}
		}
		return nil
	})
	return hook, out, err
}

// hookEventCache keeps the last events decoded, so that the workers of a
// tenant's hooks, which read the same events at about the same time,
// decode each once. An entry is used only when the stored bytes are the
// ones it was decoded from (a tenant deleted and made again numbers its
// events from 1 anew).
type hookEventCache struct {
	mu      sync.Mutex
	entries map[hookEventKey]decodedHookEvent
}

type hookEventKey struct {
	tenant string
	seq    uint64
}

type decodedHookEvent struct {
	raw   []byte
	ev    *HookEvent // shared by the readers: never changed
	hooks []string
}

// hookEventCacheSize bounds the cache; when full it starts again empty.
const hookEventCacheSize = 1024

// decode returns the event stored as v at seq of tenant, and the hooks it
// lists.
func (c *hookEventCache) decode(tenant string, seq uint64, v []byte) (*HookEvent, []string, error) {
	key := hookEventKey{tenant, seq}
	c.mu.Lock()
	d, ok := c.entries[key]
	c.mu.Unlock()
	if ok && bytes.Equal(d.raw, v) {
		return d.ev, d.hooks, nil
	}
	rec, data, err := decodeHookEventRecord(v)
	if err != nil {
		return nil, nil, fmt.Errorf("decode hook event %d: %w", seq, err)
	}
	d = decodedHookEvent{raw: slices.Clone(v), hooks: rec.Hooks, ev: &HookEvent{Seq: seq, ID: rec.ID, Event: rec.Event,
		CreatedAt: rec.CreatedAt, Request: HookRequest{Event: rec.Event, Path: rec.Path, Method: rec.Method,
			MatchedRoute: rec.Route, Status: rec.Status, Params: rec.Params},
		IP: rec.IP, UserAgent: rec.UserAgent, ApplicationID: rec.AppID, Data: data}}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= hookEventCacheSize {
		c.entries = make(map[hookEventKey]decodedHookEvent, hookEventCacheSize)
	}
	c.entries[key] = d
	c.mu.Unlock()
	return d.ev, d.hooks, nil
}

// AdvanceHookCursor records that hook is done with the events up to seq
// (delivered, or abandoned after the retry window) and prunes the events
// every hook has passed. It never moves a cursor back. Returns ENOTFOUND
// when the hook is gone.
func (db *DB) AdvanceHookCursor(ctx context.Context, tenant, hookID string, seq uint64) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		if ok, err := hooksTable.exists(tx, hookID); err != nil || !ok {
			return cmpErr(err, notFound("hook", hookID))
		}
		cur, err := hookCursor(tx, hookID)
		if err != nil {
			return err
		}
		if seq <= cur {
			return nil
		}
		if err := setHookCursor(tx, hookID, seq); err != nil {
			return err
		}
		return pruneHookEvents(tx)
	})
}

// maxPrunePerWrite bounds the events one write prunes.
const maxPrunePerWrite = 500

// pruneHookEvents deletes events from the oldest end while every hook the
// event lists has passed it or is gone.
func pruneHookEvents(tx *Tx) error {
	events, err := tx.bucket(bucketHookEvents)
	if err != nil {
		return err
	}
	cursors, err := tx.bucket(bucketHookCursors)
	if err != nil {
		return err
	}
	c := events.Cursor()
	var done [][]byte
	for k, v := c.First(); k != nil && len(done) < maxPrunePerWrite; k, v = c.Next() {
		hooks, err := hookEventHooks(v)
		if err != nil {
			return fmt.Errorf("decode hook event %d: %w", btoi(k), err)
		}
		seq := btoi(k)
		for _, h := range hooks {
			if cur := cursors.Get([]byte(h)); len(cur) == 8 && btoi(cur) < seq {
				goto stop
			}
		}
		done = append(done, slices.Clone(k))
	}
stop:
	for _, k := range done {
		if err := events.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// PendingHookEvents returns the number of events in each tenant's outbox
// that some hook has yet to pass, for the queue-depth metric.
func (db *DB) PendingHookEvents(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	for _, tenant := range db.tenantIDs() {
		err := db.View(ctx, tenant, func(tx *Tx) error {
			events, err := tx.bucket(bucketHookEvents)
			if err != nil {
				return err
			}
			if n := events.Stats().KeyN; n > 0 {
				out[tenant] = n
			}
			return nil
		})
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return nil, err
		}
	}
	return out, nil
}

// hookAttemptPrefix starts the audit key of a delivery attempt, as in
// Logto: TriggerHook.<event>.
const hookAttemptPrefix = "TriggerHook."

// isAttemptOf reports whether audit record r is a delivery attempt of
// hook id: its key is TriggerHook.* and its target the hook.
func (r *auditRecord) isAttemptOf(hookID string) (bool, error) {
	if !strings.HasPrefix(r.Key, hookAttemptPrefix) {
		return false, nil
	}
	e, err := r.toEntry()
	if err != nil {
		return false, err
	}
	var p struct {
		Target *AuditTarget `json:"target"`
	}
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return false, fmt.Errorf("decode audit payload %s: %w", r.ID, err)
	}
	return p.Target != nil && p.Target.Type == "hook" && p.Target.ID == hookID, nil
}

// HookAttempts counts a hook's delivery attempts: Logto's executionStats.
type HookAttempts struct {
	All       int
	Succeeded int
}

// CountHookAttempts returns, for each of hookIDs, the number of delivery
// attempts audited since the given epoch ms and how many of them
// succeeded, from one walk of the audit log however many hooks are asked
// for (a list with includeExecutionStats asks for a page of them).
func (db *DB) CountHookAttempts(ctx context.Context, tenant string, hookIDs []string, since int64) (map[string]HookAttempts, error) {
	if err := db.waitForAudits(ctx); err != nil {
		return nil, err
	}
	out := make(map[string]HookAttempts, len(hookIDs))
	for _, id := range hookIDs {
		out[id] = HookAttempts{}
	}
	err := db.View(ctx, tenant, func(tx *Tx) error {
		log, err := tx.bucket(bucketAudit)
		if err != nil {
			return err
		}
		c := log.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, err := decodeAuditRecord(k, v)
			if err != nil {
				return fmt.Errorf("decode audit entry %x: %w", k, err)
			}
			if r.CreatedAt < since {
				return nil // entries are appended in time order
			}
			if !strings.HasPrefix(r.Key, hookAttemptPrefix) {
				continue
			}
			e, err := r.toEntry()
			if err != nil {
				return err
			}
			var p struct {
				Result string       `json:"result"`
				Target *AuditTarget `json:"target"`
			}
			if err := json.Unmarshal(e.Payload, &p); err != nil {
				return fmt.Errorf("decode audit payload %s: %w", r.ID, err)
			}
			if p.Target == nil || p.Target.Type != "hook" {
				continue
			}
			n, asked := out[p.Target.ID]
			if !asked {
				continue
			}
			n.All++
			if p.Result == "Success" {
				n.Succeeded++
			}
			out[p.Target.ID] = n
		}
		return nil
	})
	return out, err
}

// resealHookKeys re-encrypts every hook's signing key from one master key
// to another (RotateMasterKey).
func resealHookKeys(tenants *kv.Bucket, from, to *sealer) error {
	return tenants.ForEachBucket(func(name []byte) error {
		hooks := tenants.Bucket(name).Bucket(bucketHooks)
		if hooks == nil {
			return nil // a file from before hooks: Open creates the bucket
		}
		var resealed [][2][]byte
		err := hooks.ForEach(func(k, v []byte) error {
			var r hookRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("tenant %s: hook %s: %w", name, k, err)
			}
			ad := hookKeyAD(string(name), r.ID)
			key, err := from.open(r.KeySealed, ad)
			if err != nil {
				return fmt.Errorf("tenant %s: hook %s signing key: %w", name, k, err)
			}
			if r.KeySealed, err = to.seal(key, ad); err != nil {
				return err
			}
			nv, err := json.Marshal(&r)
			if err != nil {
				return err
			}
			resealed = append(resealed, [2][]byte{slices.Clone(k), nv})
			return nil
		})
		if err != nil {
			return err
		}
		for _, kvp := range resealed {
			if err := hooks.Put(kvp[0], kvp[1]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Package store owns idbolt's domain types (User, Application, Resource, Role,
// Tenant, ...), their validation, the error model and the data file.
//
// # Files
//
// The file names show the architecture. Storage machinery, which knows
// buckets, records and relations but no entity, is in files named db_*.go:
// the committer and DB.Update (db_commit.go), every write transaction's
// db.update and the disk-space health (db_storage.go), record and key
// encoding and the bucket names (db_codec.go), the table, named table
// and relation mechanisms (db_table.go, db_named_table.go, db_relation.go),
// the helpers every relation route shares (db_assign.go: dedupe, checkAll,
// assign, unassign, fk), the integrity check (db_integrity.go), the master
// key, backup, file checks, locks and metrics. Pieces that need none of
// package store's types are packages of their own: store/kv (the key-value
// layer), store/internal/rankindex (the counting indexes behind deep pages)
// and store/search (Logto's search syntax). A file prefix rather than more
// packages keeps the rest together: machinery and entities share Tx, Error
// and the record types, and splitting them would export what only the store
// uses.
//
// Every other file holds one entity and is named as the api/ file that
// serves it: users.go (records, create, update, delete), applications.go,
// application_secrets.go, resources.go, resource_scopes.go, roles.go,
// role_relations.go, organizations.go, organization_members.go,
// organization_roles.go, organization_scopes.go, invitations.go,
// api_clients.go, user_keys.go, managers.go, tenants.go, system_admins.go,
// logs.go (the audit log), signing_keys.go. An entity's further files share
// its stem (users_search.go, users_search_plan.go, users_password.go,
// users_batch.go, users_codec.go, users_integrity.go, logs_record.go, ...);
// jti.go and organization_tokens.go serve the token endpoint (auth/).
// store.go opens the file and declares DB and Tx, errors.go is the error
// model and text.go the shared text validation.
// TestLayout_FilesShowTheArchitecture keeps every file in one of these
// groups.
//
// Relations of one shape share one mechanism parameterised by a kind table:
// memberKind for the users and applications that are organization members,
// roleHolderKind for the users and applications that hold roles.
//
// # Bucket layout
//
//	meta/                          instance settings
//	  sealed_secret_hash_key       HMAC key for client secret hashes, sealed
//	  master_key_check             a known text sealed under the master key,
//	                               so a wrong key fails at Open (db_masterkey.go)
//	  scrub_pending                set until the file is rewritten without
//	                               the free pages an upgrade or rotation left
//	  user_record_format           1: every user record is binary (users_codec.go);
//	                               absent in files of JSON records, which Open
//	                               rewrites
//	system_admins/<app id>         instance administrators: applications of
//	                               tenant default that get system tokens
//	                               (system_admins.go); outside every tenant's
//	                               role model, so no /api route reaches it
//	tenants/                       one nested bucket per tenant id
//	  <tenant>/
//	    meta/tenant                tenant record (name, own rate limit,
//	                               webhook URL and sealed webhook key)
//	    users/<seq>                user record; seq is an 8-byte big-endian
//	                               sequence, so a cursor walks creation order;
//	                               binary, versioned, pages filled to 100%
//	                               (users_codec.go; JSON before it, still read)
//	    users_rank/<lvl><block>    live-entry counts per block of seqs (internal/rankindex)
//	    user_ids/<id>              -> seq
//	    users_by_username/<name>   -> user id (unique)
//	    users_by_email/<lower>     -> user id (unique, case-insensitive)
//	    users_by_phone/<phone>     -> user id (unique); these four serve
//	                               exact searches too (users_search_plan.go)
//	    apps/<client id>           application record with hashed secrets
//	    resources/<id>             API resource record
//	    resources_by_indicator/<i> -> resource id (unique)
//	    scopes/<id>                scope record (names its resource)
//	    roles/<id>                 role record
//	    role_scopes/<role>\x00<scope>
//	    app_roles/<app>\x00<role>  and role_apps/<role>\x00<app>: both
//	                               directions, so deleting either side can
//	                               drop the relation in the same transaction
//	    orgs/<id>                  organization record (list order: id)
//	    org_roles/<id>, org_scopes/<id>
//	                               organization template; *_by_name/<name> -> id
//	                               is unique and is the list order
//	    org_users/<org>\x00<user>  membership, mirrored in user_orgs; org_users_rank
//	                               counts members per id prefix (internal/rankindex)
//	    org_apps/<org>\x00<app>    application membership, mirrored in app_orgs
//	    org_user_roles/<org>\x00<user>\x00<role>
//	                               a member's roles (org_app_roles for apps),
//	                               mirrored in org_role_users (org_role_apps)
//	    org_role_scopes, org_role_resource_scopes
//	                               an organization role's scopes, mirrored
//	    invitations/<id>           invitation record, invitations_order/<seq>;
//	                               org_invitations/<org>\x00<id>,
//	                               invitations_pending/<org>\x00<invitee> -> id,
//	                               invitation_roles/<id>\x00<role>, mirrored
//	    api_clients/<client id>    API client record, api_clients_order/<seq>;
//	                               api_client_state/<client id> -> disabled
//	                               flag and the Unix second tokens count from
//	                               (api_clients.go); its app has the same id
//	    service_keys/<user>\x00<key> a service user's public key (PKIX DER)
//	    jtis/<expiry ms><sha256(client\x00jti)> -> client id: a JWT bearer
//	                               assertion's used jti, until it expires;
//	                               pruned from the front, read into memory
//	                               (jti.go)
//	    managers/<user>\x00<scope>  manager roles at one scope (17 bytes);
//	                               managers_by_scope/<scope>\x00<user>, and
//	                               g\x00<org>\x00<res>\x00<user> for grants
//	                               (managers.go)
//	    signing_keys/<seq>         private JWK sealed under the master key
//	                               (AES-256-GCM, bound to tenant and kid); the
//	                               newest signs, older ones verify until their
//	                               retire time
//	    audit/<seq>                audit entry, a compact binary record led by
//	                               its format byte (logs_record.go; files of
//	                               earlier versions keep JSON in an envelope,
//	                               read as they are); pages filled to 100%;
//	                               deleted only from the oldest end, so live
//	                               seqs are contiguous and the entry id (13
//	                               base-36 digits of seq + 8 random) needs no
//	                               index
//
// A Tx is bound to one tenant bucket and cannot reach another tenant's keys;
// deleting a tenant is one DeleteBucket. Records are JSON of unexported
// xRecord structs (db_codec.go), so renaming an API field never rewrites data.
// Secondary indexes are written in the same transaction as their record and
// uniqueness is checked through them.
//
// Writes go through DB.Update and one committer goroutine (db_commit.go): a 2xx
// is sent only after the commit is synced, a lone writer never waits for a
// timer, and writes that queue while a commit syncs share the next one. A
// Management write's audit entry is part of the same transaction; token
// requests' entries are queued and group-committed by the audit writer.
//
// # Key-value layer
//
// Store code never touches bbolt: every read and write of a transaction goes
// through store/kv, a thin wrapper with bbolt's own operations and names
// (kv.Tx, kv.Bucket, kv.Cursor). Every write transaction runs in db.update
// (db_storage.go): the committer's batches, the audit writer, jti writes and
// pruning, tenant creation and deletion, Ping. When Options.OnCommit is set,
// db.update records the transaction's write-set, the ordered bucket
// creations and deletions, puts, deletes and resulting sequence values with
// their full bucket paths, and hands it over once committed. A write-set is
// the transaction's result, not its intention: kv.Apply replays it onto
// another file holding the same data and leaves identical data, whatever
// clocks, random ids or reads the transaction used. That is what cluster mode
// will replicate. The store and API tests record every commit and check,
// when each file closes, that replaying the write-sets onto a copy of the
// file as it was opened gives the same kv.Checksum. Only opening (store.go),
// backup and file checks (db_backup.go) and the offline rewrite of the file
// (db_masterkey.go) use bbolt directly; TestLayer_OnlyKVImportsBbolt enforces it.
package store

// Package store owns idbolt's domain types (User, Application, Resource, Role,
// Tenant, ...), their validation, the error model and all bbolt code.
//
// # Bucket layout
//
//	meta/                          instance settings
//	  secret_hash_key              HMAC key for client secret hashes
//	tenants/                       one nested bucket per tenant id
//	  <tenant>/
//	    meta/tenant                tenant record
//	    users/<seq>                user record; seq is an 8-byte big-endian
//	                               sequence, so a cursor walks creation order
//	    users_rank/<lvl><block>    live-entry counts per block of seqs (rank.go)
//	    user_ids/<id>              -> seq
//	    users_by_username/<name>   -> user id (unique)
//	    users_by_email/<lower>     -> user id (unique, case-insensitive)
//	    users_by_phone/<phone>     -> user id (unique)
//	    apps/<client id>           application record with hashed secrets
//	    resources/<id>             API resource record
//	    resources_by_indicator/<i> -> resource id (unique)
//	    scopes/<id>                scope record (names its resource)
//	    roles/<id>                 role record
//	    role_scopes/<role>\x00<scope>
//	    app_roles/<app>\x00<role>  and role_apps/<role>\x00<app>: both
//	                               directions, so deleting either side can
//	                               drop the relation in the same transaction
//	    signing_keys/<seq>         private JWK; the newest signs
//
// A Tx is bound to one tenant bucket and cannot reach another tenant's keys;
// deleting a tenant is one DeleteBucket. Records are JSON of unexported
// xRecord structs (codec.go), so renaming an API field never rewrites data.
// Secondary indexes are written in the same transaction as their record and
// uniqueness is checked through them.
//
// Writes go through DB.Update, which shares commits between concurrent
// callers (bbolt's Batch): a 2xx is sent only after the commit is synced, and
// many parallel writers share one fsync.
package store

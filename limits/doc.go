// Package limits holds idbolt's rate limits: token buckets keyed by tenant (or
// any other string), with an injected clock so tests need no sleeps. It has no
// HTTP code; the api package turns a refusal into 429 with Retry-After.
package limits

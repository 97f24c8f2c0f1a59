// Package jwtcustom runs Logto's custom JWT claims scripts: the JavaScript
// that defines getCustomJwtClaims({ token, context, environmentVariables,
// api }) and returns extra claims for an access token.
//
// Scripts run in goja, a JavaScript engine written in Go, with nothing but
// the language: no require, fetch, timers, process or file access exist in
// a bare goja runtime, and none are added. Each script is compiled once and
// run in runtimes of its own (never shared between scripts, so one tenant's
// script cannot change the built-ins another's sees), pooled because making
// a runtime costs more than a run.
//
// A run is bounded in time and in memory (watch.go): at Limits.Timeout, or
// once it has allocated more than Limits.MaxAllocBytes, the runtime is
// interrupted. An interrupt only lands between two instructions, so what
// one native step may do is bounded too (harden.go): the built-ins that
// allocate in proportion to their arguments, or multiply them (repeat,
// padStart, padEnd, join, concat, replace, flat, flatMap, JSON.stringify,
// Array, Array.from, apply, buffers and typed arrays, every
// Array.prototype method), refuse results longer than Limits.MaxLength
// elements or characters; backtracking regular expressions time out; and
// the features whose single operations have no bound at all are absent
// (BigInt, Proxy, eval and the Function constructors). The script's source and
// its answer are bounded in bytes too; the answer's JSON is written in Go.
package jwtcustom

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
// A run is bounded in time (Limits.Timeout: the runtime is interrupted) and
// in what it can allocate in one step: the built-ins that allocate in
// proportion to an argument (String.prototype.repeat, padStart, padEnd,
// ArrayBuffer, Array.from, and every Array.prototype method, which walk an
// array's length natively) refuse sizes above Limits.MaxLength, because an
// interrupt only lands between two instructions. What remains is what the
// script can allocate instruction by instruction before its time is up.
// The script's source and its answer are bounded in bytes too.
package jwtcustom

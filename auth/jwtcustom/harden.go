package jwtcustom

import (
	"errors"

	"github.com/dop251/goja"
)

// harden caps, in a fresh runtime, the built-ins that allocate in
// proportion to their arguments in one native step, where an interrupt
// cannot land.
func (e *Engine) harden(rt *goja.Runtime) error {
	fn, err := rt.RunString(hardenJS)
	if err != nil {
		return err
	}
	call, ok := goja.AssertFunction(fn)
	if !ok {
		return errors.New("harden is not a function")
	}
	_, err = call(goja.Undefined(), rt.ToValue(e.limits.MaxLength))
	return err
}

// hardenJS replaces the sized built-ins with wrappers that check the size
// of what the original would build and then call it on the checked values:
// every argument is converted once, so a toString or a getter cannot show
// the check one value and the original another. The originals, and the
// built-ins the wrappers use, stay in this closure, out of a script's
// reach. Proxy is removed: a Proxy can report one length to a check and
// another to the original.
//
// What is capped at max: a string's or an array's length (repeat, padStart,
// padEnd, join, concat, replace, replaceAll, Array, Array.from, flat,
// flatMap, concat, every Array.prototype method on a longer array, buffers
// and typed arrays), and the JSON JSON.stringify writes.
const hardenJS = `(function (max) {
  'use strict';
  const RA = Reflect.apply, RC = Reflect.construct, S = String, N = Number, isArray = Array.isArray,
    isView = ArrayBuffer.isView, getProto = Object.getPrototypeOf, getDesc = Object.getOwnPropertyDescriptor,
    define = Object.defineProperty, ownKeys = Reflect.ownKeys, keys = Object.keys, RE = RangeError, TE = TypeError;
  const tooLarge = (what) => { throw new RE(what + ' larger than ' + max + ' is not allowed'); };
  const len = (n) => { n = N(n); return n > max ? tooLarge('a length') : n; };
  // lengthOf is the length an array-like has; one whose length is an
  // accessor could answer the check and the original differently.
  const lengthOf = (x) => {
    if (x == null) return 0;
    if (isArray(x) || isView(x) || typeof x === 'string') return len(x.length);
    if (typeof x !== 'object' && typeof x !== 'function') return 0;
    for (let o = x; o !== null; o = getProto(o)) {
      const d = getDesc(o, 'length');
      if (d) {
        if (d.get || d.set) throw new TE('an array-like whose length is an accessor is not allowed here');
        return len(d.value);
      }
    }
    return 0;
  };
  const method = (obj, name, fn) => {
    if (typeof obj[name] !== 'function') return;
    define(obj, name, { value: fn(obj[name]), writable: true, configurable: true, enumerable: false });
  };
  const AP = Array.prototype, SP = String.prototype;
  for (const name of Object.getOwnPropertyNames(AP)) {
    if (name === 'constructor') continue;
    method(AP, name, (orig) => function (...args) { lengthOf(this); return RA(orig, this, args); });
  }
  const text = (v) => (v == null ? '' : S(v));
  method(AP, 'join', (orig) => function (sep) {
    const n = lengthOf(this), s = sep === undefined ? ',' : S(sep);
    const parts = [];
    let total = 0;
    for (let i = 0; i < n; i++) {
      const p = text(this[i]);
      total += p.length + s.length;
      if (total > max) tooLarge('a string');
      parts[i] = p;
    }
    return RA(orig, parts, [s]);
  });
  // Both call every element's conversion natively and join the results.
  method(AP, 'toString', () => function () { return this.join(); });
  method(AP, 'toLocaleString', () => function () { return this.join(); });
  // concat gets arrays only, built here: an object spreads by its
  // Symbol.isConcatSpreadable, which a getter could answer differently to
  // the check and to the original.
  const IS_SPREADABLE = Symbol.isConcatSpreadable;
  const spreadable = (a) => {
    if (a === null || typeof a !== 'object') return false;
    const flag = a[IS_SPREADABLE];
    return flag !== undefined ? !!flag : isArray(a);
  };
  method(AP, 'concat', (orig) => function (...args) {
    const parts = [];
    let total = 0;
    for (const a of [Object(this), ...args]) {
      if (spreadable(a)) {
        const n = lengthOf(a), copy = [];
        total += n;
        if (total > max) tooLarge('an array');
        for (let i = 0; i < n; i++) if (i in a) copy[i] = a[i];
        copy.length = n;
        parts.push(copy);
      } else {
        total += 1;
        parts.push([a]);
      }
      if (total > max) tooLarge('an array');
    }
    return RA(orig, [], parts);
  });
  // flatLength is the length of a.flat(depth).
  const flatLength = (a, depth) => {
    if (!(depth >= 1)) return lengthOf(a);
    let total = 0;
    const n = lengthOf(a);
    for (let i = 0; i < n; i++) {
      const v = a[i];
      total += isArray(v) ? flatLength(v, depth - 1) : 1;
      if (total > max) tooLarge('an array');
    }
    return total;
  };
  method(AP, 'flat', (orig) => function (depth) {
    const d = depth === undefined ? 1 : N(depth);
    flatLength(this, d);
    return RA(orig, this, [d]);
  });
  method(AP, 'flatMap', (orig) => function (fn, thisArg) {
    let total = 0;
    const counted = function (...a) {
      const v = RA(fn, this, a);
      total += isArray(v) ? lengthOf(v) : 1;
      if (total > max) tooLarge('an array');
      return v;
    };
    return RA(orig, this, [counted, thisArg]);
  });
  method(SP, 'repeat', (orig) => function (count) {
    const s = S(this), c = N(count);
    len(s.length * c);
    return RA(orig, s, [c]);
  });
  for (const name of ['padStart', 'padEnd']) {
    method(SP, name, (orig) => function (target, fill) {
      const s = S(this), n = len(target);
      return RA(orig, s, fill === undefined ? [n] : [n, S(fill)]);
    });
  }
  method(SP, 'concat', (orig) => function (...args) {
    const s = S(this), parts = [];
    let total = s.length;
    for (const a of args) { const p = S(a); total += p.length; if (total > max) tooLarge('a string'); parts.push(p); }
    return RA(orig, s, parts);
  });
  for (const name of ['replace', 'replaceAll']) {
    method(SP, name, (orig) => function (pattern, replacement) {
      const s = S(this);
      if (typeof replacement === 'function') {
        let total = s.length;
        const counted = function (...a) {
          const r = S(RA(replacement, this, a));
          total += r.length;
          if (total > max) tooLarge('a string');
          return r;
        };
        return RA(orig, s, [pattern, counted]);
      }
      const r = S(replacement);
      // $' and its kin insert up to the whole string at each match.
      const each = r.length + (r.includes('$') ? 2 * s.length : 0);
      len((s.length + 1) * (each + 1));
      return RA(orig, s, [pattern, r]);
    });
  }
  // Arguments from an array-like are copied natively.
  method(Function.prototype, 'apply', (orig) => function (self, args) { lengthOf(args); return RA(orig, this, [self, args]); });
  method(Reflect, 'apply', (orig) => function (f, self, args) { lengthOf(args); return RA(orig, Reflect, [f, self, args]); });
  method(Reflect, 'construct', (orig) => function (f, args, ...rest) { lengthOf(args); return RA(orig, Reflect, [f, args, ...rest]); });
  method(Array, 'from', (orig) => function (items, ...rest) {
    lengthOf(items);
    return RA(orig, this, [items, ...rest]);
  });
  // A function, not a Proxy: goja's instanceof refuses a Proxy on its right.
  const sized = (name) => {
    const Orig = globalThis[name];
    if (typeof Orig !== 'function') return;
    const Capped = function (...args) {
      if (typeof args[0] === 'number') len(args[0]);
      else if (args[0] != null && typeof args[0] === 'object') lengthOf(args[0]);
      return new.target === undefined ? RA(Orig, undefined, args) : RC(Orig, args, new.target === Capped ? Orig : new.target);
    };
    for (const key of ownKeys(Orig)) {
      if (!['prototype', 'length', 'name', 'caller', 'arguments'].includes(key)) define(Capped, key, getDesc(Orig, key));
    }
    define(Capped, 'prototype', { value: Orig.prototype });
    define(Capped, 'name', { value: name });
    Object.setPrototypeOf(Capped, getProto(Orig));
    define(globalThis, name, { value: Capped, writable: true, configurable: true, enumerable: false });
    // [].constructor and new Uint8Array(1).buffer.constructor reach the
    // original through its prototype otherwise.
    define(Orig.prototype, 'constructor', { value: Capped, writable: true, configurable: true, enumerable: false });
  };
  for (const name of ['Array', 'ArrayBuffer', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
    'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array']) sized(name);
  delete globalThis.Proxy;
  // A BigInt ** runs natively for as long as its operands ask (10n ** 10n ** 8n
  // took 44 s); with no BigInt literal allowed (compile) and these gone,
  // no BigInt can be made.
  delete globalThis.BigInt;
  delete globalThis.BigInt64Array;
  delete globalThis.BigUint64Array;
  // Code compiled at run time would escape the checks made when the script
  // was stored (BigInt literals): no eval, and the Function constructors,
  // reachable from any function's prototype, throw.
  const noCompiling = (proto, global) => {
    const stub = function () { throw new EvalError('compiling code at run time is not allowed'); };
    define(stub, 'prototype', { value: proto });
    define(proto, 'constructor', { value: stub, writable: true, configurable: true, enumerable: false });
    if (global) define(globalThis, global, { value: stub, writable: true, configurable: true, enumerable: false });
  };
  const kinds = [getProto(async function () {}), getProto(function* () {})];
  try { kinds.push(eval('getProto(async function* () {})')); } catch (e) { /* no async generators in this goja */ }
  noCompiling(Function.prototype, 'Function');
  for (const proto of kinds) noCompiling(proto);
  delete globalThis.eval;
  // Scripts written for Node log with console; what they log is dropped
  // (it may hold the environment variables), but the calls work.
  const noop = function () {};
  define(globalThis, 'console', { value: Object.freeze({ log: noop, info: noop, warn: noop, error: noop, debug: noop, trace: noop }),
    writable: true, configurable: true, enumerable: false });

  // JSON.stringify writes a copy of its value taken with every toJSON,
  // getter and replacer called once, counting the JSON as it goes. The
  // walk is plain loops over one state object: the answer of every token
  // goes through it.
  const stringify = JSON.stringify, createNull = Object.create, NumberBox = N, StringBox = S, BooleanBox = Boolean;
  const walk = (st, holder, key, v, depth) => {
    if (v !== null && typeof v === 'object' && typeof v.toJSON === 'function') v = v.toJSON(key);
    if (st.replacer !== undefined) v = RA(st.replacer, holder, [key, v]);
    switch (typeof v) {
      case 'string': st.total += v.length + 2; if (st.total > max) tooLarge('JSON'); return v;
      case 'number': case 'boolean': st.total += 24; return v;
      case 'bigint': return v; // stringify throws
      case 'object': break;
      default: return undefined;
    }
    if (v === null) { st.total += 4; return null; }
    if (v instanceof NumberBox || v instanceof StringBox || v instanceof BooleanBox) return walk(st, holder, key, v.valueOf(), depth);
    if (depth > 256) throw new RE('JSON nested deeper than 256 (or a cycle) is not allowed');
    st.total += 2;
    if (isArray(v)) {
      const n = lengthOf(v), out = [];
      for (let i = 0; i < n; i++) { out[i] = walk(st, v, S(i), v[i], depth + 1); st.total += 1; }
      if (st.total > max) tooLarge('JSON');
      return out;
    }
    const out = createNull(null), names = st.names !== undefined ? st.names : keys(v);
    for (let i = 0; i < names.length; i++) {
      const k = names[i], w = walk(st, v, k, v[k], depth + 1);
      if (w !== undefined) { out[k] = w; st.total += k.length + 4; }
    }
    if (st.total > max) tooLarge('JSON');
    return out;
  };
  const snapshot = (value, replacer) => {
    const st = { total: 0, replacer: typeof replacer === 'function' ? replacer : undefined,
      names: isArray(replacer) ? RA(AP.map, replacer, [(x) => S(x)]) : undefined };
    return walk(st, { '': value }, '', value, 0);
  };
  const safeStringify = function (value, replacer, space) {
    const copy = snapshot(value, replacer);
    let indent = space;
    if (typeof indent === 'number') indent = Math.min(10, Math.max(0, indent));
    else if (typeof indent === 'string') indent = indent.slice(0, 10);
    else indent = undefined;
    if (indent !== undefined && indent !== 0 && indent !== '') len(4 * stringify(copy).length * 11);
    return RA(stringify, JSON, [copy, undefined, indent]);
  };
  define(JSON, 'stringify', { value: safeStringify, writable: true, configurable: true, enumerable: false });
})`

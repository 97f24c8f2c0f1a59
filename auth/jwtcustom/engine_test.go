package jwtcustom

import (
	"context"
	"errors"
	"fmt"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"
)

func claimsJSON(cs []Claim) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c.Name + "=" + string(c.Value))
	}
	return b.String()
}

func TestEngine_Run(t *testing.T) {
	e := New(Limits{Timeout: 200 * time.Millisecond})
	in := Input{
		Token:                map[string]any{"clientId": "app1", "scope": "read write"},
		Context:              map[string]any{"application": map[string]any{"id": "app1", "name": "Billing"}},
		EnvironmentVariables: map[string]string{"TIER": "gold"},
	}
	tests := []struct {
		name      string
		script    string
		want      string // claims as name=json, comma-separated
		wantKind  Kind
		wantInMsg string
	}{
		{name: "OK", script: `const getCustomJwtClaims = async ({ token, context, environmentVariables }) => ({ tier: environmentVariables.TIER, app: context.application.id, n: 1 });`,
			want: `tier="gold",app="app1",n=1`},
		{name: "SyncFunction", script: `function getCustomJwtClaims({ token }) { return { scopes: token.scope.split(' ') }; }`,
			want: `scopes=["read","write"]`},
		{name: "AwaitChain", script: `const f = async (x) => x * 2; const getCustomJwtClaims = async () => { const v = await f(await f(1)); return { v }; };`,
			want: `v=4`},
		{name: "Empty", script: `const getCustomJwtClaims = async () => ({});`, want: ``},
		{name: "NoSandboxEscapes", script: `const getCustomJwtClaims = async () => ({ t: [typeof fetch, typeof require, typeof process, typeof setTimeout, typeof module, typeof XMLHttpRequest].join() });`,
			want: `t="undefined,undefined,undefined,undefined,undefined,undefined"`},
		{name: "FetchFails", script: `const getCustomJwtClaims = async () => { const r = await fetch('https://example.com'); return {}; };`,
			wantKind: KindRuntime, wantInMsg: "fetch is not defined"},
		{name: "Denied", script: `const getCustomJwtClaims = async ({ api }) => { api.denyAccess('no tokens on Sunday'); };`,
			wantKind: KindDenied, wantInMsg: "no tokens on Sunday"},
		{name: "DeniedDefaultMessage", script: `const getCustomJwtClaims = ({ api }) => api.denyAccess();`,
			wantKind: KindDenied, wantInMsg: "Access denied"},
		{name: "Throws", script: `const getCustomJwtClaims = async () => { throw new Error('boom'); };`,
			wantKind: KindRuntime, wantInMsg: "boom"},
		{name: "ThrowsString", script: `function getCustomJwtClaims() { throw 'plain'; }`, wantKind: KindRuntime, wantInMsg: "plain"},
		{name: "Syntax", script: `const getCustomJwtClaims = async () => { return {`, wantKind: KindSyntax},
		{name: "NoFunction", script: `const other = () => ({});`, wantKind: KindType, wantInMsg: "getCustomJwtClaims"},
		{name: "NotAnObject", script: `const getCustomJwtClaims = async () => 'x';`, wantKind: KindType},
		{name: "Array", script: `const getCustomJwtClaims = async () => [1];`, wantKind: KindType},
		{name: "Undefined", script: `const getCustomJwtClaims = async () => {};`, wantKind: KindType},
		{name: "NeverSettles", script: `const getCustomJwtClaims = () => new Promise(() => {});`, wantKind: KindRuntime, wantInMsg: "never settled"},
		{name: "InfiniteLoop", script: `const getCustomJwtClaims = async () => { for (;;) {} };`, wantKind: KindTimeout},
		{name: "InfiniteLoopAtTopLevel", script: `while (true) {} const getCustomJwtClaims = () => ({});`, wantKind: KindTimeout},
		{name: "Recursion", script: `const r = (n) => r(n + 1); const getCustomJwtClaims = () => r(0);`, wantKind: KindRuntime},
		{name: "HugeRepeat", script: `const getCustomJwtClaims = () => ({ s: 'x'.repeat(1e9) });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "HugePad", script: `const getCustomJwtClaims = () => ({ s: ''.padStart(1e9) });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "HugeArrayFill", script: `const getCustomJwtClaims = () => ({ n: new Array(1e9).fill(1).length });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "HugeLengthFill", script: `const getCustomJwtClaims = () => { const a = []; a.length = 1e9; a.fill(0); return {}; };`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "HugeArrayFrom", script: `const getCustomJwtClaims = () => ({ n: Array.from({ length: 1e9 }).length });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "HugeBuffer", script: `const getCustomJwtClaims = () => ({ n: new ArrayBuffer(1e9).byteLength });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "HugeTypedArray", script: `const getCustomJwtClaims = () => ({ n: new Uint8Array(1e9).length });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "HugeBufferByConstructor", script: `const getCustomJwtClaims = () => ({ n: new (new Uint8Array(1).buffer.constructor)(1e9).byteLength });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "HugeTypedArrayByConstructor", script: `const getCustomJwtClaims = () => ({ n: new (new Uint8Array(1).constructor)(1e9).length });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "ConstructorsStillAgree", script: `class List extends Array {} const getCustomJwtClaims = () => ({ a: [].constructor === Array, b: [] instanceof Array,
			c: new Uint8Array(2) instanceof Uint8Array, d: Array.isArray(new Array(3)), e: Array(2).length, f: Array.of(1, 2), g: new List(1, 2) instanceof List,
			h: new List(1, 2).length, i: Uint8Array.from([1, 2])[1], j: new Uint8Array(new ArrayBuffer(4)).length, k: [1, 2, 3].map((x) => x * 2) instanceof Array });`,
			want: `a=true,b=true,c=true,d=true,e=2,f=[1,2],g=true,h=2,i=2,j=4,k=true`},
		{name: "JoinMultiplies", script: `const getCustomJwtClaims = () => ({ n: new Array(1e5).fill('x'.repeat(1e5)).join('').length });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "ToStringMultiplies", script: `const getCustomJwtClaims = () => ({ n: String(new Array(1e5).fill('x'.repeat(1e5))).length });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "StringConcatMultiplies", script: `const getCustomJwtClaims = () => ({ n: ''.concat(...new Array(1e4).fill('x'.repeat(1e5))).length });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "ReplaceDollarQuote", script: "const getCustomJwtClaims = () => ({ n: 'x'.repeat(1e5).replace(/x/g, \"$'\").length });", wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "ReplaceByFunction", script: `const big = 'y'.repeat(1e5); const getCustomJwtClaims = () => ({ n: 'x'.repeat(1e5).replaceAll('x', () => big).length });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "StringifyRepeats", script: `const getCustomJwtClaims = () => ({ n: JSON.stringify(new Array(1e5).fill('x'.repeat(1e5))).length });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "AnswerRepeats", script: `const getCustomJwtClaims = () => ({ a: new Array(1e5).fill('x'.repeat(1e5)) });`, wantKind: KindType, wantInMsg: "larger than"},
		{name: "AnswerCycle", script: `const getCustomJwtClaims = () => { const a = {}; a.a = a; return a; };`, wantKind: KindType, wantInMsg: "cycle"},
		{name: "BigIntLiteral", script: `const getCustomJwtClaims = () => ({ n: String(10n ** 100000000n) });`, wantKind: KindSyntax, wantInMsg: "BigInt"},
		{name: "BigIntLiteralInNestedFunction", script: "function f() { return [() => ({ x: `${1}` + 2n })]; } const getCustomJwtClaims = () => ({});", wantKind: KindSyntax, wantInMsg: "BigInt"},
		{name: "ToLocaleStringMultiplies", script: `const getCustomJwtClaims = () => ({ n: new Array(1e5).fill('x'.repeat(1e5)).toLocaleString().length });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "SpreadableGetter", script: `let n = 0; const o = { length: 1e9, get [Symbol.isConcatSpreadable]() { return n++ > 0; } }; const getCustomJwtClaims = () => ({ n: [].concat(o).length });`, want: `n=1`},
		{name: "SpreadableHuge", script: `const o = { length: 1e9, [Symbol.isConcatSpreadable]: true }; const getCustomJwtClaims = () => ({ n: [].concat(o).length });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "ApplyArrayLike", script: `const getCustomJwtClaims = () => ({ n: Math.max.apply(null, { length: 1e9 }) });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "ReflectApplyArrayLike", script: `const getCustomJwtClaims = () => ({ n: Reflect.apply(Math.max, null, { length: 1e9 }) });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "ConcatStillConcat", script: `const getCustomJwtClaims = () => ({ a: [1].concat([2, [3]], 4, { length: 1, 0: 'x', [Symbol.isConcatSpreadable]: true }, 'ab'), b: Array.prototype.concat.call('s', [1]).length, c: Math.max.apply(null, [1, 3, 2]), d: [1, 2].toLocaleString() });`,
			want: `a=[1,2,[3],4,"x","ab"],b=2,c=3,d="1,2"`},
		{name: "ModernSyntax", script: `const getCustomJwtClaims = async (arg) => {
			const { token, context: { application: { id, missing = 'd' } = {} } = {}, environmentVariables: env } = arg;
			const { clientId, ...rest } = token; class A { #p = 1; get p() { return this.#p; } static of() { return new A(); } }
			return { id, missing, clientId, rest, o: arg.context?.user?.id ?? 'none', p: A.of().p, t: ` + "`${id}-${env?.TIER}`" + `, e: Object.entries({ a: 1 }).flat(), s: [...new Set([1, 1])], n: 2 ** 10, r: 'a-b'.replaceAll('-', '+'), at: [1, 2].at(-1) };
		};`, want: `id="app1",missing="d",clientId="app1",rest={"scope":"read write"},o="none",p=1,t="app1-gold",e=["a",1],s=[1],n=1024,r="a+b",at=2`},
		{name: "ConsoleIsQuiet", script: `const getCustomJwtClaims = async ({ environmentVariables }) => { console.log('env', environmentVariables); console.error(new Error('x')); return { ok: true }; };`, want: `ok=true`},
		{name: "NoEval", script: `const getCustomJwtClaims = () => ({ n: String(eval('10n ** 100000000n')) });`, wantKind: KindRuntime, wantInMsg: "eval is not defined"},
		{name: "NoFunctionConstructor", script: `const getCustomJwtClaims = () => ({ n: Function('return 1n')() });`, wantKind: KindRuntime, wantInMsg: "compiling code"},
		{name: "NoConstructorOfFunction", script: `const getCustomJwtClaims = () => ({ n: (() => 1).constructor('return 1n')() });`, wantKind: KindRuntime, wantInMsg: "compiling code"},
		{name: "NoAsyncFunctionConstructor", script: `const getCustomJwtClaims = async () => ({ n: await (async () => 1).constructor('return 1n')() });`, wantKind: KindRuntime, wantInMsg: "compiling code"},
		{name: "NoGeneratorConstructor", script: `const getCustomJwtClaims = () => ({ n: (function* () {}).constructor('yield 1n')().next().value });`, wantKind: KindRuntime, wantInMsg: "compiling code"},
		{name: "FunctionsStillFunctions", script: `function* g() { yield 1; } const getCustomJwtClaims = async () => ({ a: (() => 1) instanceof Function, b: typeof Function, c: [...g()], d: await Promise.all([1, Promise.resolve(2)]) });`,
			want: `a=true,b="function",c=[1],d=[1,2]`},
		{name: "NoBigIntGlobals", script: `const getCustomJwtClaims = () => ({ t: [typeof BigInt, typeof BigInt64Array, typeof BigUint64Array].join() });`, want: `t="undefined,undefined,undefined"`},
		{name: "NumbersStillFine", script: `const getCustomJwtClaims = () => ({ n: 2 ** 53, h: 0x1f, e: 1e3, s: '10n' });`, want: `n=9007199254740992,h=31,e=1000,s="10n"`},
		{name: "AnswerSemantics", script: `let calls = 0; const getCustomJwtClaims = () => ({ u: undefined, f() {}, s: Symbol('x'), nan: NaN, inf: -Infinity, d: new Date(0),
			arr: [undefined, () => 1, 1.5, -0, 1e21, 'é"\n'], boxed: [new Number(2), new String('s'), new Boolean(false)], get g() { calls++; return calls; },
			custom: { toJSON(k) { return 'key:' + k; } }, nested: { a: { b: [null, true] } } });`,
			want: `nan=null,inf=null,d="1970-01-01T00:00:00.000Z",arr=[null,null,1.5,0,1e+21,"é\"\n"],boxed=[2,"s",false],g=1,custom="key:custom",nested={"a":{"b":[null,true]}}`},
		{name: "AnswerWithGlobalJSONReplaced", script: `JSON.stringify = () => '{}'; const getCustomJwtClaims = () => ({ a: 1 });`, want: `a=1`},
		{name: "FlatMultiplies", script: `const a = new Array(1e5).fill(0); const getCustomJwtClaims = () => ({ n: new Array(1e5).fill(a).flat().length });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "ConcatMultiplies", script: `const a = new Array(1e5).fill(0); const getCustomJwtClaims = () => ({ n: [].concat(...new Array(1e3).fill(a)).length });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "FlatMapMultiplies", script: `const a = new Array(1e5).fill(0); const getCustomJwtClaims = () => ({ n: new Array(1e5).fill(0).flatMap(() => a).length });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "LengthGetter", script: `let n = 0; const o = { get length() { return n++ ? 1e9 : 1; } }; const getCustomJwtClaims = () => ({ n: Array.from(o).length });`, wantKind: KindRuntime, wantInMsg: "accessor"},
		{name: "LengthGetterOnPrototypeMethod", script: `let n = 0; const o = { get length() { return n++ ? 1e9 : 1; } }; const getCustomJwtClaims = () => ({ n: Array.prototype.fill.call(o, 0).length });`, wantKind: KindRuntime, wantInMsg: "accessor"},
		{name: "ToStringSwitches", script: `let n = 0; const o = { toString() { return n++ ? 'x'.repeat(1e6) : 'x'; } }; const getCustomJwtClaims = () => ({ n: String.prototype.repeat.call(o, 1e5).length });`, want: `n=100000`},
		{name: "NoProxy", script: `const getCustomJwtClaims = () => ({ p: typeof Proxy });`, want: `p="undefined"`},
		{name: "OverriddenGlobalsDoNotUncap", script: `String = () => ''; Number = () => 0; Reflect.apply = (f, t, a) => f.apply(t, a); Function.prototype.apply = function () { return 0; }; const getCustomJwtClaims = () => ({ n: 'x'.repeat(1e9).length });`, wantKind: KindRuntime, wantInMsg: "larger than"},
		{name: "BuiltinsStillWork", script: `const getCustomJwtClaims = () => ({
			j: [1, [2, 3], null, 'a'].join('-'), t: String([1, [2, 3]]), c: 'a'.concat('b', 1), r: 'a-b-c'.replace(/(\w)-/g, '$1+'), ra: 'aaa'.replaceAll('a', (m) => m.toUpperCase()),
			s: JSON.stringify({ d: new Date(0), n: [1, { x: undefined, y: 'z' }], f() {} }, null, 1), sr: JSON.stringify({ a: 1, b: 2 }, ['b']),
			sf: JSON.stringify({ a: 1, b: 'x' }, (k, v) => (typeof v === 'number' ? v + 1 : v)), fl: [1, [2, [3]]].flat(Infinity), fm: [1, 2].flatMap((x) => [x, x]),
			ac: [1].concat([2], 3), from: Array.from('ab'), set: Array.from(new Set([1, 1, 2])) });`,
			want: `j="1-2,3--a",t="1,2,3",c="ab1",r="a+b+c",ra="AAA",s="{\n \"d\": \"1970-01-01T00:00:00.000Z\",\n \"n\": [\n  1,\n  {\n   \"y\": \"z\"\n  }\n ]\n}",sr="{\"b\":2}",sf="{\"a\":2,\"b\":\"x\"}",fl=[1,2,3],fm=[1,1,2,2],ac=[1,2,3],from=["a","b"],set=[1,2]`},
		{name: "BacktrackingRegexp", script: `const getCustomJwtClaims = () => ({ r: /^(?=x*)(a+)+$/.test('a'.repeat(40) + 'b') });`, wantKind: KindTimeout},
		{name: "Regexps", script: "const getCustomJwtClaims = () => ({ a: /^(?=.*@)([a-z]+)@(\\w+)\\.com$/.exec('ada@example.com').slice(1), b: /(\\d+)-\\1/.test('12-12') });",
			want: `a=["ada","example"],b=true`},
		{name: "ClaimsTooLarge", script: `const getCustomJwtClaims = () => ({ s: 'x'.repeat(20000) });`, wantKind: KindType, wantInMsg: "larger than"},
		{name: "SmallArraysStillWork", script: `const getCustomJwtClaims = () => ({ a: Array.from({ length: 3 }, (_, i) => i).map((x) => x * 2), b: new Array(2).fill('z'), s: 'ab'.repeat(2).padEnd(6, '.') });`,
			want: `a=[0,2,4],b=["z","z"],s="abab.."`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Run(context.Background(), "t\x00"+tt.name, tt.script, in)
			if tt.wantKind != "" {
				var se *Error
				if !errors.As(err, &se) {
					t.Fatalf("err = %v (claims %s), want kind %s", err, claimsJSON(got), tt.wantKind)
				}
				// Past the cap, a native step copying the capped number of
				// elements may outlast the time limit on a loaded machine,
				// or the allocation bound first.
				if strings.HasSuffix(tt.name, "Multiplies") && (se.Kind == KindTimeout || se.Kind == KindMemory) {
					return
				}
				if se.Kind != tt.wantKind || !strings.Contains(se.Message, tt.wantInMsg) {
					t.Fatalf("err = %v, want kind %s with %q", se, tt.wantKind, tt.wantInMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := claimsJSON(got); s != tt.want {
				t.Fatalf("claims = %s, want %s", s, tt.want)
			}
		})
	}
}

// TestEngine_MemoryBound: a run that allocates past the bound, a step at a
// time, is stopped for it long before its time is up, having allocated
// little more than the bound; one that stays under it is not.
func TestEngine_MemoryBound(t *testing.T) {
	const limit = 16 << 20
	e := New(Limits{Timeout: time.Minute, MaxAllocBytes: limit})
	allocated := func() uint64 {
		s := []metrics.Sample{{Name: allocatedMetric}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	tests := []struct {
		name   string
		script string
		most   uint64 // the process's allocations during the run stay under this
	}{
		{"GrowingArray", `const getCustomJwtClaims = () => { const a = []; for (;;) a.push({ x: 'y'.repeat(1000) }); };`, 3 * limit},
		{"CappedStrings", `const getCustomJwtClaims = () => { const a = []; for (let i = 0; ; i++) a.push('x'.repeat(1 << 18) + i); };`, 3 * limit},
		{"ManyObjects", `const getCustomJwtClaims = () => { const m = {}; for (let i = 0; ; i++) m['k' + i] = [i, { i }]; };`, 3 * limit},
		// One join of two strings is one step: the run ends within two
		// doublings past the bound.
		{"DoublingString", `const getCustomJwtClaims = () => { let s = 'x'; for (;;) s = s + s; };`, 8 * limit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := allocated()
			_, err := e.Run(context.Background(), "t\x00"+tt.name, tt.script, Input{Token: map[string]any{}})
			used := allocated() - before
			var se *Error
			if !errors.As(err, &se) || se.Kind != KindMemory {
				t.Fatalf("err = %v, want a memory failure", err)
			}
			if !strings.Contains(se.Message, "16 MB") {
				t.Errorf("message %q does not name the bound", se.Message)
			}
			if used > tt.most {
				t.Errorf("the process allocated %d MB during the run, want under %d MB", used>>20, tt.most>>20)
			}
		})
	}
	// Under the bound: a few megabytes in one run, and the runtime that
	// was stopped is not reused.
	got, err := e.Run(context.Background(), "t\x00under", `const getCustomJwtClaims = () => { const a = []; for (let i = 0; i < 2000; i++) a.push('y'.repeat(1000) + i); return { n: a.length }; };`, Input{Token: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	if s := claimsJSON(got); s != "n=2000" {
		t.Fatalf("claims = %s", s)
	}
}

// A script that changes a built-in changes it for its own runs only.
func TestEngine_OwnersIsolated(t *testing.T) {
	e := New(Limits{})
	in := Input{Token: map[string]any{}}
	evil := `Array.prototype.join = function () { return 'pwned'; }; const getCustomJwtClaims = () => ({ j: [1, 2].join('-') });`
	nice := `const getCustomJwtClaims = () => ({ j: [1, 2].join('-') });`
	for range 3 {
		if got, err := e.Run(context.Background(), "a\x00client-credentials", evil, in); err != nil || claimsJSON(got) != `j="pwned"` {
			t.Fatalf("evil: %s, %v", claimsJSON(got), err)
		}
		if got, err := e.Run(context.Background(), "b\x00client-credentials", nice, in); err != nil || claimsJSON(got) != `j="1-2"` {
			t.Fatalf("nice: %s, %v", claimsJSON(got), err)
		}
	}
}

// A runtime interrupted for its time is not run again; the next run gets a
// fresh one and succeeds.
func TestEngine_AfterTimeout(t *testing.T) {
	e := New(Limits{Timeout: 50 * time.Millisecond})
	script := `const getCustomJwtClaims = ({ token }) => { if (token.loop) for (;;) {} return { ok: true }; };`
	if _, err := e.Run(context.Background(), "k", script, Input{Token: map[string]any{"loop": true}}); err == nil {
		t.Fatal("loop: no error")
	}
	got, err := e.Run(context.Background(), "k", script, Input{Token: map[string]any{}})
	if err != nil || claimsJSON(got) != "ok=true" {
		t.Fatalf("after timeout: %s, %v", claimsJSON(got), err)
	}
}

// A cancelled request stops its script.
func TestEngine_ContextCancelled(t *testing.T) {
	e := New(Limits{Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err := e.Run(ctx, "k", `const getCustomJwtClaims = () => { for (;;) {} };`, Input{Token: map[string]any{}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestEngine_Check(t *testing.T) {
	e := New(Limits{})
	if err := e.Check(`const getCustomJwtClaims = async () => ({});`); err != nil {
		t.Fatal(err)
	}
	var se *Error
	if err := e.Check(`const getCustomJwtClaims = (`); !errors.As(err, &se) || se.Kind != KindSyntax {
		t.Fatalf("err = %v, want a syntax error", err)
	}
	if err := e.Check(strings.Repeat(" ", MaxScriptBytes+1)); !errors.As(err, &se) {
		t.Fatalf("err = %v, want too long", err)
	}
}

// The script's source changes: the new one runs, the old one is gone.
func TestEngine_ScriptChanges(t *testing.T) {
	e := New(Limits{})
	for i, want := range []string{"v=1", "v=2"} {
		script := `const getCustomJwtClaims = () => ({ v: ` + string(rune('1'+i)) + ` });`
		got, err := e.Run(context.Background(), "k", script, Input{Token: map[string]any{}})
		if err != nil || claimsJSON(got) != want {
			t.Fatalf("run %d: %s, %v", i, claimsJSON(got), err)
		}
	}
	if n := len(e.progs); n != 1 {
		t.Fatalf("%d programs kept, want 1", n)
	}
}

// The programs kept are bounded, the least recently run going first.
func TestEngine_ProgramsBounded(t *testing.T) {
	e := New(Limits{})
	script := `const getCustomJwtClaims = () => ({});`
	run := func(key string) {
		if _, err := e.Run(context.Background(), key, script, Input{Token: map[string]any{}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range maxPrograms + 10 {
		run(fmt.Sprint(i))
		run("0") // kept in use
	}
	if n := len(e.progs); n != maxPrograms || e.recent.Len() != maxPrograms {
		t.Fatalf("%d programs, %d in the list; want %d", n, e.recent.Len(), maxPrograms)
	}
	if _, ok := e.progs["0"]; !ok {
		t.Error("the program in use was dropped")
	}
	if _, ok := e.progs["1"]; ok {
		t.Error("the least recently run program was kept")
	}
}

// BenchmarkEngine_Run measures one run of a small script, as a client
// credentials token runs it.
func BenchmarkEngine_Run(b *testing.B) {
	e := New(Limits{})
	script := `const getCustomJwtClaims = async ({ token, context }) => ({ tenantTier: 'gold', appId: context.application.id });`
	in := Input{Token: map[string]any{"jti": "j", "aud": "https://billing.example.com", "clientId": "c", "kind": "ClientCredentials"},
		Context: map[string]any{"application": map[string]any{"id": "app", "name": "n"}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Run(context.Background(), "k", script, in); err != nil {
			b.Fatal(err)
		}
	}
}

// Runs of one script and of others at once each get their own runtime
// and their own answer (go test -race checks the sharing).
func TestEngine_Concurrent(t *testing.T) {
	e := New(Limits{Timeout: time.Second})
	script := `let runs = 0; const getCustomJwtClaims = async ({ token }) => { runs++; await null; return { id: token.id }; };`
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				id := fmt.Sprintf("%d-%d", g, i)
				got, err := e.Run(context.Background(), fmt.Sprint("k", g%3), script, Input{Token: map[string]any{"id": id}})
				if err != nil || claimsJSON(got) != `id="`+id+`"` {
					t.Errorf("run %s: %s, %v", id, claimsJSON(got), err)
					return
				}
			}
		})
	}
	wg.Wait()
}

package jwtcustom

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/dlclark/regexp2"
	"github.com/dop251/goja"
)

// Limits bounds every run of a script.
type Limits struct {
	// Timeout is how long one run may take; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxLength caps what one call of a sized built-in may make (string
	// length, array length, buffer bytes; harden.go); zero means
	// DefaultMaxLength.
	MaxLength int
	// MaxClaimsBytes caps the JSON of the claims a script returns; zero
	// means DefaultMaxClaimsBytes.
	MaxClaimsBytes int
	// MaxAllocBytes caps what one run may allocate (watch.go); zero means
	// DefaultMaxAllocBytes.
	MaxAllocBytes uint64
}

// The default limits: a token request waits for its script, so a run gets
// a tenth of a second, not Logto's five.
const (
	DefaultTimeout        = 100 * time.Millisecond
	DefaultMaxLength      = 1 << 18
	DefaultMaxClaimsBytes = 16 << 10
	DefaultMaxAllocBytes  = 64 << 20
	// MaxScriptBytes bounds a stored script's source.
	MaxScriptBytes = 64 << 10
	// maxPrograms bounds the compiled programs kept, the least recently
	// run going first, and maxIdle the idle runtimes each keeps: a runtime
	// with a small script evaluated in it holds about 0.3 MB, so at most
	// about 300 MB are kept; more scripts in use than that are evaluated
	// afresh (about 3 ms) when their runtimes were dropped.
	maxPrograms = 256
	maxIdle     = 4
	// maxCallStack bounds recursion, so a runaway one ends in a RangeError
	// long before Go's stack limit.
	maxCallStack = 1024
)

// Kind says why a run failed.
type Kind string

// The kinds of failure, as Logto's script runner names them.
const (
	KindDenied  Kind = "denied"  // the script called api.denyAccess
	KindSyntax  Kind = "syntax"  // the script does not compile
	KindType    Kind = "type"    // no getCustomJwtClaims function, or an answer that is not a JSON object
	KindTimeout Kind = "timeout" // the run took longer than Limits.Timeout
	KindMemory  Kind = "memory"  // the run allocated more than Limits.MaxAllocBytes (idbolt's own)
	KindRuntime Kind = "runtime" // the script threw
)

// Error is a failed run: Message is what the script author is told.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return string(e.Kind) + ": " + e.Message }

// Input is what a script's getCustomJwtClaims receives, besides api.
type Input struct {
	Token                map[string]any
	Context              map[string]any // nil leaves context undefined
	EnvironmentVariables map[string]string
}

// Engine compiles and runs scripts. It is safe for concurrent use.
type Engine struct {
	limits Limits
	mu     sync.Mutex
	progs  map[string]*list.Element // key -> its current script's *program, most recently run first in recent
	recent list.List
}

// regexpTimeout sets, once per process, the match timeout goja's backtracking
// regular expressions get: goja compiles them with regexp2's package
// default, which is forever, and a match is one native step an interrupt
// cannot stop (/^(?=x*)(a+)+$/ on 26 a's and a b took 5 s, on 30 it would
// take a minute). It is a process-wide setting because regexp2 has no
// other; this module's own searches use regexp2/v2, a separate package, and
// set their timeouts per expression. A match that times out fails to
// match, as goja reports it; the run's own limit ends it right after.
var regexpTimeout sync.Once

// New returns an Engine with limits, zero fields taking the defaults.
func New(limits Limits) *Engine {
	regexpTimeout.Do(func() { regexp2.DefaultMatchTimeout = DefaultTimeout })
	if limits.Timeout <= 0 {
		limits.Timeout = DefaultTimeout
	}
	if limits.MaxLength <= 0 {
		limits.MaxLength = DefaultMaxLength
	}
	if limits.MaxClaimsBytes <= 0 {
		limits.MaxClaimsBytes = DefaultMaxClaimsBytes
	}
	if limits.MaxAllocBytes == 0 {
		limits.MaxAllocBytes = DefaultMaxAllocBytes
	}
	return &Engine{limits: limits, progs: map[string]*list.Element{}}
}

// program is a compiled script and the runtimes that have evaluated it,
// each holding its getCustomJwtClaims.
type program struct {
	key      string
	script   string
	compiled *goja.Program
	err      *Error // a script that does not compile, remembered as such
	idle     chan *instance
}

// instance is one runtime with the script evaluated in it.
type instance struct {
	rt     *goja.Runtime
	entry  goja.Callable
	denied *denial // set by api.denyAccess in the current run
	api    goja.Value
}

// denial is the value api.denyAccess throws.
type denial struct{ message string }

// entryName is the function a script must define, as in Logto.
const entryName = "getCustomJwtClaims"

// Run runs script with in, and returns the claims it answered as JSON
// members in the order the script gave them. key names the script's owner
// (tenant and token type): each owner's script has its own program and
// runtimes, so two owners never share runtimes even with one script. Returns an *Error for a
// script that fails, ctx's error when ctx ends first.
func (e *Engine) Run(ctx context.Context, key, script string, in Input) ([]Claim, error) {
	if len(script) > MaxScriptBytes {
		return nil, &Error{Kind: KindSyntax, Message: fmt.Sprintf("The script is longer than %d bytes.", MaxScriptBytes)}
	}
	p := e.program(key, script)
	if p.err != nil {
		return nil, p.err
	}
	inst, err := e.instance(p)
	if err != nil {
		return nil, err
	}
	claims, err, reusable := e.run(ctx, inst, in)
	if reusable {
		select {
		case p.idle <- inst:
		default:
		}
	}
	return claims, err
}

// Check compiles script and reports an *Error if it does not compile or
// does not define getCustomJwtClaims at its top level, without keeping it.
func (e *Engine) Check(script string) error {
	if len(script) > MaxScriptBytes {
		return &Error{Kind: KindSyntax, Message: fmt.Sprintf("The script is longer than %d bytes.", MaxScriptBytes)}
	}
	if _, err := compile(script); err != nil {
		return err
	}
	return nil
}

func compile(script string) (*goja.Program, *Error) {
	// The script's completion value is its function, as Logto reads it; the
	// newline keeps a trailing line comment from swallowing the expression.
	src := script + "\n;typeof " + entryName + " === 'function' ? " + entryName + " : undefined;"
	prg, err := goja.Parse("custom-jwt-claims.js", src)
	if err != nil {
		return nil, &Error{Kind: KindSyntax, Message: err.Error()}
	}
	if hasBigIntLiteral(reflect.ValueOf(prg), map[uintptr]bool{}) {
		return nil, &Error{Kind: KindSyntax, Message: "BigInt is not supported: one BigInt operation (**) can run for minutes, past any time limit."}
	}
	p, err := goja.CompileAST(prg, false)
	if err != nil {
		return nil, &Error{Kind: KindSyntax, Message: err.Error()}
	}
	return p, nil
}

// hasBigIntLiteral reports whether the syntax tree at v holds a BigInt
// literal (a number literal whose value goja parsed as a *big.Int). With
// those refused and the BigInt globals removed (hardenJS), a script has no
// way to make a BigInt.
func hasBigIntLiteral(v reflect.Value, seen map[uintptr]bool) bool {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return false
		}
		seen[v.Pointer()] = true
		if v.Type() == bigIntType {
			return true
		}
		return hasBigIntLiteral(v.Elem(), seen)
	case reflect.Interface:
		return !v.IsNil() && hasBigIntLiteral(v.Elem(), seen)
	case reflect.Struct:
		for i := range v.NumField() {
			if hasBigIntLiteral(v.Field(i), seen) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if hasBigIntLiteral(v.Index(i), seen) {
				return true
			}
		}
	}
	return false
}

var bigIntType = reflect.TypeFor[*big.Int]()

// program returns the compiled script of key, compiling it when key's
// script is new or changed; the program of its previous script goes at
// once. The script is compared, not hashed: the token path passes the same
// string each time (store caches it), which compares at the cost of a
// pointer.
func (e *Engine) program(key, script string) *program {
	e.mu.Lock()
	if el, ok := e.progs[key]; ok && el.Value.(*program).script == script {
		e.recent.MoveToFront(el)
		e.mu.Unlock()
		return el.Value.(*program)
	}
	e.mu.Unlock()
	// Compiled outside the lock: a long script takes milliseconds, which
	// every other run would wait for.
	p := &program{key: key, script: script, idle: make(chan *instance, min(runtime.GOMAXPROCS(0), maxIdle))}
	p.compiled, p.err = compile(script)
	e.mu.Lock()
	defer e.mu.Unlock()
	if el, ok := e.progs[key]; ok {
		if q := el.Value.(*program); q.script == script { // compiled meanwhile by another run
			e.recent.MoveToFront(el)
			return q
		}
		e.recent.Remove(el)
	}
	for len(e.progs) >= maxPrograms && e.recent.Len() > 0 {
		delete(e.progs, e.recent.Remove(e.recent.Back()).(*program).key)
	}
	e.progs[key] = e.recent.PushFront(p)
	return p
}

// instance returns an idle runtime of p, or a new one with the script
// evaluated in it.
func (e *Engine) instance(p *program) (*instance, error) {
	select {
	case inst := <-p.idle:
		return inst, nil
	default:
	}
	rt := goja.New()
	rt.SetMaxCallStackSize(maxCallStack)
	inst := &instance{rt: rt}
	if err := e.harden(rt); err != nil {
		return nil, fmt.Errorf("prepare script runtime: %w", err)
	}
	api := rt.NewObject()
	if err := api.Set("denyAccess", func(call goja.FunctionCall) goja.Value {
		msg := "Access denied"
		if a := call.Argument(0); !goja.IsUndefined(a) {
			msg = a.String()
		}
		inst.denied = &denial{message: msg}
		panic(rt.ToValue(inst.denied))
	}); err != nil {
		return nil, err
	}
	inst.api = api
	freeze, _ := goja.AssertFunction(rt.Get("Object").ToObject(rt).Get("freeze"))
	if _, err := freeze(goja.Undefined(), api); err != nil {
		return nil, err
	}
	w := e.watch(rt, e.limits.Timeout)
	v, err := rt.RunProgram(p.compiled)
	w.stop()
	if err != nil {
		return nil, e.failure(inst, err)
	}
	entry, ok := goja.AssertFunction(v)
	if !ok {
		return nil, &Error{Kind: KindType, Message: "The script does not have a function named `" + entryName + "`"}
	}
	inst.entry = entry
	return inst, nil
}

// run calls the script's function with in and waits for its promise. It
// reports whether inst may run again: not after an interrupt.
func (e *Engine) run(ctx context.Context, inst *instance, in Input) (claims []Claim, err error, reusable bool) {
	rt := inst.rt
	inst.denied = nil
	arg := rt.NewObject()
	env := make(map[string]any, len(in.EnvironmentVariables))
	for k, v := range in.EnvironmentVariables {
		env[k] = v
	}
	_ = arg.Set("token", in.Token)
	if in.Context != nil {
		_ = arg.Set("context", in.Context)
	}
	_ = arg.Set("environmentVariables", env)
	_ = arg.Set("api", inst.api)

	timeout := e.limits.Timeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = time.Until(d)
	}
	w := e.watch(rt, timeout)
	stop := context.AfterFunc(ctx, func() { rt.Interrupt(ctx.Err()) })
	v, err := inst.entry(goja.Undefined(), arg)
	var answer string
	if err == nil {
		v, err = settle(v)
	}
	if err == nil {
		var data []byte
		data, err = answerJSON(rt, v, e.limits.MaxClaimsBytes)
		answer = string(data)
	}
	w.stop()
	stop()
	var interrupted *goja.InterruptedError
	if errors.As(err, &interrupted) {
		rt.ClearInterrupt()
		if cerr := ctx.Err(); cerr != nil && interrupted.Value() == cerr { // ended by ctx, not by the watch
			return nil, cerr, false
		}
		return nil, e.failure(inst, err), false
	}
	if err != nil {
		return nil, e.failure(inst, err), true
	}
	claims, err = e.claims(answer)
	return claims, err, true
}

var (
	promiseType = reflect.TypeFor[*goja.Promise]()
	denialType  = reflect.TypeFor[*denial]()
)

// rejection is a promise the script's function returned that rejected.
type rejection struct{ reason goja.Value }

func (r *rejection) Error() string { return "rejected: " + r.reason.String() }

// settle returns the value v resolved to, when it is a promise: the job
// queue has run when the call returned, so a promise still pending waits
// on nothing that can happen (there are no timers or I/O).
func settle(v goja.Value) (goja.Value, error) {
	// ExportType, not Export: exporting a plain object would call its
	// getters, which the answer's JSON calls once more.
	if v == nil || v.ExportType() != promiseType {
		return v, nil
	}
	p := v.Export().(*goja.Promise)
	switch p.State() {
	case goja.PromiseStateFulfilled:
		return p.Result(), nil
	case goja.PromiseStateRejected:
		return nil, &rejection{reason: p.Result()}
	}
	return nil, &Error{Kind: KindRuntime, Message: "The script's promise never settled."}
}

// Claim is one claim a script answered: its name and its JSON value.
type Claim struct {
	Name  string
	Value json.RawMessage
}

// claims splits the JSON object answer into claims, in their order.
func (e *Engine) claims(answer string) ([]Claim, error) {
	if len(answer) > e.limits.MaxClaimsBytes {
		return nil, &Error{Kind: KindType, Message: fmt.Sprintf("The claims the script returned are larger than %d bytes of JSON.", e.limits.MaxClaimsBytes)}
	}
	dec := json.NewDecoder(strings.NewReader(answer))
	if _, err := dec.Token(); err != nil { // {
		return nil, &Error{Kind: KindType, Message: "The script must return an object of claims."}
	}
	var out []Claim
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("decode claims: %w", err)
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("decode claims: %w", err)
		}
		out = append(out, Claim{Name: name, Value: v})
	}
	return out, nil
}

// failure turns what a run or an evaluation returned into an *Error.
func (e *Engine) failure(inst *instance, err error) error {
	var thrown goja.Value
	var ex *goja.Exception
	var rej *rejection
	var interrupted *goja.InterruptedError
	var mine *Error
	switch {
	case errors.As(err, &mine):
		return mine
	case errors.As(err, &interrupted) && interrupted.Value() == errMemory:
		return &Error{Kind: KindMemory, Message: fmt.Sprintf("Script execution allocated more than %d MB.", e.limits.MaxAllocBytes>>20)}
	case errors.As(err, &interrupted):
		return &Error{Kind: KindTimeout, Message: fmt.Sprintf("Script execution timed out after %dms.", e.limits.Timeout.Milliseconds())}
	case errors.As(err, &ex):
		thrown = ex.Value()
	case errors.As(err, &rej):
		thrown = rej.reason
	default:
		var syntax *goja.CompilerSyntaxError
		if errors.As(err, &syntax) {
			return &Error{Kind: KindSyntax, Message: syntax.Error()}
		}
		return &Error{Kind: KindRuntime, Message: err.Error()}
	}
	if thrown == nil {
		return &Error{Kind: KindRuntime, Message: err.Error()}
	}
	if thrown.ExportType() == denialType && thrown.Export().(*denial) == inst.denied {
		d := inst.denied
		return &Error{Kind: KindDenied, Message: d.message}
	}
	if obj, ok := thrown.(*goja.Object); ok {
		if m := obj.Get("message"); m != nil && !goja.IsUndefined(m) {
			return &Error{Kind: KindRuntime, Message: m.String()}
		}
	}
	return &Error{Kind: KindRuntime, Message: thrown.String()}
}

package jwtcustom

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/dop251/goja"
)

// maxAnswerDepth bounds the nesting of an answer (and ends a cycle).
const maxAnswerDepth = 64

// answerJSON writes the JSON of a script's answer as JSON.stringify would
// (toJSON and getters called once, undefined and functions left out, NaN
// and infinities as null), in Go: it is on every token's path, and it
// stops at maxBytes instead of building whatever repeated references to a
// large value would make. It returns an *Error for an answer that is not a
// plain object or is too large.
func answerJSON(rt *goja.Runtime, v goja.Value, maxBytes int) ([]byte, error) {
	obj, ok := v.(*goja.Object)
	if !ok || obj.ClassName() == "Array" || isCallable(obj) {
		return nil, &Error{Kind: KindType, Message: "The script must return an object of claims."}
	}
	w := answerWriter{rt: rt, max: maxBytes}
	out, err := w.value(nil, "", v, 0)
	if err != nil {
		return nil, err
	}
	if out == nil || out[0] != '{' {
		return nil, &Error{Kind: KindType, Message: "The script must return an object of claims."}
	}
	return out, nil
}

type answerWriter struct {
	rt  *goja.Runtime
	max int
	buf []byte
}

func isCallable(o *goja.Object) bool {
	_, ok := goja.AssertFunction(o)
	return ok
}

// value appends the JSON of v, the property key of holder, and returns the
// buffer, or nil for a value JSON leaves out.
func (w *answerWriter) value(holder *goja.Object, key string, v goja.Value, depth int) ([]byte, error) {
	if len(w.buf) > w.max {
		return nil, &Error{Kind: KindType, Message: "The claims the script returned are larger than " + strconv.Itoa(w.max) + " bytes of JSON."}
	}
	if obj, ok := v.(*goja.Object); ok {
		if toJSON, ok := goja.AssertFunction(obj.Get("toJSON")); ok {
			var err error
			if v, err = toJSON(obj, w.rt.ToValue(key)); err != nil {
				return nil, err
			}
		}
	}
	if v == nil || goja.IsUndefined(v) {
		return nil, nil
	}
	if goja.IsNull(v) {
		w.buf = append(w.buf, "null"...)
		return w.buf, nil
	}
	if _, isSymbol := v.(*goja.Symbol); isSymbol {
		return nil, nil
	}
	obj, isObject := v.(*goja.Object)
	if isObject {
		switch obj.ClassName() {
		case "Number", "String", "Boolean": // boxed: JSON writes the primitive
			valueOf, ok := goja.AssertFunction(obj.Get("valueOf"))
			if !ok {
				return nil, &Error{Kind: KindType, Message: "The script return value must be JSON-serializable."}
			}
			var err error
			if v, err = valueOf(obj); err != nil {
				return nil, err
			}
			if _, isObject = v.(*goja.Object); isObject {
				return nil, &Error{Kind: KindType, Message: "The script return value must be JSON-serializable."}
			}
		}
	}
	if !isObject {
		switch x := v.Export().(type) {
		case string:
			data, _ := json.Marshal(x)
			w.buf = append(w.buf, data...)
		case bool:
			w.buf = strconv.AppendBool(w.buf, x)
		case int64:
			w.buf = strconv.AppendInt(w.buf, x, 10)
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				w.buf = append(w.buf, "null"...)
			} else {
				w.buf = append(w.buf, v.String()...) // JavaScript's number format
			}
		default:
			return nil, &Error{Kind: KindType, Message: "The script return value must be JSON-serializable."}
		}
		return w.buf, nil
	}
	if isCallable(obj) {
		return nil, nil
	}
	if depth >= maxAnswerDepth {
		return nil, &Error{Kind: KindType, Message: "The claims the script returned are nested too deep (or hold a cycle)."}
	}
	if obj.ClassName() == "Array" {
		n := obj.Get("length").ToInteger()
		w.buf = append(w.buf, '[')
		for i := int64(0); i < n; i++ {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			k := strconv.FormatInt(i, 10)
			mark := len(w.buf)
			out, err := w.value(obj, k, obj.Get(k), depth+1)
			if err != nil {
				return nil, err
			}
			if out == nil {
				w.buf = append(w.buf[:mark], "null"...)
			}
		}
		w.buf = append(w.buf, ']')
		return w.buf, nil
	}
	w.buf = append(w.buf, '{')
	first := true
	for _, k := range obj.Keys() {
		mark := len(w.buf)
		if !first {
			w.buf = append(w.buf, ',')
		}
		name, _ := json.Marshal(k)
		w.buf = append(append(w.buf, name...), ':')
		out, err := w.value(obj, k, obj.Get(k), depth+1)
		if err != nil {
			return nil, err
		}
		if out == nil {
			w.buf = w.buf[:mark]
			continue
		}
		first = false
	}
	w.buf = append(w.buf, '}')
	return w.buf, nil
}

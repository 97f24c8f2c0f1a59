package jwtcustom

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/dop251/goja"
)

// FuzzAnswerJSON checks answerJSON against goja's own JSON.stringify on
// objects made by JSON.parse: both must decode to the same value.
func FuzzAnswerJSON(f *testing.F) {
	for _, seed := range []string{`{}`, `{"a":1,"b":"x","c":[1,2,{"d":null}],"e":true}`, `{"u":"\u00e9\ud83d\ude00<>&","n":-0.5,"big":1e300}`,
		`{"nested":{"a":{"b":{"c":[[],{}]}}}}`, `{"":"empty key","0":1,"1":2}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		rt := goja.New()
		parse, _ := goja.AssertFunction(rt.Get("JSON").ToObject(rt).Get("parse"))
		stringify, _ := goja.AssertFunction(rt.Get("JSON").ToObject(rt).Get("stringify"))
		v, err := parse(goja.Undefined(), rt.ToValue(doc))
		if err != nil {
			return
		}
		if obj, ok := v.(*goja.Object); !ok || obj.ClassName() != "Object" {
			return
		}
		got, err := answerJSON(rt, v, 1<<20)
		if err != nil {
			var se *Error
			if errors.As(err, &se) && se.Kind == KindType { // too deep or too large
				return
			}
			t.Fatalf("answerJSON(%s): %v", doc, err)
		}
		native, err := stringify(goja.Undefined(), v)
		if err != nil {
			t.Fatalf("stringify: %v", err)
		}
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("answerJSON wrote invalid JSON %s: %v", got, err)
		}
		if err := json.Unmarshal([]byte(native.String()), &b); err != nil {
			return // goja's own output Go cannot read (lone surrogates)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("answerJSON %s, JSON.stringify %s", got, native)
		}
	})
}

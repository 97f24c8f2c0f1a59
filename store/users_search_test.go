package store

import (
	"encoding/json"
	"math"
	"testing"
)

func TestJSONNumber(t *testing.T) {
	for _, f := range []float64{0, 1, -1, 10, 2.5, 1e8, 1e20, 1e21, 1.5e300, 1e-6, 1e-7, -3.25e-9, 123456789012345, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonNumber(f); got != string(want) {
			t.Errorf("jsonNumber(%v) = %s, want %s", f, got, want)
		}
	}
}

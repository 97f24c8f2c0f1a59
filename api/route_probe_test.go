package api_test

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
)

// readmeProbeStart and readmeProbeEnd enclose, in README.md's "What is
// implemented" section, the table TestRouteProbe prints.
const (
	readmeProbeStart = "<!-- route-probe: go test ./api -run TestRouteProbe -update -->"
	readmeProbeEnd   = "<!-- /route-probe -->"
)

// probeResult is what the probe found of one family of Logto's operations.
type probeResult struct {
	family  string
	total   int
	served  int      // idbolt answers them
	exact   int      // of those, with Logto's success status and answer fields
	missing []string // "METHOD /path" of those it does not serve
}

// TestRouteProbe sends every operation of Logto's Management API (the 275
// of testdata/logto-openapi-responses.json, path parameters filled with
// "probe") to a server with a Management API token, and counts per family
// (the path's first segment after /api/) the ones idbolt serves: any answer
// but 404 guard.route_not_found and 405. A served operation must be in
// idbolt's OpenAPI document and every documented one must be served; of
// those, the ones whose status and fields match Logto's schema
// (compareWithLogto, deliberate differences counted as differences) are
// "as Logto". The table must be the one in README.md between the probe's
// markers (-update rewrites it); -v lists the missing operations.
func TestRouteProbe(t *testing.T) {
	logto, doc := logtoAndIdbolt(t)
	documented := map[string]bool{} // operation key -> the answer is shaped as Logto's
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + anyParams(path)
			if lo, ok := logto[key]; ok {
				documented[key] = len(compareWithLogto(op, lo)) == 0
			}
		}
	}

	e := newEnv(t)
	families := map[string]*probeResult{}
	for _, key := range slices.Sorted(maps.Keys(logto)) {
		method, path, _ := strings.Cut(key, " ")
		family, _, _ := strings.Cut(strings.TrimPrefix(path, "/api/"), "/")
		f := families[family]
		if f == nil {
			f = &probeResult{family: family}
			families[family] = f
		}
		f.total++
		var body any
		if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
			body = map[string]any{}
		}
		r := call(t, method, e.URL+strings.ReplaceAll(path, "{}", "probe"), e.token, body)
		served := r.Status != http.StatusMethodNotAllowed && (r.Status != http.StatusNotFound || r.Code() != "guard.route_not_found")
		exact, isDocumented := documented[key]
		switch {
		case served && !isDocumented:
			t.Errorf("%s is served (%d %s) but not in the OpenAPI document", key, r.Status, r.Body)
		case !served && isDocumented:
			t.Errorf("%s is in the OpenAPI document but answers %d %s", key, r.Status, r.Body)
		case served:
			f.served++
			if exact {
				f.exact++
			}
		default:
			f.missing = append(f.missing, key)
		}
	}

	table := probeTable(slices.SortedFunc(maps.Values(families), func(a, b *probeResult) int { return strings.Compare(a.family, b.family) }))
	for _, f := range families {
		if len(f.missing) > 0 {
			t.Logf("%s: missing %s", f.family, strings.Join(f.missing, ", "))
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := bytes.Cut(readme, []byte(readmeProbeStart+"\n"))
	_, after, ok2 := bytes.Cut(rest, []byte(readmeProbeEnd))
	if !ok1 || !ok2 {
		t.Fatalf("README.md lacks the lines %q and %q around the probe's table", readmeProbeStart, readmeProbeEnd)
	}
	if *update {
		out := slices.Concat(before, []byte(readmeProbeStart+"\n"), table, []byte(readmeProbeEnd), after)
		if err := os.WriteFile("../README.md", out, 0o644); err != nil {
			t.Fatal(err)
		}
	} else if got, _, _ := bytes.Cut(rest, []byte(readmeProbeEnd)); !bytes.Equal(got, table) {
		t.Errorf("README.md's route table is out of date (go test ./api -run TestRouteProbe -update rewrites it); the probe found:\n%s", table)
	}
}

// probeTable is the README's table of what the probe found, per family and
// in total.
func probeTable(families []*probeResult) []byte {
	var b bytes.Buffer
	all := probeResult{family: "**all**"}
	b.WriteString("| family | Logto's operations | served | as Logto | missing |\n| --- | ---: | ---: | ---: | ---: |\n")
	for _, f := range families {
		fmt.Fprintf(&b, "| `%s` | %d | %d | %d | %d |\n", f.family, f.total, f.served, f.exact, len(f.missing))
		all.total, all.served, all.exact = all.total+f.total, all.served+f.served, all.exact+f.exact
		all.missing = append(all.missing, f.missing...)
	}
	fmt.Fprintf(&b, "| %s | %d | %d | %d | %d |\n", all.family, all.total, all.served, all.exact, len(all.missing))
	return b.Bytes()
}

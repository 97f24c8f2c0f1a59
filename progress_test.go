package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fakeClock advances by step on every reading.
func fakeClock(step time.Duration) func() time.Time {
	t := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(step)
		return t
	}
}

func TestProgress_PlainLines(t *testing.T) {
	for _, tc := range []struct {
		name  string
		total int64
		bytes bool
		adds  []int64
		want  []string // one per line written
	}{
		{"Bytes", 4 << 20, true, []int64{1 << 20, 1 << 20, 1 << 20, 1 << 20}, []string{
			// each Add reads the clock once, 200 ms apart: a report at 600 ms (3 adds)
			"backup: 3.0 MiB of 4.0 MiB (75%), 5.0 MiB/s, ETA 200ms",
			"backup: 4.0 MiB of 4.0 MiB (100%), 4.0 MiB/s, done in 1s",
		}},
		{"ItemsUnknownTotal", 0, false, []int64{10, 10, 10, 10, 10, 10}, []string{
			"backup: 30, 50/s",
			"backup: 60, 50/s",
			"backup: 60, 42/s, done in 1.4s",
		}},
		{"Small", 100, true, []int64{100}, []string{
			"backup: 100 B of 100 B (100%), 250 B/s, done in 400ms",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			p := newProgress(&out, "backup", tc.total, tc.bytes, fakeClock(200*time.Millisecond))
			for _, n := range tc.adds {
				p.Add(n)
			}
			p.Finish()
			p.Finish()
			if got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestProgress_TerminalBar(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, "restore", 1000, true, fakeClock(600*time.Millisecond))
	p.terminal = true // what newProgress sets for a terminal
	p.Add(500)
	p.Add(250)
	p.Finish()
	got := out.String()
	if strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, "\n") {
		t.Errorf("a bar redrawn in place ends with one newline: %q", got)
	}
	if !strings.Contains(got, "\r\033[Krestore: [===============               ] 500 B of 1000 B (50%)") ||
		!strings.Contains(got, "\r\033[Krestore: [======================        ] 750 B of 1000 B (75%)") {
		t.Errorf("bar: %q", got)
	}
}

// TestBackupRestore_Progress: backup and restore report their progress on
// stderr, ending with the whole size.
func TestBackupRestore_Progress(t *testing.T) {
	dir := t.TempDir()
	s := startRun(t, filepath.Join(dir, "idbolt.db"), bootstrapEnv)
	env := map[string]string{"IDBOLT_CLIENT_ID": testClientID, "IDBOLT_CLIENT_SECRET": testSecret}
	var stdout, stderr bytes.Buffer
	out := filepath.Join(dir, "backup.db")
	if err := run(context.Background(), []string{"backup", "--url", s.url, "--out", out}, func(k string) string { return env[k] }, &stdout, &stderr); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr.String())
	}
	final := regexp.MustCompile(`(?m)^backup: (\S+ \S+) of (\S+ \S+) \(100%\), \S+ \S+/s, done in \S+$`)
	if m := final.FindStringSubmatch(stderr.String()); m == nil || m[1] != m[2] {
		t.Errorf("backup progress:\n%s", stderr.String())
	}
	stderr.Reset()
	if err := run(context.Background(), []string{"restore", "--in", out, "--data", filepath.Join(dir, "restored.db")}, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if !regexp.MustCompile(`(?m)^restore: (\S+ \S+) of (\S+ \S+) \(100%\).*done in`).MatchString(stderr.String()) {
		t.Errorf("restore progress:\n%s", stderr.String())
	}
}

// TestProgress_ImportSteps: the steps of an import, off a terminal, are a
// line with the total once known, throttled lines, and a final line with
// what the step did; a step whose total never comes has no percentage.
func TestProgress_ImportSteps(t *testing.T) {
	var out bytes.Buffer
	p := &importProgress{w: &out, now: fakeClock(200 * time.Millisecond)}
	p.Start("users", -1)
	p.SetTotal(4)
	p.SetTotal(4) // every page repeats it
	for range 4 {
		p.Add(1)
	}
	p.Done("copied 3, skipped 1")
	p.Start("user roles", -1)
	p.Add(2)
	p.Done("copied 2, skipped 0")
	want := []string{
		"import: users: 4 to copy",
		"import: users: 3 of 4 (75%), 5/s, ETA 200ms",
		"import: users: 4 of 4 (100%), 4/s, done in 1s: copied 3, skipped 1",
		"import: user roles: 2, 5/s, done in 400ms: copied 2, skipped 0",
	}
	if got := strings.TrimSuffix(out.String(), "\n"); got != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}

package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progressEvery is how often a progress report is written at most; the
// last one is written whatever the time.
const progressEvery = 500 * time.Millisecond

// progress reports the advance of a long operation (a backup, a restore,
// an import) on stderr: done, total, rate and time left. On a terminal it
// is one bar redrawn in place; elsewhere (a log, a pipe) one plain line per
// report, at most every progressEvery, so that a log is not flooded. It is
// safe for concurrent use. The zero total means unknown: no percentage and
// no ETA.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	total    int64
	bytes    bool // count bytes (KiB, MiB...) rather than items
	terminal bool
	now      func() time.Time
	start    time.Time
	last     time.Time // of the last report
	done     int64
	finished bool
}

// newProgress returns a progress of label ("backup", "import users") on w,
// which is drawn as a bar when w is a terminal. now is nil outside tests.
func newProgress(w io.Writer, label string, total int64, bytes bool, now func() time.Time) *progress {
	if now == nil {
		now = time.Now
	}
	f, ok := w.(*os.File)
	p := &progress{w: w, label: label, total: total, bytes: bytes, terminal: ok && isTerminal(f), now: now}
	p.start = now()
	p.last = p.start
	return p
}

// Add counts n more units done and reports if progressEvery has passed.
func (p *progress) Add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if t := p.now(); !p.finished && t.Sub(p.last) >= progressEvery {
		p.last = t
		p.report(t)
	}
}

// Write counts len(b) bytes, so that a progress can stand in an
// io.TeeReader or io.MultiWriter of the data it measures.
func (p *progress) Write(b []byte) (int, error) {
	p.Add(int64(len(b)))
	return len(b), nil
}

// Finish writes the final report; later calls do nothing.
func (p *progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.finished = true
	p.report(p.now())
	if p.terminal {
		fmt.Fprintln(p.w)
	}
}

// report writes one report; p.mu is held.
func (p *progress) report(t time.Time) {
	elapsed := t.Sub(p.start)
	var b strings.Builder
	b.WriteString(p.label)
	b.WriteString(": ")
	if p.terminal && p.total > 0 {
		const width = 30
		filled := int(min(p.done, p.total) * width / p.total)
		b.WriteString("[" + strings.Repeat("=", filled) + strings.Repeat(" ", width-filled) + "] ")
	}
	b.WriteString(p.amount(p.done))
	if p.total > 0 {
		fmt.Fprintf(&b, " of %s (%d%%)", p.amount(p.total), min(p.done, p.total)*100/p.total)
	}
	if elapsed > 0 {
		rate := float64(p.done) / elapsed.Seconds()
		fmt.Fprintf(&b, ", %s/s", p.amount(int64(rate)))
		if p.total > 0 && p.done < p.total && rate > 0 {
			eta := time.Duration(float64(p.total-p.done) / rate * float64(time.Second))
			round := time.Second
			if eta < 10*time.Second {
				round = 100 * time.Millisecond
			}
			fmt.Fprintf(&b, ", ETA %s", eta.Round(round))
		}
	}
	if p.finished {
		fmt.Fprintf(&b, ", done in %s", elapsed.Round(time.Millisecond))
	}
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s", b.String()) // \033[K clears what a longer line left
		return
	}
	fmt.Fprintln(p.w, b.String())
}

// amount formats n units: bytes in binary multiples, items as a count.
func (p *progress) amount(n int64) string {
	if !p.bytes {
		return fmt.Sprintf("%d", n)
	}
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

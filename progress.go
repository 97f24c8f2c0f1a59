package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/idbolt/idbolt/store/logtoimport"
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
	result   string // what the operation did, after the final report
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

// SetTotal sets the total once it is known (zero: unknown).
func (p *progress) SetTotal(total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = total
}

// Finish writes the final report; later calls do nothing.
func (p *progress) Finish() { p.FinishWith("") }

// FinishWith writes the final report followed by result, what the
// operation did ("copied 12, skipped 3"); later calls do nothing.
func (p *progress) FinishWith(result string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.finished = true
	p.result = result
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
		if p.result != "" {
			b.WriteString(": " + p.result)
		}
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

// importProgress shows the steps of idbolt import logto, one progress per
// step labelled "import: STEP", so that import, backup and restore share
// one reporter. Off a terminal it also writes a step's total as soon as it
// is known ("import: users: 16 to copy").
type importProgress struct {
	w    io.Writer
	now  func() time.Time // nil outside tests
	step *progress
}

var _ logtoimport.Progress = (*importProgress)(nil)

// Start begins step name with total items to go (-1 when not known yet).
func (p *importProgress) Start(name string, total int) {
	p.step = newProgress(p.w, "import: "+name, 0, false, p.now)
	p.SetTotal(total)
}

// SetTotal sets the step's total once it is known.
func (p *importProgress) SetTotal(total int) {
	if total < 0 {
		return
	}
	if !p.step.terminal && p.step.total == 0 {
		fmt.Fprintf(p.w, "%s: %d to copy\n", p.step.label, total)
	}
	p.step.SetTotal(int64(total))
}

// Add counts n more items done.
func (p *importProgress) Add(n int) { p.step.Add(int64(n)) }

// Done ends the step with what it did.
func (p *importProgress) Done(result string) { p.step.FinishWith(result) }

package logtoimport

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Progress reports an import's steps on a writer (stderr). On a terminal it
// redraws one bar per step, with count, total, rate and time left, at most
// ten times a second; elsewhere (a log, a pipe) it writes a plain line when
// a step starts and one when it ends, so that a log stays readable.
type Progress struct {
	w        io.Writer
	terminal bool
	now      func() time.Time

	step       string
	total      int // -1 when unknown
	count      int
	start, out time.Time
}

// NewProgress returns a Progress writing to w, drawing bars when terminal
// is true. now nil means time.Now.
func NewProgress(w io.Writer, terminal bool, now func() time.Time) *Progress {
	if now == nil {
		now = time.Now
	}
	return &Progress{w: w, terminal: terminal, now: now}
}

// Start begins step name with total items to go (-1 when not known yet).
func (p *Progress) Start(name string, total int) {
	p.step, p.total, p.count, p.start = name, total, 0, p.now()
	if !p.terminal {
		if total >= 0 {
			fmt.Fprintf(p.w, "import: %s: %d to copy\n", name, total)
		} else {
			fmt.Fprintf(p.w, "import: %s\n", name)
		}
		return
	}
	p.draw()
}

// SetTotal sets the step's total once it is known (from the first page).
func (p *Progress) SetTotal(total int) {
	if p.total < 0 && total >= 0 && !p.terminal {
		fmt.Fprintf(p.w, "import: %s: %d to copy\n", p.step, total)
	}
	p.total = total
}

// Add counts n more items done.
func (p *Progress) Add(n int) {
	p.count += n
	if p.terminal && p.now().Sub(p.out) >= 100*time.Millisecond {
		p.draw()
	}
}

// Done ends the step with what it did (e.g. "12 copied, 3 skipped").
func (p *Progress) Done(result string) {
	elapsed := p.now().Sub(p.start)
	line := fmt.Sprintf("import: %s: %d done in %s (%s): %s", p.step, p.count, elapsed.Round(time.Millisecond), rate(p.count, elapsed), result)
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s\n", line)
		return
	}
	fmt.Fprintln(p.w, line)
}

// draw rewrites the terminal line: name [#####.....] count/total rate ETA.
func (p *Progress) draw() {
	p.out = p.now()
	elapsed := p.out.Sub(p.start)
	const width = 30
	bar, of, eta := strings.Repeat(".", width), "?", ""
	if p.total > 0 {
		filled := min(width, p.count*width/p.total)
		bar = strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
		of = fmt.Sprint(p.total)
		if p.count > 0 && p.count < p.total {
			left := time.Duration(float64(elapsed) * float64(p.total-p.count) / float64(p.count))
			eta = " ETA " + left.Round(time.Second).String()
		}
	}
	fmt.Fprintf(p.w, "\r\033[K%-24s [%s] %d/%s %s%s", p.step, bar, p.count, of, rate(p.count, elapsed), eta)
}

// rate formats n items in d as items per second.
func rate(n int, d time.Duration) string {
	if d <= 0 {
		return "-/s"
	}
	return fmt.Sprintf("%.1f/s", float64(n)/d.Seconds())
}

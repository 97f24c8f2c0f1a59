package logtoimport

// Progress is told of an import's steps, so that a command can show them;
// idbolt import logto passes its own progress reporter (the one backup and
// restore use), so that one implementation draws every long operation.
// Run calls it from one goroutine. A nil Importer.Progress reports nothing.
type Progress interface {
	// Start begins step name with total items to go (-1 when not known yet).
	Start(name string, total int)
	// SetTotal sets the step's total once it is known (from the first page).
	SetTotal(total int)
	// Add counts n more items done.
	Add(n int)
	// Done ends the step with what it did (e.g. "copied 12, skipped 3").
	Done(result string)
}

// noProgress is the Progress of an Importer given none.
type noProgress struct{}

func (noProgress) Start(string, int) {}
func (noProgress) SetTotal(int)      {}
func (noProgress) Add(int)           {}
func (noProgress) Done(string)       {}

//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockForRestore takes the lock a server holds on the data file at path
// (bbolt's flock) and keeps it until unlock is called, so that no server
// opens the file between Restore's check and its rename; a server that
// waited meanwhile finds the file replaced and opens the new one
// (openLocked). It returns an error wrapping ErrInUse when a process holds
// the file open. It takes the flock itself rather than opening the file
// with bbolt, which would map a file that may be the damaged one being
// restored over.
func lockForRestore(path string) (unlock func(), err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return func() {}, nil
	} else if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil, fmt.Errorf("%s: %w (stop the server first)", path, ErrInUse)
	} else if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}

//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// refuseInUse returns an error wrapping ErrInUse when a process holds the
// data file at path open. It takes bbolt's lock (flock) itself rather than
// opening the file with bbolt, which would map a file that may be the
// damaged one being restored over.
func refuseInUse(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); errors.Is(err, syscall.EWOULDBLOCK) {
		return fmt.Errorf("%s: %w (stop the server first)", path, ErrInUse)
	} else if err != nil {
		return fmt.Errorf("lock %s: %w", path, err)
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

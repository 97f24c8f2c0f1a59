//go:build !unix

package store

import (
	"errors"
	"fmt"
	"os"
	"time"

	"go.etcd.io/bbolt"
)

// lockForRestore returns an error wrapping ErrInUse when a process holds
// the data file at path open; unlock does nothing, since there is no lock
// to keep. Without flock it takes bbolt's lock by opening the
// file with bbolt, which it does only for a file whose header is sound; a
// damaged file cannot be served, so it is taken to be free.
func lockForRestore(path string) (unlock func(), err error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return func() {}, nil
	}
	if checkPath(path, path) != nil {
		return func() {}, nil
	}
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("%s: %w (stop the server first)", path, ErrInUse)
	}
	return func() {}, b.Close()
}

//go:build !unix

package store

import (
	"errors"
	"fmt"
	"os"
	"time"

	"go.etcd.io/bbolt"
)

// refuseInUse returns an error wrapping ErrInUse when a process holds the
// data file at path open. Without flock it takes bbolt's lock by opening the
// file with bbolt, which it does only for a file whose header is sound; a
// damaged file cannot be served, so it is taken to be free.
func refuseInUse(path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if checkPath(path, path) != nil {
		return nil
	}
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("%s: %w (stop the server first)", path, ErrInUse)
	}
	return b.Close()
}

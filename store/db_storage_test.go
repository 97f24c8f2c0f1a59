package store

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	berrors "go.etcd.io/bbolt/errors"
)

func TestIsNoSpace(t *testing.T) {
	pathErr := &fs.PathError{Op: "write", Path: "idbolt.db", Err: syscall.ENOSPC}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"Nil", nil, false},
		{"ENOSPC", syscall.ENOSPC, true},
		{"WrappedPathError", fmt.Errorf("commit: %w", pathErr), true},
		// bbolt's grow wraps with %s, which keeps only the text.
		{"GrowText", fmt.Errorf("file resize error: %s", pathErr), true},
		{"EDQUOT", &fs.PathError{Op: "write", Path: "x", Err: syscall.EDQUOT}, true},
		{"EFBIG", fmt.Errorf("file resize error: %s", syscall.EFBIG), true},
		{"MaxSize", fmt.Errorf("commit: %w", berrors.ErrMaxSizeReached), true},
		{"EIO", &fs.PathError{Op: "write", Path: "x", Err: syscall.EIO}, false},
		{"Other", errors.New("tx closed"), false},
		{"DomainError", notFound("user", "x"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isNoSpace(tt.err); got != tt.want {
				t.Errorf("isNoSpace(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

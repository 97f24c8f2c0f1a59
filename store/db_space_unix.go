//go:build unix

package store

import (
	"os"
	"syscall"
)

// freeSpace returns the bytes an unprivileged writer may still add to the
// file system of f; ok is false when the system cannot tell.
func freeSpace(f *os.File) (free uint64, ok bool) {
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(int(f.Fd()), &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}

//go:build unix

package main

import "syscall"

// openFileLimit returns the process's soft limit on open files, or 0 when
// it cannot be read.
func openFileLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	return r.Cur
}

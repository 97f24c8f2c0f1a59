//go:build !unix

package store

import "os"

// freeSpace cannot tell the free space where there is no statfs; the copy
// then fails, and is removed, if the disk fills.
func freeSpace(*os.File) (free uint64, ok bool) { return 0, false }

// Package rankindex keeps the counting indexes that let a list page deep in a
// large bucket cost about what its first page does: Add, AddAll, Total and
// SeekNewest and SeekNewestExcept for buckets keyed by 8-byte sequence numbers (the user list),
// PrefixAdd and PrefixSeek for the id-ordered pairs a\x00b of one a in a
// relation bucket (an organization's members). An index is a bucket of 8-byte
// big-endian counts written in the same transaction as the data it counts.
//
// It is storage machinery with no knowledge of entities: it reads and writes
// only through store/kv, and package store decides which buckets it counts.
package rankindex

import "encoding/binary"

// be64 encodes v as an 8-byte big-endian key or count.
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// unbe64 decodes an 8-byte big-endian key or count.
func unbe64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

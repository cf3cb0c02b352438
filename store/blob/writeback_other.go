//go:build !(linux && (amd64 || arm64))

package blob

import "os"

// startWriteback is a no-op where sync_file_range is not wired up (its arguments differ on 32-bit Linux); the
// fsync that ends an append writes everything out.
func startWriteback(f *os.File, off, n int64) {}

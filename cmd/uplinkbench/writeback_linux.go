//go:build linux && (amd64 || arm64)

package main

import (
	"os"
	"syscall"
)

// startWriteback asks the kernel to start writing n bytes of f from off
// out to disk, without waiting: what uplink's blob store does every 2 MiB
// of a part (store/blob), so that the baseline writes the way uplink does.
func startWriteback(f *os.File, off, n int64) {
	const syncFileRangeWrite = 2
	_, _, _ = syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, f.Fd(), uintptr(off), uintptr(n), syncFileRangeWrite, 0, 0)
}

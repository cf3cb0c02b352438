package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"syscall"
	"time"
)

// generate writes size deterministic pseudo-random bytes (PCG, seeded with
// constants) to path, and returns the SHA-256 of each of the given
// prefixes of it. The bytes do not compress and do not repeat.
func generate(path string, size int64, prefixes []int64) (map[int64]string, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rng := rand.NewPCG(0x75706c696e6b, 0x62656e6368)
	h := sha256.New()
	sums := map[int64]string{}
	buf := make([]byte, 1<<20)
	cuts := slices.Sorted(slices.Values(prefixes))
	for off := int64(0); off < size; {
		n := int(min(int64(len(buf)), size-off))
		// Stop the block at the next prefix, so its hash can be taken.
		for _, c := range cuts {
			if c > off && c < off+int64(n) {
				n = int(c - off)
				break
			}
		}
		b := buf[:n]
		for i := 0; i+8 <= len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
		}
		h.Write(b)
		if _, err := f.Write(b); err != nil {
			return nil, err
		}
		off += int64(n)
		if slices.Contains(cuts, off) {
			sums[off] = hex.EncodeToString(h.Sum(nil))
		}
	}
	for _, c := range cuts {
		if _, ok := sums[c]; !ok {
			return nil, fmt.Errorf("prefix %d is beyond the file's %d bytes", c, size)
		}
	}
	// Flush the file now, so that its writeback does not run into the
	// timed writes that follow.
	if err := f.Sync(); err != nil {
		return nil, err
	}
	return sums, f.Close()
}

// baseline writes size bytes of src (from its start) to a new file at
// dst with os.File, in parts of partSize bytes, each written in 1 MiB
// blocks with a hint to the kernel to start writing out every 2 MiB and an
// fsync at its end: exactly the disk work uplink's blob store does for a
// part, without the network, the parsing and the database. It is the least
// that uplink's durability can cost, so an uplink upload faster than it
// would be a measurement mistake. (Without the hints, on this machine, the
// same writes ran 1.3 to 1.8 times slower, and uplink read as faster than
// the disk.)
//
// Each part is read into memory before its writes start, and only the
// writes and the fsync are timed and charged: uplink's servers never read
// the file either (the client sends it from the page cache with sendfile),
// and reading it here cost as much CPU as writing it on this machine. It
// returns the time and the CPU time (user and system) of the writes.
func baseline(src *os.File, dst string, size int64) (time.Duration, time.Duration, error) {
	f, err := os.Create(dst)
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(dst)
	defer f.Close()
	part := make([]byte, partSize)
	var took, cpu time.Duration
	for off := int64(0); off < size; off += partSize {
		p := part[:min(partSize, size-off)]
		if _, err := src.ReadAt(p, off); err != nil && !errors.Is(err, io.EOF) {
			return 0, 0, err
		}
		c0, t0 := cpuTime(), time.Now()
		var flushed int64
		for written := int64(0); written < int64(len(p)); {
			m := min(1<<20, int64(len(p))-written)
			if _, err := f.Write(p[written : written+m]); err != nil {
				return 0, 0, err
			}
			written += m
			if written-flushed >= writebackEvery {
				startWriteback(f, off+flushed, written-flushed)
				flushed = written
			}
		}
		if err := f.Sync(); err != nil {
			return 0, 0, err
		}
		took += time.Since(t0)
		cpu += cpuTime() - c0
	}
	return took, cpu, f.Close()
}

// cpuTime is this process's user plus system time so far, to the
// microsecond.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writebackEvery is how often, in bytes of a part, the writes ask the
// kernel to start writing out: store/blob's value.
const writebackEvery = 2 << 20

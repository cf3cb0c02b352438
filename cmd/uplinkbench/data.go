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
// the disk.) It returns the time of the writes and fsyncs.
func baseline(src *os.File, dst string, size int64) (time.Duration, error) {
	f, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	defer os.Remove(dst)
	defer f.Close()
	buf := make([]byte, 1<<20)
	start := time.Now()
	for off := int64(0); off < size; off += partSize {
		n := min(partSize, size-off)
		var written, flushed int64
		for written < n {
			m, err := src.ReadAt(buf[:min(int64(len(buf)), n-written)], off+written)
			if err != nil && !(errors.Is(err, io.EOF) && m > 0) {
				return 0, err
			}
			if _, err := f.Write(buf[:m]); err != nil {
				return 0, err
			}
			written += int64(m)
			if written-flushed >= writebackEvery {
				startWriteback(f, off+flushed, written-flushed)
				flushed = written
			}
		}
		if err := f.Sync(); err != nil {
			return 0, err
		}
	}
	d := time.Since(start)
	return d, f.Close()
}

// writebackEvery is how often, in bytes of a part, the writes ask the
// kernel to start writing out: store/blob's value.
const writebackEvery = 2 << 20

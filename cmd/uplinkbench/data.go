package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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

// baseline writes size bytes of src (from its start) to a new file in
// dir with os.File, in parts of partSize bytes, with an fsync after each
// part: the disk's own speed for what an upload has to do. It returns the
// time taken.
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
		if _, err := io.CopyBuffer(writerOnly{f}, io.NewSectionReader(src, off, n), buf); err != nil {
			return 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, err
		}
	}
	d := time.Since(start)
	return d, f.Close()
}

// writerOnly hides os.File's ReadFrom, so that the copy uses the 1 MiB
// buffer given to io.CopyBuffer, as uplink's blob store does.
type writerOnly struct{ io.Writer }

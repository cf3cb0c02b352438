package links

import (
	"hash"
	"sync"
)

// backgroundHash feeds a hash from a goroutine of its own, so that hashing
// a part runs beside parsing it and writing it to disk instead of after
// every read: the receipt's SHA-256 then costs little wall time when a
// core is free. Writes are copied into a fixed set of buffers allocated
// once, so memory stays the same whatever the part size.
type backgroundHash struct {
	h    hash.Hash
	work chan []byte
	free chan []byte
	done chan struct{}
	once sync.Once
}

const (
	hashBuffers    = 4
	hashBufferSize = 256 << 10
)

func newBackgroundHash(h hash.Hash) *backgroundHash {
	b := &backgroundHash{
		h:    h,
		work: make(chan []byte, hashBuffers),
		free: make(chan []byte, hashBuffers),
		done: make(chan struct{}),
	}
	for range hashBuffers {
		b.free <- make([]byte, hashBufferSize)
	}
	go func() {
		defer close(b.done)
		for p := range b.work {
			b.h.Write(p)
			b.free <- p[:cap(p)]
		}
	}()
	return b
}

// Write queues a copy of p for hashing, waiting for a free buffer when the
// hash is behind. It never fails.
func (b *backgroundHash) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		buf := <-b.free
		k := copy(buf, p)
		b.work <- buf[:k]
		p = p[k:]
	}
	return n, nil
}

// Wait lets the goroutine finish what was written and returns the hash.
// It may be called more than once; nothing may be written after it.
func (b *backgroundHash) Wait() hash.Hash {
	b.once.Do(func() {
		close(b.work)
		<-b.done
	})
	return b.h
}

package ingest

import "sync"

// videoLock coordinates the requests that touch one video's upload.
//
// state serialises read-decide-write sequences on the upload's metadata;
// it is held only around short metadata operations, never while bytes
// stream in.
//
// The tail is the end of the video's source blob, where in-order pieces
// are appended. Only the request holding the tail may append. A request
// that cannot take it at once does not wait: it stores its piece aside
// instead. When such a piece is committed while the tail is held, the
// holder is told (pending) and moves the piece in before letting go, so no
// piece is ever left aside with nobody to move it.
type videoLock struct {
	state sync.Mutex

	mu      sync.Mutex // Guards busy and pending.
	busy    bool
	pending bool

	refs int // Guarded by lockTable.mu.
}

// tryTail takes the tail if it is free. If it is not, it records that the
// holder has work to do before releasing it.
func (l *videoLock) tryTail() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy {
		l.pending = true
		return false
	}
	l.busy = true
	return true
}

// tryTailQuietly takes the tail if it is free, and leaves the holder alone
// if it is not: for a request that only hoped to append, with nothing
// committed for the holder to move in.
func (l *videoLock) tryTailQuietly() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy {
		return false
	}
	l.busy = true
	return true
}

// releaseTail lets go of the tail, unless work was signalled while it was
// held: then it clears the signal, keeps the tail, and returns false so
// that the caller drains again.
func (l *videoLock) releaseTail() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending {
		l.pending = false
		return false
	}
	l.busy = false
	return true
}

// lockTable hands out one videoLock per video ID while anyone uses it.
type lockTable struct {
	mu sync.Mutex
	m  map[string]*videoLock
}

func (t *lockTable) get(id string) *videoLock {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*videoLock{}
	}
	l := t.m[id]
	if l == nil {
		l = &videoLock{}
		t.m[id] = l
	}
	l.refs++
	return l
}

func (t *lockTable) put(id string, l *videoLock) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l.refs--
	if l.refs == 0 {
		delete(t.m, id)
	}
}

// keySet is a set of blob keys being written that the metadata does not
// reference yet; the orphan sweep must leave them alone.
type keySet struct {
	mu sync.Mutex
	m  map[string]struct{}
}

func (s *keySet) add(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]struct{}{}
	}
	s.m[k] = struct{}{}
}

func (s *keySet) remove(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
}

// frozen calls fn while no key can be added or removed. fn gets a
// membership test. The orphan sweep reads the metadata's references inside
// fn: a writer records its key in the metadata before removing it from the
// set, so every key is, at that moment, in one or the other.
func (s *keySet) frozen(fn func(has func(string) bool) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn(func(k string) bool { _, ok := s.m[k]; return ok })
}

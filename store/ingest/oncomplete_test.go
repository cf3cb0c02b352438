package ingest_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/uplink-video/uplink/store/ingest"
)

// completions records the completions Config.Events hears of.
type completions struct {
	ingest.NoEvents
	mu  sync.Mutex
	ids []string
}

func (c *completions) UploadCompleted(_ context.Context, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = append(c.ids, id)
}

func (c *completions) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ids)
}

// withCompletions replaces the env's service with one that records its
// completions.
func withCompletions(e *env) *completions {
	c := &completions{}
	e.svc = ingest.New(e.store, e.blobs, ingest.Config{Lease: e.lease, Events: c})
	return c
}

func TestOnCompleteIsCalledOncePerUpload(t *testing.T) {
	file := payload(7, 2*partSize+100)
	parts := split(file)
	tests := []struct {
		description string
		send        func(e *env, tok string) string
	}{
		{"one request", func(e *env, tok string) string {
			return e.mustSend(request{token: tok, contentRange: "bytes 0-99/100", data: file[:100]}).ID
		}},
		{"parts in order", func(e *env, tok string) string {
			id := e.mustSend(request{token: tok, contentRange: "part 1/3", data: parts[0]}).ID
			e.mustSend(request{token: tok, contentRange: "part 2/3", videoBefore: id, data: parts[1]})
			e.mustSend(request{token: tok, contentRange: "part 3/3", videoBefore: id, data: parts[2]})
			// A repeat of the last part completes nothing more.
			e.mustSend(request{token: tok, contentRange: "part 3/3", videoBefore: id, data: parts[2]})
			return id
		}},
		{"last part early, moved in by the part before it", func(e *env, tok string) string {
			id := e.mustSend(request{token: tok, contentRange: "part 1/*", data: parts[0]}).ID
			e.mustSend(request{token: tok, contentRange: "part 3/3", videoBefore: id, data: parts[2]})
			e.mustSend(request{token: tok, contentRange: "part 2/*", videoBefore: id, data: parts[1]})
			return id
		}},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			e := newEnv(t)
			c := withCompletions(e)
			id := tt.send(e, e.token(0))
			if got, want := c.list(), []string{id}; !slices.Equal(got, want) {
				t.Errorf("OnComplete calls=%v, want=%v", got, want)
			}
		})
	}
}

func TestOnCompleteIsNotCalledForUnfinishedUploads(t *testing.T) {
	e := newEnv(t)
	c := withCompletions(e)
	tok := e.token(0)
	parts := split(payload(8, 2*partSize+10))
	id := e.mustSend(request{token: tok, contentRange: "part 1/3", data: parts[0]}).ID
	e.mustSend(request{token: tok, contentRange: "part 2/3", videoBefore: id, data: parts[1]})
	if got := c.list(); len(got) != 0 {
		t.Errorf("OnComplete calls=%v, want none", got)
	}
}

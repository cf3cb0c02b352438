package links_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/links"
)

func TestExtend(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	l := e.link(t, links.Spec{TTL: time.Hour})
	e.Clock.Advance(2 * time.Hour)

	got, err := e.links.Extend(ctx, l.ID, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := e.Clock.Now().Add(24 * time.Hour); got.ExpiresAt == nil || !got.ExpiresAt.Equal(want) {
		t.Errorf("expires %v, want %v (a day from now)", got.ExpiresAt, want)
	}
	if _, err := e.links.Open(ctx, l.ID); err != nil {
		t.Errorf("an extended link does not open: %v", err)
	}

	var fe links.FieldErrors
	if _, err := e.links.Extend(ctx, l.ID, 30*time.Second); !errors.As(err, &fe) || fe["ttl"] == "" {
		t.Errorf("30 s: %v, want a ttl field error", err)
	}
	if _, err := e.links.Revoke(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.links.Extend(ctx, l.ID, time.Hour); !errors.Is(err, links.ErrRevoked) {
		t.Errorf("revoked: %v, want ErrRevoked", err)
	}
}

func TestDuplicate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sp := links.Spec{
		Label: "orig", Message: "hello", TTL: 7 * 24 * time.Hour, MaxUploads: 3, MaxSize: 1 << 30,
		Types: []string{"mp4", "webm"}, EmbedOrigins: []string{"https://a.example"}, AskName: true,
	}
	l := e.link(t, sp)
	if _, err := e.links.Revoke(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Hour)

	d, err := e.links.Duplicate(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID == l.ID {
		t.Errorf("the copy shares the ID of the original")
	}
	if d.RevokedAt != nil || d.State(e.Clock.Now()) != store.LinkActive {
		t.Errorf("the copy of a revoked link is %s", d.State(e.Clock.Now()))
	}
	if got := links.SpecOf(d); got.Label != sp.Label || got.Message != sp.Message || got.TTL != sp.TTL ||
		got.MaxUploads != sp.MaxUploads || got.MaxSize != sp.MaxSize || !slices.Equal(got.Types, sp.Types) ||
		!slices.Equal(got.EmbedOrigins, sp.EmbedOrigins) || got.AskName != sp.AskName {
		t.Errorf("copy settings = %+v, want %+v", got, sp)
	}
	if want := e.Clock.Now().Add(sp.TTL); d.ExpiresAt == nil || !d.ExpiresAt.Equal(want) {
		t.Errorf("copy expires %v, want %v (its TTL from now)", d.ExpiresAt, want)
	}
}

// TestReceivedWhileStreaming checks that the bytes of a part in flight
// count towards an upload's progress as they pass, and only once after
// the part is recorded.
func TestReceivedWhileStreaming(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	l := e.link(t, links.Spec{})
	data := videoFile(t, chunk+chunk/2)
	u := start(t, e, l, data, "a.mp4")

	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := e.links.PutPart(ctx, l.ID, u.VideoID, 1, chunk, pr)
		done <- err
	}()
	const first = 1 << 20
	if _, err := pw.Write(data[:first]); err != nil {
		t.Fatal(err)
	}
	// The write returns once the reader took the bytes; the count
	// follows at once.
	deadline := time.Now().Add(5 * time.Second)
	for e.links.Received(context.Background(), u) < first && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := e.links.Received(context.Background(), u); got < first || got > chunk {
		t.Errorf("after %d bytes of part 1: Received = %d", first, got)
	}
	if part, n := e.links.InFlightBytes(u.ID); part != 1 || n < first {
		t.Errorf("InFlightBytes = part %d, %d bytes; want part 1, at least %d", part, n, first)
	}
	if _, err := pw.Write(data[first:chunk]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	u, err := e.store.FindLinkUpload(ctx, l.ID, u.VideoID)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.links.Received(context.Background(), u); got != chunk {
		t.Errorf("after part 1: Received = %d, want %d", got, chunk)
	}
	if part, _ := e.links.InFlightBytes(u.ID); part != 0 {
		t.Errorf("after part 1, part %d is still in flight", part)
	}
}

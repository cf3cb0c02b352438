package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
)

const day = 24 * time.Hour

func mustEndpoint(t *testing.T, st *store.Store, url string, events ...string) store.WebhookEndpoint {
	t.Helper()
	ep, err := st.CreateWebhookEndpoint(context.Background(), store.WebhookEndpointCreate{
		URL: url, Secret: "whsec_" + strings.Repeat("s", 32), Events: events,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func mustEnqueue(t *testing.T, st *store.Store, e store.WebhookEvent) int {
	t.Helper()
	if e.Payload == nil {
		e.Payload = []byte(`{"ok":true}`)
	}
	n, err := st.EnqueueWebhookEvent(context.Background(), e, day)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWebhookEndpoints(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	a := mustEndpoint(t, st, "https://a.example/hook", "upload.started", "upload.completed")
	b := mustEndpoint(t, st, "https://b.example/hook", "link.expired")
	if !store.ValidID(store.PrefixWebhookEndpoint, a.ID) {
		t.Errorf("id=%q", a.ID)
	}
	if !a.Subscribes("upload.completed") || a.Subscribes("link.expired") {
		t.Errorf("events=%v", a.Events)
	}
	list, err := st.ListWebhookEndpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Errorf("list=%+v", list)
	}
	for typ, want := range map[string]bool{"upload.started": true, "link.expired": true, "link.used_up": false} {
		if got, err := st.WebhookSubscribed(ctx, typ); err != nil || got != want {
			t.Errorf("WebhookSubscribed(%s)=%v, %v; want %v", typ, got, err, want)
		}
	}

	if got := mustEnqueue(t, st, store.WebhookEvent{Type: "upload.started", OrderKey: "video:v"}); got != 1 {
		t.Errorf("enqueued %d, want 1", got)
	}
	a, _ = st.FindWebhookEndpoint(ctx, a.ID)
	if a.Pending != 1 || a.Failed != 0 {
		t.Errorf("pending=%d failed=%d", a.Pending, a.Failed)
	}
	if err := st.DeleteWebhookEndpoint(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteWebhookEndpoint(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
	if _, err := st.FindWebhookEndpoint(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FindWebhookEndpoint after delete: %v", err)
	}
	due, err := st.FindDueWebhookDeliveries(ctx, 10)
	if err != nil || len(due) != 0 {
		t.Errorf("due after deleting the endpoint=%d, %v", len(due), err)
	}
}

func TestEnqueueWebhookEventNotices(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	l, err := st.CreateLink(ctx, store.LinkCreate{Token: "tok", Label: "l", TTL: 60})
	if err != nil {
		t.Fatal(err)
	}
	// Noticed with nobody listening: nothing queued, but noted.
	used := &store.LinkNotice{LinkID: l.ID, Kind: store.NoticeUsedUp}
	if got := mustEnqueue(t, st, store.WebhookEvent{Type: "link.used_up", Notice: used}); got != 0 {
		t.Errorf("enqueued %d without endpoints", got)
	}
	ep := mustEndpoint(t, st, "https://a.example/hook", "link.used_up", "link.expired")
	if _, err := st.EnqueueWebhookEvent(ctx, store.WebhookEvent{Type: "link.used_up", Payload: []byte(`{}`), Notice: used}, day); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second used-up: %v, want ErrConflict", err)
	}
	first := storetest.Epoch.Add(time.Minute)
	if got := mustEnqueue(t, st, store.WebhookEvent{Type: "link.expired", Notice: &store.LinkNotice{LinkID: l.ID, Kind: store.NoticeExpired, At: first}}); got != 1 {
		t.Errorf("enqueued %d, want 1", got)
	}
	if _, err := st.EnqueueWebhookEvent(ctx, store.WebhookEvent{Type: "link.expired", Payload: []byte(`{}`), Notice: &store.LinkNotice{LinkID: l.ID, Kind: store.NoticeExpired, At: first}}, day); !errors.Is(err, store.ErrConflict) {
		t.Errorf("the same expiry again: %v, want ErrConflict", err)
	}
	if got := mustEnqueue(t, st, store.WebhookEvent{Type: "link.expired", Notice: &store.LinkNotice{LinkID: l.ID, Kind: store.NoticeExpired, At: first.Add(time.Hour)}}); got != 1 {
		t.Errorf("another expiry: enqueued %d, want 1", got)
	}
	list, _, err := st.ListWebhookDeliveries(ctx, ep.ID, store.Page{Number: 1, Size: 10})
	if err != nil || len(list) != 2 {
		t.Errorf("deliveries=%d, %v; want 2", len(list), err)
	}
	if _, err := st.EnqueueWebhookEvent(ctx, store.WebhookEvent{Type: "link.expired", Payload: []byte(`not json`)}, day); err == nil {
		t.Errorf("a payload that is not JSON was stored")
	}
}

func TestFindDueWebhookDeliveriesTakesTheHeadOfEachKey(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock()
	st := storetest.OpenWithClock(t, clk)
	a := mustEndpoint(t, st, "https://a.example/hook", "upload.started", "upload.completed")
	b := mustEndpoint(t, st, "https://b.example/hook", "upload.completed")
	mustEnqueue(t, st, store.WebhookEvent{Type: "upload.started", OrderKey: "video:1"})
	mustEnqueue(t, st, store.WebhookEvent{Type: "upload.completed", OrderKey: "video:1"})
	mustEnqueue(t, st, store.WebhookEvent{Type: "upload.started", OrderKey: "video:2"})

	due, err := st.FindDueWebhookDeliveries(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range due {
		got = append(got, d.EndpointID[:1]+d.URL[8:9]+"/"+d.OrderKey+"/"+d.EventType)
	}
	want := []string{"wa/video:1/upload.started", "wb/video:1/upload.completed", "wa/video:2/upload.started"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("due=%v, want=%v", got, want)
	}
	if due[0].Secret == "" || string(due[0].Payload) != `{"ok":true}` {
		t.Errorf("due[0]=%+v", due[0])
	}

	// The head fails and is retried later: its follower stays behind.
	later := clk.Now().Add(time.Minute)
	rec := store.WebhookAttemptResult{WebhookAttempt: store.WebhookAttempt{DeliveryID: due[0].ID, At: clk.Now(), Status: 500}, NextAttemptAt: &later}
	if err := st.RecordWebhookAttempt(ctx, rec); err != nil {
		t.Fatal(err)
	}
	due, _ = st.FindDueWebhookDeliveries(ctx, 10)
	if len(due) != 2 {
		t.Errorf("due while the head waits=%d, want 2 (b's and video 2)", len(due))
	}
	if next, ok, err := st.NextWebhookAttempt(ctx); err != nil || !ok || !next.Equal(clk.Now()) {
		t.Errorf("NextWebhookAttempt=%v, %v, %v", next, ok, err)
	}
	// Given up, it lets the follower go.
	rec = store.WebhookAttemptResult{WebhookAttempt: store.WebhookAttempt{DeliveryID: rec.DeliveryID, At: clk.Now(), Error: "gone"}}
	if err := st.RecordWebhookAttempt(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordWebhookAttempt(ctx, rec); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("recording on a finished delivery: %v, want ErrNotFound", err)
	}
	due, _ = st.FindDueWebhookDeliveries(ctx, 10)
	found := false
	for _, d := range due {
		found = found || d.EndpointID == a.ID && d.EventType == "upload.completed"
	}
	if !found {
		t.Errorf("the follower is not due after the head was given up: %+v", due)
	}
	_ = b
}

func TestRecordWebhookAttemptClipsTheError(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	ep := mustEndpoint(t, st, "https://a.example/hook", "upload.started")
	mustEnqueue(t, st, store.WebhookEvent{Type: "upload.started", OrderKey: "video:1"})
	due, _ := st.FindDueWebhookDeliveries(ctx, 1)
	long := strings.Repeat("é", 700) // 1400 bytes.
	next := st.Now().Add(time.Minute)
	err := st.RecordWebhookAttempt(ctx, store.WebhookAttemptResult{
		WebhookAttempt: store.WebhookAttempt{DeliveryID: due[0].ID, At: st.Now(), Error: long, Duration: 1500 * time.Millisecond},
		NextAttemptAt:  &next,
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := st.FindWebhookDelivery(ctx, ep.ID, due[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.LastError) > 1000 || !utf8.ValidString(d.LastError) || len(d.LastError) < 990 {
		t.Errorf("last error: %d bytes, valid=%v", len(d.LastError), utf8.ValidString(d.LastError))
	}
	tries, _ := st.ListWebhookAttempts(ctx, []int64{d.ID})
	if len(tries[d.ID]) != 1 || tries[d.ID][0].Duration != 1500*time.Millisecond {
		t.Errorf("attempts=%+v", tries)
	}
}

func TestPruneWebhookDeliveries(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock()
	st := storetest.OpenWithClock(t, clk)
	ep := mustEndpoint(t, st, "https://a.example/hook", "upload.started")
	mustEnqueue(t, st, store.WebhookEvent{Type: "upload.started", OrderKey: "video:1"})
	mustEnqueue(t, st, store.WebhookEvent{Type: "upload.started", OrderKey: "video:2"})
	due, _ := st.FindDueWebhookDeliveries(ctx, 10)
	if err := st.RecordWebhookAttempt(ctx, store.WebhookAttemptResult{
		WebhookAttempt: store.WebhookAttempt{DeliveryID: due[0].ID, At: clk.Now(), Status: 200}, Delivered: true,
	}); err != nil {
		t.Fatal(err)
	}
	resent, err := st.ResendWebhookDelivery(ctx, ep.ID, due[0].ID, day)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(40 * day)
	n, err := st.PruneWebhookDeliveries(ctx, clk.Now().Add(-30*day))
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want 1", n, err)
	}
	list, total, _ := st.ListWebhookDeliveries(ctx, ep.ID, store.Page{Number: 1, Size: 10})
	if total != 2 || list[0].ID != resent.ID || list[1].ID != due[1].ID {
		t.Errorf("left=%+v", list)
	}
	// The resend still has its event, though the first delivery of it
	// is gone.
	if string(list[0].Payload) != `{"ok":true}` || list[0].ResentFrom != due[0].ID {
		t.Errorf("resend=%+v", list[0])
	}
}

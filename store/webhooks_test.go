package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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
	due, err := st.ClaimDueWebhookDeliveries(ctx, 10, claim)
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

// claim is how long the tests' claims on deliveries last.
const claim = 10 * time.Minute

func TestClaimDueWebhookDeliveriesTakesTheHeadOfEachKey(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock()
	st := storetest.OpenWithClock(t, clk)
	a := mustEndpoint(t, st, "https://a.example/hook", "upload.started", "upload.completed")
	b := mustEndpoint(t, st, "https://b.example/hook", "upload.completed")
	mustEnqueue(t, st, store.WebhookEvent{Type: "upload.started", OrderKey: "video:1"})
	mustEnqueue(t, st, store.WebhookEvent{Type: "upload.completed", OrderKey: "video:1"})
	mustEnqueue(t, st, store.WebhookEvent{Type: "upload.started", OrderKey: "video:2"})

	due, err := st.ClaimDueWebhookDeliveries(ctx, 10, claim)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range due {
		got = append(got, d.EndpointID[:1]+d.URL[8:9]+"/"+d.OrderKey+"/"+d.EventType)
	}
	want := []string{"wa/video:1/upload.started", "wb/video:1/upload.completed", "wa/video:2/upload.started"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("due=%v, want=%v", got, want)
	}
	if due[0].Secret == "" || string(due[0].Payload) != `{"ok":true}` {
		t.Errorf("due[0]=%+v", due[0])
	}
	if !due[0].NextAttemptAt.Equal(clk.Now()) || !due[0].ClaimedUntil.Equal(clk.Now().Add(claim)) {
		t.Errorf("due[0] next=%v claimed until=%v, want now and now+claim", due[0].NextAttemptAt, due[0].ClaimedUntil)
	}
	// Claimed, none is due to anyone else.
	if again, err := st.ClaimDueWebhookDeliveries(ctx, 10, claim); err != nil || len(again) != 0 {
		t.Errorf("claimed again=%d, %v; want none", len(again), err)
	}

	// The head fails and is retried later; the two others are given back
	// untried (their worker stopping): the head's follower stays behind.
	later := clk.Now().Add(time.Minute)
	rec := store.WebhookAttemptResult{WebhookAttempt: store.WebhookAttempt{DeliveryID: due[0].ID, At: clk.Now(), Status: 500}, NextAttemptAt: &later}
	if err := st.RecordWebhookAttempt(ctx, rec); err != nil {
		t.Fatal(err)
	}
	for _, d := range due[1:] {
		if err := st.ReleaseWebhookDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if next, ok, err := st.NextWebhookAttempt(ctx); err != nil || !ok || !next.Equal(clk.Now()) {
		t.Errorf("NextWebhookAttempt=%v, %v, %v", next, ok, err)
	}
	due, _ = st.ClaimDueWebhookDeliveries(ctx, 10, claim)
	if len(due) != 2 {
		t.Errorf("due while the head waits=%d, want 2 (b's and video 2)", len(due))
	}
	// Given up, it lets the follower go.
	rec = store.WebhookAttemptResult{WebhookAttempt: store.WebhookAttempt{DeliveryID: rec.DeliveryID, At: clk.Now(), Error: "gone"}}
	if err := st.RecordWebhookAttempt(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordWebhookAttempt(ctx, rec); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("recording on a finished delivery: %v, want ErrNotFound", err)
	}
	due, _ = st.ClaimDueWebhookDeliveries(ctx, 10, claim)
	found := false
	for _, d := range due {
		found = found || d.EndpointID == a.ID && d.EventType == "upload.completed"
	}
	if !found || len(due) != 1 {
		t.Errorf("claimed %+v, want the follower alone after the head was given up", due)
	}
	_ = b
}

// A claim whose worker died lapses: the delivery is due again when it
// ends, and a release that comes after it changes nothing.
func TestWebhookClaimLapses(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock()
	st := storetest.OpenWithClock(t, clk)
	mustEndpoint(t, st, "https://a.example/hook", "upload.started")
	mustEnqueue(t, st, store.WebhookEvent{Type: "upload.started", OrderKey: "video:1"})
	first, err := st.ClaimDueWebhookDeliveries(ctx, 10, claim)
	if err != nil || len(first) != 1 {
		t.Fatalf("claimed %d, %v; want 1", len(first), err)
	}
	clk.Advance(claim - time.Millisecond)
	if due, _ := st.ClaimDueWebhookDeliveries(ctx, 10, claim); len(due) != 0 {
		t.Errorf("claimed %d before the first claim lapsed, want 0", len(due))
	}
	clk.Advance(time.Millisecond)
	second, err := st.ClaimDueWebhookDeliveries(ctx, 10, claim)
	if err != nil || len(second) != 1 || second[0].ID != first[0].ID {
		t.Fatalf("claimed %+v, %v after the claim lapsed; want the delivery again", second, err)
	}
	// The first worker's late release must not undo the second claim.
	if err := st.ReleaseWebhookDelivery(ctx, first[0]); err != nil {
		t.Fatal(err)
	}
	if due, _ := st.ClaimDueWebhookDeliveries(ctx, 10, claim); len(due) != 0 {
		t.Errorf("claimed %d after a stale release, want 0", len(due))
	}
}

// Workers sharing the database (instances of uplink, here two stores on
// one database) claiming at the same time take each delivery once.
func TestWebhookClaimsAreExclusive(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock()
	dsn := storetest.NewDSN(t)
	stores := []*store.Store{storetest.OpenDSN(t, dsn, clk), storetest.OpenDSN(t, dsn, clk)}
	mustEndpoint(t, stores[0], "https://a.example/hook", "upload.started")
	const events = 60
	for i := range events {
		mustEnqueue(t, stores[0], store.WebhookEvent{Type: "upload.started", OrderKey: fmt.Sprintf("video:%d", i)})
	}
	var (
		mu      sync.Mutex
		claimed = map[int64]int{}
		wg      sync.WaitGroup
	)
	for w := range 6 {
		wg.Go(func() {
			for {
				due, err := stores[w%2].ClaimDueWebhookDeliveries(ctx, 4, claim)
				if err != nil {
					t.Error(err)
					return
				}
				if len(due) == 0 {
					return
				}
				mu.Lock()
				for _, d := range due {
					claimed[d.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != events {
		t.Errorf("claimed %d deliveries, want %d", len(claimed), events)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("delivery %d claimed %d times", id, n)
		}
	}
}

func TestRecordWebhookAttemptClipsTheError(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	ep := mustEndpoint(t, st, "https://a.example/hook", "upload.started")
	mustEnqueue(t, st, store.WebhookEvent{Type: "upload.started", OrderKey: "video:1"})
	due, _ := st.ClaimDueWebhookDeliveries(ctx, 1, claim)
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
	due, _ := st.ClaimDueWebhookDeliveries(ctx, 10, claim)
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

package webhooks_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
	"github.com/uplink-video/uplink/web/webhooks"
)

// received is one request a receiver got.
type received struct {
	Header http.Header
	Body   []byte
	Status int // What the receiver answered.
}

// envelope decodes the request's body.
func (r received) envelope(t *testing.T) webhooks.Envelope {
	t.Helper()
	var e webhooks.Envelope
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
	return e
}

// receiver is a real local HTTP server that records every webhook request
// and answers with the statuses the test queues (200 once they run out).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	got      []received
	statuses []int
	arrived  chan struct{} // Gets a value for each request.
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{arrived: make(chan struct{}, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		r.got = append(r.got, received{Header: req.Header.Clone(), Body: body, Status: status})
		r.mu.Unlock()
		r.arrived <- struct{}{}
		w.WriteHeader(status)
		if status >= 400 {
			io.WriteString(w, "receiver says no\n\tbecause it was told to")
		}
	}))
	t.Cleanup(r.Close)
	return r
}

// answer queues statuses for the next requests.
func (r *receiver) answer(statuses ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses = append(r.statuses, statuses...)
}

// requests returns what the receiver got so far.
func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// waitFor waits until the receiver has had n requests in all.
func (r *receiver) waitFor(t *testing.T, n int) []received {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for len(r.requests()) < n {
		select {
		case <-r.arrived:
		case <-deadline:
			t.Fatalf("the receiver got %d requests, want %d", len(r.requests()), n)
		}
	}
	return r.requests()
}

// env is a webhooks service on a real database (a SQLite file, or
// PostgreSQL: storetest.Main), with a clock the test moves.
type env struct {
	t     *testing.T
	clock *storetest.Clock
	dsn   string
	store *store.Store
	svc   *webhooks.Service
	cfg   webhooks.Config
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, clock: storetest.NewClock(), dsn: storetest.NewDSN(t)}
	// The receivers listen on loopback, which production refuses.
	e.cfg = webhooks.Config{PublicURL: "http://uplink.test", AllowPrivateTargets: true, Timeout: 2 * time.Second}
	e.reopen()
	return e
}

// reopen closes the store and opens it again on the same database, with a new
// service, as a restart does.
func (e *env) reopen() {
	if e.store != nil {
		e.store.Close()
	}
	e.store = storetest.OpenDSN(e.t, e.dsn, e.clock)
	e.svc = webhooks.New(e.store, e.cfg)
}

// endpoint registers url for the given events (every event when none).
func (e *env) endpoint(url string, events ...string) store.WebhookEndpoint {
	e.t.Helper()
	if len(events) == 0 {
		events = webhooks.EventTypes
	}
	ep, err := e.svc.CreateEndpoint(context.Background(), url, events)
	if err != nil {
		e.t.Fatalf("CreateEndpoint(%s): %v", url, err)
	}
	return ep
}

// emit queues an upload event about a video.
func (e *env) emit(typ, videoID string) {
	e.t.Helper()
	_, err := e.svc.Emit(context.Background(), webhooks.Event{
		Type: typ, OrderKey: "video:" + videoID, Data: webhooks.UploadData{VideoID: videoID},
	})
	if err != nil {
		e.t.Fatalf("Emit(%s, %s): %v", typ, videoID, err)
	}
}

// deliver makes one pass over the due deliveries and returns how many it
// attempted.
func (e *env) deliver() int {
	e.t.Helper()
	n, err := e.svc.DeliverDue(context.Background())
	if err != nil {
		e.t.Fatalf("DeliverDue: %v", err)
	}
	return n
}

// deliveries returns an endpoint's deliveries, oldest first.
func (e *env) deliveries(endpointID string) []store.WebhookDelivery {
	e.t.Helper()
	list, _, err := e.store.ListWebhookDeliveries(context.Background(), endpointID, store.Page{Number: 1, Size: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

// only returns the endpoint's one delivery.
func (e *env) only(endpointID string) store.WebhookDelivery {
	e.t.Helper()
	list := e.deliveries(endpointID)
	if len(list) != 1 {
		e.t.Fatalf("the endpoint has %d deliveries, want 1", len(list))
	}
	return list[0]
}

// attempts returns a delivery's attempts.
func (e *env) attempts(id int64) []store.WebhookAttempt {
	e.t.Helper()
	m, err := e.store.ListWebhookAttempts(context.Background(), []int64{id})
	if err != nil {
		e.t.Fatal(err)
	}
	return m[id]
}

// waitDelivered waits until every delivery of the endpoint is delivered,
// while a worker runs.
func (e *env) waitDelivered(endpointID string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pending := 0
		for _, d := range e.deliveries(endpointID) {
			if d.Status != store.DeliveryDelivered {
				pending++
			}
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d deliveries still not delivered", pending)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// verify checks a request's signature as a receiver would, against the
// endpoint's secret and the test's clock.
func (e *env) verify(t *testing.T, ep store.WebhookEndpoint, r received) {
	t.Helper()
	if err := webhooks.Verify(ep.Secret, r.Header.Get(webhooks.HeaderSignature), r.Body, e.clock.Now(), webhooks.DefaultTolerance); err != nil {
		t.Errorf("Verify(%s): %v", r.Header.Get(webhooks.HeaderSignature), err)
	}
}

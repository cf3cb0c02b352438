package webhooks_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/webhooks"
)

func TestDeliveryIsSignedAndDescribed(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t)
	ep := e.endpoint(rcv.URL + "/hooks?tenant=7")
	e.emit(webhooks.EventUploadStarted, "vi1")

	if got, want := e.deliver(), 1; got != want {
		t.Fatalf("attempted=%d, want=%d", got, want)
	}
	reqs := rcv.requests()
	if len(reqs) != 1 {
		t.Fatalf("the receiver got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	e.verify(t, ep, r)
	env := r.envelope(t)
	d := e.only(ep.ID)
	for _, h := range []struct{ name, want string }{
		{"Content-Type", "application/json"},
		{webhooks.HeaderEvent, "upload.started"},
		{webhooks.HeaderEventID, env.ID},
		{webhooks.HeaderDelivery, strconv.FormatInt(d.ID, 10)},
	} {
		if got := r.Header.Get(h.name); got != h.want {
			t.Errorf("%s=%q, want=%q", h.name, got, h.want)
		}
	}
	if !strings.HasPrefix(r.Header.Get("User-Agent"), "uplink-webhooks") {
		t.Errorf("User-Agent=%q", r.Header.Get("User-Agent"))
	}
	if got, want := env.Type, "upload.started"; got != want {
		t.Errorf("type=%q, want=%q", got, want)
	}
	if got, want := env.CreatedAt, "2024-07-14T12:00:00+00:00"; got != want {
		t.Errorf("createdAt=%q, want=%q", got, want)
	}
	if !strings.HasPrefix(env.ID, "ev") || len(env.ID) != 24 {
		t.Errorf("id=%q, want ev and 22 characters", env.ID)
	}
	if got, want := d.Status, store.DeliveryDelivered; got != want {
		t.Errorf("status=%q, want=%q", got, want)
	}
	if got, want := d.Attempts, 1; got != want {
		t.Errorf("attempts=%d, want=%d", got, want)
	}
	if d.NextAttemptAt != nil || d.FinishedAt == nil || d.LastStatus != 200 {
		t.Errorf("delivered delivery: next=%v finished=%v last status=%d", d.NextAttemptAt, d.FinishedAt, d.LastStatus)
	}
	if got := e.deliver(); got != 0 {
		t.Errorf("a second pass attempted %d, want 0", got)
	}
}

func TestVerify(t *testing.T) {
	const secret = "whsec_0123456789abcdefghijklmnopqrstuv"
	body := []byte(`{"id":"ev1","type":"upload.completed"}`)
	at := time.Unix(1_720_958_400, 0)
	good := webhooks.Sign(secret, at, body)
	_, goodSig, _ := strings.Cut(good, ",v1=")
	other := webhooks.Sign("whsec_another_secret_of_enough_length", at, body)
	_, otherSig, _ := strings.Cut(other, ",v1=")

	tests := []struct {
		description string
		secret      string
		header      string
		body        []byte
		now         time.Time
		want        error
	}{
		{"the signature as sent", secret, good, body, at, nil},
		{"a little later", secret, good, body, at.Add(4 * time.Minute), nil},
		{"a clock a little behind", secret, good, body, at.Add(-4 * time.Minute), nil},
		{"two signatures, the second matching (a secret being rotated)", secret, "t=1720958400,v1=" + otherSig + ",v1=" + goodSig, body, at, nil},
		{"spaces after commas", secret, "t=1720958400, v1=" + goodSig, body, at, nil},
		{"an unknown scheme beside", secret, good + ",v0=abc", body, at, nil},
		{"a changed body", secret, good, []byte(`{"id":"ev1","type":"upload.failed"}`), at, webhooks.ErrSignatureMismatch},
		{"re-encoded JSON", secret, good, []byte(`{"id": "ev1", "type": "upload.completed"}`), at, webhooks.ErrSignatureMismatch},
		{"another secret", "whsec_wrong_wrong_wrong_wrong_wrong_wr", good, body, at, webhooks.ErrSignatureMismatch},
		{"a changed timestamp", secret, strings.Replace(good, "t=1720958400", "t=1720958401", 1), body, at, webhooks.ErrSignatureMismatch},
		{"replayed later", secret, good, body, at.Add(6 * time.Minute), webhooks.ErrSignatureTooOld},
		{"from the future", secret, good, body, at.Add(-6 * time.Minute), webhooks.ErrSignatureTooOld},
		{"no header", secret, "", body, at, webhooks.ErrMalformedSignature},
		{"no timestamp", secret, "v1=" + goodSig, body, at, webhooks.ErrMalformedSignature},
		{"no signature", secret, "t=1720958400", body, at, webhooks.ErrMalformedSignature},
		{"two timestamps", secret, "t=1,t=1720958400,v1=" + goodSig, body, at, webhooks.ErrMalformedSignature},
		{"a signature that is not hex", secret, "t=1720958400,v1=zz", body, at, webhooks.ErrMalformedSignature},
		{"a short signature", secret, "t=1720958400,v1=abcd", body, at, webhooks.ErrMalformedSignature},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			if got := webhooks.Verify(tt.secret, tt.header, tt.body, tt.now, webhooks.DefaultTolerance); got != tt.want {
				t.Errorf("Verify=%v, want=%v", got, tt.want)
			}
		})
	}
	if got := webhooks.Verify(secret, good, body, at.Add(24*time.Hour), 0); got != nil {
		t.Errorf("Verify with no tolerance=%v, want nil", got)
	}
}

func TestRetriesAfterServerErrors(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t)
	ep := e.endpoint(rcv.URL)
	rcv.answer(500, 503)
	e.emit(webhooks.EventUploadCompleted, "vi1")

	e.deliver()
	d := e.only(ep.ID)
	if d.Status != store.DeliveryPending || d.Attempts != 1 || d.LastStatus != 500 {
		t.Fatalf("after a 500: status=%s attempts=%d last=%d", d.Status, d.Attempts, d.LastStatus)
	}
	if got, want := d.LastError, "HTTP 500 Internal Server Error: receiver says no because it was told to"; got != want {
		t.Errorf("last error=%q, want=%q", got, want)
	}
	// The first retry waits 15 to 30 seconds.
	wait := d.NextAttemptAt.Sub(e.clock.Now())
	if wait < 15*time.Second || wait > 30*time.Second {
		t.Errorf("first retry after %s, want 15s to 30s", wait)
	}
	if got := e.deliver(); got != 0 {
		t.Errorf("attempted %d before the retry was due, want 0", got)
	}

	e.clock.Set(*d.NextAttemptAt)
	e.deliver()
	d = e.only(ep.ID)
	if d.Status != store.DeliveryPending || d.Attempts != 2 || d.LastStatus != 503 {
		t.Fatalf("after a 503: status=%s attempts=%d last=%d", d.Status, d.Attempts, d.LastStatus)
	}
	// The second waits 30 to 60 seconds.
	if wait := d.NextAttemptAt.Sub(e.clock.Now()); wait < 30*time.Second || wait > time.Minute {
		t.Errorf("second retry after %s, want 30s to 1m", wait)
	}

	e.clock.Set(*d.NextAttemptAt)
	e.deliver()
	d = e.only(ep.ID)
	if d.Status != store.DeliveryDelivered || d.Attempts != 3 || d.LastError != "" {
		t.Fatalf("after a 200: status=%s attempts=%d error=%q", d.Status, d.Attempts, d.LastError)
	}
	var statuses []int
	for _, a := range e.attempts(d.ID) {
		statuses = append(statuses, a.Status)
	}
	if got, want := statuses, []int{500, 503, 200}; !equalInts(got, want) {
		t.Errorf("attempt statuses=%v, want=%v", got, want)
	}
	// Every attempt carried the same body and event ID, signed afresh.
	reqs := rcv.requests()
	for _, r := range reqs {
		e.verify(t, ep, r)
		if string(r.Body) != string(reqs[0].Body) {
			t.Errorf("a retry's body differs:\n%s\n%s", r.Body, reqs[0].Body)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGivesUpAfter24Hours(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t)
	ep := e.endpoint(rcv.URL)
	for range 100 {
		rcv.answer(500)
	}
	e.emit(webhooks.EventUploadCompleted, "vi1")
	start := e.clock.Now()

	var times []time.Time
	for i := 0; ; i++ {
		if i > 60 {
			t.Fatal("still retrying after 60 attempts")
		}
		times = append(times, e.clock.Now())
		if got := e.deliver(); got != 1 {
			t.Fatalf("attempt %d: attempted %d, want 1", i+1, got)
		}
		d := e.only(ep.ID)
		if d.Status != store.DeliveryPending {
			break
		}
		e.clock.Set(*d.NextAttemptAt)
	}
	d := e.only(ep.ID)
	if got, want := d.Status, store.DeliveryFailed; got != want {
		t.Fatalf("status=%q, want=%q", got, want)
	}
	last := times[len(times)-1]
	if got, want := last, start.Add(24*time.Hour); !got.Equal(want) {
		t.Errorf("last attempt at %s, want at the 24 hour mark %s", got, want)
	}
	if got, want := d.Attempts, len(times); got != want {
		t.Errorf("attempts=%d, want=%d", got, want)
	}
	if d.FinishedAt == nil || !d.FinishedAt.Equal(last) || d.NextAttemptAt != nil {
		t.Errorf("finished=%v next=%v, want finished at the last attempt and nothing next", d.FinishedAt, d.NextAttemptAt)
	}
	// Backoff: never more than an hour apart, and growing at first.
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap > time.Hour {
			t.Errorf("gap before attempt %d=%s, want at most 1h", i+1, gap)
		}
	}
	if len(times) < 20 || len(times) > 50 {
		t.Errorf("%d attempts in 24 hours, want between 20 and 50", len(times))
	}
	// Nothing more is attempted, however late.
	e.clock.Advance(48 * time.Hour)
	if got := e.deliver(); got != 0 {
		t.Errorf("attempted %d after giving up, want 0", got)
	}
	if got, want := len(rcv.requests()), len(times); got != want {
		t.Errorf("the receiver got %d requests, want %d", got, want)
	}
}

func TestBackoffGrowsWithJitterUpToAnHour(t *testing.T) {
	for n := 1; n <= 40; n++ {
		full := min(30*time.Second<<(n-1), time.Hour)
		if n > 20 {
			full = time.Hour
		}
		for range 20 {
			if d := webhooks.Backoff(n); d < full/2 || d > full {
				t.Fatalf("Backoff(%d)=%s, want %s to %s", n, d, full/2, full)
			}
		}
	}
}

func TestTimeoutsAndNetworkErrorsAreRetried(t *testing.T) {
	e := newEnv(t)
	e.cfg.Timeout = 200 * time.Millisecond
	e.reopen()
	// A receiver that never answers: it holds the request until the
	// client gives up on it.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Once the body is read, the server notices the client hanging up.
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	t.Cleanup(slow.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close()
	redirect := httptest.NewServer(http.RedirectHandler("https://example.com/elsewhere", http.StatusFound))
	t.Cleanup(redirect.Close)

	tests := []struct {
		description string
		url         string
		wantStatus  int
		wantError   string
	}{
		{"no answer in time", slow.URL, 0, "timed out"},
		{"nobody listening", goneURL, 0, "connection refused"},
		{"a redirect", redirect.URL, 302, "HTTP 302: redirects are not followed"},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			ep := e.endpoint(tt.url)
			e.emit(webhooks.EventUploadStarted, "vi-"+ep.ID)
			e.deliver()
			d := e.only(ep.ID)
			if d.Status != store.DeliveryPending || d.Attempts != 1 || d.NextAttemptAt == nil {
				t.Fatalf("status=%s attempts=%d next=%v, want a retry", d.Status, d.Attempts, d.NextAttemptAt)
			}
			if d.LastStatus != tt.wantStatus || !strings.Contains(d.LastError, tt.wantError) {
				t.Errorf("last status=%d error=%q, want %d and %q", d.LastStatus, d.LastError, tt.wantStatus, tt.wantError)
			}
			if strings.Contains(d.LastError, "127.0.0.1:") && strings.Contains(d.LastError, "http://") {
				t.Errorf("the error repeats the URL: %q", d.LastError)
			}
			if a := e.attempts(d.ID); len(a) != 1 || a[0].Duration < 0 {
				t.Errorf("attempts=%+v", a)
			}
			if err := e.store.DeleteWebhookEndpoint(context.Background(), ep.ID); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPendingDeliverySurvivesARestart(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t)
	ep := e.endpoint(rcv.URL)
	rcv.answer(500)
	e.emit(webhooks.EventUploadStarted, "vi1")
	e.emit(webhooks.EventUploadCompleted, "vi1")
	e.deliver() // The first fails; the second waits behind it.

	// The worker runs, then stops, and the store closes, as at shutdown.
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.svc.Run(ctx) }()
	stop()
	<-done
	e.reopen()
	e.clock.Advance(time.Minute)

	ctx, stop = context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() { defer close(done); e.svc.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	reqs := rcv.waitFor(t, 3)
	var types []string
	for _, r := range reqs {
		e.verify(t, ep, r)
		types = append(types, r.envelope(t).Type)
	}
	if got, want := strings.Join(types, " "), "upload.started upload.started upload.completed"; got != want {
		t.Errorf("received=%s, want=%s", got, want)
	}
	e.waitDelivered(ep.ID)
}

func TestRunIsWokenByEmit(t *testing.T) {
	e := newEnv(t)
	e.cfg.PollInterval = time.Hour // Only a wake-up can make it send.
	e.reopen()
	rcv := newReceiver(t)
	e.endpoint(rcv.URL)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.svc.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })

	e.emit(webhooks.EventUploadStarted, "vi1")
	rcv.waitFor(t, 1)
	e.emit(webhooks.EventUploadCompleted, "vi1")
	rcv.waitFor(t, 2)
}

func TestDeliveriesOfAVideoGoOutInOrder(t *testing.T) {
	e := newEnv(t)
	e.cfg.Parallel = 1 // One at a time, so that the receivers see a fixed order.
	e.reopen()
	rcv := newReceiver(t)
	ep := e.endpoint(rcv.URL)
	other := newReceiver(t)
	e.endpoint(other.URL)
	rcv.answer(500) // The first request to rcv fails.
	e.emit(webhooks.EventUploadStarted, "viA")
	e.emit(webhooks.EventUploadStarted, "viB")
	e.emit(webhooks.EventUploadCompleted, "viA")
	e.emit(webhooks.EventUploadCompleted, "viB")

	// viA's start failed, so its completion waits; viB goes on, and so
	// does the other endpoint, which has its own order.
	e.deliver()
	e.deliver()
	if got, want := summary(t, rcv.requests()), "upload.started/viA upload.started/viB upload.completed/viB"; got != want {
		t.Errorf("first passes=%s, want=%s", got, want)
	}
	if got, want := summary(t, other.requests()), "upload.started/viA upload.started/viB upload.completed/viA upload.completed/viB"; got != want {
		t.Errorf("other endpoint=%s, want=%s", got, want)
	}
	e.clock.Advance(time.Minute)
	e.deliver()
	e.deliver()
	if got, want := summary(t, rcv.requests()), "upload.started/viA upload.started/viB upload.completed/viB upload.started/viA upload.completed/viA"; got != want {
		t.Errorf("after the retry=%s, want=%s", got, want)
	}
	for _, d := range e.deliveries(ep.ID) {
		if d.Status != store.DeliveryDelivered {
			t.Errorf("delivery %d is %s", d.ID, d.Status)
		}
	}
}

// With deliveries sent in parallel and failing here and there, an
// endpoint still never hears of a video's later event before the earlier
// one was delivered.
func TestOrderHoldsUnderParallelDeliveryAndFailures(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t)
	ep := e.endpoint(rcv.URL)
	for i := range 200 {
		if i%3 == 0 {
			rcv.answer(500)
		} else {
			rcv.answer(200)
		}
	}
	steps := []string{webhooks.EventUploadStarted, webhooks.EventUploadCompleted, webhooks.EventUploadFailed}
	for _, typ := range steps {
		for v := range 12 {
			e.emit(typ, "vi"+strconv.Itoa(v))
		}
	}
	for i := 0; ; i++ {
		if i > 100 {
			t.Fatal("not all delivered after 100 passes")
		}
		e.deliver()
		pending := false
		for _, d := range e.deliveries(ep.ID) {
			pending = pending || d.Status == store.DeliveryPending
		}
		if !pending {
			break
		}
		e.clock.Advance(time.Hour)
	}
	next := map[string]int{} // Per video, the step it may receive next.
	for _, r := range rcv.requests() {
		env := r.envelope(t)
		var data webhooks.UploadData
		json.Unmarshal(env.Data, &data)
		want := steps[next[data.VideoID]]
		if env.Type != want {
			t.Fatalf("%s received %s while %s was not delivered", data.VideoID, env.Type, want)
		}
		if r.Status == http.StatusOK {
			next[data.VideoID]++
		}
	}
	for v := range 12 {
		if got := next["vi"+strconv.Itoa(v)]; got != len(steps) {
			t.Errorf("vi%d: %d events delivered, want %d", v, got, len(steps))
		}
	}
}

func TestALaterEventGoesOutOnceTheEarlierIsGivenUp(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t)
	ep := e.endpoint(rcv.URL)
	e.emit(webhooks.EventUploadStarted, "viA")
	for range 100 {
		rcv.answer(500)
	}
	e.deliver()
	e.clock.Advance(time.Hour)
	e.emit(webhooks.EventUploadCompleted, "viA")
	for {
		first := e.deliveries(ep.ID)[0]
		if first.Status != store.DeliveryPending {
			break
		}
		second := e.deliveries(ep.ID)[1]
		if second.Attempts != 0 {
			t.Fatalf("the completion was attempted while the start was pending")
		}
		e.clock.Set(*first.NextAttemptAt)
		e.deliver()
	}
	// The rest succeed.
	rcv.mu.Lock()
	rcv.statuses = nil
	rcv.mu.Unlock()
	e.deliver()
	list := e.deliveries(ep.ID)
	if list[0].Status != store.DeliveryFailed || list[1].Status != store.DeliveryDelivered || list[1].Attempts != 1 {
		t.Errorf("start=%s, completion=%s after %d attempts; want failed, then delivered at once", list[0].Status, list[1].Status, list[1].Attempts)
	}
}

// summary lists requests as "type/videoId".
func summary(t *testing.T, reqs []received) string {
	t.Helper()
	var out []string
	for _, r := range reqs {
		env := r.envelope(t)
		var data webhooks.UploadData
		if err := json.Unmarshal(env.Data, &data); err != nil {
			t.Fatal(err)
		}
		out = append(out, env.Type+"/"+data.VideoID)
	}
	return strings.Join(out, " ")
}

func TestResendQueuesTheEventAgain(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t)
	ep := e.endpoint(rcv.URL)
	e.emit(webhooks.EventUploadCompleted, "vi1")
	e.deliver()
	first := e.only(ep.ID)

	e.clock.Advance(time.Hour)
	d, err := e.svc.Resend(context.Background(), ep.ID, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.ResentFrom != first.ID || d.Status != store.DeliveryPending || d.EventID != first.EventID || d.ID <= first.ID {
		t.Errorf("resent delivery=%+v", d)
	}
	e.deliver()
	reqs := rcv.requests()
	if len(reqs) != 2 {
		t.Fatalf("the receiver got %d requests, want 2", len(reqs))
	}
	if string(reqs[0].Body) != string(reqs[1].Body) {
		t.Errorf("the resend's body differs")
	}
	if reqs[0].Header.Get(webhooks.HeaderSignature) == reqs[1].Header.Get(webhooks.HeaderSignature) {
		t.Errorf("the resend was not signed afresh")
	}
	e.verify(t, ep, reqs[1])
	list := e.deliveries(ep.ID)
	if len(list) != 2 || list[0].Status != store.DeliveryDelivered || list[1].Status != store.DeliveryDelivered {
		t.Errorf("deliveries=%+v", list)
	}
	if _, err := e.svc.Resend(context.Background(), ep.ID, 9999); err == nil {
		t.Errorf("Resend of an unknown delivery: no error")
	}
	other := e.endpoint(rcv.URL + "/other")
	if _, err := e.svc.Resend(context.Background(), other.ID, first.ID); err == nil {
		t.Errorf("Resend through another endpoint: no error")
	}
}

func TestEventsGoOnlyToSubscribedEndpoints(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t)
	completions := e.endpoint(rcv.URL+"/completed", webhooks.EventUploadCompleted)
	links := e.endpoint(rcv.URL+"/links", webhooks.EventLinkExpired, webhooks.EventLinkUsedUp)
	e.emit(webhooks.EventUploadStarted, "vi1")
	e.emit(webhooks.EventUploadCompleted, "vi1")
	if got := len(e.deliveries(completions.ID)); got != 1 {
		t.Errorf("the upload.completed endpoint has %d deliveries, want 1", got)
	}
	if got := len(e.deliveries(links.ID)); got != 0 {
		t.Errorf("the link endpoint has %d deliveries, want 0", got)
	}
	if _, err := e.svc.Emit(context.Background(), webhooks.Event{Type: "video.deleted"}); err == nil {
		t.Errorf("Emit of an unknown type: no error")
	}
}

func TestDeletingAnEndpointDropsItsQueue(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t)
	ep := e.endpoint(rcv.URL)
	e.emit(webhooks.EventUploadStarted, "vi1")
	if err := e.store.DeleteWebhookEndpoint(context.Background(), ep.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.deliver(); got != 0 {
		t.Errorf("attempted %d after deleting the endpoint, want 0", got)
	}
}

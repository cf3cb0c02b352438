package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/uplink-video/uplink/store"
)

// EventTest is the type of the event that "Send a test event" sends. It is
// never queued nor retried, and endpoints do not subscribe to it.
const EventTest = "webhook.test"

// TestResult is what came of a test event.
type TestResult struct {
	OK       bool
	Status   int           // The endpoint's HTTP status; 0 if none came.
	Duration time.Duration // From sending to the answer's headers.
	Error    string        // Why it failed, as the delivery log says it.
}

// SendTest sends one signed webhook.test event to the endpoint now, with
// the headers and the client (public addresses only, unless allowed) of
// every delivery, and reports the answer. It is not recorded in the
// delivery log, which holds real events only, and it is not retried.
func (s *Service) SendTest(ctx context.Context, ep store.WebhookEndpoint) TestResult {
	at := s.store.Now()
	id := store.NewID(store.PrefixWebhookEvent)
	body, err := json.Marshal(envelope{ID: id, Type: EventTest, CreatedAt: atom(at), Data: map[string]string{
		"message": "A test event, sent from the uplink dashboard. It stands for nothing that happened.",
	}})
	if err != nil {
		return TestResult{Error: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return TestResult{Error: "invalid URL: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.userAgent)
	req.Header.Set(HeaderSignature, Sign(ep.Secret, at, body))
	req.Header.Set(HeaderEvent, EventTest)
	req.Header.Set(HeaderEventID, id)
	start := time.Now()
	resp, err := s.client.Do(req)
	r := TestResult{Duration: time.Since(start)}
	if err != nil {
		r.Error = transportError(err)
		return r
	}
	snippet := readSnippet(resp.Body)
	resp.Body.Close()
	r.Status = resp.StatusCode
	r.OK = resp.StatusCode >= 200 && resp.StatusCode < 300
	if !r.OK {
		r.Error = fmt.Sprintf("HTTP %s", resp.Status)
		if snippet != "" {
			r.Error += ": " + snippet
		}
	}
	return r
}

// Package webhooks tells other systems what happens in uplink: it queues
// events for the endpoints admins registered, signs them, and delivers
// them with retries.
//
// # Events
//
// Each event is a JSON object (see Envelope) POSTed to every endpoint
// subscribed to its type:
//
//   - upload.started: an upload through a link began (UploadData);
//   - upload.completed: an upload finished, through a link or straight
//     through the API (UploadData, with the video as the API shows it);
//   - upload.failed: an upload through a link was cancelled, refused or
//     abandoned (UploadData, with the reason);
//   - video.processed: uplink probed an uploaded video and made its
//     thumbnail and, when needed, its preview; or it failed to, for good
//     (ProcessedData);
//   - link.used_up: a link took the last upload it allows (LinkData);
//   - link.expired: a link's expiry passed (LinkData).
//
// # Signatures
//
// Every request carries the header
//
//	Uplink-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
//
// where the HMAC is computed with the endpoint's secret over the bytes
// "<t>.<body>", as in Stripe's scheme. Verify checks it; a receiver should
// also refuse timestamps too far from its clock, so that a captured
// request cannot be replayed later.
//
// # Delivery
//
// Emit records the event and one delivery per subscribed endpoint in
// SQLite, in one transaction, so that the queue survives a restart. Run
// sends due deliveries: a 2xx answer delivers; anything else (another
// status, a redirect, a timeout, a network error) is retried with
// exponential backoff and jitter until RetryFor (24 hours) has passed
// since the event, and the delivery is then marked failed. Of the pending
// deliveries about one video (or one link) to one endpoint, only the
// oldest is sent: an endpoint hears about a video in the order things
// happened, and a later event waits until the earlier one is delivered or
// given up. Delivery is at least once: a receiver that must not act twice
// keeps the event IDs it has seen.
//
// # Targets
//
// Endpoint URLs are http or https, without credentials. Unless
// Config.AllowPrivateTargets is set, uplink refuses to connect to
// loopback, private, link-local and other non-public addresses, checked on
// the URL, on the host before it is resolved, and on the address actually
// dialled (after DNS), so that an endpoint cannot be used to reach the
// services next to uplink. Every form of an address is judged by the
// address it means (addr.go).
package webhooks

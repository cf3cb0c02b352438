package webhooks_test

import (
	"context"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/webhooks"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		description  string
		url          string
		allowPrivate bool
		want         string // The canonical URL, or a piece of the error.
		ok           bool
	}{
		{"https", "https://hooks.example.com/uplink", false, "https://hooks.example.com/uplink", true},
		{"http with a port and a query", " http://hooks.example.com:8080/in?tenant=7 ", false, "http://hooks.example.com:8080/in?tenant=7", true},
		{"a public address", "https://93.184.215.14/hook", false, "https://93.184.215.14/hook", true},
		{"empty", "  ", false, "Enter the URL", false},
		{"no scheme", "hooks.example.com/uplink", false, "full URL", false},
		{"relative", "/hooks", false, "full URL", false},
		{"ftp", "ftp://hooks.example.com/uplink", false, "must start with https://", false},
		{"file", "file:///etc/passwd", false, "must start with https://", false},
		{"javascript", "javascript:alert(1)", false, "full URL", false},
		{"gopher", "gopher://hooks.example.com:70/_", false, "must start with https://", false},
		{"credentials", "https://user:secret@hooks.example.com/uplink", false, "user name and password", false},
		{"a user name", "https://user@hooks.example.com/uplink", false, "user name and password", false},
		{"credentials on loopback, even when allowed", "http://user:pw@127.0.0.1:9000/", true, "user name and password", false},
		{"no host", "https:///uplink", false, "no host", false},
		{"a fragment", "https://hooks.example.com/uplink#x", false, "fragment", false},
		{"too long", "https://hooks.example.com/" + strings.Repeat("a", 2000), false, "too long", false},
		{"localhost", "http://localhost:8080/hook", false, "local or private", false},
		{"a localhost subdomain", "http://api.localhost/hook", false, "local or private", false},
		{"loopback", "http://127.0.0.1:8080/hook", false, "local or private", false},
		{"IPv6 loopback", "http://[::1]:8080/hook", false, "local or private", false},
		{"IPv4-mapped loopback", "http://[::ffff:127.0.0.1]/hook", false, "local or private", false},
		{"a private network", "http://10.1.2.3/hook", false, "local or private", false},
		{"another private network", "http://192.168.1.10/hook", false, "local or private", false},
		{"the cloud metadata address", "http://169.254.169.254/latest/meta-data/", false, "local or private", false},
		{"carrier-grade NAT", "http://100.64.0.1/hook", false, "local or private", false},
		{"unspecified", "http://0.0.0.0:8080/hook", false, "local or private", false},
		{"IPv6 unique local", "http://[fd00::1]/hook", false, "local or private", false},
		{"loopback when allowed", "http://127.0.0.1:8080/hook", true, "http://127.0.0.1:8080/hook", true},
		{"localhost when allowed", "http://localhost:8080/hook", true, "http://localhost:8080/hook", true},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			got, err := webhooks.CheckURL(tt.url, tt.allowPrivate)
			switch {
			case tt.ok && err != nil:
				t.Errorf("CheckURL(%q)=%v, want %q", tt.url, err, tt.want)
			case tt.ok && got != tt.want:
				t.Errorf("CheckURL(%q)=%q, want=%q", tt.url, got, tt.want)
			case !tt.ok && err == nil:
				t.Errorf("CheckURL(%q)=%q, want an error with %q", tt.url, got, tt.want)
			case !tt.ok && !strings.Contains(err.Error(), tt.want):
				t.Errorf("CheckURL(%q) error=%q, want it to contain %q", tt.url, err, tt.want)
			}
		})
	}
}

func TestCreateEndpointChecksItsFields(t *testing.T) {
	e := newEnv(t)
	e.cfg.AllowPrivateTargets = false
	e.reopen()
	ctx := context.Background()
	tests := []struct {
		description string
		url         string
		events      []string
		want        webhooks.FieldErrors
	}{
		{"a loopback URL", "http://127.0.0.1:9/hook", []string{webhooks.EventUploadCompleted},
			webhooks.FieldErrors{"url": "This URL points to a local or private address (127.0.0.1); uplink delivers webhooks to public addresses only. " + webhooks.AllowPrivateHint}},
		{"no events", "https://hooks.example.com/", nil,
			webhooks.FieldErrors{"events": "Choose at least one event to send."}},
		{"an unknown event", "https://hooks.example.com/", []string{webhooks.EventUploadCompleted, "video.deleted"},
			webhooks.FieldErrors{"events": "Choose events from the list."}},
		{"both wrong", "ftp://hooks.example.com/", nil,
			webhooks.FieldErrors{"url": "The URL must start with https:// (or http://).", "events": "Choose at least one event to send."}},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			_, err := e.svc.CreateEndpoint(ctx, tt.url, tt.events)
			fe, ok := err.(webhooks.FieldErrors)
			if !ok {
				t.Fatalf("CreateEndpoint error=%v, want FieldErrors", err)
			}
			if len(fe) != len(tt.want) {
				t.Errorf("errors=%v, want=%v", fe, tt.want)
			}
			for k, v := range tt.want {
				if fe[k] != v {
					t.Errorf("%s: %q, want %q", k, fe[k], v)
				}
			}
		})
	}

	ep, err := e.svc.CreateEndpoint(ctx, "https://hooks.example.com/in", []string{webhooks.EventLinkExpired, webhooks.EventUploadCompleted, webhooks.EventLinkExpired})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(ep.Events, ","), "upload.completed,link.expired"; got != want {
		t.Errorf("events=%s, want=%s (in list order, once each)", got, want)
	}
	if !strings.HasPrefix(ep.Secret, "whsec_") || len(ep.Secret) != 38 {
		t.Errorf("secret=%q, want whsec_ and 32 characters", ep.Secret)
	}
	other, err := e.svc.CreateEndpoint(ctx, "https://hooks.example.com/in", []string{webhooks.EventUploadCompleted})
	if err != nil {
		t.Fatal(err)
	}
	if other.Secret == ep.Secret {
		t.Errorf("two endpoints share a secret")
	}
}

// A name that resolves to a private address passes CheckURL; the dialler
// refuses it. So does an address the URL check never saw.
func TestPrivateAddressesAreRefusedWhenDialled(t *testing.T) {
	e := newEnv(t)
	e.cfg.AllowPrivateTargets = false
	e.reopen()
	rcv := newReceiver(t)
	ctx := context.Background()
	ep, err := e.store.CreateWebhookEndpoint(ctx, store.WebhookEndpointCreate{
		URL: rcv.URL + "/hook", Secret: webhooks.NewSecret(), Events: []string{webhooks.EventUploadStarted},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.emit(webhooks.EventUploadStarted, "vi1")
	e.deliver()
	d := e.only(ep.ID)
	if got := len(rcv.requests()); got != 0 {
		t.Fatalf("the loopback receiver got %d requests, want 0", got)
	}
	if d.Status != store.DeliveryPending || !strings.Contains(d.LastError, "not a public address") {
		t.Errorf("status=%s error=%q, want a refused connection, to retry", d.Status, d.LastError)
	}
}

package webhooks_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/webhooks"
)

// Every form of an address is judged by the host it reaches (issue 10,
// item 8): legacy IPv4 forms that resolvers and libcs accept, and IPv6
// addresses that carry an IPv4 address.
func TestCheckURLAddressForms(t *testing.T) {
	t.Parallel()
	const private = "local or private address"
	tests := []struct {
		description string
		url         string
		want        string // The canonical URL, or a piece of the error.
		ok          bool
	}{
		// IPv6 carrying IPv4.
		{"IPv4-compatible loopback", "http://[::127.0.0.1]/", "(::127.0.0.1, that is 127.0.0.1)", false},
		{"IPv4-compatible loopback in hex", "http://[::7f00:1]:8080/", "(::7f00:1, that is 127.0.0.1)", false},
		{"IPv4-compatible public address, deprecated", "http://[::8.8.8.8]/", private, false},
		{"IPv4-mapped loopback", "http://[::ffff:127.0.0.1]/", "(::ffff:127.0.0.1, that is 127.0.0.1)", false},
		{"IPv4-mapped loopback in hex", "http://[::ffff:7f00:1]/", "that is 127.0.0.1", false},
		{"IPv4-mapped private", "http://[::ffff:10.0.0.1]/", "that is 10.0.0.1", false},
		{"IPv4-mapped metadata", "http://[0:0:0:0:0:ffff:a9fe:a9fe]/", "that is 169.254.169.254", false},
		{"NAT64 loopback", "http://[64:ff9b::127.0.0.1]/", "that is 127.0.0.1", false},
		{"NAT64 private", "http://[64:ff9b::a00:1]/", "that is 10.0.0.1", false},
		{"NAT64 metadata", "http://[64:ff9b::a9fe:a9fe]/", "that is 169.254.169.254", false},
		{"NAT64 carrier-grade NAT", "http://[64:FF9B::6440:1]/", "that is 100.64.0.1", false},
		{"local-use NAT64", "http://[64:ff9b:1::a00:1]/", private, false},
		{"6to4 of loopback", "http://[2002:7f00:1::1]/", private, false},
		{"6to4 of a private network", "http://[2002:c0a8:101::1]/", private, false},
		{"6to4 of a public address, which may be uplink's own network", "http://[2002:808:808::1]/", private, false},
		{"IPv4-translated", "http://[::ffff:0:7f00:1]/", private, false},
		{"link-local with a zone", "http://[fe80::1%25eth0]/", private, false},
		{"a zone on a public address", "http://[2606:4700::1%25eth0]/", private, false},
		// Legacy IPv4 forms.
		{"two parts", "http://127.1/", "(127.1, that is 127.0.0.1)", false},
		{"three parts", "http://127.0.1:8080/", "(127.0.1, that is 127.0.0.1)", false},
		{"hex and decimal", "http://0x7f.1/", "(0x7f.1, that is 127.0.0.1)", false},
		{"upper-case hex", "http://0X7F.0.0.1/", "that is 127.0.0.1", false},
		{"one hex number", "http://0x7f000001/", "that is 127.0.0.1", false},
		{"one decimal number", "http://2130706433/", "(2130706433, that is 127.0.0.1)", false},
		{"octal", "http://0177.0.0.1/", "(0177.0.0.1, that is 127.0.0.1)", false},
		{"octal, two parts", "http://0177.1/", "that is 127.0.0.1", false},
		{"one octal number", "http://017700000001/", "that is 127.0.0.1", false},
		{"zero", "http://0/", "(0, that is 0.0.0.0)", false},
		{"a private network in two parts", "http://10.1/", "that is 10.0.0.1", false},
		{"a private network as one number", "http://3232235777/", "that is 192.168.1.1", false},
		{"metadata in hex", "http://0xa9.0xfe.0xa9.0xfe/latest/", "that is 169.254.169.254", false},
		{"metadata in octal", "http://0251.0376.0251.0376/latest/", "that is 169.254.169.254", false},
		{"a trailing dot", "http://127.0.0.1./", private, false},
		{"percent-encoded, which url.Parse refuses", "http://%31%32%37.0.0.1/", "full URL", false},
		// Hosts that look like an address and are none.
		{"five parts", "http://1.2.3.4.5/", "looks like an IPv4 address", false},
		{"a part over 255", "http://256.1.1.1/", "looks like an IPv4 address", false},
		{"a last part too large", "http://1.2.3.256/", "looks like an IPv4 address", false},
		{"one number over 32 bits", "http://4294967296/", "looks like an IPv4 address", false},
		{"a bad octal digit", "http://08.0.0.1/", "looks like an IPv4 address", false},
		{"a bad hex digit", "http://0x1g.1/", "looks like an IPv4 address", false},
		{"a name ending in a number", "http://hooks.example.123/", "looks like an IPv4 address", false},
		{"an empty part", "http://127..1/", "looks like an IPv4 address", false},
		// Public addresses pass, legacy forms as the address they mean.
		{"NAT64 of a public address", "http://[64:ff9b::808:808]/hook", "http://[64:ff9b::808:808]/hook", true},
		{"IPv4-mapped public address", "http://[::ffff:8.8.8.8]/hook", "http://[::ffff:8.8.8.8]/hook", true},
		{"a public address as one number", "http://134744072:8080/hook", "http://8.8.8.8:8080/hook", true},
		{"a public address in hex", "https://0x8.0x8.0x8.0x8/hook", "https://8.8.8.8/hook", true},
		{"a name with numbers, not last", "https://1.2.3.4.example/hook", "https://1.2.3.4.example/hook", true},
		{"a name starting with 0x", "https://0xcafe.example/hook", "https://0xcafe.example/hook", true},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			got, err := webhooks.CheckURL(tt.url, false)
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
	// With private targets allowed, a legacy form is stored as the
	// address it means, so that it can be dialled.
	if got, err := webhooks.CheckURL("http://127.1:9000/hook", true); err != nil || got != "http://127.0.0.1:9000/hook" {
		t.Errorf("CheckURL(127.1, allowed)=%q, %v; want http://127.0.0.1:9000/hook", got, err)
	}
}

// loopbackForms are URLs that reach, or may be read as, the listener at
// 127.0.0.1:port.
func loopbackForms(port string) []string {
	return []string{
		"http://[::127.0.0.1]:" + port + "/hook",
		"http://[::ffff:127.0.0.1]:" + port + "/hook",
		"http://[64:ff9b::7f00:1]:" + port + "/hook",
		"http://[2002:7f00:1::1]:" + port + "/hook",
		"http://127.1:" + port + "/hook",
		"http://0x7f.1:" + port + "/hook",
		"http://2130706433:" + port + "/hook",
		"http://0177.0.0.1:" + port + "/hook",
	}
}

// Registering an endpoint at any form of a private address is refused,
// with a message that says which address the form means.
func TestRegisteringAnAddressFormIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.AllowPrivateTargets = false
	e.reopen()
	for _, u := range loopbackForms("9000") {
		_, err := e.svc.CreateEndpoint(context.Background(), u, []string{webhooks.EventUploadCompleted})
		fe, ok := err.(webhooks.FieldErrors)
		if !ok {
			t.Errorf("CreateEndpoint(%s) error=%v, want FieldErrors", u, err)
			continue
		}
		if msg := fe["url"]; !strings.Contains(msg, "local or private address") || !strings.Contains(msg, "127.0.0.1") && !strings.Contains(msg, "2002:") {
			t.Errorf("CreateEndpoint(%s): url error %q, want the address it means", u, msg)
		}
	}
}

// Endpoints stored with such a URL (before this check existed, say) are
// never dialled: a real listener on 127.0.0.1 never accepts a connection,
// and each delivery records the refusal, to be retried.
func TestAddressFormsAreNeverDialled(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	e := newEnv(t)
	e.cfg.AllowPrivateTargets = false
	e.reopen()
	ctx := context.Background()
	ids := map[string]string{}
	for _, u := range loopbackForms(port) {
		ep, err := e.store.CreateWebhookEndpoint(ctx, store.WebhookEndpointCreate{
			URL: u, Secret: webhooks.NewSecret(), Events: []string{webhooks.EventUploadStarted},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids[u] = ep.ID
	}
	e.emit(webhooks.EventUploadStarted, "vi1")
	if n := e.deliver(); n != len(ids) {
		t.Fatalf("attempted %d deliveries, want %d", n, len(ids))
	}
	for u, id := range ids {
		d := e.only(id)
		if d.Status != store.DeliveryPending || !strings.Contains(d.LastError, "not a public address") {
			t.Errorf("%s: status=%s error=%q, want refused before connecting, to retry", u, d.Status, d.LastError)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the listener on 127.0.0.1 accepted %d connections, want 0", n)
	}
}

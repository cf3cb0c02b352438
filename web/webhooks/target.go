package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// maxURLLength is the longest endpoint URL, in bytes.
const maxURLLength = 2000

// CheckURL returns the endpoint URL in canonical form, or an error that
// says, for the admin, what is wrong with it: it must be an absolute http
// or https URL without credentials or fragment. Unless allowPrivate, a
// host that is obviously local (localhost, or a literal loopback, private
// or link-local address) is refused too; names that resolve to such
// addresses are refused when dialled.
func CheckURL(raw string, allowPrivate bool) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("Enter the URL that will receive the events.")
	}
	if len(raw) > maxURLLength {
		return "", fmt.Errorf("The URL is too long: keep it under %d characters.", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return "", errors.New("Enter a full URL, such as https://example.com/hooks/uplink.")
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", errors.New("The URL must start with https:// (or http://).")
	case u.User != nil:
		return "", errors.New("Leave the user name and password out of the URL: the receiver checks the signature instead.")
	case u.Hostname() == "":
		return "", errors.New("The URL has no host name.")
	case u.Fragment != "" || strings.HasSuffix(raw, "#"):
		return "", errors.New("Leave the #fragment out of the URL: it is never sent.")
	}
	host := u.Hostname()
	addr, isAddr, err := parseHost(host)
	if err != nil {
		return "", err
	}
	if !allowPrivate && (isAddr && !publicAddr(addr) || !isAddr && localName(host)) {
		return "", fmt.Errorf("This URL points to a local or private address (%s); uplink delivers webhooks to public addresses only. %s", describeHost(host, addr), AllowPrivateHint)
	}
	if _, err := netip.ParseAddr(host); isAddr && err != nil {
		// An IPv4 address in a legacy form (0x7f.1) is stored as the
		// address it means, which Go's resolver would not work out.
		if p := u.Port(); p != "" {
			u.Host = net.JoinHostPort(addr.String(), p)
		} else {
			u.Host = addr.String()
		}
	}
	return u.String(), nil
}

// localName reports whether a host name is obviously not public:
// localhost, or a name under it.
func localName(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// nonPublic are address ranges that are not on the public internet, beyond
// those the netip.Addr methods name.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "This network".
	netip.MustParsePrefix("100.64.0.0/10"),   // Carrier-grade NAT.
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments.
	netip.MustParsePrefix("198.18.0.0/15"),   // Benchmarking.
	netip.MustParsePrefix("240.0.0.0/4"),     // Reserved, and broadcast.
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated), and :: and ::1.
	netip.MustParsePrefix("64:ff9b:1::/48"),  // Local-use NAT64, its IPv4 address where its network decides.
	netip.MustParsePrefix("fec0::/10"),       // Deprecated site-local.
	netip.MustParsePrefix("2001:db8::/32"),   // Documentation.
	netip.MustParsePrefix("100::/64"),        // Discard-only.
	netip.MustParsePrefix("2002::/16"),       // 6to4, which embeds any IPv4.
	netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated.
}

// publicAddr reports whether ip is a public unicast address. IPv4-mapped
// and NAT64 addresses are judged by the IPv4 address they reach (see
// addr.go); an address with a zone is link-local, whatever it says.
func publicAddr(ip netip.Addr) bool {
	ip = reachedIPv4(ip)
	if !ip.IsValid() || ip.Zone() != "" || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// AllowPrivateHint says how to let webhooks reach private addresses, for
// the messages that refuse one.
const AllowPrivateHint = "To allow private addresses (a service on this machine or your network), start uplink with --webhook-allow-private (or UPLINK_WEBHOOK_ALLOW_PRIVATE=true)."

// privateTargetError is the error of a connection refused because its
// address is not public.
type privateTargetError struct{ addr string }

func (e *privateTargetError) Error() string {
	return "refused to connect to " + e.addr + ": not a public address"
}

// refusePrivateHost runs before a connection's host is resolved: a host
// written as an address, in any form (see parseHost), must be public. A
// resolver or libc could otherwise read 0x7f.1 as 127.0.0.1, or the form
// could fail to resolve only by luck; refusing it here makes the outcome
// the same everywhere. Endpoints registered before CheckURL knew these
// forms are refused by this.
func refusePrivateHost(address string) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return &privateTargetError{address}
	}
	addr, isAddr, err := parseHost(host)
	if err != nil {
		return &privateTargetError{host}
	}
	if isAddr && !publicAddr(addr) {
		return &privateTargetError{describeHost(host, addr)}
	}
	return nil
}

// refusePrivate is a net.Dialer Control function: it runs after DNS, on
// the address about to be dialled, so that a name resolving to a private
// address (or changing to one after the URL was checked) is refused.
func refusePrivate(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return &privateTargetError{address}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !publicAddr(ip) {
		return &privateTargetError{describeHost(host, ip)}
	}
	return nil
}

// newClient returns the HTTP client deliveries are sent with: bounded at
// every step, no proxy from the environment (the dialled address is the
// one checked), and no redirects (a redirect is an answer, not a
// delivery; following it would also be a way around the address check's
// intent).
func newClient(timeout time.Duration, allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: min(timeout, 5*time.Second), KeepAlive: 30 * time.Second}
	dial := dialer.DialContext
	if !allowPrivate {
		// The host as written is checked before it is resolved, and the
		// address resolved before it is connected to.
		dialer.Control = refusePrivate
		dial = func(ctx context.Context, network, address string) (net.Conn, error) {
			if err := refusePrivateHost(address); err != nil {
				return nil, err
			}
			return dialer.DialContext(ctx, network, address)
		}
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dial,
			TLSHandshakeTimeout:   min(timeout, 5*time.Second),
			ResponseHeaderTimeout: timeout,
			ExpectContinueTimeout: time.Second,
			MaxIdleConns:          16,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

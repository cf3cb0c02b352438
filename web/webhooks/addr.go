package webhooks

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// An address can be written in many forms that all reach the same host,
// and the check must judge the host reached, not the form. parseHost and
// publicAddr normalise:
//   - the IPv4 forms that inet_aton(3), and so many resolvers, libcs and
//     browsers, accept: 127.1, 0x7f.1, 2130706433, 0177.0.0.1 and any mix
//     of decimal, octal (leading 0) and hexadecimal (0x) parts;
//   - IPv6 addresses that carry an IPv4 address: IPv4-mapped
//     (::ffff:127.0.0.1) and NAT64 (64:ff9b::/96), which reach the IPv4
//     address they carry and are judged by it.
//
// Some forms are refused whatever they carry: IPv4-compatible IPv6
// (::127.0.0.1, deprecated by RFC 4291, and routed as IPv4 by the systems
// that still route it), 6to4 (2002::/16, which reaches the IPv6 network
// behind a 6to4 router, possibly uplink's own), local-use NAT64
// (64:ff9b:1::/48, which places the IPv4 address where its network
// decides) and IPv4-translated addresses (::ffff:0:0:0/96).

// errNumericHost is the error of a host name that ends in a number but is
// no IPv4 address. Browsers (the WHATWG URL standard) refuse such hosts,
// and a resolver may read them as an address in a form of its own.
var errNumericHost = errors.New("The URL's host looks like an IPv4 address but is not one: write the address as four numbers from 0 to 255, such as 203.0.113.7, or use a host name.")

// parseHost reads a URL's host (as url.URL.Hostname returns it, without
// brackets). It returns isAddr and the address, normalised, when the host
// is an IP address in any form; an error when it looks like an IPv4
// address but is none; and isAddr false for a host name.
func parseHost(host string) (addr netip.Addr, isAddr bool, err error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a, true, nil
	}
	name := strings.TrimSuffix(host, ".")
	labels := strings.Split(name, ".")
	if !numericLabel(labels[len(labels)-1]) {
		return netip.Addr{}, false, nil
	}
	a, ok := parseLegacyIPv4(labels)
	if !ok {
		return netip.Addr{}, false, errNumericHost
	}
	return a, true, nil
}

// numericLabel reports whether a host's last label is a number, decimal
// or hexadecimal, which makes the whole host an IPv4 address (or an
// invalid one) to a URL parser.
func numericLabel(l string) bool {
	if l == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(strings.ToLower(l), "0x"); ok {
		return strings.Trim(rest, "0123456789abcdef") == ""
	}
	return strings.Trim(l, "0123456789") == ""
}

// parseLegacyIPv4 parses an IPv4 address as inet_aton(3) does: one to four
// parts, each decimal, octal (a leading 0) or hexadecimal (0x); the last
// part fills the bytes the others leave.
func parseLegacyIPv4(parts []string) (netip.Addr, bool) {
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		n, ok := parseIPv4Part(p)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 255 {
				return netip.Addr{}, false
			}
			v |= n << (8 * (3 - i))
			continue
		}
		if n >= 1<<(8*(4-i)) {
			return netip.Addr{}, false
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func parseIPv4Part(p string) (uint64, bool) {
	base := 10
	switch lower := strings.ToLower(p); {
	case p == "":
		return 0, false
	case strings.HasPrefix(lower, "0x"):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true // "0x" alone is 0 to inet_aton.
		}
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	n, err := strconv.ParseUint(p, base, 32)
	return n, err == nil
}

// Prefixes of IPv6 addresses that carry an IPv4 address.
var (
	ipv4Compatible = netip.MustParsePrefix("::/96")
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
)

// reachedIPv4 returns the IPv4 address that ip reaches when ip is an
// IPv4-mapped or NAT64 address (those are judged by it), and ip
// otherwise.
func reachedIPv4(ip netip.Addr) netip.Addr {
	if ip.Is4In6() || nat64.Contains(ip) {
		b := ip.As16()
		return netip.AddrFrom4([4]byte(b[12:16]))
	}
	return ip
}

// describeHost names a host for a refusal: as written, and as the IPv4
// address it means when that is written differently (0x7f.1, ::127.0.0.1
// and ::ffff:127.0.0.1 all mean 127.0.0.1).
func describeHost(host string, addr netip.Addr) string {
	if !addr.IsValid() {
		return host
	}
	meant := reachedIPv4(addr)
	if ipv4Compatible.Contains(addr) && !addr.IsLoopback() && !addr.IsUnspecified() {
		b := addr.As16()
		meant = netip.AddrFrom4([4]byte(b[12:16]))
	}
	if meant.String() == host {
		return host
	}
	return host + ", that is " + meant.String()
}

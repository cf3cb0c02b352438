package links

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// AnyOrigin is the embed origin that lets any site frame the uploader.
const AnyOrigin = "*"

// ParseOrigin checks an origin that may embed a link's uploader and
// returns it in canonical form, or an error that says, for the person who
// typed it, what is wrong. Origins end up as sources of the embed's
// Content-Security-Policy frame-ancestors directive, where a ";" would
// start a new directive and a "," a new policy, so only this grammar is
// accepted:
//
//   - AnyOrigin ("*"), meaning any site;
//   - scheme://host[:port], with scheme http or https; host a DNS name
//     (letters, digits, hyphens and dots, international names in
//     punycode), an IPv4 address in dotted-decimal form, or an IPv6
//     address in brackets; port from 1 to 65535.
//
// Surrounding spaces and trailing slashes are dropped. The canonical form
// has the scheme and host in lower case, an IPv6 address in its shortest
// form, and no port when it is the scheme's default, as browsers write
// the origin they compare with.
func ParseOrigin(s string) (string, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	if s == AnyOrigin {
		return s, nil
	}
	if s == "" {
		return "", errors.New("Enter an origin such as https://site.example.")
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return "", fmt.Errorf("%q is not an origin: write it as https://site.example, with a :port if it is not the usual one, or * for any site.", s)
	}
	scheme = strings.ToLower(scheme)
	if scheme != "https" && scheme != "http" {
		return "", fmt.Errorf("%q is not an origin: it must start with https:// (or http://).", s)
	}
	if i := strings.IndexAny(rest, "/?#@"); i >= 0 {
		if rest[i] == '@' {
			return "", fmt.Errorf("%q is not an origin: leave out the user name.", s)
		}
		return "", fmt.Errorf("%q is not an origin: leave out the path, the query and anything else after the host and port.", s)
	}
	host, port, err := splitHostPort(rest)
	if err != nil {
		return "", fmt.Errorf("%q is not an origin: %w", s, err)
	}
	if port != 0 && port != defaultPort[scheme] {
		host += ":" + strconv.Itoa(port)
	}
	return scheme + "://" + host, nil
}

var defaultPort = map[string]int{"http": 80, "https": 443}

// splitHostPort reads host[:port] and returns the host in canonical form
// and the port (0 when there is none).
func splitHostPort(hp string) (string, int, error) {
	var host, port string
	if rest, ok := strings.CutPrefix(hp, "["); ok {
		addr, after, ok := strings.Cut(rest, "]")
		if !ok {
			return "", 0, errors.New("the IPv6 address has no closing bracket.")
		}
		ip, err := netip.ParseAddr(addr)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", 0, fmt.Errorf("%q is not an IPv6 address.", addr)
		}
		host = "[" + ip.String() + "]"
		if after != "" {
			p, ok := strings.CutPrefix(after, ":")
			if !ok {
				return "", 0, errors.New("only a :port may follow the host.")
			}
			port = p
		}
	} else {
		if ip, err := netip.ParseAddr(hp); err == nil && ip.Is6() {
			return "", 0, fmt.Errorf("an IPv6 address goes in brackets, such as [%s].", hp)
		}
		h, p, hasPort := strings.Cut(hp, ":")
		if hasPort {
			port = p
		}
		var err error
		if host, err = parseHostName(strings.ToLower(h)); err != nil {
			return "", 0, err
		}
	}
	if port == "" {
		if strings.HasSuffix(hp, ":") {
			return "", 0, errors.New("the port is empty.")
		}
		return host, 0, nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strings.Trim(port, "0123456789") != "" {
		return "", 0, fmt.Errorf("the port %q must be a number from 1 to 65535.", port)
	}
	return host, n, nil
}

// parseHostName checks a host that is not in brackets: an IPv4 address in
// dotted-decimal form, or a DNS name.
func parseHostName(h string) (string, error) {
	if ip, err := netip.ParseAddr(h); err == nil && ip.Is4() {
		return ip.String(), nil
	}
	bad := fmt.Errorf("%q is not a host name (letters, digits, hyphens and dots), an IPv4 address or an IPv6 address in brackets.", h)
	if h == "" {
		return "", errors.New("the host is missing.")
	}
	if len(h) > 253 {
		return "", errors.New("the host name is longer than 253 characters.")
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", bad
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
			case c >= 0x80:
				return "", fmt.Errorf("%q has letters outside ASCII: write an international name in punycode (xn--...), as the browser's address bar shows it once copied.", h)
			default:
				return "", bad
			}
		}
	}
	// A name whose last label is a number would be read as an IPv4
	// address, and this one is none (999.1.1.1, 10.1).
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", fmt.Errorf("%q is not an IPv4 address: write four numbers from 0 to 255, such as 203.0.113.7.", h)
	}
	return h, nil
}

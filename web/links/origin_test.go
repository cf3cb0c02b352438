package links_test

import (
	"strings"
	"testing"

	"github.com/uplink-video/uplink/web/links"
)

// Embed origins become sources of the embed's frame-ancestors directive:
// only scheme://host[:port] or "*" may pass, in canonical form (issue 10,
// item 9).
func TestParseOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		description string
		in          string
		want        string // The canonical origin, or a piece of the error.
		ok          bool
	}{
		{"https", "https://site.example", "https://site.example", true},
		{"http with a port", "http://site.example:8080", "http://site.example:8080", true},
		{"any site", "*", "*", true},
		{"any site, with spaces", "  *  ", "*", true},
		{"upper case", "HTTPS://WWW.Site.Example", "https://www.site.example", true},
		{"a trailing slash", "https://site.example/", "https://site.example", true},
		{"the default https port", "https://site.example:443", "https://site.example", true},
		{"the default http port", "http://site.example:80", "http://site.example", true},
		{"https on port 80 is kept", "https://site.example:80", "https://site.example:80", true},
		{"a port with leading zeros", "https://site.example:08443", "https://site.example:8443", true},
		{"the highest port", "https://site.example:65535", "https://site.example:65535", true},
		{"punycode", "https://xn--bcher-kva.example", "https://xn--bcher-kva.example", true},
		{"hyphens and digits", "https://my-site2.example", "https://my-site2.example", true},
		{"a single label", "http://intranet", "http://intranet", true},
		{"IPv4", "http://203.0.113.7:8080", "http://203.0.113.7:8080", true},
		{"IPv6", "https://[2001:DB8:0::1]:8443", "https://[2001:db8::1]:8443", true},
		{"IPv6 without a port", "http://[::1]", "http://[::1]", true},

		{"empty", "", "Enter an origin", false},
		{"a directive after a semicolon", "https://a.example;script-src", "not a host name", false},
		{"a semicolon and a space", "https://a.example; script-src 'unsafe-inline'", "not a host name", false},
		{"a comma", "https://a.example,https://b.example", "is not an origin", false},
		{"a comma after the port", "https://a.example:1,b.example", "from 1 to 65535", false},
		{"a comma, no path", "https://a.example,b.example", "not a host name", false},
		{"a double quote", `https://a.example"`, "not a host name", false},
		{"a single quote", "https://'self'", "not a host name", false},
		{"a star in the host", "https://*.example", "not a host name", false},
		{"a star as the host", "https://*", "not a host name", false},
		{"a star and a scheme", "*://site.example", "must start with https://", false},
		{"a space inside", "https://a.example other", "not a host name", false},
		{"a tab inside", "https://a.example\tother", "not a host name", false},
		{"a newline inside", "https://a.example\nhttps://b.example", "is not an origin", false},
		{"an underscore", "https://a_b.example", "not a host name", false},
		{"a leading hyphen", "https://-a.example", "not a host name", false},
		{"a trailing hyphen", "https://a-.example", "not a host name", false},
		{"an empty label", "https://a..example", "not a host name", false},
		{"a trailing dot", "https://a.example.", "not a host name", false},
		{"a label over 63 characters", "https://" + strings.Repeat("a", 64) + ".example", "not a host name", false},
		{"a name over 253 characters", "https://" + strings.Repeat("abcdefghi.", 26) + "example", "longer than 253", false},
		{"non-ASCII", "https://bücher.example", "punycode", false},
		{"a percent escape", "https://a%2eexample", "not a host name", false},
		{"a backslash", `https://a.example\`, "not a host name", false},
		{"no scheme", "site.example", "is not an origin: write it as https://", false},
		{"javascript", "javascript:alert(1)", "is not an origin", false},
		{"ftp", "ftp://site.example", "must start with https://", false},
		{"data", "data://site.example", "must start with https://", false},
		{"a path", "https://site.example/page", "leave out the path", false},
		{"a query", "https://site.example?x=1", "leave out the path", false},
		{"a fragment", "https://site.example#x", "leave out the path", false},
		{"a user name", "https://user@site.example", "leave out the user name", false},
		{"no host", "https://", "is not an origin", false},
		{"only a port", "https://:8443", "host is missing", false},
		{"an empty port", "https://site.example:", "port is empty", false},
		{"port 0", "https://site.example:0", "from 1 to 65535", false},
		{"port 65536", "https://site.example:65536", "from 1 to 65535", false},
		{"a signed port", "https://site.example:+443", "from 1 to 65535", false},
		{"a named port", "https://site.example:https", "from 1 to 65535", false},
		{"two ports", "https://site.example:1:2", "from 1 to 65535", false},
		{"a bad IPv4 address", "https://999.1.1.1", "not an IPv4 address", false},
		{"a short IPv4 address", "http://10.1", "not an IPv4 address", false},
		{"an IPv4 address with leading zeros", "http://010.0.0.1", "not an IPv4 address", false},
		{"IPv6 without brackets", "https://2001:db8::1", "goes in brackets", false},
		{"an unclosed bracket", "https://[2001:db8::1", "no closing bracket", false},
		{"IPv4 in brackets", "https://[203.0.113.7]", "not an IPv6 address", false},
		{"an IPv6 zone", "http://[fe80::1%25eth0]", "not an IPv6 address", false},
		{"junk after the brackets", "https://[::1]x", "only a :port", false},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			got, err := links.ParseOrigin(tt.in)
			switch {
			case tt.ok && err != nil:
				t.Errorf("ParseOrigin(%q)=%v, want %q", tt.in, err, tt.want)
			case tt.ok && got != tt.want:
				t.Errorf("ParseOrigin(%q)=%q, want=%q", tt.in, got, tt.want)
			case !tt.ok && err == nil:
				t.Errorf("ParseOrigin(%q)=%q, want an error with %q", tt.in, got, tt.want)
			case !tt.ok && !strings.Contains(err.Error(), tt.want):
				t.Errorf("ParseOrigin(%q) error=%q, want it to contain %q", tt.in, err, tt.want)
			}
			if err == nil && strings.ContainsAny(got, ";,'\" \t\n") {
				t.Errorf("ParseOrigin(%q)=%q holds a character that would break the policy", tt.in, got)
			}
		})
	}
}

// Spec.Validate refuses what ParseOrigin refuses, with the field's error.
func TestValidateRefusesInjectedOrigins(t *testing.T) {
	t.Parallel()
	for _, o := range []string{"https://a.example;script-src", "https://a.example,https://b.example", "https://*.example"} {
		sp := links.Spec{Label: "x", EmbedOrigins: []string{o}}
		err := sp.Validate()
		fe, ok := err.(links.FieldErrors)
		if !ok || fe["embedOrigins"] == "" {
			t.Errorf("Validate with origin %q: %v, want an embedOrigins error", o, err)
		}
	}
}

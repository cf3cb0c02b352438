package framing

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
)

// The parsers in this file follow net/http's own rules (net/http/
// transfer.go, net/http/internal/chunked.go, net/textproto): a request the
// guard lets through must be framed by net/http exactly as the guard
// framed it, or the guard would look for the next head in the wrong
// place. Where they differ, the guard is the stricter, and fails closed.

// headEnd returns the length of the head at the start of b: up to and
// including the first empty line (CRLF or a bare LF, as net/http's
// textproto reader accepts), or -1 if b holds no empty line yet. from is
// where the previous call stopped (the start of an incomplete line), and
// scanned where this one did, so that a head that arrives a byte at a
// time is not scanned over and over.
func headEnd(b []byte, from int) (end, scanned int) {
	i := from
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1, i
		}
		line := b[i : i+j]
		i += j + 1
		if len(line) == 0 || len(line) == 1 && line[0] == '\r' {
			return i, i
		}
	}
}

// How a request's body is framed.
type framing int

const (
	noBody      framing = iota
	fixedBody           // Content-Length bytes.
	chunkedBody         // Transfer-Encoding: chunked.
	unframed            // net/http refuses the head.
)

// parseHead returns how net/http frames the body of the request whose
// head is head, or why the request is refused.
func parseHead(head []byte) (f framing, n int64, refusal string) {
	lines := strings.Split(strings.TrimSuffix(string(head), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	lines = lines[:len(lines)-1] // The empty line that ends the head.
	if len(lines) == 0 {
		return unframed, 0, ""
	}
	var cl, te []string
	folded, malformed := false, false
	for _, l := range lines[1:] {
		if l[0] == ' ' || l[0] == '\t' {
			folded = true
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			malformed = true
			continue
		}
		// net/http refuses a name with spaces around it; counting it here
		// anyway only ever refuses more.
		switch strings.ToLower(strings.Trim(name, " \t")) {
		case "content-length":
			cl = append(cl, strings.Trim(value, " \t"))
		case "transfer-encoding":
			te = append(te, strings.Trim(value, " \t"))
		}
	}
	switch {
	case len(cl) > 0 && len(te) > 0:
		return unframed, 0, "it has both Content-Length and Transfer-Encoding"
	case folded:
		return unframed, 0, "a header line is folded onto the next (obs-fold)"
	case malformed:
		return unframed, 0, ""
	}
	method, rest, ok1 := strings.Cut(lines[0], " ")
	_, proto, ok2 := strings.Cut(rest, " ")
	major, minor, ok3 := http.ParseHTTPVersion(proto)
	if !ok1 || !ok2 || !ok3 || major != 1 || method == "" {
		return unframed, 0, ""
	}
	// Like net/http, ignore Transfer-Encoding in an HTTP/1.0 request.
	if len(te) > 0 && minor >= 1 {
		if len(te) == 1 && strings.EqualFold(te[0], "chunked") {
			return chunkedBody, 0, ""
		}
		return unframed, 0, "" // net/http answers 501.
	}
	if len(cl) == 0 {
		return noBody, 0, ""
	}
	for _, v := range cl[1:] {
		if v != cl[0] {
			return unframed, 0, ""
		}
	}
	size, err := strconv.ParseUint(cl[0], 10, 63)
	switch {
	case err != nil:
		return unframed, 0, ""
	case size == 0:
		return noBody, 0, ""
	}
	return fixedBody, int64(size), ""
}

// parseChunkLine reads a chunk-size line, CRLF included, by the rules of
// net/http's chunked reader: a CRLF ending and no other CR, under 4 KiB,
// 1 to 16 hexadecimal digits, then optional whitespace and extensions.
func parseChunkLine(line []byte) (int64, bool) {
	if i := bytes.IndexByte(line, '\r'); i != len(line)-2 {
		return 0, false
	}
	p := line[:len(line)-2]
	if len(p) >= maxChunkLine {
		return 0, false
	}
	p, _, _ = bytes.Cut(bytes.TrimRight(p, " \t"), []byte(";"))
	if len(p) == 0 || len(p) > 16 {
		return 0, false
	}
	var n uint64
	for _, b := range p {
		var d byte
		switch {
		case '0' <= b && b <= '9':
			d = b - '0'
		case 'a' <= b && b <= 'f':
			d = b - 'a' + 10
		case 'A' <= b && b <= 'F':
			d = b - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | uint64(d)
	}
	if n > 1<<62 {
		return 0, false // No one sends such a chunk; failing is safe.
	}
	return int64(n), true
}

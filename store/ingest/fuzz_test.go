package ingest_test

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/store/ingest"
)

// FuzzParseContentRange checks ParseContentRange on any header: it never
// panics; what it accepts is within the protocol's limits and prints back
// to a header that parses the same; what it refuses is a short
// Content-Range problem; and every header of the documented shapes with
// numbers in range is accepted with exactly those numbers. Its seeds are
// in testdata/fuzz/FuzzParseContentRange; a crasher found by fuzzing goes
// there too, and is a regression test from then on.
//
// Run it with: go test -run='^$' -fuzz='^FuzzParseContentRange$' ./store/ingest
func FuzzParseContentRange(f *testing.F) {
	for _, h := range []string{
		"", "part 1/3", "part 2/*", "part 10000/10000", "PART 3/3", "bytes 0-5242879/20000000",
		"bytes 0-0/1", "bytes 52428799999-52428799999/52428800000", "part 0/0", "part 1/0",
		"bytes 9-5/30", "part 99999999999999999999/*", "  part  1/2  ", "bytes=0-1/2", "part 1/3/4",
		"bytes -1-2/3", "part +1/2", "part ١/٣", "part 1/*\x00", "bytes 0-1/*",
	} {
		f.Add(h)
	}
	partRE := regexp.MustCompile(`^(?i:part) +([0-9]{1,9})/([0-9]{1,9}|\*) *$`)
	bytesRE := regexp.MustCompile(`^(?i:bytes) +([0-9]{1,18})-([0-9]{1,18})/([0-9]{1,18}) *$`)
	f.Fuzz(func(t *testing.T, h string) {
		r, err := ingest.ParseContentRange(h)
		if again, againErr := ingest.ParseContentRange(h); again != r || (againErr == nil) != (err == nil) {
			t.Fatalf("%q parsed as %+v (%v), then as %+v (%v)", h, r, err, again, againErr)
		}
		if err != nil {
			var ie *ingest.Error
			if !errors.As(err, &ie) {
				t.Fatalf("%q: error %v is not an *ingest.Error", h, err)
			}
			if ie.Name != "Content-Range" || !strings.HasPrefix(ie.Code, "video-content-range-") || ie.Detail == "" {
				t.Fatalf("%q: refusal %+v, want a Content-Range problem with a detail", h, ie)
			}
			// The detail quotes at most 100 bytes of the header; quoting
			// may spell each as \xNN.
			if len(ie.Detail) > 200+4*100 {
				t.Fatalf("%q: a detail of %d bytes echoes too much of the header", h, len(ie.Detail))
			}
			if r != (ingest.Range{}) {
				t.Fatalf("%q: refused, yet returned %+v", h, r)
			}
		} else {
			checkRange(t, h, r)
		}

		// Completeness: the documented shapes, with numbers in range,
		// are accepted as written.
		trimmed := strings.Trim(h, " ")
		if m := partRE.FindStringSubmatch(trimmed); m != nil {
			part, _ := strconv.Atoi(m[1])
			total := 0
			if m[2] != "*" {
				total, _ = strconv.Atoi(m[2])
			}
			valid := part >= 1 && part <= ingest.MaxParts && (m[2] == "*" || total >= part && total <= ingest.MaxParts)
			want := ingest.Range{Mode: ingest.Parts, Part: part, TotalParts: total}
			if valid && (err != nil || r != want) {
				t.Fatalf("%q parsed as %+v (%v), want %+v", h, r, err, want)
			}
			if !valid && err == nil {
				t.Fatalf("%q accepted as %+v, but its numbers are out of range", h, r)
			}
		}
		if m := bytesRE.FindStringSubmatch(trimmed); m != nil {
			from, _ := strconv.ParseInt(m[1], 10, 64)
			to, _ := strconv.ParseInt(m[2], 10, 64)
			total, _ := strconv.ParseInt(m[3], 10, 64)
			n := to - from + 1
			valid := from <= to && to < total && total <= ingest.MaxTotalBytes && n <= ingest.MaxPieceSize &&
				(n >= ingest.MinPartSize || to == total-1)
			want := ingest.Range{Mode: ingest.Bytes, From: from, To: to, Total: total}
			if valid && (err != nil || r != want) {
				t.Fatalf("%q parsed as %+v (%v), want %+v", h, r, err, want)
			}
			if !valid && err == nil {
				t.Fatalf("%q accepted as %+v, but its numbers are out of range", h, r)
			}
		}
	})
}

// checkRange checks an accepted range against the protocol's limits, and
// that it prints back to a header that parses the same.
func checkRange(t *testing.T, h string, r ingest.Range) {
	t.Helper()
	switch r.Mode {
	case ingest.Single:
		if strings.TrimSpace(h) != "" || r != (ingest.Range{Mode: ingest.Single}) {
			t.Fatalf("%q parsed as a single upload %+v", h, r)
		}
		return
	case ingest.Parts:
		if r.Part < 1 || r.Part > ingest.MaxParts || r.TotalParts != 0 && (r.TotalParts < r.Part || r.TotalParts > ingest.MaxParts) ||
			r.From != 0 || r.To != 0 || r.Total != 0 {
			t.Fatalf("%q parsed as %+v, outside the limits of part mode", h, r)
		}
	case ingest.Bytes:
		n := r.To - r.From + 1
		if r.From < 0 || r.From > r.To || r.To >= r.Total || r.Total > ingest.MaxTotalBytes || n > ingest.MaxPieceSize ||
			n < ingest.MinPartSize && r.To != r.Total-1 || r.Part != 0 || r.TotalParts != 0 {
			t.Fatalf("%q parsed as %+v, outside the limits of bytes mode", h, r)
		}
	default:
		t.Fatalf("%q parsed with mode %q", h, r.Mode)
	}
	back, err := ingest.ParseContentRange(r.String())
	if err != nil || back != r {
		t.Fatalf("%q parsed as %+v, printed as %q, which parses as %+v (%v)", h, r, r.String(), back, err)
	}
}

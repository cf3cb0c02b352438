package ingest_test

import (
	"testing"

	"github.com/uplink-video/uplink/store/ingest"
)

func TestParseContentRange(t *testing.T) {
	for _, tt := range []struct {
		description string
		header      string
		want        ingest.Range
		wantCode    string
	}{
		// Valid headers.
		{
			description: "no header is a single upload",
			header:      "",
			want:        ingest.Range{Mode: ingest.Single},
		},
		{
			description: "only whitespace is a single upload",
			header:      "  \t ",
			want:        ingest.Range{Mode: ingest.Single},
		},
		{
			description: "part with a known total",
			header:      "part 2/3",
			want:        ingest.Range{Mode: ingest.Parts, Part: 2, TotalParts: 3},
		},
		{
			description: "part with an unknown total",
			header:      "part 7/*",
			want:        ingest.Range{Mode: ingest.Parts, Part: 7},
		},
		{
			description: "the last part of a progressive upload",
			header:      "part 4/4",
			want:        ingest.Range{Mode: ingest.Parts, Part: 4, TotalParts: 4},
		},
		{
			description: "the highest part and total",
			header:      "part 10000/10000",
			want:        ingest.Range{Mode: ingest.Parts, Part: 10000, TotalParts: 10000},
		},
		{
			description: "surrounding and inner whitespace",
			header:      "  part   1/2  ",
			want:        ingest.Range{Mode: ingest.Parts, Part: 1, TotalParts: 2},
		},
		{
			description: "the unit is case-insensitive",
			header:      "PART 1/2",
			want:        ingest.Range{Mode: ingest.Parts, Part: 1, TotalParts: 2},
		},
		{
			description: "leading zeros",
			header:      "part 01/02",
			want:        ingest.Range{Mode: ingest.Parts, Part: 1, TotalParts: 2},
		},
		{
			description: "a first byte range",
			header:      "bytes 0-5242879/20000000",
			want:        ingest.Range{Mode: ingest.Bytes, From: 0, To: 5242879, Total: 20000000},
		},
		{
			description: "a short last byte range",
			header:      "bytes 19999990-19999999/20000000",
			want:        ingest.Range{Mode: ingest.Bytes, From: 19999990, To: 19999999, Total: 20000000},
		},
		{
			description: "a whole small file as one byte range",
			header:      "bytes 0-0/1",
			want:        ingest.Range{Mode: ingest.Bytes, From: 0, To: 0, Total: 1},
		},
		{
			description: "the largest range and total allowed",
			header:      "bytes 52219084800-52428799999/52428800000",
			want:        ingest.Range{Mode: ingest.Bytes, From: 52219084800, To: 52428799999, Total: 52428800000},
		},

		// Malformed headers.
		{description: "no space", header: "part1/2", wantCode: ingest.CodeRangeMalformed},
		{description: "no slash", header: "part 1", wantCode: ingest.CodeRangeMalformed},
		{description: "unknown unit", header: "chunk 1/2", wantCode: ingest.CodeRangeMalformed},
		{description: "tab instead of a space", header: "part\t1/2", wantCode: ingest.CodeRangeMalformed},
		{description: "empty part", header: "part /2", wantCode: ingest.CodeRangeMalformed},
		{description: "empty total", header: "part 1/", wantCode: ingest.CodeRangeMalformed},
		{description: "negative part", header: "part -1/2", wantCode: ingest.CodeRangeMalformed},
		{description: "signed part", header: "part +1/2", wantCode: ingest.CodeRangeMalformed},
		{description: "fractional part", header: "part 1.5/2", wantCode: ingest.CodeRangeMalformed},
		{description: "space inside the numbers", header: "part 1 /2", wantCode: ingest.CodeRangeMalformed},
		{description: "two slashes", header: "part 1/2/3", wantCode: ingest.CodeRangeMalformed},
		{description: "star as the part", header: "part */2", wantCode: ingest.CodeRangeMalformed},
		{description: "a part number that would overflow", header: "part 99999999999999999999999/*", wantCode: ingest.CodeRangeMalformed},
		{description: "a total that would overflow", header: "part 1/99999999999999999999999", wantCode: ingest.CodeRangeMalformed},
		{description: "bytes without a dash", header: "bytes 0/10", wantCode: ingest.CodeRangeMalformed},
		{description: "bytes with an empty end", header: "bytes 0-/10", wantCode: ingest.CodeRangeMalformed},
		{description: "bytes with a negative end", header: "bytes 0--1/10", wantCode: ingest.CodeRangeMalformed},
		{description: "bytes with an unknown total", header: "bytes 0-5242879/*", wantCode: ingest.CodeRangeMalformed},
		{description: "a first byte that would overflow", header: "bytes 99999999999999999999-99999999999999999999/1", wantCode: ingest.CodeRangeMalformed},
		{description: "a byte total that would overflow", header: "bytes 0-9/99999999999999999999", wantCode: ingest.CodeRangeMalformed},
		{description: "the bytes= form of HTTP Range", header: "bytes=0-9/10", wantCode: ingest.CodeRangeMalformed},

		// Part mode limits.
		{description: "part zero", header: "part 0/2", wantCode: ingest.CodePartZero},
		{description: "part zero of an unknown total", header: "part 0/*", wantCode: ingest.CodePartZero},
		{description: "part above 10000", header: "part 10001/*", wantCode: ingest.CodePartTooHighAllowed},
		{description: "part far above 10000", header: "part 999999999/*", wantCode: ingest.CodePartTooHighAllowed},
		{description: "part above its total", header: "part 3/2", wantCode: ingest.CodePartTooHighTotal},
		{description: "total zero", header: "part 1/0", wantCode: ingest.CodeTotalPartsZero},
		{description: "total above 10000", header: "part 1/10001", wantCode: ingest.CodeTotalPartsTooHigh},

		// Bytes mode limits.
		{description: "total zero bytes", header: "bytes 0-0/0", wantCode: ingest.CodeBytesTotalZero},
		{description: "total above the maximum", header: "bytes 0-5242879/52428800001", wantCode: ingest.CodeBytesTotalTooHigh},
		{description: "end past the largest allowed byte", header: "bytes 52428700000-52428800000/52428800000", wantCode: ingest.CodeBytesToTooHigh},
		{description: "end at the total", header: "bytes 0-10/10", wantCode: ingest.CodeBytesToTooHighTotal},
		{description: "start after end", header: "bytes 10-9/20", wantCode: ingest.CodeBytesFromTooHigh},
		{description: "a range over 200 MiB", header: "bytes 0-209715200/300000000", wantCode: ingest.CodeBytesTooLarge},
		{description: "a range of exactly 200 MiB is allowed", header: "bytes 0-209715199/300000000", want: ingest.Range{Mode: ingest.Bytes, From: 0, To: 209715199, Total: 300000000}},
		{description: "a short range that is not the last", header: "bytes 0-5242878/20000000", wantCode: ingest.CodeBytesTooSmall},
	} {
		t.Run(tt.description, func(t *testing.T) {
			got, err := ingest.ParseContentRange(tt.header)
			if tt.wantCode != "" {
				if got, want := code(err), tt.wantCode; got != want {
					t.Errorf("ParseContentRange(%q) code = %s, want %s", tt.header, got, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseContentRange(%q): %v", tt.header, err)
			}
			if got, want := got, tt.want; got != want {
				t.Errorf("ParseContentRange(%q) = %+v, want %+v", tt.header, got, want)
			}
		})
	}
}

// Errors name the header, so that the API can point the client at it.
func TestParseContentRangeErrorsNameTheHeader(t *testing.T) {
	for _, h := range []string{"nonsense", "part 0/1", "bytes 0-0/0"} {
		_, err := ingest.ParseContentRange(h)
		ie, ok := err.(*ingest.Error)
		if !ok {
			t.Fatalf("ParseContentRange(%q) error = %v, want *ingest.Error", h, err)
		}
		if got, want := ie.Name, "Content-Range"; got != want {
			t.Errorf("ParseContentRange(%q) Name = %q, want %q", h, got, want)
		}
		if ie.Detail == "" {
			t.Errorf("ParseContentRange(%q) has no detail", h)
		}
	}
}

func TestRangeStringRoundTrips(t *testing.T) {
	for _, h := range []string{"part 1/*", "part 2/3", "bytes 0-5242879/20000000", ""} {
		r, err := ingest.ParseContentRange(h)
		if err != nil {
			t.Fatalf("ParseContentRange(%q): %v", h, err)
		}
		if got, want := r.String(), h; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

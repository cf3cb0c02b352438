package ingest

import (
	"strconv"
	"strings"
)

// Limits of the upload protocol, from api.video's documentation
// (api-contract.md section 9).
const (
	// MinPartSize is the smallest piece allowed except for the last one.
	MinPartSize = 5 << 20
	// MaxPieceSize is the largest piece one request may carry, in any
	// mode: the 200 MiB api.video documents for single uploads and byte
	// ranges, applied to parts too.
	MaxPieceSize = 200 << 20
	// MaxParts is the highest part number and part total.
	MaxParts = 10000
	// MaxTotalBytes is the largest total a bytes-mode upload may declare.
	MaxTotalBytes = 52_428_800_000
)

// Mode says how a request's bytes relate to the whole source.
type Mode string

// The three upload modes.
const (
	Single Mode = "single" // No Content-Range: the whole file at once.
	Parts  Mode = "part"   // Content-Range: part N/M or part N/*.
	Bytes  Mode = "bytes"  // Content-Range: bytes a-b/total.
)

// Range is a parsed, statically valid Content-Range header.
type Range struct {
	Mode Mode
	// Part and TotalParts are set in part mode; TotalParts is 0 for "*".
	Part       int
	TotalParts int
	// From, To (inclusive) and Total are set in bytes mode.
	From, To, Total int64
}

// seq is the piece's position key: the part number, the first byte, or 1.
func (r Range) seq() int64 {
	switch r.Mode {
	case Parts:
		return int64(r.Part)
	case Bytes:
		return r.From
	}
	return 1
}

// first reports whether the piece starts the source (part 1, byte 0, or
// a whole file).
func (r Range) first() bool {
	switch r.Mode {
	case Parts:
		return r.Part == 1
	case Bytes:
		return r.From == 0
	}
	return true
}

// number is the piece's part number in the blob store: the part number,
// 1 for a whole file, and in bytes mode the first byte divided by 5 MiB,
// plus one. Every range but the last holds at least 5 MiB and ranges
// never overlap, so two ranges never share a number, and the largest
// total (MaxTotalBytes, exactly 10,000 times 5 MiB) keeps it within the
// blob store's 10,000.
func (r Range) number() int {
	switch r.Mode {
	case Parts:
		return r.Part
	case Bytes:
		return int(r.From/MinPartSize) + 1
	}
	return 1
}

// length is the number of bytes a bytes-mode range declares.
func (r Range) length() int64 { return r.To - r.From + 1 }

// String renders the range as a Content-Range value.
func (r Range) String() string {
	switch r.Mode {
	case Parts:
		total := "*"
		if r.TotalParts > 0 {
			total = strconv.Itoa(r.TotalParts)
		}
		return "part " + strconv.Itoa(r.Part) + "/" + total
	case Bytes:
		return "bytes " + strconv.FormatInt(r.From, 10) + "-" + strconv.FormatInt(r.To, 10) + "/" + strconv.FormatInt(r.Total, 10)
	}
	return ""
}

// ParseContentRange parses the Content-Range header of POST /upload. An
// empty header means a single, whole-file upload. It checks everything
// that can be checked without the upload's state or the body, so that
// such errors are answered before any byte is stored.
func ParseContentRange(h string) (Range, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return Range{Mode: Single}, nil
	}
	unit, spec, ok := strings.Cut(h, " ")
	if !ok {
		return Range{}, malformed(h)
	}
	spec = strings.TrimSpace(spec)
	pos, total, ok := strings.Cut(spec, "/")
	if !ok {
		return Range{}, malformed(h)
	}
	switch strings.ToLower(unit) {
	case "part":
		return parsePart(h, pos, total)
	case "bytes":
		return parseBytes(h, pos, total)
	}
	return Range{}, malformed(h)
}

func parsePart(h, pos, total string) (Range, error) {
	part, ok := parseNumber(pos, 9)
	if !ok {
		return Range{}, malformed(h)
	}
	r := Range{Mode: Parts, Part: int(part)}
	if total != "*" {
		t, ok := parseNumber(total, 9)
		if !ok {
			return Range{}, malformed(h)
		}
		r.TotalParts = int(t)
		if t == 0 {
			return Range{}, refuse(CodeTotalPartsZero, "Content-Range", `The total number of parts must be at least 1, or "*" while it is not known yet.`)
		}
		if t > MaxParts {
			return Range{}, refuse(CodeTotalPartsTooHigh, "Content-Range", "An upload has at most %d parts; use larger parts (up to 200 MiB each).", MaxParts)
		}
	}
	switch {
	case part == 0:
		return Range{}, refuse(CodePartZero, "Content-Range", "Parts are numbered from 1.")
	case part > MaxParts:
		return Range{}, refuse(CodePartTooHighAllowed, "Content-Range", "Part numbers go up to %d.", MaxParts)
	case r.TotalParts > 0 && r.Part > r.TotalParts:
		return Range{}, refuse(CodePartTooHighTotal, "Content-Range", "Part %d is beyond the total of %d parts given in the same header.", r.Part, r.TotalParts)
	}
	return r, nil
}

func parseBytes(h, pos, total string) (Range, error) {
	fromS, toS, ok := strings.Cut(pos, "-")
	if !ok {
		return Range{}, malformed(h)
	}
	from, ok1 := parseNumber(fromS, 18)
	to, ok2 := parseNumber(toS, 18)
	if !ok1 || !ok2 {
		return Range{}, malformed(h)
	}
	if total == "*" {
		return Range{}, refuse(CodeRangeMalformed, "Content-Range", `A bytes range needs the total size of the file, as in "bytes 0-5242879/20000000"; to upload a file of unknown size, send "part N/*" headers instead.`)
	}
	t, ok := parseNumber(total, 18)
	if !ok {
		return Range{}, malformed(h)
	}
	r := Range{Mode: Bytes, From: from, To: to, Total: t}
	switch {
	case t == 0:
		return Range{}, refuse(CodeBytesTotalZero, "Content-Range", "The total size must be at least 1 byte.")
	case t > MaxTotalBytes:
		return Range{}, refuse(CodeBytesTotalTooHigh, "Content-Range", "The total size is limited to %d bytes.", int64(MaxTotalBytes))
	case to >= MaxTotalBytes:
		return Range{}, refuse(CodeBytesToTooHigh, "Content-Range", "The last byte of a range can be at most %d.", int64(MaxTotalBytes-1))
	case to >= t:
		return Range{}, refuse(CodeBytesToTooHighTotal, "Content-Range", "The range ends at byte %d, but the file has only %d bytes (the last one is %d).", to, t, t-1)
	case from > to:
		return Range{}, refuse(CodeBytesFromTooHigh, "Content-Range", "The range starts at byte %d, after its end at byte %d.", from, to)
	case r.length() > MaxPieceSize:
		return Range{}, refuse(CodeBytesTooLarge, "Content-Range", "A range holds at most %d bytes (200 MiB); this one holds %d.", int64(MaxPieceSize), r.length())
	case r.length() < MinPartSize && to != t-1:
		return Range{}, refuse(CodeBytesTooSmall, "Content-Range", "Every range but the last must hold at least %d bytes (5 MiB); this one holds %d.", MinPartSize, r.length())
	}
	return r, nil
}

// parseNumber parses a non-negative decimal of at most maxDigits digits,
// so that no value can overflow.
func parseNumber(s string, maxDigits int) (int64, bool) {
	if s == "" || len(s) > maxDigits {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func malformed(h string) error {
	return refuse(CodeRangeMalformed, "Content-Range", `The value %q is not "part <part>/<total_parts>" (total may be "*") or "bytes <from_byte>-<to_byte>/<total_bytes>".`, clip(h, 100))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

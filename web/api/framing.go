package api

import (
	"bufio"
	"bytes"
	"mime"
	"net/textproto"

	"github.com/uplink-video/uplink/store/ingest"
)

// A part-mode request does not say how long its file part is, and an
// object store wants to know before the first byte (see ingest.GuessSize).
// The length follows from the body's Content-Length once the bytes before
// and after the file part are known. The bytes before it are in the body
// already, and framing reads them; the bytes after it have not arrived,
// and guessFileSize takes them to be what the official clients write.
// Only the speed depends on the guess being right: a wrong one stores
// nothing and is caught before the part is kept.

// maxFramingPeek is how much of the body's start framing looks at for the
// file part's headers. The fields before the file are small (a videoId).
const maxFramingPeek = 64 << 10

// framing is where a multipart body's file part starts.
type framing struct {
	boundary string
	length   int64 // The body's Content-Length.
	// file is the index among the body's parts of the first file part,
	// and start the offset of its first byte in the body.
	file  int
	start int64
	ok    bool // The start was found.
}

// peekFraming reads, without consuming them, the first bytes of a body of
// length bytes (its Content-Length, or -1) and finds its first file part
// (as fileName tells one). It expects the framing every client writes:
// no preamble, CRLF line ends, no padding after the boundaries. On any
// other, or a file part that starts later than maxFramingPeek, ok is
// false, and the part's length is not guessed.
func peekFraming(br *bufio.Reader, contentType string, length int64) framing {
	f := framing{length: length}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" || length <= 0 {
		return f
	}
	f.boundary = params["boundary"]
	// Peek returns what it has when the body ends sooner, or the read
	// fails; the scan below then finds no file part, or one that is not
	// guessed.
	buf, _ := br.Peek(int(min(length, maxFramingPeek)))
	delim := []byte("--" + f.boundary)
	if !bytes.HasPrefix(buf, append(delim, '\r', '\n')) {
		return f
	}
	pos := len(delim) + 2
	for index := 0; ; index++ {
		var header textproto.MIMEHeader
		var start int
		if bytes.HasPrefix(buf[pos:], []byte("\r\n")) {
			header, start = textproto.MIMEHeader{}, pos+2
		} else {
			end := bytes.Index(buf[pos:], []byte("\r\n\r\n"))
			if end < 0 {
				return f
			}
			start = pos + end + 4
			tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(buf[pos:start])))
			if header, err = tr.ReadMIMEHeader(); err != nil {
				return f
			}
		}
		if header.Get("Content-Transfer-Encoding") != "" {
			// Go's multipart reader decodes quoted-printable, which
			// changes the length; no client sends any encoding.
			return f
		}
		if _, isFile := fileName(header); isFile {
			f.file, f.start, f.ok = index, int64(start), true
			return f
		}
		// A field: its value ends at the next delimiter, which must be
		// followed by a CRLF and another part.
		next := bytes.Index(buf[start:], append([]byte("\r\n"), delim...))
		if next < 0 {
			return f
		}
		pos = start + next + 2 + len(delim)
		if !bytes.HasPrefix(buf[pos:], []byte("\r\n")) {
			return f
		}
		pos += 2
	}
}

// The bytes the official clients write after a file part: the closing
// delimiter alone when the file is the last field, and before it a videoId
// field when the Go client's stream and the Node client's progressive
// session send one after the file (api-contract.md 3.1, 6.5, 7.4). Go's
// mime/multipart and Node's form-data write the same bytes.
func (f framing) closing() int64 { return int64(len("\r\n--" + f.boundary + "--\r\n")) }

func (f framing) videoIDAfter(videoID string) int64 {
	field := "\r\n--" + f.boundary + "\r\n" + `Content-Disposition: form-data; name="videoId"` + "\r\n\r\n" + videoID
	return int64(len(field)) + f.closing()
}

// guessFileSize returns the likely length of the file part, or -1 for no
// guess. fileIndex is the part's index in the body, r its Content-Range,
// videoIDBefore the videoId sent before it, and aim what
// ingest.Piece.Aim says. Which client sent the request shows in the
// request itself:
//   - a videoId before the file (the official uploader), no Content-Range
//     (a whole file), and a first part (no client knows the videoId yet):
//     the file is the last field;
//   - a later part with the total unknown ("part n/*"), or the first to
//     give it ("part N/N" of an upload whose total was not known): the Go
//     stream or the Node progressive session, with the upload's videoId
//     after the file;
//   - a later part but the last with the total known ("part n/N"): the
//     clients' one-call uploads, which send no videoId, or a client that
//     sends it after the file. The two lengths differ, and every client
//     sends all parts but the last with the same length, so the one equal
//     to part 1's is taken; the last part of such an upload is not
//     guessed.
func guessFileSize(f framing, fileIndex int, r ingest.Range, videoIDBefore string, aim ingest.Aim) int64 {
	if !f.ok || f.file != fileIndex {
		return -1
	}
	size := func(tail int64) int64 { return f.length - f.start - tail }
	var n int64 = -1
	switch {
	case r.Mode == ingest.Bytes:
		// The range gives the length.
	case r.Mode == ingest.Single, videoIDBefore != "", r.Part == 1:
		n = size(f.closing())
	case aim.VideoID == "":
		// A part without videoId that joins no known upload.
	case r.TotalParts == 0, r.Part == r.TotalParts && !aim.TotalKnown:
		n = size(f.videoIDAfter(aim.VideoID))
	case r.Part < r.TotalParts:
		switch aim.FirstPartSize {
		case size(f.closing()):
			n = size(f.closing())
		case size(f.videoIDAfter(aim.VideoID)):
			n = size(f.videoIDAfter(aim.VideoID))
		}
	}
	if n <= 0 {
		return -1
	}
	return n
}

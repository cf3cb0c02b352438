package api

import (
	"bufio"
	"bytes"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/store/ingest"
)

// body builds a multipart body the way Go's mime/multipart writes it (as
// the Go client does; Node's form-data writes the same bytes around the
// parts): fields before the file, the file of n bytes, fields after.
func body(t *testing.T, before [][2]string, fileHeader textproto.MIMEHeader, n int, after [][2]string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range before {
		mw.WriteField(f[0], f[1])
	}
	w, err := mw.CreatePart(fileHeader)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(bytes.Repeat([]byte{'x'}, n))
	for _, f := range after {
		mw.WriteField(f[0], f[1])
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func fileHeader(field, filename, ctype string) textproto.MIMEHeader {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", multipart.FileContentDisposition(field, filename))
	h.Set("Content-Type", ctype)
	return h
}

// TestGuessFileSize checks the guess of a file part's length on the
// request shapes of the official clients (api-contract.md 3.3, 6 to 8):
// where it guesses, the guess is the file's exact length; where the
// shape does not tell, it does not guess.
func TestGuessFileSize(t *testing.T) {
	const vid = "vi4blUQJFrYWbaG44NBkvJGv"
	const n = 70000 // Longer than what framing peeks at.
	goFile := fileHeader("file", "dir/my video.mp4", "application/octet-stream")
	nodeFile := fileHeader("my-video.mp4", "my-video.mp4", "video/mp4")
	videoID := [][2]string{{"videoId", vid}}
	parts := func(part, total int) ingest.Range {
		return ingest.Range{Mode: ingest.Parts, Part: part, TotalParts: total}
	}
	for _, tt := range []struct {
		name        string
		before      [][2]string
		file        textproto.MIMEHeader
		after       [][2]string
		rng         ingest.Range
		aim         ingest.Aim
		wantGuessed bool
	}{
		{"uploader, videoId before", videoID, fileHeader("file", "file", "video/mp4"), nil, parts(2, 0), ingest.Aim{VideoID: vid, FirstPartSize: n}, true},
		{"whole file", nil, nodeFile, nil, ingest.Range{Mode: ingest.Single}, ingest.Aim{FirstPartSize: -1}, true},
		{"first part", nil, goFile, nil, parts(1, 0), ingest.Aim{FirstPartSize: -1}, true},
		{"Go stream, later part", nil, goFile, videoID, parts(3, 0), ingest.Aim{VideoID: vid, FirstPartSize: n}, true},
		{"Node session, last part", nil, nodeFile, videoID, parts(4, 4), ingest.Aim{VideoID: vid, FirstPartSize: n}, true},
		{"one-call, later part", nil, nodeFile, nil, parts(2, 3), ingest.Aim{VideoID: vid, TotalKnown: true, FirstPartSize: n}, true},
		{"videoId after, total known", nil, goFile, videoID, parts(2, 3), ingest.Aim{VideoID: vid, TotalKnown: true, FirstPartSize: n}, true},
		{"one-call, last part", nil, nodeFile, nil, parts(3, 3), ingest.Aim{VideoID: vid, TotalKnown: true, FirstPartSize: n + 5}, false},
		{"later part, part 1 of another length", nil, goFile, nil, parts(2, 3), ingest.Aim{VideoID: vid, TotalKnown: true, FirstPartSize: n + 1}, false},
		{"later part of no known upload", nil, goFile, videoID, parts(2, 0), ingest.Aim{FirstPartSize: -1}, false},
		{"bytes mode", nil, goFile, nil, ingest.Range{Mode: ingest.Bytes, From: 0, To: n - 1, Total: 2 * n}, ingest.Aim{FirstPartSize: -1}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, ctype := body(t, tt.before, tt.file, n, tt.after)
			br := bufio.NewReaderSize(bytes.NewReader(b), 256<<10)
			f := peekFraming(br, ctype, int64(len(b)))
			if !f.ok {
				t.Fatalf("the file part was not found in %.200q", b)
			}
			if f.file != len(tt.before) {
				t.Errorf("file part index %d, want %d", f.file, len(tt.before))
			}
			if !bytes.Equal(b[f.start:f.start+n], bytes.Repeat([]byte{'x'}, n)) || b[f.start-1] != '\n' {
				t.Errorf("the file part starts at %d: %.40q", f.start, b[f.start-10:])
			}
			got := guessFileSize(f, len(tt.before), tt.rng, func() string {
				if len(tt.before) > 0 {
					return vid
				}
				return ""
			}(), tt.aim)
			switch {
			case tt.wantGuessed && got != n:
				t.Errorf("guess %d, want %d", got, n)
			case !tt.wantGuessed && got != -1:
				t.Errorf("guess %d, want none", got)
			}
			// Peeking consumed nothing.
			if br.Buffered() != len(b) && br.Buffered() != 256<<10 {
				t.Errorf("buffered %d of %d", br.Buffered(), len(b))
			}
		})
	}
}

// TestPeekFramingRefuses checks that framings other than the clients'
// are not guessed: they would be guessed wrong.
func TestPeekFramingRefuses(t *testing.T) {
	const boundary = "b0undary"
	ctype := "multipart/form-data; boundary=" + boundary
	file := "Content-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n\r\n"
	for name, b := range map[string]string{
		"preamble":         "hello\r\n--b0undary\r\n" + file + "data\r\n--b0undary--\r\n",
		"LF line ends":     "--b0undary\n" + strings.ReplaceAll(file, "\r\n", "\n") + "data\n--b0undary--\n",
		"padding":          "--b0undary \r\n" + file + "data\r\n--b0undary--\r\n",
		"quoted-printable": "--b0undary\r\nContent-Transfer-Encoding: quoted-printable\r\n" + file + "data\r\n--b0undary--\r\n",
		"no file":          "--b0undary\r\nContent-Disposition: form-data; name=\"videoId\"\r\n\r\nvi1\r\n--b0undary--\r\n",
		"file too late":    "--b0undary\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n" + strings.Repeat("y", maxFramingPeek) + "\r\n--b0undary\r\n" + file + "data\r\n--b0undary--\r\n",
	} {
		f := peekFraming(bufio.NewReaderSize(strings.NewReader(b), 256<<10), ctype, int64(len(b)))
		if f.ok {
			t.Errorf("%s: file part found at %d", name, f.start)
		}
	}
	// The same body in the clients' framing is found, and a field named
	// "file" without a filename is a file part too.
	b := fmt.Sprintf("--%s\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\ndata\r\n--%s--\r\n", boundary, boundary)
	f := peekFraming(bufio.NewReaderSize(strings.NewReader(b), 256<<10), ctype, int64(len(b)))
	if !f.ok || b[f.start:f.start+4] != "data" {
		t.Errorf("field named file: %+v", f)
	}
	if f := peekFraming(bufio.NewReaderSize(strings.NewReader(b), 256<<10), ctype, -1); f.ok {
		t.Error("a body without Content-Length was framed")
	}
}

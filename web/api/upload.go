package api

import (
	"bufio"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store/ingest"
)

// maxUploadBody caps the body of POST /upload: the largest piece plus room
// for the multipart framing and a few small fields.
const maxUploadBody = ingest.MaxPieceSize + 1<<20

// bodyBuffers is a free list of the read buffers put between a request
// body and its multipart reader. 256 KiB per upload in flight brings the
// system calls that read a 16 MiB part from several thousand down to
// about a hundred. (A sync.Pool would drop them at garbage collections,
// and reallocating them makes the server's RSS creep up during a long
// upload.) Requests beyond the idle ones allocate their own.
var bodyBuffers = make(chan *bufio.Reader, 4)

// readCloser reads through a buffer and closes the body under it.
type readCloser struct {
	io.Reader
	io.Closer
}

// handleUpload handles "POST /upload?token=": one piece of a delegated
// upload, in any of api.video's three modes.
//
// The body is read as a stream, part by part, never parsed into memory:
// the file part goes straight to disk as it arrives. The file part may have
// any field name (the Node client names it after the file), and videoId
// may come before or after it, so the target video is only certain once
// the body has been read; see package ingest for how the bytes still land
// in the right place written once.
//
// The Authorization header is ignored: clients send none, an empty one,
// Basic or Bearer, and only the token counts.
func (a *API) handleUpload(c echo.Context) error {
	r := c.Request()
	ctx := r.Context()
	token := c.QueryParam("token")
	if token == "" {
		return a.problem(ingest.CodeMissingToken, "token", "Add the upload token to the URL: /upload?token=<token>.")
	}
	if err := a.ingest.CheckToken(ctx, token); err != nil {
		return err
	}
	rng, err := ingest.ParseContentRange(r.Header.Get("Content-Range"))
	if err != nil {
		return err
	}
	if r.ContentLength > maxUploadBody {
		return a.problem(ingest.CodeFileTooLarge, "file", "One request can carry at most 200 MiB. Send larger files in parts with \"Content-Range: part N/M\".")
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxUploadBody)
	// The multipart reader reads the body 4 KiB at a time; a large buffer
	// under it turns that into large reads from the connection.
	var br *bufio.Reader
	select {
	case br = <-bodyBuffers:
	default:
		br = bufio.NewReaderSize(nil, 256<<10)
	}
	br.Reset(r.Body)
	defer func() {
		br.Reset(nil)
		select {
		case bodyBuffers <- br:
		default:
		}
	}()
	r.Body = readCloser{br, r.Body}
	frame := peekFraming(br, r.Header.Get(echo.HeaderContentType), r.ContentLength)
	mr, err := r.MultipartReader()
	if err != nil {
		return a.problem(ingest.CodeNoFile, "file", "The body must be multipart/form-data with the file in one part.")
	}

	// On a refusal the handler returns at once, without reading the rest
	// of the body: the server answers and closes the connection rather
	// than read up to 200 MiB it will not keep.
	var (
		piece              *ingest.Piece
		videoIDBefore, vid string
	)
	defer func() {
		if piece != nil {
			piece.Close()
		}
	}()
	for index := 0; ; index++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return a.bodyErr(err, true)
		}
		filename, isFile := fileName(part.Header)
		switch {
		case isFile && piece != nil:
			return a.problem(ingest.CodeMultipleFiles, "file", "Send one file part per request.")
		case isFile:
			piece, err = a.ingest.Begin(ctx, ingest.Request{Token: token, Range: rng, VideoID: vid, Size: fileSize(rng)})
			if err != nil {
				return err
			}
			videoIDBefore = vid
			piece.GuessSize(guessFileSize(frame, index, rng, vid, piece.Aim()))
			if err := piece.Receive(ctx, filename, part); err != nil {
				return a.bodyErr(err, false)
			}
		case part.FormName() == "videoId":
			v, err := readField(part, 64)
			if err != nil {
				return a.bodyErr(err, true)
			}
			if v != "" {
				if vid != "" && v != vid {
					return a.problem(codeInvalidAttribute, "videoId", "The request names two different videoId values.")
				}
				vid = v
			}
		default:
			// Other fields are not part of the protocol; skip them.
			if _, err := io.Copy(io.Discard, part); err != nil {
				return a.bodyErr(err, true)
			}
		}
		part.Close()
	}
	if piece == nil {
		return a.problem(ingest.CodeNoFile, "file", "Add the file as a multipart part with a filename.")
	}
	after := ""
	if vid != videoIDBefore {
		after = vid
	}
	v, err := piece.Commit(ctx, after)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusCreated, a.videoJSON(v))
}

// fileSize is the file part's length when the request says it before the
// part: a byte range does. In part mode the body's Content-Length does not
// tell it, because the official Node and Go clients send a videoId field
// after the file (api-contract.md 6.5 and 7.4); the part is then written
// until it ends (see package ingest).
func fileSize(r ingest.Range) int64 {
	if r.Mode == ingest.Bytes {
		return r.To - r.From + 1
	}
	return -1
}

// fileName tells a file part from a plain field: a file part has a
// filename parameter (possibly empty), or is the field named "file". It
// returns the filename as sent; ingest keeps only its base name.
func fileName(h textproto.MIMEHeader) (string, bool) {
	disposition, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil {
		return "", false
	}
	if name, ok := params["filename"]; ok {
		return name, true
	}
	return "", disposition == "form-data" && params["name"] == "file"
}

// readField reads a small text field, refusing one longer than max bytes.
func readField(p *multipart.Part, max int64) (string, error) {
	b, err := io.ReadAll(io.LimitReader(p, max+1))
	if err != nil {
		return "", err
	}
	if int64(len(b)) > max {
		return "", &ingest.Error{Code: ingest.CodeVideoNotFound, Name: "videoId", Detail: "The videoId field is too long to be a video ID."}
	}
	return strings.TrimSpace(string(b)), nil
}

// bodyErr turns an error met while reading the request body into the
// client's problem: too large, or not well-formed multipart. parsing is
// true when the error came from the multipart parser itself, which only
// fails on the body; errors while storing the file part may also be the
// server's own (a failing disk), and those stay server errors.
func (a *API) bodyErr(err error, parsing bool) error {
	var mbe *http.MaxBytesError
	var ie *ingest.Error
	switch {
	case errors.As(err, &mbe):
		return a.problem(ingest.CodeFileTooLarge, "file", "One request can carry at most 200 MiB. Send larger files in parts with \"Content-Range: part N/M\".")
	case errors.As(err, &ie):
		return err
	case parsing, errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, os.ErrDeadlineExceeded):
		// A body that stopped arriving for longer than the server's idle
		// read timeout (web/deadline.go) is as incomplete as one cut off.
		return a.problem(codeInvalidPayload, "", "The multipart body is incomplete or malformed.")
	}
	return err
}

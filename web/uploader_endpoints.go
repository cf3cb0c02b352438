package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/links"
)

// ctxJSONErrors marks routes whose errors are answered as JSON problems
// for the uploader script, rather than as pages.
const ctxJSONErrors = "json-errors"

func jsonErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set(ctxJSONErrors, true)
		return next(c)
	}
}

// uploadView is what the uploader script learns about an upload: its
// parts, what the server holds, and, once complete, its receipt.
type uploadView struct {
	VideoID       string   `json:"videoId"`
	Filename      string   `json:"filename"`
	Size          int64    `json:"size"`
	ChunkSize     int64    `json:"chunkSize"`
	TotalParts    int      `json:"totalParts"`
	NextPart      int      `json:"nextPart"`
	UploadedBytes int64    `json:"uploadedBytes"`
	Complete      bool     `json:"complete"`
	Receipt       *receipt `json:"receipt"`
}

// receipt is what the uploader shows of a complete upload: what the
// server stored, and the title it was given, if any.
type receipt struct {
	Filename    string `json:"filename"`
	Title       string `json:"title,omitempty"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	CompletedAt string `json:"completedAt"`
}

func viewOf(u store.LinkUpload) uploadView {
	j := uploadView{
		VideoID: u.VideoID, Filename: u.Filename, Size: u.Size, ChunkSize: u.ChunkSize,
		TotalParts: u.TotalParts, NextPart: u.NextPart, UploadedBytes: u.Received(),
		Complete: u.Status == store.LinkUploadCompleted,
	}
	if j.Complete && u.CompletedAt != nil {
		j.Receipt = &receipt{Filename: u.Filename, Title: u.Title, Size: u.Size, SHA256: u.SHA256, CompletedAt: u.CompletedAt.Format(time.RFC3339)}
	}
	return j
}

// startRequest is the body of POST /u/:id/uploads.
type startRequest struct {
	Filename      string `json:"filename"`
	Size          int64  `json:"size"`
	LastModified  int64  `json:"lastModified"`
	Type          string `json:"type"`
	Title         string `json:"title"`
	Description   string `json:"description"`
	UploaderName  string `json:"uploaderName"`
	UploaderEmail string `json:"uploaderEmail"`
}

// handleUploadStart handles "POST /u/:id/uploads": start an upload through
// the link, or resume the unfinished upload of the same file.
func (s *Server) handleUploadStart(c echo.Context) error {
	var in startRequest
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 64<<10))
	// One JSON object and nothing after it: trailing data is refused, as
	// the API refuses it, rather than silently ignored.
	if err := dec.Decode(&in); err != nil {
		return &links.Refusal{Status: http.StatusBadRequest, Code: links.CodeInvalid,
			Title: "The request is not valid.", Detail: "Send the file's name, size and lastModified as JSON."}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &links.Refusal{Status: http.StatusBadRequest, Code: links.CodeInvalid,
			Title: "The request is not valid.", Detail: "Send the file's name, size and lastModified as one JSON object, with nothing after it."}
	}
	u, resumed, err := s.links.Start(c.Request().Context(), c.Param("id"), links.StartRequest{
		Filename: in.Filename, Size: in.Size, LastModified: in.LastModified,
		Title: in.Title, Description: in.Description, Name: in.UploaderName, Email: in.UploaderEmail,
	})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if resumed {
		status = http.StatusOK
	}
	return c.JSON(status, viewOf(u))
}

// handleUploadStatus handles "GET /u/:id/uploads/:videoId": which parts the
// server holds, the source of truth for resuming.
func (s *Server) handleUploadStatus(c echo.Context) error {
	u, err := s.links.Upload(c.Request().Context(), c.Param("id"), c.Param("videoId"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewOf(u))
}

// linkState is what the uploader page learns about its link while it is
// open (GET /u/:id/state), so that what it shows stays true: how many
// uploads the link still takes, and, once it takes no new one, why.
type linkState struct {
	// State is "open", or the code of the refusal a new upload would
	// get: links.CodeLinkExpired, CodeLinkUsedUp or CodeLinkRevoked.
	State string `json:"state"`
	// Remaining is how many more uploads the link can start now (slots
	// held by unfinished uploads do not count), or -1 for any number.
	Remaining int `json:"remaining"`
	// MaxUploads is how many uploads the link takes in all; 0 is any.
	MaxUploads int `json:"maxUploads"`
	// Title and Detail say why the link is closed, when it is.
	Title  string `json:"title,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// handleLinkState handles "GET /u/:id/state": the link's state and how
// many uploads it still takes, for the page's "(N left)" and for a page
// that stays open while the link is used up elsewhere. It is one read by
// primary key, records no visit, and, like the upload status, is not rate
// limited: the page asks at most every 30 s while it is visible, and
// after its own uploads start and finish. A link that does not exist is
// refused with link-not-found (404); a closed one is answered 200 with
// its state.
func (s *Server) handleLinkState(c echo.Context) error {
	l, err := s.links.Peek(c.Request().Context(), c.Param("id"))
	var ref *links.Refusal
	if errors.As(err, &ref) && l.ID == "" {
		return err
	}
	st := linkState{State: "open", Remaining: l.Remaining(), MaxUploads: l.MaxUploads}
	switch {
	case ref != nil:
		st.State, st.Title, st.Detail = ref.Code, ref.Title, ref.Detail
		st.Remaining = 0
	case err != nil:
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, st)
}

// handleUploadPart handles "PUT /u/:id/uploads/:videoId/parts/:n": the raw
// bytes of one part, streamed on to the token upload endpoint with the
// link's token. The body is never held in memory.
func (s *Server) handleUploadPart(c echo.Context) error {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil {
		return &links.Refusal{Status: http.StatusBadRequest, Code: links.CodePartOutOfRange,
			Title: "There is no such part.", Detail: "Parts are numbered from 1."}
	}
	r := c.Request()
	u, err := s.links.PutPart(r.Context(), c.Param("id"), c.Param("videoId"), n, r.ContentLength, r.Body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewOf(u))
}

// handleUploadCancel handles "DELETE /u/:id/uploads/:videoId".
func (s *Server) handleUploadCancel(c echo.Context) error {
	if err := s.links.Cancel(c.Request().Context(), c.Param("id"), c.Param("videoId")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// uploaderProblem is the error body the uploader script reads: a problem
// document with a stable code.
type uploaderProblem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Code     string `json:"code"`
	NextPart int    `json:"nextPart,omitempty"`
}

// Codes of the uploader's problems besides the refusals of package links
// (links.Code*) and codeTooManyRequests. Together they are every code the
// uploader's script can be sent; a test (uploader_scripts_test.go) checks
// that the script knows each, so name every new one here as a constant.
const (
	// codeInternalError: the server failed; the script tries again.
	codeInternalError = "internal-error"
	// codeRequestRefused: a 4xx of the framework (a cross-origin call,
	// an unknown route), which trying again does not fix.
	codeRequestRefused = "request-refused"
)

// writeUploaderError answers an error on the uploader's endpoints.
func (s *Server) writeUploaderError(c echo.Context, err error) {
	var (
		ref *links.Refusal
		he  *echo.HTTPError
		mbe *http.MaxBytesError
	)
	p := uploaderProblem{Status: http.StatusInternalServerError, Code: codeInternalError,
		Title: "Something went wrong on the server.", Detail: "The error was logged. The upload goes on by itself in a moment."}
	switch {
	case errors.As(err, &ref):
		p = uploaderProblem{Status: ref.Status, Code: ref.Code, Title: ref.Title, Detail: ref.Detail, NextPart: ref.NextPart}
	case errors.As(err, &mbe):
		p = uploaderProblem{Status: http.StatusRequestEntityTooLarge, Code: links.CodeInvalid, Title: "The request is too large.", Detail: "Reload the page and try again."}
	case errors.As(err, &he) && he.Code < 500:
		p = uploaderProblem{Status: he.Code, Code: codeRequestRefused, Title: http.StatusText(he.Code) + ".", Detail: "Reload the page and try again."}
	default:
		if c.Request().Context().Err() == nil {
			s.log.ErrorContext(c.Request().Context(), "upload request failed", "method", c.Request().Method, "route", c.Path(), "err", err)
		}
	}
	p.Type = "about:blank"
	if p.Code == links.CodePartInFlight || p.Code == links.CodeTooManyParts {
		// The part goes through once the request holding it, or another
		// of the link's, ends: the uploader tries again after this.
		c.Response().Header().Set(echo.HeaderRetryAfter, "1")
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	_ = json.NewEncoder(c.Response()).Encode(p)
}

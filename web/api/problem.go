package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
)

// Problem is an api.video error body (RFC 7807 style). api.video's SDKs
// read type, title and name; detail tells a person what to do next.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Name   string `json:"name,omitempty"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

func (p *Problem) Error() string { return p.Title + " " + p.Detail }

// apiVideoProblemBase is where api.video documents its problem types.
const apiVideoProblemBase = "https://docs.api.video/reference/"

// problemKind is the fixed part of a problem type.
type problemKind struct {
	status int
	title  string
	// own marks uplink's additions, documented at /problems/<code>.
	own bool
}

// problemKinds lists every problem the API answers with. The titles of
// api.video's problems are the ones its documentation gives.
var problemKinds = map[string]problemKind{
	ingest.CodeMissingToken:        {401, "The upload token is missing.", false},
	ingest.CodeInvalidToken:        {401, "The upload token is invalid or expired.", false},
	ingest.CodeRangeMalformed:      {400, `The value of the "Content-Range" header is malformed, the expected format is "bytes <from_byte>-<to_byte>/<total_bytes>" or "part <part>/<total_parts>".`, false},
	ingest.CodePartZero:            {400, `The "part" value in the "Content-Range" header cannot be 0.`, false},
	ingest.CodePartTooHighAllowed:  {400, `The "part" value in the "Content-Range" header is higher than the allowed maximum.`, false},
	ingest.CodePartTooHighTotal:    {400, `The "part" value in the "Content-Range" header is higher than the total parts.`, false},
	ingest.CodeTotalPartsZero:      {400, `The "total_parts" value in the "Content-Range" header cannot be 0.`, false},
	ingest.CodeTotalPartsTooHigh:   {400, `The "total_parts" value in the "Content-Range" header is higher than the allowed maximum.`, false},
	ingest.CodeTotalPartsTooLow:    {400, `The "total_parts" value in the "Content-Range" header is lower than a part number you already sent.`, false},
	ingest.CodeDifferentTotalParts: {400, `The "total_parts" value in the "Content-Range" header is different from the one you already set.`, false},
	ingest.CodePartAlreadySent:     {400, `The "part" value in the "Content-Range" header collides with a previous one you already sent for this video.`, false},
	ingest.CodePartTooSmall:        {400, "The uploaded file is too small.", false},
	ingest.CodeBytesTotalZero:      {400, `The "total_bytes" value in the "Content-Range" header cannot be 0.`, false},
	ingest.CodeBytesTotalTooHigh:   {400, `The "total_bytes" value in the "Content-Range" header is higher than the allowed maximum.`, false},
	ingest.CodeBytesToTooHighTotal: {400, `The "to_byte" value in the "Content-Range" header is higher than the total bytes.`, false},
	ingest.CodeBytesToTooHigh:      {400, `The "to_byte" value in the "Content-Range" header is higher than the allowed maximum.`, false},
	ingest.CodeBytesFromTooHigh:    {400, `The "from_byte" value in the "Content-Range" header is higher than the "to_byte" value.`, false},
	ingest.CodeBytesDifferentTotal: {400, `The "total_bytes" value in the "Content-Range" header is different from the one you already set.`, false},
	ingest.CodeBytesMismatch:       {400, `The size of the file you sent is different than the range length you set in the "Content-Range" header.`, false},
	ingest.CodeBytesOverlap:        {400, `The range in the "Content-Range" header overlaps with a range you already sent.`, false},
	ingest.CodeBytesTooSmall:       {400, `The range in the "Content-Range" header is too small.`, false},
	ingest.CodeBytesTooLarge:       {400, `The range in the "Content-Range" header is too large.`, false},
	ingest.CodeStartedWithPart:     {400, `This "Content-Range" upload has been started with "part", you cannot continue it with "bytes".`, false},
	ingest.CodeStartedWithBytes:    {400, `This "Content-Range" upload has been started with "bytes", you cannot continue it with "part".`, false},
	ingest.CodeAlreadyInitiated:    {400, `This video source has already been initiated with a "Content-Range" upload.`, false},
	ingest.CodeSourceUploaded:      {400, "The source of the video is already uploaded.", false},
	ingest.CodeFileEmpty:           {400, "The uploaded file is empty.", false},
	ingest.CodeFileTooLarge:        {413, "The uploaded file is too large.", false},
	ingest.CodeNoFile:              {400, "There is no uploaded file in the request.", false},
	ingest.CodeMultipleFiles:       {400, "There is more than one uploaded file in the request.", false},
	ingest.CodeVideoNotFound:       {404, "The requested resource was not found.", false},
	ingest.CodeVideoIDRequired:     {400, "The videoId of the upload is required.", true},
	ingest.CodeUploadAbandoned:     {400, "The upload was abandoned.", true},
	ingest.CodeNoSpace:             {507, "The server has no space left to store the upload.", true},
	// A part another request is still sending, and parts over the bound
	// in flight, get 503: the official uploader retries 5xx and gives up
	// on 4xx, and the request can indeed succeed a moment later.
	ingest.CodePartInFlight: {503, "This part is being received by another request.", true},
	ingest.CodeTooManyParts: {503, "Too many parts of this upload are being received at once.", true},
	// A part whose length was guessed wrong (see ingest.GuessSize) was
	// not kept, and the same request succeeds when sent again.
	ingest.CodeSendAgain: {503, "The part was not kept; send it again.", true},

	codeMissingAuth:       {401, `The "Authorization" header is missing.`, false},
	codeInvalidAPIKey:     {401, "The API key is invalid.", false},
	codeInvalidAccess:     {401, "The access token is invalid or expired.", false},
	codeInvalidAuthHeader: {401, `The "Authorization" header value is invalid.`, false},
	codeBadCredentials:    {400, "The user credentials were incorrect.", false},
	codeInvalidQuery:      {400, "A query parameter is invalid.", false},
	codeInvalidAttribute:  {400, "An attribute is invalid.", false},
	codeAttributeRequired: {400, "This attribute is required.", false},
	codeInvalidPayload:    {400, "The payload is invalid.", false},
	codeUnknownURL:        {404, "Unrecognized request URL.", false},
	codeMethodNotAllowed:  {405, "Method is not allowed for this route.", false},
	codeBodyTooLarge:      {413, "The request body is too large.", true},
	codeServerError:       {500, "Something went wrong on the server.", true},
	codeUnavailable:       {503, "The server is shutting down.", true},
	codeTooManyRequests:   {429, "Too many requests.", false},
}

// Codes of problems that only the API layer raises.
const (
	codeMissingAuth       = "authentication-missing-authorization-header"
	codeInvalidAPIKey     = "authentication-invalid-api-key"
	codeInvalidAccess     = "authentication-invalid-access-token"
	codeInvalidAuthHeader = "authentication-invalid-authorization-header-value"
	codeBadCredentials    = "authentication-invalid-user-credentials"
	codeInvalidQuery      = "request-invalid-query-parameter"
	codeInvalidAttribute  = "invalid-attribute"
	codeAttributeRequired = "attribute-required"
	codeInvalidPayload    = "invalid-payload"
	codeUnknownURL        = "unrecognized-request-url"
	codeMethodNotAllowed  = "method-not-allowed"
	codeBodyTooLarge      = "request-body-too-large"
	codeServerError       = "internal-server-error"
	codeUnavailable       = "service-unavailable"
)

// problem builds the problem for a code. name and detail may be empty.
func (a *API) problem(code, name, detail string) *Problem {
	k, ok := problemKinds[code]
	if !ok {
		k = problemKinds[codeServerError]
	}
	typ := apiVideoProblemBase + code
	if k.own {
		typ = a.publicURL + "/problems/" + code
	}
	return &Problem{Type: typ, Title: k.title, Name: name, Status: k.status, Detail: detail}
}

// HandleError writes err as a problem document. It is the API's half of
// the server's one error handler: handlers return errors, and this maps
// them to statuses. Errors that are not the client's fault are logged.
func (a *API) HandleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := a.toProblem(err)
	var ie *ingest.Error
	busy := errors.As(err, &ie) && (ie.Code == ingest.CodePartInFlight || ie.Code == ingest.CodeTooManyParts || ie.Code == ingest.CodeSendAgain)
	if p.Status >= 500 && !busy {
		a.log.ErrorContext(c.Request().Context(), "API request failed", "method", c.Request().Method, "route", c.Path(), "err", err)
	}
	a.setCORS(c)
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/problem+json")
	if busy {
		h.Set(echo.HeaderRetryAfter, "1")
	}
	if p.Status == http.StatusMethodNotAllowed {
		if allow, ok := c.Get(echo.ContextKeyHeaderAllow).(string); ok {
			h.Set(echo.HeaderAllow, allow)
		}
	}
	c.Response().WriteHeader(p.Status)
	// Written for HEAD too: net/http discards it, and counts it for the
	// Content-Length that GET would get.
	_ = json.NewEncoder(c.Response()).Encode(p)
}

func (a *API) toProblem(err error) *Problem {
	var (
		p   *Problem
		ie  *ingest.Error
		he  *echo.HTTPError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &ie):
		return a.problem(ie.Code, ie.Name, ie.Detail)
	case errors.As(err, &mbe):
		return a.problem(codeBodyTooLarge, "", "The request body is larger than this endpoint accepts.")
	case errors.Is(err, blob.ErrNoSpace), errors.Is(err, store.ErrNoSpace):
		return a.problem(ingest.CodeNoSpace, "", "The server ran out of disk space. Try again later.")
	case errors.Is(err, store.ErrNotFound):
		return a.problem(ingest.CodeVideoNotFound, "", "")
	case errors.As(err, &he):
		switch he.Code {
		case http.StatusNotFound:
			return a.problem(codeUnknownURL, "", "See the API reference for the routes uplink serves.")
		case http.StatusMethodNotAllowed:
			return a.problem(codeMethodNotAllowed, "", "")
		case http.StatusRequestEntityTooLarge:
			return a.problem(codeBodyTooLarge, "", "")
		case http.StatusServiceUnavailable:
			return a.problem(codeUnavailable, "", "Try again in a moment.")
		}
	}
	return a.problem(codeServerError, "", "The error was logged. Try again; if it persists, tell the administrator.")
}

// ProblemInfo describes one of uplink's own problem types, for the page at
// /problems/<code>.
type ProblemInfo struct {
	Code   string
	Status int
	Title  string
}

// OwnProblem returns the description of one of uplink's own problem types.
func OwnProblem(code string) (ProblemInfo, bool) {
	k, ok := problemKinds[code]
	if !ok || !k.own {
		return ProblemInfo{}, false
	}
	return ProblemInfo{Code: code, Status: k.status, Title: k.title}, true
}

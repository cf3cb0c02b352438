package web

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// maxFileForm is the most a dashboard form that carries a file may send:
// a list of people for bulk links (500 lines) or a logo (at most
// maxLogoBytes) with the form's other fields fit well within it.
const maxFileForm = 1 << 20

// limitFileForm guards the few dashboard forms that carry a small file
// (enctype="multipart/form-data"): the bulk links' CSV and the logo. Like
// limitForm, it refuses a body whose Content-Length is over max unread,
// with 413, and cuts off one without a Content-Length after max bytes.
// Then it parses the form, url-encoded or multipart, entirely in memory:
// with the body capped at max, no file part is ever spooled to a
// temporary file (Go keeps up to the maxMemory given to
// ParseMultipartForm in memory, and max is that). checkCSRF, after it,
// finds the form parsed.
func limitFileForm(max int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			switch r.Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
				return next(c)
			}
			if r.ContentLength > max {
				refuseUnread(c)
				return errFormTooLarge
			}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(c.Response().Writer, r.Body, max)
			}
			var err error
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Type"))), "multipart/form-data") {
				err = r.ParseMultipartForm(max)
			} else {
				err = r.ParseForm()
			}
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return errFormTooLarge
			}
			// Any other fault leaves the form as far as Go read it; the
			// handler refuses what is missing, as for a browser's mistake.
			return next(c)
		}
	}
}

// formFile returns the content of the form's file field name, read to at
// most max bytes, and whether one was sent (a browser sends an empty part
// for a file input left empty). tooBig is set when the file is larger.
func formFile(c echo.Context, name string, max int64) (data []byte, sent, tooBig bool, err error) {
	form := c.Request().MultipartForm
	if form == nil || len(form.File[name]) == 0 {
		return nil, false, false, nil
	}
	fh := form.File[name][0]
	if fh.Size == 0 {
		return nil, false, false, nil
	}
	if fh.Size > max {
		return nil, true, true, nil
	}
	f, err := fh.Open()
	if err != nil {
		return nil, true, false, err
	}
	defer func(f multipart.File) { _ = f.Close() }(f)
	data, err = io.ReadAll(io.LimitReader(f, max+1))
	if int64(len(data)) > max {
		return nil, true, true, nil
	}
	return data, true, false, err
}

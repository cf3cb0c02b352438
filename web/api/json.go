package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
)

// writeJSON sends v with Content-Type exactly "application/json": the Node
// client compares the header as a string and rejects any parameter.
func writeJSON(c echo.Context, status int, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/json")
	c.Response().WriteHeader(status)
	_, err := c.Response().Write(buf.Bytes())
	return err
}

// atom formats a time the way api.video does (PHP's DATE_ATOM, in UTC).
func atom(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

// maxJSONBody caps JSON request bodies; none of the API's needs more.
const maxJSONBody = 1 << 20

// decodeJSON decodes the request body into v, whatever its Content-Type
// (the browser uploader posts JSON as text/plain). It rejects bodies that
// are not one JSON value, and reports a field of the wrong type by name.
func (a *API) decodeJSON(c echo.Context, v any) error {
	return a.decodeBody(c, v, false)
}

// decodeOptionalJSON is decodeJSON for endpoints where an empty body means
// an empty object.
func (a *API) decodeOptionalJSON(c echo.Context, v any) error {
	return a.decodeBody(c, v, true)
}

func (a *API) decodeBody(c echo.Context, v any, emptyOK bool) error {
	body := http.MaxBytesReader(c.Response(), c.Request().Body, maxJSONBody)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		if emptyOK && errors.Is(err, io.EOF) {
			return nil
		}
		var te *json.UnmarshalTypeError
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.As(err, &te):
			// The problem names the attribute, as api.video does ("tags"),
			// while the detail keeps the full path that Go 1.27 reports
			// for an element ("tags.0").
			attr, _, _ := strings.Cut(te.Field, ".")
			return a.problem(codeInvalidAttribute, attr, fmt.Sprintf("%q must be %s.", te.Field, jsonKind(te.Type.Kind().String())))
		case errors.Is(err, io.EOF):
			return a.problem(codeInvalidPayload, "", "The request body is empty; send a JSON object.")
		}
		return a.problem(codeInvalidPayload, "", "The request body is not valid JSON: "+err.Error()+".")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return a.problem(codeInvalidPayload, "", "The request body has data after the JSON object.")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a number"
}

// pagination is api.video's pagination object.
type pagination struct {
	CurrentPage      int        `json:"currentPage"`
	CurrentPageItems int        `json:"currentPageItems"`
	PageSize         int        `json:"pageSize"`
	PagesTotal       int        `json:"pagesTotal"`
	ItemsTotal       int        `json:"itemsTotal"`
	Links            []pageLink `json:"links"`
}

type pageLink struct {
	Rel string `json:"rel"`
	URI string `json:"uri"`
}

// listParams are the paging and sorting query parameters every list takes.
type listParams struct {
	page   store.Page
	sortBy string
	desc   bool
}

// parseList reads currentPage, pageSize, sortBy and sortOrder, checking
// them against the documented ranges and the allowed sort fields.
func (a *API) parseList(c echo.Context, sorts []string, defaultSort string) (listParams, error) {
	q := c.QueryParams()
	p := listParams{page: store.Page{Number: 1, Size: 25}, sortBy: defaultSort}
	var err error
	if p.page.Number, err = a.intParam(q, "currentPage", 1, 1, math.MaxInt32); err != nil {
		return p, err
	}
	if p.page.Size, err = a.intParam(q, "pageSize", 25, 1, 100); err != nil {
		return p, err
	}
	if v, ok := single(q, "sortBy"); ok {
		found := false
		for _, s := range sorts {
			found = found || s == v
		}
		if !found {
			return p, a.problem(codeInvalidQuery, "sortBy", fmt.Sprintf("sortBy must be one of %q.", sorts))
		}
		p.sortBy = v
	}
	if v, ok := single(q, "sortOrder"); ok {
		switch v {
		case "asc":
		case "desc":
			p.desc = true
		default:
			return p, a.problem(codeInvalidQuery, "sortOrder", `sortOrder must be "asc" or "desc".`)
		}
	}
	return p, nil
}

func (a *API) intParam(q url.Values, name string, def, min, max int) (int, error) {
	v, ok := single(q, name)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, a.problem(codeInvalidQuery, name, fmt.Sprintf("%s must be a whole number from %d to %d.", name, min, max))
	}
	return n, nil
}

// single returns the first value of a query parameter, if it has one.
func single(q url.Values, name string) (string, bool) {
	vs, ok := q[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// paginate builds the pagination object for one page of a list at path,
// keeping the request's other query parameters in the links.
func paginate(c echo.Context, path string, p store.Page, items, total int) pagination {
	pages := (total + p.Size - 1) / p.Size
	last := max(pages, 1)
	link := func(rel string, n int) pageLink {
		q := c.QueryParams()
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("currentPage", strconv.Itoa(n))
		v.Set("pageSize", strconv.Itoa(p.Size))
		return pageLink{Rel: rel, URI: path + "?" + v.Encode()}
	}
	links := []pageLink{link("self", p.Number), link("first", 1)}
	if p.Number > 1 {
		links = append(links, link("previous", min(p.Number-1, last)))
	}
	if p.Number < pages {
		links = append(links, link("next", p.Number+1))
	}
	links = append(links, link("last", last))
	return pagination{
		CurrentPage:      p.Number,
		CurrentPageItems: items,
		PageSize:         p.Size,
		PagesTotal:       pages,
		ItemsTotal:       total,
		Links:            links,
	}
}

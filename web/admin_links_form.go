package web

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/uplink-video/uplink/templates"
	"github.com/uplink-video/uplink/web/links"
	"github.com/uplink-video/uplink/web/sniff"
)

// The mint form, its parsing, the expiry chooser it shares with the
// extend form, and a link's QR code.

// handleLinkNew handles "GET /admin/links/new".
//
// With ?from={id} it is Duplicate: the form comes filled with that link's
// settings and its label followed by " (copy)" (copyFormValues).
func (s *Server) handleLinkNew(c echo.Context) error {
	v := linkFormValues{expiry: "7d", uploads: "one", sizeUnit: "GiB", types: "video"}
	if from := c.QueryParam("from"); from != "" {
		l, err := s.store.FindLink(c.Request().Context(), from)
		if err != nil {
			return err
		}
		v = copyFormValues(l)
	}
	return render(c, http.StatusOK, templates.LinkNew(templates.LinkFormPage{
		AdminPage: s.adminPage(c, "New link", "links"),
		Form:      linkForm(v),
	}))
}

// handleLinkCreate handles "POST /admin/links". Invalid values show the
// form again, as it was sent, with each error next to its field.
func (s *Server) handleLinkCreate(c echo.Context) error {
	v := linkFormValues{
		label:        c.FormValue("label"),
		message:      c.FormValue("message"),
		expiry:       c.FormValue("expiry"),
		expiryValue:  strings.TrimSpace(c.FormValue("expiryValue")),
		expiryUnit:   c.FormValue("expiryUnit"),
		uploads:      c.FormValue("uploads"),
		uploadsN:     strings.TrimSpace(c.FormValue("uploadsN")),
		size:         strings.TrimSpace(c.FormValue("maxSize")),
		sizeUnit:     c.FormValue("maxSizeUnit"),
		types:        c.FormValue("types"),
		embedOrigins: c.FormValue("embedOrigins"),
		askName:      c.FormValue("askName") != "",
		emailReceipt: c.FormValue("emailReceipt") != "",
	}
	if form, err := c.FormParams(); err == nil {
		v.formats = form["formats"]
	}
	sp, errs := v.spec()
	// Validate on a copy, to report the service's errors for the fields
	// that parsed, along with the parse errors.
	check := sp
	var fe links.FieldErrors
	if err := check.Validate(); errors.As(err, &fe) {
		for k, msg := range fe {
			if _, ok := errs[k]; !ok {
				errs[k] = msg
			}
		}
	}
	if len(errs) == 0 {
		l, err := s.links.Create(c.Request().Context(), sp)
		switch {
		case err == nil:
			return c.Redirect(http.StatusSeeOther, "/admin/links/"+l.ID+"?done=link-created")
		case errors.As(err, &fe):
			errs = map[string]string(fe)
		default:
			return err
		}
	}
	return render(c, http.StatusUnprocessableEntity, templates.LinkNew(templates.LinkFormPage{
		AdminPage: s.adminPage(c, "Error: New link", "links"),
		Form:      linkForm(v),
		Errors:    errs,
	}))
}

// linkFormValues are the mint form's fields as sent.
type linkFormValues struct {
	label, message                  string
	expiry, expiryValue, expiryUnit string
	uploads, uploadsN               string
	size, sizeUnit                  string
	types                           string
	formats                         []string
	embedOrigins                    string
	askName                         bool
	emailReceipt                    bool
}

// spec turns the form into a link spec, with an error message for each
// field that does not parse, under the keys of links.FieldErrors.
func (v linkFormValues) spec() (links.Spec, map[string]string) {
	errs := map[string]string{}
	// A receipt needs an address: the link asks for it.
	sp := links.Spec{Label: v.label, Message: v.message, AskName: v.askName || v.emailReceipt, EmailReceipt: v.emailReceipt}

	ttl, msg := parseExpiry(v.expiry, v.expiryValue, v.expiryUnit)
	if msg != "" {
		errs["ttl"] = msg
	}
	sp.TTL = ttl

	switch v.uploads {
	case "one":
		sp.MaxUploads = 1
	case "n":
		n, err := strconv.Atoi(v.uploadsN)
		if err != nil || n < 1 {
			errs["maxUploads"] = "Enter the number of uploads as a whole number from 1 to 10000."
		}
		sp.MaxUploads = max(n, 1)
	case "unlimited":
		sp.MaxUploads = 0
	default:
		errs["maxUploads"] = "Choose one upload, a number of uploads, or unlimited."
	}

	if v.size != "" {
		n, msg := parseSize(v.size, v.sizeUnit)
		if msg != "" {
			errs["maxSize"] = msg
		}
		sp.MaxSize = n
	}

	switch v.types {
	case "video", "any":
		sp.Types = []string{v.types}
	case "formats":
		for _, f := range v.formats {
			if videoFormat(f) {
				sp.Types = append(sp.Types, f)
			}
		}
		if len(sp.Types) == 0 {
			errs["types"] = "Tick at least one format, or allow all video files."
		}
	default:
		errs["types"] = "Choose which files the link takes."
	}

	// Each origin is parsed here rather than left to the service, so that
	// the error says what is wrong with it, and the link stores the
	// canonical form (lower case, no default port).
	for line := range strings.Lines(v.embedOrigins) {
		o := strings.TrimSpace(line)
		if o == "" {
			continue
		}
		canonical, err := links.ParseOrigin(o)
		if err != nil {
			if _, ok := errs["embedOrigins"]; !ok {
				errs["embedOrigins"] = err.Error()
			}
			continue
		}
		sp.EmbedOrigins = append(sp.EmbedOrigins, canonical)
	}
	return sp, errs
}

func videoFormat(name string) bool {
	for _, f := range sniff.VideoFormats() {
		if f.Name == name {
			return true
		}
	}
	return false
}

// expiryPresets are the expiry choices besides a custom value.
var expiryPresets = []struct {
	value, label string
	ttl          time.Duration
}{
	{"1h", "1 hour", time.Hour},
	{"1d", "1 day", 24 * time.Hour},
	{"7d", "7 days", 7 * 24 * time.Hour},
	{"30d", "30 days", 30 * 24 * time.Hour},
	{"never", "Never", 0},
}

var expiryUnits = []struct {
	value string
	unit  time.Duration
}{
	{"minutes", time.Minute},
	{"hours", time.Hour},
	{"days", 24 * time.Hour},
}

// parseExpiry reads the expiry chooser: a preset, or "custom" with a
// whole number and a unit. It returns the TTL (0 for never) or a message
// for the person.
func parseExpiry(choice, value, unit string) (time.Duration, string) {
	for _, p := range expiryPresets {
		if choice == p.value {
			return p.ttl, ""
		}
	}
	if choice != "custom" {
		return 0, "Choose when the link expires."
	}
	n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if err != nil || n < 1 {
		return 0, "Enter the custom expiry as a whole number of minutes, hours or days, such as 90 minutes."
	}
	for _, u := range expiryUnits {
		if unit == u.value {
			if n > math.MaxInt64/int64(u.unit) {
				return 0, "The expiry is too far away: choose never instead."
			}
			ttl := time.Duration(n) * u.unit
			if fe := links.CheckTTL(ttl); fe != nil {
				return 0, fe.(links.FieldErrors)["ttl"]
			}
			return ttl, ""
		}
	}
	return 0, "Choose minutes, hours or days for the custom expiry."
}

// expiryInput builds the expiry chooser as sent; an empty choice selects
// 7 days.
func expiryInput(choice, value, unit string) templates.ExpiryInput {
	if choice == "" {
		choice = "7d"
	}
	if unit == "" {
		unit = "hours"
	}
	in := templates.ExpiryInput{Value: value}
	for _, p := range expiryPresets {
		in.Presets = append(in.Presets, templates.Choice{Value: p.value, Label: p.label, Checked: choice == p.value})
	}
	in.Presets = append(in.Presets, templates.Choice{Value: "custom", Label: "Custom:", Checked: choice == "custom"})
	for _, u := range expiryUnits {
		in.Units = append(in.Units, templates.Choice{Value: u.value, Label: u.value, Checked: unit == u.value})
	}
	return in
}

// sizeUnits are the units of the largest file. They are binary (IEC),
// like every size the dashboard and the upload page show
// (links.FormatBytes), so that a cap of 2 GiB reads back as "2 GiB".
var sizeUnits = []struct {
	value string
	bytes float64
}{
	{"MiB", 1 << 20},
	{"GiB", 1 << 30},
}

// parseSize reads a size such as "1.5" "GiB". It returns the bytes, or a
// message for the person.
func parseSize(value, unit string) (int64, string) {
	v, err := strconv.ParseFloat(strings.ReplaceAll(value, ",", "."), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return 0, "Enter the largest size as a positive number, such as 2 or 1.5, or leave it empty for no limit."
	}
	for _, u := range sizeUnits {
		if unit == u.value {
			b := math.Round(v * u.bytes)
			if b >= 1<<62 {
				return 0, "That size is too large: leave it empty for no limit."
			}
			return int64(b), ""
		}
	}
	return 0, "Choose MiB or GiB for the largest size."
}

// linkForm builds the form's view model from the values sent.
func linkForm(v linkFormValues) templates.LinkForm {
	f := templates.LinkForm{
		Label: v.label, Message: v.message,
		Expiry:       expiryInput(v.expiry, v.expiryValue, v.expiryUnit),
		UploadsN:     v.uploadsN,
		MaxSize:      v.size,
		EmbedOrigins: v.embedOrigins,
		AskName:      v.askName,
		EmailReceipt: v.emailReceipt,
	}
	for _, c := range [][2]string{{"one", "One-time"}, {"n", "Up to"}, {"unlimited", "Unlimited"}} {
		f.Uploads = append(f.Uploads, templates.Choice{Value: c[0], Label: c[1], Checked: v.uploads == c[0]})
	}
	unit := v.sizeUnit
	if unit == "" {
		unit = "GiB"
	}
	for _, u := range sizeUnits {
		f.MaxSizeUnits = append(f.MaxSizeUnits, templates.Choice{Value: u.value, Label: u.value, Checked: unit == u.value})
	}
	for _, c := range [][2]string{{"video", "Any video file"}, {"any", "Any file"}, {"formats", "Only these formats:"}} {
		f.Types = append(f.Types, templates.Choice{Value: c[0], Label: c[1], Checked: v.types == c[0]})
	}
	for _, vf := range sniff.VideoFormats() {
		checked := false
		for _, name := range v.formats {
			checked = checked || name == vf.Name
		}
		f.Formats = append(f.Formats, templates.Choice{Value: vf.Name, Label: vf.Label, Checked: checked})
	}
	return f
}

// handleLinkQR handles "GET /admin/links/:id/qr.svg": the link's URL as a
// QR code.
func (s *Server) handleLinkQR(c echo.Context) error {
	l, err := s.store.FindLink(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	svg, err := qrSVG(s.links.URL(l))
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "image/svg+xml", svg)
}

// qrSVG renders text as a QR code in SVG: one <rect> per run of dark
// modules in a row, with the quiet zone of four modules that go-qrcode's
// bitmap includes. It is black on white whatever the colour scheme, as
// scanners expect.
func qrSVG(text string) ([]byte, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("qr code of %q: %w", text, err)
	}
	bits := q.Bitmap()
	n := len(bits)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges">`, n, n, n*8, n*8)
	b.WriteString(`<title>QR code</title>`)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><g fill="#000">`, n, n)
	for y, row := range bits {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="1"/>`, x, y, run)
			x += run
		}
	}
	b.WriteString(`</g></svg>`)
	return b.Bytes(), nil
}

package web_test

// Tests of personalised links made in bulk: from a typed list or a CSV
// file, all or none, shown as a table and downloaded as CSV.

import (
	"bytes"
	"context"
	"encoding/csv"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/uplink-video/uplink/store"
)

func TestBulkLinksFromAList(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	status, body, loc := a.postForm(t, "/admin/links/bulk", url.Values{
		"label": {"Wedding"}, "message": {"Send us your clips"}, "expiry": {"7d"},
		"recipients":   {"Ann, ann@example.com\n\n\"Doe, Jane\"\n=HYPERLINK(\"http://evil\"), eve@example.com\n"},
		"emailReceipt": {"1"},
	})
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/batches/") {
		t.Fatalf("POST: %d %q\n%s", status, loc, body)
	}
	doc := a.getPage(t, loc)
	rows := testID(doc, "batch-row")
	if rows.Length() != 3 {
		t.Fatalf("rows=%d, want=3", rows.Length())
	}
	var urls []string
	testID(doc, "batch-url").Each(func(_ int, s *goquery.Selection) {
		v, _ := s.Attr("value")
		urls = append(urls, v)
	})
	if got := testID(doc, "batch-name").First().Text(); got != "Ann" {
		t.Errorf("first name=%q, want Ann", got)
	}
	if got := testID(doc, "batch-email").First().Text(); got != "ann@example.com" {
		t.Errorf("first email=%q", got)
	}
	if len(urls) != 3 || urls[0] == urls[1] || !strings.HasPrefix(urls[0], a.URL+"/u/") {
		t.Fatalf("urls=%v, want 3 distinct public URLs", urls)
	}
	// Each link is its own, one-time, labelled with the person's name.
	ctx := context.Background()
	l, err := a.Store.FindLink(ctx, strings.TrimPrefix(urls[1], a.URL+"/u/"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Label != "Wedding: Doe, Jane" || l.MaxUploads != 1 || l.RecipientName != "Doe, Jane" || !l.EmailReceipt || l.Message != "Send us your clips" {
		t.Errorf("link = %+v", l)
	}

	href, _ := testID(doc, "download-csv").Attr("href")
	resp, csvBody := a.getResponse(t, href, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("CSV: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	records, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 4 || strings.Join(records[0], ",") != "name,email,url,expires,link_id" {
		t.Fatalf("CSV records=%v", records)
	}
	if records[1][0] != "Ann" || records[1][2] != urls[0] || records[2][0] != "Doe, Jane" {
		t.Errorf("CSV rows=%v", records[1:])
	}
	if records[3][0] != `'=HYPERLINK("http://evil")` {
		t.Errorf("a formula-like name is %q in the CSV, want it neutralised with an apostrophe", records[3][0])
	}
}

func TestBulkLinksFromACSVFile(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range map[string]string{"_csrf": a.csrfToken(), "label": "", "expiry": "1d", "recipients": "ignored when a file is sent"} {
		_ = w.WriteField(k, v)
	}
	f, _ := w.CreateFormFile("csv", "people.csv")
	f.Write([]byte("\xef\xbb\xbfname;email\r\nBo;bo@example.com\r\nCy;\r\n"))
	w.Close()
	resp := a.do(t, http.MethodPost, "/admin/links/bulk", &body, http.Header{"Content-Type": {w.FormDataContentType()}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/batches/") {
		t.Fatalf("POST multipart: %d\n%s", resp.StatusCode, resp.body)
	}
	list, err := a.Store.FindLinkBatch(context.Background(), strings.TrimPrefix(loc, "/admin/batches/"))
	if err != nil || len(list) != 2 || list[0].Label != "Bo" || list[0].RecipientEmail != "bo@example.com" || list[1].RecipientName != "Cy" {
		t.Fatalf("batch = %+v, %v", list, err)
	}
	if list[0].ExpiresAt == nil {
		t.Error("the links do not expire")
	}
}

// TestBulkLinksRefused: a list with a bad line makes no link at all, and
// the form comes back as it was sent with each line's problem.
func TestBulkLinksRefused(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	for _, tc := range []struct {
		description string
		form        url.Values
		field, want string
	}{
		{"a bad email", url.Values{"expiry": {"7d"}, "recipients": {"Ann, ann@example.com\nBob, bob@"}}, "recipients", "Line 2"},
		{"nobody", url.Values{"expiry": {"7d"}, "recipients": {"  \n"}}, "recipients", "at least one person"},
		{"no expiry", url.Values{"recipients": {"Ann"}}, "ttl", "Choose when"},
		{"a label too long with the name", url.Values{"expiry": {"7d"}, "label": {strings.Repeat("x", 199)}, "recipients": {"Ann"}}, "label", "too long"},
	} {
		status, body, _ := a.postForm(t, "/admin/links/bulk", tc.form)
		if status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status=%d, want=422", tc.description, status)
			continue
		}
		doc := parseHTML(t, body)
		if got := testID(doc, "form-errors").Text(); !strings.Contains(got, tc.want) {
			t.Errorf("%s: errors %q, want %q", tc.description, got, tc.want)
		}
		if got := testID(doc, "bulk-recipients").Text(); !strings.Contains(got, strings.TrimSpace(tc.form.Get("recipients"))) {
			t.Errorf("%s: the list was not kept: %q", tc.description, got)
		}
	}
	if _, total, _ := a.Store.ListLinks(context.Background(), store.Page{Number: 1, Size: 10}); total != 0 {
		t.Errorf("links after refused batches=%d, want 0", total)
	}
	if status, _ := a.get(t, "/admin/batches/nosuchbatch"); status != http.StatusNotFound {
		t.Errorf("unknown batch: %d, want 404", status)
	}
}

// TestLinkEmailReceipt: a single link can email its uploader a receipt,
// and then asks for their email.
func TestLinkEmailReceipt(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	status, body, loc := a.postForm(t, "/admin/links", url.Values{
		"label": {"Receipts"}, "expiry": {"7d"}, "uploads": {"one"}, "types": {"video"}, "emailReceipt": {"1"},
	})
	if status != http.StatusSeeOther {
		t.Fatalf("POST /admin/links: %d\n%s", status, body)
	}
	id := strings.TrimPrefix(strings.Split(loc, "?")[0], "/admin/links/")
	l, err := a.Store.FindLink(context.Background(), id)
	if err != nil || !l.EmailReceipt || !l.AskName {
		t.Fatalf("link = %+v, %v; want a receipt and the uploader's email asked for", l, err)
	}
	if !strings.Contains(a.getPage(t, loc).Text(), "Emails a receipt") {
		t.Error("the link page does not say it emails a receipt")
	}
}

// TestBulkFormTooLarge: the bulk form takes a file of at most 1 MiB with
// its fields; a larger body is refused with 413, and a CSV alone over the
// limit never makes a link.
func TestBulkFormTooLarge(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("_csrf", a.csrfToken())
	_ = w.WriteField("expiry", "7d")
	f, _ := w.CreateFormFile("csv", "people.csv")
	f.Write(bytes.Repeat([]byte("Somebody with a long name, somebody@example.com\n"), (2<<20)/48))
	w.Close()
	resp := a.do(t, http.MethodPost, "/admin/links/bulk", &body, http.Header{"Content-Type": {w.FormDataContentType()}})
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a 2 MiB form: %d, want 413", resp.StatusCode)
	}
	if _, total, _ := a.Store.ListLinks(context.Background(), store.Page{Number: 1, Size: 10}); total != 0 {
		t.Errorf("links=%d, want 0", total)
	}
}

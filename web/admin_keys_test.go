package web_test

// Tests of the dashboard's API access screens: API keys (created once,
// used against the API, revoked) and the list of upload tokens.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/links"
)

// keyRow returns the list row of the key with the given name, as
// "name | hint | last used | status".
func keyRow(doc *goquery.Document, name string) (*goquery.Selection, string) {
	var found *goquery.Selection
	doc.Find(`[data-testid="key-row"]`).Each(func(_ int, s *goquery.Selection) {
		if s.Find(`[data-testid="key-name-cell"]`).Text() == name {
			found = s
		}
	})
	if found == nil {
		return nil, ""
	}
	var cells []string
	for _, f := range []string{"key-name-cell", "key-hint", "key-last-used", "key-status"} {
		cells = append(cells, strings.TrimSpace(found.Find(`[data-testid="`+f+`"]`).Text()))
	}
	return found, strings.Join(cells, " | ")
}

func TestKeyCreateShowsTheSecretOnce(t *testing.T) {
	a := newAdminApp(t)
	doc := a.getPage(t, "/admin/keys")
	if got := strings.Join(strings.Fields(testID(doc, "empty").Text()), " "); !strings.HasPrefix(got, "No API keys yet: create one") {
		t.Errorf("empty state=%q", got)
	}
	if got, want := doc.Find("title").Text(), "API keys · uplink"; got != want {
		t.Errorf("title=%q, want=%q", got, want)
	}

	// POST/redirect/GET: the form redirects to the list, which shows the
	// secret once.
	status, body, loc := a.postForm(t, "/admin/keys", url.Values{"name": {"  CMS sync  "}})
	if status != http.StatusSeeOther || loc != "/admin/keys" {
		t.Fatalf("POST /admin/keys: %d to %q\n%s", status, loc, body)
	}
	doc = a.getPage(t, loc)
	secret, _ := testID(doc, "key-secret").Attr("value")
	if len(secret) < 32 {
		t.Fatalf("secret=%q, want a long key", secret)
	}
	if got := testID(doc, "new-key").Text(); !strings.Contains(got, "you will not see it again") {
		t.Errorf("the new key's box does not warn that it is shown once: %q", got)
	}
	if sel, _ := testID(doc, "copy-key").Attr("data-copy"); sel != "#new-key-secret" || doc.Find(sel).Length() != 1 {
		t.Errorf("the copy button copies %q, want the secret's field", sel)
	}
	if _, row := keyRow(doc, "CMS sync"); row != "CMS sync | "+secret[:6]+"… | Never | active" {
		t.Errorf("new key's row=%q", row)
	}

	// The key works against the API, and its use shows in the list.
	a.Clock.Advance(time.Hour)
	if status := vidAPI(t, a, secret, http.MethodGet, "/videos", nil); status != http.StatusOK {
		t.Fatalf("GET /videos with the new key: %d", status)
	}

	// The secret appears nowhere but on the page right after the form: a
	// reload neither shows it nor makes a second key.
	status, body = a.get(t, "/admin/keys")
	if status != http.StatusOK {
		t.Fatalf("GET /admin/keys: %d", status)
	}
	if strings.Contains(body, secret) || strings.Contains(body, secret[:12]) {
		t.Error("GET /admin/keys shows the secret")
	}
	doc = parseHTML(t, body)
	if testID(doc, "key-secret").Length() != 0 {
		t.Error("GET /admin/keys has a secret field")
	}
	row, text := keyRow(doc, "CMS sync")
	if want := "CMS sync | " + secret[:6] + "… | " + storeEpochPlus(time.Hour) + " | active"; text != want {
		t.Errorf("row after use=%q, want=%q", text, want)
	}

	// Revoking: the key stops working at once.
	revoke := row.Find(`[data-testid="revoke-key"]`).Closest("form")
	if c, _ := revoke.Attr("data-confirm"); c == "" {
		t.Error("the revoke form asks for no confirmation")
	}
	if n := testID(doc, "key-row").Length(); n != 1 {
		t.Errorf("keys after a reload=%d, want 1", n)
	}
	action, _ := revoke.Attr("action")
	status, _, loc = a.postForm(t, action, url.Values{})
	if status != http.StatusSeeOther || loc != "/admin/keys?done=key-revoked" {
		t.Fatalf("revoke: %d to %q", status, loc)
	}
	if status := vidAPI(t, a, secret, http.MethodGet, "/videos", nil); status != http.StatusUnauthorized {
		t.Errorf("GET /videos with the revoked key: %d, want 401", status)
	}
	doc = a.getPage(t, loc)
	if got := testID(doc, "flash").Text(); got != "The API key was revoked." {
		t.Errorf("flash=%q", got)
	}
	row, text = keyRow(doc, "CMS sync")
	if !strings.HasSuffix(text, "| revoked") {
		t.Errorf("row after revoking=%q", text)
	}
	if row.Find(`[data-testid="revoke-key"]`).Length() != 0 {
		t.Error("a revoked key still has a revoke button")
	}
	// A second click changes nothing and does not fail.
	if status, _, loc := a.postForm(t, action, url.Values{}); status != http.StatusSeeOther || loc != "/admin/keys?done=key-revoked" {
		t.Errorf("revoking again: %d to %q", status, loc)
	}
	if status, _, _ := a.postForm(t, "/admin/keys/"+store.NewID(store.PrefixAPIKey)+"/revoke", url.Values{}); status != http.StatusNotFound {
		t.Errorf("revoking an unknown key: %d, want 404", status)
	}
}

// storeEpochPlus is how the dashboard writes the store clock's start plus d.
func storeEpochPlus(d time.Duration) string {
	return time.Date(2024, time.July, 14, 12, 0, 0, 0, time.UTC).Add(d).Format("2 Jan 2006, 15:04 UTC")
}

func TestKeyCreateRefusesBadNames(t *testing.T) {
	a := newAdminApp(t)
	for _, tt := range []struct {
		description string
		name        string
		wantError   string
	}{
		{"empty", "   ", "Give the key a name"},
		{"too long", strings.Repeat("é", 101), "The name is too long"},
		{"control characters", "a\tb", "The name must be plain text"},
	} {
		a.getPage(t, "/admin/keys")
		status, body, _ := a.postForm(t, "/admin/keys", url.Values{"name": {tt.name}})
		if status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status=%d, want=422", tt.description, status)
			continue
		}
		doc := parseHTML(t, body)
		if got := testID(doc, "key-name-error").Text(); !strings.HasPrefix(got, tt.wantError) {
			t.Errorf("%s: error=%q, want it to start with %q", tt.description, got, tt.wantError)
		}
		if v, _ := testID(doc, "key-name").Attr("value"); v != strings.TrimSpace(tt.name) {
			t.Errorf("%s: the field lost what was typed: %q", tt.description, v)
		}
		if inv, _ := testID(doc, "key-name").Attr("aria-invalid"); inv != "true" {
			t.Errorf("%s: the field is not marked invalid", tt.description)
		}
		if testID(doc, "key-secret").Length() != 0 {
			t.Errorf("%s: a secret is shown", tt.description)
		}
	}
	keys, err := a.Store.ListAPIKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("%d keys created, want none", len(keys))
	}
}

func TestKeyPagesEscapeNames(t *testing.T) {
	a := newAdminApp(t)
	a.getPage(t, "/admin/keys")
	status, _, loc := a.postForm(t, "/admin/keys", url.Values{"name": {`<script>alert(1)</script>`}})
	if status != http.StatusSeeOther {
		t.Fatalf("POST: %d", status)
	}
	_, body := a.get(t, loc)
	_, after := a.get(t, "/admin/keys")
	for _, b := range []string{body, after} {
		if strings.Contains(b, "<script>alert") {
			t.Error("the key's name is not escaped")
		}
		if _, row := keyRow(parseHTML(t, b), `<script>alert(1)</script>`); row == "" {
			t.Error("the key's name is not shown as text")
		}
	}
}

// tokenRows returns the token list's rows by token ID, as
// "link | status | expires".
func tokenRows(t *testing.T, a *adminApp, path string) (map[string]string, *goquery.Document) {
	t.Helper()
	doc := a.getPage(t, path)
	rows := map[string]string{}
	doc.Find(`[data-testid="token-row"]`).Each(func(_ int, s *goquery.Selection) {
		id, _ := s.Attr("data-token-id")
		link := strings.TrimSpace(s.Find(`[data-testid="token-link"]`).Text())
		if href, ok := s.Find(`[data-testid="token-link"] a`).Attr("href"); ok {
			link += " <" + href + ">"
		}
		rows[id] = link + " | " + s.Find(`[data-testid="token-status"]`).Text() + " | " +
			strings.TrimSpace(s.Find("td").Eq(4).Text())
	})
	return rows, doc
}

func TestTokenListShowsEveryToken(t *testing.T) {
	a := newAdminApp(t)
	ctx := context.Background()
	_, key, err := a.Store.CreateAPIKey(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	doc := a.getPage(t, "/admin/tokens")
	if testID(doc, "empty").Length() != 1 {
		t.Error("no empty state without tokens")
	}

	// Tokens created through the API: one that expires, one deleted, one
	// that lives forever.
	apiToken := func(ttl int) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, a.URL+"/upload-tokens", strings.NewReader(fmt.Sprintf(`{"ttl":%d}`, ttl)))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(key, "")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Token string `json:"token"`
		}
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
			t.Fatalf("POST /upload-tokens: %d", resp.StatusCode)
		}
		return out.Token
	}
	expiring := apiToken(60)
	deleted := apiToken(0)
	if status := vidAPI(t, a, key, http.MethodDelete, "/upload-tokens/"+deleted, nil); status != http.StatusNoContent {
		t.Fatalf("DELETE /upload-tokens: %d", status)
	}
	forever := apiToken(0)
	l, err := a.Links.Create(ctx, links.Spec{Label: "Site <visit>", TTL: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	a.Clock.Advance(2 * time.Minute)

	rows, doc := tokenRows(t, a, "/admin/tokens")
	// A link has no upload token (issue 10): it is not listed.
	if l.Token != "" {
		t.Errorf("the link has the token %q, want none", l.Token)
	}
	want := map[string]string{
		expiring: "API | expired | " + storeEpochPlus(time.Minute),
		deleted:  "API | deleted | Never",
		forever:  "API | active | Never",
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("rows:\n got=%q\nwant=%q", rows, want)
	}
	if got, want := doc.Find("title").Text(), "Upload tokens · uplink"; got != want {
		t.Errorf("title=%q, want=%q", got, want)
	}
	if got := testID(doc, "token-count").Text(); got != "3 tokens" {
		t.Errorf("count=%q", got)
	}
}

func TestTokenListPages(t *testing.T) {
	a := newAdminApp(t)
	ctx := context.Background()
	var ids []string
	for range 27 {
		tok, err := a.Store.CreateUploadToken(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tok.ID)
		a.Clock.Advance(time.Second)
	}
	rows, doc := tokenRows(t, a, "/admin/tokens")
	if len(rows) != 25 {
		t.Errorf("page 1: %d rows, want 25", len(rows))
	}
	if _, ok := rows[ids[26]]; !ok {
		t.Error("page 1 does not start with the newest token")
	}
	next, _ := testID(doc, "next-page").Attr("href")
	if next != "/admin/tokens?page=2" {
		t.Fatalf("next page=%q", next)
	}
	rows, _ = tokenRows(t, a, next)
	_, has0 := rows[ids[0]]
	_, has1 := rows[ids[1]]
	if len(rows) != 2 || !has0 || !has1 {
		t.Errorf("page 2: %v, want the two oldest tokens", rows)
	}
	if resp, _ := a.getResponse(t, "/admin/tokens?page=5", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/tokens?page=2" {
		t.Errorf("page past the end: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

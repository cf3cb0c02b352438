package web_test

// Embed origins end up in the embed's Content-Security-Policy (issue 10,
// item 9): the dashboard stores them in canonical form, and whatever the
// database holds, the header never gets a ";" or "," from them.

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
	"github.com/uplink-video/uplink/web/links"
)

// TestLinkFormStoresCanonicalOrigins: the mint form refuses an injected
// origin with the parser's reason next to the field, and stores good ones
// in lower case without the default port, as browsers compare them.
func TestLinkFormStoresCanonicalOrigins(t *testing.T) {
	t.Parallel()
	a := newAdminApp(t)
	a.getPage(t, "/admin/links/new")

	f := mintForm()
	f.Set("embedOrigins", "https://a.example\nhttps://b.example;script-src *\n")
	status, body, _ := a.postForm(t, "/admin/links", f)
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("an injected origin: status=%d, want 422", status)
	}
	doc := parseHTML(t, body)
	msg := strings.TrimSpace(doc.Find("#link-embed-origins-error").Text())
	if !strings.Contains(msg, `"b.example;script-src *" is not a host name`) {
		t.Errorf("the field's error is %q, want it to name the bad host", msg)
	}
	if got := doc.Find("#link-embed-origins").Text(); !strings.Contains(got, "script-src") {
		t.Errorf("the form lost what was typed: %q", got)
	}
	if ls, n, err := a.Store.ListLinks(context.Background(), store.Page{Number: 1, Size: 100}); err != nil || n != 0 {
		t.Fatalf("links after a refused form: %d (%v), want 0", len(ls), err)
	}

	f.Set("embedOrigins", " HTTPS://Shop.Example:443/ \nhttp://[2001:DB8::1]:8080\n*")
	status, body, loc := a.postForm(t, "/admin/links", f)
	if status != http.StatusSeeOther {
		t.Fatalf("good origins: status=%d, want 303\n%s", status, body)
	}
	id := strings.TrimPrefix(strings.Split(loc, "?")[0], "/admin/links/")
	l, err := a.Store.FindLink(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://shop.example", "http://[2001:db8::1]:8080", "*"}; !slices.Equal(l.EmbedOrigins, want) {
		t.Errorf("stored origins %q, want %q", l.EmbedOrigins, want)
	}
}

// TestEmbedSkipsTamperedOrigins plants origins in the database that the
// dashboard would refuse: the embed's frame-ancestors lists only those
// that parse, in canonical form; the header has exactly one policy with
// the usual directives; and the uploader script is given the same list.
// A link left with no good origin cannot be embedded.
func TestEmbedSkipsTamperedOrigins(t *testing.T) {
	t.Parallel()
	a := newAnonymousApp(t)
	ok := seedLink(t, a, links.Spec{EmbedOrigins: []string{"https://a.example"}})
	bad := seedLink(t, a, links.Spec{EmbedOrigins: []string{"https://a.example"}})
	db := storetest.RawDB(t, a.DSN)
	tampered := []string{
		"https://a.example;script-src *",
		"https://b.example, https://evil.example",
		"https://c.example 'unsafe-inline'",
		`https://d.example"`,
		"https://*.example",
		"HTTPS://Kept.Example:443/",
		"https://kept.example",
		"https://e.example\tscript-src",
	}
	for _, r := range []struct {
		id      string
		origins []string
	}{
		{ok.ID, tampered},
		{bad.ID, tampered[:5]},
	} {
		if _, err := db.Exec(`UPDATE links SET embed_origins = $1 WHERE id = $2`, strings.Join(r.origins, "\n"), r.id); err != nil {
			t.Fatal(err)
		}
	}

	resp, body := call(t, newClient(t), http.MethodGet, a.URL+"/embed/"+ok.ID, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /embed/{id}: %d, want 200", resp.StatusCode)
	}
	policy := resp.Header.Values("Content-Security-Policy")
	if len(policy) != 1 || strings.Contains(policy[0], ",") {
		t.Fatalf("Content-Security-Policy %q, want one policy", policy)
	}
	directives := parseCSP(policy[0])
	if got, want := directives["frame-ancestors"], []string{"https://kept.example"}; !slices.Equal(got, want) {
		t.Errorf("frame-ancestors %q, want %q", got, want)
	}
	if got := strings.Count(policy[0], ";"); got != 8 {
		t.Errorf("the policy has %d directives, want the usual 9: %s", got+1, policy[0])
	}
	if got := directives["script-src"]; len(got) != 1 || !strings.HasPrefix(got[0], "'nonce-") {
		t.Errorf("script-src %q, want only the nonce", got)
	}
	raw, _ := parseHTML(t, body).Find("[data-embed-origins]").Attr("data-embed-origins")
	var given []string
	if err := json.Unmarshal([]byte(raw), &given); err != nil || !slices.Equal(given, []string{"https://kept.example"}) {
		t.Errorf("the uploader script is given %q (%v), want only the good origin", raw, err)
	}

	resp, _ = call(t, newClient(t), http.MethodGet, a.URL+"/embed/"+bad.ID, nil, nil)
	fa := parseCSP(resp.Header.Get("Content-Security-Policy"))["frame-ancestors"]
	if resp.StatusCode != http.StatusForbidden || !slices.Equal(fa, []string{"'none'"}) {
		t.Errorf("an embed with no good origin: %d, frame-ancestors %q; want 403 and 'none'", resp.StatusCode, fa)
	}
}

package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestTokenCreateAndRevoke creates an upload token on the tokens page with
// a lifetime from its menu, then revokes it there: the list shows it first
// with its lifetime, then as deleted, and the store agrees. An unknown
// token is not found; a lifetime off the menu is refused next to the
// menu.
func TestTokenCreateAndRevoke(t *testing.T) {
	a := newAdminApp(t)
	ctx := context.Background()

	status, _, loc := a.postForm(t, "/admin/tokens", url.Values{"ttl": {"3600"}})
	if status != http.StatusSeeOther || loc != "/admin/tokens?done=token-created" {
		t.Fatalf("create a token: %d to %q", status, loc)
	}
	doc := a.getPage(t, loc)
	first := testID(doc, "token-row").First()
	id := first.AttrOr("data-token-id", "")
	tok, err := a.Store.FindUploadToken(ctx, id)
	if err != nil || tok.TTL != 3600 {
		t.Fatalf("the first row's token %q: %+v %v, want a token of 3600 s", id, tok, err)
	}
	if got := strings.TrimSpace(first.Find("td.optional").First().Text()); got != "1 hour" {
		t.Errorf("the new token's TTL shows as %q", got)
	}
	revoke := first.Find(`[data-testid="revoke-token"]`).Closest("form").AttrOr("action", "")
	if revoke == "" {
		t.Fatal("the new token has no Revoke button")
	}
	status, _, loc = a.postForm(t, revoke, nil)
	if status != http.StatusSeeOther || loc != "/admin/tokens?done=token-revoked" {
		t.Fatalf("revoke: %d to %q", status, loc)
	}
	doc = a.getPage(t, loc)
	if got := testID(doc, "token-row").First().Find(`[data-testid="token-status"]`).Text(); got != "deleted" {
		t.Errorf("the revoked token's status=%q, want deleted", got)
	}
	if tok, _ := a.Store.FindUploadToken(ctx, id); !tok.Deleted() {
		t.Error("the store still has the token active")
	}
	if status, _, _ := a.postForm(t, "/admin/tokens/to"+strings.Repeat("A", 22)+"/revoke", nil); status != http.StatusNotFound {
		t.Errorf("revoke an unknown token: %d, want 404", status)
	}
	status, body, _ := a.postForm(t, "/admin/tokens", url.Values{"ttl": {"5"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(testID(parseHTML(t, body), "token-ttl-error").Text(), "Choose how long") {
		t.Errorf("a lifetime off the menu: %d", status)
	}
}

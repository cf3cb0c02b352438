package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/links"
)

// linkStateOf is GET /u/{id}/state as the uploader page reads it.
type linkStateOf struct {
	State      string `json:"state"`
	Remaining  int    `json:"remaining"`
	MaxUploads int    `json:"maxUploads"`
	Title      string `json:"title"`
	Detail     string `json:"detail"`
}

func getLinkState(t *testing.T, a *adminApp, id string) (int, linkStateOf, http.Header) {
	t.Helper()
	resp, body := call(t, newClient(t), http.MethodGet, a.URL+"/u/"+id+"/state", nil, nil)
	var st linkStateOf
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("GET /u/%s/state: %v in %q", id, err, body)
	}
	return resp.StatusCode, st, resp.Header
}

// TestLinkStateFollowsTheLink checks what the open page learns about its
// link as uploads start and finish elsewhere: the uploads left, then why
// the link is closed once it is used up, expired or revoked. A link that
// does not exist is the uploader's usual problem, and asking records no
// visit.
func TestLinkStateFollowsTheLink(t *testing.T) {
	a := newAnonymousApp(t)
	ctx := context.Background()
	l, err := a.Links.Create(ctx, links.Spec{Label: "Two files", MaxUploads: 2, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, want linkStateOf) {
		t.Helper()
		status, got, h := getLinkState(t, a, l.ID)
		if status != http.StatusOK {
			t.Errorf("%s: status=%d, want=200", what, status)
		}
		if got.State != want.State || got.Remaining != want.Remaining || got.MaxUploads != want.MaxUploads || got.Title != want.Title {
			t.Errorf("%s: state=%+v, want=%+v", what, got, want)
		}
		if got, want := h.Get("Cache-Control"), "no-store"; got != want {
			t.Errorf("%s: Cache-Control=%q, want=%q", what, got, want)
		}
	}
	check("a new link", linkStateOf{State: "open", Remaining: 2, MaxUploads: 2})

	data := videoBytes(t, 6<<20)
	upload := func(name string) {
		t.Helper()
		u, _, err := a.Links.Start(ctx, l.ID, links.StartRequest{Filename: name, Size: int64(len(data)), LastModified: 1700000000000})
		if err != nil {
			t.Fatal(err)
		}
		check("with one upload in progress", linkStateOf{State: "open", Remaining: 1 - a.completed(t, l.ID), MaxUploads: 2})
		for n := 1; n <= u.TotalParts; n++ {
			from := int64(n-1) * u.ChunkSize
			part := data[from:min(from+u.ChunkSize, int64(len(data)))]
			if _, err := a.Links.PutPart(ctx, l.ID, u.VideoID, n, int64(len(part)), bytes.NewReader(part)); err != nil {
				t.Fatalf("part %d: %v", n, err)
			}
		}
	}
	upload("one.mp4")
	check("with one upload done", linkStateOf{State: "open", Remaining: 1, MaxUploads: 2})
	upload("two.mp4")
	check("used up", linkStateOf{State: links.CodeLinkUsedUp, Remaining: 0, MaxUploads: 2, Title: "This link has been used."})

	visits, err := a.Store.ListLinkEvents(ctx, l.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range visits {
		if e.Kind == store.EventOpened {
			t.Errorf("asking for the link's state recorded a visit: %+v", e)
		}
	}

	a.Clock.Advance(2 * time.Hour)
	check("expired", linkStateOf{State: links.CodeLinkExpired, Remaining: 0, MaxUploads: 2, Title: "This link has expired."})
	if _, err := a.Links.Revoke(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	check("revoked", linkStateOf{State: links.CodeLinkRevoked, Remaining: 0, MaxUploads: 2, Title: "This link was revoked."})

	unlimited, err := a.Links.Create(ctx, links.Spec{Label: "Any number"})
	if err != nil {
		t.Fatal(err)
	}
	if _, got, _ := getLinkState(t, a, unlimited.ID); got.State != "open" || got.Remaining != -1 || got.MaxUploads != 0 {
		t.Errorf("unlimited link: state=%+v, want open, remaining -1, maxUploads 0", got)
	}

	resp, body := call(t, newClient(t), http.MethodGet, a.URL+"/u/AbCdEfGhIjKlMnOpQrStUv/state", nil, nil)
	if p := problemOf(t, resp, body); resp.StatusCode != http.StatusNotFound || p["code"] != links.CodeLinkNotFound {
		t.Errorf("unknown link: %d %v, want 404 %s", resp.StatusCode, p, links.CodeLinkNotFound)
	}
}

// completed counts the link's completed uploads.
func (a *adminApp) completed(t *testing.T, linkID string) int {
	t.Helper()
	l, err := a.Store.FindLink(context.Background(), linkID)
	if err != nil {
		t.Fatal(err)
	}
	return l.Completed
}

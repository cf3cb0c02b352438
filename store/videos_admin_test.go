package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
)

// adminVideos is a store holding three videos, a minute apart: one never
// uploaded, one uploading through a link, and one uploaded through the API.
type adminVideos struct {
	st                     *store.Store
	empty, viaLink, direct store.Video
	link                   store.Link
}

func newAdminVideos(t *testing.T) adminVideos {
	t.Helper()
	ctx := context.Background()
	clk := storetest.NewClock()
	st := storetest.OpenWithClock(t, clk)
	var a adminVideos
	a.st = st

	var err error
	if a.empty, err = st.CreateVideo(ctx, store.VideoCreate{Title: "50%_off promo"}); err != nil {
		t.Fatalf("CreateVideo: %v", err)
	}

	clk.Advance(time.Minute)
	tok, err := st.CreateUploadToken(ctx, 0)
	if err != nil {
		t.Fatalf("CreateUploadToken: %v", err)
	}
	if a.link, err = st.CreateLink(ctx, store.LinkCreate{Label: "Wedding <guests>"}); err != nil {
		t.Fatalf("CreateLink: %v", err)
	}
	lu := store.LinkUpload{
		ID: store.RandomString(22), LinkID: a.link.ID, Filename: "speech.mp4", Size: 200,
		ChunkSize: 200, TotalParts: 1, HashState: []byte{0},
		UploaderName: "Ada", UploaderEmail: "ada@example.com", LeaseExpiresAt: clk.Now().Add(time.Hour),
	}
	if err := st.ReserveLinkUpload(ctx, lu); err != nil {
		t.Fatalf("ReserveLinkUpload: %v", err)
	}
	if a.viaLink, err = st.CreateVideo(ctx, store.VideoCreate{Title: "Speech"}); err != nil {
		t.Fatalf("CreateVideo: %v", err)
	}
	if err := st.ActivateLinkUpload(ctx, lu.ID, a.viaLink.ID, "", clk.Now().Add(time.Hour)); err != nil {
		t.Fatalf("ActivateLinkUpload: %v", err)
	}
	u := store.Upload{
		VideoID: a.viaLink.ID, Mode: store.ModeBytes, Status: store.UploadUploading,
		SourceKey: "SRC" + a.viaLink.ID, MultipartID: "MP" + a.viaLink.ID, SourceSize: 50, ReceivedParts: 1, Filename: "speech.mp4",
		StartedAt: clk.Now(), UpdatedAt: clk.Now(), LeaseExpiresAt: clk.Now().Add(time.Hour),
	}
	if err := st.StartUpload(ctx, store.NewUpload{Upload: u, First: &store.Part{Seq: 0, Number: 1, Size: 50, ReceivedAt: clk.Now()}}); err != nil {
		t.Fatalf("StartUpload: %v", err)
	}

	clk.Advance(time.Minute)
	now := clk.Now()
	direct := store.Upload{
		VideoID: store.NewID(store.PrefixVideo), TokenID: tok.ID, Mode: store.ModeSingle, Status: store.UploadUploaded,
		SourceKey: "SRCDIRECT", SourceSize: 1000, ReceivedParts: 1, TotalBytes: 1000, Filename: "direct.webm",
		StartedAt: now, UpdatedAt: now, LeaseExpiresAt: now.Add(time.Hour), CompletedAt: &now,
	}
	err = st.StartUpload(ctx, store.NewUpload{
		Upload: direct, First: &store.Part{Seq: 1, Number: 1, Size: 1000, ReceivedAt: clk.Now()},
		Video: &store.VideoCreate{Title: "direct.webm", Tags: []string{"raw"}},
	})
	if err != nil {
		t.Fatalf("StartUpload: %v", err)
	}
	if a.direct, err = st.FindVideo(ctx, direct.VideoID); err != nil {
		t.Fatalf("FindVideo: %v", err)
	}
	return a
}

func TestFindVideoRows(t *testing.T) {
	a := newAdminVideos(t)
	rows, total, err := a.st.FindVideoRows(context.Background(), store.VideoRowFilter{Page: store.Page{Number: 1, Size: 10}})
	if err != nil {
		t.Fatalf("FindVideoRows: %v", err)
	}
	if got, want := total, 3; got != want {
		t.Fatalf("total=%d, want=%d", got, want)
	}
	if got, want := fmt.Sprint(len(rows)), "3"; got != want {
		t.Fatalf("rows=%s, want=%s", got, want)
	}
	direct, viaLink, empty := rows[0], rows[1], rows[2]
	pct := func(r store.VideoRow) string {
		p, ok := r.Percent()
		return fmt.Sprint(p, ok)
	}
	for _, tt := range []struct {
		description string
		got, want   any
	}{
		{"newest first", direct.Video.ID + " " + viaLink.Video.ID + " " + empty.Video.ID,
			a.direct.ID + " " + a.viaLink.ID + " " + a.empty.ID},
		{"direct: status", direct.Video.UploadStatus, store.UploadUploaded},
		{"direct: size", direct.Video.SourceSize, int64(1000)},
		{"direct: filename", direct.Filename, "direct.webm"},
		{"direct: tags loaded", fmt.Sprint(direct.Video.Tags), "[raw]"},
		{"direct: no link", direct.LinkID + direct.LinkLabel + direct.UploaderName, ""},
		{"direct: percent", pct(direct), "100 true"},
		{"via link: status", viaLink.Video.UploadStatus, store.UploadUploading},
		{"via link: link", viaLink.LinkID, a.link.ID},
		{"via link: label", viaLink.LinkLabel, "Wedding <guests>"},
		{"via link: uploader", viaLink.UploaderName + " " + viaLink.UploaderEmail, "Ada ada@example.com"},
		{"via link: expected size from the link upload", viaLink.ExpectedSize, int64(200)},
		{"via link: percent", pct(viaLink), "25 true"},
		{"empty: no upload", empty.Video.UploadStatus + empty.Filename, ""},
		{"empty: percent unknown", pct(empty), "0 false"},
	} {
		if fmt.Sprint(tt.got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: got=%v, want=%v", tt.description, tt.got, tt.want)
		}
	}
}

func TestFindVideoRowsSearchAndPages(t *testing.T) {
	a := newAdminVideos(t)
	ctx := context.Background()
	for _, tt := range []struct {
		description string
		filter      store.VideoRowFilter
		wantIDs     []string
		wantTotal   int
	}{
		{"title substring, any case", store.VideoRowFilter{Query: "SPEE", Page: store.Page{Number: 1, Size: 10}}, []string{a.viaLink.ID}, 1},
		{"% and _ are literal", store.VideoRowFilter{Query: "50%_", Page: store.Page{Number: 1, Size: 10}}, []string{a.empty.ID}, 1},
		{"% alone matches only a literal %", store.VideoRowFilter{Query: "%", Page: store.Page{Number: 1, Size: 10}}, []string{a.empty.ID}, 1},
		{"no match", store.VideoRowFilter{Query: "nothing", Page: store.Page{Number: 1, Size: 10}}, nil, 0},
		{"first page", store.VideoRowFilter{Page: store.Page{Number: 1, Size: 2}}, []string{a.direct.ID, a.viaLink.ID}, 3},
		{"second page", store.VideoRowFilter{Page: store.Page{Number: 2, Size: 2}}, []string{a.empty.ID}, 3},
		{"past the end", store.VideoRowFilter{Page: store.Page{Number: 3, Size: 2}}, nil, 3},
	} {
		rows, total, err := a.st.FindVideoRows(ctx, tt.filter)
		if err != nil {
			t.Fatalf("%s: FindVideoRows: %v", tt.description, err)
		}
		var ids []string
		for _, r := range rows {
			ids = append(ids, r.Video.ID)
		}
		if got, want := fmt.Sprint(ids), fmt.Sprint(tt.wantIDs); got != want {
			t.Errorf("%s: ids=%s, want=%s", tt.description, got, want)
		}
		if got, want := total, tt.wantTotal; got != want {
			t.Errorf("%s: total=%d, want=%d", tt.description, got, want)
		}
	}
}

func TestFindVideoRow(t *testing.T) {
	a := newAdminVideos(t)
	ctx := context.Background()
	r, err := a.st.FindVideoRow(ctx, a.viaLink.ID)
	if err != nil {
		t.Fatalf("FindVideoRow: %v", err)
	}
	if got, want := r.LinkLabel+"/"+r.Filename, "Wedding <guests>/speech.mp4"; got != want {
		t.Errorf("label/filename=%q, want=%q", got, want)
	}
	if _, err := a.st.FindVideoRow(ctx, store.NewID(store.PrefixVideo)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown video: err=%v, want ErrNotFound", err)
	}
}

func TestVideoRowPercent(t *testing.T) {
	for _, tt := range []struct {
		description string
		row         store.VideoRow
		want        string
	}{
		{"uploaded", store.VideoRow{Video: store.Video{UploadStatus: store.UploadUploaded, SourceSize: 3}}, "100 true"},
		{"by bytes", store.VideoRow{Video: store.Video{UploadStatus: store.UploadUploading, SourceSize: 1}, ExpectedSize: 3}, "33 true"},
		{"never above 100", store.VideoRow{Video: store.Video{UploadStatus: store.UploadUploading, SourceSize: 9}, ExpectedSize: 3}, "100 true"},
		{"by parts", store.VideoRow{Video: store.Video{UploadStatus: store.UploadUploading}, TotalParts: 4, ReceivedParts: 1}, "25 true"},
		{"unknown", store.VideoRow{Video: store.Video{UploadStatus: store.UploadUploading, SourceSize: 9}}, "0 false"},
	} {
		p, ok := tt.row.Percent()
		if got := fmt.Sprint(p, ok); got != tt.want {
			t.Errorf("%s: got=%s, want=%s", tt.description, got, tt.want)
		}
	}
}

package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/storetest"
)

func TestFindTokenRows(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock()
	st := storetest.OpenWithClock(t, clk)
	mk := func(ttl int) store.UploadToken {
		t.Helper()
		clk.Advance(time.Second)
		tok, err := st.CreateUploadToken(ctx, ttl)
		if err != nil {
			t.Fatalf("CreateUploadToken: %v", err)
		}
		return tok
	}
	expired, deleted, linked, forever := mk(60), mk(0), mk(3600), mk(0)
	if err := st.DeleteUploadToken(ctx, deleted.ID); err != nil {
		t.Fatalf("DeleteUploadToken: %v", err)
	}
	l, err := st.CreateLink(ctx, store.LinkCreate{Token: linked.ID, Label: "Site visit"})
	if err != nil {
		t.Fatalf("CreateLink: %v", err)
	}
	u := store.Upload{
		VideoID: store.NewID(store.PrefixVideo), TokenID: forever.ID, Mode: store.ModeSingle, Status: store.UploadUploading,
		SourceKey: "SOURCEX", MultipartID: "MPX", Filename: "x.mp4", StartedAt: clk.Now(), UpdatedAt: clk.Now(), LeaseExpiresAt: clk.Now().Add(time.Hour),
	}
	if err := st.StartUpload(ctx, store.NewUpload{Upload: u, First: &store.Part{Seq: 1, Number: 1, ReceivedAt: clk.Now()}, Video: &store.VideoCreate{Title: "x"}}); err != nil {
		t.Fatalf("StartUpload: %v", err)
	}
	clk.Advance(2 * time.Minute)

	rows, total, err := st.FindTokenRows(ctx, store.TokenRowFilter{Page: store.Page{Number: 1, Size: 10}})
	if err != nil {
		t.Fatalf("FindTokenRows: %v", err)
	}
	if got, want := total, 4; got != want {
		t.Errorf("total=%d, want=%d (deleted and expired tokens included)", got, want)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s link=%q label=%q uploads=%d deleted=%v expired=%v",
			r.Token.ID, r.LinkID, r.LinkLabel, r.Uploads, r.Token.Deleted(), r.Token.Expired(clk.Now())))
	}
	want := []string{
		fmt.Sprintf("%s link=%q label=%q uploads=1 deleted=false expired=false", forever.ID, "", ""),
		fmt.Sprintf("%s link=%q label=%q uploads=0 deleted=false expired=false", linked.ID, l.ID, "Site visit"),
		fmt.Sprintf("%s link=%q label=%q uploads=0 deleted=true expired=false", deleted.ID, "", ""),
		fmt.Sprintf("%s link=%q label=%q uploads=0 deleted=false expired=true", expired.ID, "", ""),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows, newest first:\n got=%q\nwant=%q", got, want)
	}

	rows, total, err = st.FindTokenRows(ctx, store.TokenRowFilter{Page: store.Page{Number: 2, Size: 3}})
	if err != nil {
		t.Fatalf("FindTokenRows page 2: %v", err)
	}
	if len(rows) != 1 || rows[0].Token.ID != expired.ID || total != 4 {
		t.Errorf("page 2: %d rows (total %d), want the oldest token alone (total 4)", len(rows), total)
	}
}

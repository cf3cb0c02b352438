package api_test

// Benchmarks of the token upload endpoint's hot path (issue 6). They run
// only with -bench:
//
//	go test -run '^$' -bench . -benchmem ./web/api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web/webtest"
)

// BenchmarkUploadPart sends in-order 16 MiB parts of one upload to the
// real application handler, in process: multipart parsing, streaming the
// file part to a real blob directory (fsync included), and the commit in
// a real SQLite file. Parts carry "Content-Range: part n/*" and, from
// part 2 on, the videoId before the file, as the browser uploader does.
func BenchmarkUploadPart(b *testing.B) {
	const size = 16 << 20
	ctx := context.Background()
	w := webtest.Start(b)
	h, st := w.Echo, w.Store
	tok, err := st.CreateUploadToken(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	data := randomData(3, size)
	videoID, part := "", 1
	b.SetBytes(size)
	for b.Loop() {
		if part == ingest.MaxParts {
			videoID, part = "", 1
		}
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		if videoID != "" {
			mw.WriteField("videoId", videoID)
		}
		mw.CreateFormFile("file", "bench.bin")
		head := bytes.Clone(buf.Bytes())
		buf.Reset()
		mw.Close()
		body := io.MultiReader(bytes.NewReader(head), bytes.NewReader(data), &buf)
		req := httptest.NewRequest("POST", "/upload?token="+tok.ID, body)
		req.ContentLength = int64(len(head) + size + buf.Len())
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Content-Range", "part "+strconv.Itoa(part)+"/*")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("part %d: status %d: %s", part, rec.Code, rec.Body)
		}
		var v struct {
			VideoID string `json:"videoId"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			b.Fatal(err)
		}
		videoID = v.VideoID
		part++
	}
}

package api_test

// Helpers for the request/response specs of the API. Every test starts the
// real application with webtest.Start (SQLite in t.TempDir(), blobs on
// disk, the ingest service, the Echo app behind a real HTTP server), and
// talks to it with real requests. Time comes from a clock the test moves
// by hand.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/blob"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/store/storetest"
	"github.com/uplink-video/uplink/web/webtest"
)

const (
	mib = 1 << 20
	// partSize is the smallest part the protocol allows except for the
	// last one; tests use it to keep uploads small.
	partSize = ingest.MinPartSize
	// docsBase is where api.video documents its problem types.
	docsBase = "https://docs.api.video/reference/"
)

// t0 is the time every test starts at.
var t0 = time.Date(2024, 5, 28, 11, 15, 7, 0, time.UTC)

// atomT0 is t0 as the API writes dates.
const atomT0 = "2024-05-28T11:15:07+00:00"

// atom formats a time the way the API is expected to.
func atom(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") + "+00:00" }

// app is one running instance of uplink for one test.
type app struct {
	url      string
	clock    *storetest.Clock
	store    *store.Store
	blobRoot string
	blobs    *blob.Dir // The blobs under blobRoot, as the app writes them.
	// key is a managed API key's secret.
	key string

	mu   sync.Mutex
	cond *sync.Cond    // Signalled when a request finishes.
	seen []http.Header // Request headers as the server received them.
	done int           // Requests the server has finished handling.
}

// newApp starts uplink with webtest.Start, its clock at t0 and the upload
// service's default lease (ingest.DefaultLease), which opts may change;
// creates a managed API key; and records the headers of every request the
// server receives.
func newApp(t *testing.T, opts ...webtest.Option) *app {
	t.Helper()
	a := &app{}
	a.cond = sync.NewCond(&a.mu)
	record := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.mu.Lock()
			a.seen = append(a.seen, r.Header.Clone())
			a.mu.Unlock()
			defer func() {
				a.mu.Lock()
				a.done++
				a.cond.Broadcast()
				a.mu.Unlock()
			}()
			h.ServeHTTP(w, r)
		})
	}
	defaults := []webtest.Option{webtest.WithClockAt(t0), webtest.WithLease(ingest.DefaultLease), webtest.WithHandler(record)}
	w := webtest.Start(t, append(defaults, opts...)...)
	_, key, err := w.Store.CreateAPIKey(context.Background(), "tests")
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	a.url, a.clock, a.store, a.blobRoot, a.blobs, a.key = w.URL, w.Clock, w.Store, w.BlobDir, w.Blobs, key
	return a
}

// requests returns how many requests the server has received.
func (a *app) requests() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.seen)
}

// waitIdle waits until the server has received more than n requests and
// finished handling every one it received: for requests whose client went
// away before the answer.
func (a *app) waitIdle(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for len(a.seen) <= n || a.done < len(a.seen) {
		a.cond.Wait()
	}
}

// lastHeaders returns the headers of the last request the server received.
func (a *app) lastHeaders() http.Header {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seen[len(a.seen)-1]
}

// basic is the Authorization header value for the app's API key.
func (a *app) basic() string { return basicAuth(a.key) }

func basicAuth(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

// response is a response with its body read.
type response struct {
	Code   int
	Header http.Header
	Body   []byte
}

// httpTest describes one request and what its response must be, in the
// shape of tusd's handler tests. Zero-valued expectations are not checked.
type httpTest struct {
	Method    string
	URL       string // Path and query, relative to the server.
	ReqHeader map[string]string
	ReqBody   string

	Code int
	// ResHeader values must match exactly; "" means the header must be
	// absent.
	ResHeader map[string]string
	// ResBody, if set, must be the exact body.
	ResBody string
}

// Run sends the request and checks the response.
func (h httpTest) Run(t *testing.T, a *app) *response {
	t.Helper()
	var body io.Reader
	if h.ReqBody != "" {
		body = strings.NewReader(h.ReqBody)
	}
	req, err := http.NewRequest(h.Method, a.url+h.URL, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h.ReqHeader {
		req.Header[textproto.CanonicalMIMEHeaderKey(k)] = []string{v}
	}
	res := send(t, req)
	if h.Code != 0 && res.Code != h.Code {
		t.Errorf("%s %s: status=%d, want=%d; body: %s", h.Method, h.URL, res.Code, h.Code, clip(res.Body))
	}
	for k, want := range h.ResHeader {
		got, present := res.Header[textproto.CanonicalMIMEHeaderKey(k)]
		switch {
		case want == "" && present:
			t.Errorf("%s %s: header %s=%q, want it absent", h.Method, h.URL, k, got)
		case want != "" && (len(got) != 1 || got[0] != want):
			t.Errorf("%s %s: header %s=%q, want=%q", h.Method, h.URL, k, got, want)
		}
	}
	if h.ResBody != "" && string(res.Body) != h.ResBody {
		t.Errorf("%s %s: body=%s, want=%s", h.Method, h.URL, clip(res.Body), h.ResBody)
	}
	return res
}

func send(t *testing.T, req *http.Request) *response {
	t.Helper()
	r, err := roundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return r
}

// roundTrip sends a request and reads the whole response; unlike send it
// may be called from any goroutine.
func roundTrip(req *http.Request) (*response, error) {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	return &response{Code: res.StatusCode, Header: res.Header, Body: b}, nil
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// do sends a management request with the app's API key (Basic) and an
// optional JSON body.
func (a *app) do(t *testing.T, method, path, body string) *response {
	t.Helper()
	return httpTest{
		Method:    method,
		URL:       path,
		ReqHeader: map[string]string{"Authorization": a.basic(), "Content-Type": "application/json"},
		ReqBody:   body,
	}.Run(t, a)
}

// decode decodes a JSON body into v.
func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", clip(r.Body), err)
	}
}

// problem is an API error body.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Name   string `json:"name"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// ownCodes are uplink's own problem codes, whose type URLs point at
// uplink itself rather than at api.video's documentation.
var ownCodes = map[string]bool{
	"upload-video-id-required": true,
	"upload-abandoned":         true,
	"insufficient-storage":     true,
	"request-body-too-large":   true,
	"internal-server-error":    true,
	"upload-part-in-flight":    true,
	"upload-send-again":        true,
	"upload-too-many-parts":    true,
}

// wantProblem checks that r is a problem document with the given status,
// code (the last segment of its type) and name.
func (a *app) wantProblem(t *testing.T, r *response, status int, code, name string) problem {
	t.Helper()
	if r.Code != status {
		t.Errorf("status=%d, want=%d; body: %s", r.Code, status, clip(r.Body))
	}
	if got, want := r.Header.Get("Content-Type"), "application/problem+json"; got != want {
		t.Errorf("Content-Type=%q, want=%q", got, want)
	}
	var p problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("problem body %s: %v", clip(r.Body), err)
	}
	wantType := docsBase + code
	if ownCodes[code] {
		wantType = a.url + "/problems/" + code
	}
	if p.Type != wantType {
		t.Errorf("type=%q, want=%q (detail: %s)", p.Type, wantType, p.Detail)
	}
	if p.Name != name {
		t.Errorf("name=%q, want=%q", p.Name, name)
	}
	if p.Status != status {
		t.Errorf("status field=%d, want=%d", p.Status, status)
	}
	if p.Title == "" {
		t.Errorf("title is empty")
	}
	return p
}

// video is the Video object as the tests read it.
type video struct {
	VideoID        string     `json:"videoId"`
	CreatedAt      string     `json:"createdAt"`
	Title          string     `json:"title"`
	Description    string     `json:"description"`
	PublishedAt    string     `json:"publishedAt"`
	UpdatedAt      string     `json:"updatedAt"`
	DiscardedAt    *string    `json:"discardedAt"`
	DeletesAt      *string    `json:"deletesAt"`
	Discarded      bool       `json:"discarded"`
	Language       *string    `json:"language"`
	LanguageOrigin *string    `json:"languageOrigin"`
	Tags           []string   `json:"tags"`
	Metadata       []metaPair `json:"metadata"`
	Source         struct {
		URI string `json:"uri"`
	} `json:"source"`
	Assets struct {
		MP4 string `json:"mp4"`
	} `json:"assets"`
	Public     bool `json:"public"`
	Panoramic  bool `json:"panoramic"`
	MP4Support bool `json:"mp4Support"`
}

type metaPair struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// videoKeys are the keys every Video object carries.
var videoKeys = []string{
	"videoId", "createdAt", "title", "description", "publishedAt", "updatedAt",
	"discardedAt", "deletesAt", "discarded", "language", "languageOrigin",
	"tags", "metadata", "source", "assets", "public", "panoramic", "mp4Support",
}

var (
	videoIDPattern = regexp.MustCompile(`^vi[0-9A-Za-z]{22}$`)
	tokenPattern   = regexp.MustCompile(`^to[0-9A-Za-z]{22}$`)
	atomPattern    = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$`)
)

// wantVideo checks that r is a success with the full Video JSON, sent as
// "application/json" exactly, and returns the video.
func wantVideo(t *testing.T, r *response, status int) video {
	t.Helper()
	if r.Code != status {
		t.Fatalf("status=%d, want=%d; body: %s", r.Code, status, clip(r.Body))
	}
	checkVideoJSON(t, r, r.Body)
	var v video
	r.decode(t, &v)
	return v
}

// checkVideoJSON checks the Content-Type and the shape of one Video object.
func checkVideoJSON(t *testing.T, r *response, raw []byte) {
	t.Helper()
	if got, want := r.Header.Get("Content-Type"), "application/json"; got != want {
		t.Errorf("Content-Type=%q, want=%q", got, want)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("video %s: %v", clip(raw), err)
	}
	for _, k := range videoKeys {
		if _, ok := m[k]; !ok {
			t.Errorf("video JSON lacks %q: %s", k, clip(raw))
		}
	}
	var v video
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("video %s: %v", clip(raw), err)
	}
	if !videoIDPattern.MatchString(v.VideoID) {
		t.Errorf("videoId=%q, want vi + 22 base62 characters", v.VideoID)
	}
	for name, d := range map[string]string{"createdAt": v.CreatedAt, "publishedAt": v.PublishedAt, "updatedAt": v.UpdatedAt} {
		if !atomPattern.MatchString(d) {
			t.Errorf("%s=%q, want an ATOM date with +00:00", name, d)
		}
	}
	if got, want := v.Source.URI, "/videos/"+v.VideoID+"/source"; got != want {
		t.Errorf("source.uri=%q, want=%q", got, want)
	}
}

// status is the video-status object as the tests read it.
type status struct {
	Ingest *struct {
		Status        string `json:"status"`
		Filesize      *int64 `json:"filesize"`
		ReceivedBytes []struct {
			From  int64 `json:"from"`
			To    int64 `json:"to"`
			Total int64 `json:"total"`
		} `json:"receivedBytes"`
		ReceivedParts *struct {
			Parts []int `json:"parts"`
			Total *int  `json:"total"`
		} `json:"receivedParts"`
	} `json:"ingest"`
	Encoding struct {
		Playable bool `json:"playable"`
	} `json:"encoding"`
}

// status fetches GET /videos/{id}/status.
func (a *app) status(t *testing.T, id string) status {
	t.Helper()
	r := a.do(t, "GET", "/videos/"+id+"/status", "")
	if r.Code != 200 {
		t.Fatalf("GET status of %s: %d %s", id, r.Code, clip(r.Body))
	}
	if got, want := r.Header.Get("Content-Type"), "application/json"; got != want {
		t.Errorf("status Content-Type=%q, want=%q", got, want)
	}
	var s status
	r.decode(t, &s)
	return s
}

// parts summarises an ingest status as "status parts/total filesize", for
// compact comparisons.
func (s status) String() string {
	if s.Ingest == nil {
		return "no ingest"
	}
	out := s.Ingest.Status
	if rp := s.Ingest.ReceivedParts; rp != nil {
		total := "null"
		if rp.Total != nil {
			total = fmt.Sprint(*rp.Total)
		}
		out += fmt.Sprintf(" parts=%v/%s", rp.Parts, total)
	}
	for _, b := range s.Ingest.ReceivedBytes {
		out += fmt.Sprintf(" bytes=%d-%d/%d", b.From, b.To, b.Total)
	}
	if s.Ingest.Filesize != nil {
		out += fmt.Sprintf(" filesize=%d", *s.Ingest.Filesize)
	} else {
		out += " filesize=null"
	}
	return out
}

// wantSource checks, through GET /videos/{id}/source, that the stored
// file is data, byte for byte.
func (a *app) wantSource(t *testing.T, id string, data []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", a.url+"/videos/"+id+"/source", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", a.basic())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET source of %s: %d %s", id, res.StatusCode, clip(b))
	}
	h := sha256.New()
	n, err := io.Copy(h, res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), sha(data); got != want {
		t.Errorf("source of %s: %d bytes with sha256 %s, want %d bytes with %s", id, n, got, len(data), want)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// randomPool holds the pseudo-random bytes randomData cuts its data from:
// generating them once keeps the tests fast under the race detector.
var randomPool = sync.OnceValue(func() []byte {
	b := make([]byte, 24*mib)
	rand.New(rand.NewSource(1)).Read(b)
	return b
})

// randomData returns n deterministic pseudo-random bytes (n at most
// 24 MiB); different seeds give different bytes.
func randomData(seed int64, n int) []byte {
	pool := randomPool()
	off := 0
	if room := len(pool) - n; room > 0 {
		off = int(seed*7919) % room
	}
	return append([]byte(nil), pool[off:off+n]...)
}

// readTestdata reads a file from testdata/.
func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// createToken creates an upload token and returns its ID.
func (a *app) createToken(t *testing.T, ttl int) string {
	t.Helper()
	r := a.do(t, "POST", "/upload-tokens", fmt.Sprintf(`{"ttl":%d}`, ttl))
	if r.Code != 200 {
		t.Fatalf("create token: %d %s", r.Code, clip(r.Body))
	}
	var tok struct {
		Token string `json:"token"`
	}
	r.decode(t, &tok)
	return tok.Token
}

// createVideo creates an empty video with POST /videos.
func (a *app) createVideo(t *testing.T, body string) video {
	t.Helper()
	return wantVideo(t, a.do(t, "POST", "/videos", body), 201)
}

// formPart is one part of a multipart body: a file part or a text field.
type formPart struct {
	name     string
	filename string // File parts with a filename parameter.
	file     bool   // A file part (the filename may then be empty).
	ctype    string // The part's Content-Type, for file parts.
	data     []byte // The file's bytes or the field's value.
	// stream, if set, is read for the file's bytes instead of data; size
	// is its length.
	stream io.Reader
	size   int64
}

// file is a file part with the usual field name "file".
func file(filename string, data []byte) formPart {
	return formPart{name: "file", filename: filename, file: true, data: data}
}

// namedFile is a file part under another field name.
func namedFile(field, filename string, data []byte) formPart {
	return formPart{name: field, filename: filename, file: true, data: data}
}

// field is a text field.
func field(name, value string) formPart { return formPart{name: name, data: []byte(value)} }

// multipartBody builds a multipart/form-data body with mime/multipart,
// without copying file contents: the body is a chain of readers, so large
// files stream from their slices. It returns the body, its exact length
// and its Content-Type.
func multipartBody(t *testing.T, parts []formPart) (io.Reader, int64, string) {
	t.Helper()
	var (
		segs []io.Reader
		n    int64
		buf  = &bytes.Buffer{}
	)
	cut := func() {
		if buf.Len() > 0 {
			segs = append(segs, bytes.NewReader(buf.Bytes()))
			n += int64(buf.Len())
			buf = &bytes.Buffer{}
		}
	}
	mw := multipart.NewWriter(writerFunc(func(p []byte) (int, error) { return buf.Write(p) }))
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		switch {
		case p.file && p.filename == "" && p.name == "file":
			h.Set("Content-Disposition", `form-data; name="file"`)
		case p.file:
			h.Set("Content-Disposition", multipart.FileContentDisposition(p.name, p.filename))
		default:
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p.name))
		}
		if p.file {
			ct := p.ctype
			if ct == "" {
				ct = "application/octet-stream"
			}
			h.Set("Content-Type", ct)
		}
		if _, err := mw.CreatePart(h); err != nil {
			t.Fatal(err)
		}
		cut()
		switch {
		case p.stream != nil:
			segs = append(segs, p.stream)
			n += p.size
		case p.file:
			segs = append(segs, bytes.NewReader(p.data))
			n += int64(len(p.data))
		default:
			buf.Write(p.data)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	cut()
	return io.MultiReader(segs...), n, mw.FormDataContentType()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// upload is one POST /upload request.
type upload struct {
	token string // Sent as ?token=; see query.
	// query, if set, replaces the whole query string.
	query        string
	contentRange string
	parts        []formPart
	header       map[string]string
}

// upload sends one POST /upload request with a streamed multipart body
// and an exact Content-Length, as the Go and Node clients do.
func (a *app) upload(t *testing.T, u upload) *response {
	t.Helper()
	return send(t, a.uploadRequest(t, u))
}

// uploadRequest builds the request upload sends.
func (a *app) uploadRequest(t *testing.T, u upload) *http.Request {
	t.Helper()
	body, n, ctype := multipartBody(t, u.parts)
	q := "token=" + u.token
	if u.query != "" {
		q = u.query
	}
	req, err := http.NewRequest("POST", a.url+"/upload?"+q, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = n
	req.Header.Set("Content-Type", ctype)
	if u.contentRange != "" {
		req.Header.Set("Content-Range", u.contentRange)
	}
	for k, v := range u.header {
		req.Header[textproto.CanonicalMIMEHeaderKey(k)] = []string{v}
	}
	return req
}

// uploadOK sends an upload that must succeed, and returns the video.
func (a *app) uploadOK(t *testing.T, u upload) video {
	t.Helper()
	return wantVideo(t, a.upload(t, u), 201)
}

// snapshot is what a refused request must leave unchanged: the video
// list, the token list, the status of some videos, and the blob files.
type snapshot struct {
	videos, tokens string
	statuses       map[string]string
	blobs          map[string]int64
}

func (a *app) snapshot(t *testing.T, ids ...string) snapshot {
	t.Helper()
	s := snapshot{
		videos:   string(a.do(t, "GET", "/videos?pageSize=100", "").Body),
		tokens:   string(a.do(t, "GET", "/upload-tokens?pageSize=100", "").Body),
		statuses: map[string]string{},
		blobs:    a.blobFiles(t),
	}
	for _, id := range ids {
		s.statuses[id] = string(a.do(t, "GET", "/videos/"+id+"/status", "").Body)
	}
	return s
}

// wantUnchanged checks that nothing stored changed since before.
func (a *app) wantUnchanged(t *testing.T, before snapshot) {
	t.Helper()
	ids := make([]string, 0, len(before.statuses))
	for id := range before.statuses {
		ids = append(ids, id)
	}
	after := a.snapshot(t, ids...)
	if after.videos != before.videos {
		t.Errorf("GET /videos changed:\nbefore: %s\nafter:  %s", before.videos, after.videos)
	}
	if after.tokens != before.tokens {
		t.Errorf("GET /upload-tokens changed:\nbefore: %s\nafter:  %s", before.tokens, after.tokens)
	}
	for id, st := range before.statuses {
		if after.statuses[id] != st {
			t.Errorf("status of %s changed:\nbefore: %s\nafter:  %s", id, st, after.statuses[id])
		}
	}
	if fmt.Sprint(after.blobs) != fmt.Sprint(before.blobs) {
		t.Errorf("blob files changed:\nbefore: %v\nafter:  %v", before.blobs, after.blobs)
	}
}

// blobFiles lists the files under the blob root with their sizes.
//
// The file of an unfinished upload's source is listed without its size:
// a refused part may have left bytes where it goes, which nothing refers
// to until the part is written again (package blob, Dir).
func (a *app) blobFiles(t *testing.T) map[string]int64 {
	t.Helper()
	unfinished := map[string]bool{}
	refs, err := a.store.MultipartRefs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for k := range refs {
		unfinished[k] = true
	}
	files := map[string]int64{}
	err = filepath.WalkDir(a.blobRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(a.blobRoot, p)
		files[rel] = info.Size()
		if unfinished[d.Name()] {
			files[rel] = -1
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// videoCount returns itemsTotal of GET /videos.
func (a *app) videoCount(t *testing.T) int {
	t.Helper()
	var l struct {
		Pagination struct {
			ItemsTotal int `json:"itemsTotal"`
		} `json:"pagination"`
	}
	a.do(t, "GET", "/videos", "").decode(t, &l)
	return l.Pagination.ItemsTotal
}

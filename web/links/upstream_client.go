package links

// This file is a small client for the parts of the api.video API that
// links need when their uploads go to a remote api.video-compatible host
// (real api.video, or another uplink): minting and deleting upload tokens,
// creating, finding and deleting videos, and uploading a part with a token.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/uplink-video/uplink/store"
)

// apiClient talks to one api.video-compatible host.
type apiClient struct {
	base   *url.URL
	apiKey string
	hc     *http.Client
}

// newAPIClient returns a client for the host at baseURL that
// authenticates with apiKey (HTTP Basic, as api.video documents), sending
// requests through rt.
func newAPIClient(baseURL, apiKey string, rt http.RoundTripper) (*apiClient, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("links: invalid upstream URL %q", baseURL)
	}
	return &apiClient{base: u, apiKey: apiKey, hc: &http.Client{Transport: rt}}, nil
}

// newTransport returns a transport for a remote host. There is no overall
// timeout, since a part may take long on a slow uploader's link, but the
// host must answer within a few minutes of receiving a request.
func newTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 5 * time.Minute
	t.MaxIdleConnsPerHost = 32
	// Parts stream from the uploader through uplink; large socket writes
	// keep that stream moving with few system calls.
	t.WriteBufferSize = 256 << 10
	return t
}

// apiError is a refusal from the host: its HTTP status and problem
// document.
type apiError struct {
	Status int    `json:"status"`
	Type   string `json:"type"`
	Title  string `json:"title"`
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("upstream: HTTP %d: %s %s", e.Status, e.Title, e.Detail)
}

// Code returns the last segment of the problem type, such as
// "authentication-invalid-upload-token".
func (e *apiError) Code() string {
	return e.Type[strings.LastIndex(e.Type, "/")+1:]
}

// apiVideo is the part of api.video's Video object uplink reads.
type apiVideo struct {
	VideoID string `json:"videoId"`
	Title   string `json:"title"`
}

// CreateToken mints an upload token that lives ttl seconds (0: forever).
func (c *apiClient) CreateToken(ctx context.Context, ttl int) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	if err := c.do(ctx, http.MethodPost, "/upload-tokens", map[string]int{"ttl": ttl}, &out); err != nil {
		return "", err
	}
	if out.Token == "" {
		return "", fmt.Errorf("upstream: the host returned no token")
	}
	return out.Token, nil
}

// DeleteToken deletes an upload token, so that it uploads nothing more.
// A token that is already gone is not an error.
func (c *apiClient) DeleteToken(ctx context.Context, token string) error {
	err := c.do(ctx, http.MethodDelete, "/upload-tokens/"+url.PathEscape(token), nil, nil)
	if e, ok := err.(*apiError); ok && e.Status == http.StatusNotFound {
		return nil
	}
	return err
}

// CreateVideo creates an empty video that a token upload can fill.
func (c *apiClient) CreateVideo(ctx context.Context, v store.VideoCreate) (apiVideo, error) {
	in := struct {
		Title       string           `json:"title"`
		Description string           `json:"description,omitempty"`
		Metadata    []store.Metadata `json:"metadata,omitempty"`
	}{v.Title, v.Description, v.Metadata}
	var out apiVideo
	if err := c.do(ctx, http.MethodPost, "/videos", in, &out); err != nil {
		return apiVideo{}, err
	}
	if out.VideoID == "" {
		return apiVideo{}, fmt.Errorf("upstream: the host returned no videoId")
	}
	return out, nil
}

// FindVideos returns the IDs of the videos that carry the metadata pair
// key=value (at most one page: the callers look for one video).
func (c *apiClient) FindVideos(ctx context.Context, key, value string) ([]string, error) {
	var out struct {
		Data []apiVideo `json:"data"`
	}
	q := url.Values{"metadata[" + key + "]": {value}}
	if err := c.do(ctx, http.MethodGet, "/videos?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(out.Data))
	for _, v := range out.Data {
		ids = append(ids, v.VideoID)
	}
	return ids, nil
}

// DeleteVideo deletes a video. A video that is already gone is not an
// error.
func (c *apiClient) DeleteVideo(ctx context.Context, videoID string) error {
	err := c.do(ctx, http.MethodDelete, "/videos/"+url.PathEscape(videoID), nil, nil)
	if e, ok := err.(*apiError); ok && e.Status == http.StatusNotFound {
		return nil
	}
	return err
}

// apiPart is one part of a token upload into an existing video.
type apiPart struct {
	Token    string
	VideoID  string
	Filename string
	Number   int   // 1-based.
	Total    int   // Number of parts.
	Size     int64 // Exact number of bytes Body yields.
	Body     io.Reader
}

// UploadPart sends one part with POST /upload?token=, in the browser
// uploader's format: videoId before the file, "Content-Range: part n/N".
// The body streams from p.Body; the request's length is computed up front
// so that the host sees a Content-Length, as with the official clients.
func (c *apiClient) UploadPart(ctx context.Context, p apiPart) (apiVideo, error) {
	var head, tail bytes.Buffer
	sw := &switchWriter{w: &head}
	mw := multipart.NewWriter(sw)
	if err := mw.WriteField("videoId", p.VideoID); err != nil {
		return apiVideo{}, err
	}
	if _, err := mw.CreateFormFile("file", p.Filename); err != nil {
		return apiVideo{}, err
	}
	sw.w = &tail
	if err := mw.Close(); err != nil {
		return apiVideo{}, err
	}
	body := io.MultiReader(&head, io.LimitReader(p.Body, p.Size), &tail)
	u := c.url("/upload")
	u.RawQuery = url.Values{"token": {p.Token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), body)
	if err != nil {
		return apiVideo{}, err
	}
	req.ContentLength = int64(head.Len()) + p.Size + int64(tail.Len())
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Content-Range", "part "+strconv.Itoa(p.Number)+"/"+strconv.Itoa(p.Total))
	var out apiVideo
	if err := c.send(req, &out); err != nil {
		return apiVideo{}, err
	}
	return out, nil
}

// switchWriter lets the multipart framing before and after the file be
// captured into separate buffers.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

func (c *apiClient) url(path string) *url.URL {
	u := *c.base
	p, q, _ := strings.Cut(path, "?")
	u.Path = strings.TrimRight(u.Path, "/") + p
	u.RawQuery = q
	return &u
}

func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path).String(), body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.apiKey != "" {
		req.SetBasicAuth(c.apiKey, "")
	}
	return c.send(req, out)
}

// maxResponse caps the JSON responses read; none of them is large.
const maxResponse = 1 << 20

func (c *apiClient) send(req *http.Request, out any) error {
	req.Header.Set("Accept", "application/json")
	// Errors name the path without its secrets: they are logged, and an
	// upload token is a credential (in /upload?token= and in
	// /upload-tokens/{token}). The *url.Error of a failed request quotes
	// the whole URL, so only its cause is kept.
	where := req.Method + " " + redactPath(req.URL.Path)
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("upstream: %s: %w", where, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("upstream: %s: read response: %w", where, err)
	}
	if resp.StatusCode >= 400 {
		e := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(b, e) != nil || e.Title == "" {
			e.Title = strings.TrimSpace(string(b))
		}
		e.Status = resp.StatusCode
		return e
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("upstream: %s: decode response: %w", where, err)
	}
	return nil
}

// redactPath hides the upload token in a path of the upload-tokens
// resource.
func redactPath(p string) string {
	if i := strings.Index(p, "/upload-tokens/"); i >= 0 {
		return p[:i] + "/upload-tokens/(token)"
	}
	return p
}

// RemoteVideo is a video as the remote host lists it.
type RemoteVideo struct {
	VideoID   string    `json:"videoId"`
	Title     string    `json:"title"`
	CreatedAt time.Time `json:"createdAt"`
}

// ListVideos returns one page of the host's videos, newest first, and
// how many it has in all (GET /videos, api.video's pagination).
func (c *apiClient) ListVideos(ctx context.Context, page, pageSize int) ([]RemoteVideo, int, error) {
	var out struct {
		Data       []RemoteVideo `json:"data"`
		Pagination struct {
			ItemsTotal int `json:"itemsTotal"`
		} `json:"pagination"`
	}
	q := url.Values{
		"currentPage": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(pageSize)},
		"sortBy": {"createdAt"}, "sortOrder": {"desc"},
	}
	if err := c.do(ctx, http.MethodGet, "/videos?"+q.Encode(), nil, &out); err != nil {
		return nil, 0, err
	}
	return out.Data, out.Pagination.ItemsTotal, nil
}

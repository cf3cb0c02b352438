package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// rawConn is a minimal HTTP/1.1 client connection for upload requests.
//
// net/http's client copies a request body through a 32 KiB buffer in user
// space. The benchmark's client shares the machine's cores with the server
// it measures, so it sends the file bytes of each request with sendfile
// (net.TCPConn.ReadFrom of an *os.File), straight from the page cache. The
// bytes on the wire are the same as any client's.
type rawConn struct {
	host string
	c    *net.TCPConn
	br   *bufio.Reader
}

func (k *rawConn) Close() {
	if k.c != nil {
		k.c.Close()
		k.c = nil
	}
}

// request is one upload request: head, then size bytes of file from off,
// then tail.
type request struct {
	method, target string
	header         http.Header
	head, tail     []byte
	file           *os.File
	off, size      int64
}

// response is what came back for one request.
type response struct {
	status int
	header http.Header
	body   []byte
	// wait is the time from the last byte of the request's body being
	// handed to the kernel to the end of the response: for an upload
	// part, how long the server took to make it durable and answer.
	wait time.Duration
	// took is the whole request as the client sees it, from its first
	// byte to the end of its answer.
	took time.Duration
}

// do sends r and returns the server's response.
func (k *rawConn) do(r request) (response, error) {
	if k.c == nil {
		c, err := net.Dial("tcp", k.host)
		if err != nil {
			return response{}, err
		}
		k.c, k.br = c.(*net.TCPConn), bufio.NewReader(c)
	}
	began := time.Now()
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.method, r.target, k.host)
	r.header.Write(&b)
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", int64(len(r.head))+r.size+int64(len(r.tail)))
	b.Write(r.head)
	_, werr := k.c.Write(b.Bytes())
	if werr == nil && r.size > 0 {
		if _, werr = r.file.Seek(r.off, io.SeekStart); werr == nil {
			var n int64
			n, werr = k.c.ReadFrom(io.LimitReader(r.file, r.size))
			if werr == nil && n != r.size {
				werr = fmt.Errorf("sent %d of %d bytes", n, r.size)
			}
		}
	}
	if werr == nil && len(r.tail) > 0 {
		_, werr = k.c.Write(r.tail)
	}
	sent := time.Now()
	// A server that refuses a request may answer before reading it all:
	// read the answer even when sending failed.
	resp, err := http.ReadResponse(k.br, nil)
	if err != nil {
		k.Close()
		if werr != nil {
			return response{}, werr
		}
		return response{}, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	out := response{status: resp.StatusCode, header: resp.Header, body: body, wait: time.Since(sent), took: time.Since(began)}
	if resp.Close || err != nil || werr != nil {
		k.Close()
	}
	return out, err
}

// partSize is the size of every part but the last, for direct uploads
// and (through --chunk-size) for uploads through a link, and of every
// tus PATCH.
const partSize = 16 << 20

// uploadDirect uploads size bytes of file (from its start) with POST
// /upload?token=, in the official clients' format: multipart/form-data,
// "Content-Range: part n/N", and the videoId returned by part 1 in every
// later part. It returns the video's ID and each part's wait.
func uploadDirect(base, token string, file *os.File, size int64) (string, []time.Duration, error) {
	id, resps, err := uploadDirectParts(base, token, file, size)
	waits := make([]time.Duration, len(resps))
	for i, r := range resps {
		waits[i] = r.wait
	}
	return id, waits, err
}

// uploadDirectParts is uploadDirect, returning each part's response.
func uploadDirectParts(base, token string, file *os.File, size int64) (string, []response, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	k := &rawConn{host: u.Host}
	defer k.Close()
	total := partCount(size)
	videoID := ""
	resps := make([]response, 0, total)
	for n := 1; n <= total; n++ {
		resp, err := k.do(directPart(token, videoID, n, file, size))
		if videoID, err = directAnswer(resp, err, n, total); err != nil {
			return "", nil, err
		}
		resps = append(resps, resp)
	}
	return videoID, resps, nil
}

// partCount is the number of parts of an upload of size bytes.
func partCount(size int64) int { return int((size + partSize - 1) / partSize) }

// directPart returns part n of an upload of size bytes of file with POST
// /upload?token=, carrying videoID unless it is empty (part 1).
func directPart(token, videoID string, n int, file *os.File, size int64) request {
	off := int64(n-1) * partSize
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if videoID != "" {
		// Writes to a bytes.Buffer do not fail.
		_ = mw.WriteField("videoId", videoID)
	}
	_, _ = mw.CreateFormFile("file", "bench.bin")
	head := bytes.Clone(buf.Bytes())
	buf.Reset()
	_ = mw.Close()
	h := http.Header{}
	h.Set("Content-Type", mw.FormDataContentType())
	h.Set("Content-Range", "part "+strconv.Itoa(n)+"/"+strconv.Itoa(partCount(size)))
	return request{method: "POST", target: "/upload?token=" + url.QueryEscape(token),
		header: h, head: head, tail: buf.Bytes(), file: file, off: off, size: min(partSize, size-off)}
}

// directAnswer checks the answer to part n of total sent with POST
// /upload, and returns the video's ID from it.
func directAnswer(resp response, err error, n, total int) (string, error) {
	if err != nil {
		return "", fmt.Errorf("part %d/%d: %w", n, total, err)
	}
	if resp.status != http.StatusCreated {
		return "", fmt.Errorf("part %d/%d: HTTP %d: %s", n, total, resp.status, clip(resp.body))
	}
	var v struct {
		VideoID string `json:"videoId"`
	}
	if err := json.Unmarshal(resp.body, &v); err != nil || v.VideoID == "" {
		return "", fmt.Errorf("part %d/%d: no videoId in %s", n, total, clip(resp.body))
	}
	return v.VideoID, nil
}

// linkResult is what an upload through a link returns.
type linkResult struct {
	videoID string
	sha256  string // From the link's receipt.
	waits   []time.Duration
	tooks   []time.Duration // Each part's whole request (response.took).
}

// uploadLink uploads size bytes of file through a link's endpoints, as
// its upload page does: start a session, then PUT each part's raw bytes.
// Every request carries the server's own origin, as the page's requests
// do: these state-changing endpoints refuse other origins.
func uploadLink(linkURL string, file *os.File, size int64) (linkResult, error) {
	u, err := url.Parse(linkURL)
	if err != nil {
		return linkResult{}, err
	}
	origin := u.Scheme + "://" + u.Host
	k := &rawConn{host: u.Host}
	defer k.Close()
	start, _ := json.Marshal(map[string]any{"filename": "bench.bin", "size": size, "lastModified": time.Now().UnixMilli()})
	h := http.Header{}
	h.Set("Origin", origin)
	h.Set("Content-Type", "application/json")
	resp, err := k.do(request{method: "POST", target: u.Path + "/uploads", header: h, head: start})
	if err != nil {
		return linkResult{}, fmt.Errorf("start: %w", err)
	}
	if resp.status != http.StatusCreated {
		return linkResult{}, fmt.Errorf("start: HTTP %d: %s", resp.status, clip(resp.body))
	}
	var sess struct {
		VideoID    string `json:"videoId"`
		ChunkSize  int64  `json:"chunkSize"`
		TotalParts int    `json:"totalParts"`
		Complete   bool   `json:"complete"`
		Receipt    *struct {
			SHA256 string `json:"sha256"`
		} `json:"receipt"`
	}
	if err := json.Unmarshal(resp.body, &sess); err != nil {
		return linkResult{}, fmt.Errorf("start: %s: %w", clip(resp.body), err)
	}
	h.Set("Content-Type", "application/octet-stream")
	waits := make([]time.Duration, 0, sess.TotalParts)
	tooks := make([]time.Duration, 0, sess.TotalParts)
	for n := 1; n <= sess.TotalParts; n++ {
		off := int64(n-1) * sess.ChunkSize
		resp, err := k.do(request{method: "PUT", target: u.Path + "/uploads/" + sess.VideoID + "/parts/" + strconv.Itoa(n),
			header: h, file: file, off: off, size: min(sess.ChunkSize, size-off)})
		if err != nil {
			return linkResult{}, fmt.Errorf("part %d/%d: %w", n, sess.TotalParts, err)
		}
		if resp.status != http.StatusOK {
			return linkResult{}, fmt.Errorf("part %d/%d: HTTP %d: %s", n, sess.TotalParts, resp.status, clip(resp.body))
		}
		waits = append(waits, resp.wait)
		tooks = append(tooks, resp.took)
		if n == sess.TotalParts {
			if err := json.Unmarshal(resp.body, &sess); err != nil {
				return linkResult{}, err
			}
		}
	}
	if !sess.Complete || sess.Receipt == nil {
		return linkResult{}, fmt.Errorf("the link upload is not complete after %d parts", sess.TotalParts)
	}
	return linkResult{videoID: sess.VideoID, sha256: sess.Receipt.SHA256, waits: waits, tooks: tooks}, nil
}

// createToken mints an upload token with the API key.
func createToken(base, apiKey string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	if err := apiCall(http.DefaultClient, "POST", base+"/upload-tokens", apiKey, `{"ttl":0}`, &out); err != nil {
		return "", err
	}
	return out.Token, nil
}

// apiCall sends a management request authenticated with the API key and
// decodes the JSON answer into out (if not nil).
func apiCall(c *http.Client, method, u, apiKey, body string, out any) error {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		return err
	}
	req.SetBasicAuth(apiKey, "")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, req.URL.Path, resp.StatusCode, clip(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// sourceSHA256 reads a video's stored source back with GET
// /videos/{id}/source and returns its SHA-256 and length.
func sourceSHA256(ctx context.Context, base, apiKey, videoID string) (string, int64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/videos/"+videoID+"/source", nil)
	if err != nil {
		return "", 0, err
	}
	req.SetBasicAuth(apiKey, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return "", 0, fmt.Errorf("GET source of %s: HTTP %d: %s", videoID, resp.StatusCode, clip(b))
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/uplink-video/uplink/store"
)

// videoBytes returns size bytes that start like a real WebM file (so they
// pass a video-only link's content check), then seeded random bytes.
func videoBytes(t *testing.T, size int) []byte {
	t.Helper()
	head, err := os.ReadFile(filepath.Join("testdata", "vp9-opus.webm"))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	rand.New(rand.NewSource(7)).Read(b)
	copy(b, head)
	return b
}

// uploadThroughLink sends data through a link's public endpoints the way
// the uploader page does, and returns the session's final JSON.
func uploadThroughLink(t *testing.T, client *http.Client, linkURL string, data []byte) map[string]any {
	t.Helper()
	start, _ := json.Marshal(map[string]any{"filename": "clip.webm", "size": len(data), "lastModified": 1})
	resp, err := client.Post(linkURL+"/uploads", "application/json", bytes.NewReader(start))
	if err != nil {
		t.Fatal(err)
	}
	sess := decodeJSON(t, resp, http.StatusCreated)
	videoID := sess["videoId"].(string)
	chunk := int(sess["chunkSize"].(float64))
	parts := int(sess["totalParts"].(float64))
	for n := 1; n <= parts; n++ {
		part := data[(n-1)*chunk : min(n*chunk, len(data))]
		req, _ := http.NewRequest(http.MethodPut, linkURL+"/uploads/"+videoID+"/parts/"+strconv.Itoa(n), bytes.NewReader(part))
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		sess = decodeJSON(t, resp, http.StatusOK)
	}
	return sess
}

func decodeJSON(t *testing.T, resp *http.Response, want int) map[string]any {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

// TestUpstreamMode runs two uplink processes: the upstream serves the token
// endpoint, and the other fronts it with a link. The link's token is
// minted upstream, every part goes through the proxy to it, and the
// bytes end up, intact, only upstream.
func TestUpstreamMode(t *testing.T) {
	client := &http.Client{}
	const key = "upstream-key-0123456789"
	upstream := startServer(t, client, []string{"UPLINK_API_KEY=" + key},
		"--addr", "127.0.0.1:0", "--data", t.TempDir())

	frontData := t.TempDir()
	upstreamEnv := []string{"UPLINK_UPSTREAM_URL=" + upstream.URL, "UPLINK_UPSTREAM_API_KEY=" + key}
	front := startServer(t, client, upstreamEnv,
		"--addr", "127.0.0.1:0", "--data", frontData, "--chunk-size", "5MiB")

	stdout, stderr, code := runBinary(t, upstreamEnv, "link", "create", "--label", "Upstream test",
		"--data", frontData, "--public-url", front.URL, "--max-uploads", "1")
	if code != 0 {
		t.Fatalf("link create: exit %d: %s", code, stderr)
	}
	linkURL := strings.TrimSpace(stdout)
	if !strings.HasPrefix(linkURL, front.URL+"/u/") {
		t.Fatalf("link create printed %q, want a URL under %s/u/", linkURL, front.URL)
	}

	data := videoBytes(t, 11<<20+777)
	sess := uploadThroughLink(t, client, linkURL, data)
	sum := sha256.Sum256(data)
	receipt, _ := sess["receipt"].(map[string]any)
	if got, want := receipt["sha256"], hex.EncodeToString(sum[:]); got != want {
		t.Errorf("receipt sha256=%v, want=%v", got, want)
	}
	videoID := sess["videoId"].(string)
	if got, want := sha256Source(t, client, upstream.URL, basicAuth(key), videoID), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("upstream source sha256=%s, want=%s", got, want)
	}
	// The front server keeps no video of its own.
	if entries, _ := os.ReadDir(filepath.Join(frontData, "blobs")); len(entries) != 0 {
		t.Errorf("front server stored %d blob directories, want none", len(entries))
	}

	// Revoking the link deletes its token upstream.
	linkID := linkURL[strings.LastIndex(linkURL, "/")+1:]
	if _, stderr, code := runBinary(t, upstreamEnv, "link", "revoke", linkID, "--data", frontData); code != 0 {
		t.Fatalf("link revoke: exit %d: %s", code, stderr)
	}
	status, body := do(t, client, http.MethodGet, upstream.URL+"/upload-tokens", basicAuth(key), nil)
	if status != http.StatusOK || strings.Contains(string(body), `"token":"to`) {
		t.Errorf("upstream tokens after revoke: %d %s, want none active", status, body)
	}
	resp, err := client.Get(linkURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusGone; got != want {
		t.Errorf("revoked link page: status %d, want %d", got, want)
	}
}

func TestLinkCommands(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"UPLINK_DATA": dir, "UPLINK_PUBLIC_URL": "https://up.example"}
	stdout, stderr, code := runInProcess(t, env, "link", "create", "--label", "Holiday", "--ttl", "2d",
		"--max-size", "2GiB", "--embed-origin", "https://site.example")
	if code != 0 {
		t.Fatalf("link create: exit %d: %s", code, stderr)
	}
	url := strings.TrimSpace(stdout)
	if !strings.HasPrefix(url, "https://up.example/u/") || len(url) != len("https://up.example/u/")+22 {
		t.Fatalf("link create printed %q, want https://up.example/u/<22 characters>", url)
	}
	if !strings.Contains(stderr, "https://up.example/embed/") {
		t.Errorf("link create with an embed origin printed no iframe snippet: %s", stderr)
	}
	id := url[strings.LastIndex(url, "/")+1:]
	stdout, _, code = runInProcess(t, env, "link", "list")
	if code != 0 || !strings.Contains(stdout, id) || !strings.Contains(stdout, "Holiday") || !strings.Contains(stdout, "active") {
		t.Fatalf("link list: exit %d:\n%s", code, stdout)
	}
	if _, stderr, code := runInProcess(t, env, "link", "revoke", id); code != 0 {
		t.Fatalf("link revoke: exit %d: %s", code, stderr)
	}
	stdout, _, _ = runInProcess(t, env, "link", "list")
	if !strings.Contains(stdout, "revoked") {
		t.Errorf("link list after revoke:\n%s", stdout)
	}
	for _, tc := range []struct {
		description string
		args        []string
		wantErr     string
	}{
		{"no label", []string{"link", "create"}, "label"},
		{"bad ttl", []string{"link", "create", "--label", "x", "--ttl", "soon"}, "--ttl"},
		{"bad size", []string{"link", "create", "--label", "x", "--max-size", "big"}, "--max-size"},
		{"bad origin", []string{"link", "create", "--label", "x", "--embed-origin", "site.example"}, "invalid --embed-origin"},
		// Origins become frame-ancestors sources (issue 10, item 9).
		{"origin with a directive", []string{"link", "create", "--label", "x", "--embed-origin", "https://a.example;script-src"},
			`invalid --embed-origin: "https://a.example;script-src" is not an origin: "a.example;script-src" is not a host name`},
		{"origin with a comma", []string{"link", "create", "--label", "x", "--embed-origin", "https://a.example,b.example"}, "is not a host name"},
		{"origin with a quote", []string{"link", "create", "--label", "x", "--embed-origin", "https://'self'"}, "is not a host name"},
		{"origin with a star", []string{"link", "create", "--label", "x", "--embed-origin", "https://*.a.example"}, "is not a host name"},
		{"good origin, then a bad one", []string{"link", "create", "--label", "x", "--embed-origin", "https://a.example", "--embed-origin", "https://b.example:99999"}, "from 1 to 65535"},
		{"revoke twice", []string{"link", "revoke", id}, "already revoked"},
		{"unknown link", []string{"link", "revoke", "AAAAAAAAAAAAAAAAAAAAAA"}, "no link"},
	} {
		t.Run(tc.description, func(t *testing.T) {
			_, stderr, code := runInProcess(t, env, tc.args...)
			if code == 0 || !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want failure mentioning %q", code, stderr, tc.wantErr)
			}
		})
	}
	// Refused links were not created; a good origin is stored as browsers
	// write it.
	stdout, stderr, code = runInProcess(t, env, "link", "create", "--label", "Canonical",
		"--embed-origin", "HTTPS://Site.Example:443/", "--embed-origin", "*")
	if code != 0 {
		t.Fatalf("link create: exit %d: %s", code, stderr)
	}
	canonical := strings.TrimSpace(stdout)
	st, err := store.Open(t.Context(), filepath.Join(dir, "uplink.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ls, n, err := st.ListLinks(t.Context(), store.Page{Number: 1, Size: 100})
	if err != nil || n != 2 {
		t.Fatalf("%d links (%v), want the two created", n, err)
	}
	l, err := st.FindLink(t.Context(), canonical[strings.LastIndex(canonical, "/")+1:])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(l.EmbedOrigins, " "), "https://site.example *"; got != want {
		t.Errorf("stored origins %q, want %q (of %d links)", got, want, len(ls))
	}
}

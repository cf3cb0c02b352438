package main

// Attacks on uploads through links, against the real binary (issue 10):
// one part sent many times at once, many slow parts held open through one
// link, and the server killed while an upload starts.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/uplink-video/uplink/store"
)

// linkStart starts an upload of size bytes through the link at linkURL and
// returns its video ID.
func linkStart(t *testing.T, client *http.Client, linkURL, name string, size int) string {
	t.Helper()
	body := fmt.Sprintf(`{"filename":%q,"size":%d,"lastModified":1}`, name, size)
	req, _ := http.NewRequest(http.MethodPost, linkURL+"/uploads", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", strings.SplitN(linkURL, "/u/", 2)[0])
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("start %s: %d %s", name, resp.StatusCode, b)
	}
	return mustDecode[struct{ VideoID string }](t, b).VideoID
}

// slowPart opens a connection and sends the head of PUT part 1 (of size
// bytes) and its first `first` bytes, then stops. It returns the
// connection and the server's answer, if one came within wait.
func slowPart(t *testing.T, addr, path string, size, first int, wait time.Duration) (net.Conn, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nOrigin: http://%s\r\nContent-Length: %d\r\nContent-Type: application/octet-stream\r\n\r\n", path, addr, addr, size)
	chunk := make([]byte, first)
	copy(chunk, "\x00\x00\x00\x20ftypisom") // An MP4 header, for the type check.
	conn.Write(chunk)
	conn.SetReadDeadline(time.Now().Add(wait))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	conn.SetReadDeadline(time.Time{})
	return conn, strings.TrimSpace(line)
}

// vmRSS reads the resident memory of a process, in MiB.
func vmRSS(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.Fields(v)[0])
			return float64(kb) / 1024
		}
	}
	return 0
}

// One part sent 300 times at once, and 30 uploads through one link each
// holding part 1 open after 2 MiB (one address may start 40 uploads at
// once): the server reads one body per part and a few parts per link,
// refuses the rest at once, and its memory is reported before, during and
// after (issue 10).
func TestLinkHoldersCannotPileUpBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	client := &http.Client{Timeout: readyWait}
	dir := t.TempDir()
	srv := startServer(t, client, nil, "--addr", "127.0.0.1:0", "--data", dir, "--chunk-size", "16MiB")
	addr := strings.TrimPrefix(srv.URL, "http://")
	stdout, stderr, code := runBinary(t, nil, "link", "create", "--label", "Open call", "--max-uploads", "0",
		"--data", dir, "--public-url", srv.URL)
	if code != 0 {
		t.Fatalf("link create: %d %s", code, stderr)
	}
	linkURL := strings.TrimSpace(stdout)
	linkID := linkURL[strings.LastIndex(linkURL, "/")+1:]
	pid := srv.cmd.Process.Pid
	idle := vmRSS(t, pid)

	// The same part 300 times at once.
	const size = 16 << 20
	video := linkStart(t, client, linkURL, "same.mp4", size)
	path := "/u/" + linkID + "/uploads/" + video + "/parts/1"
	var conns []net.Conn
	first, answer := slowPart(t, addr, path, size, 2<<20, 500*time.Millisecond)
	if answer != "" {
		t.Fatalf("the first request was answered at once: %q", answer)
	}
	conns = append(conns, first)
	var mu sync.Mutex
	refused := 0
	var wg sync.WaitGroup
	for range 299 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, answer := slowPart(t, addr, path, size, 2<<20, readyWait)
			mu.Lock()
			defer mu.Unlock()
			conns = append(conns, c)
			if strings.Contains(answer, " 409 ") {
				refused++
			}
		}()
	}
	wg.Wait()
	sameDuring := vmRSS(t, pid)
	if refused != 299 {
		t.Errorf("%d of 299 more requests for the part refused at once, want all", refused)
	}
	for _, c := range conns {
		c.Close()
	}

	// 30 uploads, each holding part 1 open after 2 MiB.
	held, tooMany := 0, 0
	conns = conns[:0]
	for i := range 30 {
		video := linkStart(t, client, linkURL, fmt.Sprintf("f%03d.mp4", i), size)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, answer := slowPart(t, addr, "/u/"+linkID+"/uploads/"+video+"/parts/1", size, 2<<20, 2*time.Second)
			mu.Lock()
			defer mu.Unlock()
			conns = append(conns, c)
			switch {
			case answer == "":
				held++
			case strings.Contains(answer, " 429 "):
				tooMany++
			default:
				t.Errorf("a slow part was answered %q", answer)
			}
		}()
	}
	wg.Wait()
	during := vmRSS(t, pid)
	if held > 8 || held+tooMany != 30 {
		t.Errorf("%d slow parts held open and %d refused as too many, want at most 8 held", held, tooMany)
	}
	for _, c := range conns {
		c.Close()
	}
	time.Sleep(time.Second) // The server sees the connections close.
	after := vmRSS(t, pid)
	t.Logf("server RSS: %.1f MiB idle, %.1f MiB with one part sent 300 times, %.1f MiB with %d parts held open and %d refused, %.1f MiB after they closed",
		idle, sameDuring, during, held, tooMany, after)
}

// Killing the server 1 to 12 ms after an upload's start request leaves
// nothing that holds the link: the start is one transaction, so there is
// no "starting" row and no empty video, and the same file starts (or
// resumes) at once after the restart (issue 10).
func TestKillDuringStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary 40 times")
	}
	client := &http.Client{Timeout: readyWait}
	dir := t.TempDir()
	srv := startServer(t, client, nil, "--addr", "127.0.0.1:0", "--data", dir)
	stdout, stderr, code := runBinary(t, nil, "link", "create", "--label", "One time", "--data", dir)
	if code != 0 {
		t.Fatalf("link create: %d %s", code, stderr)
	}
	linkID := strings.TrimSpace(stdout)[strings.LastIndex(strings.TrimSpace(stdout), "/")+1:]
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 40 {
		linkURL := srv.URL + "/u/" + linkID
		go func() {
			body := `{"filename":"clip.mp4","size":1000,"lastModified":1}`
			req, _ := http.NewRequest(http.MethodPost, linkURL+"/uploads", strings.NewReader(body))
			req.Header.Set("Origin", srv.URL)
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		time.Sleep(time.Duration(1+rng.IntN(12)) * time.Millisecond)
		srv.cmd.Process.Signal(syscall.SIGKILL)
		<-srv.done
		checkNoDanglingStart(t, dir, i)
		srv = startServer(t, client, nil, "--addr", "127.0.0.1:0", "--data", dir)
	}
	// The recipient's file starts, or resumes, on the one-time link.
	body := `{"filename":"clip.mp4","size":1000,"lastModified":1}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/u/"+linkID+"/uploads", strings.NewReader(body))
	req.Header.Set("Origin", srv.URL)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Errorf("the file after 40 kills: %d %s, want it started or resumed", resp.StatusCode, b)
	}
}

// checkNoDanglingStart checks the database as a kill left it: no upload
// through a link is starting, and every video has an upload.
func checkNoDanglingStart(t *testing.T, dir string, i int) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "uplink.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	links, _, err := st.ListLinks(ctx, store.Page{Number: 1, Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		us, err := st.ListLinkUploads(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			if u.Status == store.LinkUploadStarting {
				t.Errorf("kill %d left an upload starting: %+v", i+1, u)
			}
			if _, err := st.FindUpload(ctx, u.VideoID); u.VideoID != "" && err != nil {
				t.Errorf("kill %d left the video %s of a link upload without its upload: %v", i+1, u.VideoID, err)
			}
		}
	}
	vs, _, err := st.ListVideos(ctx, store.VideoFilter{Sort: store.VideoSortCreatedAt, Page: store.Page{Number: 1, Size: 100}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.UploadStatus == "" {
			t.Errorf("kill %d left the empty video %s", i+1, v.ID)
		}
	}
}

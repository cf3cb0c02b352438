// Command uplinkload puts one uplink server under load: many uploads at
// once, each in parts through the token upload endpoint, the way the
// official clients send them. Every uploaded file is read back and must be
// byte-identical; the tool reports the latency of the parts.
//
//	go run ./cmd/uplinkload [-uploads 100] [-size 20MiB] [-part 5MiB] [-dir DIR] [-uplink PATH]
//	go run ./cmd/uplinkload -url http://host:port -key API_KEY [...]
//
// Without -url it builds uplink (or runs -uplink) and starts "uplink serve"
// on 127.0.0.1 with a fresh data directory under -dir, and stops it at the
// end. Each upload gets its own upload token, sends its parts one after
// another with "Content-Range: part k/n", then reads its source back with
// GET /videos/{id}/source and compares SHA-256s. The bytes are generated
// from a seed per upload, so no file is held in memory.
//
// It exits with status 1 if any request fails or any file differs, and
// never because of latency: the figures are reported, not judged.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "uplinkload: %v\n", err)
		}
		os.Exit(1)
	}
}

// config is what a run does.
type config struct {
	uploads  int
	size     int64
	part     int64
	url, key string
	dir      string
	uplink   string
	timeout  time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("uplinkload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	size, part := sizeFlag(20<<20), sizeFlag(5<<20)
	fs.IntVar(&c.uploads, "uploads", 100, "how many uploads run at once")
	fs.Var(&size, "size", "the size of each file (bytes, or with KiB, MiB, GiB)")
	fs.Var(&part, "part", "the size of each part but the last (at least 5MiB)")
	fs.StringVar(&c.url, "url", "", "the server to load; without it, a fresh local uplink is started")
	fs.StringVar(&c.key, "key", "", "an API key of the server given with -url")
	fs.StringVar(&c.dir, "dir", "", "where the local server keeps its data (a new temporary directory by default)")
	fs.StringVar(&c.uplink, "uplink", "", "the uplink binary to start (built from this module by default)")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Minute, "how long the whole run may take")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.size, c.part = int64(size), int64(part)
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.uploads < 1:
		return c, errors.New("-uploads must be at least 1")
	case c.size < 1:
		return c, errors.New("-size must be at least 1 byte")
	case c.part < 5<<20:
		return c, errors.New("-part must be at least 5MiB, the protocol's smallest part")
	case (c.size+c.part-1)/c.part > 10000:
		return c, errors.New("-size needs more than 10000 parts: use larger parts")
	case c.url != "" && c.key == "":
		return c, errors.New("-url needs -key")
	}
	return c, nil
}

// sizeFlag is a byte count with an optional binary unit.
type sizeFlag int64

func (s *sizeFlag) String() string { return strconv.FormatInt(int64(*s), 10) }

func (s *sizeFlag) Set(v string) error {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > 1<<50/mult {
		return fmt.Errorf("%q is not a size such as 20MiB", v)
	}
	*s = sizeFlag(n * mult)
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if c.url == "" {
		srv, err := startLocal(ctx, c, stderr)
		if err != nil {
			return err
		}
		defer srv.stop()
		c.url, c.key = srv.url, srv.key
		fmt.Fprintf(stdout, "server: uplink serve at %s, data in %s\n", srv.url, srv.data)
	}
	r := load(ctx, c)
	r.print(stdout, c)
	if len(r.errs) > 0 {
		return fmt.Errorf("%d of %d uploads failed", len(r.errs), c.uploads)
	}
	return nil
}

// client talks to the server under load.
type client struct {
	http *http.Client
	base string
	auth string
}

// result is what one run measured.
type result struct {
	mu        sync.Mutex
	parts     []time.Duration // Each part request, from sending to the answer read.
	uploads   []time.Duration // Each whole upload, from its first part to its last answer.
	errs      []error
	identical int
	wall      time.Duration
}

func (r *result) addPart(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.parts = append(r.parts, d)
}

func (r *result) finish(d time.Duration, same bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errs = append(r.errs, err)
		return
	}
	r.uploads = append(r.uploads, d)
	if same {
		r.identical++
	}
}

// load runs the uploads, all at once, and checks each file.
func load(ctx context.Context, c config) *result {
	cl := &client{
		http: &http.Client{Transport: &http.Transport{
			MaxIdleConnsPerHost: c.uploads,
			// Uploads are not compressible and the server sends little:
			// keep the client's work to moving bytes.
			DisableCompression: true,
		}},
		base: strings.TrimRight(c.url, "/"),
		auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(c.key+":")),
	}
	r := &result{}
	start := time.Now()
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for i := range c.uploads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := cl.token(ctx)
			if err != nil {
				r.finish(0, false, fmt.Errorf("upload %d: %w", i, err))
				return
			}
			<-begin // Every upload starts its parts at the same moment.
			t0 := time.Now()
			id, sum, err := cl.upload(ctx, c, i, tok, r)
			d := time.Since(t0)
			if err != nil {
				r.finish(d, false, fmt.Errorf("upload %d: %w", i, err))
				return
			}
			got, n, err := cl.source(ctx, id)
			switch {
			case err != nil:
				err = fmt.Errorf("upload %d: reading %s back: %w", i, id, err)
			case got != sum || n != c.size:
				err = fmt.Errorf("upload %d: %s came back as %d bytes with SHA-256 %s, want %d bytes with %s", i, id, n, got, c.size, sum)
			}
			r.finish(d, err == nil, err)
		}()
	}
	close(begin)
	wg.Wait()
	r.wall = time.Since(start)
	return r
}

// token creates an upload token for one upload.
func (cl *client) token(ctx context.Context) (string, error) {
	var tok struct{ Token string }
	err := cl.call(ctx, http.MethodPost, "/upload-tokens", strings.NewReader(`{"ttl":86400}`), http.StatusOK, &tok)
	if err == nil && tok.Token == "" {
		err = errors.New("POST /upload-tokens: no token in the answer")
	}
	return tok.Token, err
}

// upload sends file i in parts and returns its video's ID and the file's
// SHA-256.
func (cl *client) upload(ctx context.Context, c config, i int, tok string, r *result) (string, string, error) {
	n := int((c.size + c.part - 1) / c.part)
	sum := sha256.New()
	id := ""
	for k := 1; k <= n; k++ {
		size := min(c.part, c.size-int64(k-1)*c.part)
		t0 := time.Now()
		got, err := cl.part(ctx, tok, id, k, n, partBytes(i, k, size), size, sum)
		if err != nil {
			return "", "", fmt.Errorf("part %d/%d: %w", k, n, err)
		}
		r.addPart(time.Since(t0))
		if id == "" {
			id = got
		} else if got != id {
			return "", "", fmt.Errorf("part %d/%d went to video %s, not %s", k, n, got, id)
		}
	}
	return id, hex.EncodeToString(sum.Sum(nil)), nil
}

// partBytes returns the bytes of part k of file i: pseudo-random, from a
// seed of their own, so that no two parts or files are alike.
func partBytes(i, k int, size int64) io.Reader {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(i))
	binary.LittleEndian.PutUint64(seed[8:], uint64(k))
	return io.LimitReader(rand.NewChaCha8(seed), size)
}

// part sends one part as the Go and Node clients do: a multipart body with
// the videoId (after the first part) and the file, of exact length. The
// bytes pass through sum on their way.
func (cl *client) part(ctx context.Context, tok, id string, k, n int, data io.Reader, size int64, sum hash.Hash) (string, error) {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	if id != "" {
		if err := mw.WriteField("videoId", id); err != nil {
			return "", err
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", multipart.FileContentDisposition("file", "load.bin"))
	h.Set("Content-Type", "application/octet-stream")
	if _, err := mw.CreatePart(h); err != nil {
		return "", err
	}
	closing := "\r\n--" + mw.Boundary() + "--\r\n"
	body := io.MultiReader(&head, io.TeeReader(data, sum), strings.NewReader(closing))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cl.base+"/upload?token="+tok, body)
	if err != nil {
		return "", err
	}
	req.ContentLength = int64(head.Len()) + size + int64(len(closing))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Content-Range", fmt.Sprintf("part %d/%d", k, n))
	var v struct{ VideoID string }
	if err := cl.do(req, http.StatusCreated, &v); err != nil {
		return "", err
	}
	return v.VideoID, nil
}

// source reads a video's source back and returns its SHA-256 and length.
func (cl *client) source(ctx context.Context, id string) (string, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cl.base+"/videos/"+id+"/source", nil)
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Authorization", cl.auth)
	resp, err := cl.http.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
		return "", 0, fmt.Errorf("GET source: %d %s", resp.StatusCode, b)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// call sends an authenticated JSON request.
func (cl *client) call(ctx context.Context, method, path string, body io.Reader, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, cl.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", cl.auth)
	req.Header.Set("Content-Type", "application/json")
	return cl.do(req, want, out)
}

// do sends req and decodes its JSON answer, which must have status want.
func (cl *client) do(req *http.Request, want int, out any) error {
	resp, err := cl.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

// print reports the run.
func (r *result) print(w io.Writer, c config) {
	total := int64(len(r.uploads)) * c.size
	fmt.Fprintf(w, "uploads: %d at once, %s each in parts of %s (%d parts in all)\n",
		c.uploads, mib(c.size), mib(c.part), len(r.parts))
	fmt.Fprintf(w, "identical: %d of %d files read back byte for byte\n", r.identical, c.uploads)
	fmt.Fprintf(w, "failed: %d\n", len(r.errs))
	for i, err := range r.errs {
		if i == 10 {
			fmt.Fprintf(w, "  ... and %d more\n", len(r.errs)-10)
			break
		}
		fmt.Fprintf(w, "  %v\n", err)
	}
	if r.wall > 0 {
		fmt.Fprintf(w, "wall time: %s for %s uploaded and read back, %.1f MiB/s end to end\n",
			r.wall.Round(time.Millisecond), mib(total), float64(total)/(1<<20)/r.wall.Seconds())
	}
	fmt.Fprintf(w, "part latency: %s\n", quantiles(r.parts))
	fmt.Fprintf(w, "upload duration: %s\n", quantiles(r.uploads))
}

// quantiles formats p50, p90, p99 and the maximum of ds.
func quantiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) time.Duration {
		// The nearest-rank method: the smallest value with at least
		// p of the samples at or below it.
		i := int(float64(len(s))*p+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return fmt.Sprintf("p50 %s, p90 %s, p99 %s, max %s (n=%d)",
		q(0.50).Round(time.Millisecond), q(0.90).Round(time.Millisecond), q(0.99).Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond), len(s))
}

func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

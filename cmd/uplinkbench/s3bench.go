package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/uplink-video/uplink/store/blob/s3store/s3test"
)

// The contenders of the S3 mode (--s3), by the names issue 12 gives them.
const (
	s3One     = "s1"      // Direct S3 multipart, one 16 MiB part at a time.
	s3Four    = "s4"      // The same, four parts at a time.
	upOne     = "u1"      // One uplink instance, POST /upload?token=.
	upOneLink = "u1-link" // One uplink instance, through a link.
	upThree   = "u3"      // Three instances behind a round-robin proxy, POST /upload.
)

// s3ContenderName describes an S3 mode contender in tables.
func s3ContenderName(key string) string {
	switch key {
	case s3One:
		return "(s1) S3 multipart, 1 part at a time"
	case s3Four:
		return "(s4) S3 multipart, 4 parts at a time"
	case upOne:
		return "(u1) 1 instance, POST /upload"
	case upOneLink:
		return "(u1) 1 instance, link PUT"
	case upThree:
		return "(u3) 3 instances + proxy, POST /upload"
	}
	return key
}

// s3Options are the S3 mode's flags.
type s3Options struct {
	endpoint string // --s3-endpoint: an existing server; "" starts versitygw.
	database string // --database: PostgreSQL for (u3); "" skips it.
}

// checkDatabaseURL accepts "" (no (u3)) or a postgres:// or postgresql://
// URL, the forms pgx takes.
func checkDatabaseURL(s string) error {
	if s == "" || strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		return nil
	}
	return fmt.Errorf("--database %q: want a postgres://user@host/db URL", s)
}

// s3bench is one run of the S3 mode.
type s3bench struct {
	*bench
	target   s3Target
	database string
	s3proc   *s3test.Process // The S3 server, when this run started it.
	keys     []string        // The contenders, in canonical order.
	uploads  int             // Uploads so far, naming their key prefixes.
}

// u3Skipped says why (u3) does not run without a database.
const u3Skipped = "(u3) skipped: 3 instances share their state through PostgreSQL, and no --database postgres://... was given"

// runS3 runs the S3 mode: the contenders of s.keys interleaved round by
// round at each size, then one upload per round and per uplink mode with
// an instance killed in the middle of a part.
func (b *bench) runS3(ctx context.Context, opts s3Options) (*S3Results, error) {
	s := &s3bench{bench: b, database: opts.database, keys: []string{s3One, s3Four, upOne, upOneLink}}
	res := &S3Results{Sizes: b.sz.Sizes, Rounds: b.sz.Rounds, Load: [2]string{loadAvg(), ""}}
	if opts.database != "" {
		if err := s.checkDatabaseFlag(ctx); err != nil {
			return nil, err
		}
		s.keys = append(s.keys, upThree)
	} else {
		res.Skipped = u3Skipped
		b.logf("%s", u3Skipped)
	}
	if err := s.startS3(ctx, opts.endpoint); err != nil {
		return nil, err
	}
	defer func() {
		if s.s3proc != nil {
			_ = s.s3proc.Stop()
		}
	}()
	res.Endpoint, res.Started = s.target.Endpoint, s.s3proc != nil

	b.src = filepath.Join(b.work, "source.bin")
	b.logf("generating a %s test file", human(slices.Max(b.sz.Sizes)))
	var err error
	if b.sums, err = generate(b.src, slices.Max(b.sz.Sizes), b.sz.Sizes); err != nil {
		return nil, err
	}
	warmUp := slices.Min(b.sz.Sizes)
	b.logf("warm-up block (not counted): every contender once at %s", human(warmUp))
	for _, key := range s.keys {
		if _, err := s.measure(ctx, key, warmUp); err != nil {
			return nil, err
		}
	}
	for r := range b.sz.Rounds {
		for si, size := range b.sz.Sizes {
			rd := S3Round{Round: r + 1, Bytes: size, Order: williams(s.keys, r+si), Runs: map[string]*S3Run{}}
			for _, key := range rd.Order {
				run, err := s.measure(ctx, key, size)
				if err != nil {
					return nil, err
				}
				rd.Runs[key] = run
				b.logf("round %d/%d, %s, %s: %.0f MiB/s", r+1, b.sz.Rounds, human(size), s3ContenderName(key), run.MiBps)
			}
			rd.Ratios = roundRatios(rd.Runs)
			res.Runs = append(res.Runs, rd)
		}
		for _, key := range []string{upOne, upThree} {
			if !slices.Contains(s.keys, key) {
				continue
			}
			k, err := s.killRun(ctx, key, slices.Max(b.sz.Sizes), r+1)
			if err != nil {
				return nil, err
			}
			b.logf("round %d/%d, %s, SIGKILL mid-part: the part committed %.2f s later (%s)", r+1, b.sz.Rounds, s3ContenderName(key), k.Seconds, k.Answers)
			res.Kills = append(res.Kills, k)
		}
	}
	for _, size := range b.sz.Sizes {
		res.Summary = append(res.Summary, summariseS3(res.Runs, s.keys, size))
	}
	res.KillMedians = killMedians(res.Kills)
	res.Load[1] = loadAvg()
	return res, nil
}

// checkDatabaseFlag fails early, and clearly, when the uplink binary
// has no --database flag (PostgreSQL support is on its own branch).
func (s *s3bench) checkDatabaseFlag(ctx context.Context) error {
	out, _ := exec.CommandContext(ctx, s.bin, "serve", "--help").CombinedOutput()
	if !strings.Contains(string(out), "-database") {
		return fmt.Errorf("--database given, but %s serve has no --database flag: this uplink cannot keep its state in PostgreSQL, so (u3) cannot run", s.bin)
	}
	return nil
}

// startS3 starts versitygw (or takes the server at endpoint, with the
// credentials and region of the usual AWS_* variables) and creates the
// run's bucket.
func (s *s3bench) startS3(ctx context.Context, endpoint string) error {
	name := "uplinkbench-" + strings.ToLower(s.apiKey[len("bench-"):])[:16]
	if endpoint == "" {
		dir := filepath.Join(s.work, "s3")
		if err := os.Mkdir(dir, 0o750); err != nil {
			return err
		}
		s.logf("starting versitygw (posix backend) under %s", dir)
		srv, proc, err := s3test.StartVersitygw(dir)
		if err != nil {
			return err
		}
		s.s3proc = proc
		cfg, err := srv.NewBucket(ctx, name)
		if err != nil {
			return err
		}
		s.target = s3Target{Endpoint: cfg.Endpoint, Region: cfg.Region, AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey, Bucket: cfg.Bucket}
		s.target.client = newS3Client(&s.target)
		return nil
	}
	s.target = s3Target{Endpoint: endpoint, Region: os.Getenv("AWS_REGION"), Bucket: name,
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY")}
	if s.target.Region == "" {
		s.target.Region = "us-east-1"
	}
	s.target.client = newS3Client(&s.target)
	if _, err := s.target.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name}); err != nil {
		return fmt.Errorf("create bucket %s on %s: %w", name, endpoint, err)
	}
	return nil
}

// s3Sample is the S3 server's /proc sample, when this run started it.
func (s *s3bench) s3Sample() (procSample, bool) {
	if s.s3proc == nil {
		return procSample{}, false
	}
	p, err := sample(s.s3proc.Pid())
	return p, err == nil
}

// measure times one upload of size bytes of the test file by the
// contender key. Each upload goes under a key prefix of its own, which
// is deleted once its bytes were read back and checked.
func (s *s3bench) measure(ctx context.Context, key string, size int64) (*S3Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.uploads++
	prefix := fmt.Sprintf("run%d", s.uploads)
	defer func() { _ = deletePrefix(context.WithoutCancel(ctx), s.target.client, s.target.Bucket, prefix+"/") }()
	f, err := os.Open(s.src)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := warm(f, size); err != nil {
		return nil, err
	}
	switch key {
	case s3One, s3Four:
		return s.measureDirect(ctx, key, f, size, prefix+"/direct.bin")
	}
	n := 1
	if key == upThree {
		n = 3
	}
	c, err := s.startCluster(ctx, n, prefix)
	if err != nil {
		return nil, err
	}
	defer func() {
		c.stop()
		for _, inst := range c.insts {
			s.cleanup(inst.Data)
		}
	}()
	upload, err := s.prepareUplink(key, c, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w\nserver log:\n%s", key, err, c.insts[0].logTail())
	}
	time.Sleep(200 * time.Millisecond) // Let the instances settle after their start.
	settle()
	before := make([]procSample, n)
	for i, inst := range c.insts {
		if before[i], err = sample(inst.Pid()); err != nil {
			return nil, err
		}
	}
	s3Before, haveS3 := s.s3Sample()
	start := time.Now()
	done, err := upload(f)
	elapsed := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("%s: %w\nserver log:\n%s", key, err, c.insts[0].logTail())
	}
	run := &S3Run{Contender: key, Bytes: size, Seconds: elapsed.Seconds(), MiBps: mibps(size, elapsed), parts: done.waits}
	var cpu time.Duration
	for i, inst := range c.insts {
		after, err := sample(inst.Pid())
		if err != nil {
			return nil, err
		}
		cpu += after.CPU - before[i].CPU
		run.PeakRSSMiB = append(run.PeakRSSMiB, round(mib(after.HWM), 1))
	}
	run.UplinkCPUPerGiB = perGiB(cpu, size)
	if s3After, ok := s.s3Sample(); ok && haveS3 {
		run.S3CPUPerGiB = perGiB(s3After.CPU-s3Before.CPU, size)
	}
	if err := done.check(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return run, nil
}

// perGiB is a CPU time per GiB of an upload of size bytes.
func perGiB(cpu time.Duration, size int64) float64 {
	return round(cpu.Seconds()/(float64(size)/(1<<30)), 2)
}

// measureDirect is (s1) or (s4): the test file uploaded straight to the
// bucket, then read back.
func (s *s3bench) measureDirect(ctx context.Context, key string, f *os.File, size int64, object string) (*S3Run, error) {
	parallel := 1
	if key == s3Four {
		parallel = 4
	}
	settle()
	before, haveS3 := s.s3Sample()
	start := time.Now()
	took, err := uploadS3(ctx, s.target.client, s.target.Bucket, object, f, size, parallel)
	elapsed := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	run := &S3Run{Contender: key, Bytes: size, Seconds: elapsed.Seconds(), MiBps: mibps(size, elapsed), parts: took}
	if after, ok := s.s3Sample(); ok && haveS3 {
		run.S3CPUPerGiB = perGiB(after.CPU-before.CPU, size)
	}
	sum, n, err := objectSHA256(ctx, s.target.client, s.target.Bucket, object)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if want := s.sums[size]; sum != want || n != size {
		return nil, fmt.Errorf("%s: %s has %d bytes with SHA-256 %s, want %d bytes with %s", key, object, n, sum, size, want)
	}
	return run, nil
}

// prepareUplink readies one upload of size bytes by an uplink contender
// against the cluster c: a token, or a link. The returned sent's waits
// are each part's whole request time as the client sees it.
func (s *s3bench) prepareUplink(key string, c *cluster, size int64) (prepared, error) {
	check := func(id string) func(context.Context) error {
		return func(ctx context.Context) error {
			return s.checkSource(ctx, &server{URL: c.URL}, id, size)
		}
	}
	if key == upOneLink {
		linkURL, err := s.createLink(c.insts[0], c.env, c.args...)
		if err != nil {
			return nil, err
		}
		return func(f *os.File) (sent, error) {
			r, err := uploadLink(linkURL, f, size)
			if err == nil && r.sha256 != s.sums[size] {
				err = errors.New("the link's receipt has the wrong SHA-256")
			}
			return sent{waits: r.tooks, check: check(r.videoID)}, err
		}, nil
	}
	tok, err := createToken(c.URL, s.apiKey)
	if err != nil {
		return nil, err
	}
	return func(f *os.File) (sent, error) {
		id, resps, err := uploadDirectParts(c.URL, tok, f, size)
		var tooks []time.Duration
		for _, r := range resps {
			tooks = append(tooks, r.took)
		}
		return sent{waits: tooks, check: check(id)}, err
	}, nil
}

// loadAvg returns the first three fields of /proc/loadavg, or "".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return ""
}

// redactDatabase returns args with the password of a --database URL
// replaced by "xxxxx", for printing the command.
func redactDatabase(args []string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		name, val, inline := strings.Cut(a, "=")
		if name != "--database" && name != "-database" {
			continue
		}
		if !inline {
			if i+1 >= len(out) {
				break
			}
			val = out[i+1]
		}
		u, err := url.Parse(val)
		if err != nil || u.User == nil {
			continue
		}
		val = u.Redacted()
		if inline {
			out[i] = name + "=" + val
		} else {
			out[i+1] = val
		}
	}
	return out
}

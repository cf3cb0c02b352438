package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/store/ingest"
	"github.com/uplink-video/uplink/web/links"
)

const linkUsage = `uplink link create --label LABEL [--ttl 7d] [--max-uploads 1] [--max-size 10GiB]
                   [--types video] [--embed-origin https://site.example] [--message TEXT] [--ask-name]
       uplink link list
       uplink link revoke ID

Mints and manages upload links. "create" prints the link's URL, built from
--public-url. With --upstream-url, the link's token is minted on that host.`

// backendFlags are the settings that say where links' uploads go, shared
// by "serve" and "link".
type backendFlags struct {
	dataDir     *string
	database    *string
	publicURL   *string
	addr        *string
	upstreamURL *string
	upstreamKey *string
	chunkSize   *string
	lease       *time.Duration
	storage     storageFlags
}

func addBackendFlags(fs *flagSet) backendFlags {
	return backendFlags{
		dataDir:     fs.String("data", "UPLINK_DATA", "./data", "directory for the database and uploaded files"),
		database:    addDatabaseFlag(fs),
		publicURL:   fs.String("public-url", "UPLINK_PUBLIC_URL", "", "URL at which clients reach uplink, used in every absolute URL it hands out (default: http(s)://<addr>, with localhost for a wildcard host such as 0.0.0.0)"),
		addr:        fs.String("addr", "UPLINK_ADDR", "127.0.0.1:8080", "address to listen on (host:port)"),
		upstreamURL: fs.String("upstream-url", "UPLINK_UPSTREAM_URL", "", "send links' uploads to this api.video-compatible host (https://ws.api.video, or another uplink) instead of this server's own token endpoint"),
		upstreamKey: fs.String("upstream-api-key", "UPLINK_UPSTREAM_API_KEY", "", "API key for --upstream-url (prefer the environment variable)"),
		chunkSize:   fs.String("chunk-size", "UPLINK_CHUNK_SIZE", "16MiB", "part size for uploads through links (5MiB to 128MiB)"),
		lease:       fs.Duration("upload-lease", "UPLINK_UPLOAD_LEASE", 24*time.Hour, "how long an unfinished upload may go without a new piece before it is abandoned"),
		storage:     addStorageFlags(fs),
	}
}

// backendConfig is the validated form of backendFlags.
type backendConfig struct {
	dataDir     string
	database    string // A PostgreSQL URL, or "" for the SQLite file in dataDir.
	publicURL   string // "" until known: serve derives it from the listener.
	upstreamURL string
	upstreamKey string
	chunkSize   int64
	lease       time.Duration
	storage     storageConfig
}

func (b backendFlags) config(scheme string) (backendConfig, error) {
	c := backendConfig{dataDir: *b.dataDir, database: *b.database, upstreamURL: strings.TrimRight(*b.upstreamURL, "/"), upstreamKey: *b.upstreamKey, lease: *b.lease}
	if c.dataDir == "" {
		return c, errors.New("--data must not be empty")
	}
	if err := checkDatabase(c.database); err != nil {
		return c, err
	}
	size, err := parseSize(*b.chunkSize)
	if err != nil || size < 5<<20 || size > 128<<20 {
		return c, fmt.Errorf("invalid --chunk-size %q: want a size from 5MiB to 128MiB", *b.chunkSize)
	}
	c.chunkSize = size
	if c.storage, err = b.storage.config(); err != nil {
		return c, err
	}
	if c.upstreamURL != "" {
		if !validHTTPURL(c.upstreamURL) {
			return c, fmt.Errorf("invalid --upstream-url %q: want an absolute http or https URL", c.upstreamURL)
		}
		if c.upstreamKey == "" {
			return c, errors.New("--upstream-url needs --upstream-api-key (or $UPLINK_UPSTREAM_API_KEY)")
		}
	}
	if p := *b.publicURL; p != "" {
		u, err := url.Parse(p)
		if err != nil || !validHTTPURL(p) || u.RawQuery != "" || u.Fragment != "" {
			return c, fmt.Errorf("invalid --public-url %q: want an absolute http or https URL", p)
		}
		c.publicURL = strings.TrimRight(p, "/")
	} else if scheme != "" {
		addr, err := net.ResolveTCPAddr("tcp", *b.addr)
		if err != nil {
			return c, fmt.Errorf("invalid --addr %q: %w", *b.addr, err)
		}
		c.publicURL = defaultPublicURL(scheme, addr)
	}
	return c, nil
}

// newLinks builds the links service: its uploads go to this server's
// upload service (svc), or to the upstream host. events and m may be nil.
func newLinks(st *store.Store, svc *ingest.Service, c backendConfig, events ingest.Events, m ingest.Metrics, log *slog.Logger) (*links.Service, error) {
	cfg := links.Config{PublicURL: c.publicURL, ChunkSize: c.chunkSize, Lease: c.lease, Logger: log, Events: events, Metrics: m}
	if c.upstreamURL == "" {
		return links.New(st, links.Local{Ingest: svc, Store: st}, cfg), nil
	}
	up, err := links.NewUpstream(c.upstreamURL, c.upstreamKey, st, c.lease, log)
	if err != nil {
		return nil, err
	}
	return links.New(st, up, cfg), nil
}

func link(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "Usage: %s\n", linkUsage)
		return errors.New("link needs a subcommand: create, list or revoke")
	}
	sub := args[0]
	switch sub {
	case "create", "list", "revoke":
	case "help", "-h", "-help", "--help":
		fmt.Fprintf(stderr, "Usage: %s\n", linkUsage)
		return flag.ErrHelp
	default:
		return fmt.Errorf("unknown link subcommand %q: want create, list or revoke", sub)
	}
	fs := newFlagSet("link "+sub, linkUsage, getenv, stderr)
	bf := addBackendFlags(fs)
	var spec links.Spec
	var ttl, maxSize, types string
	var origins multiFlag
	if sub == "create" {
		fs.StringVar(&spec.Label, "label", "", "what the link is for, shown to the uploader")
		fs.StringVar(&spec.Message, "message", "", "a message shown to the uploader")
		fs.StringVar(&ttl, "ttl", "7d", `how long the link takes new uploads: 90m, 24h, 7d, or "never"`)
		fs.IntVar(&spec.MaxUploads, "max-uploads", 1, "how many files the link takes (1 = one-time, 0 = unlimited)")
		fs.StringVar(&maxSize, "max-size", "", "largest file the link takes, e.g. 10GiB or 500MB (default: no limit)")
		fs.StringVar(&types, "types", "video", `allowed files: "video", "any", or formats such as mp4,mov,webm`)
		fs.Var(&origins, "embed-origin", "an origin allowed to embed the uploader, e.g. https://site.example; repeat for more, or * for any")
		fs.BoolVar(&spec.AskName, "ask-name", false, "ask the uploader for their name and email")
	}
	if err := fs.parse(args[1:]); err != nil {
		return err
	}
	switch {
	case sub == "revoke" && fs.NArg() != 1:
		return errors.New("link revoke needs the link's ID (see link list)")
	case sub != "revoke" && fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg, err := bf.config("http")
	if err != nil {
		return err
	}
	if sub == "create" {
		if spec.TTL, err = parseTTL(ttl); err != nil {
			return fmt.Errorf("invalid --ttl %q: %w", ttl, err)
		}
		if maxSize != "" {
			if spec.MaxSize, err = parseSize(maxSize); err != nil {
				return fmt.Errorf("invalid --max-size %q: %w", maxSize, err)
			}
		}
		spec.Types = strings.Split(types, ",")
		for _, o := range origins {
			canonical, err := links.ParseOrigin(o)
			if err != nil {
				return fmt.Errorf("invalid --embed-origin: %w", err)
			}
			spec.EmbedOrigins = append(spec.EmbedOrigins, canonical)
		}
		if err := spec.Validate(); err != nil {
			return err
		}
		if err := os.MkdirAll(cfg.dataDir, 0o750); err != nil {
			return fmt.Errorf("create data directory: %w", err)
		}
	} else if err := checkDatabaseExists(cfg.dataDir, cfg.database); err != nil {
		return err
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.store.Close()
	svc, err := newLinks(a.store, a.ingest, cfg, nil, nil, log)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		l, err := svc.Create(ctx, spec)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, svc.URL(l))
		fmt.Fprintf(stderr, "Created link %s (%q). Share the URL above.\n", l.ID, l.Label)
		if len(l.EmbedOrigins) > 0 {
			fmt.Fprintf(stderr, "Embed it with:\n  <iframe src=%q style=\"width:100%%;border:0\" allow=\"screen-wake-lock\"></iframe>\n", svc.EmbedURL(l))
		}
	case "list":
		ls, _, err := a.store.ListLinks(ctx, store.Page{Number: 1, Size: 1000})
		if err != nil {
			return err
		}
		now := a.store.Now()
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLABEL\tSTATE\tUPLOADS\tEXPIRES\tURL")
		for _, l := range ls {
			uploads := strconv.Itoa(l.Completed)
			if l.MaxUploads > 0 {
				uploads += "/" + strconv.Itoa(l.MaxUploads)
			}
			expires := "never"
			if l.ExpiresAt != nil {
				expires = l.ExpiresAt.Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, l.Label, l.State(now), uploads, expires, svc.URL(l))
		}
		return tw.Flush()
	case "revoke":
		if _, err := svc.Revoke(ctx, fs.Arg(0)); err != nil {
			switch {
			case errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("no link %q", fs.Arg(0))
			case errors.Is(err, store.ErrConflict):
				return fmt.Errorf("link %q was already revoked", fs.Arg(0))
			}
			return err
		}
		fmt.Fprintf(stderr, "Revoked link %s.\n", fs.Arg(0))
	}
	return nil
}

// multiFlag collects the values of a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// parseTTL reads a link lifetime: a Go duration ("90m", "24h"), days
// ("7d"), or "never" / "0" for a link that does not expire.
func parseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	switch s {
	case "never", "0", "":
		return 0, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, errors.New(`want a duration such as 90m, 24h, 7d, or "never"`)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New(`want a duration such as 90m, 24h, 7d, or "never"`)
	}
	return d, nil
}

// parseSize reads a size in bytes with an optional unit: B, KB, MB, GB, TB
// (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024); "1.5GiB" works.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	}
	units := map[string]float64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
	mult, ok := units[unit]
	v, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || v <= 0 || v*mult > 1<<50 {
		return 0, errors.New("want a size such as 500MB, 10GiB or 1.5GiB")
	}
	return int64(v * mult), nil
}

func validHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"

	"strconv"
	"strings"
	"time"

	"github.com/uplink-video/uplink/store/media"
	"github.com/uplink-video/uplink/web/account"
	"github.com/uplink-video/uplink/web/notify"
)

// setting is one configuration value, set by a flag or by an environment
// variable; the flag wins.
type setting struct {
	name  string // Flag name, without dashes.
	env   string // Environment variable.
	usage string
	value flag.Value
}

// flagSet is a flag.FlagSet whose flags also read environment variables,
// and whose usage lists both.
type flagSet struct {
	*flag.FlagSet
	settings []setting
	getenv   func(string) string
	args     []string // Positional arguments, wherever they stood.
}

func newFlagSet(name, synopsis string, getenv func(string) string, out io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), getenv: getenv}
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: %s\n\n", synopsis)
		if len(fs.settings) == 0 {
			return
		}
		fmt.Fprintln(out, "Flags (each can also be set with the environment variable shown):")
		for _, s := range fs.settings {
			// The default as defined, not the value: flags before
			// --help have already changed it.
			def := fs.Lookup(s.name).DefValue
			if def != "" {
				def = " (default " + def + ")"
			}
			env := ""
			if s.env != "" {
				env = " [$" + s.env + "]"
			}
			fmt.Fprintf(out, "  --%s%s%s\n      %s\n", s.name, env, def, s.usage)
		}
	}
	return fs
}

func (fs *flagSet) add(name, env, usage string, v flag.Value) {
	fs.settings = append(fs.settings, setting{name, env, usage, v})
	fs.Var(v, name, usage)
}

// String defines a string setting; env may be empty for a flag that has no
// environment variable.
func (fs *flagSet) String(name, env, def, usage string) *string {
	p := new(string)
	*p = def
	fs.add(name, env, usage, (*stringValue)(p))
	return p
}

func (fs *flagSet) Duration(name, env string, def time.Duration, usage string) *time.Duration {
	p := new(time.Duration)
	*p = def
	fs.add(name, env, usage, (*durationValue)(p))
	return p
}

// Bool defines a boolean setting: true/false, 1/0, yes/no.
func (fs *flagSet) Bool(name, env string, def bool, usage string) *bool {
	p := new(bool)
	*p = def
	fs.add(name, env, usage, (*boolValue)(p))
	return p
}

// parse reads the command line, then the environment for each setting the
// command line left alone, so a flag wins over its variable (even over a
// bad one). Flags may stand before or after positional arguments, as in
// "apikey revoke ID --data DIR"; "--" ends the flags. A bad value in either
// place stops with a message that names the setting.
//
// The environment is read last so that --help shows the real defaults, and
// never a secret such as UPLINK_API_KEY as one.
func (fs *flagSet) parse(args []string) error {
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.FlagSet.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			fs.args = append(fs.args, rest...)
			break
		}
		fs.args = append(fs.args, rest[0])
		args = rest[1:]
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	for _, s := range fs.settings {
		if s.env == "" || onCommandLine[s.name] {
			continue
		}
		if v := fs.getenv(s.env); v != "" {
			if err := s.value.Set(v); err != nil {
				return fmt.Errorf("invalid value %q for $%s: %w", v, s.env, err)
			}
		}
	}
	return nil
}

// Args returns the positional arguments.
func (fs *flagSet) Args() []string { return fs.args }

// NArg returns the number of positional arguments.
func (fs *flagSet) NArg() int { return len(fs.args) }

// Arg returns the i'th positional argument, or "" if there is none.
func (fs *flagSet) Arg(i int) string {
	if i < 0 || i >= len(fs.args) {
		return ""
	}
	return fs.args[i]
}

type stringValue string

func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }
func (s *stringValue) String() string     { return string(*s) }

type boolValue bool

func (b *boolValue) Set(v string) error {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "on":
		*b = true
	case "false", "0", "no", "off":
		*b = false
	default:
		return fmt.Errorf("want true or false")
	}
	return nil
}

func (b *boolValue) String() string { return strconv.FormatBool(bool(*b)) }

// IsBoolFlag lets "--flag" alone mean true, as with the flag package's
// own booleans.
func (b *boolValue) IsBoolFlag() bool { return true }

type durationValue time.Duration

func (d *durationValue) Set(v string) error {
	t, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("not a duration such as 30s, 15m or 24h")
	}
	if t <= 0 {
		return fmt.Errorf("must be positive")
	}
	*d = durationValue(t)
	return nil
}

func (d *durationValue) String() string { return time.Duration(*d).String() }

// serveConfig is the configuration of "uplink serve".
type serveConfig struct {
	backendConfig
	addr        string
	tlsCert     string
	tlsKey      string
	apiKey      string
	adminEmail  string
	adminPass   string
	logFormat   string
	corsOrigins []string
	shutdown    time.Duration
	readHeader  time.Duration
	readIdle    time.Duration
	metricsAddr string
	// webhookPrivate lets webhook endpoints be on loopback and private
	// networks.
	webhookPrivate bool
	processing     processingConfig
	// smtp is where upload emails go; nil sends none.
	smtp *notify.SMTP
	// smtpFrom is their sender.
	smtpFrom string
}

// processingConfig is how videos are processed once uploaded.
type processingConfig struct {
	ffmpegDir string
	workers   int
	previews  string
	timeout   time.Duration
	memory    int64
	// threads is how many threads each ffmpeg encodes with.
	threads int
}

// serveFlags are the settings of "uplink serve", defined on their flag set.
type serveFlags struct {
	fs                      *flagSet
	backend                 backendFlags
	cert, key, apiKey, cors *string
	adminEmail, adminPass   *string
	logFormat               *string
	shutdown                *time.Duration
	readHeader, readIdle    *time.Duration
	metrics                 *string // --metrics-addr
	webhookPrivate          *bool
	ffmpegDir, previews     *string
	workers                 *string
	procTimeout             *time.Duration
	procMemory              *string
	procThreads             *string
	smtpURL, smtpFrom       *string
}

// newServeFlags defines the serve command's settings. Its usage, written
// to out, lists every flag with its environment variable.
func newServeFlags(getenv func(string) string, out io.Writer) *serveFlags {
	fs := newFlagSet("serve", "uplink serve [flags]\n\nRuns the uplink server.", getenv, out)
	return &serveFlags{
		fs:             fs,
		backend:        addBackendFlags(fs),
		cert:           fs.String("tls-cert", "UPLINK_TLS_CERT", "", "TLS certificate file (PEM); with --tls-key, uplink serves HTTPS and HTTP/2"),
		key:            fs.String("tls-key", "UPLINK_TLS_KEY", "", "TLS private key file (PEM)"),
		apiKey:         fs.String("api-key", "UPLINK_API_KEY", "", "an API key to accept besides the managed ones, for scripts and tests (prefer the environment variable: flags show in the process list)"),
		cors:           fs.String("api-cors-origins", "UPLINK_API_CORS_ORIGINS", "", "comma-separated origins (https://site.example) allowed to call the management API from a browser"),
		shutdown:       fs.Duration("shutdown-timeout", "UPLINK_SHUTDOWN_TIMEOUT", 30*time.Second, "how long to let requests in flight finish when stopping"),
		logFormat:      fs.String("log-format", "UPLINK_LOG_FORMAT", "text", "log format: text or json"),
		adminEmail:     fs.String("admin-email", "UPLINK_ADMIN_EMAIL", "", "email of the first dashboard admin, created on the first start (default admin@uplink.local)"),
		adminPass:      fs.String("admin-password", "UPLINK_ADMIN_PASSWORD", "", "password of the first dashboard admin (default: generate one and print it once; prefer the environment variable)"),
		readHeader:     fs.Duration("read-header-timeout", "UPLINK_READ_HEADER_TIMEOUT", 10*time.Second, "how long a client may take to send a request's headers; cuts off clients that dribble them"),
		readIdle:       fs.Duration("read-idle-timeout", "UPLINK_READ_IDLE_TIMEOUT", 60*time.Second, "how long an upload's body may go without a byte arriving before the request is ended; a slow but steady upload is never cut off"),
		webhookPrivate: fs.Bool("webhook-allow-private", "UPLINK_WEBHOOK_ALLOW_PRIVATE", false, "let webhook endpoints be on loopback and private networks (a receiver on this host or the office LAN); off by default, so that admins cannot make uplink call internal services"),
		ffmpegDir:      fs.String("ffmpeg-dir", "UPLINK_FFMPEG_DIR", "", "directory holding ffmpeg and ffprobe (default: find them in PATH); without them, videos are not processed and everything else works"),
		workers:        fs.String("processing-workers", "UPLINK_PROCESSING_WORKERS", "1", "how many videos are processed at once (probe, thumbnail, preview), at the lowest CPU priority"),
		previews:       fs.String("previews", "UPLINK_PREVIEWS", "unplayable", "make an H.264/AAC preview (at most 720p) of the videos a browser cannot play (unplayable), of every video (all), or of none (off)"),
		procTimeout:    fs.Duration("processing-timeout", "UPLINK_PROCESSING_TIMEOUT", 2*time.Hour, "time limit of one attempt at processing a video; ffmpeg is stopped past it and the video marked failed"),
		procMemory:     fs.String("processing-memory", "UPLINK_PROCESSING_MEMORY", "4GiB", "address space each ffmpeg or ffprobe run may use (RLIMIT_AS); a file that needs more fails"),
		procThreads:    fs.String("processing-threads", "UPLINK_PROCESSING_THREADS", "auto", "threads each preview encodes with; auto is one fewer than the CPUs (at least 1), so that a core stays free for uploads"),
		smtpURL:        fs.String("smtp-url", "UPLINK_SMTP_URL", "", "send email about uploads through links (to the admins who ask for it, and receipts to uploaders when a link says so) through this server: smtp://user:password@host:587 upgrades with STARTTLS, smtps://...:465 starts with TLS (prefer the environment variable: flags show in the process list)"),
		smtpFrom:       fs.String("smtp-from", "UPLINK_SMTP_FROM", "", "sender of that email, such as \"Uplink <uplink@example.com>\" (default: the --smtp-url user when it is an address, else uplink@ the SMTP host)"),
		metrics:        fs.String("metrics-addr", "UPLINK_METRICS_ADDR", "", "also serve the Prometheus metrics at /metrics on this address (host:port), without authentication: keep it on a private network (on the main address, /metrics needs an admin session or an API key)"),
	}
}

// parseServe reads the serve command's configuration.
func parseServe(args []string, getenv func(string) string, out io.Writer) (serveConfig, error) {
	f := newServeFlags(getenv, out)
	if err := f.fs.parse(args); err != nil {
		return serveConfig{}, err
	}
	if f.fs.NArg() > 0 {
		return serveConfig{}, fmt.Errorf("unexpected argument %q", f.fs.Arg(0))
	}
	// The public URL stays empty here when not set: serve derives it from
	// the address it actually listens on.
	bc, err := f.backend.config("")
	if err != nil {
		return serveConfig{}, err
	}
	c := serveConfig{
		backendConfig: bc,
		addr:          *f.backend.addr, tlsCert: *f.cert, tlsKey: *f.key,
		apiKey: *f.apiKey, shutdown: *f.shutdown, readHeader: *f.readHeader, readIdle: *f.readIdle,
		adminEmail: *f.adminEmail, adminPass: *f.adminPass, logFormat: *f.logFormat,
		metricsAddr: *f.metrics, webhookPrivate: *f.webhookPrivate,
	}
	if c.processing, err = f.processingConfig(); err != nil {
		return c, err
	}
	if c.smtp, c.smtpFrom, err = f.smtpConfig(); err != nil {
		return c, err
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return c, fmt.Errorf("invalid --log-format %q: want text or json", c.logFormat)
	}
	if c.metricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.metricsAddr); err != nil {
			return c, fmt.Errorf("invalid --metrics-addr %q: want host:port, such as 127.0.0.1:9090", c.metricsAddr)
		}
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return c, fmt.Errorf("--tls-cert and --tls-key must be given together")
	}
	if c.adminEmail != "" {
		if err := account.CheckEmail(c.adminEmail); err != nil {
			return c, fmt.Errorf("invalid UPLINK_ADMIN_EMAIL: %w", err)
		}
	}
	if c.adminPass != "" {
		if err := account.CheckStrength(c.adminPass); err != nil {
			return c, fmt.Errorf("invalid UPLINK_ADMIN_PASSWORD: %w", err)
		}
	}
	if c.apiKey != "" && len(c.apiKey) < 16 {
		return c, fmt.Errorf("UPLINK_API_KEY must be at least 16 characters long")
	}
	for _, o := range strings.Split(*f.cors, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return c, fmt.Errorf("invalid origin %q in --api-cors-origins: want scheme://host[:port]", o)
		}
		c.corsOrigins = append(c.corsOrigins, strings.TrimRight(o, "/"))
	}
	return c, nil
}

// processingConfig validates the processing settings.
func (f *serveFlags) processingConfig() (processingConfig, error) {
	c := processingConfig{ffmpegDir: *f.ffmpegDir, previews: *f.previews, timeout: *f.procTimeout}
	n, err := strconv.Atoi(*f.workers)
	if err != nil || n < 1 || n > 64 {
		return c, fmt.Errorf("invalid --processing-workers %q: want a number from 1 to 64", *f.workers)
	}
	c.workers = n
	switch c.previews {
	case "unplayable", "all", "off":
	default:
		return c, fmt.Errorf("invalid --previews %q: want unplayable, all or off", c.previews)
	}
	if c.memory, err = parseSize(*f.procMemory); err != nil || c.memory < 256<<20 {
		return c, fmt.Errorf("invalid --processing-memory %q: want a size of at least 256MiB, such as 4GiB", *f.procMemory)
	}
	if *f.procThreads == "auto" {
		c.threads = media.SpareCoreThreads()
	} else if c.threads, err = strconv.Atoi(*f.procThreads); err != nil || c.threads < 1 || c.threads > 64 {
		return c, fmt.Errorf("invalid --processing-threads %q: want auto or a number from 1 to 64", *f.procThreads)
	}
	return c, nil
}

// smtpConfig validates the email settings; nil when there are none.
func (f *serveFlags) smtpConfig() (*notify.SMTP, string, error) {
	if *f.smtpURL == "" {
		if *f.smtpFrom != "" {
			return nil, "", fmt.Errorf("--smtp-from needs --smtp-url")
		}
		return nil, "", nil
	}
	c, err := notify.ParseSMTPURL(*f.smtpURL)
	if err != nil {
		// The URL may hold a password: it is not repeated.
		return nil, "", fmt.Errorf("invalid --smtp-url: %w", err)
	}
	from := *f.smtpFrom
	if from == "" {
		from = "uplink@" + c.Host
		if notify.CheckAddress(c.Username) == nil {
			from = c.Username
		}
	}
	if err := notify.CheckAddress(from); err != nil {
		return nil, "", fmt.Errorf("invalid --smtp-from: %w", err)
	}
	return &c, from, nil
}

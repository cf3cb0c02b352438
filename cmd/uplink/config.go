package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
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
			def := s.value.String()
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

// parse applies environment variables, then the command line. A bad value
// in either stops with a message that names the setting.
func (fs *flagSet) parse(args []string) error {
	for _, s := range fs.settings {
		if s.env == "" {
			continue
		}
		if v := fs.getenv(s.env); v != "" {
			if err := s.value.Set(v); err != nil {
				return fmt.Errorf("invalid value %q for $%s: %w", v, s.env, err)
			}
		}
	}
	return fs.Parse(args)
}

type stringValue string

func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }
func (s *stringValue) String() string     { return string(*s) }

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
	addr        string
	dataDir     string
	publicURL   string
	tlsCert     string
	tlsKey      string
	apiKey      string
	lease       time.Duration
	corsOrigins []string
	shutdown    time.Duration
}

// parseServe reads the serve command's configuration.
func parseServe(args []string, getenv func(string) string, out io.Writer) (serveConfig, error) {
	fs := newFlagSet("serve", "uplink serve [flags]\n\nRuns the uplink server.", getenv, out)
	addr := fs.String("addr", "UPLINK_ADDR", "127.0.0.1:8080", "address to listen on (host:port)")
	data := fs.String("data", "UPLINK_DATA", "./data", "directory for the database and uploaded files")
	public := fs.String("public-url", "UPLINK_PUBLIC_URL", "", "URL at which clients reach uplink, used in every absolute URL it hands out (default: http(s)://<addr>)")
	cert := fs.String("tls-cert", "UPLINK_TLS_CERT", "", "TLS certificate file (PEM); with --tls-key, uplink serves HTTPS and HTTP/2")
	key := fs.String("tls-key", "UPLINK_TLS_KEY", "", "TLS private key file (PEM)")
	apiKey := fs.String("api-key", "UPLINK_API_KEY", "", "an API key to accept besides the managed ones, for scripts and tests (prefer the environment variable: flags show in the process list)")
	lease := fs.Duration("upload-lease", "UPLINK_UPLOAD_LEASE", 24*time.Hour, "how long an unfinished upload may go without a new piece before it is abandoned")
	cors := fs.String("api-cors-origins", "UPLINK_API_CORS_ORIGINS", "", "comma-separated origins (https://site.example) allowed to call the management API from a browser")
	shutdown := fs.Duration("shutdown-timeout", "UPLINK_SHUTDOWN_TIMEOUT", 30*time.Second, "how long to let requests in flight finish when stopping")
	if err := fs.parse(args); err != nil {
		return serveConfig{}, err
	}
	if fs.NArg() > 0 {
		return serveConfig{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c := serveConfig{
		addr: *addr, dataDir: *data, publicURL: *public, tlsCert: *cert, tlsKey: *key,
		apiKey: *apiKey, lease: *lease, shutdown: *shutdown,
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return c, fmt.Errorf("--tls-cert and --tls-key must be given together")
	}
	if c.dataDir == "" {
		return c, fmt.Errorf("--data must not be empty")
	}
	if c.publicURL != "" {
		u, err := url.Parse(c.publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, fmt.Errorf("invalid --public-url %q: want an absolute http or https URL", c.publicURL)
		}
		c.publicURL = strings.TrimRight(c.publicURL, "/")
	}
	if c.apiKey != "" && len(c.apiKey) < 16 {
		return c, fmt.Errorf("UPLINK_API_KEY must be at least 16 characters long")
	}
	for _, o := range strings.Split(*cors, ",") {
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

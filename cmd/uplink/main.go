// Command uplink runs the uplink server and manages its data.
//
// All wiring happens here: configuration is read from flags and the
// environment once, and every dependency is built and handed down.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

const usage = `uplink hands out delegated upload links for video, and serves the
api.video upload-token API on SQLite (or PostgreSQL) and local disk.

Usage:
  uplink serve [flags]                  run the server
  uplink apikey create --name NAME      create an API key (printed once)
  uplink apikey list                    list API keys
  uplink apikey revoke ID               revoke an API key
  uplink admin create --email EMAIL     create a dashboard account
  uplink admin reset-password --email EMAIL
                                        set a new dashboard password
  uplink link create --label LABEL      mint an upload link and print its URL
  uplink link list                      list upload links
  uplink link revoke ID                 revoke an upload link
  uplink backup --to FILE               copy the SQLite database while uplink runs
  uplink healthcheck                    exit 0 if the local uplink is ready
  uplink version                        print the version

The apikey, admin and link commands take --data DIR [$UPLINK_DATA] and
--database URL [$UPLINK_DATABASE] like serve.
Run "uplink <command> --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal starts a graceful shutdown; a second one, with
	// the default handling restored, ends the process at once.
	context.AfterFunc(ctx, stop)
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run executes one command and returns the process exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], getenv, stdout, stderr)
	case "apikey":
		err = apikey(ctx, args[1:], getenv, stdout, stderr)
	case "link":
		err = link(ctx, args[1:], getenv, stdout, stderr)
	case "admin":
		err = admin(ctx, args[1:], getenv, stdout, stderr)
	case "backup":
		err = backup(ctx, args[1:], getenv, stdout, stderr)
	case "healthcheck":
		err = healthcheck(ctx, args[1:], getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, version())
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		fmt.Fprintln(stdout)
		newServeFlags(getenv, stdout).fs.Usage()
	default:
		fmt.Fprintf(stderr, "uplink: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "uplink: %v\n", err)
		return 1
	}
	return 0
}

// version describes the build, from the module and VCS information the Go
// toolchain embeds.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v
}

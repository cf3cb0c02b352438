package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/uplink-video/uplink/store"
)

const apikeyUsage = `uplink apikey create --name NAME [--data DIR]
       uplink apikey list [--data DIR]
       uplink apikey revoke ID [--data DIR]

Manages API keys. A new key is printed once; only its hash is kept.`

func apikey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "Usage: %s\n", apikeyUsage)
		return errors.New("apikey needs a subcommand: create, list or revoke")
	}
	sub := args[0]
	switch sub {
	case "create", "list", "revoke":
	case "help", "-h", "-help", "--help":
		fmt.Fprintf(stderr, "Usage: %s\n", apikeyUsage)
		return flag.ErrHelp
	default:
		return fmt.Errorf("unknown apikey subcommand %q: want create, list or revoke", sub)
	}
	fs := newFlagSet("apikey "+sub, apikeyUsage, getenv, stderr)
	data := fs.String("data", "UPLINK_DATA", "./data", "uplink's data directory")
	database := addDatabaseFlag(fs)
	name := new(string)
	if sub == "create" {
		name = fs.String("name", "", "", "a name for the key, to recognise it later")
	}
	if err := fs.parse(args[1:]); err != nil {
		return err
	}
	// Check the arguments before touching the data directory, so that a
	// mistake creates nothing.
	switch {
	case sub == "create" && *name == "":
		return errors.New("apikey create needs --name")
	case sub == "revoke" && fs.NArg() != 1:
		return errors.New("apikey revoke needs the key's ID (see apikey list)")
	case sub != "revoke" && fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := checkDatabase(*database); err != nil {
		return err
	}
	if sub == "create" {
		if *database == "" {
			if err := os.MkdirAll(*data, 0o750); err != nil {
				return fmt.Errorf("create data directory: %w", err)
			}
		}
	} else if err := checkDatabaseExists(*data, *database); err != nil {
		// Listing or revoking must not create a database: the next
		// "uplink serve" would then not know the directory is new.
		return err
	}
	st, err := store.Open(ctx, databaseDSN(*data, *database))
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "create":
		k, secret, err := st.CreateAPIKey(ctx, *name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", secret)
		fmt.Fprintf(stderr, "Created API key %s (%q). It is shown only this once; store it safely.\n", k.ID, k.Name)
	case "list":
		keys, err := st.ListAPIKeys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSTARTS WITH\tCREATED\tLAST USED\tSTATUS")
		for _, k := range keys {
			status := "active"
			if k.RevokedAt != nil {
				status = "revoked " + k.RevokedAt.Format(time.DateTime)
			}
			used := "never"
			if k.LastUsedAt != nil {
				used = k.LastUsedAt.Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\n", k.ID, k.Name, k.Hint, k.CreatedAt.Format(time.DateTime), used, status)
		}
		return tw.Flush()
	case "revoke":
		if err := st.RevokeAPIKey(ctx, fs.Arg(0)); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no active API key %q", fs.Arg(0))
			}
			return err
		}
		fmt.Fprintf(stderr, "Revoked API key %s.\n", fs.Arg(0))
	}
	return nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/account"
)

const adminUsage = `uplink admin create --email EMAIL [--password PASSWORD]
       uplink admin reset-password --email EMAIL [--password PASSWORD]

Manages dashboard accounts. Without --password, a password is generated
and printed once. Resetting a password signs the account out everywhere.`

func admin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "Usage: %s\n", adminUsage)
		return errors.New("admin needs a subcommand: create or reset-password")
	}
	sub := args[0]
	switch sub {
	case "create", "reset-password":
	case "help", "-h", "-help", "--help":
		fmt.Fprintf(stderr, "Usage: %s\n", adminUsage)
		return flag.ErrHelp
	default:
		return fmt.Errorf("unknown admin subcommand %q: want create or reset-password", sub)
	}
	fs := newFlagSet("admin "+sub, adminUsage, getenv, stderr)
	data := fs.String("data", "UPLINK_DATA", "./data", "uplink's data directory")
	database := addDatabaseFlag(fs)
	email := fs.String("email", "", "", "the account's email address")
	password := fs.String("password", "", "", "the new password, at least 12 characters (default: generate one)")
	if err := fs.parse(args[1:]); err != nil {
		return err
	}
	switch {
	case *email == "":
		return fmt.Errorf("admin %s needs --email", sub)
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *password != "" {
		if err := account.CheckStrength(*password); err != nil {
			return err
		}
	}
	if err := checkDatabase(*database); err != nil {
		return err
	}
	if sub == "create" {
		if err := account.CheckEmail(*email); err != nil {
			return err
		}
		if *database == "" {
			if err := os.MkdirAll(*data, 0o750); err != nil {
				return fmt.Errorf("create data directory: %w", err)
			}
		}
	} else if err := checkDatabaseExists(*data, *database); err != nil {
		return err
	}
	st, err := store.Open(ctx, databaseDSN(*data, *database))
	if err != nil {
		return err
	}
	defer st.Close()
	var pw string
	if sub == "create" {
		var a store.Admin
		if a, pw, err = account.Create(ctx, st, *email, *password); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "Created admin %s.\n", a.Email)
	} else {
		if pw, err = account.ResetPassword(ctx, st, *email, *password); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "Reset the password of %s and signed it out everywhere.\n", *email)
	}
	if *password == "" {
		fmt.Fprintln(stdout, pw)
		fmt.Fprintln(stderr, "The generated password is printed above, only this once.")
	}
	return nil
}

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
)

const userUsage = `Usage:
  expertsurvey user add --email E --name N [--role admin|none] [--password-stdin] [store flags]
  expertsurvey user list [store flags]

'add' creates a user as the system actor (the first admin, typically). With --password-stdin the
password is the first line of standard input; otherwise a strong one is generated and printed
once. Other roles are assignments, granted through the API (POST /v1/users/{id}/assignments).

The store flags and their environment variables are those of serve (--mongodb-uri, --database,
--data-dir, --store-addr). The embedded store's files can only be used while the service is not
running; against a running service's embedded store, pass MONGODB_URI with its --store-addr.
`

// stdin is where --password-stdin reads; tests replace it.
var stdin io.Reader = os.Stdin

// storeSettings are the settings of serve that say which store to open.
var storeSettings = []string{"mongodb-uri", "database", "data-dir", "store-addr"}

func userCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	err := runUser(ctx, args, getenv, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // as for serve: -h printed the usage and is not a failure
	}
	return err
}

func runUser(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(stdout, userUsage)
			return nil
		}
		fmt.Fprint(stderr, userUsage)
		return errUsage
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, userUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	cfg := &serveConfig{}
	applyStore := storeFlags(fs, cfg, getenv)
	switch sub {
	case "add":
		email := fs.String("email", "", "email address (required)")
		name := fs.String("name", "", "display name (required)")
		role := fs.String("role", "none", "global role: admin or none")
		fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
		if err := parseUserFlags(fs, args, applyStore); err != nil {
			return err
		}
		nu := auth.NewUser{Email: *email, DisplayName: *name}
		switch *role {
		case "admin":
			nu.GlobalRole = auth.RoleAdmin
		case "none", "":
		default:
			return fmt.Errorf("user add: --role: want admin or none, got %q", *role)
		}
		generated := !*fromStdin
		if *fromStdin {
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("user add: read password: %w", err)
			}
			nu.Password = strings.TrimRight(line, "\r\n")
			if nu.Password == "" {
				return errors.New("user add: --password-stdin: standard input holds no password")
			}
		} else {
			nu.Password = generatePassword()
		}
		return withAuth(ctx, cfg, stderr, func(svc *auth.Service) error {
			u, _, err := svc.BootstrapUser(ctx, nu)
			if err != nil {
				return fmt.Errorf("user add: %w", err)
			}
			fmt.Fprintf(stdout, "created user %s <%s> role %s\n", u.ID, u.Email, roleName(u.GlobalRole))
			if generated {
				fmt.Fprintf(stdout, "password (shown only now): %s\n", nu.Password)
			}
			return nil
		})
	case "list":
		if err := parseUserFlags(fs, args, applyStore); err != nil {
			return err
		}
		return withAuth(ctx, cfg, stderr, func(svc *auth.Service) error {
			return listUsers(ctx, svc, stdout)
		})
	default:
		fmt.Fprintf(stderr, "unknown user command %q\n\n%s", sub, userUsage)
		return errUsage
	}
}

// storeFlags registers serve's store settings on fs, from the same table, so that `user` opens
// the store exactly as `serve` would with the same flags and environment. The returned function
// applies them to cfg after parsing.
func storeFlags(fs *flag.FlagSet, cfg *serveConfig, getenv func(string) string) func() error {
	type bound struct {
		s setting
		v *string
	}
	var flags []bound
	for _, s := range cfg.settings() {
		if !slices.Contains(storeSettings, s.flag) {
			continue
		}
		v := s.def
		if e := getenv(s.env); e != "" {
			v = e
		}
		flags = append(flags, bound{s, fs.String(s.flag, v, s.usage+" (env "+s.env+")")})
	}
	return func() error {
		for _, b := range flags {
			if err := b.s.set(*b.v); err != nil {
				return fmt.Errorf("--%s / %s: %w", b.s.flag, b.s.env, err)
			}
		}
		return nil
	}
}

func parseUserFlags(fs *flag.FlagSet, args []string, applyStore func() error) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return applyStore()
}

// withAuth runs f with the auth service of the store named by cfg.
func withAuth(ctx context.Context, cfg *serveConfig, stderr io.Writer, f func(*auth.Service) error) error {
	return withApp(ctx, cfg, stderr, func(a *app.App) error { return f(a.Auth) })
}

func listUsers(ctx context.Context, svc *auth.Service, stdout io.Writer) error {
	// The command line acts as the system: whoever runs it already holds the database.
	system := auth.Principal{UserID: audit.SystemActor, Admin: true}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLE\tSTATUS\tASSIGNMENTS")
	for after := ""; ; {
		page, err := svc.ListUsers(ctx, system, after, auth.MaxPageSize)
		if err != nil {
			return err
		}
		for _, u := range page.Users {
			status := "active"
			switch {
			case u.Disabled:
				status = "disabled"
			case u.Invited:
				status = "invited"
			}
			var as []string
			for _, a := range u.Assignments {
				s := string(a.Role) + " " + a.Round
				if a.Country != "" {
					s += "/" + a.Country
				}
				as = append(as, s)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.DisplayName, roleName(u.GlobalRole), status, strings.Join(as, ", "))
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	return tw.Flush()
}

func roleName(r auth.Role) string {
	if r == auth.RoleNone {
		return "none"
	}
	return string(r)
}

// generatePassword returns 144 random bits as 24 URL-safe characters: far beyond guessing, and
// safe to paste into any shell or form.
func generatePassword() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

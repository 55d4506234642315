package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/people"
)

const usersUsage = `Usage:
  expertsurvey users import FILE [--dry-run] [--format csv|xlsx] [store flags]
  expertsurvey users copy-assignments --from ROUND --to ROUND [--dry-run] [store flags]

'import' reads a roster (CSV or XLSX, columns email, name, role, round, countries) as POST
/v1/users/import does: the whole file is checked first, every problem is listed by row and
column and nothing is written when there is any; new people are created invited (their
invitation tokens are printed, once, as "invitation EMAIL TOKEN" lines), existing people gain the
assignments they lack; running it again writes nothing. --dry-run checks and reports only.

'copy-assignments' grants the coordinators, experts and reviewers of one round the same roles in
another, for the countries it has, as POST /v1/rounds/{round}/assignments/copy does.

Both act as the system actor, audited as such. 'user add|list' are the one-by-one commands.
`

// usersCommand runs `expertsurvey users ...`; `users add|list` are `user add|list`.
func usersCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprint(w, usersUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	sub, args := args[0], args[1:]
	cfg := &serveConfig{}
	fs := flag.NewFlagSet("users "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usersUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	dryRun := fs.Bool("dry-run", false, "check and report, writing nothing")
	applyStore := storeFlags(fs, cfg, getenv)
	var err error
	switch sub {
	case "add", "list":
		return userCommand(ctx, append([]string{sub}, args...), getenv, stdout, stderr)
	case "import":
		format := fs.String("format", "", "csv or xlsx (default: from the file's extension)")
		var files []string
		if files, err = parseInterleaved(fs, args); err == nil {
			if len(files) != 1 {
				fs.Usage()
				return errUsage
			}
			if err = applyStore(); err == nil {
				err = usersImport(ctx, cfg, files[0], *format, *dryRun, stdout, stderr)
			}
		}
	case "copy-assignments":
		from := fs.String("from", "", "the round whose assignments are copied (required)")
		to := fs.String("to", "", "the round that gains them (required)")
		if err = parseUserFlags(fs, args, applyStore); err == nil {
			if *from == "" || *to == "" {
				fs.Usage()
				return errUsage
			}
			err = usersCopy(ctx, cfg, *from, *to, *dryRun, stdout, stderr)
		}
	default:
		fmt.Fprintf(stderr, "unknown users command %q\n\n%s", sub, usersUsage)
		return errUsage
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func usersImport(ctx context.Context, cfg *serveConfig, file, format string, dryRun bool, stdout, stderr io.Writer) error {
	if format == "" {
		format = strings.TrimPrefix(strings.ToLower(filepath.Ext(file)), ".")
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := people.Parse(f, format)
	if err != nil {
		return printRosterProblems(stderr, file, err)
	}
	ctx = audit.WithOrigin(ctx, audit.SystemActor, "")
	var res *people.Result
	err = withApp(ctx, cfg, stderr, func(a *app.App) error {
		var err error
		res, err = a.People.Import(ctx, systemPrincipal, rows, dryRun)
		return err
	})
	if err != nil {
		return printRosterProblems(stderr, file, err)
	}
	verb := "imported"
	if dryRun {
		verb = "checked (dry run, nothing written)"
	}
	fmt.Fprintf(stdout, "%s %s: %d rows, %d people: %d created, %d updated, %d unchanged; %d assignments granted\n",
		verb, file, res.Rows, res.Users, res.Created, res.Updated, res.Unchanged, res.Granted)
	for _, inv := range res.Invitations {
		fmt.Fprintf(stdout, "invitation %s %s\n", inv.Email, inv.Token)
	}
	return nil
}

// printRosterProblems lists every problem of a refused roster, one per line.
func printRosterProblems(stderr io.Writer, file string, err error) error {
	var perr *people.Error
	if !errors.As(err, &perr) {
		return fmt.Errorf("%s: nothing imported: %w", file, err)
	}
	fmt.Fprintf(stderr, "%s: %d problem(s):\n", file, len(perr.Problems))
	for _, p := range perr.Problems {
		fmt.Fprintf(stderr, "  row %d, column %s: %s\n", p.Row, p.Column, p.Message)
	}
	return fmt.Errorf("%s: nothing imported: fix the %d problem(s) above", file, len(perr.Problems))
}

func usersCopy(ctx context.Context, cfg *serveConfig, from, to string, dryRun bool, stdout, stderr io.Writer) error {
	ctx = audit.WithOrigin(ctx, audit.SystemActor, "")
	var res *people.CopyResult
	err := withApp(ctx, cfg, stderr, func(a *app.App) error {
		var err error
		res, err = a.People.CopyAssignments(ctx, systemPrincipal, from, to, dryRun)
		return err
	})
	if err != nil {
		return fmt.Errorf("copy assignments from %s to %s: %w", from, to, err)
	}
	verb := "copied"
	if dryRun {
		verb = "would copy (dry run, nothing written)"
	}
	fmt.Fprintf(stdout, "%s assignments of %d users from %s to %s: %d granted, %d already there, %d skipped\n",
		verb, res.Users, from, to, res.Granted, res.Unchanged, len(res.Skipped))
	for _, s := range res.Skipped {
		fmt.Fprintf(stdout, "skipped %s %s %s: %s\n", s.Email, s.Role, s.Country, s.Reason)
	}
	return nil
}

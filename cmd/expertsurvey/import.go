package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
)

const importUsage = `Usage:
  expertsurvey import questionnaire FILE [--publish] [--version V] [--format yaml|json|xlsx] [store flags]
  expertsurvey import answers --round R FILE [--format csv|xlsx] [store flags]

Imports a questionnaire definition file (YAML, JSON or XLSX; the format comes from the file's
extension unless --format names it) as a new version of the questionnaire named by the file's
code, creating the questionnaire when it is new. The version is a draft, or published at once
with --publish (back-filled historical instruments). A file with any problem imports nothing:
every problem is printed and the command exits non-zero.

import answers back-fills a round from a CSV file or an XLSX workbook (first sheet) in the long
format: one row per answer, with the columns country, indicator, option, value, text,
not_applicable, na_reason, comment and source_kind, source_title, source_reference, source_url,
source_date, source_accessed, source_language, source_excerpt (further rows of the same country
and indicator add sources). Every row is validated first and nothing is written when any row is
invalid; then each country's sheet is written in one step, with a progress bar. Importing the
same file again writes nothing.

The store flags and their environment variables are those of serve (--mongodb-uri, --database,
--data-dir, --store-addr). The embedded store's files can only be used while the service is not
running; against a running service's embedded store, pass MONGODB_URI with its --store-addr.
The change is recorded in the audit trail as made by "system".

`

// importCmd runs `expertsurvey import ...`.
func importCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(stdout, importUsage)
		return nil
	}
	if len(args) == 0 || (args[0] != "questionnaire" && args[0] != "answers") {
		fmt.Fprint(stderr, importUsage)
		return errUsage
	}
	if args[0] == "answers" {
		return importAnswers(ctx, args[1:], getenv, stdout, stderr)
	}
	cfg := &serveConfig{}
	fs := flag.NewFlagSet("import questionnaire", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, importUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	publish := fs.Bool("publish", false, "publish the new version at once")
	version := fs.String("version", "", "the new version's label (default: the next free <year>.<n>)")
	format := fs.String("format", "", "yaml, json or xlsx (default: from the file's extension)")
	applyStore := storeFlags(fs, cfg, getenv)
	files, err := parseInterleaved(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(files) != 1 {
		fs.Usage()
		return errUsage
	}
	if err := applyStore(); err != nil {
		return err
	}
	file := files[0]
	if *format == "" {
		*format = strings.TrimPrefix(strings.ToLower(filepath.Ext(file)), ".")
	}
	if *format == "yml" {
		*format = questionnaire.FormatYAML
	}
	if !slices.Contains(questionnaire.FileFormats, *format) {
		return fmt.Errorf("%s: unknown format %q: name it with --format yaml, json or xlsx", file, *format)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()

	ctx = audit.WithOrigin(ctx, audit.SystemActor, "")
	var v *questionnaire.Version
	err = withApp(ctx, cfg, stderr, func(a *app.App) error {
		var err error
		v, err = a.Questionnaires.Import(ctx, systemPrincipal, f, questionnaire.ImportOptions{Format: *format, Version: *version, Publish: *publish})
		return err
	})
	var verr *questionnaire.ValidationError
	if errors.As(err, &verr) {
		fmt.Fprintf(stderr, "%s: %d problem(s):\n", file, len(verr.Problems))
		for _, p := range verr.Problems {
			fmt.Fprintf(stderr, "  %s\n", p)
		}
		return fmt.Errorf("%s: nothing imported: fix the %d problem(s) above", file, len(verr.Problems))
	}
	if err != nil {
		return fmt.Errorf("%s: nothing imported: %w", file, err)
	}
	fmt.Fprintf(stdout, "imported %s: questionnaire %s, version %s (%s)\n", file, v.Questionnaire, v.Version, v.Status)
	return nil
}

// systemPrincipal is who the command line acts as: whoever runs it already holds the database.
var systemPrincipal = auth.Principal{UserID: audit.SystemActor, Admin: true}

// importAnswers runs `expertsurvey import answers`.
func importAnswers(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := &serveConfig{}
	fs := flag.NewFlagSet("import answers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, importUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	roundID := fs.String("round", "", "the round to import into (required)")
	format := fs.String("format", "", "csv or xlsx (default: from the file's extension)")
	applyStore := storeFlags(fs, cfg, getenv)
	files, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(files) != 1 || *roundID == "" {
		fs.Usage()
		return errUsage
	}
	if err := applyStore(); err != nil {
		return err
	}
	file := files[0]
	if *format == "" {
		*format = strings.TrimPrefix(strings.ToLower(filepath.Ext(file)), ".")
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := round.ParseImport(f, *format)
	if err != nil {
		return printProblems(stderr, file, err)
	}
	fmt.Fprintf(stderr, "%s: %d rows read; validating...\n", file, len(rows))
	ctx = audit.WithOrigin(ctx, audit.SystemActor, "")
	var res *round.ImportResult
	err = withApp(ctx, cfg, stderr, func(a *app.App) error {
		var err error
		res, err = a.Rounds.ImportAnswers(ctx, systemPrincipal, *roundID, rows, progressBar(stderr))
		return err
	})
	if err != nil {
		return printProblems(stderr, file, err)
	}
	fmt.Fprintf(stdout, "imported %s into round %s: %d answers, %d written in %d sheets, %d unchanged\n",
		file, *roundID, res.Answers, res.Written, res.Sheets, res.Unchanged)
	return nil
}

// printProblems lists every problem of a refused import.
func printProblems(stderr io.Writer, file string, err error) error {
	var verr *round.ValidationError
	if errors.As(err, &verr) {
		fmt.Fprintf(stderr, "%s: %d problem(s):\n", file, len(verr.Problems))
		for _, p := range verr.Problems {
			fmt.Fprintf(stderr, "  %s: %s\n", p.Field, p.Reason)
		}
		return fmt.Errorf("%s: nothing imported: fix the %d problem(s) above", file, len(verr.Problems))
	}
	return fmt.Errorf("%s: nothing imported: %w", file, err)
}

// progressBar draws the count of sheets written on one line of w.
func progressBar(w io.Writer) func(done, total int) {
	return func(done, total int) {
		const width = 30
		filled := width * done / total
		fmt.Fprintf(w, "\rwriting sheets [%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
		if done == total {
			fmt.Fprintln(w)
		}
	}
}

// parseInterleaved parses flags given before and after the positional arguments
// ("import questionnaire FILE --publish" reads naturally), which package flag alone stops at.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

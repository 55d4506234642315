package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/questionnaire"
)

const importUsage = `Usage:
  expertsurvey import questionnaire FILE [--publish] [--version V] [--format yaml|json|xlsx] [store flags]

Imports a questionnaire definition file (YAML, JSON or XLSX; the format comes from the file's
extension unless --format names it) as a new version of the questionnaire named by the file's
code, creating the questionnaire when it is new. The version is a draft, or published at once
with --publish (back-filled historical instruments). A file with any problem imports nothing:
every problem is printed and the command exits non-zero.

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
	if len(args) == 0 || args[0] != "questionnaire" {
		fmt.Fprint(stderr, importUsage)
		return errUsage
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

	// Only the store's errors interest the user of a command; its routine logs would bury the
	// result.
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	store, err := mongodb.Open(ctx, mongodb.Config{
		URI: cfg.MongoURI, Database: cfg.Database, DataDir: cfg.DataDir, EmbeddedAddr: cfg.StoreAddr, Logger: logger,
	})
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = store.Close(closeCtx)
	}()
	if err := store.EnsureIndexes(ctx); err != nil {
		return err
	}
	svc, err := questionnaire.NewService(questionnaire.ServiceConfig{Store: store})
	if err != nil {
		return err
	}
	ctx = audit.WithOrigin(ctx, audit.SystemActor, "")
	system := auth.Principal{UserID: audit.SystemActor, Admin: true}
	v, err := svc.Import(ctx, system, f, questionnaire.ImportOptions{Format: *format, Version: *version, Publish: *publish})
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

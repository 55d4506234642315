package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/export"
	"github.com/expertsurvey/expertsurvey/publish"
)

const exportUsage = `Usage:
  expertsurvey export --round R [--format xlsx|csv|json|ndjson] [--shape long|wide|codebook] [--series] [-o FILE] [store flags]

Exports a round for researchers (docs/exports.md): long (a row per country and indicator), wide
(a row per country) or the codebook, streamed to FILE or standard output. A published round
exports from its frozen snapshots; an unpublished one from its sheets as they stand (locked
sheets from their snapshots), and the command says so on standard error: the figures are
provisional. --series puts the published rounds of the same questionnaire before it in the same
file (a time series). Text cells of CSV and XLSX are escaped against formula injection.

`

// exportCmd runs `expertsurvey export`.
func exportCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := &serveConfig{}
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, exportUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	roundID := fs.String("round", "", "the round to export (required)")
	format := fs.String("format", "csv", "csv, xlsx, json or ndjson")
	shape := fs.String("shape", "long", "long, wide or codebook")
	out := fs.String("o", "", "the file to write (default: standard output)")
	series := fs.Bool("series", false, "export the round with the published rounds of its questionnaire before it (a time series in one file)")
	applyStore := storeFlags(fs, cfg, getenv)
	rest, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if *roundID == "" || len(rest) > 0 {
		fs.Usage()
		return errUsage
	}
	if err := applyStore(); err != nil {
		return err
	}
	ctx = audit.WithOrigin(ctx, audit.SystemActor, "")
	return withApp(ctx, cfg, stderr, func(a *app.App) error {
		e, err := a.Publish.PrepareExport(ctx, &systemPrincipal, publish.ExportRequest{Round: *roundID, Format: export.Format(*format), Shape: publish.Shape(*shape), Series: *series})
		if err != nil {
			return err
		}
		if e.Provisional {
			fmt.Fprintf(stderr, "round %s is %s: the figures are provisional (live, not frozen)\n", *roundID, e.Round.Status)
		}
		if *out == "" {
			return e.Write(stdout)
		}
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		if err := e.Write(f); err != nil {
			f.Close()
			os.Remove(*out) // an incomplete file must not look like an export
			return err
		}
		return f.Close()
	})
}

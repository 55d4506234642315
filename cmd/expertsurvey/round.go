package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/round"
)

const roundUsage = `Usage:
  expertsurvey round create --id ID --name NAME --questionnaire CODE --version V --countries AT,BE,...
                            [--reference-date 2025] [--answers-due YYYY-MM-DD] [--reviews-due YYYY-MM-DD]
                            [--previous ROUND] [--blind-review] [--reviewers-per-answer N] [store flags]
  expertsurvey round open ID [store flags]
  expertsurvey round close ID [store flags]
  expertsurvey round list [store flags]

The commands go through the same service as POST /v1/rounds and POST /v1/rounds/{round}/status:
the same checks (every invalid field is listed), the same status changes (opening carries the
previous round's answers forward) and one audit event per change, by the system actor.
`

// roundCommand runs `expertsurvey round ...`.
func roundCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		if len(args) == 0 {
			fmt.Fprint(stderr, roundUsage)
			return errUsage
		}
		fmt.Fprint(stdout, roundUsage)
		return nil
	}
	sub, args := args[0], args[1:]
	cfg := &serveConfig{}
	fs := flag.NewFlagSet("round "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, roundUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	applyStore := storeFlags(fs, cfg, getenv)
	ctx = audit.WithOrigin(ctx, audit.SystemActor, "")
	var err error
	switch sub {
	case "create":
		var in round.RoundInput
		fs.StringVar(&in.ID, "id", "", "round id: lowercase letters, digits, - and _ (required)")
		fs.StringVar(&in.Name, "name", "", "display name (required)")
		fs.StringVar(&in.Questionnaire, "questionnaire", "", "questionnaire code (required)")
		fs.StringVar(&in.QuestionnaireVer, "version", "", "published questionnaire version (required)")
		countries := fs.String("countries", "", "the round's countries, ISO codes separated by commas (required)")
		fs.StringVar(&in.ReferenceDate, "reference-date", "", "the year or date the answers describe")
		fs.StringVar(&in.AnswersDue, "answers-due", "", "answers due, YYYY-MM-DD")
		fs.StringVar(&in.ReviewsDue, "reviews-due", "", "reviews due, YYYY-MM-DD")
		fs.StringVar(&in.Previous, "previous", "", "the round answers carry forward from")
		fs.BoolVar(&in.BlindReview, "blind-review", false, "hide experts and reviewers from each other")
		fs.IntVar(&in.ReviewersPerAnswer, "reviewers-per-answer", 0, "reviewers per answer, 0 to 5")
		if err = parseUserFlags(fs, args, applyStore); err != nil {
			break
		}
		for c := range strings.SplitSeq(*countries, ",") {
			if c = strings.TrimSpace(c); c != "" {
				in.Countries = append(in.Countries, c)
			}
		}
		err = withApp(ctx, cfg, stderr, func(a *app.App) error {
			r, err := a.Rounds.CreateRound(ctx, systemPrincipal, in)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "created round %s (%s %s, %d countries), status %s\n", r.ID, r.Questionnaire, r.QuestionnaireVer, len(r.Countries), r.Status)
			return nil
		})
	case "open", "close":
		var ids []string
		if ids, err = parseInterleaved(fs, args); err != nil {
			break
		}
		if len(ids) != 1 {
			fs.Usage()
			return errUsage
		}
		if err = applyStore(); err != nil {
			break
		}
		to := map[string]round.Status{"open": round.StatusOpen, "close": round.StatusClosed}[sub]
		err = withApp(ctx, cfg, stderr, func(a *app.App) error {
			cur, err := a.Rounds.Round(ctx, systemPrincipal, ids[0])
			if err != nil {
				return err
			}
			// The version read is the precondition, as If-Match is over HTTP: a change made
			// meanwhile refuses this one rather than being overwritten.
			r, err := a.Rounds.SetStatus(ctx, systemPrincipal, cur.ID, to, cur.Version)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "round %s is %s (version %d)\n", r.ID, r.Status, r.Version)
			return nil
		})
	case "list":
		if err = parseUserFlags(fs, args, applyStore); err != nil {
			break
		}
		err = withApp(ctx, cfg, stderr, func(a *app.App) error {
			rs, err := a.Rounds.Rounds(ctx, systemPrincipal)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tQUESTIONNAIRE\tVERSION\tCOUNTRIES\tPREVIOUS\tNAME")
			for _, r := range rs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Status, r.Questionnaire, r.QuestionnaireVer, len(r.Countries), orDash(r.Previous), r.Name)
			}
			return tw.Flush()
		})
	default:
		fmt.Fprintf(stderr, "unknown round command %q\n\n%s", sub, roundUsage)
		return errUsage
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return roundFailure(stderr, err)
}

// roundFailure lists every invalid field of a refused round, as the API's errors do.
func roundFailure(stderr io.Writer, err error) error {
	var verr *round.ValidationError
	if errors.As(err, &verr) {
		for _, p := range verr.Problems {
			fmt.Fprintf(stderr, "  %s: %s\n", p.Field, p.Reason)
		}
		return fmt.Errorf("round refused: %d invalid field(s), listed above", len(verr.Problems))
	}
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
)

// BenchmarkBackupRestore40k backs up and restores the store of the load test's bulk import:
// 236 countries x 170 indicators (40,120 answers, each with a source). The figures are in
// docs/operations.md:
//
//	go test -run '^$' -bench BackupRestore40k -benchtime 1x ./cmd/expertsurvey/
func BenchmarkBackupRestore40k(b *testing.B) {
	src := b.TempDir()
	fill40k(b, src)
	archive := filepath.Join(b.TempDir(), "es.tar.gz")
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		var out bytes.Buffer
		if err := run(context.Background(), []string{"backup", "-o", archive, "--data-dir", src}, func(string) string { return "" }, &out, os.Stderr); err != nil {
			b.Fatal(err)
		}
		b.Logf("backup:\n%s", out.String()[max(0, out.Len()-400):])
		backup := time.Since(start)
		start = time.Now()
		if err := run(context.Background(), []string{"restore", archive, "--data-dir", b.TempDir()}, func(string) string { return "" }, &bytes.Buffer{}, os.Stderr); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(backup.Seconds(), "backup-s")
		b.ReportMetric(time.Since(start).Seconds(), "restore-s")
	}
	if fi, err := os.Stat(archive); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "archive-MiB")
	}
}

func fill40k(b *testing.B, dir string) {
	ctx := audit.WithOrigin(context.Background(), audit.SystemActor, "bench")
	store, err := mongodb.Open(ctx, mongodb.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = store.Close(context.Background()) }()
	a, err := app.New(store, app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: "k:" + auth.GenerateKey()})
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Prepare(ctx); err != nil {
		b.Fatal(err)
	}
	admin := auth.Principal{UserID: audit.SystemActor, Admin: true}
	const indicators = 170
	score := func(f float64) *float64 { return &f }
	def := &questionnaire.Definition{Code: "bench", Title: questionnaire.Text{"en": "Bench"}, DefaultLanguage: "en"}
	area := &questionnaire.Group{Code: "A", Title: questionnaire.Text{"en": "Area"}}
	for i := range indicators {
		area.Children = append(area.Children, questionnaire.Node{Indicator: &questionnaire.Indicator{
			Code: fmt.Sprintf("I%03d", i), Title: questionnaire.Text{"en": "Indicator"}, Question: questionnaire.Text{"en": "Question?"},
			Type: questionnaire.SingleChoice, SourceRequired: true,
			Options: []questionnaire.Option{{Code: "full", Label: questionnaire.Text{"en": "Full"}, Score: score(100)}, {Code: "partial", Label: questionnaire.Text{"en": "Partial"}, Score: score(50)}},
		}})
	}
	def.Tree = []questionnaire.Node{{Group: area}}
	var buf bytes.Buffer
	if err := questionnaire.EncodeDefinition(&buf, def, questionnaire.FormatJSON); err != nil {
		b.Fatal(err)
	}
	if _, err := a.Questionnaires.Import(ctx, admin, &buf, questionnaire.ImportOptions{Format: questionnaire.FormatJSON, Version: "1", Publish: true}); err != nil {
		b.Fatal(err)
	}
	countries := make([]string, 236)
	for i := range countries {
		countries[i] = string(rune('A'+i/676)) + string(rune('A'+i/26%26)) + string(rune('A'+i%26))
	}
	r, err := a.Rounds.CreateRound(ctx, admin, round.RoundInput{ID: "bulk", Name: "Bulk", Questionnaire: "bench", QuestionnaireVer: "1", Countries: countries})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.Rounds.SetStatus(ctx, admin, "bulk", round.StatusOpen, r.Version); err != nil {
		b.Fatal(err)
	}
	var rows []round.ImportRow
	for _, c := range countries {
		for i := range indicators {
			rows = append(rows, round.ImportRow{Line: len(rows) + 2, Values: map[string]string{
				"country": c, "indicator": fmt.Sprintf("I%03d", i), "option": "partial",
				"comment":     fmt.Sprintf("%s, indicator %d: the 2019 edition's answer, with exceptions for some sectors since the reform.", c, i),
				"source_kind": "law", "source_title": fmt.Sprintf("Act %d of 2018 (%s)", i, c), "source_url": fmt.Sprintf("https://example.org/%s/%d", c, i)}})
		}
	}
	res, err := a.Rounds.ImportAnswers(ctx, admin, "bulk", rows, nil)
	if err != nil {
		b.Fatal(err)
	}
	if res.Written != len(rows) {
		b.Fatalf("import wrote %d answers of %d", res.Written, len(rows))
	}
}

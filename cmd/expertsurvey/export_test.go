package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/round"
)

// TestExportCommand exports an open round (provisional, said on stderr) as CSV and XLSX files
// and its codebook, and reads them back.
func TestExportCommand(t *testing.T) {
	dataDir := t.TempDir()
	files := t.TempDir()
	if _, stderr, err := runImport(t, dataDir, "../../questionnaire/testdata/mini_index.yaml", "--publish", "--version", "1"); err != nil {
		t.Fatalf("import questionnaire: %v\n%s", err, stderr)
	}
	s := openData(t, dataDir)
	ctx := audit.WithOrigin(context.Background(), audit.SystemActor, "")
	a, err := app.New(s, app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: "t:" + auth.GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	r, err := a.Rounds.CreateRound(ctx, systemPrincipal, round.RoundInput{ID: "e1", Name: "E", Questionnaire: "mini-index", QuestionnaireVer: "1", Countries: []string{"AT", "BE"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Rounds.SetStatus(ctx, systemPrincipal, "e1", round.StatusOpen, r.Version); err != nil {
		t.Fatal(err)
	}
	zero := 0
	if _, err := a.Rounds.SaveAnswer(ctx, systemPrincipal, "e1", "AT", "LMM_1", round.AnswerInput{Option: "full", Comment: "+1 since 2019"}, &zero); err != nil {
		t.Fatal(err)
	}
	_ = s.Close(context.Background())

	exp := func(args ...string) (string, string, error) {
		var out, errOut strings.Builder
		err := run(context.Background(), append([]string{"export", "--data-dir", dataDir}, args...), func(string) string { return "" }, &out, &errOut)
		return out.String(), errOut.String(), err
	}
	csvPath := filepath.Join(files, "e1.csv")
	if _, stderr, err := exp("--round", "e1", "--format", "csv", "--shape", "long", "-o", csvPath); err != nil || !strings.Contains(stderr, "provisional") {
		t.Fatalf("export csv: %v\n%s", err, stderr)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, row := range rows {
		for _, cell := range row {
			if cell == "'+1 since 2019" {
				found = true
			}
		}
	}
	if !found || len(rows) < 2 {
		t.Fatalf("CSV export: %d rows, escaped comment found %v", len(rows), found)
	}
	xlsxPath := filepath.Join(files, "e1.xlsx")
	if _, stderr, err := exp("--round", "e1", "--format", "xlsx", "--shape", "wide", "-o", xlsxPath); err != nil {
		t.Fatalf("export xlsx: %v\n%s", err, stderr)
	}
	x, err := excelize.OpenFile(xlsxPath)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if xr, err := x.GetRows("wide"); err != nil || len(xr) != 2 {
		t.Fatalf("XLSX wide export: %v, %d rows (AT only: BE has no sheet)", err, len(xr))
	}
	out, _, err := exp("--round", "e1", "--format", "json", "--shape", "codebook")
	if err != nil || !strings.Contains(out, "LMM_1") {
		t.Fatalf("codebook to stdout: %v %.200s", err, out)
	}
	if _, _, err := exp("--round", "e1", "--format", "pdf"); err == nil {
		t.Fatal("an unknown format was accepted")
	}

	// Every export the command wrote is in the audit trail, by the system actor; the refused
	// one is not.
	s = openData(t, dataDir)
	events, err := s.ListEvents(context.Background(), audit.Filter{Entity: "export/e1"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range events {
		if ev.Action != "round.export" || ev.Actor != audit.SystemActor {
			t.Fatalf("export event: %+v", ev)
		}
		var rec struct{ Format, Shape string }
		if err := json.Unmarshal(ev.After, &rec); err != nil {
			t.Fatal(err)
		}
		got = append(got, rec.Format+" "+rec.Shape)
	}
	if want := []string{"csv long", "xlsx wide", "json codebook"}; !slices.Equal(got, want) {
		t.Fatalf("audited exports %v, want %v", got, want)
	}
}

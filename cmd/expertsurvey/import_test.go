package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
)

func runImport(t *testing.T, dataDir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut strings.Builder
	args = append([]string{"import", "questionnaire"}, args...)
	args = append(args, "--data-dir", dataDir)
	err = run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// openData opens the embedded store of a data directory after the command closed it.
func openData(t *testing.T, dataDir string) *mongodb.Store {
	t.Helper()
	s, err := mongodb.Open(context.Background(), mongodb.Config{DataDir: dataDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func TestImportQuestionnaireCommand(t *testing.T) {
	dataDir := t.TempDir()
	files := t.TempDir()
	good, err := os.ReadFile("../../questionnaire/testdata/mini_index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	goodPath := filepath.Join(files, "mini.yaml")
	if err := os.WriteFile(goodPath, good, 0o600); err != nil {
		t.Fatal(err)
	}
	// German is not among the file's languages and no text has it: a problem per text.
	broken := bytes.Replace(good, []byte("default_language: en"), []byte("default_language: de"), 1)
	brokenPath := filepath.Join(files, "broken.yml")
	if err := os.WriteFile(brokenPath, broken, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := questionnaire.DecodeDefinition(bytes.NewReader(broken), "yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := d.Validate()

	// A broken file: every problem printed, a non-zero exit, nothing written.
	_, stderr, err := runImport(t, dataDir, brokenPath, "--publish")
	if err == nil || !strings.Contains(err.Error(), "nothing imported") {
		t.Fatalf("broken file: %v", err)
	}
	var listed int
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "  ") {
			listed++
		}
	}
	if listed != len(want) || !strings.Contains(stderr, want[0].String()) {
		t.Fatalf("%d problems printed, want %d:\n%s", listed, len(want), stderr)
	}

	// A good file, flags after the file name.
	stdout, stderr, err := runImport(t, dataDir, goodPath, "--publish", "--version", "2019")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "questionnaire mini-index, version 2019 (published)") {
		t.Fatalf("stdout: %q", stdout)
	}
	// A workbook, its format from the extension.
	var book bytes.Buffer
	goodDef, err := questionnaire.DecodeDefinition(bytes.NewReader(good), "yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := questionnaire.EncodeDefinitionXLSX(&book, goodDef); err != nil {
		t.Fatal(err)
	}
	bookPath := filepath.Join(files, "mini.xlsx")
	if err := os.WriteFile(bookPath, book.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if stdout, stderr, err := runImport(t, dataDir, bookPath, "--version", "2020"); err != nil || !strings.Contains(stdout, "version 2020 (draft)") {
		t.Fatalf("workbook import: %v %q\n%s", err, stdout, stderr)
	}
	// The same version again is refused; an unknown format is refused before the store opens.
	if _, _, err := runImport(t, dataDir, "--version", "2019", goodPath); err == nil || !strings.Contains(err.Error(), "already has a version") {
		t.Fatalf("second import of 2019: %v", err)
	}
	if _, _, err := runImport(t, dataDir, filepath.Join(files, "mini.txt")); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Fatalf("unknown format: %v", err)
	}
	if _, _, err := runImport(t, dataDir); !errors.Is(err, errUsage) {
		t.Fatalf("no file: %v", err)
	}

	// What the command wrote: the questionnaire and one published version, by the system actor;
	// the broken file wrote nothing.
	s := openData(t, dataDir)
	ctx := context.Background()
	v, err := s.Version(ctx, "mini-index", "2019")
	if err != nil || v.Status != questionnaire.StatusPublished || v.CreatedBy != audit.SystemActor {
		t.Fatalf("stored version %+v, %v", v, err)
	}
	vs, err := s.Versions(ctx, "mini-index")
	if err != nil || len(vs) != 2 {
		t.Fatalf("versions %+v, %v", vs, err)
	}
	events, err := s.ListEvents(ctx, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 || events[0].Action != questionnaire.ActionCreate || events[1].Action != questionnaire.ActionImportVersion || events[1].Actor != audit.SystemActor {
		t.Fatalf("events %+v", events)
	}
}

func TestImportAnswersCommand(t *testing.T) {
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
	if _, err := a.Rounds.CreateRound(ctx, systemPrincipal, round.RoundInput{ID: "y2019", Name: "2019", Questionnaire: "mini-index", QuestionnaireVer: "1", Countries: []string{"AT", "BE"}}); err != nil {
		t.Fatal(err)
	}
	_ = s.Close(context.Background())

	csv := filepath.Join(files, "past.csv")
	good := "country,indicator,option,value,source_kind,source_title\nAT,LMM_1,full,,law,Act\nAT,LMM_3,,4,,\nBE,LMM_1,none,,,\n"
	if err := os.WriteFile(csv, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	answers := func(args ...string) (string, string, error) {
		var out, errOut strings.Builder
		err := run(context.Background(), append([]string{"import", "answers", "--data-dir", dataDir}, args...), func(string) string { return "" }, &out, &errOut)
		return out.String(), errOut.String(), err
	}
	out, stderr, err := answers("--round", "y2019", csv)
	if err != nil || !strings.Contains(out, "3 written in 2 sheets") || !strings.Contains(stderr, "writing sheets [") {
		t.Fatalf("import: %v\nstdout %s\nstderr %s", err, out, stderr)
	}
	if out, _, err = answers("--round", "y2019", csv); err != nil || !strings.Contains(out, "0 written in 0 sheets, 3 unchanged") {
		t.Fatalf("second import: %v %s", err, out)
	}
	bad := filepath.Join(files, "bad.csv")
	if err := os.WriteFile(bad, []byte(good+"BE,NOPE,x,,,\nXX,LMM_1,full,,,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err = answers("--round", "y2019", bad)
	if err == nil || !strings.Contains(stderr, "2 problem(s)") || !strings.Contains(stderr, "row 5: indicator") || !strings.Contains(stderr, "row 6: country") {
		t.Fatalf("bad import: %v\n%s", err, stderr)
	}
	if _, _, err := answers(csv); !errors.Is(err, errUsage) {
		t.Fatalf("no --round: %v", err)
	}
}

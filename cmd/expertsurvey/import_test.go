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

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/questionnaire"
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

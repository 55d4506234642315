package main

import (
	"context"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/mongodb"
)

func TestRoundCommands(t *testing.T) {
	dataDir := t.TempDir()
	if _, stderr, err := runImport(t, dataDir, "../../questionnaire/testdata/mini_index.yaml", "--publish", "--version", "1"); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	// Every invalid field is listed, as the API's errors list them.
	_, stderr, err := runCLI(t, dataDir, "round", "create", "--id", "Bad Id", "--questionnaire", "mini-index", "--version", "1", "--countries", "AT,xx")
	if err == nil || !strings.Contains(stderr, "id:") || !strings.Contains(stderr, "name:") || !strings.Contains(stderr, "countries[1]:") {
		t.Fatalf("invalid round: %v\n%s", err, stderr)
	}
	_, stderr, err = runCLI(t, dataDir, "round", "create", "--id", "r1", "--name", "Round one", "--questionnaire", "mini-index", "--version", "9", "--countries", "AT")
	if err == nil {
		t.Fatalf("unknown version accepted\n%s", stderr)
	}
	stdout, stderr, err := runCLI(t, dataDir, "round", "create", "--id", "r1", "--name", "Round one", "--questionnaire", "mini-index",
		"--version", "1", "--countries", "AT,BE", "--answers-due", "2026-06-30")
	if err != nil || !strings.Contains(stdout, "created round r1") || !strings.Contains(stdout, "draft") {
		t.Fatalf("create: %v\n%s%s", err, stdout, stderr)
	}
	if _, _, err := runCLI(t, dataDir, "round", "close", "r1"); err == nil || !strings.Contains(err.Error(), "cannot become closed") {
		t.Fatalf("close a draft: %v", err)
	}
	if stdout, _, err = runCLI(t, dataDir, "round", "open", "r1"); err != nil || !strings.Contains(stdout, "round r1 is open") {
		t.Fatalf("open: %v %s", err, stdout)
	}
	if stdout, _, err = runCLI(t, dataDir, "round", "close", "r1"); err != nil || !strings.Contains(stdout, "round r1 is closed") {
		t.Fatalf("close: %v %s", err, stdout)
	}
	stdout, _, err = runCLI(t, dataDir, "round", "list")
	if err != nil || !strings.Contains(stdout, "r1") || !strings.Contains(stdout, "closed") || !strings.Contains(stdout, "Round one") {
		t.Fatalf("list: %v\n%s", err, stdout)
	}
	if _, _, err := runCLI(t, dataDir, "round", "open", "r9"); err == nil {
		t.Fatal("opened a round that does not exist")
	}
	// One audit event per change, by the system actor, as through the API.
	withDataApp(t, dataDir, func(_ *app.App, store *mongodb.Store) {
		evs, err := store.ListEvents(context.Background(), audit.Filter{Entity: "round/r1", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, ev := range evs {
			if ev.Actor != audit.SystemActor {
				t.Errorf("event %s by %q", ev.Action, ev.Actor)
			}
			actions = append(actions, ev.Action)
		}
		if len(actions) != 3 {
			t.Errorf("round events: %v", actions)
		}
	})
}

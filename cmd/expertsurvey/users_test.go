package main

import (
	"context"
	"fmt"
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

// withDataApp runs f on the service over the embedded store of dataDir, closed after, so that a
// command can open it next.
func withDataApp(t *testing.T, dataDir string, f func(*app.App, *mongodb.Store)) {
	t.Helper()
	ctx := context.Background()
	s, err := mongodb.Open(ctx, mongodb.Config{DataDir: dataDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close(ctx) }()
	a, err := app.New(s, app.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	f(a, s)
}

// roundsIn publishes the mini index and creates draft rounds r1 (AT, BE) and r2 (AT) in dataDir.
func roundsIn(t *testing.T, dataDir string) {
	t.Helper()
	withDataApp(t, dataDir, func(a *app.App, _ *mongodb.Store) {
		ctx := context.Background()
		f, err := os.Open("../../questionnaire/testdata/mini_index.yaml")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := a.Questionnaires.Import(ctx, systemPrincipal, f, questionnaire.ImportOptions{Format: "yaml", Version: "1", Publish: true}); err != nil {
			t.Fatal(err)
		}
		for id, countries := range map[string][]string{"r1": {"AT", "BE"}, "r2": {"AT"}} {
			if _, err := a.Rounds.CreateRound(ctx, systemPrincipal, round.RoundInput{ID: id, Name: id, Questionnaire: "mini-index",
				QuestionnaireVer: "1", Countries: countries}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func runCLI(t *testing.T, dataDir string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut strings.Builder
	err := run(context.Background(), append(args, "--data-dir", dataDir), func(string) string { return "" }, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestUsersImportCommand(t *testing.T) {
	dataDir := t.TempDir()
	roundsIn(t, dataDir)
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("email,name,role,round,countries\n")
	// The package people imports 2,000 people; the command needs fewer to show the same.
	for i := range 200 {
		fmt.Fprintf(&b, "p%04d@example.org,P %d,%s,r1,%s\n", i, i, []string{"expert", "reviewer"}[i%2], []string{"AT", "BE"}[i/2%2])
	}
	roster := filepath.Join(dir, "people.csv")
	if err := os.WriteFile(roster, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("email,name,role,round,countries\nx,X,expert,r1,AT\ny@example.org,Y,expert,r3,AT\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	_, stderr, err := runCLI(t, dataDir, "users", "import", bad)
	if err == nil || !strings.Contains(stderr, "row 2, column email:") || !strings.Contains(stderr, "row 3, column round:") {
		t.Fatalf("bad roster: %v\n%s", err, stderr)
	}
	userEvents := func() map[string]int {
		t.Helper()
		actions := map[string]int{}
		withDataApp(t, dataDir, func(_ *app.App, store *mongodb.Store) {
			evs, err := store.ListEvents(context.Background(), audit.Filter{Limit: 10000})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				if !strings.HasPrefix(ev.Entity, "user/") {
					continue
				}
				if ev.Actor != audit.SystemActor {
					t.Errorf("event %s on %s by %q, want the system actor", ev.Action, ev.Entity, ev.Actor)
				}
				actions[ev.Action]++
			}
		})
		return actions
	}
	// The refused roster (one good row among the bad) wrote nothing.
	if evs := userEvents(); len(evs) != 0 {
		t.Fatalf("a refused roster wrote %v", evs)
	}
	stdout, _, err := runCLI(t, dataDir, "users", "import", roster, "--dry-run")
	if err != nil || !strings.Contains(stdout, "dry run") || !strings.Contains(stdout, "200 created") || strings.Contains(stdout, "invitation ") {
		t.Fatalf("dry run: %v\n%s", err, stdout)
	}
	stdout, _, err = runCLI(t, dataDir, "users", "import", roster)
	if err != nil || !strings.Contains(stdout, "200 created") || strings.Count(stdout, "\ninvitation p") != 200 {
		t.Fatalf("import: %v\n%.500s", err, stdout)
	}
	stdout, _, err = runCLI(t, dataDir, "users", "import", roster)
	if err != nil || !strings.Contains(stdout, "0 created, 0 updated, 200 unchanged; 0 assignments granted") {
		t.Fatalf("re-import: %v\n%s", err, stdout)
	}
	// One audit event per person created, by the system actor, as through the API; the second
	// import wrote none.
	if evs := userEvents(); len(evs) != 1 || evs["user.create"] != 200 {
		t.Fatalf("audit after two imports: %v", evs)
	}

	stdout, _, err = runCLI(t, dataDir, "users", "copy-assignments", "--from", "r1", "--to", "r2")
	if err != nil || !strings.Contains(stdout, "100 granted") || !strings.Contains(stdout, "100 skipped") {
		t.Fatalf("copy: %v\n%.500s", err, stdout)
	}
	withDataApp(t, dataDir, func(a *app.App, _ *mongodb.Store) {
		u, err := a.Auth.UserByEmail(context.Background(), systemPrincipal, "p0000@example.org")
		if err != nil {
			t.Fatal(err)
		}
		want := []auth.Assignment{{Role: auth.RoleExpert, Round: "r1", Country: "AT"}, {Role: auth.RoleExpert, Round: "r2", Country: "AT"}}
		if fmt.Sprint(u.Assignments) != fmt.Sprint(want) {
			t.Errorf("p0000: %v", u.Assignments)
		}
	})
}

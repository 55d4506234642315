package app_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/questionnaire/demo"
	"github.com/expertsurvey/expertsurvey/round"
)

func TestMain(m *testing.M) { mongodbtest.Main(m) }

func TestDemoLoadsOnceAndEveryRoleCanSignIn(t *testing.T) {
	a, err := app.New(mongodbtest.New(t), app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: "k:" + auth.GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 { // the second load finds everything there
		if err := a.LoadDemo(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var coord auth.Principal
	for _, du := range app.DemoUsers {
		sess, err := a.Auth.Login(ctx, du.Email, app.DemoPassword, "127.0.0.1")
		if err != nil {
			t.Fatalf("%s: %v", du.Email, err)
		}
		if du.Email == "coordinator@demo.expertsurvey.org" {
			coord = sess.User.Principal()
		}
	}
	_, sheets, err := a.Rounds.Dashboard(ctx, coord, app.DemoRound)
	if err != nil {
		t.Fatal(err)
	}
	if len(sheets) != 4 || sheets[0].Status != round.SheetNotStarted {
		t.Fatalf("dashboard %+v", sheets)
	}
	for _, sh := range sheets[1:] {
		if sh.Progress.Answered != sh.Progress.Applicable || sh.Progress.Applicable < 40 {
			t.Errorf("%s: %+v; want every applicable indicator answered", sh.Country, sh.Progress)
		}
	}
	// Imported answers score like the engine scores the demo's own answers.
	_, scores, err := a.Rounds.Scores(ctx, coord, app.DemoRound)
	if err != nil {
		t.Fatal(err)
	}
	def := demo.Definition()
	c, err := def.Compile()
	if err != nil {
		t.Fatal(err)
	}
	for _, cs := range scores[1:] {
		want := c.Score(demo.Answers()[cs.Country], nil)
		for _, v := range want.Variants {
			got, ok := cs.Result.Variant(v.Name)
			if !ok || got.Score == nil || v.Score == nil || *got.Score != *v.Score {
				t.Errorf("%s %s: got %+v, want %+v", cs.Country, v.Name, got, v)
			}
		}
	}
}

func TestProductionRefusesToStartWithoutSigningKeys(t *testing.T) {
	_, err := app.New(mongodbtest.New(t), app.Options{Logger: slog.New(slog.DiscardHandler), Production: true})
	if !errors.Is(err, app.ErrNoSigningKey) {
		t.Fatalf("got %v, want ErrNoSigningKey", err)
	}
	if _, err := app.New(mongodbtest.New(t), app.Options{Logger: slog.New(slog.DiscardHandler), Production: true, JWTKeys: "k:c2hvcnQ="}); err == nil {
		t.Fatal("a 5-byte key was accepted")
	}
}

// The example of docs/answers-format.md imports into the demo round as the document says.
func TestAnswersFormatDocExampleImports(t *testing.T) {
	doc, err := os.ReadFile("../docs/answers-format.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```csv\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no csv example in docs/answers-format.md")
	}
	a, err := app.New(mongodbtest.New(t), app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: "k:" + auth.GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := round.ParseImport(strings.NewReader(example), "csv")
	if err != nil {
		t.Fatal(err)
	}
	admin := auth.Principal{UserID: "u_doc", Admin: true}
	res, err := a.Rounds.ImportAnswers(ctx, admin, app.DemoRound, rows, nil)
	if err != nil || res.Written != 4 {
		t.Fatalf("import: %+v %v", res, err)
	}
	lmm, _ := a.Rounds.Answer(ctx, admin, app.DemoRound, "AT", "LMM_1")
	pp2, _ := a.Rounds.Answer(ctx, admin, app.DemoRound, "AT", "PP_2")
	if len(lmm.Sources) != 2 || !pp2.NotApplicable || !pp2.Inapplicable {
		t.Fatalf("LMM_1 %+v\nPP_2 %+v", lmm, pp2)
	}
}

// Loading the demo again keeps what users did: a changed answer stays changed, and a round
// that has moved on (closed here) is left as it is, with no error.
func TestDemoReloadKeepsUsersChanges(t *testing.T) {
	a, err := app.New(mongodbtest.New(t), app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: "k:" + auth.GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	admin := auth.Principal{UserID: "u_someone", Admin: true}
	country := demo.Countries()[1]
	before, err := a.Rounds.Answer(ctx, admin, app.DemoRound, country, "LMM_1")
	if err != nil || before.Version == 0 {
		t.Fatalf("demo answer %s LMM_1: %+v %v", country, before, err)
	}
	option := "labour_test"
	if before.Option == option {
		option = "equal"
	}
	changed, err := a.Rounds.SaveAnswer(ctx, admin, app.DemoRound, country, "LMM_1", round.AnswerInput{
		Option: option, Comment: "Changed by a user trying the demo.",
		Sources: []round.Source{{Kind: "law", Title: "Their own source"}},
	}, &before.Version)
	if err != nil {
		t.Fatalf("change the demo answer: %v", err)
	}
	if err := a.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := a.Rounds.Answer(ctx, admin, app.DemoRound, country, "LMM_1")
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != changed.Version || after.Option != option || after.Comment != changed.Comment {
		t.Fatalf("reloading the demo changed a user's answer: before reload %+v\nafter %+v", changed, after)
	}

	r, err := a.Rounds.Round(ctx, admin, app.DemoRound)
	if err != nil {
		t.Fatal(err)
	}
	if r, err = a.Rounds.SetStatus(ctx, admin, app.DemoRound, round.StatusClosed, r.Version); err != nil {
		t.Fatal(err)
	}
	if err := a.LoadDemo(ctx); err != nil {
		t.Fatalf("loading the demo over a closed round: %v", err)
	}
	again, err := a.Rounds.Round(ctx, admin, app.DemoRound)
	if err != nil || again.Status != round.StatusClosed || again.Version != r.Version {
		t.Fatalf("the closed demo round changed: %+v %v", again, err)
	}
}

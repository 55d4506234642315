package app_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
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
}

package app

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

// Invitations and resets are written in the languages of the instruments of the user's rounds:
// the demo round's instrument is in English and French; an admin, a global coordinator and a
// user of a round that does not exist name none, and get the configured language.
func TestMessagesTakeTheLanguagesOfTheUsersInstruments(t *testing.T) {
	store := mongodbtest.New(t)
	a, err := New(store, Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: "k:" + auth.GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	languagesOf := instrumentLanguages(store, a.Questionnaires)
	for _, c := range []struct {
		as   []auth.Assignment
		want []string
	}{
		{[]auth.Assignment{{Role: auth.RoleExpert, Round: DemoRound, Country: "AT"}, {Role: auth.RoleReviewer, Round: DemoRound, Country: "BE"}}, []string{"en", "fr"}},
		{nil, nil},
		{[]auth.Assignment{{Role: auth.RoleCoordinator, Round: auth.AllRounds}}, nil},
		{[]auth.Assignment{{Role: auth.RoleExpert, Round: "no-such-round", Country: "AT"}}, nil},
	} {
		if got := languagesOf(ctx, auth.User{ID: "u_x", Assignments: c.as}); !slices.Equal(got, c.want) {
			t.Errorf("assignments %v: languages %v, want %v", c.as, got, c.want)
		}
	}
}

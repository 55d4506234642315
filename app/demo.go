package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/questionnaire/demo"
	"github.com/expertsurvey/expertsurvey/round"
)

// The demo data: the demo instrument published, an open round over it, invented answers for
// every demo country but the first (left for the demo expert to fill in), and one user per role.
const (
	DemoQuestionnaire = "demo-integration-index"
	DemoVersion       = "2025.1"
	DemoRound         = "demo-2025"
	// DemoPassword is every demo user's password; demo data is for trying the service out.
	DemoPassword = "try-expertsurvey-2025"
)

// DemoUsers are the demo accounts, by email.
var DemoUsers = []struct {
	Email, Name string
	Admin       bool
	Assignments []auth.Assignment
}{
	{"admin@demo.expertsurvey.org", "Demo Admin", true, nil},
	{"coordinator@demo.expertsurvey.org", "Demo Coordinator", false, []auth.Assignment{{Role: auth.RoleCoordinator, Round: auth.AllRounds}}},
	{"expert.at@demo.expertsurvey.org", "Demo Expert (AT)", false, []auth.Assignment{{Role: auth.RoleExpert, Round: DemoRound, Country: "AT"}}},
	{"reviewer.at@demo.expertsurvey.org", "Demo Reviewer (AT)", false, []auth.Assignment{{Role: auth.RoleReviewer, Round: DemoRound, Country: "AT"}}},
}

// LoadDemo writes the demo data. It only ever adds what is missing, so `serve --demo` can run on
// every start without undoing anyone's work: an existing user, questionnaire version or round is
// left as it is (whatever was changed in it), a round that has moved past open (closed,
// published) gets nothing, and invented answers go only to sheets that hold no answer at all.
func (a *App) LoadDemo(ctx context.Context) error {
	ctx = audit.WithOrigin(ctx, audit.SystemActor, "demo")
	system := auth.Principal{UserID: audit.SystemActor, Admin: true}
	_, err := a.Questionnaires.Import(ctx, system, bytes.NewReader(demo.YAML()),
		questionnaire.ImportOptions{Format: questionnaire.FormatYAML, Version: DemoVersion, Publish: true})
	if err != nil && !errors.Is(err, questionnaire.ErrConflict) {
		return fmt.Errorf("demo questionnaire: %w", err)
	}
	countries := demo.Countries()
	r, err := a.Rounds.CreateRound(ctx, system, round.RoundInput{
		ID: DemoRound, Name: "Demo round 2025", Questionnaire: DemoQuestionnaire, QuestionnaireVer: DemoVersion,
		ReferenceDate: "2025", Countries: countries, AnswersDue: "2026-06-30", ReviewsDue: "2026-09-30", ReviewersPerAnswer: 1,
	})
	if errors.Is(err, round.ErrConflict) {
		r, err = a.Rounds.Round(ctx, system, DemoRound)
	}
	if err != nil {
		return fmt.Errorf("demo round: %w", err)
	}
	// The users come after the round: an assignment names an existing round and its countries.
	for _, du := range DemoUsers {
		role := auth.RoleNone
		if du.Admin {
			role = auth.RoleAdmin
		}
		u, _, err := a.Auth.BootstrapUser(ctx, auth.NewUser{Email: du.Email, DisplayName: du.Name, GlobalRole: role, Password: DemoPassword})
		if errors.Is(err, auth.ErrConflict) {
			continue // exists: its password, role and assignments may have been changed on purpose
		}
		if err != nil {
			return fmt.Errorf("demo user %s: %w", du.Email, err)
		}
		for _, as := range du.Assignments {
			if u, err = a.Auth.Grant(ctx, system, u.ID, as, 0); err != nil {
				return fmt.Errorf("demo user %s: %w", du.Email, err)
			}
		}
	}
	switch r.Status {
	case round.StatusDraft:
		if _, err := a.Rounds.SetStatus(ctx, system, DemoRound, round.StatusOpen, r.Version); err != nil {
			return fmt.Errorf("open the demo round: %w", err)
		}
	case round.StatusOpen:
	default:
		return nil // closed or published: its answers are final, and no import may touch them
	}
	var rows []round.ImportRow
	answers := demo.Answers()
	for _, country := range countries[1:] {
		view, err := a.Rounds.Sheet(ctx, system, DemoRound, country)
		if err != nil {
			return fmt.Errorf("demo sheet %s: %w", country, err)
		}
		if view.Sheet.AnswerCount() > 0 {
			continue // answered already, by the demo or by someone trying it: keep every answer
		}
		for _, ans := range answers[country] {
			v := map[string]string{"country": country, "indicator": ans.Indicator, "option": ans.Option, "text": ans.Text,
				"comment": "Invented answer for the demonstration.", "source_kind": "other", "source_title": "Demonstration data"}
			if ans.Number != nil {
				v["value"] = strconv.FormatFloat(*ans.Number, 'g', -1, 64)
			}
			if ans.NotApplicable {
				v["not_applicable"], v["na_reason"] = "true", "Does not apply in this (invented) country."
			}
			rows = append(rows, round.ImportRow{Line: len(rows) + 2, Values: v})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if _, err := a.Rounds.ImportAnswers(ctx, system, DemoRound, rows, nil); err != nil {
		return fmt.Errorf("demo answers: %w", err)
	}
	return nil
}

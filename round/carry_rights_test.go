package round_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/round"
)

// TestCarryForwardNeedsTheRightToReadThePreviousRound: a coordinator of one round may not name
// another round, which they may not read, as its previous round (it would copy that round's
// answers and sources into one they read); the refusal reads like a missing round.
func TestCarryForwardNeedsTheRightToReadThePreviousRound(t *testing.T) {
	f := newFixture(t)
	f.openRound(t, "r1", "")
	f.save(t, expertAT, "r1", "AT", "LMM_1", round.AnswerInput{Option: "full", Sources: []round.Source{lawSource}})
	f.closeRound(t, "r1")
	if _, err := f.svc.CreateRound(f.ctx, coordinator, round.RoundInput{ID: "r2", Name: "Round r2", Questionnaire: "mini-index",
		QuestionnaireVer: "1", Countries: []string{"AT"}, ReferenceDate: "2026"}); err != nil {
		t.Fatal(err)
	}
	coordR2 := auth.Principal{UserID: "u_c2", Assignments: []auth.Assignment{{Role: auth.RoleCoordinator, Round: "r2"}}}
	r2, err := f.svc.Round(f.ctx, coordR2, "r2")
	if err != nil {
		t.Fatal(err)
	}
	in := round.RoundInput{ID: "r2", Name: "Round r2", Questionnaire: "mini-index", QuestionnaireVer: "1", Countries: []string{"AT"},
		ReferenceDate: "2026", Previous: "r1"}
	_, err = f.svc.UpdateRound(f.ctx, coordR2, "r2", in, r2.Version)
	if got := fields(err); !slices.Equal(got, []string{"previous"}) {
		t.Fatalf("coordinator of r2 naming r1 as previous: %v; want a problem on previous", err)
	}
	// The previous round's coordinator (here a global one) may.
	if _, err := f.svc.UpdateRound(f.ctx, coordinator, "r2", in, r2.Version); err != nil {
		t.Fatalf("global coordinator: %v", err)
	}
}

// TestCarryForwardOnlyFromAClosedRound: opening a round whose previous round is still open is
// refused (its answers are still being written), and succeeds once it is closed.
func TestCarryForwardOnlyFromAClosedRound(t *testing.T) {
	f := newFixture(t)
	f.openRound(t, "r1", "")
	f.save(t, expertAT, "r1", "AT", "LMM_1", round.AnswerInput{Option: "full", Sources: []round.Source{lawSource}})
	r2, err := f.svc.CreateRound(f.ctx, coordinator, round.RoundInput{ID: "r2", Name: "Round r2", Questionnaire: "mini-index",
		QuestionnaireVer: "1", Countries: []string{"AT"}, ReferenceDate: "2026", Previous: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetStatus(f.ctx, coordinator, "r2", round.StatusOpen, r2.Version); !errors.Is(err, round.ErrInvalidTransition) {
		t.Fatalf("opening r2 while r1 is open: %v; want ErrInvalidTransition", err)
	}
	if view, err := f.svc.Sheet(f.ctx, coordinator, "r2", "AT"); err == nil && view.Sheet.AnswerCount() != 0 {
		t.Fatalf("a refused opening carried %d answers", view.Sheet.AnswerCount())
	}
	f.closeRound(t, "r1")
	if _, err := f.svc.SetStatus(f.ctx, coordinator, "r2", round.StatusOpen, r2.Version); err != nil {
		t.Fatalf("opening r2 after r1 closed: %v", err)
	}
	if a, err := f.svc.Answer(f.ctx, coordinator, "r2", "AT", "LMM_1"); err != nil || !a.Carried {
		t.Fatalf("carried: %+v %v", a, err)
	}
}

// TestCarryForwardOnlyFromTheSameQuestionnaire: a round of another questionnaire cannot be
// named as the previous round (indicator codes mean something only within one questionnaire),
// on creation or on update; a round of the same one can.
func TestCarryForwardOnlyFromTheSameQuestionnaire(t *testing.T) {
	f := newFixture(t)
	f.openRound(t, "r1", "")
	f.closeRound(t, "r1")
	in := round.RoundInput{ID: "r2", Name: "Round r2", Questionnaire: "other-index", QuestionnaireVer: "1", Countries: []string{"AT"},
		ReferenceDate: "2026", Previous: "r1"}
	_, err := f.svc.CreateRound(f.ctx, coordinator, in)
	if got := fields(err); !slices.Equal(got, []string{"previous"}) {
		t.Fatalf("previous round of another questionnaire: %v; want a problem on previous", err)
	}
	in.Previous = ""
	r2, err := f.svc.CreateRound(f.ctx, coordinator, in)
	if err != nil {
		t.Fatal(err)
	}
	in.Previous = "r1"
	if _, err := f.svc.UpdateRound(f.ctx, coordinator, "r2", in, r2.Version); !slices.Equal(fields(err), []string{"previous"}) {
		t.Fatalf("update naming a previous round of another questionnaire: %v", err)
	}
	in.Questionnaire = "mini-index"
	if _, err := f.svc.UpdateRound(f.ctx, coordinator, "r2", in, r2.Version); err != nil {
		t.Fatalf("the same questionnaire: %v", err)
	}
}

// TestConfirmOneAnswerNeverConfirmsAGroup: the one-answer confirmation given a group code and
// a version is refused, and nothing is confirmed.
func TestConfirmOneAnswerNeverConfirmsAGroup(t *testing.T) {
	f := newFixture(t)
	f.openRound(t, "r1", "")
	f.save(t, expertAT, "r1", "AT", "LMM_1", round.AnswerInput{Option: "full", Sources: []round.Source{lawSource}})
	f.closeRound(t, "r1")
	f.openRound(t, "r2", "r1")
	zero := 1
	if _, _, err := f.svc.Confirm(f.ctx, expertAT, "r2", "AT", "LMM", &zero); !errors.Is(err, round.ErrNotFound) {
		t.Fatalf("confirm group LMM with a version: %v; want ErrNotFound", err)
	}
	if a, _ := f.svc.Answer(f.ctx, expertAT, "r2", "AT", "LMM_1"); !a.Carried {
		t.Fatal("the group was confirmed")
	}
}

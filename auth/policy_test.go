package auth

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPolicy(t *testing.T) {
	const R, A, B = "r2025", "AT", "BE"
	principals := map[string]Principal{
		"none":          {},
		"no role":       {UserID: "u_none"},
		"expert A":      {UserID: "u_ea", Assignments: []Assignment{{RoleExpert, R, A}}},
		"expert B":      {UserID: "u_eb", Assignments: []Assignment{{RoleExpert, R, B}}},
		"reviewer A":    {UserID: "u_ra", Assignments: []Assignment{{RoleReviewer, R, A}}},
		"coordinator R": {UserID: "u_cr", Assignments: []Assignment{{RoleCoordinator, R, ""}}},
		"coordinator X": {UserID: "u_cx", Assignments: []Assignment{{RoleCoordinator, "r2019", ""}}},
		"global coord":  {UserID: "u_cg", Assignments: []Assignment{{RoleCoordinator, AllRounds, ""}}},
		"admin":         {UserID: "u_ad", Admin: true},
		"disabled admin": {UserID: "u_dis", Admin: true, Disabled: true,
			Assignments: []Assignment{{RoleCoordinator, AllRounds, ""}}},
	}
	// allowed lists, for each action on (round R, country A, answer written by expert A), who
	// may do it; everyone else must be refused.
	all := []string{"expert A", "expert B", "reviewer A", "coordinator R", "coordinator X", "global coord", "admin", "no role"}
	sheetA := []string{"expert A", "reviewer A", "coordinator R", "global coord", "admin"}
	coords := []string{"coordinator R", "global coord", "admin"}
	allowed := map[Action][]string{
		ReadQuestionnaire:  all,
		WriteQuestionnaire: {"global coord", "admin"},
		ReadRound:          {"expert A", "expert B", "reviewer A", "coordinator R", "global coord", "admin"},
		ManageRound:        coords,
		ReadSheet:          sheetA,
		CommentAnswer:      sheetA,
		WriteAnswer:        {"expert A", "coordinator R", "global coord", "admin"},
		ReviewAnswer:       {"reviewer A", "coordinator R", "global coord", "admin"},
		Adjudicate:         coords,
		OverrideScore:      coords,
		LockSheet:          coords,
		ReopenSheet:        coords,
		ReadAudit:          coords,
		ManageUsers:        {"admin"},
		ManageAssignments:  {"admin"},
		Action("made.up"):  {"admin"}, // admins may do everything, even what is added later
	}
	scope := Scope{Round: R, Country: A, Author: "u_ea"}
	for action, who := range allowed {
		for name, p := range principals {
			err := p.Can(action, scope)
			want := slices.Contains(who, name)
			if got := err == nil; got != want {
				t.Errorf("%s %s on %s/%s: allowed=%v (%v); want %v", name, action, R, A, got, err, want)
			}
			if err != nil && !errors.Is(err, ErrForbidden) {
				t.Errorf("%s %s: error %v does not wrap ErrForbidden", name, action, err)
			}
		}
	}
}

func TestNobodyReviewsTheirOwnAnswer(t *testing.T) {
	for _, p := range []Principal{
		{UserID: "u_1", Admin: true},
		{UserID: "u_1", Assignments: []Assignment{{RoleCoordinator, AllRounds, ""}}},
		{UserID: "u_1", Assignments: []Assignment{{RoleReviewer, "r", "AT"}}},
	} {
		if err := p.CanReview("r", "AT", "u_1"); !errors.Is(err, ErrForbidden) {
			t.Errorf("%+v reviews own answer: %v; want ErrForbidden", p, err)
		}
		if err := p.Can(ReviewAnswer, Scope{Round: "r", Country: "AT"}); !errors.Is(err, ErrForbidden) {
			t.Errorf("%+v reviews an answer of unknown author: %v; want ErrForbidden", p, err)
		}
		if err := p.CanReview("r", "AT", "u_2"); err != nil {
			t.Errorf("%+v reviews another's answer: %v; want allowed", p, err)
		}
	}
}

func TestRoundScopedActionsWithoutRound(t *testing.T) {
	coordR := Principal{UserID: "u", Assignments: []Assignment{{RoleCoordinator, "r1", ""}}}
	global := Principal{UserID: "g", Assignments: []Assignment{{RoleCoordinator, AllRounds, ""}}}
	// Creating a round (no round yet) and reading the whole audit log span rounds.
	for _, a := range []Action{ManageRound, ReadAudit} {
		if err := coordR.Can(a, Scope{}); err == nil {
			t.Errorf("round coordinator may %s without a round", a)
		}
		if err := global.Can(a, Scope{}); err != nil {
			t.Errorf("global coordinator may not %s without a round: %v", a, err)
		}
	}
	if err := coordR.Can(ManageRound, Scope{Round: "r2"}); err == nil {
		t.Error("coordinator of r1 manages r2")
	}
}

func TestVisibility(t *testing.T) {
	p := Principal{UserID: "u", Assignments: []Assignment{
		{RoleExpert, "r1", "DE"}, {RoleExpert, "r1", "AT"}, {RoleReviewer, "r1", "FR"},
		{RoleExpert, "r2", "IT"}, {RoleCoordinator, "r3", ""},
	}}
	if diff := cmp.Diff([]string{"AT", "DE"}, p.Countries("r1", RoleExpert)); diff != "" {
		t.Errorf("Countries(r1, expert) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"AT", "DE", "FR"}, p.Countries("r1", RoleNone)); diff != "" {
		t.Errorf("Countries(r1, any) (-want +got):\n%s", diff)
	}
	if got := p.Countries("r9", RoleNone); len(got) != 0 {
		t.Errorf("Countries(r9) = %v; want none", got)
	}
	rounds, all := p.Rounds()
	if all || !slices.Equal(rounds, []string{"r1", "r2", "r3"}) {
		t.Errorf("Rounds() = %v, %v", rounds, all)
	}
	if p.SeesAllCountries("r1") || !p.SeesAllCountries("r3") {
		t.Error("SeesAllCountries: want only the coordinated round")
	}
	disabled := p
	disabled.Disabled = true
	if got := disabled.Countries("r1", RoleNone); got != nil {
		t.Errorf("disabled user sees %v", got)
	}
	if _, all := (Principal{UserID: "a", Admin: true}).Rounds(); !all {
		t.Error("admin does not see all rounds")
	}
}

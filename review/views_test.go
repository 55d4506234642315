package review

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/google/go-cmp/cmp"
)

func TestComments(t *testing.T) {
	l := submitted(t, 2)
	s := l.sheet
	l.do(s.AddComment(reviewer1, "A1", "is art. 5 still in force?", 0))
	l.do(s.AddComment(expert, "A1", "yes, see the 2025 consolidation", 1))
	if _, err := s.AddComment(expert, "A1", "reply to nothing", 7); !errors.As(err, new(*ValidationError)) {
		t.Errorf("reply to a missing comment: %v, want a ValidationError", err)
	}
	if _, err := s.AddComment(expert, "A1", strings.Repeat("x", MaxComment+1), 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("too long comment: %v, want ErrInvalid", err)
	}

	// Only the author edits, and the edit keeps the earlier text.
	if _, err := s.EditComment(reviewer2, "A1", 1, "rewritten by someone else"); !errors.Is(err, ErrForbidden) {
		t.Errorf("editing another's comment: %v, want ErrForbidden", err)
	}
	if _, err := s.EditComment(coordinator, "A1", 1, "rewritten by a coordinator"); !errors.Is(err, ErrForbidden) {
		t.Errorf("a coordinator editing another's comment: %v, want ErrForbidden", err)
	}
	if _, err := s.EditComment(reviewer1, "A1", 9, "no such"); !errors.Is(err, ErrNotFound) {
		t.Errorf("editing a missing comment: %v, want ErrNotFound", err)
	}
	l.do(s.EditComment(reviewer1, "A1", 1, "is art. 5 of the 2019 act still in force?"))
	l.do(s.EditComment(reviewer1, "A1", 1, "is art. 5 (2019 act) still in force?"))
	cm := s.Answer("A1").Comments[0]
	want := []CommentText{{"is art. 5 still in force?", t0.Add(4 * time.Minute)}, {"is art. 5 of the 2019 act still in force?", t0.Add(6 * time.Minute)}}
	if cm.Text != "is art. 5 (2019 act) still in force?" || !cmp.Equal(cm.Earlier, want) || !cm.EditedAt.Equal(t0.Add(7*time.Minute)) {
		t.Errorf("after two edits: %q, earlier %+v, edited %v", cm.Text, cm.Earlier, cm.EditedAt)
	}

	// Its author or a coordinator resolves it.
	if _, err := s.ResolveComment(reviewer2, "A1", 1, true); !errors.Is(err, ErrForbidden) {
		t.Errorf("another reviewer resolving: %v, want ErrForbidden", err)
	}
	l.do(s.ResolveComment(coordinator, "A1", 2, true))
	l.do(s.ResolveComment(reviewer1, "A1", 1, true))
	if _, err := s.ResolveComment(reviewer1, "A1", 1, true); !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("resolving twice: %v, want ErrInvalidTransition", err)
	}
	got := s.Answer("A1").Comments
	if !got[0].Resolved || got[0].ResolvedBy != "r1" || !got[1].Resolved || got[1].ResolvedBy != "co" || got[1].ReplyTo != 1 || got[1].Role != auth.RoleExpert {
		t.Errorf("comments %+v", got)
	}
	if p := s.Progress(); p.OpenComments != 0 {
		t.Errorf("open comments %d, want 0", p.OpenComments)
	}

	// Nothing changes once the sheet is locked, comments included.
	locked := sheetFixture(SheetLocked)
	edit(locked, "A1", func(a *Answer) { a.Comments = []Comment{{ID: 1, Author: "r1", Text: "fine"}} })
	for name, call := range map[string]func() (Change, error){
		"add":     func() (Change, error) { return locked.AddComment(reviewer1, "A1", "late", 0) },
		"edit":    func() (Change, error) { return locked.EditComment(reviewer1, "A1", 1, "late") },
		"resolve": func() (Change, error) { return locked.ResolveComment(reviewer1, "A1", 1, true) },
	} {
		if _, err := call(); !errors.Is(err, ErrLocked) {
			t.Errorf("%s on a locked sheet: %v, want ErrLocked", name, err)
		}
	}
}

func TestLabels(t *testing.T) {
	participants := []Participant{
		{"ex", auth.RoleExpert}, {"r2", auth.RoleReviewer}, {"co", auth.RoleCoordinator}, {"r1", auth.RoleReviewer},
	}
	names := map[string]string{"ex": "Eva", "r1": "Rui", "r2": "Rana", "co": "Cleo"}
	name := func(id string) string { return names[id] }
	tests := []struct {
		name   string
		viewer Actor
		blind  bool
		want   map[string]string // id -> label; "zz" is not a participant
	}{
		{"expert, blind", expert, true, map[string]string{"ex": "Expert", "r2": "Reviewer 1", "r1": "Reviewer 2", "co": "Coordinator", "zz": "Participant", "": ""}},
		{"reviewer, blind: other reviewers are numbered too", reviewer1, true, map[string]string{"ex": "Expert", "r2": "Reviewer 1", "r1": "Reviewer 2", "co": "Coordinator"}},
		{"coordinator, blind", coordinator, true, map[string]string{"ex": "Eva", "r2": "Rana", "r1": "Rui", "co": "Cleo", "zz": "zz"}},
		{"admin, blind", Actor{ID: "ad", Role: auth.RoleAdmin}, true, map[string]string{"ex": "Eva", "r1": "Rui"}},
		{"expert, not blind", expert, false, map[string]string{"ex": "Eva", "r2": "Rana", "r1": "Rui", "co": "Cleo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLabels(tt.viewer, tt.blind, participants, name)
			for id, want := range tt.want {
				if got := l.Of(id); got != want {
					t.Errorf("Of(%q) = %q, want %q", id, got, want)
				}
			}
		})
	}
	if got := NewLabels(coordinator, false, participants, nil).Of("r1"); got != "r1" {
		t.Errorf("without names: %q, want the id", got)
	}
	two := append([]Participant{{"ex2", auth.RoleExpert}}, participants...)
	l := NewLabels(reviewer1, true, two, nil)
	if l.Of("ex2") != "Expert 1" || l.Of("ex") != "Expert 2" || !l.Hidden() {
		t.Errorf("two experts: %q, %q", l.Of("ex2"), l.Of("ex"))
	}
}

func TestProgress(t *testing.T) {
	s := withAnswers(&Sheet{},
		Answer{Indicator: "A1", State: AnswerDraft, Version: 1},
		Answer{Indicator: "A2", State: AnswerSubmitted, Version: 1},
		Answer{Indicator: "A3", State: AnswerApproved, Version: 1},
		Answer{Indicator: "A4", State: AnswerChangesRequested, Version: 1, Comments: []Comment{{ID: 1}, {ID: 2, Resolved: true}}},
		Answer{Indicator: "A5", State: AnswerRevised, Version: 2},
		Answer{Indicator: "A6", State: AnswerDisputed, Version: 1},
		Answer{Indicator: "A7", State: AnswerResolved, Version: 2},
		Answer{Indicator: "A8", State: AnswerApproved, Version: 1, Inapplicable: true},
		Answer{Indicator: "A9", State: AnswerDraft}, // commented on, never written
	)
	want := Progress{Answers: 7, Draft: 1, Submitted: 1, Approved: 1, ChangesRequested: 1, Revised: 1, Disputed: 1, Resolved: 1, Reviewed: 4, OpenComments: 1}
	if got := s.Progress(); got != want {
		t.Errorf("progress %+v, want %+v", got, want)
	}
}

// TestAlphaPublishedExamples checks Alpha against the worked examples of Klaus Krippendorff,
// "Computing Krippendorff's Alpha-Reliability" (2011, University of Pennsylvania,
// https://repository.upenn.edu/asc_papers/43).
func TestAlphaPublishedExamples(t *testing.T) {
	// Section A: binary data, two observers, no missing data: alpha = 0.095.
	a := []string{"0", "1", "0", "0", "0", "0", "0", "0", "1", "0"}
	b := []string{"1", "1", "1", "0", "0", "1", "0", "0", "0", "0"}
	var binary [][]string
	for i := range a {
		binary = append(binary, []string{a[i], b[i]})
	}
	// Section C: nominal data, four observers, twelve units, missing data ("." in the paper):
	// alpha = 0.743 (n = 40 pairable values; unit 12 has a single value and does not count).
	matrix := []string{
		"1 2 3 3 2 1 4 1 2 . . .",
		"1 2 3 3 2 2 4 1 2 5 . 3",
		". 3 3 3 2 3 4 2 2 5 1 .",
		"1 2 3 3 2 4 4 1 2 5 1 .",
	}
	nominal := make([][]string, 12)
	for _, row := range matrix {
		for u, v := range strings.Fields(row) {
			if v != "." {
				nominal[u] = append(nominal[u], v)
			}
		}
	}
	for _, tt := range []struct {
		name  string
		units [][]string
		want  float64
	}{{"binary, two observers", binary, 0.095}, {"nominal, four observers, missing data", nominal, 0.743}} {
		got, ok := Alpha(tt.units)
		if !ok || math.Round(got*1000)/1000 != tt.want {
			t.Errorf("%s: alpha %v (defined %v), want %.3f", tt.name, got, ok, tt.want)
		}
	}
}

func TestAlphaDegenerate(t *testing.T) {
	for _, tt := range []struct {
		name  string
		units [][]string
	}{
		{"no units", nil},
		{"no pairable values", [][]string{{"approve"}, {"request_changes"}}},
		{"everyone approved everything", [][]string{{"approve", "approve"}, {"approve", "approve", "approve"}}},
	} {
		if got, ok := Alpha(tt.units); ok {
			t.Errorf("%s: alpha %v, want undefined", tt.name, got)
		}
	}
	// Perfect agreement with variation is alpha 1; systematic disagreement is below 0.
	if got, ok := Alpha([][]string{{"a", "a"}, {"r", "r"}}); !ok || got != 1 {
		t.Errorf("perfect agreement: %v %v, want 1", got, ok)
	}
	if got, ok := Alpha([][]string{{"a", "r"}, {"r", "a"}}); !ok || got >= 0 {
		t.Errorf("systematic disagreement: %v %v, want below 0", got, ok)
	}
}

// TestAgreementOf: units are answer versions ruled on by two or more reviewers; a single
// reviewer's verdicts are left out; all-agree data has 100% agreement and no alpha.
func TestAgreementOf(t *testing.T) {
	v := func(reviewer string, d Decision, version int) Verdict {
		return Verdict{Reviewer: reviewer, Decision: d, Version: version}
	}
	answers := []Answer{
		{Indicator: "A1", Verdicts: []Verdict{v("r1", Approve, 1), v("r2", Approve, 1)}},
		{Indicator: "A2", Verdicts: []Verdict{v("r1", Approve, 1)}}, // one reviewer: no unit
		{Indicator: "A2", Verdicts: []Verdict{v("r1", Approve, 1), v("r2", Approve, 1), v("r1", Approve, 2)}},
	}
	g := AgreementOf(answers)
	if g.Units != 2 || g.Verdicts != 4 || g.Pairs != 2 || g.PercentAgreement != 100 || g.Alpha != nil {
		t.Errorf("all agree: %+v, want 2 units, 100%% and no alpha", g)
	}
	answers = append(answers, Answer{Indicator: "A3", Verdicts: []Verdict{v("r1", Approve, 1), v("r2", RequestChanges, 1), v("r3", RequestChanges, 1)}})
	by := AgreementByIndicator(answers)
	if got := by["A3"]; got.Pairs != 3 || got.Agreeing != 1 || math.Abs(got.PercentAgreement-100.0/3) > 1e-9 {
		t.Errorf("A3: %+v", got)
	}
	if got := by["A1"]; got.Units != 1 || got.Alpha != nil {
		t.Errorf("A1: %+v", got)
	}
	if got := AgreementOf(nil); got != (Agreement{}) {
		t.Errorf("no answers: %+v", got)
	}
}

func TestActorFor(t *testing.T) {
	p := func(admin bool, as ...auth.Assignment) auth.Principal {
		return auth.Principal{UserID: "u", Admin: admin, Assignments: as}
	}
	expertAT := auth.Assignment{Role: auth.RoleExpert, Round: "r25", Country: "AT"}
	reviewerAT := auth.Assignment{Role: auth.RoleReviewer, Round: "r25", Country: "AT"}
	coordR25 := auth.Assignment{Role: auth.RoleCoordinator, Round: "r25"}
	tests := []struct {
		name string
		p    auth.Principal
		move Move
		want auth.Role // RoleNone: forbidden
	}{
		{"expert saves", p(false, expertAT), MoveSave, auth.RoleExpert},
		{"expert never approves", p(false, expertAT), MoveApprove, auth.RoleNone},
		{"reviewer approves", p(false, reviewerAT), MoveApprove, auth.RoleReviewer},
		{"reviewer never revises", p(false, reviewerAT), MoveRevise, auth.RoleNone},
		{"reviewer of another country", p(false, auth.Assignment{Role: auth.RoleReviewer, Round: "r25", Country: "BE"}), MoveApprove, auth.RoleNone},
		{"coordinator who reviews acts as reviewer", p(false, reviewerAT, coordR25), MoveApprove, auth.RoleReviewer},
		{"coordinator adjudicates", p(false, coordR25), MoveAdjudicate, auth.RoleCoordinator},
		{"coordinator of another round", p(false, auth.Assignment{Role: auth.RoleCoordinator, Round: "r24"}), MoveAdjudicate, auth.RoleNone},
		{"global coordinator", p(false, auth.Assignment{Role: auth.RoleCoordinator, Round: auth.AllRounds}), MoveLock, auth.RoleCoordinator},
		{"admin", p(true), MoveOverride, auth.RoleCoordinator},
		{"expert disputes", p(false, expertAT, coordR25), MoveDispute, auth.RoleExpert},
		{"coordinator never disputes", p(false, coordR25), MoveDispute, auth.RoleNone},
		{"disabled", auth.Principal{UserID: "u", Disabled: true, Assignments: []auth.Assignment{expertAT}}, MoveSave, auth.RoleNone},
		{"anonymous", auth.Principal{}, MoveComment, auth.RoleNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ActorFor(tt.p, "r25", "AT", tt.move)
			if tt.want == auth.RoleNone {
				if !errors.Is(err, ErrForbidden) {
					t.Errorf("got %+v, %v; want ErrForbidden", a, err)
				}
				return
			}
			if err != nil || a != (Actor{ID: "u", Role: tt.want}) {
				t.Errorf("got %+v, %v; want %s", a, err, tt.want)
			}
		})
	}
}

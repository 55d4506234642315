package review

import (
	"errors"
	"fmt"
	"github.com/google/go-cmp/cmp"
	"slices"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/auth"
)

// The people of the tests: the expert wrote the answers, two reviewers and a coordinator.
var (
	expert      = Actor{ID: "ex", Role: auth.RoleExpert}
	reviewer1   = Actor{ID: "r1", Role: auth.RoleReviewer}
	reviewer2   = Actor{ID: "r2", Role: auth.RoleReviewer}
	coordinator = Actor{ID: "co", Role: auth.RoleCoordinator}
	byRole      = map[auth.Role]Actor{auth.RoleExpert: expert, auth.RoleReviewer: reviewer1, auth.RoleCoordinator: coordinator}
	roles       = []auth.Role{auth.RoleExpert, auth.RoleReviewer, auth.RoleCoordinator}
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func ptr(f float64) *float64 { return &f }

// answerMoves calls each answer move of the table with valid input on answer "A1" at version 2.
var answerMoves = map[Move]func(s *Sheet, a Actor) (Change, error){
	MoveSave: func(s *Sheet, a Actor) (Change, error) { return s.Save(a, "A1", 2, "a new source") },
	MoveConfirm: func(s *Sheet, a Actor) (Change, error) {
		cs, err := s.Confirm(a, []Target{{"A1", 2}})
		if err != nil {
			return Change{}, err
		}
		return cs[0], nil
	},
	MoveApprove: func(s *Sheet, a Actor) (Change, error) { return s.Approve(a, "A1", 2) },
	MoveRequestChanges: func(s *Sheet, a Actor) (Change, error) {
		return s.RequestChanges(a, "A1", 2, RequestInput{Reason: "art. 5 was repealed"})
	},
	MoveRevise:  func(s *Sheet, a Actor) (Change, error) { return s.Revise(a, "A1", 2, "agreed, repealed in 2024") },
	MoveDispute: func(s *Sheet, a Actor) (Change, error) { return s.Dispute(a, "A1", 2, "art. 5 is still in force") },
	MoveAdjudicate: func(s *Sheet, a Actor) (Change, error) {
		return s.Adjudicate(a, "A1", 2, AdjudicationInput{Option: "b", Rationale: "the repeal takes effect in 2026"})
	},
	MoveSendBack: func(s *Sheet, a Actor) (Change, error) { return s.SendBack(a, "A1", 2, "cite the regulation too") },
	MoveOverride: func(s *Sheet, a Actor) (Change, error) {
		return s.Override(a, "A1", 2, ptr(50), "partial implementation")
	},
	MoveComment: func(s *Sheet, a Actor) (Change, error) { return s.AddComment(a, "A1", "see the ministry circular", 0) },
}

// answerFixture is a sheet in state ss whose answer A1, written by the expert, is in state as
// at version 2, with one reviewer per answer; A2 waits for review so that a verdict on A1
// leaves the sheet in review.
func answerFixture(as AnswerState, ss SheetState) *Sheet {
	return withAnswers(&Sheet{State: ss, ReviewersPerAnswer: 1},
		Answer{Indicator: "A1", State: as, Version: 2, Author: "ex", Authors: []string{"ex"}},
		Answer{Indicator: "A2", State: AnswerSubmitted, Version: 1, Author: "ex", Authors: []string{"ex"}},
	)
}

// wantAnswerMove is what the tables say of move by role on an answer in state as while the
// sheet is in ss: the state it leads to, or the error.
func wantAnswerMove(as AnswerState, ss SheetState, move Move, role auth.Role) (AnswerState, error) {
	if !slices.Contains(MoveRoles(move), role) {
		return "", ErrForbidden
	}
	if ss == SheetLocked {
		return "", ErrLocked
	}
	for _, row := range AnswerTable {
		if row.From == as && row.Move == move && slices.Contains(row.Sheet, ss) {
			if !slices.Contains(row.Roles, role) {
				return "", ErrForbidden
			}
			return row.To, nil
		}
	}
	return "", ErrInvalidTransition
}

// TestAnswerTable walks every (answer state, sheet state, move, role): legal moves succeed and
// the applied change puts the answer in the table's next state; illegal ones fail with their
// typed error and leave nothing to log.
func TestAnswerTable(t *testing.T) {
	legal := 0
	for _, as := range AnswerStates {
		for _, ss := range SheetStates {
			for move, call := range answerMoves {
				for _, role := range roles {
					name := fmt.Sprintf("%s/%s/%s/%s", as, ss, move, role)
					wantTo, wantErr := wantAnswerMove(as, ss, move, role)
					s := answerFixture(as, ss)
					c, err := call(s, byRole[role])
					if wantErr != nil {
						if !errors.Is(err, wantErr) {
							t.Errorf("%s: got error %v, want %v", name, err, wantErr)
						}
						continue
					}
					legal++
					if err != nil {
						t.Errorf("%s: got error %v, want a change to %s", name, err, wantTo)
						continue
					}
					s.Apply(c, t0)
					if got := s.Answer("A1").State; got != wantTo {
						t.Errorf("%s: answer is %s, want %s", name, got, wantTo)
					}
				}
			}
		}
	}
	t.Logf("%d legal (state, sheet, move, role) combinations", legal)
	if legal == 0 {
		t.Fatal("no legal move was tried")
	}
}

// TestTableRules checks the rules the issue states against the table itself, so that a row
// added later cannot quietly break them.
func TestTableRules(t *testing.T) {
	for _, row := range AnswerTable {
		switch {
		case (row.Move == MoveApprove || row.Move == MoveRequestChanges) && slices.Contains(row.Roles, auth.RoleExpert):
			t.Errorf("%v: experts never give verdicts", row)
		case (row.Move == MoveSave || row.Move == MoveRevise || row.Move == MoveDispute) && slices.Contains(row.Roles, auth.RoleReviewer):
			t.Errorf("%v: reviewers never change answer content", row)
		case (row.Move == MoveAdjudicate || row.Move == MoveOverride || row.Move == MoveSendBack) && !slices.Equal(row.Roles, coordinatorOnly):
			t.Errorf("%v: only coordinators adjudicate, override and send back", row)
		case slices.Contains(row.Sheet, SheetLocked):
			t.Errorf("%v: nothing changes once a sheet is locked", row)
		}
		if (row.Move == MoveOverride || row.Move == MoveComment) && row.To != row.From {
			t.Errorf("%v: overrides and comments change no state", row)
		}
	}
	for _, row := range SheetTable {
		if row.Automatic != (len(row.Roles) == 0) {
			t.Errorf("%v: automatic rows, and only they, have no roles", row)
		}
		if row.From == SheetLocked && row.Move != MoveReopen {
			t.Errorf("%v: only reopening leaves a locked sheet", row)
		}
	}
	// Every state can be reached and left (locked only by reopening).
	for _, s := range AnswerStates {
		in := slices.ContainsFunc(AnswerTable, func(r AnswerTransition) bool { return r.To == s && r.From != s })
		out := slices.ContainsFunc(AnswerTable, func(r AnswerTransition) bool { return r.From == s && r.To != s })
		if (!in && s != AnswerDraft) || !out {
			t.Errorf("answer state %s: reached %v, left %v", s, in, out)
		}
	}
	for _, s := range SheetStates {
		in := slices.ContainsFunc(SheetTable, func(r SheetTransition) bool { return r.To == s && r.From != s })
		out := slices.ContainsFunc(SheetTable, func(r SheetTransition) bool { return r.From == s && r.To != s })
		if (!in && s != SheetNotStarted) || !out {
			t.Errorf("sheet state %s: reached %v, left %v", s, in, out)
		}
	}
}

// sheetFixture is a sheet in state ss whose answers are as that state implies, so that the
// legal explicit move from it succeeds.
func sheetFixture(ss SheetState) *Sheet {
	states := map[SheetState][2]AnswerState{
		SheetNotStarted:  {AnswerDraft, AnswerDraft},
		SheetInProgress:  {AnswerDraft, AnswerDraft},
		SheetSubmitted:   {AnswerSubmitted, AnswerSubmitted},
		SheetInReview:    {AnswerApproved, AnswerSubmitted},
		SheetReturned:    {AnswerApproved, AnswerRevised},
		SheetReadyToLock: {AnswerApproved, AnswerApproved},
		SheetLocked:      {AnswerApproved, AnswerResolved},
	}[ss]
	return withAnswers(&Sheet{State: ss, ReviewersPerAnswer: 1},
		Answer{Indicator: "A1", State: states[0], Version: 1, Author: "ex", Authors: []string{"ex"}},
		Answer{Indicator: "A2", State: states[1], Version: 1, Author: "ex", Authors: []string{"ex"}},
	)
}

var sheetMoves = map[Move]func(s *Sheet, a Actor) (Change, error){
	MoveSubmit:   func(s *Sheet, a Actor) (Change, error) { return s.Submit(a, []string{"A1", "A2"}) },
	MoveResubmit: func(s *Sheet, a Actor) (Change, error) { return s.Resubmit(a, []string{"A1", "A2"}) },
	MoveReturn:   func(s *Sheet, a Actor) (Change, error) { return s.Return(a, "sources missing throughout") },
	MoveLock:     func(s *Sheet, a Actor) (Change, error) { return s.Lock(a) },
	MoveReopen:   func(s *Sheet, a Actor) (Change, error) { return s.Reopen(a, "erratum: wrong law cited in A2") },
}

// TestSheetTable walks every (sheet state, explicit move, role) as TestAnswerTable does for
// answers; the sheet save is walked through Save.
func TestSheetTable(t *testing.T) {
	moves := map[Move]func(s *Sheet, a Actor) (Change, error){
		// The first answer to an indicator nobody answered yet.
		MoveSave: func(s *Sheet, a Actor) (Change, error) { return s.Save(a, "A9", 0, "a new source") },
		MoveConfirm: func(s *Sheet, a Actor) (Change, error) {
			cs, err := s.Confirm(a, []Target{{"A1", 1}})
			if err != nil {
				return Change{}, err
			}
			return cs[0], nil
		},
	}
	for m, f := range sheetMoves {
		moves[m] = f
	}
	for _, ss := range SheetStates {
		for move, call := range moves {
			for _, role := range roles {
				name := fmt.Sprintf("%s/%s/%s", ss, move, role)
				wantTo, wantErr := wantSheetMove(ss, move, role)
				s := sheetFixture(ss)
				c, err := call(s, byRole[role])
				if wantErr != nil {
					if !errors.Is(err, wantErr) {
						t.Errorf("%s: got error %v, want %v", name, err, wantErr)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: got error %v, want a change to %s", name, err, wantTo)
					continue
				}
				s.Apply(c, t0)
				if s.State != wantTo {
					t.Errorf("%s: sheet is %s, want %s", name, s.State, wantTo)
				}
			}
		}
	}
}

func wantSheetMove(ss SheetState, move Move, role auth.Role) (SheetState, error) {
	if !slices.Contains(MoveRoles(move), role) {
		return "", ErrForbidden
	}
	if ss == SheetLocked && move != MoveReopen {
		return "", ErrLocked
	}
	for _, row := range SheetTable {
		if row.From == ss && row.Move == move && !row.Automatic {
			if !slices.Contains(row.Roles, role) {
				return "", ErrForbidden
			}
			return row.To, nil
		}
	}
	return "", ErrInvalidTransition
}

// TestSubmitMovesAnswers checks the answer rows of submission: drafts and revisions go to
// review, disputes stay for the coordinator, settled answers stay settled, and inapplicable
// answers stay out.
func TestSubmitMovesAnswers(t *testing.T) {
	s := withAnswers(&Sheet{State: SheetInProgress},
		Answer{Indicator: "A1", State: AnswerDraft, Version: 1},
		Answer{Indicator: "A2", State: AnswerDraft, Version: 1},
	)
	c, err := s.Submit(expert, []string{"A1"})
	if err != nil {
		t.Fatal(err)
	}
	s.Apply(c, t0)
	if a1, a2 := s.Answer("A1"), s.Answer("A2"); a1.State != AnswerSubmitted || a2.State != AnswerDraft || !a2.Inapplicable {
		t.Errorf("after submit: A1 %s, A2 %s (inapplicable %v); want submitted, draft and inapplicable", a1.State, a2.State, a2.Inapplicable)
	}

	s = withAnswers(&Sheet{State: SheetReturned},
		Answer{Indicator: "A1", State: AnswerRevised, Version: 2},
		Answer{Indicator: "A2", State: AnswerDisputed, Version: 1},
		Answer{Indicator: "A3", State: AnswerApproved, Version: 1},
		Answer{Indicator: "A4", State: AnswerDraft, Version: 1},
		Answer{Indicator: "A5", State: AnswerResolved, Version: 3},
	)
	c, err = s.Resubmit(expert, []string{"A1", "A2", "A3", "A4", "A5"})
	if err != nil {
		t.Fatal(err)
	}
	s.Apply(c, t0)
	want := map[string]AnswerState{"A1": AnswerSubmitted, "A2": AnswerDisputed, "A3": AnswerApproved, "A4": AnswerSubmitted, "A5": AnswerResolved}
	for code, st := range want {
		if got := s.Answer(code).State; got != st {
			t.Errorf("after resubmit: %s is %s, want %s", code, got, st)
		}
	}
	if s.State != SheetInReview {
		t.Errorf("after resubmit: sheet is %s, want in_review", s.State)
	}
}

// TestResubmitRefusals: every request must be answered, and every applicable answer written.
func TestResubmitRefusals(t *testing.T) {
	s := withAnswers(&Sheet{State: SheetReturned},
		Answer{Indicator: "A1", State: AnswerChangesRequested, Version: 1},
		Answer{Indicator: "A2", State: AnswerApproved, Version: 1},
	)
	_, err := s.Resubmit(expert, []string{"A1", "A2", "A3"})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a validation error", err)
	}
	want := []FieldError{
		{"answers.A1", "changes were requested: revise the answer or dispute the request"},
		{"answers.A3", "not answered"},
	}
	if !slices.Equal(ve.Problems, want) {
		t.Errorf("problems %v, want %v", ve.Problems, want)
	}
}

// TestResubmitReadyAtOnce: a sheet returned whole with nothing left to decide is ready to lock
// as soon as it is resubmitted.
func TestResubmitReadyAtOnce(t *testing.T) {
	s := sheetFixture(SheetReadyToLock)
	apply(t, s)(s.Return(coordinator, "check the dates"))
	if got := s.ReturnReason(); got != "check the dates" {
		t.Errorf("return reason %q", got)
	}
	c := apply(t, s)(s.Resubmit(expert, []string{"A1", "A2"}))
	want := []SheetStep{{Move: MoveResubmit, From: SheetReturned, To: SheetInReview}, {Move: MoveReadyToLock, From: SheetInReview, To: SheetReadyToLock, Automatic: true}}
	if !slices.Equal(c.Sheet, want) {
		t.Errorf("steps %v, want %v", c.Sheet, want)
	}
}

// TestAutomaticSheetMoves produces every automatic row of the sheet table from the answer move
// that causes it.
func TestAutomaticSheetMoves(t *testing.T) {
	tests := []struct {
		name  string
		sheet SheetState
		a1    AnswerState
		move  func(s *Sheet) (Change, error)
		want  []SheetStep
	}{
		{"first verdict starts the review", SheetSubmitted, AnswerSubmitted,
			func(s *Sheet) (Change, error) { return s.Approve(reviewer1, "A1", 2) },
			[]SheetStep{{MoveStartReview, SheetSubmitted, SheetInReview, true}}},
		{"a request with nothing else to review returns the sheet", SheetInReview, AnswerApproved,
			func(s *Sheet) (Change, error) {
				return s.RequestChanges(reviewer1, "A2", 1, RequestInput{Reason: "outdated"})
			},
			[]SheetStep{{MoveReturn, SheetInReview, SheetReturned, true}}},
		{"the last approval makes the sheet ready to lock", SheetInReview, AnswerApproved,
			func(s *Sheet) (Change, error) { return s.Approve(reviewer1, "A2", 1) },
			[]SheetStep{{MoveReadyToLock, SheetInReview, SheetReadyToLock, true}}},
		{"sending back from a ready sheet returns it", SheetReadyToLock, AnswerApproved,
			func(s *Sheet) (Change, error) { return s.SendBack(coordinator, "A1", 2, "cite the decree") },
			[]SheetStep{{MoveReturn, SheetReadyToLock, SheetReturned, true}}},
	}
	covered := map[[2]string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := answerFixture(tt.a1, tt.sheet)
			if tt.sheet == SheetReadyToLock {
				edit(s, "A2", func(a *Answer) { a.State = AnswerApproved })
			}
			c, err := tt.move(s)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Sheet, tt.want) {
				t.Errorf("steps %v, want %v", c.Sheet, tt.want)
			}
			for _, st := range c.Sheet {
				covered[[2]string{string(st.From), string(st.Move)}] = true
			}
		})
	}
	for _, row := range SheetTable {
		if row.Automatic && !covered[[2]string{string(row.From), string(row.Move)}] {
			t.Errorf("automatic row %v is never produced", row)
		}
	}
}

// apply returns a function that fails the test on a move's error and applies its change.
func apply(t *testing.T, s *Sheet) func(Change, error) Change {
	t.Helper()
	return func(c Change, err error) Change {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", c.Move, err)
		}
		s.Apply(c, t0)
		return c
	}
}

// withAnswers gives s the answers (in indicator order), as a sheet read from the store has.
func withAnswers(s *Sheet, answers ...Answer) *Sheet {
	s.SetAnswers(answers)
	return s
}

// edit changes one answer of s in place of a move, to set up a state.
func edit(s *Sheet, indicator string, f func(*Answer)) {
	a := s.Answer(indicator)
	f(&a)
	s.setAnswer(a)
}

// byAnswers compares sheets by their answers, however they are chunked.
var byAnswers = cmp.Transformer("answers", func(s Sheet) comparableSheet {
	return comparableSheet{s.State, s.Answers(), s.History, s.Participants, s.ReviewersPerAnswer}
})

type comparableSheet struct {
	State              SheetState
	Answers            []Answer
	History            []StatusChange
	Participants       []Participant
	ReviewersPerAnswer int
}

// TestWroteAllIsWroteInTurn: recording many writes at once gives what recording them one by one
// does, on sheets that already hold some of the answers.
func TestWroteAllIsWroteInTurn(t *testing.T) {
	for n := range []int{0, 10, 100} {
		var writes []Write
		for i := range 3*chunkSize + n {
			writes = append(writes, Write{Indicator: fmt.Sprintf("I%04d", (i*37)%150), Version: i%4 + 1, Author: fmt.Sprintf("u%d", i%3)})
		}
		base := withAnswers(&Sheet{}, Answer{Indicator: "I0000", State: AnswerSubmitted, Version: 1, Author: "x", Authors: []string{"x"}},
			Answer{Indicator: "I0037", State: AnswerApproved, Version: 2})
		one, all := base.clone(), base.clone()
		for _, w := range writes {
			one.Wrote(w.Indicator, w.Version, w.Author)
		}
		all.WroteAll(writes)
		if diff := cmp.Diff(one, all, byAnswers); diff != "" {
			t.Fatalf("%d writes: WroteAll differs from Wrote in turn:\n%s", len(writes), diff)
		}
	}
}

package review

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/google/go-cmp/cmp"
)

// logged is a sheet with its log, as the round keeps it: every change applied is also kept, so
// that a test can replay the log and compare.
type logged struct {
	t     *testing.T
	sheet *Sheet
	log   []Change
	at    time.Time
}

func newLogged(t *testing.T, reviewers int) *logged {
	return &logged{t: t, sheet: &Sheet{ReviewersPerAnswer: reviewers}, at: t0}
}

// do applies a move's change, failing the test on its error.
func (l *logged) do(c Change, err error) Change {
	l.t.Helper()
	if err != nil {
		l.t.Fatalf("%s %s: %v", c.Move, c.Indicator, err)
	}
	l.at = l.at.Add(time.Minute)
	l.sheet.Apply(c, l.at)
	l.log = append(l.log, c)
	return c
}

// replay rebuilds the sheet from its log.
func (l *logged) replay() *Sheet { return l.replayTo(len(l.log)) }

// replayTo rebuilds the sheet from the first n entries of its log.
func (l *logged) replayTo(n int) *Sheet {
	s := &Sheet{ReviewersPerAnswer: l.sheet.ReviewersPerAnswer}
	at := t0
	for _, c := range l.log[:n] {
		at = at.Add(time.Minute)
		s.Apply(c, at)
	}
	return s
}

func (l *logged) state(code string) AnswerState { return l.sheet.Answer(code).State }

// TestTwoBlindReviewers plays the worked example of docs/review.md: a sheet of three answers
// with two blind reviewers, from the first save to the lock.
func TestTwoBlindReviewers(t *testing.T) {
	l := newLogged(t, 2)
	s := l.sheet
	for _, code := range []string{"A1", "A2", "A3"} {
		l.do(s.Save(expert, code, 0, ""))
	}
	l.do(s.Submit(expert, []string{"A1", "A2", "A3"}))

	// A1: both approve; approved with the second approval only.
	l.do(s.Approve(reviewer1, "A1", 1))
	if got := l.state("A1"); got != AnswerSubmitted {
		t.Errorf("A1 after one of two approvals: %s, want submitted", got)
	}
	if s.State != SheetInReview {
		t.Errorf("sheet after the first verdict: %s, want in_review", s.State)
	}
	l.do(s.Approve(reviewer2, "A1", 1))
	// A2: the reviewers disagree; A3: both request changes.
	l.do(s.Approve(reviewer1, "A2", 1))
	l.do(s.RequestChanges(reviewer2, "A2", 1, RequestInput{Reason: "the 2024 amendment lowered the fee", SuggestedOption: "b"}))
	l.do(s.RequestChanges(reviewer1, "A3", 1, RequestInput{Reason: "no source for the waiting period"}))
	c := l.do(s.RequestChanges(reviewer2, "A3", 1, RequestInput{Reason: "the period is 5 years, not 3", SuggestedValue: ptr(5)}))
	if got := (map[string]AnswerState{"A1": l.state("A1"), "A2": l.state("A2"), "A3": l.state("A3")}); !cmp.Equal(got, map[string]AnswerState{"A1": AnswerApproved, "A2": AnswerChangesRequested, "A3": AnswerChangesRequested}) {
		t.Errorf("after the verdicts: %v", got)
	}
	if want := []SheetStep{{MoveReturn, SheetInReview, SheetReturned, true}}; !slices.Equal(c.Sheet, want) {
		t.Errorf("the last verdict: sheet steps %v, want %v", c.Sheet, want)
	}
	a3 := s.Answer("A3")
	if reqs := a3.OpenRequests(); len(reqs) != 2 || reqs[1].Reason != "the period is 5 years, not 3" || *reqs[1].SuggestedValue != 5 {
		t.Errorf("A3 open requests: %+v", reqs)
	}

	// The expert revises A3 and disputes A2, then resubmits.
	l.do(s.Revise(expert, "A3", 1, "the 2023 law sets 5 years; source added"))
	l.do(s.Dispute(expert, "A2", 1, "the amendment is not in force until 2026"))
	l.do(s.Resubmit(expert, []string{"A1", "A2", "A3"}))
	if l.state("A3") != AnswerSubmitted || l.state("A2") != AnswerDisputed || s.State != SheetInReview {
		t.Errorf("after resubmission: A2 %s, A3 %s, sheet %s", l.state("A2"), l.state("A3"), s.State)
	}
	a3 = s.Answer("A3")
	if a3.Version != 2 || len(a3.CurrentVerdicts()) != 0 || len(a3.Verdicts) != 2 {
		t.Errorf("A3 after revision: version %d, %d current verdicts of %d", a3.Version, len(a3.CurrentVerdicts()), len(a3.Verdicts))
	}

	// The coordinator adjudicates A2; the reviewers approve the revised A3.
	l.do(s.Adjudicate(coordinator, "A2", 1, AdjudicationInput{Option: "a", Rationale: "the amendment applies from 2026; the reference date is 2025"}))
	l.do(s.Approve(reviewer1, "A3", 2))
	l.do(s.AddComment(reviewer2, "A3", "thanks, the source settles it", 0))
	l.do(s.AddComment(expert, "A3", "you are welcome", 1))
	c = l.do(s.Approve(reviewer2, "A3", 2))
	if want := []SheetStep{{MoveReadyToLock, SheetInReview, SheetReadyToLock, true}}; !slices.Equal(c.Sheet, want) {
		t.Errorf("the last approval: sheet steps %v, want %v", c.Sheet, want)
	}
	l.do(s.Override(coordinator, "A1", 1, ptr(50), "implemented in two regions only"))
	l.do(s.Lock(coordinator))

	if s.State != SheetLocked {
		t.Fatalf("sheet %s, want locked", s.State)
	}
	a2 := s.Answer("A2")
	if a2.State != AnswerResolved || a2.Version != 2 || a2.Author != "co" || a2.Adjudications[0].Option != "a" {
		t.Errorf("A2: %s version %d by %s, adjudication %+v", a2.State, a2.Version, a2.Author, a2.Adjudications)
	}
	if o := s.Answer("A1").ScoreOverride(); o == nil || *o.Score != 50 {
		t.Errorf("A1 override %+v, want 50", o)
	}
	var moves []Move
	for _, h := range s.History {
		moves = append(moves, h.Move)
	}
	if want := []Move{MoveSave, MoveSubmit, MoveStartReview, MoveReturn, MoveResubmit, MoveReadyToLock, MoveLock}; !slices.Equal(moves, want) {
		t.Errorf("sheet history %v, want %v", moves, want)
	}
	if got, want := s.Progress(), (Progress{Answers: 3, Approved: 2, Resolved: 1, Reviewed: 3, OpenComments: 2}); got != want {
		t.Errorf("progress %+v, want %+v", got, want)
	}

	// What the expert reads names no reviewer.
	labels := NewLabels(expert, true, s.Participants, nil)
	for _, v := range append(s.Answer("A2").Verdicts, s.Answer("A3").Verdicts...) {
		if got := labels.Of(v.Reviewer); !strings.HasPrefix(got, "Reviewer ") {
			t.Errorf("the expert sees reviewer %s as %q", v.Reviewer, got)
		}
	}
	if got := labels.Of(s.Answer("A3").Comments[0].Author); got != "Reviewer 2" {
		t.Errorf("the expert sees the comment's author as %q, want Reviewer 2", got)
	}

	// Agreement: A1 v1 (approve, approve), A2 v1 (approve, request), A3 v1 (request, request),
	// A3 v2 (approve, approve): 3 of 4 pairs agree; alpha = 1 - 7*2/30.
	g := AgreementOf(s.Answers())
	if g.Units != 4 || g.Pairs != 4 || g.Agreeing != 3 || g.PercentAgreement != 75 || g.Alpha == nil || math.Abs(*g.Alpha-(1-14.0/30)) > 1e-12 {
		t.Errorf("agreement %+v (alpha %v)", g, deref(g.Alpha))
	}

	// The log rebuilds the same sheet.
	if diff := cmp.Diff(s, l.replay(), byAnswers); diff != "" {
		t.Errorf("replayed sheet differs (-live +replayed):\n%s", diff)
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// submitted returns a logged sheet with answers A1 and A2 written by the expert and submitted.
func submitted(t *testing.T, reviewers int) *logged {
	l := newLogged(t, reviewers)
	l.do(l.sheet.Save(expert, "A1", 0, ""))
	l.do(l.sheet.Save(expert, "A2", 0, ""))
	l.do(l.sheet.Submit(expert, []string{"A1", "A2"}))
	return l
}

// TestSeveralReviewers: an answer is approved when as many reviewers as the round asks approve
// its version; a reviewer rules once per version; none rules after the decision.
func TestSeveralReviewers(t *testing.T) {
	l := submitted(t, 3)
	s := l.sheet
	reviewer3 := Actor{ID: "r3", Role: auth.RoleReviewer}
	l.do(s.Approve(reviewer1, "A1", 1))
	if _, err := s.Approve(reviewer1, "A1", 1); !errors.Is(err, ErrAlreadyReviewed) {
		t.Errorf("a second verdict by the same reviewer: %v, want ErrAlreadyReviewed", err)
	}
	if _, err := s.RequestChanges(reviewer1, "A1", 1, RequestInput{Reason: "changed my mind"}); !errors.Is(err, ErrAlreadyReviewed) {
		t.Errorf("a contrary verdict by the same reviewer: %v, want ErrAlreadyReviewed", err)
	}
	l.do(s.Approve(reviewer2, "A1", 1))
	if got := l.state("A1"); got != AnswerSubmitted {
		t.Errorf("after 2 of 3 approvals: %s, want submitted", got)
	}
	if !s.Answer("A1").AwaitsVerdictFrom("r3") || s.Answer("A1").AwaitsVerdictFrom("r1") || s.Answer("A1").AwaitsVerdictFrom("ex") {
		t.Error("AwaitsVerdictFrom: want only r3 awaited")
	}
	l.do(s.Approve(reviewer3, "A1", 1))
	if got := l.state("A1"); got != AnswerApproved {
		t.Errorf("after 3 of 3 approvals: %s, want approved", got)
	}
	if _, err := s.Approve(Actor{ID: "r4", Role: auth.RoleReviewer}, "A1", 1); !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("a verdict after the decision: %v, want ErrInvalidTransition", err)
	}

	// Two approvals and one request: the disagreement goes to the expert.
	l.do(s.Approve(reviewer1, "A2", 1))
	l.do(s.RequestChanges(reviewer2, "A2", 1, RequestInput{Reason: "see the 2024 decree"}))
	if got := l.state("A2"); got != AnswerSubmitted {
		t.Errorf("A2 before the third verdict: %s, want submitted", got)
	}
	l.do(s.Approve(reviewer3, "A2", 1))
	if got := l.state("A2"); got != AnswerChangesRequested || s.State != SheetReturned {
		t.Errorf("A2 after a disagreement: %s (sheet %s), want changes_requested (returned)", got, s.State)
	}

	// 0 reviewers per answer means one.
	l = submitted(t, 0)
	l.do(l.sheet.Approve(reviewer1, "A1", 1))
	if got := l.state("A1"); got != AnswerApproved {
		t.Errorf("with reviewers_per_answer 0: %s after one approval, want approved", got)
	}
}

// TestRevisionMakesVerdictsHistory: a revision is a new version; verdicts on the old one stay,
// tagged with it, and count no more.
func TestRevisionMakesVerdictsHistory(t *testing.T) {
	l := submitted(t, 2)
	s := l.sheet
	l.do(s.Approve(reviewer1, "A1", 1))
	l.do(s.Approve(reviewer2, "A1", 1))
	l.do(s.Approve(reviewer1, "A2", 1))
	l.do(s.RequestChanges(reviewer2, "A2", 1, RequestInput{Reason: "outdated"}))
	l.do(s.Revise(expert, "A2", 1, "updated to the 2025 text"))
	l.do(s.Resubmit(expert, []string{"A1", "A2"}))
	l.do(s.Approve(reviewer2, "A2", 2))
	a := s.Answer("A2")
	if a.State != AnswerSubmitted {
		t.Errorf("after one approval of version 2: %s, want submitted (r1's approval was of version 1)", a.State)
	}
	var versions []int
	for _, v := range a.Verdicts {
		versions = append(versions, v.Version)
	}
	if !slices.Equal(versions, []int{1, 1, 2}) {
		t.Errorf("verdict versions %v, want [1 1 2]", versions)
	}
	if got := a.Revisions; len(got) != 1 || got[0].Version != 2 || got[0].Reason != "updated to the 2025 text" {
		t.Errorf("revisions %+v", got)
	}
	if len(a.OpenRequests()) != 0 {
		t.Errorf("open requests after the revision: %+v", a.OpenRequests())
	}
}

// TestStaleVersion: a move naming a version that is no longer current is refused with the
// current answer.
func TestStaleVersion(t *testing.T) {
	l := submitted(t, 1)
	s := l.sheet
	l.do(s.RequestChanges(reviewer1, "A1", 1, RequestInput{Reason: "outdated"}))
	l.do(s.Approve(reviewer1, "A2", 1))
	l.do(s.Revise(expert, "A1", 1, "updated"))
	l.do(s.Resubmit(expert, []string{"A1", "A2"}))
	_, err := s.Approve(reviewer1, "A1", 1)
	var stale *StaleError
	if !errors.As(err, &stale) || !errors.Is(err, ErrStale) {
		t.Fatalf("approval of version 1: %v, want a StaleError", err)
	}
	if stale.Current.Version != 2 || stale.Current.State != AnswerSubmitted {
		t.Errorf("the error carries version %d (%s), want 2 (submitted)", stale.Current.Version, stale.Current.State)
	}
	if _, err := s.Approve(reviewer1, "A1", 2); err != nil {
		t.Errorf("approval of the current version: %v", err)
	}
}

// TestSelfReview: nobody gives a verdict on an answer they wrote a version of, whatever role
// they act in.
func TestSelfReview(t *testing.T) {
	l := submitted(t, 1)
	s := l.sheet
	tests := []struct {
		name  string
		actor Actor
	}{
		{"the expert acting as a reviewer", Actor{ID: "ex", Role: auth.RoleReviewer}},
		{"the expert acting as a coordinator", Actor{ID: "ex", Role: auth.RoleCoordinator}},
	}
	for _, tt := range tests {
		_, err := s.Approve(tt.actor, "A1", 1)
		if !errors.Is(err, ErrSelfReview) || !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("%s: %v, want ErrSelfReview (a forbidden)", tt.name, err)
		}
	}

	// A coordinator who revised an answer for the expert wrote it too.
	l.do(s.RequestChanges(reviewer1, "A1", 1, RequestInput{Reason: "outdated"}))
	l.do(s.Approve(reviewer1, "A2", 1))
	l.do(s.Revise(coordinator, "A1", 1, "corrected the article number for the expert"))
	l.do(s.Resubmit(expert, []string{"A1", "A2"}))
	if _, err := s.Approve(coordinator, "A1", 2); !errors.Is(err, ErrSelfReview) {
		t.Errorf("the coordinator who revised it: %v, want ErrSelfReview", err)
	}
}

// TestValidation: bad input is refused with every field named, and before anything is logged.
func TestValidation(t *testing.T) {
	long := strings.Repeat("é", MaxReason+1)
	tests := []struct {
		name  string
		sheet func() *Sheet
		move  func(s *Sheet) (Change, error)
		want  []FieldError
	}{
		{"request without reason", func() *Sheet { return answerFixture(AnswerSubmitted, SheetSubmitted) },
			func(s *Sheet) (Change, error) {
				return s.RequestChanges(reviewer1, "A1", 2, RequestInput{Reason: "  "})
			},
			[]FieldError{{"reason", "is required"}}},
		{"request with a too long reason and an infinite value", func() *Sheet { return answerFixture(AnswerSubmitted, SheetSubmitted) },
			func(s *Sheet) (Change, error) {
				return s.RequestChanges(reviewer1, "A1", 2, RequestInput{Reason: long, SuggestedValue: ptr(math.Inf(1))})
			},
			[]FieldError{{"reason", "must be at most 2000 characters (has 2001)"}, {"suggested_value", "must be a finite number"}}},
		{"revision without reason", func() *Sheet { return answerFixture(AnswerChangesRequested, SheetReturned) },
			func(s *Sheet) (Change, error) { return s.Revise(expert, "A1", 2, "") },
			[]FieldError{{"reason", "is required"}}},
		{"new answer in a returned sheet without reason", func() *Sheet { return answerFixture(AnswerChangesRequested, SheetReturned) },
			func(s *Sheet) (Change, error) { return s.Save(expert, "A9", 0, "") },
			[]FieldError{{"reason", "is required"}}},
		{"dispute without text", func() *Sheet { return answerFixture(AnswerChangesRequested, SheetReturned) },
			func(s *Sheet) (Change, error) { return s.Dispute(expert, "A1", 2, "") },
			[]FieldError{{"text", "is required"}}},
		{"adjudication without decision or rationale", func() *Sheet { return answerFixture(AnswerDisputed, SheetInReview) },
			func(s *Sheet) (Change, error) { return s.Adjudicate(coordinator, "A1", 2, AdjudicationInput{}) },
			[]FieldError{{"rationale", "is required"}, {"option", "the final option, value, text or not_applicable is required"}}},
		{"send-back without reason", func() *Sheet { return answerFixture(AnswerApproved, SheetReadyToLock) },
			func(s *Sheet) (Change, error) { return s.SendBack(coordinator, "A1", 2, "") },
			[]FieldError{{"reason", "is required"}}},
		{"override with NaN and no reason", func() *Sheet { return answerFixture(AnswerApproved, SheetReadyToLock) },
			func(s *Sheet) (Change, error) { return s.Override(coordinator, "A1", 2, ptr(math.NaN()), "") },
			[]FieldError{{"reason", "is required"}, {"score", "must be a finite number"}}},
		{"withdrawing an override that does not exist", func() *Sheet { return answerFixture(AnswerApproved, SheetReadyToLock) },
			func(s *Sheet) (Change, error) { return s.Override(coordinator, "A1", 2, nil, "no longer needed") },
			[]FieldError{{"score", "is required: the answer has no override to withdraw"}}},
		{"return without reason", func() *Sheet { return sheetFixture(SheetInReview) },
			func(s *Sheet) (Change, error) { return s.Return(coordinator, "") },
			[]FieldError{{"reason", "is required"}}},
		{"reopen with invalid UTF-8", func() *Sheet { return sheetFixture(SheetLocked) },
			func(s *Sheet) (Change, error) { return s.Reopen(coordinator, "\xff") },
			[]FieldError{{"reason", "must be valid UTF-8"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.move(tt.sheet())
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want a ValidationError", err)
			}
			if diff := cmp.Diff(tt.want, ve.Problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOverride: an override is kept beside the answer, the last one is in force, and it can be
// withdrawn; the answer's state never moves.
func TestOverride(t *testing.T) {
	s := answerFixture(AnswerApproved, SheetReadyToLock)
	for _, score := range []*float64{ptr(50), ptr(0), nil} {
		c, err := s.Override(coordinator, "A1", 2, score, "reason")
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Answers) != 0 || len(c.Sheet) != 0 {
			t.Errorf("override changed states: %+v %+v", c.Answers, c.Sheet)
		}
		s.Apply(c, t0)
	}
	a := s.Answer("A1")
	if len(a.Overrides) != 3 || a.ScoreOverride() != nil {
		t.Errorf("after withdrawal: %d overrides, in force %+v", len(a.Overrides), a.ScoreOverride())
	}
	s.Apply(must(s.Override(coordinator, "A1", 2, ptr(0), "not implemented at all")))
	if o := a.ScoreOverride(); o != nil {
		t.Errorf("a copy changed: %+v", o)
	}
	if o := s.Answer("A1").ScoreOverride(); o == nil || *o.Score != 0 {
		t.Errorf("override in force %+v, want 0", o)
	}
}

// must returns a move's change stamped at t0, for Apply, panicking on an error that the test
// does not expect.
func must(c Change, err error) (Change, time.Time) {
	if err != nil {
		panic(err)
	}
	return c, t0
}

// TestAdminActsAsCoordinator: an admin's moves are checked as a coordinator's, and labelled so.
func TestAdminActsAsCoordinator(t *testing.T) {
	admin := Actor{ID: "ad", Role: auth.RoleAdmin}
	s := answerFixture(AnswerDisputed, SheetInReview)
	s.Apply(must(s.Adjudicate(admin, "A1", 2, AdjudicationInput{Option: "a", Rationale: "as the law reads"})))
	if got := s.Answer("A1").State; got != AnswerResolved {
		t.Errorf("after an admin's adjudication: %s, want resolved", got)
	}
	if got := s.Participants; len(got) != 1 || got[0].Role != auth.RoleCoordinator {
		t.Errorf("participants %+v, want the admin as a coordinator", got)
	}
	if _, err := s.Approve(Actor{Role: auth.RoleReviewer}, "A2", 1); !errors.Is(err, ErrForbidden) {
		t.Errorf("a move without actor id: %v, want ErrForbidden", err)
	}
}

// TestLockRequiresSettledAnswers: a reopened sheet is ready to lock again, and lock still checks
// that every applicable answer is settled.
func TestLockRequiresSettledAnswers(t *testing.T) {
	s := withAnswers(&Sheet{State: SheetReadyToLock},
		Answer{Indicator: "A1", State: AnswerApproved, Version: 1},
		Answer{Indicator: "A2", State: AnswerSubmitted, Version: 1, Inapplicable: true},
		Answer{Indicator: "A3", State: AnswerChangesRequested, Version: 1},
	)
	if _, err := s.Lock(coordinator); !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("lock with A3 open: %v, want ErrInvalidTransition", err)
	}
	edit(s, "A3", func(a *Answer) { a.State = AnswerResolved })
	s.Apply(must(s.Lock(coordinator)))
	s.Apply(must(s.Reopen(coordinator, "erratum in A1")))
	if s.State != SheetReadyToLock || s.History[1].Reason != "erratum in A1" {
		t.Errorf("after reopening: %s, history %+v", s.State, s.History)
	}
}

// TestEdit dispatches to Save or Revise by the answer's state.
func TestEdit(t *testing.T) {
	s := answerFixture(AnswerChangesRequested, SheetReturned)
	c, err := s.Edit(expert, "A1", 2, "fixed")
	if err != nil || c.Move != MoveRevise {
		t.Errorf("edit of a challenged answer: %v %v, want a revision", c.Move, err)
	}
	c, err = s.Edit(expert, "A9", 0, "newly applicable")
	if err != nil || c.Move != MoveSave {
		t.Errorf("edit of a new answer: %v %v, want a save", c.Move, err)
	}
}

// TestApproveMany: a bulk approval is one verdict per answer, all or nothing, with the sheet's
// automatic moves where they belong.
func TestApproveMany(t *testing.T) {
	l := submitted(t, 1)
	s := l.sheet
	before := s.clone()
	if _, err := s.ApproveMany(reviewer1, []Target{{"A1", 1}, {"A2", 7}}); !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), "A2") {
		t.Errorf("with a stale target: %v, want ErrStale naming A2", err)
	}
	if diff := cmp.Diff(before, s, byAnswers); diff != "" {
		t.Errorf("a refused bulk approval changed the sheet:\n%s", diff)
	}
	targets := s.Awaiting("r1")
	if want := []Target{{"A1", 1}, {"A2", 1}}; !slices.Equal(targets, want) {
		t.Fatalf("awaiting %v, want %v", targets, want)
	}
	changes, err := s.ApproveMany(reviewer1, targets)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || len(changes[0].Sheet) != 1 || changes[0].Sheet[0].Move != MoveStartReview || changes[1].SheetState() != SheetReadyToLock {
		t.Errorf("changes %+v", changes)
	}
	for _, c := range changes {
		l.do(c, nil)
	}
	if s.State != SheetReadyToLock || len(s.Awaiting("r1")) != 0 {
		t.Errorf("after approving all: sheet %s, awaiting %v", s.State, s.Awaiting("r1"))
	}
}

// TestInapplicableOutOfReview: an answer that no longer applies gets no verdict.
func TestInapplicableOutOfReview(t *testing.T) {
	s := answerFixture(AnswerSubmitted, SheetInReview)
	edit(s, "A1", func(a *Answer) { a.Inapplicable = true })
	if _, err := s.Approve(reviewer1, "A1", 2); !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("approving an inapplicable answer: %v, want ErrInvalidTransition", err)
	}
	if s.Answer("A1").AwaitsVerdictFrom("r1") {
		t.Error("an inapplicable answer awaits a verdict")
	}
}

// TestConfirm: confirming carried answers makes each a new version by the confirmer, all or
// nothing, and starts the sheet.
func TestConfirm(t *testing.T) {
	l := newLogged(t, 1)
	s := l.sheet
	s.Wrote("A1", 1, "") // carried forward by the system
	s.Wrote("A2", 1, "")
	if _, err := s.Confirm(expert, []Target{{"A1", 1}, {"A2", 3}}); !errors.Is(err, ErrStale) {
		t.Errorf("with a stale target: %v, want ErrStale", err)
	}
	if len(s.History) != 0 || s.Answer("A1").Version != 1 {
		t.Error("a refused confirmation changed the sheet")
	}
	changes, err := s.Confirm(expert, []Target{{"A1", 1}, {"A2", 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		l.do(c, nil)
	}
	if a := s.Answer("A2"); a.Version != 2 || a.Author != "ex" || !slices.Equal(a.Authors, []string{"ex"}) {
		t.Errorf("A2 after confirmation: version %d by %s (%v)", a.Version, a.Author, a.Authors)
	}
	if s.State != SheetInProgress || len(s.History) != 1 {
		t.Errorf("sheet %s, history %+v; want in_progress after one step", s.State, s.History)
	}
}

// TestSendBack: a coordinator sends an approved answer back; the expert sees the reason, the
// sheet returns by itself, and a dispute of the send-back is adjudicated like any other.
func TestSendBack(t *testing.T) {
	l := newLogged(t, 1)
	s := l.sheet
	*s = *sheetFixture(SheetReadyToLock)
	l.do(s.SendBack(coordinator, "A2", 1, "the decree of 2025 changes this"))
	reqs := s.Answer("A2").OpenRequests()
	if len(reqs) != 1 || !reqs[0].SentBack || reqs[0].By != "co" || reqs[0].Reason != "the decree of 2025 changes this" {
		t.Errorf("open requests %+v", reqs)
	}
	if s.State != SheetReturned || s.ReturnReason() != "" {
		t.Errorf("sheet %s (reason %q), want returned by itself, without a reason of its own", s.State, s.ReturnReason())
	}
	if reqs := s.Answer("A1").OpenRequests(); reqs != nil {
		t.Errorf("an approved answer has open requests: %+v", reqs)
	}
	l.do(s.Dispute(expert, "A2", 1, "the decree is not yet in force"))
	if len(s.Answer("A2").OpenRequests()) != 1 {
		t.Error("a disputed answer shows the request it disputes")
	}
	l.do(s.Resubmit(expert, []string{"A1", "A2"}))
	l.do(s.Adjudicate(coordinator, "A2", 1, AdjudicationInput{Option: "a", Rationale: "not in force on the reference date"}))
	if s.State != SheetReadyToLock || l.state("A2") != AnswerResolved {
		t.Errorf("after adjudication: sheet %s, A2 %s", s.State, l.state("A2"))
	}
}

package review

import (
	"slices"
	"strings"
	"time"

	"github.com/expertsurvey/expertsurvey/auth"
)

// Actor is who makes a move and in which role on this sheet: auth.RoleExpert,
// auth.RoleReviewer or auth.RoleCoordinator (auth.RoleAdmin acts as a coordinator). ActorFor
// derives it from a principal.
type Actor struct {
	ID   string
	Role auth.Role
}

// Sheet is the review side of one country's sheet: its state, the review state and records of
// each answer, and its status history. It is a projection of the sheet's log: Apply folds one
// Change into it, and folding every change in order rebuilds it.
type Sheet struct {
	State SheetState
	// answers are the answers the review knows (written at least once, or moved), by
	// indicator code; EachAnswer, Answers and Answer read them.
	answers answerList
	// History lists every change of the sheet's state, automatic ones included, oldest first.
	History []StatusChange
	// Participants lists everyone who made a move on the sheet, in order of first appearance:
	// the order blind labels number reviewers in (NewLabels).
	Participants []Participant

	// ReviewersPerAnswer is the round's setting, set by the caller before a move; it is not
	// part of the projection (a verdict's Change records the state it led to, so a later
	// change of the setting never rewrites the past). 0 counts as 1.
	ReviewersPerAnswer int
}

// Answer is the review side of one answer.
type Answer struct {
	Indicator string
	State     AnswerState
	// Version is the answer's content version, the number round.Answer.Version holds: every
	// content write (Save, Confirm, Revise, Adjudicate, and Wrote for writes outside the
	// workflow) makes it one more.
	Version int
	// Author wrote the current version; Authors lists everyone who wrote any version, since
	// nobody reviews an answer they wrote.
	Author  string
	Authors []string
	// Inapplicable answers (skip logic, as of the last submission) are out of review: they
	// are neither counted nor waited for.
	Inapplicable bool

	Verdicts      []Verdict // every verdict, each tagged with the version it was given on
	Revisions     []Revision
	Rebuttals     []Rebuttal
	SendBacks     []SendBack
	Adjudications []Adjudication
	Overrides     []Override
	Comments      []Comment
}

// Decision is a reviewer's verdict on an answer version.
type Decision string

// Decisions.
const (
	Approve        Decision = "approve"
	RequestChanges Decision = "request_changes"
)

// Verdict is one reviewer's decision on one version of an answer.
type Verdict struct {
	Reviewer string
	Decision Decision
	Version  int
	// Reason is required when changes are requested; SuggestedOption and SuggestedValue say
	// what the reviewer would answer instead.
	Reason          string
	SuggestedOption string
	SuggestedValue  *float64
	At              time.Time
}

// Revision is a content write after the first submission: the reason for the change, kept with
// the version it produced (the content itself is in the round's answer history).
type Revision struct {
	Version int
	By      string
	Reason  string
	At      time.Time
}

// Rebuttal is the expert's answer to a request for changes, given on Version, that sends the
// answer to adjudication.
type Rebuttal struct {
	Expert  string
	Version int
	Text    string
	At      time.Time
}

// SendBack is a coordinator returning an approved or resolved answer version to its expert.
type SendBack struct {
	Coordinator string
	Version     int
	Reason      string
	At          time.Time
}

// Adjudication is a coordinator's final decision on a disputed or challenged answer. Version
// is the version decided on; the answer takes the final content as version Version+1.
type Adjudication struct {
	Coordinator   string
	Version       int
	Option        string
	Value         *float64
	Text          string
	NotApplicable bool
	Rationale     string
	At            time.Time
}

// Override replaces the score of an answer for scoring, with a reason; Score nil withdraws an
// earlier override. It leaves the answer's state as it is. Version is the answer version the
// coordinator saw.
type Override struct {
	Coordinator string
	Version     int
	Score       *float64
	Reason      string
	At          time.Time
}

// StatusChange is one change of the sheet's state.
type StatusChange struct {
	Move      Move
	From, To  SheetState
	By        string // the actor of the change the step belongs to
	Reason    string // of a return by a coordinator, or of a reopening
	Automatic bool
	At        time.Time
}

// Participant is someone who made a move on the sheet, in the role of their first move.
type Participant struct {
	ID   string
	Role auth.Role
}

// Change is what one move does: one entry of the sheet's log. It records the states the move
// led to (never recomputed on replay) and the record it adds.
type Change struct {
	Move  Move
	Actor Actor
	// Indicator and Version name the answer of an answer move and the version the move was
	// based on; content moves (WritesContent) write version Version+1.
	Indicator string
	Version   int
	// Reason of a save or revision after submission, a return, a send-back, a reopening.
	Reason string
	// Answers are the answers whose state the change sets, with their new state.
	Answers []AnswerStep
	// Sheet are the steps of the sheet's state, the explicit move first and the automatic ones
	// after it; empty when the sheet's state stays.
	Sheet []SheetStep

	Verdict      *Verdict
	Rebuttal     *Rebuttal
	Adjudication *Adjudication
	Override     *Override
	SendBack     *SendBack
	// Comment is the new comment (MoveComment), or the comment's ID with its new Text
	// (MoveEditComment) or new Resolved flag (MoveResolveComment).
	Comment *Comment
}

// AnswerStep sets an answer's state.
type AnswerStep struct {
	Indicator    string
	From, To     AnswerState
	Inapplicable bool
}

// SheetStep is one step of the sheet's state.
type SheetStep struct {
	Move      Move
	From, To  SheetState
	Automatic bool
}

// WritesContent tells whether the change writes a new version of the answer's content: the
// round writes the content in the same log entry (for an adjudication, the final content).
func (c Change) WritesContent() bool {
	return c.Move == MoveSave || c.Move == MoveConfirm || c.Move == MoveRevise || c.Move == MoveAdjudicate
}

// SheetState returns the sheet's state after the change, or "" when the change leaves it.
func (c Change) SheetState() SheetState {
	if len(c.Sheet) == 0 {
		return ""
	}
	return c.Sheet[len(c.Sheet)-1].To
}

// Answer returns the review state of indicator; an indicator nobody wrote is a draft at
// version 0.
func (s *Sheet) Answer(indicator string) Answer {
	if a, ok := s.answers.get(indicator); ok {
		return *a
	}
	return Answer{Indicator: indicator, State: AnswerDraft}
}

func (s *Sheet) find(indicator string) *Answer {
	a, _ := s.answers.get(indicator)
	return a
}

func byIndicator(a Answer, code string) int { return strings.Compare(a.Indicator, code) }

// state returns the sheet's state; a sheet nobody wrote is not started.
func (s *Sheet) state() SheetState {
	if s.State == "" {
		return SheetNotStarted
	}
	return s.State
}

// Apply folds change c, logged at time at, into the sheet. It is the one way a sheet's review
// state changes, after a move and when replaying the log; it trusts c (the move checked it).
// It never writes into memory that a copy of the sheet shares (see answerList): every slice it
// grows is copied first.
func (s *Sheet) Apply(c Change, at time.Time) {
	s.note(c.Actor)
	for _, st := range c.Answers {
		a := s.Answer(st.Indicator)
		a.State, a.Inapplicable = st.To, st.Inapplicable
		s.setAnswer(a)
	}
	if c.Indicator != "" {
		a := s.Answer(c.Indicator)
		applyToAnswer(&a, c, at)
		s.setAnswer(a)
	}
	for _, st := range c.Sheet {
		reason := ""
		if !st.Automatic {
			reason = c.Reason
		}
		s.History = append(slices.Clip(s.History), StatusChange{Move: st.Move, From: st.From, To: st.To, By: c.Actor.ID, Reason: reason, Automatic: st.Automatic, At: at})
		s.State = st.To
	}
}

// stamped returns a copy of r (a record of a change) dated at.
func stamped[T any](r *T, at time.Time, set func(*T, time.Time)) T {
	out := *r
	set(&out, at)
	return out
}

func applyToAnswer(a *Answer, c Change, at time.Time) {
	if c.WritesContent() {
		a.wrote(c.Version+1, c.Actor.ID)
		if c.Reason != "" {
			a.Revisions = append(slices.Clip(a.Revisions), Revision{Version: a.Version, By: c.Actor.ID, Reason: c.Reason, At: at})
		}
	}
	if c.Verdict != nil {
		a.Verdicts = append(slices.Clip(a.Verdicts), stamped(c.Verdict, at, func(v *Verdict, t time.Time) { v.At = t }))
	}
	if c.Rebuttal != nil {
		a.Rebuttals = append(slices.Clip(a.Rebuttals), stamped(c.Rebuttal, at, func(v *Rebuttal, t time.Time) { v.At = t }))
	}
	if c.SendBack != nil {
		a.SendBacks = append(slices.Clip(a.SendBacks), stamped(c.SendBack, at, func(v *SendBack, t time.Time) { v.At = t }))
	}
	if c.Adjudication != nil {
		a.Adjudications = append(slices.Clip(a.Adjudications), stamped(c.Adjudication, at, func(v *Adjudication, t time.Time) { v.At = t }))
	}
	if c.Override != nil {
		a.Overrides = append(slices.Clip(a.Overrides), stamped(c.Override, at, func(v *Override, t time.Time) { v.At = t }))
	}
	if c.Comment != nil {
		applyComment(a, c, at)
	}
}

// Wrote records a content write made outside the workflow's moves (carrying answers forward,
// imports, applicability flags written beside another answer), so that Version stays the
// round's answer version.
func (s *Sheet) Wrote(indicator string, version int, author string) {
	a := s.Answer(indicator)
	a.wrote(version, author)
	s.setAnswer(a)
}

// Write is one content write outside the workflow's moves, for WroteAll.
type Write struct {
	Indicator string
	Version   int
	Author    string
}

// WroteAll records many writes at once (an import, carrying a round forward): one pass over
// the answers rather than a copied chunk per write.
func (s *Sheet) WroteAll(writes []Write) {
	if len(writes) <= chunkSize {
		for _, w := range writes {
			s.Wrote(w.Indicator, w.Version, w.Author)
		}
		return
	}
	byCode := make(map[string][]Write, len(writes))
	for _, w := range writes {
		byCode[w.Indicator] = append(byCode[w.Indicator], w)
	}
	apply := func(a *Answer) {
		for _, w := range byCode[a.Indicator] {
			a.wrote(w.Version, w.Author)
		}
		delete(byCode, a.Indicator)
	}
	merged := make([]Answer, 0, s.answers.n+len(byCode))
	for a := range s.answers.all() {
		apply(&a)
		merged = append(merged, a)
	}
	for code := range byCode {
		a := Answer{Indicator: code, State: AnswerDraft}
		apply(&a)
		merged = append(merged, a)
	}
	slices.SortFunc(merged, func(x, y Answer) int { return strings.Compare(x.Indicator, y.Indicator) })
	s.SetAnswers(merged)
}

func (a *Answer) wrote(version int, author string) {
	a.Version, a.Author = version, author
	if author != "" && !slices.Contains(a.Authors, author) {
		a.Authors = append(slices.Clip(a.Authors), author)
	}
}

// note adds the actor to the participants on their first move.
func (s *Sheet) note(actor Actor) {
	if actor.ID == "" || slices.ContainsFunc(s.Participants, func(p Participant) bool { return p.ID == actor.ID }) {
		return
	}
	s.Participants = append(slices.Clip(s.Participants), Participant{ID: actor.ID, Role: acting(actor.Role)})
}

// CurrentVerdicts returns the verdicts given on the answer's current version.
func (a Answer) CurrentVerdicts() []Verdict {
	var out []Verdict
	for _, v := range a.Verdicts {
		if v.Version == a.Version {
			out = append(out, v)
		}
	}
	return out
}

// OpenRequest is something the expert is asked to address: a reviewer's request for changes
// or a coordinator's send-back.
type OpenRequest struct {
	By              string
	Reason          string
	SuggestedOption string
	SuggestedValue  *float64
	SentBack        bool
	At              time.Time
}

// OpenRequests lists what the expert must address on an answer that waits for them (changes
// requested) or that they disputed: the requests for changes on the current version and the
// send-backs of it, oldest first. Other answers have none.
func (a Answer) OpenRequests() []OpenRequest {
	if a.State != AnswerChangesRequested && a.State != AnswerDisputed {
		return nil
	}
	var out []OpenRequest
	for _, v := range a.Verdicts {
		if v.Version == a.Version && v.Decision == RequestChanges {
			out = append(out, OpenRequest{By: v.Reviewer, Reason: v.Reason, SuggestedOption: v.SuggestedOption, SuggestedValue: v.SuggestedValue, At: v.At})
		}
	}
	for _, sb := range a.SendBacks {
		if sb.Version == a.Version {
			out = append(out, OpenRequest{By: sb.Coordinator, Reason: sb.Reason, SentBack: true, At: sb.At})
		}
	}
	slices.SortStableFunc(out, func(x, y OpenRequest) int { return x.At.Compare(y.At) })
	return out
}

// ScoreOverride returns the override in force, or nil: the last one, unless it withdrew the
// score.
func (a Answer) ScoreOverride() *Override {
	if len(a.Overrides) == 0 {
		return nil
	}
	o := a.Overrides[len(a.Overrides)-1]
	if o.Score == nil {
		return nil
	}
	return &o
}

// AwaitsVerdictFrom tells whether reviewer may still give a verdict on the answer: it waits
// for verdicts, they did not write it and have not ruled on its version. Work queues use it.
func (a Answer) AwaitsVerdictFrom(reviewer string) bool {
	return a.State == AnswerSubmitted && !a.Inapplicable && !slices.Contains(a.Authors, reviewer) &&
		!slices.ContainsFunc(a.Verdicts, func(v Verdict) bool { return v.Version == a.Version && v.Reviewer == reviewer })
}

// ReturnReason is the reason of the latest return of the sheet by a coordinator, while the
// sheet is returned; automatic returns have none (the open requests say why).
func (s *Sheet) ReturnReason() string {
	if s.State != SheetReturned {
		return ""
	}
	for i := len(s.History) - 1; i >= 0; i-- {
		if h := s.History[i]; h.Move == MoveReturn {
			return h.Reason
		}
	}
	return ""
}

package review

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Bounds on the texts of the workflow: long enough for a legal argument, small enough that a
// sheet of 170 answers with their review stays far below a document's 16 MB.
const (
	MaxReason    = 2000  // reasons for a change, a request, a return, a send-back, an override
	MaxRationale = 5000  // an adjudication's rationale, an expert's rebuttal
	MaxComment   = 10000 // one comment
	MaxOption    = 200   // a suggested or final option code
)

// RequestInput is what a reviewer sends with a request for changes.
type RequestInput struct {
	Reason          string
	SuggestedOption string
	SuggestedValue  *float64
}

// AdjudicationInput is a coordinator's final decision. The round checks the final content
// against the indicator (as it checks an expert's answer) before calling Adjudicate.
type AdjudicationInput struct {
	Option        string
	Value         *float64
	Text          string
	NotApplicable bool
	Rationale     string
}

// checkAnswerMove checks that actor may make move on answer a now, in the order the package
// doc gives (so that the error says the most useful thing first): the actor's role may make
// the move at all, the sheet is not locked, the table has a row for the states (and a move of
// the review proper concerns an answer that applies), and the row allows the role.
func (s *Sheet) checkAnswerMove(actor Actor, move Move, a Answer) (AnswerTransition, error) {
	state := s.state()
	if err := checkActor(actor, move); err != nil {
		return AnswerTransition{}, err
	}
	if state == SheetLocked {
		return AnswerTransition{}, fmt.Errorf("%w: %s", ErrLocked, move)
	}
	row, ok := answerRow(a.State, move, state)
	if !ok {
		return AnswerTransition{}, fmt.Errorf("%w: %s of a %s answer while the sheet is %s", ErrInvalidTransition, move, a.State, state)
	}
	if a.Inapplicable && outOfReview[move] {
		return AnswerTransition{}, fmt.Errorf("%w: %s: %s does not apply (skip logic) and is out of review", ErrInvalidTransition, move, a.Indicator)
	}
	if role := acting(actor.Role); !slices.Contains(row.Roles, role) {
		return AnswerTransition{}, fmt.Errorf("%w: a %s may not %s a %s answer", ErrForbidden, role, move, a.State)
	}
	return row, nil
}

// outOfReview are the moves of the review proper, which an inapplicable answer is out of.
var outOfReview = map[Move]bool{MoveApprove: true, MoveRequestChanges: true, MoveDispute: true, MoveAdjudicate: true, MoveSendBack: true}

// checkActor refuses an anonymous actor and a role that may never make move.
func checkActor(actor Actor, move Move) error {
	if actor.ID == "" {
		return fmt.Errorf("%w: %s: no actor", ErrForbidden, move)
	}
	if role := acting(actor.Role); !slices.Contains(MoveRoles(move), role) {
		return fmt.Errorf("%w: a %q may not %s", ErrForbidden, role, move)
	}
	return nil
}

// basedOn refuses a move based on a version other than the current one.
func basedOn(a Answer, version int) error {
	if a.Version != version {
		return &StaleError{Current: a}
	}
	return nil
}

// answerMove is the part most single-answer moves share: the checks, then a change that puts
// the answer in the state the table says. It returns the answer as it was.
func (s *Sheet) answerMove(actor Actor, move Move, indicator string, version int) (Answer, Change, error) {
	a := s.Answer(indicator)
	row, err := s.checkAnswerMove(actor, move, a)
	if err != nil {
		return a, Change{}, err
	}
	if err := basedOn(a, version); err != nil {
		return a, Change{}, err
	}
	c := Change{Move: move, Actor: actor, Indicator: indicator, Version: version}
	if row.To != a.State {
		c.Answers = []AnswerStep{{Indicator: indicator, From: a.State, To: row.To, Inapplicable: a.Inapplicable}}
	}
	return a, c, nil
}

// Save is the expert writing an answer that has not been submitted yet: before the first
// submission, or an indicator answered for the first time while the sheet is returned (then
// with a reason for the change, as every change after submission). version is the answer
// version the expert read (0 for a new answer). The first save starts the sheet.
func (s *Sheet) Save(actor Actor, indicator string, version int, reason string) (Change, error) {
	_, c, err := s.answerMove(actor, MoveSave, indicator, version)
	if err != nil {
		return Change{}, err
	}
	var p problems
	checkText(&p, "reason", reason, MaxReason, s.state() == SheetReturned)
	if err := p.err(); err != nil {
		return Change{}, err
	}
	c.Reason = reason
	if row, _ := sheetRow(s.state(), MoveSave); row.To != s.state() {
		c.Sheet = []SheetStep{{Move: MoveSave, From: s.state(), To: row.To}}
	}
	return c, nil
}

// Revise is the expert (or a coordinator, under the same rules) changing an answer of a
// returned sheet, with a reason for the change. The new version makes every earlier verdict
// history; the answer goes back to review when the sheet is resubmitted.
func (s *Sheet) Revise(actor Actor, indicator string, version int, reason string) (Change, error) {
	_, c, err := s.answerMove(actor, MoveRevise, indicator, version)
	if err != nil {
		return Change{}, err
	}
	var p problems
	checkText(&p, "reason", reason, MaxReason, true)
	if err := p.err(); err != nil {
		return Change{}, err
	}
	c.Reason = reason
	return c, nil
}

// Edit is Save or Revise, whichever the answer's state calls for: the round's answer save
// calls it, so that one endpoint serves both.
func (s *Sheet) Edit(actor Actor, indicator string, version int, reason string) (Change, error) {
	if s.Answer(indicator).State == AnswerDraft {
		return s.Save(actor, indicator, version, reason)
	}
	return s.Revise(actor, indicator, version, reason)
}

// Approve is a reviewer agreeing with version of an answer.
func (s *Sheet) Approve(actor Actor, indicator string, version int) (Change, error) {
	return s.verdict(actor, MoveApprove, indicator, version, Verdict{Decision: Approve})
}

// RequestChanges is a reviewer disagreeing with version of an answer: a reason is required,
// a suggested option or value is optional.
func (s *Sheet) RequestChanges(actor Actor, indicator string, version int, in RequestInput) (Change, error) {
	var p problems
	checkText(&p, "reason", in.Reason, MaxReason, true)
	checkText(&p, "suggested_option", in.SuggestedOption, MaxOption, false)
	checkNumber(&p, "suggested_value", in.SuggestedValue)
	return s.verdict(actor, MoveRequestChanges, indicator, version, Verdict{
		Decision: RequestChanges, Reason: in.Reason, SuggestedOption: in.SuggestedOption, SuggestedValue: in.SuggestedValue,
	}, p...)
}

// verdict records a verdict. The answer waits until ReviewersPerAnswer distinct reviewers have
// ruled on its version; then it is approved if they all approved, and otherwise goes back to
// the expert with every request (a disagreement between reviewers included: the expert revises
// or disputes, and a dispute goes to a coordinator).
func (s *Sheet) verdict(actor Actor, move Move, indicator string, version int, v Verdict, invalid ...FieldError) (Change, error) {
	a := s.Answer(indicator)
	if _, err := s.checkAnswerMove(actor, move, a); err != nil {
		return Change{}, err
	}
	if slices.Contains(a.Authors, actor.ID) {
		return Change{}, fmt.Errorf("%w: %s wrote a version of %s", ErrSelfReview, actor.ID, indicator)
	}
	if err := basedOn(a, version); err != nil {
		return Change{}, err
	}
	current := a.CurrentVerdicts()
	if slices.ContainsFunc(current, func(c Verdict) bool { return c.Reviewer == actor.ID }) {
		return Change{}, fmt.Errorf("%w: %s on %s version %d", ErrAlreadyReviewed, actor.ID, indicator, version)
	}
	if err := problems(invalid).err(); err != nil {
		return Change{}, err
	}
	v.Reviewer, v.Version = actor.ID, version
	c := Change{Move: move, Actor: actor, Indicator: indicator, Version: version, Verdict: &v}
	next := AnswerSubmitted
	if verdicts := append(current, v); len(verdicts) >= max(s.ReviewersPerAnswer, 1) {
		next = AnswerApproved
		if slices.ContainsFunc(verdicts, func(v Verdict) bool { return v.Decision == RequestChanges }) {
			next = AnswerChangesRequested
		}
	}
	if next != a.State {
		c.Answers = []AnswerStep{{Indicator: indicator, From: a.State, To: next, Inapplicable: a.Inapplicable}}
	}
	c.Sheet = s.follow(s.state(), true, c.Answers)
	return c, nil
}

// Dispute is the expert rebutting the requests on an answer instead of changing it; a
// coordinator adjudicates it once the sheet is resubmitted.
func (s *Sheet) Dispute(actor Actor, indicator string, version int, text string) (Change, error) {
	_, c, err := s.answerMove(actor, MoveDispute, indicator, version)
	if err != nil {
		return Change{}, err
	}
	var p problems
	checkText(&p, "text", text, MaxRationale, true)
	if err := p.err(); err != nil {
		return Change{}, err
	}
	c.Rebuttal = &Rebuttal{Expert: actor.ID, Version: version, Text: text}
	return c, nil
}

// Adjudicate is a coordinator deciding a disputed (or challenged) answer: the answer takes the
// final content as a new version, resolved, and the adjudication record keeps the rationale.
func (s *Sheet) Adjudicate(actor Actor, indicator string, version int, in AdjudicationInput) (Change, error) {
	_, c, err := s.answerMove(actor, MoveAdjudicate, indicator, version)
	if err != nil {
		return Change{}, err
	}
	var p problems
	checkText(&p, "rationale", in.Rationale, MaxRationale, true)
	checkText(&p, "option", in.Option, MaxOption, false)
	checkText(&p, "text", in.Text, MaxComment, false)
	checkNumber(&p, "value", in.Value)
	if in.Option == "" && in.Value == nil && in.Text == "" && !in.NotApplicable {
		p.add("option", "the final option, value, text or not_applicable is required")
	}
	if err := p.err(); err != nil {
		return Change{}, err
	}
	c.Adjudication = &Adjudication{
		Coordinator: actor.ID, Version: version, Option: in.Option, Value: in.Value, Text: in.Text,
		NotApplicable: in.NotApplicable, Rationale: in.Rationale,
	}
	c.Sheet = s.follow(s.state(), false, c.Answers)
	return c, nil
}

// SendBack is a coordinator returning an approved or resolved answer to its expert with a
// reason; a sheet that was waiting for nothing else goes back to the expert with it.
func (s *Sheet) SendBack(actor Actor, indicator string, version int, reason string) (Change, error) {
	_, c, err := s.answerMove(actor, MoveSendBack, indicator, version)
	if err != nil {
		return Change{}, err
	}
	var p problems
	checkText(&p, "reason", reason, MaxReason, true)
	if err := p.err(); err != nil {
		return Change{}, err
	}
	c.Reason = reason
	c.SendBack = &SendBack{Coordinator: actor.ID, Version: version, Reason: reason}
	c.Sheet = s.follow(s.state(), false, c.Answers)
	return c, nil
}

// Override is a coordinator replacing the score of an answer with a reason, or withdrawing the
// override in force (score nil). It changes no state; scoring uses Answer.ScoreOverride in
// place of the option's score.
func (s *Sheet) Override(actor Actor, indicator string, version int, score *float64, reason string) (Change, error) {
	a, c, err := s.answerMove(actor, MoveOverride, indicator, version)
	if err != nil {
		return Change{}, err
	}
	var p problems
	checkText(&p, "reason", reason, MaxReason, true)
	checkNumber(&p, "score", score)
	if score == nil && a.ScoreOverride() == nil {
		p.add("score", "is required: the answer has no override to withdraw")
	}
	if err := p.err(); err != nil {
		return Change{}, err
	}
	c.Reason = reason
	c.Override = &Override{Coordinator: actor.ID, Version: version, Score: score, Reason: reason}
	return c, nil
}

// Submit hands the sheet to review: every applicable answer becomes submitted. applicable
// lists the indicators that apply given the answers (skip logic, which the round evaluates);
// the others are marked inapplicable and stay out of review. The round checks completeness
// (answers, sources, carried answers confirmed) first; Submit refuses only an applicable
// indicator nobody wrote.
func (s *Sheet) Submit(actor Actor, applicable []string) (Change, error) {
	row, err := s.checkSheetMove(actor, MoveSubmit)
	if err != nil {
		return Change{}, err
	}
	var p problems
	steps := s.submitSteps(applicable, &p)
	if err := p.err(); err != nil {
		return Change{}, err
	}
	return Change{Move: MoveSubmit, Actor: actor, Answers: steps, Sheet: []SheetStep{{Move: MoveSubmit, From: row.From, To: row.To}}}, nil
}

// Resubmit hands a returned sheet back: revised answers (and answers written while it was
// returned) go back to review, disputed ones to a coordinator; answers already approved or
// resolved stay so. Every request for changes must have been answered, by a revision or a
// dispute. When nothing is left to decide the sheet becomes ready to lock at once.
func (s *Sheet) Resubmit(actor Actor, applicable []string) (Change, error) {
	row, err := s.checkSheetMove(actor, MoveResubmit)
	if err != nil {
		return Change{}, err
	}
	var p problems
	for _, code := range applicable {
		if s.Answer(code).State == AnswerChangesRequested {
			p.add("answers."+code, "changes were requested: revise the answer or dispute the request")
		}
	}
	steps := s.submitSteps(applicable, &p)
	if err := p.err(); err != nil {
		return Change{}, err
	}
	c := Change{Move: MoveResubmit, Actor: actor, Answers: steps, Sheet: []SheetStep{{Move: MoveResubmit, From: row.From, To: row.To}}}
	c.Sheet = append(c.Sheet, s.follow(row.To, false, steps)...)
	return c, nil
}

// submitSteps moves the applicable drafts and revisions to submitted and sets every answer's
// applicability; it reports applicable indicators nobody wrote.
func (s *Sheet) submitSteps(applicable []string, p *problems) []AnswerStep {
	var steps []AnswerStep
	for _, code := range applicable {
		if a := s.find(code); a == nil || a.Version == 0 {
			p.add("answers."+code, "not answered")
		}
	}
	for a := range s.EachAnswer() {
		inapplicable := !slices.Contains(applicable, a.Indicator)
		to := a.State
		if !inapplicable {
			if row, ok := answerRow(a.State, MoveSubmit, s.state()); ok {
				to = row.To
			}
		}
		if to != a.State || inapplicable != a.Inapplicable {
			steps = append(steps, AnswerStep{Indicator: a.Indicator, From: a.State, To: to, Inapplicable: inapplicable})
		}
	}
	return steps
}

// Return gives the sheet back to its expert with a reason, whatever its answers say; the
// expert may then revise every answer not yet approved or resolved.
func (s *Sheet) Return(actor Actor, reason string) (Change, error) {
	return s.sheetMoveWithReason(actor, MoveReturn, reason)
}

// Lock freezes a sheet whose every applicable answer is approved or resolved.
func (s *Sheet) Lock(actor Actor) (Change, error) {
	row, err := s.checkSheetMove(actor, MoveLock)
	if err != nil {
		return Change{}, err
	}
	for a := range s.EachAnswer() {
		if !a.Inapplicable && a.State != AnswerApproved && a.State != AnswerResolved {
			return Change{}, fmt.Errorf("%w: answer %s is %s", ErrInvalidTransition, a.Indicator, a.State)
		}
	}
	return Change{Move: MoveLock, Actor: actor, Sheet: []SheetStep{{Move: MoveLock, From: row.From, To: row.To}}}, nil
}

// Reopen unlocks a locked sheet for an erratum, with a reason.
func (s *Sheet) Reopen(actor Actor, reason string) (Change, error) {
	return s.sheetMoveWithReason(actor, MoveReopen, reason)
}

func (s *Sheet) sheetMoveWithReason(actor Actor, move Move, reason string) (Change, error) {
	row, err := s.checkSheetMove(actor, move)
	if err != nil {
		return Change{}, err
	}
	var p problems
	checkText(&p, "reason", reason, MaxReason, true)
	if err := p.err(); err != nil {
		return Change{}, err
	}
	return Change{Move: move, Actor: actor, Reason: reason, Sheet: []SheetStep{{Move: move, From: row.From, To: row.To}}}, nil
}

// checkSheetMove checks an explicit sheet move as checkAnswerMove checks an answer move.
func (s *Sheet) checkSheetMove(actor Actor, move Move) (SheetTransition, error) {
	state := s.state()
	if err := checkActor(actor, move); err != nil {
		return SheetTransition{}, err
	}
	if state == SheetLocked && move != MoveReopen {
		return SheetTransition{}, fmt.Errorf("%w: %s", ErrLocked, move)
	}
	row, ok := sheetRow(state, move)
	if !ok {
		return SheetTransition{}, fmt.Errorf("%w: %s of a %s sheet", ErrInvalidTransition, move, state)
	}
	if role := acting(actor.Role); !slices.Contains(row.Roles, role) {
		return SheetTransition{}, fmt.Errorf("%w: a %s may not %s a %s sheet", ErrForbidden, role, move, state)
	}
	return row, nil
}

// follow returns the automatic sheet moves that follow a change of answers (changed, not yet
// applied) while the sheet is in from: the first verdict starts the review; then, when no
// answer waits for a reviewer or a coordinator, the sheet goes to the expert if some answer
// needs them, and is ready to lock otherwise.
func (s *Sheet) follow(from SheetState, verdict bool, changed []AnswerStep) []SheetStep {
	var steps []SheetStep
	state := from
	if state == SheetSubmitted && verdict {
		st := automatic(state, MoveStartReview)
		steps, state = append(steps, st), st.To
	}
	if state != SheetInReview && state != SheetReadyToLock {
		return steps
	}
	var waiting, needsExpert int
	count := func(st AnswerState, inapplicable bool) {
		switch {
		case inapplicable:
		case st == AnswerSubmitted || st == AnswerDisputed:
			waiting++
		case st != AnswerApproved && st != AnswerResolved:
			needsExpert++
		}
	}
	for a := range s.EachAnswer() {
		if i := slices.IndexFunc(changed, func(c AnswerStep) bool { return c.Indicator == a.Indicator }); i >= 0 {
			count(changed[i].To, changed[i].Inapplicable)
		} else {
			count(a.State, a.Inapplicable)
		}
	}
	switch {
	case waiting > 0:
	case needsExpert > 0:
		steps = append(steps, automatic(state, MoveReturn))
	case state == SheetInReview:
		steps = append(steps, automatic(state, MoveReadyToLock))
	}
	return steps
}

// checkText checks a text field: valid UTF-8, at most max characters, and not blank when
// required.
func checkText(p *problems, field, v string, max int, required bool) {
	switch {
	case !utf8.ValidString(v):
		p.add(field, "must be valid UTF-8")
	case required && strings.TrimSpace(v) == "":
		p.add(field, "is required")
	case utf8.RuneCountInString(v) > max:
		p.add(field, fmt.Sprintf("must be at most %d characters (has %d)", max, utf8.RuneCountInString(v)))
	}
}

// checkNumber refuses NaN and infinities, which JSON cannot carry and scoring cannot use.
func checkNumber(p *problems, field string, v *float64) {
	if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
		p.add(field, "must be a finite number")
	}
}

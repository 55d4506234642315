package round

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/review"
)

// The review workflow's moves. The rules (who, in which states, with what input) are the review
// package's; these methods load what a move needs, ask the review package for the change and
// append it to the sheet's log as one entry, so that two people acting at once collide on the
// log's unique position and the loser is asked again on the fresh state.

// moving is what a move's decision sees: the round, its questionnaire, the actor and the sheet
// at the position the entry will follow.
type moving struct {
	round *Round
	def   *questionnaire.Definition
	inst  *questionnaire.Compiled
	actor review.Actor
}

// reviewMove checks that p may make move on the sheet of country, then appends what decide
// returns. Review moves are made while the round is open or closed (collection over, review
// going on); a draft round has no sheets yet and a published one is final.
func (s *Service) reviewMove(ctx context.Context, p auth.Principal, roundID, country string, move review.Move,
	decide func(m *moving, sh *Sheet) (*Change, error)) (*Sheet, *moving, error) {
	if err := p.Can(auth.ReadSheet, auth.Scope{Round: roundID, Country: country}); err != nil {
		return nil, nil, err
	}
	actor, err := review.ActorFor(p, roundID, country, move)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.rounds.Round(ctx, roundID)
	if err != nil {
		return nil, nil, err
	}
	if !r.HasCountry(country) {
		return nil, nil, fmt.Errorf("country %s is not in round %s: %w", country, roundID, ErrNotFound)
	}
	// Once published, only coordinators act: an erratum is a reopen, the coordinator's
	// corrections and a new lock.
	erratum := r.Status == StatusPublished && (actor.Role == auth.RoleCoordinator || actor.Role == auth.RoleAdmin)
	if r.Status != StatusOpen && r.Status != StatusClosed && !erratum {
		return nil, nil, fmt.Errorf("round %s is %s; review happens while it is open or closed: %w", r.ID, r.Status, ErrNotEditable)
	}
	def, inst, err := s.instrument(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	m := &moving{round: r, def: def, inst: inst, actor: actor}
	sh, err := s.sheets.UpdateSheet(ctx, roundID, country, func(sh *Sheet) (*Change, error) {
		sh.Review.ReviewersPerAnswer = r.ReviewersPerAnswer
		c, err := decide(m, sh)
		return c, labelStale(p, r, sh, fromReview(sh, err))
	})
	if err != nil {
		return nil, nil, err
	}
	return sh, m, nil
}

// fromReview turns the review package's typed errors that carry data into the round's, so that
// one converter renders them: a stale move gets the current answer with its content.
func fromReview(sh *Sheet, err error) error {
	var se *review.StaleError
	var ve *review.ValidationError
	switch {
	case errors.As(err, &se):
		return &StaleError{Current: orEmpty(sh.Answer(se.Current.Indicator), se.Current.Indicator)}
	case errors.As(err, &ve):
		out := &ValidationError{}
		for _, f := range ve.Problems {
			out.Problems = append(out.Problems, FieldError(f))
		}
		return out
	}
	return err
}

// labelStale names the author of a stale error's current answer as p may see them.
func labelStale(p auth.Principal, r *Round, sh *Sheet, err error) error {
	var se *StaleError
	if errors.As(err, &se) && se.Current != nil {
		cur := *se.Current
		cur.UpdatedBy = labelsFor(p, r, sh).Of(cur.UpdatedBy)
		return &StaleError{Current: &cur}
	}
	return err
}

// one wraps a single review move's change as the log entry that carries it, or passes on the
// move's refusal.
func one(rc review.Change, err error) (*Change, error) {
	if err != nil {
		return nil, err
	}
	return &Change{Action: string(rc.Move), Review: []review.Change{rc}}, nil
}

// answerMove runs a move on one answer of the round's questionnaire, based on version
// (If-Match: required).
func (s *Service) answerMove(ctx context.Context, p auth.Principal, roundID, country, indicator string, ifVersion *int, move review.Move,
	decide func(m *moving, sh *Sheet, version int) (*Change, error)) (*AnswerView, error) {
	if ifVersion == nil {
		return nil, fmt.Errorf("send If-Match with the answer's ETag: %w", ErrPreconditionRequired)
	}
	sh, m, err := s.reviewMove(ctx, p, roundID, country, move, func(m *moving, sh *Sheet) (*Change, error) {
		if _, ok := m.inst.Indicator(indicator); !ok {
			return nil, fmt.Errorf("indicator %q is not in the round's questionnaire: %w", indicator, ErrNotFound)
		}
		return decide(m, sh, *ifVersion)
	})
	if err != nil {
		return nil, err
	}
	return answerView(p, m.round, sh, indicator), nil
}

// Approve records the caller's approval of version ifVersion of an answer.
func (s *Service) Approve(ctx context.Context, p auth.Principal, roundID, country, indicator string, ifVersion *int) (*AnswerView, error) {
	return s.answerMove(ctx, p, roundID, country, indicator, ifVersion, review.MoveApprove, func(m *moving, sh *Sheet, v int) (*Change, error) {
		return one(sh.Review.Approve(m.actor, indicator, v))
	})
}

// RequestChanges records the caller's request for changes to version ifVersion of an answer.
func (s *Service) RequestChanges(ctx context.Context, p auth.Principal, roundID, country, indicator string, ifVersion *int, in review.RequestInput) (*AnswerView, error) {
	return s.answerMove(ctx, p, roundID, country, indicator, ifVersion, review.MoveRequestChanges, func(m *moving, sh *Sheet, v int) (*Change, error) {
		if in.SuggestedOption != "" {
			if problems := checkOption(m.inst, indicator, in.SuggestedOption, "suggested_option"); len(problems) > 0 {
				return nil, &ValidationError{Problems: problems}
			}
		}
		return one(sh.Review.RequestChanges(m.actor, indicator, v, in))
	})
}

// checkOption refuses an option code the indicator does not have.
func checkOption(inst *questionnaire.Compiled, indicator, option, field string) []FieldError {
	var out []FieldError
	for _, q := range inst.CheckAnswer(indicator, toScoringAnswer(indicator, option, nil, "", false)) {
		if q.Path == "" || q.Path == "option" {
			out = append(out, FieldError{field, q.Message})
		}
	}
	return out
}

// Approval names an answer version to approve in a bulk approval.
type Approval = review.Target

// ApproveMany approves several answers of a sheet in one entry, all or nothing; with targets
// empty, every answer that waits for the caller's verdict.
func (s *Service) ApproveMany(ctx context.Context, p auth.Principal, roundID, country string, targets []Approval, allRemaining bool) (*SheetView, []string, error) {
	if len(targets) == 0 && !allRemaining {
		return nil, nil, &ValidationError{Problems: []FieldError{{"answers", "name the answers to approve, or set all_remaining"}}}
	}
	if len(targets) > 0 && allRemaining {
		return nil, nil, &ValidationError{Problems: []FieldError{{"all_remaining", "cannot be combined with answers"}}}
	}
	var approved []string
	sh, m, err := s.reviewMove(ctx, p, roundID, country, review.MoveApprove, func(m *moving, sh *Sheet) (*Change, error) {
		todo := targets
		if allRemaining {
			todo = sh.Review.Awaiting(m.actor.ID)
			if len(todo) == 0 {
				return nil, fmt.Errorf("%w: no answer of %s waits for your verdict", review.ErrInvalidTransition, sh.ID())
			}
		}
		seen := make(map[string]bool, len(todo))
		for i, t := range todo {
			if _, ok := m.inst.Indicator(t.Indicator); !ok {
				return nil, &ValidationError{Problems: []FieldError{{fmt.Sprintf("answers[%d].indicator", i), "not in the round's questionnaire"}}}
			}
			if seen[t.Indicator] {
				return nil, &ValidationError{Problems: []FieldError{{fmt.Sprintf("answers[%d].indicator", i), "named twice"}}}
			}
			seen[t.Indicator] = true
		}
		changes, err := sh.Review.ApproveMany(m.actor, todo)
		if err != nil {
			return nil, err
		}
		approved = approved[:0]
		for _, t := range todo {
			approved = append(approved, t.Indicator)
		}
		return &Change{Action: "review.approve_many", Review: changes}, nil
	})
	view, err := s.sheetView(p, sh, m, err)
	return view, approved, err
}

// sheetView is the view of a sheet after a move, for p.
func (s *Service) sheetView(p auth.Principal, sh *Sheet, m *moving, err error) (*SheetView, error) {
	if err != nil {
		return nil, err
	}
	return &SheetView{Round: m.round, Sheet: sh, Progress: progressOf(m.inst, sh), Labels: labelsFor(p, m.round, sh)}, nil
}

// Dispute records the expert's rebuttal of the requests on an answer.
func (s *Service) Dispute(ctx context.Context, p auth.Principal, roundID, country, indicator string, ifVersion *int, text string) (*AnswerView, error) {
	return s.answerMove(ctx, p, roundID, country, indicator, ifVersion, review.MoveDispute, func(m *moving, sh *Sheet, v int) (*Change, error) {
		return one(sh.Review.Dispute(m.actor, indicator, v, text))
	})
}

// Adjudicate records a coordinator's final decision on an answer: the answer takes the final
// content as a new version (checked against the indicator as an expert's answer is, and keeping
// its sources), resolved.
func (s *Service) Adjudicate(ctx context.Context, p auth.Principal, roundID, country, indicator string, ifVersion *int, in review.AdjudicationInput) (*AnswerView, error) {
	return s.answerMove(ctx, p, roundID, country, indicator, ifVersion, review.MoveAdjudicate, func(m *moving, sh *Sheet, v int) (*Change, error) {
		rc, err := sh.Review.Adjudicate(m.actor, indicator, v, in)
		if err != nil {
			return nil, err
		}
		next := *orEmpty(sh.Answer(indicator), indicator)
		next.Option, next.Value, next.Text, next.NotApplicable = in.Option, in.Value, in.Text, in.NotApplicable
		next.NAReason = ""
		if in.NotApplicable {
			next.NAReason = in.Rationale
		}
		next.Carried = false
		next.Changed = next.Previous != nil && !next.Content().Equal(next.Previous.Content())
		if problems := checkContent(m.inst, indicator, next.Content()); len(problems) > 0 {
			return nil, &ValidationError{Problems: problems}
		}
		change, _ := one(rc, nil)
		if change.Answers, err = withApplicability(m.inst, sh, next); err != nil {
			return nil, err
		}
		return change, nil
	})
}

// checkContent checks a final option, value or text against the indicator.
func checkContent(inst *questionnaire.Compiled, indicator string, c Content) []FieldError {
	var out []FieldError
	for _, q := range inst.CheckAnswer(indicator, toScoringAnswer(indicator, c.Option, c.Value, c.Text, c.NotApplicable)) {
		field := q.Path
		switch field {
		case "number":
			field = "value"
		case "":
			field = "option"
		}
		out = append(out, FieldError{field, q.Message})
	}
	return out
}

// SendBack returns an approved or resolved answer to its expert with a reason.
func (s *Service) SendBack(ctx context.Context, p auth.Principal, roundID, country, indicator string, ifVersion *int, reason string) (*AnswerView, error) {
	return s.answerMove(ctx, p, roundID, country, indicator, ifVersion, review.MoveSendBack, func(m *moving, sh *Sheet, v int) (*Change, error) {
		return one(sh.Review.SendBack(m.actor, indicator, v, reason))
	})
}

// Override replaces an answer's score for scoring, with a reason; score nil withdraws the
// override in force.
func (s *Service) Override(ctx context.Context, p auth.Principal, roundID, country, indicator string, ifVersion *int, score *float64, reason string) (*AnswerView, error) {
	return s.answerMove(ctx, p, roundID, country, indicator, ifVersion, review.MoveOverride, func(m *moving, sh *Sheet, v int) (*Change, error) {
		if score != nil {
			for _, q := range m.inst.CheckOverrides([]questionnaire.Override{{Node: indicator, Score: *score, Reason: reason}}) {
				if q.Path != "reason" {
					return nil, &ValidationError{Problems: []FieldError{{"score", q.Message}}}
				}
			}
		}
		return one(sh.Review.Override(m.actor, indicator, v, score, reason))
	})
}

// Comment posts a comment on an answer (a reply when replyTo is not 0).
func (s *Service) Comment(ctx context.Context, p auth.Principal, roundID, country, indicator, text string, replyTo int) (*AnswerView, int, error) {
	id := 0
	sh, m, err := s.reviewMove(ctx, p, roundID, country, review.MoveComment, func(m *moving, sh *Sheet) (*Change, error) {
		if _, ok := m.inst.Indicator(indicator); !ok {
			return nil, fmt.Errorf("indicator %q is not in the round's questionnaire: %w", indicator, ErrNotFound)
		}
		rc, err := sh.Review.AddComment(m.actor, indicator, text, replyTo)
		if err != nil {
			return nil, err
		}
		id = rc.Comment.ID
		return one(rc, nil)
	})
	if err != nil {
		return nil, 0, err
	}
	return answerView(p, m.round, sh, indicator), id, nil
}

// CommentEdit is a change to an existing comment: a new text, or the resolved flag.
type CommentEdit struct {
	Text     *string
	Resolved *bool
}

// EditComment changes the caller's own comment's text (the earlier one is kept), or marks a
// comment resolved or open.
func (s *Service) EditComment(ctx context.Context, p auth.Principal, roundID, country, indicator string, id int, in CommentEdit) (*AnswerView, error) {
	if (in.Text == nil) == (in.Resolved == nil) {
		return nil, &ValidationError{Problems: []FieldError{{"text", "send either text or resolved"}}}
	}
	move := review.MoveEditComment
	if in.Resolved != nil {
		move = review.MoveResolveComment
	}
	sh, m, err := s.reviewMove(ctx, p, roundID, country, move, func(m *moving, sh *Sheet) (*Change, error) {
		if _, ok := m.inst.Indicator(indicator); !ok {
			return nil, fmt.Errorf("indicator %q is not in the round's questionnaire: %w", indicator, ErrNotFound)
		}
		if in.Text != nil {
			return one(sh.Review.EditComment(m.actor, indicator, id, *in.Text))
		}
		return one(sh.Review.ResolveComment(m.actor, indicator, id, *in.Resolved))
	})
	if err != nil {
		return nil, err
	}
	return answerView(p, m.round, sh, indicator), nil
}

// Lock freezes a sheet whose every applicable answer is approved or resolved.
func (s *Service) Lock(ctx context.Context, p auth.Principal, roundID, country string) (*SheetView, error) {
	sh, m, err := s.reviewMove(ctx, p, roundID, country, review.MoveLock, func(m *moving, sh *Sheet) (*Change, error) {
		return one(sh.Review.Lock(m.actor))
	})
	if err == nil {
		// The lock entry is written; the snapshot follows from it (and is completed by the next
		// reader if this process stops here).
		err = s.freeze(ctx, m.round, m.inst, sh)
	}
	return s.sheetView(p, sh, m, err)
}

// Reopen unlocks a locked sheet for a correction, with a reason.
func (s *Service) Reopen(ctx context.Context, p auth.Principal, roundID, country, reason string) (*SheetView, error) {
	sh, m, err := s.reviewMove(ctx, p, roundID, country, review.MoveReopen, func(m *moving, sh *Sheet) (*Change, error) {
		// The revision being reopened must be frozen first: after the reopen the sheet no longer
		// holds what it was locked with.
		if err := s.freeze(ctx, m.round, m.inst, sh); err != nil {
			return nil, err
		}
		return one(sh.Review.Reopen(m.actor, reason))
	})
	return s.sheetView(p, sh, m, err)
}

// applicableCodes lists the indicators that apply given the sheet's answers.
func applicableCodes(inst *questionnaire.Compiled, sh *Sheet) []string {
	applies := inst.Applicability(scoringAnswers(sh.EachAnswer()))
	var out []string
	for _, code := range inst.IndicatorCodes() {
		if applies.Applies(code) {
			out = append(out, code)
		}
	}
	slices.Sort(out)
	return out
}

// scoreOverrides lists the overrides in force on a sheet, for scoring.
func scoreOverrides(sh *Sheet) []questionnaire.Override {
	var out []questionnaire.Override
	for a := range sh.Review.EachAnswer() {
		if o := a.ScoreOverride(); o != nil && !a.Inapplicable {
			out = append(out, questionnaire.Override{Node: a.Indicator, Score: *o.Score, Reason: o.Reason})
		}
	}
	return out
}

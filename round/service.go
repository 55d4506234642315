package round

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/review"
)

// Instruments gives the published questionnaire versions rounds are answered against.
type Instruments interface {
	Published(ctx context.Context, code, version string) (*questionnaire.Definition, *questionnaire.Compiled, error)
}

// Service is the data-collection use cases. Every method checks the caller against the auth
// policy before it reads or writes.
type Service struct {
	rounds      RoundStore
	sheets      SheetStore
	instruments Instruments
	now         func() time.Time
	freezer     Freezer // nil: locks are not frozen (see SetFreezer)
}

// NewService wires the service.
func NewService(rounds RoundStore, sheets SheetStore, instruments Instruments, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{rounds: rounds, sheets: sheets, instruments: instruments, now: now}
}

// instrument returns the round's compiled questionnaire version.
func (s *Service) instrument(ctx context.Context, r *Round) (*questionnaire.Definition, *questionnaire.Compiled, error) {
	def, c, err := s.instruments.Published(ctx, r.Questionnaire, r.QuestionnaireVer)
	if err != nil {
		return nil, nil, fmt.Errorf("round %s: questionnaire %s version %s: %w", r.ID, r.Questionnaire, r.QuestionnaireVer, err)
	}
	return def, c, nil
}

// --- rounds ---

// CreateRound creates a draft round over a published questionnaire version.
func (s *Service) CreateRound(ctx context.Context, p auth.Principal, in RoundInput) (*Round, error) {
	if err := p.Can(auth.ManageRound, auth.Scope{}); err != nil {
		return nil, err
	}
	if err := s.checkRoundInput(ctx, p, in, ""); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	r := &Round{Status: StatusDraft, Version: 1, CreatedAt: now, CreatedBy: p.UserID, UpdatedAt: now}
	r.setInput(in)
	if err := s.rounds.SaveRound(ctx, nil, r, "round.create"); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Round) setInput(in RoundInput) {
	r.ID, r.Name, r.Questionnaire, r.QuestionnaireVer = in.ID, in.Name, in.Questionnaire, in.QuestionnaireVer
	r.ReferenceDate, r.Countries, r.AnswersDue, r.ReviewsDue = in.ReferenceDate, slices.Clone(in.Countries), in.AnswersDue, in.ReviewsDue
	r.Previous, r.BlindReview, r.ReviewersPerAnswer = in.Previous, in.BlindReview, in.ReviewersPerAnswer
	r.PublicAnswers = in.PublicAnswers
}

// checkRoundInput validates a round's settings; was is the previous round set before (empty for
// a new round), since only a newly named previous round needs the caller's right to read it.
func (s *Service) checkRoundInput(ctx context.Context, p auth.Principal, in RoundInput, was string) error {
	problems := in.validate()
	if in.Questionnaire != "" && in.QuestionnaireVer != "" {
		if _, _, err := s.instruments.Published(ctx, in.Questionnaire, in.QuestionnaireVer); err != nil {
			problems = append(problems, FieldError{"questionnaire_version", "must name a published version of the questionnaire"})
		}
	}
	if in.Previous != "" && slugRe.MatchString(in.Previous) {
		// Carry-forward copies the previous round's answers and sources: naming a round whose
		// answers the caller may not read would read them through this one. Such a round is
		// answered as missing, so that its existence is not revealed either.
		prev, err := s.rounds.Round(ctx, in.Previous)
		switch {
		case errors.Is(err, ErrNotFound) || (err == nil && in.Previous != was && p.Can(auth.ManageRound, auth.Scope{Round: in.Previous}) != nil):
			problems = append(problems, FieldError{"previous", "no such round"})
		case err != nil:
			return err
		case in.Questionnaire != "" && prev.Questionnaire != in.Questionnaire:
			// Answers are matched by indicator code, which means something only within one
			// questionnaire.
			problems = append(problems, FieldError{"previous", fmt.Sprintf("round %s is of questionnaire %s; answers carry forward only from a round of the same questionnaire (%s)",
				prev.ID, prev.Questionnaire, in.Questionnaire)})
		}
	}
	if len(problems) > 0 {
		return &ValidationError{Problems: problems}
	}
	return nil
}

// Round returns a round the caller may see.
func (s *Service) Round(ctx context.Context, p auth.Principal, id string) (*Round, error) {
	if err := p.Can(auth.ReadRound, auth.Scope{Round: id}); err != nil {
		return nil, err
	}
	return s.rounds.Round(ctx, id)
}

// Rounds lists the rounds the caller may see.
func (s *Service) Rounds(ctx context.Context, p auth.Principal) ([]Round, error) {
	all, err := s.rounds.Rounds(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, r := range all {
		if p.Can(auth.ReadRound, auth.Scope{Round: r.ID}) == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// UpdateRound changes a round's settings. In a draft everything but the id may change; once
// open, the questionnaire version and the previous round are fixed and countries can only be
// added; a published round is final.
func (s *Service) UpdateRound(ctx context.Context, p auth.Principal, id string, in RoundInput, ifVersion int) (*Round, error) {
	if err := p.Can(auth.ManageRound, auth.Scope{Round: id}); err != nil {
		return nil, err
	}
	cur, err := s.rounds.Round(ctx, id)
	if err != nil {
		return nil, err
	}
	if cur.Version != ifVersion {
		return nil, &StaleRoundError{Current: cur}
	}
	in.ID = id
	if err := s.checkRoundInput(ctx, p, in, cur.Previous); err != nil {
		return nil, err
	}
	if cur.Status == StatusPublished {
		return nil, fmt.Errorf("round %s is published: %w", id, ErrNotEditable)
	}
	if cur.Status != StatusDraft {
		var p []FieldError
		if in.Questionnaire != cur.Questionnaire || in.QuestionnaireVer != cur.QuestionnaireVer {
			p = append(p, FieldError{"questionnaire_version", "is fixed once the round has opened"})
		}
		if in.Previous != cur.Previous {
			p = append(p, FieldError{"previous", "is fixed once the round has opened"})
		}
		for _, c := range cur.Countries {
			if !slices.Contains(in.Countries, c) {
				p = append(p, FieldError{"countries", "country " + c + " has a sheet; countries can only be added once the round has opened"})
			}
		}
		if len(p) > 0 {
			return nil, &ValidationError{Problems: p}
		}
	}
	next := *cur
	next.setInput(in)
	next.Version, next.UpdatedAt = cur.Version+1, s.now().UTC()
	if err := s.rounds.SaveRound(ctx, cur, &next, "round.update"); err != nil {
		return nil, s.staleRound(ctx, id, err)
	}
	if next.Status == StatusOpen {
		if err := s.carryForward(ctx, &next); err != nil {
			return nil, err
		}
	}
	return &next, nil
}

// StaleRoundError refuses a round change based on an old version and carries the current one.
type StaleRoundError struct{ Current *Round }

func (e *StaleRoundError) Error() string { return "the round changed since the version you read" }

// Is makes a StaleRoundError match ErrStale.
func (e *StaleRoundError) Is(target error) bool { return target == ErrStale }

// staleRound turns a lost race into a StaleRoundError with the winner's state.
func (s *Service) staleRound(ctx context.Context, id string, err error) error {
	if !errors.Is(err, ErrStale) {
		return err
	}
	cur, rerr := s.rounds.Round(ctx, id)
	if rerr != nil {
		return err
	}
	return &StaleRoundError{Current: cur}
}

// ErrInvalidTransition refuses a status change the round's workflow does not allow.
var ErrInvalidTransition = errors.New("invalid status change")

// SetStatus moves a round through draft -> open -> closed -> published (closed may reopen).
// Opening carries the previous round's answers forward into every sheet first, so that a
// failure leaves the round in draft and the next attempt completes the carry. Publishing needs
// every sheet locked or excluded (with a reason) and freezes the round's scores: every lock's
// snapshot is completed before the round is published.
func (s *Service) SetStatus(ctx context.Context, p auth.Principal, id string, to Status, ifVersion int, excluded ...Exclusion) (*Round, error) {
	if err := p.Can(auth.ManageRound, auth.Scope{Round: id}); err != nil {
		return nil, err
	}
	cur, err := s.rounds.Round(ctx, id)
	if err != nil {
		return nil, err
	}
	if cur.Version != ifVersion {
		return nil, &StaleRoundError{Current: cur}
	}
	if !cur.Status.CanMove(to) {
		return nil, fmt.Errorf("%w: a %s round cannot become %s", ErrInvalidTransition, cur.Status, to)
	}
	if len(excluded) > 0 && to != StatusPublished {
		return nil, &ValidationError{Problems: []FieldError{{"excluded", "countries are excluded only when the round is published"}}}
	}
	if to == StatusOpen {
		if err := s.carryForward(ctx, cur); err != nil {
			return nil, err
		}
	}
	next := *cur
	if to == StatusPublished {
		if err := s.checkPublication(ctx, cur, excluded); err != nil {
			return nil, err
		}
		next.Excluded, next.PublishedAt = slices.Clone(excluded), s.now().UTC()
	}
	next.Status, next.Version, next.UpdatedAt = to, cur.Version+1, s.now().UTC()
	if err := s.rounds.SaveRound(ctx, cur, &next, "round.status."+string(to)); err != nil {
		return nil, s.staleRound(ctx, id, err)
	}
	return &next, nil
}

// --- sheets ---

// sheetOf returns the sheet, or a new empty one when nobody has written to it yet: a sheet
// exists for every country of the round from the start, but is stored from its first write.
func (s *Service) sheetOf(ctx context.Context, r *Round, country string) (*Sheet, error) {
	sh, err := s.sheets.Sheet(ctx, r.ID, country)
	if errors.Is(err, ErrNotFound) {
		return &Sheet{Round: r.ID, Country: country, Status: SheetNotStarted}, nil
	}
	return sh, err
}

// roundAndCountry checks that the caller may do action in country, and loads the round (which
// must have the country) and its compiled questionnaire version.
func (s *Service) roundAndCountry(ctx context.Context, p auth.Principal, action auth.Action, roundID, country string) (*Round, *questionnaire.Definition, *questionnaire.Compiled, error) {
	if err := p.Can(action, auth.Scope{Round: roundID, Country: country}); err != nil {
		return nil, nil, nil, err
	}
	r, err := s.rounds.Round(ctx, roundID)
	if err != nil {
		return nil, nil, nil, err
	}
	if !r.HasCountry(country) {
		return nil, nil, nil, fmt.Errorf("country %s is not in round %s: %w", country, roundID, ErrNotFound)
	}
	def, inst, err := s.instrument(ctx, r)
	if err != nil {
		return nil, nil, nil, err
	}
	return r, def, inst, nil
}

// SheetView is a sheet with what a reader needs around it. Labels name the people in it as
// the reader may see them (in a blind round, experts and reviewers see "Expert" and
// "Reviewer 1"): every actor a response shows goes through them.
type SheetView struct {
	Round    *Round
	Sheet    *Sheet
	Progress Progress
	Labels   review.Labels
}

// Sheet returns a country's sheet with its progress.
func (s *Service) Sheet(ctx context.Context, p auth.Principal, roundID, country string) (*SheetView, error) {
	r, _, inst, err := s.roundAndCountry(ctx, p, auth.ReadSheet, roundID, country)
	if err != nil {
		return nil, err
	}
	sh, err := s.sheetOf(ctx, r, country)
	if err != nil {
		return nil, err
	}
	if err := s.freeze(ctx, r, inst, sh); err != nil {
		return nil, err
	}
	return &SheetView{Round: r, Sheet: sh, Progress: progressOf(inst, sh), Labels: labelsFor(p, r, sh)}, nil
}

// labelsFor says how p sees the people of a sheet: by name for coordinators and in open rounds;
// in a blind round, experts and reviewers see roles and numbers only.
func labelsFor(p auth.Principal, r *Round, sh *Sheet) review.Labels {
	viewer, err := review.ActorFor(p, r.ID, sh.Country, review.MoveComment)
	if err != nil {
		// Someone who reads the sheet without a part in it sees what a reviewer sees.
		viewer = review.Actor{ID: p.UserID, Role: auth.RoleReviewer}
	}
	return review.NewLabels(viewer, r.BlindReview, sh.Review.Participants, nil)
}

// AnswerView is one answer with its review side and the reader's labels.
type AnswerView struct {
	Answer
	Review review.Answer
	Labels review.Labels
}

// answerView is the view of indicator on sheet sh for p.
func answerView(p auth.Principal, r *Round, sh *Sheet, indicator string) *AnswerView {
	return &AnswerView{Answer: *orEmpty(sh.Answer(indicator), indicator), Review: sh.Review.Answer(indicator), Labels: labelsFor(p, r, sh)}
}

// Answer returns the current answer to indicator with its review; an indicator nobody answered
// yet is an empty answer at version 0, so that the first save is a read-modify-write like every
// other.
func (s *Service) Answer(ctx context.Context, p auth.Principal, roundID, country, indicator string) (*AnswerView, error) {
	r, _, inst, err := s.roundAndCountry(ctx, p, auth.ReadSheet, roundID, country)
	if err != nil {
		return nil, err
	}
	if _, ok := inst.Indicator(indicator); !ok {
		return nil, fmt.Errorf("indicator %q is not in the round's questionnaire: %w", indicator, ErrNotFound)
	}
	sh, err := s.sheetOf(ctx, r, country)
	if err != nil {
		return nil, err
	}
	// One answer is read without the sheet's progress, so that its cost does not grow with the
	// sheet.
	return answerView(p, r, sh, indicator), nil
}

// ErrNotApplicable refuses an answer to an indicator that skip logic excludes.
var ErrNotApplicable = errors.New("the indicator does not apply")

// SaveAnswer writes an expert's answer. ifVersion is the version the expert read (If-Match);
// a write based on an older version is refused with the current answer, never applied.
func (s *Service) SaveAnswer(ctx context.Context, p auth.Principal, roundID, country, indicator string, in AnswerInput, ifVersion *int) (*AnswerView, error) {
	r, _, inst, err := s.roundAndCountry(ctx, p, auth.WriteAnswer, roundID, country)
	if err != nil {
		return nil, err
	}
	if _, ok := inst.Indicator(indicator); !ok {
		return nil, fmt.Errorf("indicator %q is not in the round's questionnaire: %w", indicator, ErrNotFound)
	}
	actor, err := review.ActorFor(p, roundID, country, review.MoveSave)
	if err != nil {
		return nil, err
	}
	if ifVersion == nil {
		return nil, fmt.Errorf("send If-Match with the answer's ETag: %w", ErrPreconditionRequired)
	}
	if problems := checkInput(inst, indicator, in, "", s.now()); len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	if r.Status != StatusOpen {
		return nil, fmt.Errorf("round %s is %s; answers change only while it is open: %w", r.ID, r.Status, ErrNotEditable)
	}
	sh, err := s.sheets.UpdateSheet(ctx, roundID, country, func(sh *Sheet) (*Change, error) {
		cur := sh.Answer(indicator)
		curVersion := 0
		if cur != nil {
			curVersion = cur.Version
		}
		if curVersion != *ifVersion {
			return nil, labelStale(p, r, sh, &StaleError{Current: orEmpty(cur, indicator)})
		}
		// The review decides whether the answer may change now (before submission, or while the
		// sheet is returned, with a reason) and records the version it makes.
		rc, err := sh.Review.Edit(actor, indicator, curVersion, in.Reason)
		if err != nil {
			return nil, fromReview(sh, err)
		}
		next := Answer{
			Indicator: indicator, Option: in.Option, Value: in.Value, Text: in.Text,
			NotApplicable: in.NotApplicable, NAReason: in.NAReason, Comment: in.Comment,
			Sources: slices.Clone(in.Sources), Justification: in.Justification,
		}
		if cur != nil {
			next.Previous = cur.Previous
		}
		if err := checkCarryChange(cur, &next); err != nil {
			return nil, err
		}
		change := &Change{Action: "answer.save", Review: []review.Change{rc}}
		change.Answers, err = withApplicability(inst, sh, next)
		if err != nil {
			return nil, err
		}
		return change, nil
	})
	if err != nil {
		return nil, err
	}
	return answerView(p, r, sh, indicator), nil
}

func orEmpty(a *Answer, indicator string) *Answer {
	if a == nil {
		return &Answer{Indicator: indicator}
	}
	return a
}

// checkCarryChange sets Changed on an answer that has a previous round's answer, and requires
// a justification and a new or updated source when the response differs from it.
func checkCarryChange(cur, next *Answer) error {
	if next.Previous == nil {
		next.Changed = false
		return nil
	}
	next.Carried = false
	next.Changed = !next.Content().Equal(next.Previous.Content())
	if !next.Changed {
		return nil
	}
	var p []FieldError
	if next.Justification == "" {
		p = append(p, FieldError{"justification", "is required to change an answer carried from round " + next.Previous.Round})
	}
	if !hasNewSource(next.Previous.Sources, next.Sources) {
		p = append(p, FieldError{"sources", "a changed answer needs at least one new or updated source"})
	}
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// withApplicability returns next plus every other answer whose applicability flag the change
// flips, so that answers made inapplicable are flagged, not deleted. next itself must apply.
func withApplicability(inst *questionnaire.Compiled, sh *Sheet, next Answer) ([]Answer, error) {
	out, inapplicable := flagApplicability(inst, sh, []Answer{next})
	if len(inapplicable) > 0 {
		return nil, &ValidationError{Problems: []FieldError{{"indicator", fmt.Sprintf("%s does not apply given the other answers of this sheet (skip logic)", next.Indicator)}}}
	}
	return out, nil
}

// flagApplicability evaluates skip logic on the sheet as it will be once changed is written. It
// sets the Inapplicable flag of each changed answer, adds every other answer whose flag flips,
// and names the changed answers that do not apply. Only the changed answers and the indicators
// whose conditions read them are evaluated, so a save costs the same on any size of sheet.
func flagApplicability(inst *questionnaire.Compiled, sh *Sheet, changed []Answer) ([]Answer, []string) {
	byCode := make(map[string]*Answer, len(changed))
	for i := range changed {
		byCode[changed[i].Indicator] = &changed[i]
	}
	lookup := func(code string) (questionnaire.Answer, bool) {
		a := byCode[code]
		if a == nil {
			a = sh.Answer(code)
		}
		if a == nil || !a.Answered() {
			return questionnaire.Answer{}, false
		}
		return a.scoring(), true
	}
	out := make([]Answer, 0, len(changed))
	var inapplicable []string
	for _, a := range changed {
		a.Inapplicable = !inst.ApplicableWith(a.Indicator, lookup)
		if a.Inapplicable {
			inapplicable = append(inapplicable, a.Indicator)
		}
		out = append(out, a)
	}
	seen := map[string]bool{}
	for _, c := range changed {
		for _, code := range inst.Dependents(c.Indicator) {
			if byCode[code] != nil || seen[code] {
				continue
			}
			seen[code] = true
			cur := sh.Answer(code)
			if cur == nil {
				continue
			}
			if flag := !inst.ApplicableWith(code, lookup); flag != cur.Inapplicable {
				a := *cur
				a.Inapplicable = flag
				out = append(out, a)
			}
		}
	}
	return out, inapplicable
}

// --- progress ---

// Progress counts what a sheet has and lacks, and where its answers stand in review (from the
// review projection kept with the sheet, not by reading its log).
type Progress struct {
	Applicable         int
	Answered           int
	WithSources        int
	CarriedUnconfirmed int
	Review             review.Progress
}

func progressOf(inst *questionnaire.Compiled, sh *Sheet) Progress {
	pr := Progress{Review: sh.Review.Progress()}
	applies := inst.Applicability(scoringAnswers(sh.EachAnswer()))
	for _, code := range inst.IndicatorCodes() {
		if !applies.Applies(code) {
			continue
		}
		pr.Applicable++
		a := sh.Answer(code)
		if a == nil || !a.Answered() {
			continue
		}
		if a.Carried {
			pr.CarriedUnconfirmed++
			continue
		}
		pr.Answered++
		if len(a.Sources) > 0 {
			pr.WithSources++
		}
	}
	return pr
}

// missingForSubmission lists, per applicable indicator, what a submission still lacks.
func missingForSubmission(inst *questionnaire.Compiled, sh *Sheet) []FieldError {
	var missing []FieldError
	applies := inst.Applicability(scoringAnswers(sh.EachAnswer()))
	for _, code := range inst.IndicatorCodes() {
		if !applies.Applies(code) {
			continue
		}
		ind, _ := inst.Indicator(code)
		a := sh.Answer(code)
		switch {
		case a == nil || !a.Answered():
			missing = append(missing, FieldError{"answers." + code, "not answered"})
		case a.Carried:
			missing = append(missing, FieldError{"answers." + code, "carried from round " + a.Previous.Round + ": confirm it or change it"})
		case ind.SourceRequired && !a.NotApplicable && len(a.Sources) == 0:
			missing = append(missing, FieldError{"answers." + code + ".sources", "a source is required"})
		}
	}
	return missing
}

// Submit hands a complete sheet to review, or a returned sheet back to it (a resubmission
// sends only the revised answers back to the reviewers, and the disputed ones to a
// coordinator). The expert cannot edit the sheet until review returns it. Answers are written
// while the round is open; a returned sheet may be resubmitted while it is closed too.
func (s *Service) Submit(ctx context.Context, p auth.Principal, roundID, country string) (*SheetView, error) {
	if err := p.Can(auth.WriteAnswer, auth.Scope{Round: roundID, Country: country}); err != nil {
		return nil, err
	}
	sh, m, err := s.reviewMove(ctx, p, roundID, country, review.MoveSubmit, func(m *moving, sh *Sheet) (*Change, error) {
		if sh.Status != SheetReturned && m.round.Status != StatusOpen {
			return nil, fmt.Errorf("round %s is %s: %w", m.round.ID, m.round.Status, ErrNotEditable)
		}
		if missing := missingForSubmission(m.inst, sh); len(missing) > 0 {
			return nil, &IncompleteError{Missing: missing}
		}
		submit := sh.Review.Submit
		if sh.Status == SheetReturned {
			submit = sh.Review.Resubmit
		}
		return one(submit(m.actor, applicableCodes(m.inst, sh)))
	})
	if err != nil {
		return nil, err
	}
	return &SheetView{Round: m.round, Sheet: sh, Progress: progressOf(m.inst, sh), Labels: labelsFor(p, m.round, sh)}, nil
}

// Return gives a sheet in review back to its expert, whole, with a reason.
func (s *Service) Return(ctx context.Context, p auth.Principal, roundID, country, reason string) (*SheetView, error) {
	sh, m, err := s.reviewMove(ctx, p, roundID, country, review.MoveReturn, func(m *moving, sh *Sheet) (*Change, error) {
		return one(sh.Review.Return(m.actor, reason))
	})
	if err != nil {
		return nil, err
	}
	return &SheetView{Round: m.round, Sheet: sh, Progress: progressOf(m.inst, sh), Labels: labelsFor(p, m.round, sh)}, nil
}

// --- dashboard ---

// SheetSummary is one line of a round's dashboard.
type SheetSummary struct {
	Country   string
	Status    SheetStatus
	Progress  Progress
	UpdatedAt time.Time
}

// Dashboard lists every sheet of the round with its progress, for coordinators.
func (s *Service) Dashboard(ctx context.Context, p auth.Principal, roundID string) (*Round, []SheetSummary, error) {
	return overSheets(ctx, s, p, roundID, func(inst *questionnaire.Compiled, sh *Sheet) SheetSummary {
		return SheetSummary{Country: sh.Country, Status: sh.Status, Progress: progressOf(inst, sh), UpdatedAt: sh.UpdatedAt}
	})
}

// overSheets loads a round for one of its coordinators and maps every country's sheet, in the
// round's order, through fn.
func overSheets[T any](ctx context.Context, s *Service, p auth.Principal, roundID string, fn func(*questionnaire.Compiled, *Sheet) T) (*Round, []T, error) {
	if err := p.Can(auth.ManageRound, auth.Scope{Round: roundID}); err != nil {
		return nil, nil, err
	}
	r, err := s.rounds.Round(ctx, roundID)
	if err != nil {
		return nil, nil, err
	}
	_, inst, err := s.instrument(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	out := make([]T, len(r.Countries))
	err = forEachCountry(ctx, r.Countries, func(i int, country string) error {
		sh, err := s.sheetOf(ctx, r, country)
		if err != nil {
			return err
		}
		out[i] = fn(inst, sh)
		return nil
	})
	return r, out, err
}

// forEachCountry runs fn for every country with a few at a time: sheets are point reads, and a
// handful in flight hides the store's latency without flooding it.
func forEachCountry(ctx context.Context, countries []string, fn func(i int, country string) error) error {
	const parallel = 8
	var wg sync.WaitGroup
	errs := make([]error, len(countries))
	sem := make(chan struct{}, parallel)
	for i, c := range countries {
		if ctx.Err() != nil {
			errs[i] = ctx.Err()
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = fn(i, c)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// CountryScores is one country's scores computed from its sheet's current answers.
type CountryScores struct {
	Country string
	Status  SheetStatus
	Result  questionnaire.Result
}

// Scores computes every country's scores, at every node and overall variant, from the answers
// as they stand (carried answers not yet confirmed included), for coordinators following a round.
// Published scores come from frozen answers; these are the live figures behind them.
func (s *Service) Scores(ctx context.Context, p auth.Principal, roundID string) (*Round, []CountryScores, error) {
	return overSheets(ctx, s, p, roundID, func(inst *questionnaire.Compiled, sh *Sheet) CountryScores {
		return CountryScores{Country: sh.Country, Status: sh.Status, Result: inst.Score(scoringAnswers(sh.EachAnswer()), scoreOverrides(sh))}
	})
}

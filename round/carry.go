package round

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/review"
)

// carryForward pre-fills every sheet of r from the previous round's answers, matching
// indicators by their stable code. An indicator the expert already answered, or whose previous
// answer no longer fits the new version (an option that was removed, a range that shrank), is
// left for the expert. It is idempotent: a second run finds nothing left to carry.
//
// The previous round must be closed or published: answers still being written are not a
// baseline. (Who may name it is checked when it is named: checkRoundInput.)
func (s *Service) carryForward(ctx context.Context, r *Round) error {
	if r.Previous == "" {
		return nil
	}
	prevRound, err := s.rounds.Round(ctx, r.Previous)
	if err != nil {
		return err
	}
	if prevRound.Status != StatusClosed && prevRound.Status != StatusPublished {
		return fmt.Errorf("%w: answers carry forward only from a closed or published round; round %s is %s",
			ErrInvalidTransition, prevRound.ID, prevRound.Status)
	}
	if prevRound.Questionnaire != r.Questionnaire {
		// Checked when the round is named; this guards rounds stored before that check.
		return fmt.Errorf("%w: answers carry forward only from a round of the same questionnaire; round %s is of %s",
			ErrInvalidTransition, prevRound.ID, prevRound.Questionnaire)
	}
	_, inst, err := s.instrument(ctx, r)
	if err != nil {
		return err
	}
	return forEachCountry(ctx, r.Countries, func(_ int, country string) error {
		prev, err := s.sheets.Sheet(ctx, r.Previous, country)
		if errors.Is(err, ErrNotFound) {
			return nil // the country is new in this round
		}
		if err != nil {
			return err
		}
		var carried []Answer
		for a := range prev.EachAnswer() {
			if !a.Answered() || a.Inapplicable {
				continue
			}
			if _, ok := inst.Indicator(a.Indicator); !ok {
				continue
			}
			if len(inst.CheckAnswer(a.Indicator, toScoringAnswer(a.Indicator, a.Option, a.Value, a.Text, a.NotApplicable))) > 0 {
				continue
			}
			carried = append(carried, Answer{
				Indicator: a.Indicator, Option: a.Option, Value: a.Value, Text: a.Text,
				NotApplicable: a.NotApplicable, NAReason: a.NAReason, Comment: a.Comment,
				Sources: slices.Clone(a.Sources), Carried: true,
				Previous: &Previous{Round: r.Previous, Option: a.Option, Value: a.Value, Text: a.Text,
					NotApplicable: a.NotApplicable, Sources: slices.Clone(a.Sources)},
			})
		}
		if len(carried) == 0 {
			return nil
		}
		_, err = s.sheets.UpdateSheet(ctx, r.ID, country, func(sh *Sheet) (*Change, error) {
			var todo []Answer
			for _, a := range carried {
				if cur := sh.Answer(a.Indicator); cur == nil || (!cur.Answered() && cur.Previous == nil) {
					todo = append(todo, a)
				}
			}
			if len(todo) == 0 {
				return nil, nil
			}
			return &Change{Action: "answers.carry", Answers: todo}, nil
		})
		return err
	})
}

// Confirm accepts carried answers unchanged: one indicator (ifVersion required), every
// indicator under a group (a dimension or an area), or, with target empty, the whole sheet.
// It returns the sheet and the indicators it confirmed.
func (s *Service) Confirm(ctx context.Context, p auth.Principal, roundID, country, target string, ifVersion *int) (*Sheet, []string, error) {
	r, def, inst, err := s.roundAndCountry(ctx, p, auth.WriteAnswer, roundID, country)
	if err != nil {
		return nil, nil, err
	}
	if r.Status != StatusOpen {
		return nil, nil, fmt.Errorf("round %s is %s: %w", r.ID, r.Status, ErrNotEditable)
	}
	codes := inst.IndicatorCodes()
	single := false
	if target != "" {
		if _, ok := inst.Indicator(target); ok {
			single = true
			codes = []string{target}
			if ifVersion == nil {
				return nil, nil, fmt.Errorf("send If-Match with the answer's ETag: %w", ErrPreconditionRequired)
			}
		} else if ifVersion != nil {
			// An If-Match names one answer's version: a group has none.
			return nil, nil, fmt.Errorf("%q is not an indicator of the questionnaire: %w", target, ErrNotFound)
		} else if codes, ok = indicatorsUnder(def, target); !ok {
			return nil, nil, fmt.Errorf("%q is neither an indicator nor a group of the questionnaire: %w", target, ErrNotFound)
		}
	}
	actor, err := review.ActorFor(p, roundID, country, review.MoveConfirm)
	if err != nil {
		return nil, nil, err
	}
	var confirmed []string
	sh, err := s.sheets.UpdateSheet(ctx, roundID, country, func(sh *Sheet) (*Change, error) {
		confirmed = confirmed[:0]
		change := &Change{Action: "answers.confirm"}
		var targets []review.Target
		for _, code := range codes {
			a := sh.Answer(code)
			if single {
				v := 0
				if a != nil {
					v = a.Version
				}
				if v != *ifVersion {
					return nil, &StaleError{Current: orEmpty(a, code)}
				}
				if a == nil || !a.Carried {
					return nil, fmt.Errorf("%s is not a carried answer waiting for confirmation: %w", code, ErrConflict)
				}
			}
			if a == nil || !a.Carried {
				continue
			}
			next := *a
			next.Carried, next.Changed = false, false
			change.Answers = append(change.Answers, next)
			targets = append(targets, review.Target{Indicator: code, Version: a.Version})
			confirmed = append(confirmed, code)
		}
		if len(change.Answers) == 0 {
			return nil, nil
		}
		// One review change per answer, in the same entry: all are confirmed or none.
		if change.Review, err = sh.Review.Confirm(actor, targets); err != nil {
			return nil, fromReview(sh, err)
		}
		return change, nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil, nil, fmt.Errorf("sheet %s/%s has no carried answers: %w", roundID, country, ErrNotFound)
	}
	if err != nil {
		return nil, nil, err
	}
	return sh, confirmed, nil
}

// indicatorsUnder lists the indicators below the group code, in questionnaire order.
func indicatorsUnder(def *questionnaire.Definition, code string) ([]string, bool) {
	var walk func(nodes []questionnaire.Node, inside bool) ([]string, bool)
	walk = func(nodes []questionnaire.Node, inside bool) ([]string, bool) {
		var out []string
		found := false
		for _, n := range nodes {
			switch {
			case n.Indicator != nil && inside:
				out = append(out, n.Indicator.Code)
			case n.Group != nil:
				here := inside || n.Group.Code == code
				sub, f := walk(n.Group.Children, here)
				out = append(out, sub...)
				found = found || f || n.Group.Code == code
			}
		}
		return out, found
	}
	return walk(def.Tree, false)
}

// --- history and differences ---

// AnswerVersion is one saved version of an answer.
type AnswerVersion struct {
	Version   int
	Answer    Answer
	Action    string
	Actor     string
	RequestID string
	// Reason is the reason for the change, given for every change after submission.
	Reason string
}

// VersionCursor is where a page of an answer's history begins: version Version, written by the
// log entry at position At. Versions are linked backwards (each names its predecessor's
// position), so a page can only start from a position already known: the newest version's, or
// the one the previous page ended at. Its text form is "<version>.<position>".
type VersionCursor struct {
	Version int
	At      int64
}

func (c VersionCursor) String() string {
	return strconv.Itoa(c.Version) + "." + strconv.FormatInt(c.At, 10)
}

// ParseVersionCursor reads the text form of a VersionCursor; the zero cursor (the newest
// version) is the empty text.
func ParseVersionCursor(s string) (VersionCursor, error) {
	if s == "" {
		return VersionCursor{}, nil
	}
	v, at, ok := strings.Cut(s, ".")
	version, err1 := strconv.Atoi(v)
	pos, err2 := strconv.ParseInt(at, 10, 64)
	if !ok || err1 != nil || err2 != nil || version < 1 || pos < 1 {
		return VersionCursor{}, &ValidationError{Problems: []FieldError{{"after", "must be the next of the previous page of this history"}}}
	}
	return VersionCursor{Version: version, At: pos}, nil
}

// History lists the saved versions of an answer newest first, a page of at most limit from
// after (the zero cursor: the newest version), and the cursor of the next page (nil after the
// oldest version). A page costs one log entry read per version, whatever the answer's age.
func (s *Service) History(ctx context.Context, p auth.Principal, roundID, country, indicator string, after VersionCursor, limit int) ([]AnswerVersion, *VersionCursor, error) {
	view, err := s.Answer(ctx, p, roundID, country, indicator)
	if err != nil {
		return nil, nil, err
	}
	versions, next, err := VersionsFrom(ctx, s.sheets, roundID, country, &view.Answer, after, limit)
	if err != nil {
		return nil, nil, err
	}
	out := make([]AnswerVersion, len(versions))
	for i, ver := range versions {
		v := AnswerVersion{Version: ver.Answer.Version, Answer: ver.Answer, Action: ver.Entry.Change.Action,
			Actor: view.Labels.Of(ver.Entry.Actor), RequestID: ver.Entry.RequestID}
		for _, rv := range view.Review.Revisions {
			if rv.Version == v.Version {
				v.Reason = rv.Reason
			}
		}
		v.Answer.UpdatedBy = v.Actor
		out[i] = v
	}
	return out, next, nil
}

// Version is one version of an answer as its log entry wrote it.
type Version struct {
	Answer Answer
	Entry  Entry
}

// Versions reads back every version of answer a, oldest first (see VersionsFrom).
func Versions(ctx context.Context, sheets SheetStore, roundID, country string, a *Answer) ([]Version, error) {
	out, _, err := VersionsFrom(ctx, sheets, roundID, country, a, VersionCursor{}, a.Version)
	slices.Reverse(out)
	return out, err
}

// VersionsFrom reads back up to limit versions of answer a, newest first, from the version
// named by from (the zero cursor: a itself), by following the chain of log positions through
// each version's predecessor (Prev): one entry read per version, nothing kept per answer beyond
// two positions. It returns the cursor of the next older version, nil after version 1. A cursor
// that names no version of a (a later version, or a position whose entry does not hold this
// answer) is a ValidationError on "after".
func VersionsFrom(ctx context.Context, sheets SheetStore, roundID, country string, a *Answer, from VersionCursor, limit int) ([]Version, *VersionCursor, error) {
	at, v := a.At, a.Version
	if from != (VersionCursor{}) {
		// Positions grow with versions: an older version was written before the newest one.
		if from.Version > a.Version || from.At > a.At || (from.Version == a.Version) != (from.At == a.At) {
			return nil, nil, &ValidationError{Problems: []FieldError{{"after", "names no version of this answer"}}}
		}
		at, v = from.At, from.Version
	}
	out := make([]Version, 0, min(limit, v))
	for ; at > 0 && v > 0 && len(out) < limit; v-- {
		entries, err := sheets.SheetEntries(ctx, roundID, country, []int64{at})
		if err != nil {
			return nil, nil, err
		}
		i := -1
		if len(entries) == 1 {
			i = slices.IndexFunc(entries[0].Change.Answers, func(ea Answer) bool { return ea.Indicator == a.Indicator })
		}
		if i < 0 {
			if from != (VersionCursor{}) && len(out) == 0 {
				return nil, nil, &ValidationError{Problems: []FieldError{{"after", "names no version of this answer"}}}
			}
			return nil, nil, fmt.Errorf("sheet %s: log entry %d holds no version of %s", SheetID(roundID, country), at, a.Indicator)
		}
		e := entries[0]
		ea := e.Change.Answers[i]
		ea.Version, ea.At, ea.UpdatedAt, ea.UpdatedBy = v, at, e.Time, e.Actor
		out = append(out, Version{Answer: ea, Entry: e})
		at = ea.Prev
	}
	if at > 0 && v > 0 {
		return out, &VersionCursor{Version: v, At: at}, nil
	}
	return out, nil, nil
}

// FieldChange is one difference between two states of an answer. Kind says what Before and
// After hold.
type FieldChange struct {
	Field  string
	Kind   ChangeKind
	Before any
	After  any
}

// ChangeKind is the type of the values a FieldChange compares.
type ChangeKind string

const (
	ChangeText   ChangeKind = "text"   // strings: option, text, na_reason, comment, justification
	ChangeNumber ChangeKind = "number" // *float64: value (nil when there was none)
	ChangeFlag   ChangeKind = "flag"   // bools: not_applicable, carried, inapplicable
	ChangeSource ChangeKind = "source" // a Source added (After) or removed (Before)
)

// DiffVersions compares two saved versions of an answer.
func (s *Service) DiffVersions(ctx context.Context, p auth.Principal, roundID, country, indicator string, from, to int) ([]FieldChange, error) {
	view, err := s.Answer(ctx, p, roundID, country, indicator)
	if err != nil {
		return nil, err
	}
	latest := view.Answer.Version
	var problems []FieldError
	if from < 1 || from > latest {
		problems = append(problems, FieldError{"from", fmt.Sprintf("must be a version between 1 and %d", latest)})
	}
	if to < 1 || to > latest {
		problems = append(problems, FieldError{"to", fmt.Sprintf("must be a version between 1 and %d", latest)})
	}
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	// Read back from the newest version to the older of the two, no further.
	h, _, err := VersionsFrom(ctx, s.sheets, roundID, country, &view.Answer, VersionCursor{}, latest-min(from, to)+1)
	if err != nil {
		return nil, err
	}
	return diffAnswers(h[latest-from].Answer, h[latest-to].Answer), nil
}

func diffAnswers(a, b Answer) []FieldChange {
	var out []FieldChange
	text := func(field, x, y string) {
		if x != y {
			out = append(out, FieldChange{Field: field, Kind: ChangeText, Before: x, After: y})
		}
	}
	flag := func(field string, x, y bool) {
		if x != y {
			out = append(out, FieldChange{Field: field, Kind: ChangeFlag, Before: x, After: y})
		}
	}
	text("option", a.Option, b.Option)
	if !(Content{Value: a.Value}).Equal(Content{Value: b.Value}) {
		out = append(out, FieldChange{Field: "value", Kind: ChangeNumber, Before: a.Value, After: b.Value})
	}
	text("text", a.Text, b.Text)
	flag("not_applicable", a.NotApplicable, b.NotApplicable)
	text("na_reason", a.NAReason, b.NAReason)
	text("comment", a.Comment, b.Comment)
	text("justification", a.Justification, b.Justification)
	flag("carried", a.Carried, b.Carried)
	flag("inapplicable", a.Inapplicable, b.Inapplicable)
	for i, src := range b.Sources {
		if !slices.Contains(a.Sources, src) {
			out = append(out, FieldChange{Field: fmt.Sprintf("sources[%d]", i), Kind: ChangeSource, After: src})
		}
	}
	for i, src := range a.Sources {
		if !slices.Contains(b.Sources, src) {
			out = append(out, FieldChange{Field: fmt.Sprintf("sources[%d]", i), Kind: ChangeSource, Before: src})
		}
	}
	return out
}

// RoundChange is how one indicator's answer compares with the previous round's.
type RoundChange struct {
	Indicator     string
	Kind          string // unchanged, changed, new, carried (not yet confirmed), unanswered
	Previous      *Previous
	Current       Content
	Justification string
}

// ChangesSincePrevious compares every indicator of a sheet with the previous round.
func (s *Service) ChangesSincePrevious(ctx context.Context, p auth.Principal, roundID, country string) ([]RoundChange, error) {
	view, err := s.Sheet(ctx, p, roundID, country)
	if err != nil {
		return nil, err
	}
	_, inst, err := s.instrument(ctx, view.Round)
	if err != nil {
		return nil, err
	}
	var out []RoundChange
	for _, code := range inst.IndicatorCodes() {
		a := view.Sheet.Answer(code)
		rc := RoundChange{Indicator: code}
		switch {
		case a == nil || !a.Answered():
			rc.Kind = "unanswered"
			if a != nil {
				rc.Previous = a.Previous
			}
		case a.Previous == nil:
			rc.Kind, rc.Current = "new", a.Content()
		case a.Carried:
			rc.Kind, rc.Previous, rc.Current = "carried", a.Previous, a.Content()
		case a.Changed:
			rc.Kind, rc.Previous, rc.Current, rc.Justification = "changed", a.Previous, a.Content(), a.Justification
		default:
			rc.Kind, rc.Previous, rc.Current = "unchanged", a.Previous, a.Content()
		}
		out = append(out, rc)
	}
	return out, nil
}

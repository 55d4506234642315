// Package snapshot freezes one locked sheet into an immutable, scored and
// hashed record, and compares such records: Verify recomputes a snapshot's
// scores and hash, Diff lists what an erratum (a reopen and a new lock)
// changed between two revisions of one sheet, and Compare sets two rounds of
// one country side by side.
//
// The package is pure: it knows neither storage nor HTTP, and nothing here
// depends on how the round package stores a sheet, so that a published
// number stays a recomputable function of (questionnaire version, frozen
// answers) for anyone holding the snapshot. The canonical serialisation the
// hash is taken over is documented in docs/snapshot-hash.md.
//
// Verdicts, comments, adjudications and overrides are this package's own
// plain types: the review workflow that produces them maps its records to
// them when a sheet is locked.
package snapshot

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
)

// ErrInvalid marks a snapshot that cannot be built or hashed: a missing
// key, a duplicate answer, a number that is not finite, text that is not
// UTF-8, or answers and overrides the scoring engine would ignore.
var ErrInvalid = errors.New("snapshot: invalid")

// Format names the canonical form; it is part of the hashed content, so a
// future change of the form cannot be mistaken for tampering.
const Format = "expertsurvey-snapshot/1"

// TimeLayout is the one way a time appears in the canonical form: UTC,
// milliseconds always written. Times are truncated to milliseconds first,
// because BSON dates (the store) keep no more, and a hash must survive a
// round trip through the store.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Snapshot is the frozen content of one locked sheet at one revision.
// Never change a built snapshot: its Hash covers every field but itself.
type Snapshot struct {
	Round   string
	Country string
	// Questionnaire and Version identify the published questionnaire
	// version the scores were computed with.
	Questionnaire string
	Version       string
	// Revision is 1 for the first lock and grows by one with every
	// reopen and lock (an erratum).
	Revision int
	LockedBy string
	LockedAt time.Time
	// Reopened is the reopen that led to this revision; nil on revision 1.
	Reopened *Reopen
	// Answers are sorted by indicator code, one per indicator.
	Answers []Answer
	// Overrides are sorted by node code.
	Overrides []Override
	// Nodes and Variants are the scores computed by
	// questionnaire.Compiled.Score with the overrides applied: every node
	// of the tree in pre-order and every overall variant.
	Nodes    []questionnaire.NodeScore
	Variants []questionnaire.VariantScore
	// Hash is the lowercase hexadecimal SHA-256 of the canonical form.
	Hash string
}

// Reopen is a coordinator's reopening of a locked sheet, the start of an
// erratum.
type Reopen struct {
	By     string
	At     time.Time
	Reason string
}

// Answer is one indicator's frozen answer with its review record. The
// response fields hold the final answer, after any adjudication: the
// adjudication is the record of the decision, not a second answer.
type Answer struct {
	Indicator     string
	Option        string
	Value         *float64
	Text          string
	NotApplicable bool
	NAReason      string
	Comment       string
	Sources       []round.Source
	Carried       bool
	Changed       bool
	Justification string
	Inapplicable  bool
	// Version, UpdatedBy and UpdatedAt are those of the answer's last save.
	Version   int
	UpdatedBy string
	UpdatedAt time.Time

	// Comments are the discussion of the answer, oldest first.
	Comments []Comment
	// Verdicts are the reviewers' verdicts, oldest first.
	Verdicts     []Verdict
	Adjudication *Adjudication
}

// Comment is one message of the discussion of an answer.
type Comment struct {
	Author string
	At     time.Time
	Text   string
}

// Verdict is one reviewer's judgement of one version of an answer.
type Verdict struct {
	Reviewer      string
	AnswerVersion int
	// Verdict is the review workflow's verdict code, e.g. "agree" or
	// "disagree"; this package does not interpret it.
	Verdict         string
	SuggestedOption string
	Reason          string
	At              time.Time
}

// Adjudication is a coordinator's decision on a disputed answer.
type Adjudication struct {
	By            string
	AnswerVersion int
	// Option is the final option decided; empty when the decision kept a
	// number or text answer, which the answer itself holds.
	Option    string
	Rationale string
	At        time.Time
}

// Override is a coordinator's audited replacement of a node's score.
type Override struct {
	Node   string
	Score  float64
	Reason string
	By     string
	At     time.Time
}

// AnswerFrom copies the fields of a sheet's answer that a snapshot keeps;
// the caller adds the review record. Previous and the log positions (At,
// Prev) stay out: the
// previous round has its own snapshot and the log its own history.
func AnswerFrom(a round.Answer) Answer {
	return Answer{
		Indicator:     a.Indicator,
		Option:        a.Option,
		Value:         a.Value,
		Text:          a.Text,
		NotApplicable: a.NotApplicable,
		NAReason:      a.NAReason,
		Comment:       a.Comment,
		Sources:       a.Sources,
		Carried:       a.Carried,
		Changed:       a.Changed,
		Justification: a.Justification,
		Inapplicable:  a.Inapplicable,
		Version:       a.Version,
		UpdatedBy:     a.UpdatedBy,
		UpdatedAt:     a.UpdatedAt,
	}
}

// Build freezes in into a new snapshot: it copies and normalises the input
// (answers sorted by indicator, overrides by node, times in UTC truncated
// to milliseconds), scores the answers with c, and hashes the result.
// in.Nodes, in.Variants and in.Hash are ignored. in is not modified.
//
// Build refuses (ErrInvalid) what would make the frozen scores differ from
// what the answers say: an answer or override the engine would ignore, two
// answers to one indicator, two overrides of one node, an override outside
// 0..100. Callers check those earlier; here they are a bug, not a choice.
func Build(c *questionnaire.Compiled, in *Snapshot) (*Snapshot, error) {
	s := normalise(in)
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if s.Round == "" || s.Country == "" || s.Questionnaire == "" || s.Version == "" {
		add("round, country, questionnaire and version are required")
	}
	if s.Revision < 1 {
		add("revision %d: revisions start at 1", s.Revision)
	}
	if s.LockedAt.IsZero() {
		add("locked_at is required")
	}
	for i, a := range s.Answers {
		if i > 0 && a.Indicator == s.Answers[i-1].Indicator {
			add("answers: two answers to %s", a.Indicator)
		}
		// The engine only reports unknown codes of answers with a
		// response; an empty answer carrying review records is checked here.
		if _, ok := c.Indicator(a.Indicator); !ok && !hasResponse(&a) {
			add("answers: %s: unknown indicator", a.Indicator)
		}
	}
	for i := 1; i < len(s.Overrides); i++ {
		if s.Overrides[i].Node == s.Overrides[i-1].Node {
			add("overrides: %s overridden twice", s.Overrides[i].Node)
		}
	}
	for _, o := range s.Overrides {
		if math.IsNaN(o.Score) || o.Score < 0 || o.Score > 100 {
			add("overrides: %s: score %v is outside 0..100", o.Node, o.Score)
		}
	}
	res := c.Score(ScoringAnswers(s.Answers), ScoringOverrides(s.Overrides))
	for _, p := range res.Problems {
		add("%s", p.String())
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	s.Nodes, s.Variants = res.Nodes, res.Variants
	h, err := ComputeHash(s)
	if err != nil {
		return nil, err
	}
	s.Hash = h
	return s, nil
}

// ScoringAnswers turns frozen answers into the scoring engine's input. Every
// answer holding a response counts, flagged inapplicable or carried ones
// included, exactly as for live scores: skip logic reads what is there, and
// the engine itself leaves out what does not apply.
func ScoringAnswers(answers []Answer) questionnaire.Answers {
	out := make(questionnaire.Answers, 0, len(answers))
	for _, a := range answers {
		if !hasResponse(&a) {
			continue
		}
		out = append(out, questionnaire.Answer{Indicator: a.Indicator, Option: a.Option, Number: a.Value, Text: a.Text, NotApplicable: a.NotApplicable})
	}
	return out
}

// ScoringOverrides turns frozen overrides into the scoring engine's input.
func ScoringOverrides(overrides []Override) []questionnaire.Override {
	out := make([]questionnaire.Override, len(overrides))
	for i, o := range overrides {
		out[i] = questionnaire.Override{Node: o.Node, Score: o.Score, Reason: o.Reason}
	}
	return out
}

// normalise deep-copies the parts a caller could still change and puts
// them in canonical order, so that the built snapshot shares nothing with
// its input.
func normalise(in *Snapshot) *Snapshot {
	s := *in
	s.Nodes, s.Variants, s.Hash = nil, nil, ""
	s.LockedAt = canonicalTime(s.LockedAt)
	if in.Reopened != nil {
		r := *in.Reopened
		r.At = canonicalTime(r.At)
		s.Reopened = &r
	}
	s.Answers = make([]Answer, len(in.Answers))
	for i, a := range in.Answers {
		if a.Value != nil {
			v := *a.Value
			a.Value = &v
		}
		a.Sources = slices.Clone(a.Sources)
		a.UpdatedAt = canonicalTime(a.UpdatedAt)
		a.Comments = slices.Clone(a.Comments)
		for k := range a.Comments {
			a.Comments[k].At = canonicalTime(a.Comments[k].At)
		}
		a.Verdicts = slices.Clone(a.Verdicts)
		for k := range a.Verdicts {
			a.Verdicts[k].At = canonicalTime(a.Verdicts[k].At)
		}
		if a.Adjudication != nil {
			adj := *a.Adjudication
			adj.At = canonicalTime(adj.At)
			a.Adjudication = &adj
		}
		s.Answers[i] = a
	}
	slices.SortStableFunc(s.Answers, func(a, b Answer) int { return strings.Compare(a.Indicator, b.Indicator) })
	s.Overrides = slices.Clone(in.Overrides)
	for k := range s.Overrides {
		s.Overrides[k].At = canonicalTime(s.Overrides[k].At)
	}
	slices.SortStableFunc(s.Overrides, func(a, b Override) int { return strings.Compare(a.Node, b.Node) })
	return &s
}

func canonicalTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Millisecond)
}

func hasResponse(a *Answer) bool {
	return a.Option != "" || a.Value != nil || a.Text != "" || a.NotApplicable
}

package snapshot

import (
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/expertsurvey/expertsurvey/questionnaire"
)

// AnswerChange is one indicator whose answer differs between two
// snapshots.
type AnswerChange struct {
	Indicator string
	// Fields names what differs, with the names of the canonical form
	// ("option", "value", "sources", "verdicts", ...), in that form's order.
	Fields []string
	// Before and After are the two answers; nil on the side without one.
	Before, After *Answer
}

// ScoreChange is one node or variant scored on both sides.
type ScoreChange struct {
	// Node is the node code, or empty for a variant.
	Node string
	// Variant is the variant name, or empty for a node.
	Variant string
	// Before and After are the reported scores; nil when missing (or when
	// the node exists on one side only).
	Before, After *float64
	// Delta is After - Before when both are present.
	Delta *float64
}

// OverrideChange is one node whose override was added, removed or changed.
type OverrideChange struct {
	Node          string
	Before, After *Override
}

// Erratum is what a reopen and a new lock changed in one sheet: the
// changelog entry of a published correction.
type Erratum struct {
	Round, Country string
	From, To       int // revisions
	// Reason, By and At are those of the reopen that started the erratum
	// (the later snapshot's Reopened), when it has one.
	Reason string
	By     string
	At     time.Time
	// Answers lists the indicators whose answer changed in any way, sorted
	// by indicator code.
	Answers   []AnswerChange
	Overrides []OverrideChange
	// Scores lists the nodes (tree order of the later revision) and then
	// the variants whose reported score changed, appeared or disappeared.
	Scores []ScoreChange
}

// Diff lists what changed between two revisions of one sheet. It refuses
// snapshots of different sheets and a later revision that is not later.
func Diff(before, after *Snapshot) (*Erratum, error) {
	if before.Round != after.Round || before.Country != after.Country {
		return nil, fmt.Errorf("%w: diff of %s/%s against %s/%s: not the same sheet", ErrInvalid, before.Round, before.Country, after.Round, after.Country)
	}
	if after.Revision <= before.Revision {
		return nil, fmt.Errorf("%w: diff of revision %d against revision %d: not a later revision", ErrInvalid, before.Revision, after.Revision)
	}
	e := &Erratum{Round: after.Round, Country: after.Country, From: before.Revision, To: after.Revision}
	if r := after.Reopened; r != nil {
		e.Reason, e.By, e.At = r.Reason, r.By, r.At
	}
	e.Answers = answerChanges(before.Answers, after.Answers, answerFields)
	e.Overrides = overrideChanges(before.Overrides, after.Overrides)
	for _, c := range scoreChanges(before, after) {
		if !sameFloat(c.Before, c.After) {
			e.Scores = append(e.Scores, c)
		}
	}
	return e, nil
}

// Comparison sets one country's snapshots of two rounds side by side.
type Comparison struct {
	Country string
	// A and B name the two sides; empty when the country has no snapshot
	// in that round.
	RoundA, RoundB       string
	RevisionA, RevisionB int
	// Scores holds every node and variant of either side, matched by
	// code: the nodes in B's tree order followed by those only A has, then
	// the variants likewise. Before is A's score and After B's.
	Scores []ScoreChange
	// Changed lists the indicators whose response (option, value, text or
	// not applicable) differs, matched by indicator code. Sources and
	// comments are left out: a new round cites and explains anew even where
	// the law did not change.
	Changed []AnswerChange
}

// Compare sets a and b, one country's snapshots of two rounds, side by side.
// Either may be nil when the country is in one round only. Rounds may use
// different questionnaire versions: nodes and indicators are matched by
// code, which versions keep stable.
func Compare(a, b *Snapshot) *Comparison {
	c := &Comparison{}
	var aa, ba []Answer
	if a != nil {
		c.Country, c.RoundA, c.RevisionA, aa = a.Country, a.Round, a.Revision, a.Answers
	}
	if b != nil {
		c.Country, c.RoundB, c.RevisionB, ba = b.Country, b.Round, b.Revision, b.Answers
	}
	c.Scores = scoreChanges(a, b)
	c.Changed = answerChanges(aa, ba, responseFields)
	return c
}

// scoreChanges matches every node and variant of a and b (either may be
// nil) by code.
func scoreChanges(a, b *Snapshot) []ScoreChange {
	var an, bn []questionnaire.NodeScore
	var av, bv []questionnaire.VariantScore
	if a != nil {
		an, av = a.Nodes, a.Variants
	}
	if b != nil {
		bn, bv = b.Nodes, b.Variants
	}
	var out []ScoreChange
	aNode := make(map[string]*float64, len(an))
	for _, n := range an {
		aNode[n.Code] = n.Score
	}
	inB := make(map[string]bool, len(bn))
	for _, n := range bn {
		inB[n.Code] = true
		out = append(out, delta(ScoreChange{Node: n.Code, Before: aNode[n.Code], After: n.Score}))
	}
	for _, n := range an {
		if !inB[n.Code] {
			out = append(out, ScoreChange{Node: n.Code, Before: n.Score})
		}
	}
	aVar := make(map[string]*float64, len(av))
	for _, v := range av {
		aVar[v.Name] = v.Score
	}
	inBV := make(map[string]bool, len(bv))
	for _, v := range bv {
		inBV[v.Name] = true
		out = append(out, delta(ScoreChange{Variant: v.Name, Before: aVar[v.Name], After: v.Score}))
	}
	for _, v := range av {
		if !inBV[v.Name] {
			out = append(out, ScoreChange{Variant: v.Name, Before: v.Score})
		}
	}
	return out
}

func delta(c ScoreChange) ScoreChange {
	if c.Before != nil && c.After != nil {
		d := *c.After - *c.Before
		c.Delta = &d
	}
	return c
}

// field is one comparable part of an answer, named as in the canonical
// form.
type field struct {
	name  string
	value func(*Answer) any
}

// responseFields are what an answer says; answerFields everything an
// erratum reports. Version, updated_by and updated_at are left out: saving
// the same answer again is not a change.
var (
	responseFields = []field{
		{"option", func(a *Answer) any { return a.Option }},
		{"value", func(a *Answer) any { return floatDoc(a.Value) }},
		{"text", func(a *Answer) any { return a.Text }},
		{"not_applicable", func(a *Answer) any { return a.NotApplicable }},
	}
	answerFields = append(slices.Clone(responseFields), []field{
		{"na_reason", func(a *Answer) any { return a.NAReason }},
		{"comment", func(a *Answer) any { return a.Comment }},
		{"sources", func(a *Answer) any { return sourcesDoc(a) }},
		{"carried", func(a *Answer) any { return a.Carried }},
		{"changed", func(a *Answer) any { return a.Changed }},
		{"justification", func(a *Answer) any { return a.Justification }},
		{"inapplicable", func(a *Answer) any { return a.Inapplicable }},
		{"comments", func(a *Answer) any { return commentsDoc(a) }},
		{"verdicts", func(a *Answer) any { return verdictsDoc(a) }},
		{"adjudication", func(a *Answer) any { return adjudicationDoc(a) }},
	}...)
)

// answerChanges merges two lists by indicator code.
func answerChanges(before, after []Answer, fields []field) []AnswerChange {
	before, after = sortedByIndicator(before), sortedByIndicator(after)
	var out []AnswerChange
	var empty Answer
	i, j := 0, 0
	for i < len(before) || j < len(after) {
		var b, a *Answer
		switch {
		case j == len(after) || (i < len(before) && before[i].Indicator < after[j].Indicator):
			b = &before[i]
			i++
		case i == len(before) || after[j].Indicator < before[i].Indicator:
			a = &after[j]
			j++
		default:
			b, a = &before[i], &after[j]
			i++
			j++
		}
		// A missing side compares as an empty answer, so that an answer
		// appearing with no content is no change.
		x, y := b, a
		if x == nil {
			x = &empty
		}
		if y == nil {
			y = &empty
		}
		var changed []string
		for _, f := range fields {
			if canonicalString(f.value(x)) != canonicalString(f.value(y)) {
				changed = append(changed, f.name)
			}
		}
		if len(changed) > 0 {
			code := ""
			if b != nil {
				code = b.Indicator
			} else {
				code = a.Indicator
			}
			out = append(out, AnswerChange{Indicator: code, Fields: changed, Before: b, After: a})
		}
	}
	return out
}

func overrideChanges(before, after []Override) []OverrideChange {
	var out []OverrideChange
	find := func(list []Override, node string) *Override {
		for k := range list {
			if list[k].Node == node {
				return &list[k]
			}
		}
		return nil
	}
	same := func(x, y *Override) bool {
		return x.Score == y.Score && x.Reason == y.Reason
	}
	var nodes []string
	for _, o := range before {
		nodes = append(nodes, o.Node)
	}
	for _, o := range after {
		nodes = append(nodes, o.Node)
	}
	slices.Sort(nodes)
	nodes = slices.Compact(nodes)
	for _, n := range nodes {
		b, a := find(before, n), find(after, n)
		if b == nil || a == nil || !same(b, a) {
			out = append(out, OverrideChange{Node: n, Before: b, After: a})
		}
	}
	return out
}

// sortedByIndicator returns answers in indicator order: as given when
// they already are (Build leaves them so), else a sorted copy, so that a
// snapshot assembled by hand is never changed by a comparison.
func sortedByIndicator(answers []Answer) []Answer {
	cmp := func(a, b Answer) int { return strings.Compare(a.Indicator, b.Indicator) }
	if slices.IsSortedFunc(answers, cmp) {
		return answers
	}
	answers = slices.Clone(answers)
	slices.SortStableFunc(answers, cmp)
	return answers
}

// CompareRounds pairs the snapshots of two rounds by country and compares
// each pair, streaming: both iterators must yield their snapshots sorted
// by country code (each country once), and only the current pair is held.
// A country in one round only is compared against nil. An error from
// either iterator is yielded and ends the sequence; so does a sequence out
// of order, with ErrInvalid.
func CompareRounds(a, b iter.Seq2[*Snapshot, error]) iter.Seq2[*Comparison, error] {
	return func(yield func(*Comparison, error) bool) {
		nextA, stopA := iter.Pull2(a)
		defer stopA()
		nextB, stopB := iter.Pull2(b)
		defer stopB()
		var lastA, lastB string
		pull := func(next func() (*Snapshot, error, bool), last *string, side string) (*Snapshot, error) {
			s, err, ok := next()
			switch {
			case !ok:
				return nil, nil
			case err != nil:
				return nil, err
			case s == nil:
				return nil, fmt.Errorf("%w: round %s yielded no snapshot", ErrInvalid, side)
			case *last != "" && s.Country <= *last:
				return nil, fmt.Errorf("%w: round %s: country %s after %s: not sorted by country", ErrInvalid, side, s.Country, *last)
			}
			*last = s.Country
			return s, nil
		}
		sa, err := pull(nextA, &lastA, "a")
		if err != nil {
			yield(nil, err)
			return
		}
		sb, err := pull(nextB, &lastB, "b")
		if err != nil {
			yield(nil, err)
			return
		}
		for sa != nil || sb != nil {
			var pa, pb *Snapshot
			switch {
			case sb == nil || (sa != nil && sa.Country < sb.Country):
				pa = sa
			case sa == nil || sb.Country < sa.Country:
				pb = sb
			default:
				pa, pb = sa, sb
			}
			if !yield(Compare(pa, pb), nil) {
				return
			}
			if pa != nil {
				if sa, err = pull(nextA, &lastA, "a"); err != nil {
					yield(nil, err)
					return
				}
			}
			if pb != nil {
				if sb, err = pull(nextB, &lastB, "b"); err != nil {
					yield(nil, err)
					return
				}
			}
		}
	}
}

package questionnaire

import (
	"errors"
	"strings"
)

// Sentinel errors. Callers match them with errors.Is; the functions of this
// package wrap them with details.
var (
	// ErrInvalid marks a definition, answer or override that breaks the
	// rules of the instrument. A *ValidationError carries the details.
	ErrInvalid = errors.New("questionnaire: invalid")
	// ErrFormat marks a definition file that cannot be decoded or an
	// unsupported file format.
	ErrFormat = errors.New("questionnaire: bad definition file")
	// ErrPublished marks an attempt to change a published version, which is
	// immutable so that its scores stay recomputable.
	ErrPublished = errors.New("questionnaire: version is published")
)

// Text holds one text in several languages, keyed by language tag (BCP 47,
// e.g. "en", "fr", "pt-BR"). Language tags are safe as stored map keys.
type Text map[string]string

// In returns the text in lang, falling back to its base language ("pt" for
// "pt-BR") and then to def, the definition's default language, so that a
// missing translation shows the original instead of nothing.
func (t Text) In(lang, def string) string {
	if s := t[lang]; s != "" {
		return s
	}
	if base, _, ok := strings.Cut(lang, "-"); ok {
		if s := t[base]; s != "" {
			return s
		}
	}
	return t[def]
}

// Definition is the content of one questionnaire version. A published
// version's Definition never changes; a new version gets a new Definition
// in which indicators keep their codes so that Diff and carry-forward can
// match them.
type Definition struct {
	Code  string `json:"code" yaml:"code"`
	Title Text   `json:"title" yaml:"title"`
	// DefaultLanguage is the language every text must exist in; other
	// languages are translations and may be incomplete.
	DefaultLanguage string `json:"default_language" yaml:"default_language"`
	// Languages lists every language texts may use, the default included.
	// Empty means the default language only.
	Languages []string `json:"languages,omitempty" yaml:"languages,omitempty"`
	// Tree holds the top-level groups (policy areas).
	Tree []Node `json:"tree" yaml:"tree"`
	// Variants are the named overall scores, each over a subset of areas.
	Variants []Variant `json:"variants,omitempty" yaml:"variants,omitempty"`
}

// Node is one element of the tree: exactly one of Group and Indicator is
// set. The wrapper keeps the file format explicit about what each entry is
// and lets Go code use distinct types for groups and indicators.
type Node struct {
	Group     *Group     `json:"group,omitempty" yaml:"group,omitempty"`
	Indicator *Indicator `json:"indicator,omitempty" yaml:"indicator,omitempty"`
}

// Code returns the code of whichever element the node holds.
func (n Node) Code() string {
	switch {
	case n.Group != nil:
		return n.Group.Code
	case n.Indicator != nil:
		return n.Indicator.Code
	}
	return ""
}

// Group is an inner node: a policy area, a dimension, a composite, at any
// depth. Its Rule says how the children's scores combine.
type Group struct {
	// Code shares one namespace with indicator codes.
	Code string `json:"code" yaml:"code"`
	// Level is a free label for readers and reports ("area", "dimension",
	// "composite"); scoring ignores it.
	Level string `json:"level,omitempty" yaml:"level,omitempty"`
	Title Text   `json:"title" yaml:"title"`
	Rule  `yaml:",inline"`
	// Children are scored in this order; lookup rows refer to them by
	// position.
	Children []Node `json:"children" yaml:"children"`
}

// Aggregation names how a group combines its children's scores.
type Aggregation string

// Aggregations. The empty value means AggregateMean.
const (
	AggregateMean     Aggregation = "mean"
	AggregateWeighted Aggregation = "weighted"
	AggregateLookup   Aggregation = "lookup"
	AggregateMin      Aggregation = "min"
	AggregateMax      Aggregation = "max"
)

// MissingRule names what a group does with children that have no score.
type MissingRule string

// Missing rules. The empty value means MissingSkip on groups and
// MissingRequire on variants.
const (
	// MissingSkip drops missing children from the denominator.
	MissingSkip MissingRule = "skip"
	// MissingZero counts a missing child as 0.
	MissingZero MissingRule = "zero"
	// MissingRequire makes the node missing while any child is missing.
	MissingRequire MissingRule = "require"
)

// Rule is the aggregation of a group or a variant. Not-applicable children
// are always left out, whatever the missing rule: an indicator that does
// not apply to a country must neither help nor hurt its score.
type Rule struct {
	Aggregation Aggregation `json:"aggregation,omitempty" yaml:"aggregation,omitempty"`
	// Weights has one entry per child for AggregateWeighted; they sum to 1.
	Weights []Weight `json:"weights,omitempty" yaml:"weights,omitempty"`
	// Lookup is the table for AggregateLookup.
	Lookup  *Lookup     `json:"lookup,omitempty" yaml:"lookup,omitempty"`
	Missing MissingRule `json:"missing,omitempty" yaml:"missing,omitempty"`
	// MinPresent makes the node missing when fewer children have a score.
	// Zero means no minimum.
	MinPresent int       `json:"min_present,omitempty" yaml:"min_present,omitempty"`
	Rounding   *Rounding `json:"rounding,omitempty" yaml:"rounding,omitempty"`
}

// EffectiveAggregation returns the aggregation with its default applied.
func (r Rule) EffectiveAggregation() Aggregation {
	if r.Aggregation == "" {
		return AggregateMean
	}
	return r.Aggregation
}

// Weight is the fixed weight of one child (a child node's code, or an
// area's code in a variant). A list rather than a map keeps codes out of
// map keys.
type Weight struct {
	Child  string   `json:"child" yaml:"child"`
	Weight *float64 `json:"weight" yaml:"weight"`
}

// LookupBy names what a lookup table is keyed on.
type LookupBy string

// Lookup keys. The empty value means LookupByOption.
const (
	// LookupByOption keys rows on the children's answered option codes; the
	// children must be choice or yes/no indicators.
	LookupByOption LookupBy = "option"
	// LookupByScore keys rows on the children's scores; every child must
	// have a finite set of possible scores.
	LookupByScore LookupBy = "score"
)

// Lookup scores a composite case by case from its children's values.
type Lookup struct {
	By   LookupBy    `json:"by,omitempty" yaml:"by,omitempty"`
	Rows []LookupRow `json:"rows" yaml:"rows"`
	// Default scores combinations no row matches. Without it, every
	// combination of the children's possible values must match a row.
	Default *float64 `json:"default,omitempty" yaml:"default,omitempty"`
}

// AnyValue in a lookup row matches any value of that child, including a
// missing or not-applicable one; it is how a composite says "if A is no,
// B does not matter".
const AnyValue LookupKey = "*"

// LookupKey is one cell of a lookup row: an option code, a score written as
// a decimal number (for LookupByScore), or AnyValue.
type LookupKey string

// LookupRow maps one combination of children's values, in child order, to
// a score. The first matching row wins.
type LookupRow struct {
	When  []LookupKey `json:"when" yaml:"when"`
	Score *float64    `json:"score" yaml:"score"`
}

// RoundingMode names how ties are rounded.
type RoundingMode string

// Rounding modes. The empty value means RoundHalfUp.
const (
	// RoundHalfUp rounds ties away from zero (66.65 -> 66.7 at 1 decimal).
	RoundHalfUp RoundingMode = "half_up"
	// RoundHalfEven rounds ties to the even digit (66.65 -> 66.6).
	RoundHalfEven RoundingMode = "half_even"
)

// Rounding rounds a node's reported score. Ties are judged on the shortest
// decimal form of the score, as a person checking the numbers by hand would
// see them, not on its binary representation.
type Rounding struct {
	Decimals int          `json:"decimals" yaml:"decimals"`
	Mode     RoundingMode `json:"mode,omitempty" yaml:"mode,omitempty"`
	// ParentUsesRounded makes the parent aggregate the rounded score. By
	// default parents use the unrounded score, so that rounding errors do
	// not accumulate up the tree and rounding only affects what is shown.
	ParentUsesRounded bool `json:"parent_uses_rounded,omitempty" yaml:"parent_uses_rounded,omitempty"`
}

// AnswerType names the kind of answer an indicator takes.
type AnswerType string

// Answer types.
const (
	SingleChoice AnswerType = "single_choice"
	// YesNo has the options "yes" and "no"; scored 100 and 0 unless the
	// indicator lists them with other scores.
	YesNo      AnswerType = "yes_no"
	NumberType AnswerType = "number"
	// TextType answers are collected, never scored.
	TextType AnswerType = "text"
)

// Option codes of YesNo indicators.
const (
	OptionYes = "yes"
	OptionNo  = "no"
)

// Indicator is a leaf: one question an expert answers.
type Indicator struct {
	// Code is stable across versions; answers, carry-forward and Diff
	// match on it.
	Code     string     `json:"code" yaml:"code"`
	Title    Text       `json:"title" yaml:"title"`
	Question Text       `json:"question" yaml:"question"`
	Guidance Text       `json:"guidance,omitempty" yaml:"guidance,omitempty"`
	Type     AnswerType `json:"type" yaml:"type"`
	Options  []Option   `json:"options,omitempty" yaml:"options,omitempty"`
	Number   *Number    `json:"number,omitempty" yaml:"number,omitempty"`
	// Condition is the skip logic: without one the indicator always
	// applies.
	Condition      *Condition `json:"condition,omitempty" yaml:"condition,omitempty"`
	SourceRequired bool       `json:"source_required,omitempty" yaml:"source_required,omitempty"`
	// Scored false collects the answer without counting it in the parent's
	// score (lookups by option still read it). Nil means true, except for
	// text indicators, which are never scored.
	Scored   *bool     `json:"scored,omitempty" yaml:"scored,omitempty"`
	Rounding *Rounding `json:"rounding,omitempty" yaml:"rounding,omitempty"`
}

// IsScored reports whether the indicator's score counts in its parent.
func (ind *Indicator) IsScored() bool {
	if ind.Type == TextType {
		return false
	}
	return ind.Scored == nil || *ind.Scored
}

// Option is one choice of a choice indicator.
type Option struct {
	Code  string `json:"code" yaml:"code"`
	Label Text   `json:"label,omitempty" yaml:"label,omitempty"`
	// Score on 0..100; required when the indicator is scored, so that a
	// forgotten score is an error rather than a silent 0.
	Score *float64 `json:"score,omitempty" yaml:"score,omitempty"`
}

// NumberScoring names how a number answer becomes a score.
type NumberScoring string

// Number scorings. The empty value is allowed only on unscored indicators.
const (
	// ScoreByBands looks the value up in Number.Bands.
	ScoreByBands NumberScoring = "bands"
	// ScoreDirect takes the value itself as the 0..100 score.
	ScoreDirect NumberScoring = "direct"
)

// Number describes a number answer.
type Number struct {
	Unit Text `json:"unit,omitempty" yaml:"unit,omitempty"`
	// Min and Max bound accepted answers, inclusive. ScoreDirect implies
	// 0..100 and allows only narrower bounds.
	Min     *float64      `json:"min,omitempty" yaml:"min,omitempty"`
	Max     *float64      `json:"max,omitempty" yaml:"max,omitempty"`
	Scoring NumberScoring `json:"scoring,omitempty" yaml:"scoring,omitempty"`
	// Bands must cover the accepted range without gaps or overlaps.
	Bands []Band `json:"bands,omitempty" yaml:"bands,omitempty"`
}

// Band scores the number answers within its bounds. Each bound says its own
// inclusiveness: Min (value >= min) or Over (value > over) below, Max
// (value <= max) or Under (value < under) above; an absent side is
// unbounded. "At most 3 years -> 100, over 3 up to 5 -> 50, over 5 -> 0" is
// {max: 3}, {over: 3, max: 5}, {over: 5}.
type Band struct {
	Min   *float64 `json:"min,omitempty" yaml:"min,omitempty"`
	Over  *float64 `json:"over,omitempty" yaml:"over,omitempty"`
	Max   *float64 `json:"max,omitempty" yaml:"max,omitempty"`
	Under *float64 `json:"under,omitempty" yaml:"under,omitempty"`
	Score *float64 `json:"score" yaml:"score"`
}

// Condition is skip logic. Exactly one form is used: a test on one
// indicator (Indicator and In: it applies when that indicator is
// applicable and answered with one of the options In), AllOf or AnyOf.
type Condition struct {
	Indicator string      `json:"indicator,omitempty" yaml:"indicator,omitempty"`
	In        []string    `json:"in,omitempty" yaml:"in,omitempty"`
	AllOf     []Condition `json:"all_of,omitempty" yaml:"all_of,omitempty"`
	AnyOf     []Condition `json:"any_of,omitempty" yaml:"any_of,omitempty"`
}

// Variant is a named overall score over a subset of the top-level groups,
// e.g. "with_health" and "without_health".
type Variant struct {
	Name  string `json:"name" yaml:"name"`
	Title Text   `json:"title,omitempty" yaml:"title,omitempty"`
	// Areas are codes of top-level groups.
	Areas []string `json:"areas" yaml:"areas"`
	// Rule may not use AggregateLookup. Its missing rule defaults to
	// MissingRequire: an overall score is not published while an area is
	// missing.
	Rule `yaml:",inline"`
}

// Answer is one country's answer to one indicator, as the scoring engine
// sees it. Exactly one of Option, Number, Text and NotApplicable is set; an
// Answer with none of them is not answered.
type Answer struct {
	Indicator     string
	Option        string
	Number        *float64
	Text          string
	NotApplicable bool
}

func (a Answer) answered() bool {
	return a.NotApplicable || a.Option != "" || a.Number != nil || a.Text != ""
}

// Answers are one country's answers. A list rather than a map so that no
// indicator code ever becomes a map key by accident.
type Answers []Answer

// Override is a coordinator's decision replacing the computed score of an
// indicator or group.
type Override struct {
	Node   string
	Score  float64
	Reason string
}

// Problem is one thing wrong with a definition, answer or override. Path
// locates it in the file format (e.g. "tree[2].group.children[0].indicator.options[1].score");
// Code names the indicator, group or variant when known.
type Problem struct {
	Path    string `json:"path"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	s := p.Path
	if p.Code != "" {
		s += " (" + p.Code + ")"
	}
	if s == "" {
		return p.Message
	}
	return s + ": " + p.Message
}

// ValidationError carries every problem found at once, so that an author
// fixes a file in one pass. errors.Is(err, ErrInvalid) holds.
type ValidationError struct {
	Problems []Problem
	// Unreadable is set when part of the file could not be read as its format says (unknown
	// fields, values of the wrong type): the request is malformed, not only invalid, although
	// every problem of the file is still listed.
	Unreadable bool
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalid.Error())
	for i, p := range e.Problems {
		if i == 5 {
			b.WriteString("; and more")
			break
		}
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

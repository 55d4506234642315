package questionnaire

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const tolerance = 1e-9

// outcome is what a test expects of one node: a score, or a missing reason
// with the child that caused it.
type outcome struct {
	score  float64
	reason Reason
	child  string
}

func scored(v float64) outcome { return outcome{score: v} }

func missing(r Reason, child string) outcome { return outcome{reason: r, child: child} }

func checkNode(t *testing.T, res Result, code string, want outcome) {
	t.Helper()
	got, ok := res.Node(code)
	if !ok {
		t.Fatalf("no node %s in result", code)
	}
	checkScore(t, code, got.Score, got.Missing, want)
}

func checkVariant(t *testing.T, res Result, name string, want outcome) {
	t.Helper()
	got, ok := res.Variant(name)
	if !ok {
		t.Fatalf("no variant %s in result", name)
	}
	checkScore(t, name, got.Score, got.Missing, want)
}

func checkScore(t *testing.T, code string, score *float64, miss *Missing, want outcome) {
	t.Helper()
	switch {
	case want.reason == "" && score == nil:
		t.Errorf("%s: missing (%+v), want %v", code, miss, want.score)
	case want.reason == "" && math.Abs(*score-want.score) > tolerance:
		t.Errorf("%s: score %v, want %v", code, *score, want.score)
	case want.reason != "" && score != nil:
		t.Errorf("%s: score %v, want missing %s", code, *score, want.reason)
	case want.reason != "" && (miss == nil || miss.Reason != want.reason || miss.Child != want.child):
		t.Errorf("%s: missing %+v, want reason %s child %q", code, miss, want.reason, want.child)
	}
}

// TestScoreRealisticExample scores testdata/mini_index.yaml for one
// country; every expected number is worked out by hand below.
func TestScoreRealisticExample(t *testing.T) {
	c := mustCompile(t, loadExample(t))
	answers := Answers{
		ans("LMM_1", "partial"), // 50
		ans("LMM_2", "yes"),     // 100 (implied yes/no scores)
		num("LMM_3", 4),         // over 3, at most 5: 50
		ans("LMM_4", "75"),      // 75 on the 0/25/50/75/100 scale
		ans("LMM_5", "renewable"),
		ans("FR_1", "full"), // 100; FR_2 unanswered; FR_3 not applicable (FR_1 is not none)
		ans("FR_4", "yes"),
		ans("FR_5", "weak"),
		num("FR_6", 72.5),
		{Indicator: "FR_7", Text: "Reform announced for 2026."},
		notApplicable("H_1"),
		ans("H_2", "no"),  // 0
		ans("H_3", "yes"), // 100, overridden to 50
	}
	overrides := []Override{{Node: "H_3", Score: 50, Reason: "interpreters exist on paper only"}}
	res := c.Score(answers, overrides)

	for code, want := range map[string]outcome{
		// LMM_A = mean(50, 100, 50) = 200/3 = 66.666...
		"LMM_A": scored(200.0 / 3),
		// LMM_B = 0.25*75 + 0.75*67 = 18.75 + 50.25 = 69
		"LMM_B": scored(69),
		// LMM = mean(66.666..., 69) = 67.8333..., reported at 1 decimal: 67.8
		"LMM": scored(67.8),
		// FR_A: only FR_1 present, min_present 2; FR_2 is the first missing.
		"FR_A": missing(ReasonBelowMinPresent, "FR_2"),
		"FR_3": missing(ReasonNotApplicable, ""),
		// FR_B: row (yes, weak) -> 50; its children are collected, unscored.
		"FR_B": scored(50),
		"FR_4": missing(ReasonNotScored, ""),
		// FR_C = mean(72.5 direct); the text FR_7 never counts.
		"FR_C": scored(72.5),
		"FR_7": missing(ReasonNotScored, ""),
		// FR = mean(50, 72.5) = 61.25 (FR_A skipped), reported at 0 decimals: 61
		"FR": scored(61),
		// HEALTH = mean(0, 50): H_1 not applicable, H_3 overridden.
		"H_1":    missing(ReasonNotApplicable, ""),
		"H_3":    scored(50),
		"HEALTH": scored(25),
	} {
		checkNode(t, res, code, want)
	}
	// Parents use unrounded values: with_health = (67.8333... + 61.25 + 25)/3
	// = 154.0833.../3 = 51.3611... -> 51.4; without_health = 129.0833.../2
	// = 64.5416... -> 64.5.
	checkVariant(t, res, "with_health", scored(51.4))
	checkVariant(t, res, "without_health", scored(64.5))
	lmm, _ := res.Node("LMM")
	if math.Abs(*lmm.Unrounded-(200.0/3+69)/2) > tolerance {
		t.Errorf("LMM unrounded = %v", *lmm.Unrounded)
	}
	h3, _ := res.Node("H_3")
	if h3.Override == nil || h3.Override.Computed == nil || *h3.Override.Computed != 100 || h3.Override.Reason == "" {
		t.Errorf("H_3 override = %+v, want computed 100 with the reason", h3.Override)
	}
	if len(res.Problems) != 0 {
		t.Errorf("problems: %v", res.Problems)
	}

	// Without any health answer the overall with health is withheld
	// (variants require every area), the one without health is not.
	var noHealth Answers
	for _, a := range answers {
		if a.Indicator[0] != 'H' {
			noHealth = append(noHealth, a)
		}
	}
	res = c.Score(noHealth, nil)
	checkNode(t, res, "HEALTH", missing(ReasonNoChildPresent, "H_1"))
	checkVariant(t, res, "with_health", missing(ReasonRequiredChildMissing, "HEALTH"))
	checkVariant(t, res, "without_health", scored(64.5))

	// FR_4 = no makes FR_5 not applicable, and the row (no, *) still
	// scores the composite.
	res = c.Score(Answers{ans("FR_4", "no"), ans("FR_5", "strong")}, nil)
	checkNode(t, res, "FR_5", missing(ReasonNotScored, ""))
	checkNode(t, res, "FR_B", scored(0))
}

// threeChildren scores a group G of the 100/50/0 indicators A, B and C
// under rule r.
func threeChildren(t *testing.T, r Rule, answers Answers, overrides ...Override) Result {
	t.Helper()
	return mustCompile(t, definition(group("G", r, scale3("A"), scale3("B"), scale3("C")))).Score(answers, overrides)
}

func weights(a, b, c float64) []Weight {
	return []Weight{{Child: "A", Weight: &a}, {Child: "B", Weight: &b}, {Child: "C", Weight: &c}}
}

func TestScoreAggregationAndMissingRules(t *testing.T) {
	all := Answers{ans("A", "full"), ans("B", "partial"), ans("C", "none")} // 100, 50, 0
	bMissing := Answers{ans("A", "full"), ans("C", "partial")}              // 100, -, 50
	bNA := Answers{ans("A", "full"), notApplicable("B"), ans("C", "partial")}
	tests := []struct {
		name    string
		rule    Rule
		answers Answers
		want    outcome
	}{
		{"mean", Rule{}, all, scored(50)},
		{"mean skip", Rule{Missing: MissingSkip}, bMissing, scored(75)},
		{"mean zero", Rule{Missing: MissingZero}, bMissing, scored(50)},
		{"mean require", Rule{Missing: MissingRequire}, bMissing, missing(ReasonRequiredChildMissing, "B")},
		{"not applicable is skipped under zero", Rule{Missing: MissingZero}, bNA, scored(75)},
		{"not applicable is skipped under require", Rule{Missing: MissingRequire}, bNA, scored(75)},
		{"all not applicable", Rule{}, Answers{notApplicable("A"), notApplicable("B"), notApplicable("C")}, missing(ReasonNotApplicable, "")},
		{"nothing answered", Rule{}, nil, missing(ReasonNoChildPresent, "A")},
		{"nothing answered under zero", Rule{Missing: MissingZero}, nil, scored(0)},
		{"min_present met", Rule{MinPresent: 2}, bMissing, scored(75)},
		{"min_present not met", Rule{MinPresent: 2}, Answers{ans("A", "full")}, missing(ReasonBelowMinPresent, "B")},
		{"min_present with zero", Rule{MinPresent: 2, Missing: MissingZero}, Answers{ans("A", "full")}, missing(ReasonBelowMinPresent, "B")},
		// 0.5*100 + 0.3*50 + 0.2*0 = 65
		{"weighted", Rule{Aggregation: AggregateWeighted, Weights: weights(0.5, 0.3, 0.2)}, all, scored(65)},
		// (0.5*100 + 0.2*50) / (0.5+0.2) = 60/0.7
		{"weighted skip renormalises", Rule{Aggregation: AggregateWeighted, Weights: weights(0.5, 0.3, 0.2)}, bMissing, scored(60 / 0.7)},
		// 0.5*100 + 0.3*0 + 0.2*50 = 60
		{"weighted zero", Rule{Aggregation: AggregateWeighted, Missing: MissingZero, Weights: weights(0.5, 0.3, 0.2)}, bMissing, scored(60)},
		{"weighted require", Rule{Aggregation: AggregateWeighted, Missing: MissingRequire, Weights: weights(0.5, 0.3, 0.2)}, bMissing, missing(ReasonRequiredChildMissing, "B")},
		// Thirds written out sum to 1 within the tolerance.
		{"weighted thirds", Rule{Aggregation: AggregateWeighted, Weights: weights(0.3333333333, 0.3333333333, 0.3333333334)}, Answers{ans("A", "full"), ans("B", "full"), ans("C", "full")}, scored(100)},
		{"weighted only zero weight present", Rule{Aggregation: AggregateWeighted, Weights: weights(0, 0.5, 0.5)}, Answers{ans("A", "full")}, missing(ReasonNoChildPresent, "B")},
		{"min", Rule{Aggregation: AggregateMin}, all, scored(0)},
		{"max", Rule{Aggregation: AggregateMax}, all, scored(100)},
		{"min skip", Rule{Aggregation: AggregateMin}, bMissing, scored(50)},
		{"min zero", Rule{Aggregation: AggregateMin, Missing: MissingZero}, bMissing, scored(0)},
		{"max require", Rule{Aggregation: AggregateMax, Missing: MissingRequire}, bMissing, missing(ReasonRequiredChildMissing, "B")},
		{"invalid answer counts as missing", Rule{}, Answers{ans("A", "full"), ans("B", "maybe")}, scored(100)},
		{"invalid answer under require", Rule{Missing: MissingRequire}, Answers{ans("A", "full"), ans("B", "maybe"), ans("C", "full")}, missing(ReasonRequiredChildMissing, "B")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNode(t, threeChildren(t, tt.rule, tt.answers), "G", tt.want)
		})
	}
}

func TestScoreIndicatorReasons(t *testing.T) {
	res := threeChildren(t, Rule{}, Answers{ans("A", "maybe"), ans("B", "full"), ans("B", "none"), ans("X", "full")})
	checkNode(t, res, "A", missing(ReasonInvalidAnswer, ""))
	checkNode(t, res, "B", missing(ReasonInvalidAnswer, ""))
	checkNode(t, res, "C", missing(ReasonNotAnswered, ""))
	checkNode(t, res, "G", missing(ReasonNoChildPresent, "A"))
	if len(res.Problems) != 2 {
		t.Errorf("want problems for the duplicate and the unknown answer, got %v", res.Problems)
	}
}

func TestScoreOverrides(t *testing.T) {
	all := Answers{ans("A", "full"), ans("B", "partial"), ans("C", "none")}
	tests := []struct {
		name      string
		overrides []Override
		node      string
		want      outcome
		group     outcome
	}{
		{"indicator", []Override{{Node: "B", Score: 100, Reason: "x"}}, "B", scored(100), scored(200.0 / 3)},
		{"unanswered indicator", []Override{{Node: "C", Score: 100, Reason: "x"}}, "C", scored(100), scored(250.0 / 3)},
		{"group", []Override{{Node: "G", Score: 80, Reason: "x"}}, "G", scored(80), scored(80)},
		{"out of range", []Override{{Node: "B", Score: 150, Reason: "x"}}, "B", missing(ReasonInvalidOverride, ""), scored(50)},
		{"NaN", []Override{{Node: "G", Score: math.NaN(), Reason: "x"}}, "G", missing(ReasonInvalidOverride, ""), missing(ReasonInvalidOverride, "")},
		{"twice", []Override{{Node: "B", Score: 0, Reason: "x"}, {Node: "B", Score: 100, Reason: "y"}}, "B", missing(ReasonInvalidOverride, ""), scored(50)},
		{"unknown node", []Override{{Node: "Z", Score: 0, Reason: "x"}}, "B", scored(50), scored(50)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := threeChildren(t, Rule{}, all, tt.overrides...)
			checkNode(t, res, tt.node, tt.want)
			checkNode(t, res, "G", tt.group)
		})
	}
	res := threeChildren(t, Rule{}, all, Override{Node: "G", Score: 80, Reason: "errata 2"})
	g, _ := res.Node("G")
	want := &AppliedOverride{Computed: ptr(50.0), Reason: "errata 2"}
	if diff := cmp.Diff(want, g.Override); diff != "" {
		t.Errorf("G override (-want +got):\n%s", diff)
	}
}

func TestScoreLookup(t *testing.T) {
	lookup := func(lk *Lookup) *Compiled {
		return mustCompile(t, definition(group("L", Rule{Aggregation: AggregateLookup, Lookup: lk},
			yesNo("Y"),
			Node{Indicator: &Indicator{Code: "S", Title: en("S"), Question: en("S?"), Type: SingleChoice,
				Options:   []Option{opt("strong", 100), opt("weak", 0)},
				Condition: &Condition{Indicator: "Y", In: []string{"yes"}}}},
		)))
	}
	byOption := lookup(&Lookup{Rows: []LookupRow{
		{When: []LookupKey{"yes", "strong"}, Score: ptr(100.0)},
		{When: []LookupKey{"yes", "weak"}, Score: ptr(50.0)},
		{When: []LookupKey{"no", "*"}, Score: ptr(0.0)},
	}})
	partial := lookup(&Lookup{Rows: []LookupRow{{When: []LookupKey{"yes", "strong"}, Score: ptr(100.0)}}, Default: ptr(33.0)})
	byScore := lookup(&Lookup{By: LookupByScore, Rows: []LookupRow{
		{When: []LookupKey{"100", "100"}, Score: ptr(100.0)},
		{When: []LookupKey{"100", "0"}, Score: ptr(50.0)},
		{When: []LookupKey{"0", "*"}, Score: ptr(0.0)},
	}})
	tests := []struct {
		name      string
		c         *Compiled
		answers   Answers
		overrides []Override
		want      outcome
	}{
		{"by option", byOption, Answers{ans("Y", "yes"), ans("S", "weak")}, nil, scored(50)},
		{"wildcard covers not applicable", byOption, Answers{ans("Y", "no")}, nil, scored(0)},
		{"child missing", byOption, Answers{ans("Y", "yes")}, nil, missing(ReasonRequiredChildMissing, "S")},
		{"all missing", byOption, nil, nil, missing(ReasonRequiredChildMissing, "Y")},
		{"default", partial, Answers{ans("Y", "yes"), ans("S", "weak")}, nil, scored(33)},
		{"by score", byScore, Answers{ans("Y", "yes"), ans("S", "weak")}, nil, scored(50)},
		{"by score wildcard", byScore, Answers{ans("Y", "no")}, nil, scored(0)},
		// An override to a score the table does not know has nothing to match.
		{"by score, overridden child", byScore, Answers{ans("Y", "yes"), ans("S", "weak")}, []Override{{Node: "S", Score: 40, Reason: "x"}}, missing(ReasonLookupNoMatch, "")},
		// A lookup by option reads options, so the override of S changes nothing.
		{"by option, overridden child", byOption, Answers{ans("Y", "yes"), ans("S", "weak")}, []Override{{Node: "S", Score: 100, Reason: "x"}}, scored(50)},
		{"overridden composite", byOption, Answers{ans("Y", "yes"), ans("S", "weak")}, []Override{{Node: "L", Score: 75, Reason: "x"}}, scored(75)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNode(t, tt.c.Score(tt.answers, tt.overrides), "L", tt.want)
		})
	}
}

func TestScoreNumbers(t *testing.T) {
	d := definition(group("G", Rule{},
		Node{Indicator: &Indicator{Code: "BANDS", Title: en("x"), Question: en("x"), Type: NumberType,
			Number: &Number{Min: ptr(0.0), Scoring: ScoreByBands, Bands: []Band{
				{Max: ptr(3.0), Score: ptr(100.0)},
				{Over: ptr(3.0), Max: ptr(5.0), Score: ptr(50.0)},
				{Over: ptr(5.0), Score: ptr(0.0)},
			}}}},
		Node{Indicator: &Indicator{Code: "HALFOPEN", Title: en("x"), Question: en("x"), Type: NumberType,
			Number: &Number{Scoring: ScoreByBands, Bands: []Band{
				{Under: ptr(10.0), Score: ptr(0.0)},
				{Min: ptr(10.0), Score: ptr(100.0)},
			}}}},
		Node{Indicator: &Indicator{Code: "DIRECT", Title: en("x"), Question: en("x"), Type: NumberType,
			Number: &Number{Scoring: ScoreDirect}}},
	))
	c := mustCompile(t, d)
	tests := []struct {
		code  string
		value float64
		want  outcome
	}{
		{"BANDS", 0, scored(100)},
		{"BANDS", 3, scored(100)},
		{"BANDS", 3.0001, scored(50)},
		{"BANDS", 5, scored(50)},
		{"BANDS", 5.5, scored(0)},
		{"BANDS", 1e9, scored(0)},
		{"BANDS", -1, missing(ReasonInvalidAnswer, "")},
		{"BANDS", math.NaN(), missing(ReasonInvalidAnswer, "")},
		{"HALFOPEN", 9.999, scored(0)},
		{"HALFOPEN", 10, scored(100)},
		{"HALFOPEN", -1e9, scored(0)},
		{"DIRECT", 42.5, scored(42.5)},
		{"DIRECT", 0, scored(0)},
		{"DIRECT", 100, scored(100)},
		{"DIRECT", 100.01, missing(ReasonInvalidAnswer, "")},
		{"DIRECT", math.Inf(1), missing(ReasonInvalidAnswer, "")},
	}
	for _, tt := range tests {
		checkNode(t, c.Score(Answers{num(tt.code, tt.value)}, nil), tt.code, tt.want)
	}
}

func TestScoreUnscoredIndicators(t *testing.T) {
	d := definition(group("G", Rule{Missing: MissingRequire},
		scale3("A"),
		Node{Indicator: &Indicator{Code: "NOTE", Title: en("x"), Question: en("x"), Type: TextType}},
		Node{Indicator: &Indicator{Code: "INFO", Title: en("x"), Question: en("x"), Type: YesNo, Scored: ptr(false)}},
	))
	c := mustCompile(t, d)
	// Unscored children neither count nor block a require rule.
	res := c.Score(Answers{ans("A", "partial"), {Indicator: "NOTE", Text: "x"}, ans("INFO", "yes")}, nil)
	checkNode(t, res, "NOTE", missing(ReasonNotScored, ""))
	checkNode(t, res, "INFO", missing(ReasonNotScored, ""))
	checkNode(t, res, "G", scored(50))
	res = c.Score(Answers{ans("A", "full")}, nil)
	checkNode(t, res, "G", scored(100))
}

func TestScoreSkipLogic(t *testing.T) {
	d := definition(group("G", Rule{Missing: MissingZero},
		yesNo("HAS"),
		Node{Indicator: &Indicator{Code: "HOW", Title: en("x"), Question: en("x"), Type: SingleChoice,
			Options:   []Option{opt("good", 100), opt("bad", 0)},
			Condition: &Condition{Indicator: "HAS", In: []string{"yes"}}}},
	))
	c := mustCompile(t, d)
	// HAS = no: HOW does not apply, even though a stale answer exists,
	// and the zero rule does not count it.
	res := c.Score(Answers{ans("HAS", "no"), ans("HOW", "good")}, nil)
	checkNode(t, res, "HOW", missing(ReasonNotApplicable, ""))
	checkNode(t, res, "G", scored(0))
	res = c.Score(Answers{ans("HAS", "yes")}, nil)
	checkNode(t, res, "HOW", missing(ReasonNotAnswered, ""))
	checkNode(t, res, "G", scored(50))
	res = c.Score(Answers{ans("HAS", "yes"), ans("HOW", "good")}, nil)
	checkNode(t, res, "G", scored(100))
}

func TestScoreRounding(t *testing.T) {
	// G1 = mean(100, 50, 50) = 66.666...; P = mean(G1, D=100).
	build := func(r *Rounding) *Compiled {
		return mustCompile(t, definition(group("P", Rule{},
			group("G1", Rule{Rounding: r}, scale3("A"), scale3("B"), scale3("C")),
			scale3("D"),
		)))
	}
	answers := Answers{ans("A", "full"), ans("B", "partial"), ans("C", "partial"), ans("D", "full")}
	tests := []struct {
		name        string
		rounding    *Rounding
		g1, parentP float64
	}{
		{"none", nil, 200.0 / 3, (200.0/3 + 100) / 2},
		{"reported only", &Rounding{Decimals: 0}, 67, (200.0/3 + 100) / 2},
		{"parent uses rounded", &Rounding{Decimals: 0, ParentUsesRounded: true}, 67, (67.0 + 100) / 2},
		{"one decimal half even", &Rounding{Decimals: 1, Mode: RoundHalfEven, ParentUsesRounded: true}, 66.7, (66.7 + 100) / 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := build(tt.rounding).Score(answers, nil)
			checkNode(t, res, "G1", scored(tt.g1))
			checkNode(t, res, "P", scored(tt.parentP))
			g1, _ := res.Node("G1")
			if math.Abs(*g1.Unrounded-200.0/3) > tolerance {
				t.Errorf("G1 unrounded = %v", *g1.Unrounded)
			}
		})
	}
}

func TestRoundScore(t *testing.T) {
	tests := []struct {
		x        float64
		decimals int
		mode     RoundingMode
		want     float64
	}{
		{66.65, 1, RoundHalfUp, 66.7},
		{66.65, 1, RoundHalfEven, 66.6},
		{66.75, 1, RoundHalfEven, 66.8},
		{2.675, 2, RoundHalfUp, 2.68}, // 2.67499999... in binary, a tie on paper
		{2.665, 2, RoundHalfEven, 2.66},
		{0.5, 0, RoundHalfUp, 1},
		{0.5, 0, RoundHalfEven, 0},
		{1.5, 0, RoundHalfEven, 2},
		{2.5, 0, RoundHalfEven, 2},
		{2.5, 0, RoundHalfUp, 3},
		{99.95, 1, RoundHalfUp, 100},
		{99.5, 0, RoundHalfEven, 100},
		{12.3449, 2, RoundHalfUp, 12.34},
		{12.345000001, 2, RoundHalfEven, 12.35},
		{200.0 / 3, 1, RoundHalfUp, 66.7},
		{200.0 / 3, 0, RoundHalfUp, 67},
		{61.25, 0, RoundHalfUp, 61},
		{42, 2, RoundHalfUp, 42},
		{-2.5, 0, RoundHalfUp, -3},
		{1e-20, 2, RoundHalfUp, 0},
	}
	for _, tt := range tests {
		if got := roundScore(tt.x, tt.decimals, tt.mode); got != tt.want {
			t.Errorf("roundScore(%v, %d, %s) = %v, want %v", tt.x, tt.decimals, tt.mode, got, tt.want)
		}
	}
}

func TestScoreVariants(t *testing.T) {
	d := definition(
		group("A1", Rule{}, scale3("X1")),
		group("A2", Rule{}, scale3("X2")),
		group("A3", Rule{}, scale3("X3")),
	)
	w := func(a, b float64) []Weight { return []Weight{{Child: "A1", Weight: &a}, {Child: "A2", Weight: &b}} }
	d.Variants = []Variant{
		{Name: "mean", Areas: []string{"A1", "A2", "A3"}},
		{Name: "subset", Areas: []string{"A1", "A2"}},
		{Name: "weighted", Areas: []string{"A1", "A2"}, Rule: Rule{Aggregation: AggregateWeighted, Weights: w(0.25, 0.75)}},
		{Name: "min", Areas: []string{"A1", "A2", "A3"}, Rule: Rule{Aggregation: AggregateMin, Missing: MissingSkip}},
		{Name: "max", Areas: []string{"A1", "A2"}, Rule: Rule{Aggregation: AggregateMax}},
		{Name: "rounded", Areas: []string{"A1", "A2", "A3"}, Rule: Rule{Missing: MissingSkip, Rounding: &Rounding{Decimals: 1}}},
	}
	c := mustCompile(t, d)
	res := c.Score(Answers{ans("X1", "full"), ans("X2", "partial")}, nil)
	checkVariant(t, res, "mean", missing(ReasonRequiredChildMissing, "A3"))
	checkVariant(t, res, "subset", scored(75))
	checkVariant(t, res, "weighted", scored(62.5))
	checkVariant(t, res, "min", scored(50))
	checkVariant(t, res, "max", scored(100))
	checkVariant(t, res, "rounded", scored(75))
	res = c.Score(Answers{ans("X1", "full"), ans("X2", "partial"), ans("X3", "partial")}, nil)
	checkVariant(t, res, "mean", scored(200.0/3))
	checkVariant(t, res, "rounded", scored(66.7))
	if got := len(res.Variants); got != len(d.Variants) {
		t.Errorf("%d variants, want %d", got, len(d.Variants))
	}
}

func TestScoreIsDeterministicAndOrdered(t *testing.T) {
	c := mustCompile(t, loadExample(t))
	answers := Answers{ans("LMM_1", "full"), ans("NOPE", "x"), num("LMM_3", 7), ans("H_2", "yes")}
	first := c.Score(answers, []Override{{Node: "LMM", Score: 10, Reason: "x"}})
	for range 20 {
		if diff := cmp.Diff(first, c.Score(answers, []Override{{Node: "LMM", Score: 10, Reason: "x"}})); diff != "" {
			t.Fatalf("results differ:\n%s", diff)
		}
	}
	var codes []string
	for _, n := range first.Nodes {
		codes = append(codes, n.Code)
	}
	wantPrefix := []string{"LMM", "LMM_A", "LMM_1", "LMM_2", "LMM_3", "LMM_B", "LMM_4", "LMM_5", "FR"}
	if diff := cmp.Diff(wantPrefix, codes[:len(wantPrefix)]); diff != "" {
		t.Errorf("node order (-want +got):\n%s", diff)
	}
}

func TestCompileCopiesTheDefinition(t *testing.T) {
	d := definition(group("G", Rule{}, scale3("A")))
	c := mustCompile(t, d)
	d.Tree[0].Group.Children[0].Indicator.Options[0].Score = ptr(0.0)
	checkNode(t, c.Score(Answers{ans("A", "full")}, nil), "A", scored(100))
}

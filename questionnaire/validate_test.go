package questionnaire

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// validBase is a small valid definition every validation case breaks in
// one way: area A holds dimension D (I1 choice, I2 yes/no, I3 banded
// number) and composite L (lookup on I4 yes/no and I5 choice).
func validBase() *Definition {
	d := definition(
		group("A", Rule{},
			group("D", Rule{},
				scale3("I1"),
				yesNo("I2"),
				Node{Indicator: &Indicator{Code: "I3", Title: en("I3"), Question: en("I3?"), Type: NumberType,
					Number: &Number{Min: ptr(0.0), Max: ptr(50.0), Scoring: ScoreByBands, Bands: []Band{
						{Max: ptr(3.0), Score: ptr(100.0)},
						{Over: ptr(3.0), Max: ptr(5.0), Score: ptr(50.0)},
						{Over: ptr(5.0), Score: ptr(0.0)},
					}}}},
			),
			group("L", Rule{Aggregation: AggregateLookup, Lookup: &Lookup{Rows: []LookupRow{
				{When: []LookupKey{"yes", "strong"}, Score: ptr(100.0)},
				{When: []LookupKey{"yes", "weak"}, Score: ptr(50.0)},
				{When: []LookupKey{"no", AnyValue}, Score: ptr(0.0)},
			}}},
				yesNo("I4"),
				choice("I5", opt("strong", 100), opt("weak", 0)),
			),
		),
	)
	d.Languages = []string{"en", "fr"}
	d.Variants = []Variant{{Name: "overall", Areas: []string{"A"}}}
	return d
}

// Accessors into validBase, so that cases read as what they break.
func baseArea(d *Definition) *Group           { return d.Tree[0].Group }
func baseDim(d *Definition) *Group            { return baseArea(d).Children[0].Group }
func baseLookup(d *Definition) *Group         { return baseArea(d).Children[1].Group }
func baseInd(d *Definition, i int) *Indicator { return baseDim(d).Children[i].Indicator }
func baseBands(d *Definition) []Band          { return baseInd(d, 2).Number.Bands }

func TestValidateBaseIsValid(t *testing.T) {
	if ps := validBase().Validate(); len(ps) != 0 {
		t.Fatalf("validBase has problems: %v", ps)
	}
	if ps := loadExample(t).Validate(); len(ps) != 0 {
		t.Fatalf("mini_index.yaml has problems: %v", ps)
	}
}

func TestValidateProblems(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(d *Definition)
		wantPath string
		wantMsg  string
	}{
		{"empty definition code", func(d *Definition) { d.Code = "" }, "code", "must not be empty"},
		{"no tree", func(d *Definition) { d.Tree = nil; d.Variants = nil }, "tree", "at least one group"},
		{"duplicate indicator code", func(d *Definition) { baseInd(d, 1).Code = "I1" },
			"tree[0].group.children[0].group.children[1].indicator.code", "duplicate code"},
		{"group and indicator share a namespace", func(d *Definition) { baseInd(d, 0).Code = "D" },
			"tree[0].group.children[0].group.children[0].indicator.code", "duplicate code"},
		{"empty indicator code", func(d *Definition) { baseInd(d, 0).Code = "" },
			"tree[0].group.children[0].group.children[0].indicator.code", "must not be empty"},
		{"empty group code", func(d *Definition) { baseDim(d).Code = "" }, "tree[0].group.children[0].group.code", "must not be empty"},
		{"code with a space", func(d *Definition) { baseInd(d, 0).Code = "I 1" },
			"tree[0].group.children[0].group.children[0].indicator.code", "spaces"},
		{"score above 100", func(d *Definition) { baseInd(d, 0).Options[1].Score = ptr(150.0) },
			"tree[0].group.children[0].group.children[0].indicator.options[1].score", "outside 0..100"},
		{"negative score", func(d *Definition) { baseInd(d, 0).Options[2].Score = ptr(-1.0) },
			"tree[0].group.children[0].group.children[0].indicator.options[2].score", "outside 0..100"},
		{"missing option score", func(d *Definition) { baseInd(d, 0).Options[0].Score = nil },
			"tree[0].group.children[0].group.children[0].indicator.options[0].score", "missing score"},
		{"choice without options", func(d *Definition) { baseInd(d, 0).Options = nil },
			"tree[0].group.children[0].group.children[0].indicator.options", "at least two options"},
		{"duplicate option code", func(d *Definition) { baseInd(d, 0).Options[2].Code = "full" },
			"tree[0].group.children[0].group.children[0].indicator.options[2].code", "duplicate option code"},
		{"missing option label", func(d *Definition) { baseInd(d, 0).Options[0].Label = nil },
			"tree[0].group.children[0].group.children[0].indicator.options[0].label", "default language"},
		{"yes_no with other options", func(d *Definition) {
			baseInd(d, 1).Options = []Option{opt("yes", 100), opt("maybe", 50)}
		}, "tree[0].group.children[0].group.children[1].indicator.options", "exactly"},
		{"bands overlap", func(d *Definition) { baseBands(d)[1].Over, baseBands(d)[1].Min = nil, ptr(3.0) },
			"tree[0].group.children[0].group.children[2].indicator.number.bands[1]", "overlaps bands[0]"},
		{"bands leave a gap", func(d *Definition) { baseBands(d)[1].Over = ptr(4.0) },
			"tree[0].group.children[0].group.children[2].indicator.number.bands", "between 3 and 4"},
		{"bands leave a point", func(d *Definition) { baseBands(d)[0].Max, baseBands(d)[0].Under = nil, ptr(3.0) },
			"tree[0].group.children[0].group.children[2].indicator.number.bands", "the value 3"},
		{"bands miss the top", func(d *Definition) { baseBands(d)[2].Max = ptr(20.0) },
			"tree[0].group.children[0].group.children[2].indicator.number.bands", "between 20 and 50"},
		{"band outside the range", func(d *Definition) {
			baseInd(d, 2).Number.Bands = append(baseBands(d), Band{Over: ptr(60.0), Score: ptr(0.0)})
		}, "tree[0].group.children[0].group.children[2].indicator.number.bands[3]", "outside the accepted range"},
		{"band with min and over", func(d *Definition) { baseBands(d)[1].Min = ptr(3.0) },
			"tree[0].group.children[0].group.children[2].indicator.number.bands[1]", "not both"},
		{"empty band", func(d *Definition) {
			baseInd(d, 2).Number.Bands = append(baseBands(d), Band{Min: ptr(10.0), Under: ptr(10.0), Score: ptr(0.0)})
		}, "tree[0].group.children[0].group.children[2].indicator.number.bands[3]", "empty band"},
		{"band score out of range", func(d *Definition) { baseBands(d)[0].Score = ptr(101.0) },
			"tree[0].group.children[0].group.children[2].indicator.number.bands[0].score", "outside 0..100"},
		{"min above max", func(d *Definition) { baseInd(d, 2).Number.Min = ptr(60.0) },
			"tree[0].group.children[0].group.children[2].indicator.number", "min 60 is greater than max 50"},
		{"scored number without scoring", func(d *Definition) { baseInd(d, 2).Number.Scoring = ""; baseInd(d, 2).Number.Bands = nil },
			"tree[0].group.children[0].group.children[2].indicator.number.scoring", "bands or direct"},
		{"direct scoring beyond 100", func(d *Definition) {
			baseInd(d, 2).Number = &Number{Scoring: ScoreDirect, Max: ptr(120.0)}
		}, "tree[0].group.children[0].group.children[2].indicator.number.max", "within 0..100"},
		{"unknown answer type", func(d *Definition) { baseInd(d, 1).Type = "multiple_choice" },
			"tree[0].group.children[0].group.children[1].indicator.type", "unknown answer type"},
		{"scored text", func(d *Definition) { baseInd(d, 1).Type = TextType; baseInd(d, 1).Scored = ptr(true) },
			"tree[0].group.children[0].group.children[1].indicator.scored", "never scored"},
		{"condition on an unknown indicator", func(d *Definition) {
			baseInd(d, 1).Condition = &Condition{Indicator: "NOPE", In: []string{"full"}}
		}, "tree[0].group.children[0].group.children[1].indicator.condition.indicator", `unknown indicator "NOPE"`},
		{"condition on an unknown option", func(d *Definition) {
			baseInd(d, 1).Condition = &Condition{Indicator: "I1", In: []string{"maybe"}}
		}, "tree[0].group.children[0].group.children[1].indicator.condition.in[0]", `no option "maybe"`},
		{"condition on itself", func(d *Definition) {
			baseInd(d, 1).Condition = &Condition{Indicator: "I2", In: []string{"yes"}}
		}, "tree[0].group.children[0].group.children[1].indicator.condition.indicator", "its own indicator"},
		{"condition on a number", func(d *Definition) {
			baseInd(d, 1).Condition = &Condition{Indicator: "I3", In: []string{"1"}}
		}, "tree[0].group.children[0].group.children[1].indicator.condition.indicator", "single_choice and yes_no"},
		{"condition with two forms", func(d *Definition) {
			baseInd(d, 1).Condition = &Condition{Indicator: "I1", In: []string{"full"}, AnyOf: []Condition{{Indicator: "I1", In: []string{"none"}}}}
		}, "tree[0].group.children[0].group.children[1].indicator.condition", "exactly one of"},
		{"empty condition", func(d *Definition) { baseInd(d, 1).Condition = &Condition{} },
			"tree[0].group.children[0].group.children[1].indicator.condition", "empty condition"},
		{"condition cycle", func(d *Definition) {
			baseInd(d, 0).Condition = &Condition{AllOf: []Condition{{Indicator: "I2", In: []string{"yes"}}}}
			baseInd(d, 1).Condition = &Condition{Indicator: "I1", In: []string{"full"}}
		}, "tree[0].group.children[0].group.children[0].indicator.condition", "cycle: I1 -> I2 -> I1"},
		{"lookup misses a combination", func(d *Definition) { baseLookup(d).Lookup.Rows = baseLookup(d).Lookup.Rows[:2] },
			"tree[0].group.children[1].group.lookup.rows", "no row matches (I4=no, I5=strong)"},
		{"lookup score out of range", func(d *Definition) { baseLookup(d).Lookup.Rows[0].Score = ptr(200.0) },
			"tree[0].group.children[1].group.lookup.rows[0].score", "outside 0..100"},
		{"lookup default out of range", func(d *Definition) { baseLookup(d).Lookup.Default = ptr(-5.0) },
			"tree[0].group.children[1].group.lookup.default", "outside 0..100"},
		{"lookup row of the wrong length", func(d *Definition) { baseLookup(d).Lookup.Rows[0].When = []LookupKey{"yes"} },
			"tree[0].group.children[1].group.lookup.rows[0].when", "1 values for 2 children"},
		{"lookup row with an unknown option", func(d *Definition) { baseLookup(d).Lookup.Rows[0].When[1] = "medium" },
			"tree[0].group.children[1].group.lookup.rows[0].when[1]", `never has the value "medium"`},
		{"lookup on a number", func(d *Definition) {
			baseLookup(d).Children[1] = Node{Indicator: &Indicator{Code: "I5", Title: en("I5"), Question: en("?"), Type: NumberType, Number: &Number{Scoring: ScoreDirect}}}
		}, "tree[0].group.children[1].group.lookup", "lookup by option needs single_choice or yes_no"},
		{"lookup by score on a mean", func(d *Definition) {
			baseLookup(d).Lookup = &Lookup{By: LookupByScore, Default: nil, Rows: []LookupRow{{When: []LookupKey{"*", "*"}, Score: ptr(1.0)}}}
			baseLookup(d).Children[1] = group("M", Rule{}, scale3("I5"))
		}, "tree[0].group.children[1].group.lookup", "not a finite set"},
		{"lookup without table", func(d *Definition) { baseLookup(d).Lookup = nil },
			"tree[0].group.children[1].group.lookup", "needs a lookup table"},
		{"lookup with zero rule", func(d *Definition) { baseLookup(d).Missing = MissingZero },
			"tree[0].group.children[1].group.missing", "zero does not apply"},
		{"weights missing", func(d *Definition) {
			baseDim(d).Aggregation = AggregateWeighted
			baseDim(d).Weights = []Weight{{Child: "I1", Weight: ptr(0.5)}, {Child: "I2", Weight: ptr(0.5)}}
		}, "tree[0].group.children[0].group.weights", `missing weight for child "I3"`},
		{"weight without value", func(d *Definition) {
			baseDim(d).Aggregation = AggregateWeighted
			baseDim(d).Weights = []Weight{{Child: "I1", Weight: ptr(0.5)}, {Child: "I2", Weight: ptr(0.5)}, {Child: "I3"}}
		}, "tree[0].group.children[0].group.weights[2].weight", "missing weight"},
		{"negative weight", func(d *Definition) {
			baseDim(d).Aggregation = AggregateWeighted
			baseDim(d).Weights = []Weight{{Child: "I1", Weight: ptr(1.5)}, {Child: "I2", Weight: ptr(-0.5)}, {Child: "I3", Weight: ptr(0.0)}}
		}, "tree[0].group.children[0].group.weights[1].weight", "non-negative"},
		{"weights do not sum to 1", func(d *Definition) {
			baseDim(d).Aggregation = AggregateWeighted
			baseDim(d).Weights = []Weight{{Child: "I1", Weight: ptr(0.5)}, {Child: "I2", Weight: ptr(0.3)}, {Child: "I3", Weight: ptr(0.3)}}
		}, "tree[0].group.children[0].group.weights", "sum to 1.1"},
		{"weight for an unknown child", func(d *Definition) {
			baseDim(d).Aggregation = AggregateWeighted
			baseDim(d).Weights = []Weight{{Child: "I1", Weight: ptr(0.5)}, {Child: "I2", Weight: ptr(0.25)}, {Child: "I3", Weight: ptr(0.25)}, {Child: "X", Weight: ptr(0.0)}}
		}, "tree[0].group.children[0].group.weights[3].child", `unknown child "X"`},
		{"weights on a mean", func(d *Definition) { baseDim(d).Weights = []Weight{{Child: "I1", Weight: ptr(1.0)}} },
			"tree[0].group.children[0].group.weights", "only by aggregation weighted"},
		{"empty group", func(d *Definition) { baseDim(d).Children = nil },
			"tree[0].group.children[0].group.children", "at least one child"},
		{"group of unscored children", func(d *Definition) {
			for i := range baseDim(d).Children {
				baseInd(d, i).Scored = ptr(false)
			}
		}, "tree[0].group.children[0].group.children", "no scored children"},
		{"unknown aggregation", func(d *Definition) { baseDim(d).Aggregation = "median" },
			"tree[0].group.children[0].group.aggregation", `unknown aggregation "median"`},
		{"unknown missing rule", func(d *Definition) { baseDim(d).Missing = "ignore" },
			"tree[0].group.children[0].group.missing", `unknown missing rule "ignore"`},
		{"min_present above the children", func(d *Definition) { baseDim(d).MinPresent = 4 },
			"tree[0].group.children[0].group.min_present", "exceeds the 3 children"},
		{"rounding decimals", func(d *Definition) { baseDim(d).Rounding = &Rounding{Decimals: 11} },
			"tree[0].group.children[0].group.rounding.decimals", "outside 0..10"},
		{"rounding mode", func(d *Definition) { baseDim(d).Rounding = &Rounding{Mode: "bankers"} },
			"tree[0].group.children[0].group.rounding.mode", "unknown rounding mode"},
		{"variant on an unknown area", func(d *Definition) { d.Variants[0].Areas = []string{"A", "B"} },
			"variants[0].areas[1]", `unknown top-level group "B"`},
		{"variant on a dimension", func(d *Definition) { d.Variants[0].Areas = []string{"D"} },
			"variants[0].areas[0]", `unknown top-level group "D"`},
		{"variant with lookup", func(d *Definition) { d.Variants[0].Aggregation = AggregateLookup },
			"variants[0].aggregation", "not available for variants"},
		{"duplicate variant", func(d *Definition) { d.Variants = append(d.Variants, d.Variants[0]) },
			"variants[1].name", "duplicate variant name"},
		{"missing default-language title", func(d *Definition) { baseInd(d, 0).Title = Text{"fr": "Accès"} },
			"tree[0].group.children[0].group.children[0].indicator.title", `default language "en"`},
		{"missing group title", func(d *Definition) { baseArea(d).Title = nil },
			"tree[0].group.title", `default language "en"`},
		{"unknown language", func(d *Definition) { baseInd(d, 0).Question["de"] = "Zugang?" },
			"tree[0].group.children[0].group.children[0].indicator.question.de", `unknown language "de"`},
		{"languages without the default", func(d *Definition) { d.Languages = []string{"fr"}; d.Title["fr"] = "x" },
			"languages", "must include the default language"},
		{"no default language", func(d *Definition) { d.DefaultLanguage = "" }, "default_language", "must not be empty"},
		{"top-level indicator", func(d *Definition) { d.Tree = append(d.Tree, scale3("TOP")) },
			"tree[1]", "top-level nodes must be groups"},
		{"node with both", func(d *Definition) {
			baseDim(d).Children[0].Group = &Group{Code: "X", Title: en("X"), Children: []Node{scale3("Y")}}
		},
			"tree[0].group.children[0].group.children[0]", "not both"},
		{"empty node", func(d *Definition) { baseDim(d).Children = append(baseDim(d).Children, Node{}) },
			"tree[0].group.children[0].group.children[3]", "empty node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validBase()
			tt.mutate(d)
			ps := d.Validate()
			found := slices.ContainsFunc(ps, func(p Problem) bool {
				return p.Path == tt.wantPath && strings.Contains(p.Message, tt.wantMsg)
			})
			if !found {
				t.Errorf("want a problem at %s containing %q; got:\n%s", tt.wantPath, tt.wantMsg, problemList(ps))
			}
			_, err := d.Compile()
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Compile: got %v, want ErrInvalid", err)
			}
		})
	}
}

func problemList(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	d := validBase()
	d.Code = ""
	baseInd(d, 0).Options[0].Score = ptr(101.0)
	baseDim(d).Aggregation = "median"
	d.Variants[0].Areas = []string{"Z"}
	ps := d.Validate()
	for _, want := range []string{"code", "tree[0].group.children[0].group.children[0].indicator.options[0].score",
		"tree[0].group.children[0].group.aggregation", "variants[0].areas[0]"} {
		if !slices.ContainsFunc(ps, func(p Problem) bool { return p.Path == want }) {
			t.Errorf("no problem at %s; got:\n%s", want, problemList(ps))
		}
	}
	// The same definition yields the same problems in the same order.
	if again := d.Validate(); !slices.Equal(ps, again) {
		t.Error("Validate is not deterministic")
	}
}

func TestValidateProblemCarriesCode(t *testing.T) {
	d := validBase()
	baseInd(d, 0).Options[0].Score = ptr(101.0)
	ps := d.Validate()
	if len(ps) != 1 || ps[0].Code != "I1" {
		t.Fatalf("got %v, want one problem with code I1", ps)
	}
}

func TestValidateAcceptsScales(t *testing.T) {
	for _, scores := range [][]float64{{100, 50, 0}, {0, 25, 50, 75, 100}, {0, 33, 67, 100}, {0, 33.33, 66.67, 100}} {
		opts := make([]Option, len(scores))
		for i, s := range scores {
			opts[i] = opt(string(rune('a'+i)), s)
		}
		d := definition(group("A", Rule{}, choice("I", opts...)))
		if ps := d.Validate(); len(ps) != 0 {
			t.Errorf("scale %v: %v", scores, ps)
		}
	}
}

func TestValidateLookupByScoreCoverage(t *testing.T) {
	// Children: a 100/50/0 choice and a min over two yes/no indicators
	// (outcomes 0 and 100): 3 x 2 combinations.
	lk := &Lookup{By: LookupByScore, Rows: []LookupRow{
		{When: []LookupKey{"100", "*"}, Score: ptr(100.0)},
		{When: []LookupKey{"50", "100"}, Score: ptr(75.0)},
		{When: []LookupKey{"0", "*"}, Score: ptr(0.0)},
	}}
	d := definition(group("A", Rule{Aggregation: AggregateLookup, Lookup: lk},
		scale3("I1"),
		group("M", Rule{Aggregation: AggregateMin}, yesNo("Y1"), yesNo("Y2")),
	))
	ps := d.Validate()
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "no row matches (I1=50, M=0)") {
		t.Fatalf("got:\n%s", problemList(ps))
	}
	lk.Default = ptr(25.0)
	if ps := d.Validate(); len(ps) != 0 {
		t.Fatalf("with a default: %v", ps)
	}
}

func TestCheckAnswer(t *testing.T) {
	d := loadExample(t)
	c := mustCompile(t, d)
	tests := []struct {
		name    string
		code    string
		answer  Answer
		wantMsg string // empty: no problem
	}{
		{"option", "LMM_1", ans("LMM_1", "full"), ""},
		{"yes", "LMM_2", ans("", "yes"), ""},
		{"not applicable", "LMM_1", notApplicable("LMM_1"), ""},
		{"number in range", "LMM_3", num("LMM_3", 4), ""},
		{"text", "FR_7", Answer{Text: "see the law"}, ""},
		{"unknown indicator", "NOPE", ans("NOPE", "full"), "unknown indicator"},
		{"group code", "LMM", ans("LMM", "full"), "unknown indicator"},
		{"unknown option", "LMM_1", ans("LMM_1", "maybe"), `unknown option "maybe"`},
		{"yes_no with other option", "LMM_2", ans("LMM_2", "full"), "unknown option"},
		{"number below min", "LMM_3", num("LMM_3", -1), "outside the accepted range"},
		{"number above max", "LMM_3", num("LMM_3", 51), "outside the accepted range"},
		{"direct above 100", "FR_6", num("FR_6", 100.5), "outside the accepted range"},
		{"option for a number", "LMM_3", ans("LMM_3", "full"), "takes a number"},
		{"number for a choice", "LMM_1", num("LMM_1", 1), "takes an option"},
		{"empty", "LMM_1", Answer{}, "no value"},
		{"two values", "LMM_1", Answer{Option: "full", NotApplicable: true}, "exactly one"},
		{"other indicator", "LMM_1", ans("LMM_2", "full"), `for "LMM_2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, got := range [][]Problem{c.CheckAnswer(tt.code, tt.answer), d.CheckAnswer(tt.code, tt.answer)} {
				if tt.wantMsg == "" {
					if len(got) != 0 {
						t.Errorf("got %v, want none", got)
					}
					continue
				}
				if !slices.ContainsFunc(got, func(p Problem) bool { return strings.Contains(p.Message, tt.wantMsg) }) {
					t.Errorf("got %v, want one containing %q", got, tt.wantMsg)
				}
			}
		})
	}
}

func TestApplicable(t *testing.T) {
	d := definition(group("A", Rule{},
		scale3("Q1"),
		yesNo("Q2"),
		Node{Indicator: &Indicator{Code: "LEAF", Title: en("x"), Question: en("x"), Type: YesNo,
			Condition: &Condition{Indicator: "Q1", In: []string{"full", "partial"}}}},
		Node{Indicator: &Indicator{Code: "ALL", Title: en("x"), Question: en("x"), Type: YesNo,
			Condition: &Condition{AllOf: []Condition{{Indicator: "Q1", In: []string{"full"}}, {Indicator: "Q2", In: []string{"yes"}}}}}},
		Node{Indicator: &Indicator{Code: "ANY", Title: en("x"), Question: en("x"), Type: YesNo,
			Condition: &Condition{AnyOf: []Condition{{Indicator: "Q1", In: []string{"none"}}, {Indicator: "Q2", In: []string{"yes"}}}}}},
		Node{Indicator: &Indicator{Code: "CHAIN", Title: en("x"), Question: en("x"), Type: YesNo,
			Condition: &Condition{Indicator: "LEAF", In: []string{"yes"}}}},
	))
	c := mustCompile(t, d)
	tests := []struct {
		name    string
		code    string
		answers Answers
		want    bool
	}{
		{"no condition", "Q1", nil, true},
		{"leaf holds", "LEAF", Answers{ans("Q1", "partial")}, true},
		{"leaf fails", "LEAF", Answers{ans("Q1", "none")}, false},
		{"leaf on unanswered", "LEAF", nil, false},
		{"leaf on not applicable", "LEAF", Answers{notApplicable("Q1")}, false},
		{"all_of holds", "ALL", Answers{ans("Q1", "full"), ans("Q2", "yes")}, true},
		{"all_of fails", "ALL", Answers{ans("Q1", "full"), ans("Q2", "no")}, false},
		{"any_of first", "ANY", Answers{ans("Q1", "none"), ans("Q2", "no")}, true},
		{"any_of second", "ANY", Answers{ans("Q2", "yes")}, true},
		{"any_of neither", "ANY", Answers{ans("Q1", "full"), ans("Q2", "no")}, false},
		{"chain holds", "CHAIN", Answers{ans("Q1", "full"), ans("LEAF", "yes")}, true},
		// LEAF's stale answer does not count once LEAF stops applying.
		{"chain broken upstream", "CHAIN", Answers{ans("Q1", "none"), ans("LEAF", "yes")}, false},
		{"unknown code", "NOPE", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Applicable(tt.code, tt.answers); got != tt.want {
				t.Errorf("Compiled.Applicable = %v, want %v", got, tt.want)
			}
			if got := d.Applicable(tt.code, tt.answers); got != tt.want {
				t.Errorf("Definition.Applicable = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestApplicableOnCyclicDraftTerminates(t *testing.T) {
	d := definition(group("A", Rule{},
		Node{Indicator: &Indicator{Code: "X", Type: YesNo, Condition: &Condition{Indicator: "Y", In: []string{"yes"}}}},
		Node{Indicator: &Indicator{Code: "Y", Type: YesNo, Condition: &Condition{Indicator: "X", In: []string{"yes"}}}},
	))
	if d.Applicable("X", Answers{ans("X", "yes"), ans("Y", "yes")}) {
		t.Error("an indicator on a condition cycle applied")
	}
}

func TestCheckOverrides(t *testing.T) {
	c := mustCompile(t, loadExample(t))
	tests := []struct {
		name     string
		override Override
		wantMsg  string
	}{
		{"indicator", Override{Node: "LMM_1", Score: 50, Reason: "court ruling"}, ""},
		{"group", Override{Node: "LMM_A", Score: 80, Reason: "errata"}, ""},
		{"unknown node", Override{Node: "NOPE", Score: 50, Reason: "x"}, "unknown node"},
		{"score out of range", Override{Node: "LMM_1", Score: 101, Reason: "x"}, "outside 0..100"},
		{"no reason", Override{Node: "LMM_1", Score: 50}, "needs a reason"},
		{"unscored", Override{Node: "FR_7", Score: 50, Reason: "x"}, "not scored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.CheckOverrides([]Override{tt.override})
			if tt.wantMsg == "" {
				if len(got) != 0 {
					t.Errorf("got %v, want none", got)
				}
				return
			}
			if !slices.ContainsFunc(got, func(p Problem) bool { return strings.Contains(p.Message, tt.wantMsg) }) {
				t.Errorf("got %v, want one containing %q", got, tt.wantMsg)
			}
		})
	}
	lookupChild := mustCompile(t, validBase()).CheckOverrides([]Override{{Node: "I4", Score: 50, Reason: "x"}})
	if len(lookupChild) != 1 || !strings.Contains(lookupChild[0].Message, `override "L" instead`) {
		t.Errorf("child of an option lookup: got %v", lookupChild)
	}
	got := c.CheckOverrides([]Override{{Node: "LMM_1", Score: 1, Reason: "a"}, {Node: "LMM_1", Score: 2, Reason: "b"}})
	if len(got) != 1 || !strings.Contains(got[0].Message, "already overridden") {
		t.Errorf("duplicate: got %v", got)
	}
}

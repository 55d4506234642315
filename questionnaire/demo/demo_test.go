package demo_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/questionnaire/demo"
)

func TestDefinitionIsValid(t *testing.T) {
	d, err := questionnaire.DecodeDefinition(bytes.NewReader(demo.YAML()), questionnaire.FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	if ps := d.Validate(); len(ps) > 0 {
		t.Fatalf("demo.yaml has %d problems: %v", len(ps), &questionnaire.ValidationError{Problems: ps})
	}
	if _, err := demo.Definition().Compile(); err != nil {
		t.Fatal(err)
	}
}

func TestDefinitionReturnsCopies(t *testing.T) {
	a := demo.Definition()
	a.Tree[0].Group.Code = "changed"
	if b := demo.Definition(); b.Tree[0].Group.Code == "changed" {
		t.Error("a caller's change leaked into the next Definition")
	}
	y := demo.YAML()
	y[0] = '!'
	if demo.YAML()[0] == '!' {
		t.Error("a caller's change leaked into the next YAML")
	}
}

// instrument is the demo flattened for the requirement checks.
type instrument struct {
	areas      []*questionnaire.Group
	groups     []*questionnaire.Group
	indicators []*questionnaire.Indicator
	texts      map[string]questionnaire.Text // by where the text sits
}

func flatten(d *questionnaire.Definition) instrument {
	in := instrument{texts: map[string]questionnaire.Text{"title": d.Title}}
	var walk func(nodes []questionnaire.Node)
	walk = func(nodes []questionnaire.Node) {
		for _, n := range nodes {
			if g := n.Group; g != nil {
				in.groups = append(in.groups, g)
				in.texts[g.Code+".title"] = g.Title
				walk(g.Children)
				continue
			}
			ind := n.Indicator
			in.indicators = append(in.indicators, ind)
			in.texts[ind.Code+".title"] = ind.Title
			in.texts[ind.Code+".question"] = ind.Question
			in.texts[ind.Code+".guidance"] = ind.Guidance
			if ind.Number != nil {
				in.texts[ind.Code+".unit"] = ind.Number.Unit
			}
			for _, o := range ind.Options {
				in.texts[ind.Code+".options."+o.Code+".label"] = o.Label
			}
		}
	}
	for _, n := range d.Tree {
		in.areas = append(in.areas, n.Group)
	}
	walk(d.Tree)
	for _, v := range d.Variants {
		in.texts["variant "+v.Name+".title"] = v.Title
	}
	return in
}

func scores(ind *questionnaire.Indicator) []float64 {
	var out []float64
	for _, o := range ind.Options {
		if o.Score != nil {
			out = append(out, *o.Score)
		}
	}
	slices.Sort(out)
	return out
}

// TestDefinitionMeetsTheBrief checks every feature the demo exists to
// show, so that an edit of demo.yaml cannot drop one unnoticed.
func TestDefinitionMeetsTheBrief(t *testing.T) {
	d := demo.Definition()
	in := flatten(d)
	count := func(pred func(*questionnaire.Indicator) bool) int {
		n := 0
		for _, ind := range in.indicators {
			if pred(ind) {
				n++
			}
		}
		return n
	}
	anyGroup := func(pred func(*questionnaire.Group) bool) bool { return slices.ContainsFunc(in.groups, pred) }
	choices := count(func(ind *questionnaire.Indicator) bool { return len(ind.Options) > 0 && ind.IsScored() })

	tests := []struct {
		name string
		ok   bool
		got  any
	}{
		{"8 policy areas", len(in.areas) == 8, len(in.areas)},
		{"2 or 3 dimensions in each area", !slices.ContainsFunc(in.areas, func(a *questionnaire.Group) bool {
			return len(a.Children) < 2 || len(a.Children) > 3 || slices.ContainsFunc(a.Children, func(n questionnaire.Node) bool { return n.Group == nil })
		}), nil},
		{"at least 40 indicators", len(in.indicators) >= 40, len(in.indicators)},
		{"mostly 100/50/0 options", 2*count(func(ind *questionnaire.Indicator) bool {
			return ind.IsScored() && slices.Equal(scores(ind), []float64{0, 50, 100}) && ind.Type == questionnaire.SingleChoice
		}) > choices, choices},
		{"a 5-level scale", count(func(ind *questionnaire.Indicator) bool {
			return slices.Equal(scores(ind), []float64{0, 25, 50, 75, 100})
		}) >= 1, nil},
		{"a number scored by bands", count(func(ind *questionnaire.Indicator) bool {
			return ind.Type == questionnaire.NumberType && ind.Number.Scoring == questionnaire.ScoreByBands && len(ind.Number.Bands) >= 3
		}) >= 1, nil},
		{"a lookup composite over unscored children", anyGroup(func(g *questionnaire.Group) bool {
			return g.Aggregation == questionnaire.AggregateLookup && !slices.ContainsFunc(g.Children, func(n questionnaire.Node) bool {
				return n.Indicator == nil || n.Indicator.IsScored()
			})
		}), nil},
		{"a weighted group", anyGroup(func(g *questionnaire.Group) bool { return g.Aggregation == questionnaire.AggregateWeighted }), nil},
		{"skip logic", count(func(ind *questionnaire.Indicator) bool { return ind.Condition != nil }) >= 1, nil},
		{"a text indicator", count(func(ind *questionnaire.Indicator) bool { return ind.Type == questionnaire.TextType }) >= 1, nil},
		{"source required on most indicators", 2*count(func(ind *questionnaire.Indicator) bool { return ind.SourceRequired }) > len(in.indicators), nil},
		{"English by default, and French", d.DefaultLanguage == "en" && slices.Equal(d.Languages, []string{"en", "fr"}), d.Languages},
		{"two variants", len(d.Variants) == 2, len(d.Variants)},
	}
	for _, tt := range tests {
		if !tt.ok {
			t.Errorf("demo lacks %s (got %v)", tt.name, tt.got)
		}
	}

	for where, text := range in.texts {
		for _, lang := range []string{"en", "fr"} {
			if text[lang] == "" {
				t.Errorf("%s has no %s text", where, lang)
			}
		}
	}
	for _, ind := range in.indicators {
		if ind.Guidance == nil {
			t.Errorf("%s has no guidance", ind.Code)
		}
	}

	allAreas := make([]string, len(in.areas))
	for i, a := range in.areas {
		allAreas[i] = a.Code
	}
	for _, v := range d.Variants {
		want := allAreas
		if v.Name == "without_health" {
			want = slices.DeleteFunc(slices.Clone(allAreas), func(code string) bool { return code == "HEALTH" })
		} else if v.Name != "with_health" {
			t.Errorf("unexpected variant %q", v.Name)
		}
		if !slices.Equal(v.Areas, want) {
			t.Errorf("variant %s covers %v, want %v", v.Name, v.Areas, want)
		}
	}
}

func TestAnswersAreCompleteAndValid(t *testing.T) {
	c, err := demo.Definition().Compile()
	if err != nil {
		t.Fatal(err)
	}
	all := demo.Answers()
	if got := demo.Countries(); len(got) < 4 || !slices.Equal(got, sortedKeys(all)) {
		t.Errorf("Countries() = %v, want the %d countries of Answers", got, len(all))
	}
	excluded := 0
	for _, country := range demo.Countries() {
		answers := all[country]
		t.Run(country, func(t *testing.T) {
			byCode := map[string]questionnaire.Answer{}
			for _, a := range answers {
				if _, dup := byCode[a.Indicator]; dup {
					t.Errorf("two answers to %s", a.Indicator)
				}
				byCode[a.Indicator] = a
				for _, p := range c.CheckAnswer(a.Indicator, a) {
					t.Errorf("answer %+v: %v", a, p)
				}
			}
			for _, code := range c.IndicatorCodes() {
				a, ok := byCode[code]
				switch applicable := c.Applicable(code, answers); {
				case !ok:
					t.Errorf("%s is not answered", code)
				case applicable && a.NotApplicable:
					t.Errorf("%s applies but is marked not applicable", code)
				case !applicable && !a.NotApplicable:
					t.Errorf("%s does not apply but has an answer", code)
				case !applicable:
					excluded++
				}
			}
		})
	}
	if excluded == 0 {
		t.Error("no demo country shows skip logic excluding an indicator")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestEveryCountryScoresEveryAreaAndVariant(t *testing.T) {
	d := demo.Definition()
	c, err := d.Compile()
	if err != nil {
		t.Fatal(err)
	}
	for country, answers := range demo.Answers() {
		res := c.Score(answers, nil)
		if len(res.Problems) > 0 {
			t.Errorf("%s: %v", country, res.Problems)
		}
		var missing []string
		for _, area := range d.Tree {
			if n, ok := res.Node(area.Code()); !ok || n.Score == nil {
				missing = append(missing, fmt.Sprintf("area %s (%+v)", area.Code(), n.Missing))
			}
		}
		for _, v := range d.Variants {
			if s, ok := res.Variant(v.Name); !ok || s.Score == nil {
				missing = append(missing, "variant "+v.Name)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s has no score for %v", country, missing)
		}
	}
}

package questionnaire

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fuzzBytes turns fuzz input into decisions; past the end it answers 0, so
// every input, even empty, builds something.
type fuzzBytes struct {
	data []byte
	pos  int
}

func (b *fuzzBytes) byte() byte {
	if b.pos >= len(b.data) {
		return 0
	}
	b.pos++
	return b.data[b.pos-1]
}

func (b *fuzzBytes) intn(n int) int { return int(b.byte()) % n }

func (b *fuzzBytes) chance(percent int) bool { return b.intn(100) < percent }

// fuzzScores are the scale steps of real indices plus off-scale values.
var fuzzScores = []float64{0, 25, 33, 50, 67, 75, 100, 33.33, 66.67, 12.5}

// fuzzInstrument builds a random instrument that is valid by construction
// most of the time; the rest exercises Validate on odd shapes.
type fuzzInstrument struct {
	src        *fuzzBytes
	seq        int
	indicators []*Indicator
	nodes      []string
}

func (f *fuzzInstrument) code(prefix string) string {
	f.seq++
	code := fmt.Sprintf("%s%d", prefix, f.seq)
	f.nodes = append(f.nodes, code)
	return code
}

func (f *fuzzInstrument) indicator() *Indicator {
	src := f.src
	ind := &Indicator{Code: f.code("I"), Title: en("t"), Question: en("q")}
	switch src.intn(6) {
	case 0, 1:
		ind.Type = SingleChoice
		for k := range 2 + src.intn(4) {
			ind.Options = append(ind.Options, opt(fmt.Sprintf("o%d", k), fuzzScores[src.intn(len(fuzzScores))]))
		}
	case 2:
		ind.Type = YesNo
	case 3:
		ind.Type = NumberType
		ind.Number = &Number{Min: ptr(0.0), Scoring: ScoreByBands, Bands: []Band{
			{Max: ptr(3.0), Score: ptr(fuzzScores[src.intn(len(fuzzScores))])},
			{Over: ptr(3.0), Under: ptr(10.0), Score: ptr(50.0)},
			{Min: ptr(10.0), Score: ptr(0.0)},
		}}
	case 4:
		ind.Type = NumberType
		ind.Number = &Number{Scoring: ScoreDirect}
	case 5:
		ind.Type = TextType
	}
	if ind.Type != TextType && src.chance(10) {
		ind.Scored = ptr(false)
	}
	// Conditions refer to earlier indicators only, so they cannot cycle.
	if len(f.indicators) > 0 && src.chance(30) {
		ref := f.indicators[src.intn(len(f.indicators))]
		if opts := effectiveOptions(ref); ref.Type != NumberType && ref.Type != TextType && len(opts) > 0 {
			leaf := Condition{Indicator: ref.Code, In: []string{opts[src.intn(len(opts))].Code}}
			switch src.intn(3) {
			case 0:
				ind.Condition = &leaf
			case 1:
				ind.Condition = &Condition{AllOf: []Condition{leaf}}
			case 2:
				ind.Condition = &Condition{AnyOf: []Condition{leaf, leaf}}
			}
		}
	}
	f.indicators = append(f.indicators, ind)
	return ind
}

func (f *fuzzInstrument) group(depth int) *Group {
	src := f.src
	g := &Group{Code: f.code("G"), Title: en("g")}
	for range 1 + src.intn(4) {
		if depth < 3 && src.chance(35) {
			g.Children = append(g.Children, Node{Group: f.group(depth + 1)})
		} else {
			g.Children = append(g.Children, Node{Indicator: f.indicator()})
		}
	}
	if !slices.ContainsFunc(g.Children, func(n Node) bool { return n.Group != nil || n.Indicator.IsScored() }) {
		ind := f.indicator()
		ind.Type, ind.Options, ind.Number, ind.Scored = YesNo, nil, nil, nil
		g.Children = append(g.Children, Node{Indicator: ind})
	}
	var scoredKids []string
	choiceOnly := true
	for _, ch := range g.Children {
		if ch.Group != nil || ch.Indicator.IsScored() {
			scoredKids = append(scoredKids, ch.Code())
		}
		if ch.Indicator == nil || (ch.Indicator.Type != SingleChoice && ch.Indicator.Type != YesNo) {
			choiceOnly = false
		}
	}
	switch src.intn(6) {
	case 0:
		g.Aggregation = AggregateWeighted
		left := 1.0
		for k, code := range scoredKids {
			w := left / float64(len(scoredKids)-k)
			if k == len(scoredKids)-1 {
				w = left
			}
			left -= w
			g.Weights = append(g.Weights, Weight{Child: code, Weight: ptr(w)})
		}
	case 1:
		g.Aggregation = AggregateMin
	case 2:
		g.Aggregation = AggregateMax
	case 3:
		if choiceOnly {
			g.Aggregation = AggregateLookup
			g.Lookup = &Lookup{Default: ptr(fuzzScores[src.intn(len(fuzzScores))])}
			for range src.intn(4) {
				row := LookupRow{Score: ptr(fuzzScores[src.intn(len(fuzzScores))])}
				for _, ch := range g.Children {
					opts := effectiveOptions(ch.Indicator)
					if src.chance(25) {
						row.When = append(row.When, AnyValue)
					} else {
						row.When = append(row.When, LookupKey(opts[src.intn(len(opts))].Code))
					}
				}
				if !slices.ContainsFunc(g.Lookup.Rows, func(r LookupRow) bool { return slices.Equal(r.When, row.When) }) {
					g.Lookup.Rows = append(g.Lookup.Rows, row)
				}
			}
		}
	}
	if g.Aggregation != AggregateLookup {
		g.Missing = []MissingRule{"", MissingSkip, MissingZero, MissingRequire}[src.intn(4)]
	}
	if src.chance(20) {
		g.MinPresent = src.intn(len(scoredKids) + 1)
	}
	if src.chance(30) {
		g.Rounding = &Rounding{Decimals: src.intn(3), Mode: []RoundingMode{RoundHalfUp, RoundHalfEven}[src.intn(2)], ParentUsesRounded: src.chance(50)}
	}
	return g
}

func (f *fuzzInstrument) definition() *Definition {
	d := &Definition{Code: "fuzz", Title: en("fuzz"), DefaultLanguage: "en"}
	var areas []string
	for range 1 + f.src.intn(3) {
		g := f.group(0)
		areas = append(areas, g.Code)
		d.Tree = append(d.Tree, Node{Group: g})
	}
	for k := range f.src.intn(3) {
		v := Variant{Name: fmt.Sprintf("v%d", k)}
		for _, a := range areas {
			if f.src.chance(70) {
				v.Areas = append(v.Areas, a)
			}
		}
		if len(v.Areas) == 0 {
			v.Areas = areas[:1]
		}
		v.Aggregation = []Aggregation{AggregateMean, AggregateMin, AggregateMax}[f.src.intn(3)]
		v.Missing = []MissingRule{"", MissingSkip, MissingZero, MissingRequire}[f.src.intn(4)]
		d.Variants = append(d.Variants, v)
	}
	return d
}

func (f *fuzzInstrument) answers() Answers {
	src := f.src
	var as Answers
	for _, ind := range f.indicators {
		a := Answer{Indicator: ind.Code}
		switch src.intn(10) {
		case 0:
			continue
		case 1:
			a.NotApplicable = true
		case 2:
			a.Option = "bogus"
		case 3:
			a.Number = ptr([]float64{-1, 3, 3.5, 10, 1e308, math.NaN(), math.Inf(-1), 100, 101}[src.intn(9)])
		case 4:
			a.Text = "text"
		default:
			if opts := effectiveOptions(ind); len(opts) > 0 {
				a.Option = opts[src.intn(len(opts))].Code
			} else {
				a.Number = ptr(float64(src.intn(120)))
			}
		}
		as = append(as, a)
		if src.chance(3) {
			as = append(as, a)
		}
	}
	if src.chance(10) {
		as = append(as, Answer{Indicator: "UNKNOWN", Option: "x"})
	}
	return as
}

func (f *fuzzInstrument) overrides() []Override {
	var os []Override
	for range f.src.intn(3) {
		if len(f.nodes) == 0 {
			break
		}
		os = append(os, Override{
			Node:   f.nodes[f.src.intn(len(f.nodes))],
			Score:  []float64{0, 50, 100, -1, 101, math.NaN()}[f.src.intn(6)],
			Reason: "fuzz",
		})
	}
	return os
}

// FuzzScore builds random instruments, answers and overrides and checks
// the engine's promises: no panic, every score a number within 0..100 or
// missing with a reason, the same input giving the same output.
func FuzzScore(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("expert survey"))
	f.Add([]byte{3, 200, 17, 4, 99, 250, 1, 0, 33, 66, 100, 7, 8, 9, 10, 11, 12, 13})
	f.Fuzz(func(t *testing.T, data []byte) {
		gen := &fuzzInstrument{src: &fuzzBytes{data: data}}
		d := gen.definition()
		answers, overrides := gen.answers(), gen.overrides()
		_ = d.Validate()
		c, err := d.Compile()
		if err != nil {
			// Drafts answer CheckAnswer and Applicable without compiling.
			for _, a := range answers {
				_ = d.CheckAnswer(a.Indicator, a)
				_ = d.Applicable(a.Indicator, answers)
			}
			return
		}
		res := c.Score(answers, overrides)
		checkResult(t, c, res)
		if diff := cmp.Diff(res, c.Score(answers, overrides)); diff != "" {
			t.Fatalf("same input, different output:\n%s", diff)
		}
	})
}

func checkResult(t *testing.T, c *Compiled, res Result) {
	t.Helper()
	if len(res.Nodes) != len(c.nodes) {
		t.Fatalf("%d node scores for %d nodes", len(res.Nodes), len(c.nodes))
	}
	check := func(name string, score, unrounded *float64, miss *Missing) {
		if (score == nil) == (miss == nil) || (score == nil) != (unrounded == nil) {
			t.Fatalf("%s: score %v, unrounded %v, missing %v: want a score or a reason", name, score, unrounded, miss)
		}
		if miss != nil && miss.Reason == "" {
			t.Fatalf("%s: missing without a reason", name)
		}
		for _, v := range []*float64{score, unrounded} {
			if v != nil && (math.IsNaN(*v) || *v < 0 || *v > 100) {
				t.Fatalf("%s: score %v outside 0..100", name, *v)
			}
		}
	}
	for _, n := range res.Nodes {
		check(n.Code, n.Score, n.Unrounded, n.Missing)
	}
	for _, v := range res.Variants {
		check(v.Name, v.Score, v.Unrounded, v.Missing)
	}
}

// TestFuzzInstrumentsMostlyCompile keeps FuzzScore honest: if the generator
// drifted into building invalid instruments, the fuzzer would only ever
// exercise Validate.
func TestFuzzInstrumentsMostlyCompile(t *testing.T) {
	compiled := 0
	const runs = 300
	for i := range runs {
		data := make([]byte, 256)
		for k := range data {
			data[k] = byte((i*7919 + k*104729 + k*k*31) >> 3)
		}
		gen := &fuzzInstrument{src: &fuzzBytes{data: data}}
		d := gen.definition()
		c, err := d.Compile()
		if err != nil {
			t.Logf("run %d: %v", i, err)
			continue
		}
		compiled++
		checkResult(t, c, c.Score(gen.answers(), gen.overrides()))
	}
	if compiled < runs*8/10 {
		t.Errorf("only %d of %d generated instruments compile", compiled, runs)
	}
}

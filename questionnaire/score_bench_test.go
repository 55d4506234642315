// Figures on the 2-core development machine (Intel Xeon, linux/amd64,
// Go 1.26), one core:
//
//	go test -run '^$' -bench . -benchmem -count 3 -cpu 1 ./questionnaire/
//
//	BenchmarkScoreRound  51  22847209 ns/op  114236 ns/country  34040341 B/op   2238 allocs/op
//	BenchmarkScoreRound  48  22855744 ns/op  114279 ns/country  34040340 B/op   2238 allocs/op
//	BenchmarkScoreRound  51  23221172 ns/op  116106 ns/country  34040340 B/op   2238 allocs/op
//	BenchmarkCompile    138   8563814 ns/op                      3575033 B/op  47633 allocs/op
//
// A whole round (200 countries x 500 indicators in a 4-level tree, about
// 630 nodes) scores some 40 times inside the target of 1 s, and allocates
// a sixth of the 200 MB budget; nearly all of it is the per-country result
// and working state, which lives only as long as the caller keeps it.

package questionnaire

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// syntheticInstrument builds 500 indicators in a 4-level tree: 5 areas of
// 5 dimensions of 5 sub-dimensions of 4 indicators, mixing every answer
// type, scale and aggregation a real index uses.
func syntheticInstrument() *Definition {
	d := &Definition{Code: "bench", Title: en("Bench"), DefaultLanguage: "en"}
	var areas []string
	n := 0
	for a := range 5 {
		area := &Group{Code: fmt.Sprintf("A%d", a), Title: en("area"), Rule: Rule{Rounding: &Rounding{Decimals: 0}}}
		areas = append(areas, area.Code)
		for dm := range 5 {
			dim := &Group{Code: fmt.Sprintf("A%dD%d", a, dm), Title: en("dimension"), Rule: Rule{Aggregation: AggregateWeighted}}
			for s := range 5 {
				sub := &Group{Code: fmt.Sprintf("A%dD%dS%d", a, dm, s), Title: en("sub-dimension")}
				for i := range 4 {
					code := fmt.Sprintf("I%03d", n)
					var ind *Indicator
					switch n % 5 {
					case 0:
						ind = scale3(code).Indicator
					case 1:
						ind = choice(code, opt("a", 0), opt("b", 25), opt("c", 50), opt("d", 75), opt("e", 100)).Indicator
					case 2:
						ind = yesNo(code).Indicator
						if i > 0 {
							prev := sub.Children[i-1].Indicator
							ind.Condition = &Condition{Indicator: prev.Code, In: []string{effectiveOptions(prev)[0].Code}}
						}
					case 3:
						ind = choice(code, opt("a", 0), opt("b", 33), opt("c", 67), opt("d", 100)).Indicator
					case 4:
						ind = &Indicator{Code: code, Title: en("n"), Question: en("n?"), Type: NumberType, Number: &Number{
							Min: ptr(0.0), Scoring: ScoreByBands, Bands: []Band{
								{Max: ptr(3.0), Score: ptr(100.0)},
								{Over: ptr(3.0), Max: ptr(5.0), Score: ptr(50.0)},
								{Over: ptr(5.0), Score: ptr(0.0)},
							}}}
					}
					sub.Children = append(sub.Children, Node{Indicator: ind})
					n++
				}
				switch s {
				case 1:
					sub.Aggregation = AggregateMin
				case 2:
					sub.Missing = MissingZero
					sub.MinPresent = 2
				}
				dim.Children = append(dim.Children, Node{Group: sub})
				dim.Weights = append(dim.Weights, Weight{Child: sub.Code, Weight: ptr(0.2)})
			}
			area.Children = append(area.Children, Node{Group: dim})
		}
		d.Tree = append(d.Tree, Node{Group: area})
	}
	d.Variants = []Variant{
		{Name: "all", Areas: areas, Rule: Rule{Rounding: &Rounding{Decimals: 1}}},
		{Name: "without_last", Areas: areas[:4], Rule: Rule{Missing: MissingSkip}},
	}
	return d
}

// syntheticRound answers every indicator for each country: mostly valid
// options and numbers, some not applicable, some left unanswered.
func syntheticRound(c *Compiled, countries int, rng *rand.Rand) []Answers {
	round := make([]Answers, countries)
	for k := range round {
		for _, code := range c.IndicatorCodes() {
			ind, _ := c.Indicator(code)
			a := Answer{Indicator: code}
			switch r := rng.IntN(100); {
			case r < 5:
				a.NotApplicable = true
			case r < 12:
				continue
			case ind.Type == NumberType:
				a.Number = ptr(float64(rng.IntN(10)))
			default:
				opts := effectiveOptions(ind)
				a.Option = opts[rng.IntN(len(opts))].Code
			}
			round[k] = append(round[k], a)
		}
	}
	return round
}

func BenchmarkScoreRound(b *testing.B) {
	c := mustCompile(b, syntheticInstrument())
	if got := len(c.IndicatorCodes()); got != 500 {
		b.Fatalf("%d indicators, want 500", got)
	}
	const countries = 200
	round := syntheticRound(c, countries, rand.New(rand.NewPCG(2026, 1)))
	overrides := []Override{{Node: "A1D2", Score: 75, Reason: "bench"}}
	b.ReportAllocs()
	for b.Loop() {
		for _, answers := range round {
			res := c.Score(answers, overrides)
			if len(res.Nodes) == 0 {
				b.Fatal("empty result")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*countries), "ns/country")
}

func BenchmarkCompile(b *testing.B) {
	d := syntheticInstrument()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Compile(); err != nil {
			b.Fatal(err)
		}
	}
}

package publish_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
)

// Figures in docs/performance.md ("Locking"):
//
//	go test -run '^$' -bench Lock -benchtime 20x ./publish/
//
// Each iteration locks a sheet of 170 answered, approved indicators on the embedded store: the
// lock entry and the snapshot (scoring, canonical form, SHA-256, the insert). The reopen that
// makes the next lock possible is not timed.

// gridIndex is a questionnaire of single-choice indicators in 5 areas of dims dimensions of
// per indicators each: bigIndex (170) for locking, indexOf500 for exports.
func gridIndex(tb testing.TB, title string, dims, per int) published {
	en := func(s string) questionnaire.Text { return questionnaire.Text{"en": s} }
	score := func(v float64) *float64 { return &v }
	d := &questionnaire.Definition{Code: "mini-index", Title: en(title), DefaultLanguage: "en", Languages: []string{"en"}}
	var areas []string
	n := 0
	for a := range 5 {
		area := &questionnaire.Group{Code: fmt.Sprintf("A%d", a), Level: "area", Title: en("area"), Rule: questionnaire.Rule{Rounding: &questionnaire.Rounding{Decimals: 1}}}
		areas = append(areas, area.Code)
		for dm := range dims {
			dim := &questionnaire.Group{Code: fmt.Sprintf("A%dD%d", a, dm), Level: "dimension", Title: en("dimension")}
			for range per {
				code := fmt.Sprintf("I%03d", n)
				dim.Children = append(dim.Children, questionnaire.Node{Indicator: &questionnaire.Indicator{Code: code, Title: en(code), Question: en(code + "?"),
					Type: questionnaire.SingleChoice, Options: []questionnaire.Option{{Code: "full", Label: en("Full"), Score: score(100)},
						{Code: "partial", Label: en("Partial"), Score: score(50)}, {Code: "none", Label: en("None"), Score: score(0)}}}})
				n++
			}
			area.Children = append(area.Children, questionnaire.Node{Group: dim})
		}
		d.Tree = append(d.Tree, questionnaire.Node{Group: area})
	}
	d.Variants = []questionnaire.Variant{{Name: "all", Areas: areas}}
	c, err := d.Compile()
	if err != nil {
		tb.Fatal(err)
	}
	return published{d, c}
}

// bigIndex is a questionnaire of 170 indicators: 5 areas of 2 dimensions of 17.
func bigIndex(tb testing.TB) published { return gridIndex(tb, "Big", 2, 17) }

func BenchmarkLock170(b *testing.B) {
	f := &fixture{ctx: context.Background(), inst: bigIndex(b), clock: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	f.store = mongodbtest.New(b)
	f.rounds, f.publish = f.services(f.store)
	f.openRound(b, "r1", "AT")
	zero := 0
	for _, code := range f.inst.c.IndicatorCodes() {
		in := round.AnswerInput{Option: "partial", Comment: "The law provides for this since the 2019 reform, with exceptions.",
			Sources: []round.Source{{Kind: "law", Title: "Aliens Act", Reference: "§ 12(3)", URL: "https://example.org/law/" + code}}}
		if _, err := f.rounds.SaveAnswer(f.ctx, expert, "r1", "AT", code, in, &zero); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := f.rounds.Submit(f.ctx, expert, "r1", "AT"); err != nil {
		b.Fatal(err)
	}
	if _, _, err := f.rounds.ApproveMany(f.ctx, reviewer, "r1", "AT", nil, true); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := f.rounds.Lock(f.ctx, coordinator, "r1", "AT"); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if _, err := f.rounds.Reopen(f.ctx, coordinator, "r1", "AT", fmt.Sprintf("erratum %d", i)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

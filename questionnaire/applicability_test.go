package questionnaire_test

import (
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/questionnaire/demo"
)

func compiledFixtures(t *testing.T) map[string]*questionnaire.Compiled {
	t.Helper()
	f, err := os.Open("testdata/xlsx_every_field.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	every, err := questionnaire.DecodeDefinition(f, questionnaire.FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*questionnaire.Compiled{}
	for name, d := range map[string]*questionnaire.Definition{"demo": demo.Definition(), "every_field": every} {
		c, err := d.Compile()
		if err != nil {
			t.Fatal(err)
		}
		out[name] = c
	}
	return out
}

// randomAnswers picks, for every indicator, no answer, not applicable, or one of its options
// (or a made-up option), so that conditions both hold and fail.
func randomAnswers(c *questionnaire.Compiled, rng *rand.Rand) questionnaire.Answers {
	var out questionnaire.Answers
	for _, code := range c.IndicatorCodes() {
		ind, _ := c.Indicator(code)
		switch k := rng.IntN(4); {
		case k == 0:
		case k == 1:
			out = append(out, questionnaire.Answer{Indicator: code, NotApplicable: true})
		default:
			opts := []string{"yes", "no", "x,y", "or", "z", "1.10"}
			for _, o := range ind.Options {
				opts = append(opts, o.Code)
			}
			out = append(out, questionnaire.Answer{Indicator: code, Option: opts[rng.IntN(len(opts))]})
		}
	}
	return out
}

func lookupOf(answers questionnaire.Answers) questionnaire.AnswerLookup {
	return func(code string) (questionnaire.Answer, bool) {
		i := slices.IndexFunc(answers, func(a questionnaire.Answer) bool { return a.Indicator == code })
		if i < 0 {
			return questionnaire.Answer{}, false
		}
		return answers[i], true
	}
}

// TestApplicableWithAgreesWithApplicability: the lookup evaluator answers exactly as the
// whole-sheet evaluator, on random sheets of instruments with nested conditions.
func TestApplicableWithAgreesWithApplicability(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for name, c := range compiledFixtures(t) {
		for range 500 {
			answers := randomAnswers(c, rng)
			whole := c.Applicability(answers)
			for _, code := range c.IndicatorCodes() {
				if got, want := c.ApplicableWith(code, lookupOf(answers)), whole.Applies(code); got != want {
					t.Fatalf("%s: %s: ApplicableWith = %v, Applicability = %v, answers %+v", name, code, got, want, answers)
				}
			}
		}
	}
}

// TestDependentsCoverEveryFlip: changing one answer flips the applicability of no indicator
// outside Dependents of that answer, so re-checking the dependents is enough.
func TestDependentsCoverEveryFlip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for name, c := range compiledFixtures(t) {
		withDeps := 0
		for _, code := range c.IndicatorCodes() {
			if len(c.Dependents(code)) > 0 {
				withDeps++
			}
		}
		if withDeps == 0 {
			t.Fatalf("%s: no indicator has dependents; the fixture tests nothing", name)
		}
		for range 500 {
			before := randomAnswers(c, rng)
			// Change exactly one indicator: take before, replace the answer to one code.
			codes := c.IndicatorCodes()
			changed := codes[rng.IntN(len(codes))]
			after := slices.DeleteFunc(slices.Clone(before), func(a questionnaire.Answer) bool { return a.Indicator == changed })
			if rng.IntN(2) == 0 {
				after = append(after, questionnaire.Answer{Indicator: changed, Option: "yes"})
			}
			b, a := c.Applicability(before), c.Applicability(after)
			deps := c.Dependents(changed)
			for _, code := range codes {
				if code == changed {
					continue
				}
				if b.Applies(code) != a.Applies(code) && !slices.Contains(deps, code) {
					t.Fatalf("%s: changing %s flipped %s, which is not among its dependents %v", name, changed, code, deps)
				}
			}
		}
	}
}

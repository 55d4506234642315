package questionnaire_test

import (
	"os"
	"testing"

	"github.com/expertsurvey/expertsurvey/questionnaire"
)

// Applicability must answer exactly what Applicable answers, for every indicator.
func TestApplicabilityAgreesWithApplicable(t *testing.T) {
	f, err := os.Open("testdata/mini_index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	def, err := questionnaire.DecodeDefinition(f, questionnaire.FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	c, err := def.Compile()
	if err != nil {
		t.Fatal(err)
	}
	sheets := []questionnaire.Answers{
		nil,
		{{Indicator: "FR_1", Option: "none"}, {Indicator: "FR_4", Option: "yes"}},
		{{Indicator: "FR_1", Option: "full"}, {Indicator: "FR_4", NotApplicable: true}},
		{{Indicator: "FR_1", Option: "none"}, {Indicator: "FR_1", Option: "full"}}, // duplicate: ignored
	}
	for i, answers := range sheets {
		a := c.Applicability(answers)
		for _, code := range append(c.IndicatorCodes(), "NOPE", "LMM") {
			if got, want := a.Applies(code), c.Applicable(code, answers); got != want {
				t.Errorf("sheet %d, %s: Applies %v, Applicable %v", i, code, got, want)
			}
		}
	}
}

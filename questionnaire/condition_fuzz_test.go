package questionnaire_test

import (
	"reflect"
	"testing"

	"github.com/expertsurvey/expertsurvey/questionnaire"
)

// FuzzParseCondition feeds arbitrary cell text to the condition language: it must never panic,
// and every condition it reads must be written back (FormatCondition) to text that reads to the
// same condition. Seeds: below, and testdata/fuzz/FuzzParseCondition.
func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{
		"A in [x, y]", "A in [x] and B in [y] or C in []", "(A in [x] or B in [y]) and C in [z]",
		`all_of(A in [x])`, `any_of(A in [x], B in [y])`, `"a b" in ["x,y", "\"q\""]`, "AND in [x]",
		"((((A in [x]))))", "A in [x", `"\xff" in [x]`, "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := questionnaire.ParseCondition(expr)
		if err != nil || c == nil {
			return
		}
		text, err := questionnaire.FormatCondition(c)
		if err != nil {
			t.Fatalf("%q read as %+v, which cannot be written: %v", expr, c, err)
		}
		back, err := questionnaire.ParseCondition(text)
		if err != nil {
			t.Fatalf("%q written as %q, which does not read: %v", expr, text, err)
		}
		if !reflect.DeepEqual(c, back) {
			t.Fatalf("%q read as %+v, written as %q, read back as %+v", expr, c, text, back)
		}
	})
}

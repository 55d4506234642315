package questionnaire

import (
	"errors"
	"strings"
	"testing"
)

// A JSON definition with several unknown fields and wrong types gets every one in one answer,
// by line, not only the first: the file is fixed in one go.
func TestDecodeJSONReportsEveryProblem(t *testing.T) {
	doc := `{
  "code": "x",
  "colour": "red",
  "title": {"en": "X"},
  "default_language": "en",
  "tree": [
    {"group": {"code": "G", "weight": 1}},
    {"indicator": {"code": "I1", "shade": "blue"}}
  ]
}`
	_, err := DecodeDefinition(strings.NewReader(doc), FormatJSON)
	if !errors.Is(err, ErrFormat) {
		t.Fatalf("got %v, want ErrFormat", err)
	}
	for _, want := range []string{`unknown field "colour"`, "3 such problems", "line 3: field colour", "line 7: field weight", "line 8: field shade"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}

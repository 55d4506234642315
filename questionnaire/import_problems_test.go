package questionnaire_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/questionnaire"
)

// brokenInYAML has four independent mistakes: an unknown field (line 13), a value of the wrong
// type (line 17), a code used twice and a variant naming an area that does not exist. The first
// two stop a decoder, the last two only validation sees; one answer must list all four.
const brokenInYAML = `code: broken
title: {en: Broken}
default_language: en
tree:
  - group:
      code: A
      title: {en: Area}
      children:
        - indicator:
            code: A_1
            title: {en: One}
            question: {en: "One?"}
            titel: {en: misspelt}
            type: number
            number:
              scoring: direct
              min: zero
        - indicator:
            code: A_1
            title: {en: Two}
            question: {en: "Two?"}
            type: yes_no
variants:
  - name: overall
    title: {en: Overall}
    areas: [A, NOPE]
`

// The same four mistakes in JSON (the unknown field on line 14, the wrong type on line 16).
const brokenInJSON = `{
  "code": "broken",
  "title": {"en": "Broken"},
  "default_language": "en",
  "tree": [
    {
      "group": {
        "code": "A",
        "title": {"en": "Area"},
        "children": [
          {"indicator": {
            "code": "A_1", "title": {"en": "One"},
            "question": {"en": "One?"},
            "titel": {"en": "misspelt"},
            "type": "number",
            "number": {"scoring": "direct", "min": "zero"}
          }},
          {"indicator": {"code": "A_1", "title": {"en": "Two"}, "question": {"en": "Two?"}, "type": "yes_no"}}
        ]
      }
    }
  ],
  "variants": [{"name": "overall", "title": {"en": "Overall"}, "areas": ["A", "NOPE"]}]
}
`

// TestImportReportsEveryProblemOfAFile imports files whose mistakes are of both kinds, those the
// decoder meets and those validation finds, and expects every one in one answer, with nothing
// written.
func TestImportReportsEveryProblemOfAFile(t *testing.T) {
	store := mongodbtest.New(t)
	s := newService(t, store)
	ctx := context.Background()
	for _, c := range []struct {
		format, file    string
		unknown, badNum string
	}{
		{"yaml", brokenInYAML, "line 13", "line 17"},
		{"json", brokenInJSON, "line 14", "line 16"},
	} {
		_, err := s.Import(ctx, admin, strings.NewReader(c.file), questionnaire.ImportOptions{Format: c.format})
		var verr *questionnaire.ValidationError
		if !errors.As(err, &verr) {
			t.Fatalf("%s: %v, want every problem in a *ValidationError", c.format, err)
		}
		want := []struct{ path, message string }{
			{c.unknown, `unknown field "titel"`},
			{c.badNum, `"zero" is not a number`},
			{"tree[0].group.children[1].indicator.code", "duplicate code"},
			{"variants[0].areas[1]", `unknown top-level group "NOPE"`},
		}
		for _, w := range want {
			found := false
			for _, p := range verr.Problems {
				found = found || (p.Path == w.path && strings.Contains(p.Message, w.message))
			}
			if !found {
				t.Errorf("%s: no problem %s: %s in %v", c.format, w.path, w.message, verr.Problems)
			}
		}
		for _, p := range verr.Problems {
			if strings.Contains(p.Message, "questionnaire.") || strings.Contains(p.Message, "float64") {
				t.Errorf("%s: a Go type name reached the user: %v", c.format, p)
			}
		}
		if _, err := s.Questionnaire(ctx, admin, "broken"); !errors.Is(err, questionnaire.ErrNotFound) {
			t.Fatalf("%s: a refused import left a questionnaire (%v)", c.format, err)
		}
	}
}

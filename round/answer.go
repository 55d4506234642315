package round

import (
	"fmt"
	"iter"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expertsurvey/expertsurvey/questionnaire"
)

// AnswerInput is what an expert sends for one indicator.
type AnswerInput struct {
	Option        string
	Value         *float64
	Text          string
	NotApplicable bool
	NAReason      string
	Comment       string
	Sources       []Source
	// Justification explains a change to an answer carried from the previous round.
	Justification string
	// Reason is the reason for the change, required once the sheet has been submitted; it is
	// kept with the version it produces (review.Revision).
	Reason string
}

// Bounds on answer sizes: generous for long legal explanations, small enough that a sheet of
// 170 answers stays far below a document's 16 MB.
const (
	maxComment       = 20000
	maxText          = 20000
	maxReason        = 2000
	maxJustification = 5000
	maxSources       = 30
	maxSourceTitle   = 500
	maxReference     = 500
	maxURL           = 2048
	maxExcerpt       = 5000
)

var languageRe = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

// checkInput validates an answer on its own and against the indicator; every problem is
// reported with the field it concerns. prefix is prepended to field names (for imports).
func checkInput(inst *questionnaire.Compiled, code string, in AnswerInput, prefix string, today time.Time) []FieldError {
	var p []FieldError
	add := func(field, format string, args ...any) {
		p = append(p, FieldError{Field: prefix + field, Reason: fmt.Sprintf(format, args...)})
	}
	checkLen := func(field, v string, max int) {
		if !utf8.ValidString(v) {
			add(field, "must be valid UTF-8")
		} else if n := utf8.RuneCountInString(v); n > max {
			add(field, "must be at most %d characters (has %d)", max, n)
		}
	}
	checkLen("comment", in.Comment, maxComment)
	checkLen("text", in.Text, maxText)
	checkLen("na_reason", in.NAReason, maxReason)
	checkLen("justification", in.Justification, maxJustification)
	checkLen("reason", in.Reason, maxReason)
	if in.NotApplicable && strings.TrimSpace(in.NAReason) == "" {
		add("na_reason", "is required when the indicator is marked not applicable")
	}
	if !in.NotApplicable && in.NAReason != "" {
		add("na_reason", "is only allowed with not_applicable")
	}
	if in.Value != nil && (math.IsNaN(*in.Value) || math.IsInf(*in.Value, 0)) {
		add("value", "must be a finite number")
	}
	if len(in.Sources) > maxSources {
		add("sources", "at most %d sources", maxSources)
	}
	for i, s := range in.Sources {
		f := fmt.Sprintf("sources[%d].", i)
		if !slices.Contains(SourceKinds, s.Kind) {
			add(f+"kind", "must be one of %s", joinKinds())
		}
		if strings.TrimSpace(s.Title) == "" {
			add(f+"title", "is required")
		}
		checkLen(f+"title", s.Title, maxSourceTitle)
		checkLen(f+"reference", s.Reference, maxReference)
		checkLen(f+"excerpt", s.Excerpt, maxExcerpt)
		if s.URL != "" {
			if len(s.URL) > maxURL {
				add(f+"url", "must be at most %d characters", maxURL)
			} else if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add(f+"url", "must be an absolute http(s) URL")
			}
		}
		if s.TextDate != "" && !validDate(s.TextDate) {
			add(f+"text_date", "must be a date YYYY-MM-DD")
		}
		if s.Accessed != "" {
			if !validDate(s.Accessed) {
				add(f+"accessed", "must be a date YYYY-MM-DD")
			} else if s.Accessed > today.AddDate(0, 0, 1).Format(time.DateOnly) {
				add(f+"accessed", "must not be in the future")
			}
		}
		if s.Language != "" && !languageRe.MatchString(s.Language) {
			add(f+"language", "must be a language tag such as en or pt-BR")
		}
	}
	for _, q := range inst.CheckAnswer(code, toScoringAnswer(code, in.Option, in.Value, in.Text, in.NotApplicable)) {
		field := q.Path
		switch field {
		case "number":
			field = "value"
		case "":
			field = "option"
		}
		add(field, "%s", q.Message)
	}
	return p
}

func joinKinds() string {
	s := make([]string, len(SourceKinds))
	for i, k := range SourceKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func toScoringAnswer(code, option string, value *float64, text string, na bool) questionnaire.Answer {
	return questionnaire.Answer{Indicator: code, Option: option, Number: value, Text: text, NotApplicable: na}
}

// scoringAnswers turns answers into the engine's input; answers flagged inapplicable and
// carried answers not yet confirmed count, because skip logic reads what is there.
func scoringAnswers(answers iter.Seq[*Answer]) questionnaire.Answers {
	var out questionnaire.Answers
	for a := range answers {
		if a.Answered() {
			out = append(out, a.scoring())
		}
	}
	return out
}

// scoring is the answer as the engine reads it.
func (a *Answer) scoring() questionnaire.Answer {
	return toScoringAnswer(a.Indicator, a.Option, a.Value, a.Text, a.NotApplicable)
}

// sliceAnswers yields pointers into a slice of answers.
func sliceAnswers(answers []Answer) iter.Seq[*Answer] {
	return func(yield func(*Answer) bool) {
		for i := range answers {
			if !yield(&answers[i]) {
				return
			}
		}
	}
}

// sameSources tells whether two source lists cite the same texts in the same way.
func sameSources(a, b []Source) bool {
	return slices.Equal(a, b)
}

// hasNewSource tells whether next cites something prev did not, or cites it differently.
func hasNewSource(prev, next []Source) bool {
	for _, s := range next {
		if !slices.Contains(prev, s) {
			return true
		}
	}
	return false
}

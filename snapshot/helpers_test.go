package snapshot

import (
	"os"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
)

func ptr[T any](v T) *T { return &v }

func tiny(t testing.TB) *questionnaire.Compiled {
	t.Helper()
	f, err := os.Open("testdata/tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := questionnaire.DecodeDefinition(f, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var lockedAt = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// example is the input of the worked example in docs/snapshot-hash.md.
func example() *Snapshot {
	return &Snapshot{
		Round:         "demo-2025",
		Country:       "AT",
		Questionnaire: "tiny",
		Version:       "2025.1",
		Revision:      1,
		LockedBy:      "coordinator@example.org",
		LockedAt:      lockedAt,
		Answers: []Answer{
			{
				Indicator: "X2", Option: "yes", Version: 1,
				Comment:   "Since the \"2019 reform\".",
				UpdatedBy: "expert@example.org", UpdatedAt: time.Date(2026, 2, 10, 8, 0, 0, 0, time.UTC),
			},
			{
				Indicator: "X1", Option: "partial", Version: 2,
				Sources:   []round.Source{{Kind: "law", Title: "Aliens Employment Act", Reference: "§ 4", URL: "https://example.org/aeg", Accessed: "2026-01-10"}},
				UpdatedBy: "expert@example.org", UpdatedAt: time.Date(2026, 2, 11, 8, 0, 0, 123456789, time.UTC),
				Verdicts: []Verdict{{Reviewer: "reviewer@example.org", AnswerVersion: 2, Verdict: "agree", At: time.Date(2026, 2, 12, 8, 0, 0, 0, time.UTC)}},
			},
			{
				Indicator: "X3", Option: "partial", Version: 1,
				UpdatedBy: "expert@example.org", UpdatedAt: time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC),
			},
		},
	}
}

func mustBuild(t testing.TB, c *questionnaire.Compiled, in *Snapshot) *Snapshot {
	t.Helper()
	s, err := Build(c, in)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

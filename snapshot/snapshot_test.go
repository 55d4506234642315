package snapshot

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
	"github.com/google/go-cmp/cmp"
)

func TestBuildScoresEveryNodeAndVariant(t *testing.T) {
	in := example()
	in.Overrides = []Override{{Node: "X3", Score: 100, Reason: "practice is equal", By: "coordinator@example.org", At: lockedAt}}
	s := mustBuild(t, tiny(t), in)
	want := []questionnaire.NodeScore{
		{Code: "A", Score: ptr(83.3), Unrounded: ptr(250.0 / 3)},
		{Code: "X1", Score: ptr(50.0), Unrounded: ptr(50.0)},
		{Code: "X2", Score: ptr(100.0), Unrounded: ptr(100.0)},
		{Code: "X3", Score: ptr(100.0), Unrounded: ptr(100.0), Override: &questionnaire.AppliedOverride{Computed: ptr(50.0), Reason: "practice is equal"}},
	}
	if diff := cmp.Diff(want, s.Nodes); diff != "" {
		t.Errorf("nodes (-want +got):\n%s", diff)
	}
	wantV := []questionnaire.VariantScore{{Name: "overall", Score: ptr(83.0), Unrounded: ptr(250.0 / 3)}}
	if diff := cmp.Diff(wantV, s.Variants); diff != "" {
		t.Errorf("variants (-want +got):\n%s", diff)
	}
	if got := []string{s.Answers[0].Indicator, s.Answers[1].Indicator, s.Answers[2].Indicator}; !cmp.Equal(got, []string{"X1", "X2", "X3"}) {
		t.Errorf("answers in order %v, want sorted by indicator", got)
	}
	if got := s.Answers[0].UpdatedAt; !got.Equal(time.Date(2026, 2, 11, 8, 0, 0, 123000000, time.UTC)) || got.Location() != time.UTC {
		t.Errorf("updated_at %v, want truncated to milliseconds in UTC", got)
	}
}

// TestBuildLeavesInputAlone: a snapshot shares nothing with its input, so
// that a caller reusing its slices cannot change a frozen record.
func TestBuildLeavesInputAlone(t *testing.T) {
	in := example()
	before := example()
	s := mustBuild(t, tiny(t), in)
	if diff := cmp.Diff(before, in); diff != "" {
		t.Errorf("Build changed its input (-before +after):\n%s", diff)
	}
	in.Answers[1].Sources[0].Title = "changed"
	in.Answers[1].Verdicts[0].Verdict = "changed"
	if s.Answers[0].Sources[0].Title == "changed" || s.Answers[0].Verdicts[0].Verdict == "changed" {
		t.Error("snapshot shares its sources or verdicts with the input")
	}
	if h, _ := ComputeHash(s); h != s.Hash {
		t.Error("changing the input changed the snapshot's content")
	}
}

// TestHashIgnoresPresentation: the order answers arrive in, the time zone
// and sub-millisecond digits are presentation, not content.
func TestHashIgnoresPresentation(t *testing.T) {
	c := tiny(t)
	want := mustBuild(t, c, example()).Hash
	in := example()
	in.Answers[0], in.Answers[2] = in.Answers[2], in.Answers[0]
	paris := time.FixedZone("CET", 3600)
	in.LockedAt = in.LockedAt.In(paris).Add(999 * time.Microsecond)
	in.Answers[1].UpdatedAt = in.Answers[1].UpdatedAt.In(paris)
	if got := mustBuild(t, c, in).Hash; got != want {
		t.Errorf("hash %s, want %s", got, want)
	}
}

// TestHashCoversEveryField changes one field at a time and expects a new
// hash each time: nothing in a snapshot can change unnoticed.
func TestHashCoversEveryField(t *testing.T) {
	c := tiny(t)
	later := lockedAt.Add(time.Hour)
	base := func() *Snapshot {
		in := example()
		in.Answers[1].Comments = []Comment{{Author: "a", At: lockedAt, Text: "t"}}
		in.Answers[1].Adjudication = &Adjudication{By: "c", AnswerVersion: 2, Option: "partial", Rationale: "r", At: lockedAt}
		in.Answers[1].Verdicts[0].SuggestedOption, in.Answers[1].Verdicts[0].Reason = "full", "why"
		in.Answers[0].Sources = []round.Source{{Kind: "law", Title: "t", Reference: "r", URL: "https://x.org", TextDate: "2020-01-01", Accessed: "2026-01-01", Language: "de", Excerpt: "e"}}
		in.Overrides = []Override{{Node: "A", Score: 60, Reason: "r", By: "c", At: lockedAt}}
		in.Reopened = &Reopen{By: "c", At: lockedAt, Reason: "r"}
		in.Revision = 2
		return in
	}
	// Answers are sorted in the input as Build sorts them: X2, X1, X3
	// becomes X1, X2, X3, so index 1 of the input is X1.
	mutations := []struct {
		name string
		f    func(*Snapshot)
	}{
		{"round", func(s *Snapshot) { s.Round = "other" }},
		{"country", func(s *Snapshot) { s.Country = "BE" }},
		{"questionnaire", func(s *Snapshot) { s.Questionnaire = "other" }},
		{"version", func(s *Snapshot) { s.Version = "2025.2" }},
		{"revision", func(s *Snapshot) { s.Revision = 3 }},
		{"locked_by", func(s *Snapshot) { s.LockedBy = "other" }},
		{"locked_at", func(s *Snapshot) { s.LockedAt = later }},
		{"reopened.by", func(s *Snapshot) { s.Reopened.By = "other" }},
		{"reopened.at", func(s *Snapshot) { s.Reopened.At = later }},
		{"reopened.reason", func(s *Snapshot) { s.Reopened.Reason = "other" }},
		{"reopened absent", func(s *Snapshot) { s.Reopened = nil }},
		{"option", func(s *Snapshot) { s.Answers[1].Option = "full" }},
		{"text", func(s *Snapshot) { s.Answers[1].Text = "x" }},
		{"not_applicable", func(s *Snapshot) { s.Answers[1].NotApplicable = true; s.Answers[1].Option = "" }},
		{"na_reason", func(s *Snapshot) { s.Answers[1].NAReason = "x" }},
		{"comment", func(s *Snapshot) { s.Answers[1].Comment = "x" }},
		{"source kind", func(s *Snapshot) { s.Answers[0].Sources[0].Kind = "policy" }},
		{"source title", func(s *Snapshot) { s.Answers[0].Sources[0].Title = "x" }},
		{"source reference", func(s *Snapshot) { s.Answers[0].Sources[0].Reference = "x" }},
		{"source url", func(s *Snapshot) { s.Answers[0].Sources[0].URL = "https://y.org" }},
		{"source text_date", func(s *Snapshot) { s.Answers[0].Sources[0].TextDate = "2021-01-01" }},
		{"source accessed", func(s *Snapshot) { s.Answers[0].Sources[0].Accessed = "2026-01-02" }},
		{"source language", func(s *Snapshot) { s.Answers[0].Sources[0].Language = "fr" }},
		{"source excerpt", func(s *Snapshot) { s.Answers[0].Sources[0].Excerpt = "x" }},
		{"source order", func(s *Snapshot) {
			s.Answers[0].Sources = append(s.Answers[0].Sources, round.Source{Kind: "other", Title: "second"})
			s.Answers[0].Sources[0], s.Answers[0].Sources[1] = s.Answers[0].Sources[1], s.Answers[0].Sources[0]
		}},
		{"carried", func(s *Snapshot) { s.Answers[1].Carried = true }},
		{"changed", func(s *Snapshot) { s.Answers[1].Changed = true }},
		{"justification", func(s *Snapshot) { s.Answers[1].Justification = "x" }},
		{"inapplicable", func(s *Snapshot) { s.Answers[1].Inapplicable = true }},
		{"answer version", func(s *Snapshot) { s.Answers[1].Version = 9 }},
		{"updated_by", func(s *Snapshot) { s.Answers[1].UpdatedBy = "x" }},
		{"updated_at", func(s *Snapshot) { s.Answers[1].UpdatedAt = later }},
		{"comment author", func(s *Snapshot) { s.Answers[1].Comments[0].Author = "x" }},
		{"comment at", func(s *Snapshot) { s.Answers[1].Comments[0].At = later }},
		{"comment text", func(s *Snapshot) { s.Answers[1].Comments[0].Text = "x" }},
		{"verdict reviewer", func(s *Snapshot) { s.Answers[1].Verdicts[0].Reviewer = "x" }},
		{"verdict answer_version", func(s *Snapshot) { s.Answers[1].Verdicts[0].AnswerVersion = 1 }},
		{"verdict", func(s *Snapshot) { s.Answers[1].Verdicts[0].Verdict = "disagree" }},
		{"verdict suggested_option", func(s *Snapshot) { s.Answers[1].Verdicts[0].SuggestedOption = "none" }},
		{"verdict reason", func(s *Snapshot) { s.Answers[1].Verdicts[0].Reason = "x" }},
		{"verdict at", func(s *Snapshot) { s.Answers[1].Verdicts[0].At = later }},
		{"adjudication by", func(s *Snapshot) { s.Answers[1].Adjudication.By = "x" }},
		{"adjudication answer_version", func(s *Snapshot) { s.Answers[1].Adjudication.AnswerVersion = 1 }},
		{"adjudication option", func(s *Snapshot) { s.Answers[1].Adjudication.Option = "full" }},
		{"adjudication rationale", func(s *Snapshot) { s.Answers[1].Adjudication.Rationale = "x" }},
		{"adjudication at", func(s *Snapshot) { s.Answers[1].Adjudication.At = later }},
		{"adjudication absent", func(s *Snapshot) { s.Answers[1].Adjudication = nil }},
		{"override score", func(s *Snapshot) { s.Overrides[0].Score = 61 }},
		{"override reason", func(s *Snapshot) { s.Overrides[0].Reason = "x" }},
		{"override by", func(s *Snapshot) { s.Overrides[0].By = "x" }},
		{"override at", func(s *Snapshot) { s.Overrides[0].At = later }},
		{"answer added", func(s *Snapshot) { s.Answers = append(s.Answers, Answer{Indicator: "X9"}) }},
	}
	want := mustBuild(t, c, base()).Hash
	seen := map[string]string{want: "base"}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			in := base()
			m.f(in)
			s, err := Build(c, in)
			if m.name == "answer added" {
				// An answer to an unknown indicator is refused rather than
				// frozen unscored; the hash must still see it.
				if err == nil {
					t.Fatal("Build accepted an answer to an unknown indicator")
				}
				s = mustBuild(t, c, base())
				s.Answers = append(s.Answers, Answer{Indicator: "X9"})
				s.Hash, _ = ComputeHash(s)
			} else if err != nil {
				t.Fatal(err)
			}
			if s.Hash == want {
				t.Errorf("changing %s left the hash unchanged", m.name)
			}
			if prev, dup := seen[s.Hash]; dup {
				t.Errorf("changing %s gives the hash of %s", m.name, prev)
			}
			seen[s.Hash] = m.name
		})
	}
}

func TestBuildRefuses(t *testing.T) {
	c := tiny(t)
	tests := []struct {
		name string
		f    func(*Snapshot)
		want string
	}{
		{"no round", func(s *Snapshot) { s.Round = "" }, "required"},
		{"revision 0", func(s *Snapshot) { s.Revision = 0 }, "revisions start at 1"},
		{"not locked", func(s *Snapshot) { s.LockedAt = time.Time{} }, "locked_at"},
		{"two answers", func(s *Snapshot) { s.Answers = append(s.Answers, Answer{Indicator: "X1", Option: "full"}) }, "two answers to X1"},
		{"unknown indicator", func(s *Snapshot) { s.Answers = append(s.Answers, Answer{Indicator: "Q9", Option: "x"}) }, "unknown indicator"},
		{"override twice", func(s *Snapshot) {
			s.Overrides = []Override{{Node: "A", Score: 1}, {Node: "A", Score: 2}}
		}, "A overridden twice"},
		{"override above 100", func(s *Snapshot) { s.Overrides = []Override{{Node: "A", Score: 101}} }, "outside 0..100"},
		{"override NaN", func(s *Snapshot) { s.Overrides = []Override{{Node: "A", Score: math.NaN()}} }, "outside 0..100"},
		{"unknown override", func(s *Snapshot) { s.Overrides = []Override{{Node: "Z", Score: 1}} }, "unknown node"},
		{"value infinite", func(s *Snapshot) { s.Answers[2].Option, s.Answers[2].Value = "", ptr(math.Inf(1)) }, "not finite"},
		{"text not UTF-8", func(s *Snapshot) { s.Answers[0].Comment = "\xff" }, "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := example()
			tt.f(in)
			_, err := Build(c, in)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}

// TestCanonicalValues pins the RFC 8785 serialisation of the values a
// snapshot holds; the numbers include the RFC's own examples (appendix B).
func TestCanonicalValues(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{0.0, "0"},
		{math.Copysign(0, -1), "0"},
		{100.0, "100"},
		{66.66666666666667, "66.66666666666667"},
		{1e21, "1e+21"},
		{1e20, "100000000000000000000"},
		{1e-6, "0.000001"},
		{1e-7, "1e-7"},
		{333333333.3333333, "333333333.3333333"},
		{1e30, "1e+30"},
		{4.5, "4.5"},
		{0.002, "0.002"},
		{1e-27, "1e-27"},
		{5e-324, "5e-324"},
		{-1.7976931348623157e308, "-1.7976931348623157e+308"},
		{float64(9007199254740993), "9007199254740992"},
		{"a\"b\\c\b\f\n\r\t\x01\x1f\x7f", `"a\"b\\c\b\f\n\r\t\u0001\u001f` + "\x7f\""},
		{"\u2028\u2029<>&é€😀", "\"\u2028\u2029<>&é€😀\""},
		{object{{"b", 1.0}, {"a", true}, {"\U0001F600", nil}, {"\uE000", false}, {"A", []any{}}}, `{"A":[],"a":true,"b":1,"` + "\U0001F600" + `":null,"` + "\uE000" + `":false}`},
	}
	for _, tt := range tests {
		var e encoder
		e.value(tt.in)
		if e.err != nil {
			t.Errorf("%#v: %v", tt.in, e.err)
			continue
		}
		if got := e.buf.String(); got != tt.want {
			t.Errorf("%#v: got %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestAnswerFromCopiesEveryField fills every field of a sheet's answer and
// expects each field the snapshot's answer shares by name to arrive, so
// that a field added to both is not silently dropped at lock time.
func TestAnswerFromCopiesEveryField(t *testing.T) {
	in := round.Answer{
		Indicator: "X1", Option: "partial", Value: ptr(3.0), Text: "t", NotApplicable: true, NAReason: "r",
		Comment: "c", Sources: []round.Source{{Kind: "law", Title: "t"}}, Carried: true,
		Previous: &round.Previous{Round: "r0"}, Changed: true, Justification: "j", Inapplicable: true,
		Version: 3, UpdatedBy: "u", UpdatedAt: lockedAt, At: 9, Prev: 4,
	}
	got := reflect.ValueOf(AnswerFrom(in))
	src := reflect.ValueOf(in)
	for i := range src.NumField() {
		name := src.Type().Field(i).Name
		f := got.FieldByName(name)
		if !f.IsValid() {
			continue // Previous and the log positions stay out on purpose
		}
		if !reflect.DeepEqual(f.Interface(), src.Field(i).Interface()) {
			t.Errorf("%s: got %v, want %v", name, f.Interface(), src.Field(i).Interface())
		}
		if f.IsZero() {
			t.Errorf("%s: the test left it zero", name)
		}
	}
}

// TestHashSurvivesRoundTrip stores a snapshot the way a store would (a
// generic encoding of its fields, times in another zone on the way back)
// and expects the same hash: nothing in the canonical form depends on
// in-memory detail such as nil against empty slices or time zones.
func TestHashSurvivesRoundTrip(t *testing.T) {
	in := example()
	in.Overrides = []Override{{Node: "X3", Score: 12.345678901234567, Reason: "r", At: lockedAt}}
	s := mustBuild(t, tiny(t), in)
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	back.LockedAt = back.LockedAt.In(time.FixedZone("X", -5*3600))
	back.Answers[1].Sources = nil
	back.Answers[2].Comments = []Comment{}
	if h, err := ComputeHash(&back); err != nil || h != s.Hash {
		t.Errorf("hash after the round trip %s (%v), want %s", h, err, s.Hash)
	}
	if m := Verify(&back, tiny(t)); len(m) != 0 {
		t.Errorf("Verify after the round trip: %v", m)
	}
}

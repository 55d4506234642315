package snapshot

import (
	"errors"
	"iter"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/round"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestDiffErratum reopens the example, changes one answer's option, adds a
// source to another and overrides a node, and expects exactly those answer
// changes and the score deltas they cause.
func TestDiffErratum(t *testing.T) {
	c := tiny(t)
	rev1 := mustBuild(t, c, example())
	in := example()
	in.Revision = 2
	reopenedAt := lockedAt.Add(24 * time.Hour)
	in.Reopened = &Reopen{By: "coordinator@example.org", At: reopenedAt, Reason: "X3 misread the 2024 amendment"}
	in.LockedAt = reopenedAt.Add(time.Hour)
	in.Answers[2].Option, in.Answers[2].Version = "full", 2 // X3
	in.Answers[0].Version = 2                               // X2 saved again, unchanged: no change
	in.Answers[1].Sources = append(in.Answers[1].Sources, round.Source{Kind: "case_law", Title: "VwGH 2024/01"})
	in.Overrides = []Override{{Node: "X2", Score: 90, Reason: "practice lags"}}
	rev2 := mustBuild(t, c, in)

	got, err := Diff(rev1, rev2)
	if err != nil {
		t.Fatal(err)
	}
	want := &Erratum{
		Round: "demo-2025", Country: "AT", From: 1, To: 2,
		Reason: "X3 misread the 2024 amendment", By: "coordinator@example.org", At: reopenedAt,
		Answers: []AnswerChange{
			{Indicator: "X1", Fields: []string{"sources"}, Before: &rev1.Answers[0], After: &rev2.Answers[0]},
			{Indicator: "X3", Fields: []string{"option"}, Before: &rev1.Answers[2], After: &rev2.Answers[2]},
		},
		Overrides: []OverrideChange{{Node: "X2", After: &rev2.Overrides[0]}},
		Scores: []ScoreChange{
			// A: mean(50, 90, 100) = 80 against 66.666...
			{Node: "A", Before: ptr(66.7), After: ptr(80.0), Delta: ptr(80 - 66.7)},
			{Node: "X2", Before: ptr(100.0), After: ptr(90.0), Delta: ptr(-10.0)},
			{Node: "X3", Before: ptr(50.0), After: ptr(100.0), Delta: ptr(50.0)},
			{Variant: "overall", Before: ptr(67.0), After: ptr(80.0), Delta: ptr(13.0)},
		},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("erratum (-want +got):\n%s", diff)
	}
}

func TestDiffRefuses(t *testing.T) {
	c := tiny(t)
	a := mustBuild(t, c, example())
	other := example()
	other.Country = "BE"
	b := mustBuild(t, c, other)
	tests := []struct {
		name          string
		before, after *Snapshot
	}{
		{"other sheet", a, b},
		{"same revision", a, a},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Diff(tt.before, tt.after); !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v, want ErrInvalid", err)
			}
		})
	}
}

// TestCompare sets two rounds of one country side by side: every node and
// variant with both scores and the delta, and only the indicators whose
// response changed (X2's new source and comment are not a change).
func TestCompare(t *testing.T) {
	c := tiny(t)
	a := mustBuild(t, c, example())
	in := example()
	in.Round = "demo-2026"
	in.Answers[0].Comment = "Unchanged since 2019."                                     // X2: explanation only
	in.Answers[1].Option = "none"                                                       // X1: 50 -> 0
	in.Answers[2] = Answer{Indicator: "X3", NotApplicable: true, NAReason: "abolished"} // X3 out of the mean
	b := mustBuild(t, c, in)

	got := Compare(a, b)
	want := &Comparison{
		Country: "AT", RoundA: "demo-2025", RoundB: "demo-2026", RevisionA: 1, RevisionB: 1,
		Scores: []ScoreChange{
			{Node: "A", Before: ptr(66.7), After: ptr(50.0), Delta: ptr(50 - 66.7)},
			{Node: "X1", Before: ptr(50.0), After: ptr(0.0), Delta: ptr(-50.0)},
			{Node: "X2", Before: ptr(100.0), After: ptr(100.0), Delta: ptr(0.0)},
			{Node: "X3", Before: ptr(50.0)},
			{Variant: "overall", Before: ptr(67.0), After: ptr(50.0), Delta: ptr(-17.0)},
		},
		Changed: []AnswerChange{
			{Indicator: "X1", Fields: []string{"option"}, Before: &a.Answers[0], After: &b.Answers[0]},
			{Indicator: "X3", Fields: []string{"option", "not_applicable"}, Before: &a.Answers[2], After: &b.Answers[2]},
		},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("comparison (-want +got):\n%s", diff)
	}

	// A country only in the later round: every score on the B side.
	only := Compare(nil, b)
	if only.Country != "AT" || only.RoundA != "" || len(only.Scores) != 5 || only.Scores[0].Before != nil || only.Scores[0].Delta != nil {
		t.Errorf("country in one round only: %+v", only)
	}
	if len(only.Changed) != 3 {
		t.Errorf("country in one round only: %d changed answers, want all 3", len(only.Changed))
	}
}

// TestCompareRounds pairs two rounds' snapshots by country, streaming:
// countries in both are compared, a country in one round only is compared
// with nothing, and unsorted input or an iterator's error ends the
// sequence with an error.
func TestCompareRounds(t *testing.T) {
	c := tiny(t)
	build := func(roundName, country string) *Snapshot {
		in := example()
		in.Round, in.Country = roundName, country
		return mustBuild(t, c, in)
	}
	seq := func(ss ...*Snapshot) iter.Seq2[*Snapshot, error] {
		return func(yield func(*Snapshot, error) bool) {
			for _, s := range ss {
				if !yield(s, nil) {
					return
				}
			}
		}
	}
	boom := errors.New("store went away")
	failing := func(yield func(*Snapshot, error) bool) {
		if yield(build("b", "AT"), nil) {
			yield(nil, boom)
		}
	}
	tests := []struct {
		name    string
		a, b    iter.Seq2[*Snapshot, error]
		want    []string // country:roundA:roundB per comparison
		wantErr error
	}{
		{"both", seq(build("a", "AT"), build("a", "BE")), seq(build("b", "AT"), build("b", "BE")), []string{"AT:a:b", "BE:a:b"}, nil},
		{"one side only", seq(build("a", "AT"), build("a", "CY")), seq(build("b", "BE"), build("b", "CY"), build("b", "DE")),
			[]string{"AT:a:", "BE::b", "CY:a:b", "DE::b"}, nil},
		{"empty", seq(), seq(), nil, nil},
		{"unsorted", seq(build("a", "BE"), build("a", "AT")), seq(), []string{"BE:a:"}, ErrInvalid},
		{"error", seq(build("a", "AT"), build("a", "BE")), failing, []string{"AT:a:b"}, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			var gotErr error
			for comp, err := range CompareRounds(tt.a, tt.b) {
				if err != nil {
					gotErr = err
					continue
				}
				got = append(got, comp.Country+":"+comp.RoundA+":"+comp.RoundB)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("comparisons (-want +got):\n%s", diff)
			}
			if !errors.Is(gotErr, tt.wantErr) || (tt.wantErr == nil) != (gotErr == nil) {
				t.Errorf("error %v, want %v", gotErr, tt.wantErr)
			}
		})
	}
}

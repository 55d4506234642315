package questionnaire

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDiffIdenticalVersions(t *testing.T) {
	if got := Diff(loadExample(t), loadExample(t)); len(got) != 0 {
		t.Errorf("got %v, want no changes", got)
	}
}

func TestDiffDefaultsAreNotChanges(t *testing.T) {
	a, b := loadExample(t), loadExample(t)
	lmm := b.Tree[0].Group
	lmm.Aggregation, lmm.Missing = AggregateMean, MissingSkip
	b.Variants[0].Missing = MissingRequire
	b.Tree[0].Group.Children[0].Group.Children[0].Indicator.Scored = ptr(true)
	if got := Diff(a, b); len(got) != 0 {
		t.Errorf("spelling out defaults reported as changes: %v", got)
	}
}

func TestDiff(t *testing.T) {
	a, b := loadExample(t), loadExample(t)
	b.Title["fr"] = "Mini-indice"
	lmm := b.Tree[0].Group
	lmmA, lmmB := lmm.Children[0].Group, lmm.Children[1].Group
	// LMM_1: French title added, an option's score and a new option.
	lmm1 := lmmA.Children[0].Indicator
	lmm1.Title["fr"] = "Accès immédiat"
	lmm1.Options[1].Score = ptr(40.0)
	lmm1.Options = append(lmm1.Options, opt("unknown", 0))
	// LMM_2 becomes a three-point choice.
	lmm2 := lmmA.Children[1].Indicator
	lmm2.Type, lmm2.Options = SingleChoice, []Option{opt("full", 100), opt("partial", 50), opt("none", 0)}
	// LMM_3: new range and bands.
	lmm3 := lmmA.Children[2].Indicator
	lmm3.Number.Max = ptr(30.0)
	lmm3.Number.Bands[0].Max, lmm3.Number.Bands[1].Over = ptr(2.0), ptr(2.0)
	// LMM_5 moves from LMM_B to LMM_A; LMM_B's weights change with it.
	lmmA.Children = append(lmmA.Children, lmmB.Children[1])
	lmmB.Children = lmmB.Children[:1]
	lmmB.Weights = []Weight{{Child: "LMM_4", Weight: ptr(1.0)}}
	lmmB.Missing = MissingZero
	// FR_3's condition changes; H_3 is removed and H_4 added.
	fr := b.Tree[1].Group
	fr.Children[0].Group.Children[2].Indicator.Condition = &Condition{Indicator: "FR_1", In: []string{"none", "partial"}}
	health := b.Tree[2].Group
	health.Children[2] = yesNo("H_4")
	health.Rounding = &Rounding{Decimals: 1, Mode: RoundHalfEven}
	// Variants: one changes areas, one is added.
	b.Variants[1].Areas = []string{"LMM"}
	b.Variants = append(b.Variants, Variant{Name: "labour_only", Areas: []string{"LMM"}})

	want := []Change{
		{Kind: ChangeModified, Subject: SubjectDefinition, Field: "title.fr", Before: "Mini-indice des politiques d'intégration", After: "Mini-indice"},
		{Kind: ChangeModified, Subject: SubjectGroup, Code: "LMM_A", Field: "children", Before: "LMM_1, LMM_2, LMM_3", After: "LMM_1, LMM_2, LMM_3, LMM_5"},
		{Kind: ChangeModified, Subject: SubjectIndicator, Code: "LMM_1", Field: "title.fr", After: "Accès immédiat"},
		{Kind: ChangeModified, Subject: SubjectIndicator, Code: "LMM_1", Field: "options[partial].score", Before: "50", After: "40"},
		{Kind: ChangeAdded, Subject: SubjectIndicator, Code: "LMM_1", Field: "options[unknown]", After: "0"},
		{Kind: ChangeModified, Subject: SubjectIndicator, Code: "LMM_2", Field: "type", Before: "yes_no", After: "single_choice"},
		{Kind: ChangeAdded, Subject: SubjectIndicator, Code: "LMM_2", Field: "options[full]", After: "100"},
		{Kind: ChangeAdded, Subject: SubjectIndicator, Code: "LMM_2", Field: "options[partial]", After: "50"},
		{Kind: ChangeAdded, Subject: SubjectIndicator, Code: "LMM_2", Field: "options[none]", After: "0"},
		{Kind: ChangeRemoved, Subject: SubjectIndicator, Code: "LMM_2", Field: "options[yes]", Before: "100"},
		{Kind: ChangeRemoved, Subject: SubjectIndicator, Code: "LMM_2", Field: "options[no]", Before: "0"},
		{Kind: ChangeModified, Subject: SubjectIndicator, Code: "LMM_3", Field: "number.max", Before: "50", After: "30"},
		{Kind: ChangeModified, Subject: SubjectIndicator, Code: "LMM_3", Field: "number.bands",
			Before: "(-Inf, 3] -> 100; (3, 5] -> 50; (5, +Inf) -> 0", After: "(-Inf, 2] -> 100; (2, 5] -> 50; (5, +Inf) -> 0"},
		{Kind: ChangeMoved, Subject: SubjectIndicator, Code: "LMM_5", Before: "LMM_B", After: "LMM_A"},
		{Kind: ChangeModified, Subject: SubjectGroup, Code: "LMM_B", Field: "children", Before: "LMM_4, LMM_5", After: "LMM_4"},
		{Kind: ChangeModified, Subject: SubjectGroup, Code: "LMM_B", Field: "weights", Before: "LMM_4=0.25, LMM_5=0.75", After: "LMM_4=1"},
		{Kind: ChangeModified, Subject: SubjectGroup, Code: "LMM_B", Field: "missing", Before: "skip", After: "zero"},
		{Kind: ChangeModified, Subject: SubjectIndicator, Code: "FR_3", Field: "condition", Before: "FR_1 in [none]", After: "FR_1 in [none, partial]"},
		{Kind: ChangeModified, Subject: SubjectGroup, Code: "HEALTH", Field: "children", Before: "H_1, H_2, H_3", After: "H_1, H_2, H_4"},
		{Kind: ChangeModified, Subject: SubjectGroup, Code: "HEALTH", Field: "rounding", Before: "none", After: "1 decimals half_even"},
		{Kind: ChangeAdded, Subject: SubjectIndicator, Code: "H_4", After: "HEALTH"},
		{Kind: ChangeRemoved, Subject: SubjectIndicator, Code: "H_3", Before: "HEALTH"},
		{Kind: ChangeModified, Subject: SubjectVariant, Code: "without_health", Field: "areas", Before: "LMM, FR", After: "LMM"},
		{Kind: ChangeAdded, Subject: SubjectVariant, Code: "labour_only", After: "LMM"},
	}
	got := Diff(a, b)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Diff (-want +got):\n%s", diff)
	}
	if again := Diff(a, b); !cmp.Equal(got, again) {
		t.Error("Diff is not deterministic")
	}
}

func TestDiffGroupRulesAndVariants(t *testing.T) {
	a := definition(group("A", Rule{}, scale3("X"), scale3("Y")), group("B", Rule{}, scale3("Z")))
	a.Variants = []Variant{{Name: "all", Areas: []string{"A", "B"}}, {Name: "old", Areas: []string{"A"}}}
	b := definition(group("A", Rule{
		Aggregation: AggregateLookup, MinPresent: 1,
		Lookup: &Lookup{Rows: []LookupRow{{When: []LookupKey{"*", "*"}, Score: ptr(50.0)}}},
	}, scale3("X"), scale3("Y")), group("B", Rule{}, scale3("Z")))
	b.Tree[0].Group.Level = "area"
	b.Variants = []Variant{{Name: "all", Areas: []string{"A", "B"}, Rule: Rule{Aggregation: AggregateMin, Missing: MissingSkip}}}
	want := []Change{
		{Kind: ChangeModified, Subject: SubjectGroup, Code: "A", Field: "level", After: "area"},
		{Kind: ChangeModified, Subject: SubjectGroup, Code: "A", Field: "aggregation", Before: "mean", After: "lookup"},
		{Kind: ChangeModified, Subject: SubjectGroup, Code: "A", Field: "lookup", After: "by option; (*, *) -> 50"},
		{Kind: ChangeModified, Subject: SubjectGroup, Code: "A", Field: "min_present", Before: "0", After: "1"},
		{Kind: ChangeModified, Subject: SubjectVariant, Code: "all", Field: "aggregation", Before: "mean", After: "min"},
		{Kind: ChangeModified, Subject: SubjectVariant, Code: "all", Field: "missing", Before: "require", After: "skip"},
		{Kind: ChangeRemoved, Subject: SubjectVariant, Code: "old", Before: "A"},
	}
	if diff := cmp.Diff(want, Diff(a, b)); diff != "" {
		t.Errorf("Diff (-want +got):\n%s", diff)
	}
}

func TestDiffKindChange(t *testing.T) {
	a := definition(group("A", Rule{}, scale3("X")))
	b := definition(group("A", Rule{}, group("X", Rule{}, scale3("Y"))))
	want := []Change{
		{Kind: ChangeModified, Subject: SubjectGroup, Code: "X", Field: "kind", Before: "indicator", After: "group"},
		{Kind: ChangeAdded, Subject: SubjectIndicator, Code: "Y", After: "X"},
	}
	if diff := cmp.Diff(want, Diff(a, b)); diff != "" {
		t.Errorf("Diff (-want +got):\n%s", diff)
	}
}

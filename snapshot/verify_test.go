package snapshot

import (
	"testing"

	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/google/go-cmp/cmp"
)

var questionnaireMissingNotAnswered = questionnaire.Missing{Reason: questionnaire.ReasonNotAnswered}

// TestVerify alters a built snapshot the ways a store could be altered and
// expects Verify to name each alteration.
func TestVerify(t *testing.T) {
	c := tiny(t)
	built := mustBuild(t, c, example())
	rehash := func(s *Snapshot) { s.Hash, _ = ComputeHash(s) }
	tests := []struct {
		name  string
		alter func(s *Snapshot)
		want  []Mismatch
	}{
		{"untouched", func(*Snapshot) {}, nil},
		{"hash replaced", func(s *Snapshot) { s.Hash = "00" }, []Mismatch{
			{Kind: "hash", Stored: "00", Recomputed: built.Hash},
		}},
		{"answer edited", func(s *Snapshot) { s.Answers[2].Option = "full" }, []Mismatch{
			{Kind: "node", Code: "A", Field: "score", Stored: "66.7", Recomputed: "83.3"},
			{Kind: "node", Code: "A", Field: "unrounded", Stored: "66.66666666666667", Recomputed: "83.33333333333333"},
			{Kind: "node", Code: "X3", Field: "score", Stored: "50", Recomputed: "100"},
			{Kind: "node", Code: "X3", Field: "unrounded", Stored: "50", Recomputed: "100"},
			{Kind: "variant", Code: "overall", Field: "score", Stored: "67", Recomputed: "83"},
			{Kind: "variant", Code: "overall", Field: "unrounded", Stored: "66.66666666666667", Recomputed: "83.33333333333333"},
			{Kind: "hash", Stored: built.Hash, Recomputed: "*"},
		}},
		{"score edited and re-hashed", func(s *Snapshot) { s.Nodes[0].Score = ptr(70.0); rehash(s) }, []Mismatch{
			{Kind: "node", Code: "A", Field: "score", Stored: "70", Recomputed: "66.7"},
		}},
		{"score removed", func(s *Snapshot) { s.Variants[0].Score, s.Variants[0].Unrounded = nil, nil; rehash(s) }, []Mismatch{
			{Kind: "variant", Code: "overall", Field: "score", Stored: "null", Recomputed: "67"},
			{Kind: "variant", Code: "overall", Field: "unrounded", Stored: "null", Recomputed: "66.66666666666667"},
		}},
		{"override planted", func(s *Snapshot) { s.Overrides = []Override{{Node: "X1", Score: 100, Reason: "r"}}; rehash(s) }, []Mismatch{
			{Kind: "node", Code: "A", Field: "score", Stored: "66.7", Recomputed: "83.3"},
			{Kind: "node", Code: "A", Field: "unrounded", Stored: "66.66666666666667", Recomputed: "83.33333333333333"},
			{Kind: "node", Code: "X1", Field: "score", Stored: "50", Recomputed: "100"},
			{Kind: "node", Code: "X1", Field: "unrounded", Stored: "50", Recomputed: "100"},
			{Kind: "node", Code: "X1", Field: "override", Stored: "null", Recomputed: `{"computed":50,"reason":"r"}`},
			{Kind: "variant", Code: "overall", Field: "score", Stored: "67", Recomputed: "83"},
			{Kind: "variant", Code: "overall", Field: "unrounded", Stored: "66.66666666666667", Recomputed: "83.33333333333333"},
		}},
		{"missing reason edited", func(s *Snapshot) {
			s.Nodes[1].Score, s.Nodes[1].Unrounded = nil, nil
			s.Nodes[1].Missing = &questionnaireMissingNotAnswered
			rehash(s)
		}, []Mismatch{
			{Kind: "node", Code: "X1", Field: "score", Stored: "null", Recomputed: "50"},
			{Kind: "node", Code: "X1", Field: "unrounded", Stored: "null", Recomputed: "50"},
			{Kind: "node", Code: "X1", Field: "missing", Stored: `{"child":"","detail":"","reason":"not_answered"}`, Recomputed: "null"},
		}},
		{"node dropped, node invented", func(s *Snapshot) {
			s.Nodes[3].Code = "X4"
			rehash(s)
		}, []Mismatch{
			{Kind: "node", Code: "X3", Field: "presence", Stored: "absent", Recomputed: "present"},
			{Kind: "node", Code: "X4", Field: "presence", Stored: "present", Recomputed: "absent"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustBuild(t, c, example())
			tt.alter(s)
			got := Verify(s, c)
			// The recomputed hash of altered content is whatever it is;
			// "*" in want says only that it differs.
			for i := range tt.want {
				if tt.want[i].Recomputed == "*" && i < len(got) && got[i].Kind == "hash" && got[i].Recomputed != got[i].Stored {
					tt.want[i].Recomputed = got[i].Recomputed
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatches (-want +got):\n%s", diff)
			}
		})
	}
}

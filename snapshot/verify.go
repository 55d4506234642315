package snapshot

import (
	"fmt"
	"math"

	"github.com/expertsurvey/expertsurvey/questionnaire"
)

// Mismatch is one difference Verify found between a stored snapshot and
// what its content recomputes to.
type Mismatch struct {
	// Kind is "hash", "node" or "variant".
	Kind string
	// Code is the node code or variant name; empty for the hash.
	Code string
	// Field is the part that differs: "score", "unrounded", "missing",
	// "override" or "presence" (the node exists on one side only); empty
	// for the hash.
	Field string
	// Stored and Recomputed are the two values in canonical JSON ("66.7",
	// "null", {"child":"","detail":"","reason":"not_answered"}), or the two
	// hashes.
	Stored     string
	Recomputed string
}

func (m Mismatch) String() string {
	if m.Kind == "hash" {
		return fmt.Sprintf("hash: stored %s, recomputed %s", m.Stored, m.Recomputed)
	}
	return fmt.Sprintf("%s %s %s: stored %s, recomputed %s", m.Kind, m.Code, m.Field, m.Stored, m.Recomputed)
}

// Verify recomputes s's scores from its answers and overrides with c (the
// compiled questionnaire version s names) and its hash from its content as
// stored, and reports every difference, in tree order, the hash last. No
// mismatch means the stored scores follow from the stored answers and
// nothing was changed since the hash was taken.
//
// The two checks catch different things: an answer edited in the store
// changes the hash; scores edited and re-hashed by someone who knows this
// document fail the recomputation; a change of the scoring engine that
// alters a published number fails it too.
func Verify(s *Snapshot, c *questionnaire.Compiled) []Mismatch {
	var out []Mismatch
	res := c.Score(ScoringAnswers(s.Answers), ScoringOverrides(s.Overrides))

	stored := make(map[string]*questionnaire.NodeScore, len(s.Nodes))
	for i := range s.Nodes {
		stored[s.Nodes[i].Code] = &s.Nodes[i]
	}
	seen := make(map[string]bool, len(res.Nodes))
	for i := range res.Nodes {
		re := &res.Nodes[i]
		seen[re.Code] = true
		st, ok := stored[re.Code]
		if !ok {
			out = append(out, Mismatch{Kind: "node", Code: re.Code, Field: "presence", Stored: "absent", Recomputed: "present"})
			continue
		}
		out = compareScore(out, "node", re.Code, st.Score, st.Unrounded, st.Missing, re.Score, re.Unrounded, re.Missing)
		if a, b := overrideJSON(st.Override), overrideJSON(re.Override); a != b {
			out = append(out, Mismatch{Kind: "node", Code: re.Code, Field: "override", Stored: a, Recomputed: b})
		}
	}
	for _, st := range s.Nodes {
		if !seen[st.Code] {
			out = append(out, Mismatch{Kind: "node", Code: st.Code, Field: "presence", Stored: "present", Recomputed: "absent"})
		}
	}

	storedV := make(map[string]*questionnaire.VariantScore, len(s.Variants))
	for i := range s.Variants {
		storedV[s.Variants[i].Name] = &s.Variants[i]
	}
	seenV := make(map[string]bool, len(res.Variants))
	for i := range res.Variants {
		re := &res.Variants[i]
		seenV[re.Name] = true
		st, ok := storedV[re.Name]
		if !ok {
			out = append(out, Mismatch{Kind: "variant", Code: re.Name, Field: "presence", Stored: "absent", Recomputed: "present"})
			continue
		}
		out = compareScore(out, "variant", re.Name, st.Score, st.Unrounded, st.Missing, re.Score, re.Unrounded, re.Missing)
	}
	for _, st := range s.Variants {
		if !seenV[st.Name] {
			out = append(out, Mismatch{Kind: "variant", Code: st.Name, Field: "presence", Stored: "present", Recomputed: "absent"})
		}
	}

	h, err := ComputeHash(s)
	if err != nil {
		h = "(cannot serialise: " + err.Error() + ")"
	}
	if h != s.Hash {
		out = append(out, Mismatch{Kind: "hash", Stored: s.Hash, Recomputed: h})
	}
	return out
}

func compareScore(out []Mismatch, kind, code string, score, unrounded *float64, miss *questionnaire.Missing, rScore, rUnrounded *float64, rMiss *questionnaire.Missing) []Mismatch {
	if !sameFloat(score, rScore) {
		out = append(out, Mismatch{Kind: kind, Code: code, Field: "score", Stored: floatJSON(score), Recomputed: floatJSON(rScore)})
	}
	if !sameFloat(unrounded, rUnrounded) {
		out = append(out, Mismatch{Kind: kind, Code: code, Field: "unrounded", Stored: floatJSON(unrounded), Recomputed: floatJSON(rUnrounded)})
	}
	if a, b := missingJSON(miss), missingJSON(rMiss); a != b {
		out = append(out, Mismatch{Kind: kind, Code: code, Field: "missing", Stored: a, Recomputed: b})
	}
	return out
}

// sameFloat compares exactly: the engine is deterministic and float64
// survives JSON and BSON unchanged, so any difference is real.
func sameFloat(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Float64bits(*a) == math.Float64bits(*b) || *a == *b
}

func floatJSON(f *float64) string { return canonicalString(floatDoc(f)) }

func missingJSON(m *questionnaire.Missing) string { return canonicalString(missingDoc(m)) }

func overrideJSON(o *questionnaire.AppliedOverride) string {
	if o == nil {
		return "null"
	}
	return canonicalString(object{{"computed", floatDoc(o.Computed)}, {"reason", o.Reason}})
}

// canonicalString renders one value for a report; a value that cannot be
// serialised (a NaN planted in the store) is shown with Go's formatting.
func canonicalString(v any) string {
	var e encoder
	e.value(v)
	if e.err != nil {
		return fmt.Sprint(v)
	}
	return e.buf.String()
}

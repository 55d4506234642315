// Package questionnaire models the instrument behind a comparative policy
// index: a versioned tree of groups (policy areas, dimensions, composites)
// whose leaves are indicators that national experts answer, together with
// the rules that turn one country's answers into scores at every node.
//
// The package is pure domain code. It knows nothing about HTTP or storage,
// so that published scores stay a recomputable function of (questionnaire
// version, frozen answers) that any caller can reproduce.
//
// The pieces, one file each:
//
//   - model.go: the Definition (the content of one questionnaire version) and
//     its nodes, texts and rules. Its JSON and YAML tags are the file format
//     documented in docs/questionnaire-format.md; the storage adapter keeps a
//     version's definition as its JSON encoding, which is why no indicator
//     code is ever used as a map key (stores forbid "." and a leading "$").
//   - validate.go: Definition.Validate reports every problem at once;
//     Compile turns a valid Definition into an immutable, indexed Compiled
//     form that answers CheckAnswer and Applicable in constant time per call.
//   - score.go: Compiled.Score, the deterministic scoring engine.
//   - format.go: DecodeDefinition and EncodeDefinition for YAML and JSON.
//   - diff.go: Diff between two versions, matched by stable codes.
//   - lifecycle.go: the draft/published Status of a version.
package questionnaire

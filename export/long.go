package export

import (
	"slices"
	"strings"

	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
	"github.com/expertsurvey/expertsurvey/snapshot"
)

// sheetColumns identify the snapshot a row comes from; both shapes start
// with them.
var sheetColumns = []string{"round", "country", "revision", "questionnaire", "version", "locked_at", "snapshot_hash"}

var longColumns = append(slices.Clone(sheetColumns),
	"indicator", "option", "value", "text", "not_applicable", "na_reason",
	"score", "missing_reason", "override_score", "override_reason",
	"comment", "sources", "verdicts", "adjudicated_option", "adjudication_rationale",
	"carried", "changed", "justification", "inapplicable",
)

func sheetCells(cells []cell, s *snapshot.Snapshot) []cell {
	lockedAt := ""
	if !s.LockedAt.IsZero() {
		lockedAt = s.LockedAt.UTC().Format(snapshot.TimeLayout)
	}
	return append(cells,
		text(s.Round), text(s.Country), number(float64(s.Revision)), text(s.Questionnaire),
		text(s.Version), text(lockedAt), text(s.Hash))
}

func writeLong(t table, rounds []Round) error {
	if err := t.header(longColumns); err != nil {
		return err
	}
	cells := make([]cell, 0, len(longColumns))
	for _, r := range rounds {
		tree := walk(r.Definition)
		for s, err := range r.Sheets {
			if err != nil {
				return err
			}
			scores := tree.scores(s)
			for _, n := range tree.nodes {
				if n.ind == nil {
					continue
				}
				cells = longRow(sheetCells(cells[:0], s), n.code, answerOf(s, n.code), scores.node(n.code), overrideOf(s, n.code))
				if err := t.row(cells); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func longRow(cells []cell, code string, a *snapshot.Answer, ns *questionnaire.NodeScore, o *snapshot.Override) []cell {
	cells = append(cells, text(code))
	if a == nil {
		a = &snapshot.Answer{}
	}
	cells = append(cells, text(a.Option), optNumber(a.Value), text(a.Text), boolean(a.NotApplicable), text(a.NAReason))
	if ns != nil {
		reason := ""
		if ns.Missing != nil {
			reason = string(ns.Missing.Reason)
		}
		cells = append(cells, optNumber(ns.Score), text(reason))
	} else {
		cells = append(cells, cell{}, cell{})
	}
	if o != nil {
		cells = append(cells, number(o.Score), text(o.Reason))
	} else {
		cells = append(cells, cell{}, cell{})
	}
	cells = append(cells, text(a.Comment), sourcesCell(a.Sources), verdictsCell(a.Verdicts))
	if adj := a.Adjudication; adj != nil {
		cells = append(cells, text(adj.Option), text(adj.Rationale))
	} else {
		cells = append(cells, cell{}, cell{})
	}
	return append(cells, boolean(a.Carried), boolean(a.Changed), text(a.Justification), boolean(a.Inapplicable))
}

// sourceJSON is a source in JSON exports.
type sourceJSON struct {
	Kind      string `json:"kind"`
	Title     string `json:"title"`
	Reference string `json:"reference,omitempty"`
	URL       string `json:"url,omitempty"`
	TextDate  string `json:"text_date,omitempty"`
	Accessed  string `json:"accessed,omitempty"`
	Language  string `json:"language,omitempty"`
	Excerpt   string `json:"excerpt,omitempty"`
}

// sourcesCell joins the sources for flat formats, one per line, fields
// separated by " | " in a fixed order; JSON gets them as objects.
func sourcesCell(sources []round.Source) cell {
	if len(sources) == 0 {
		return cell{}
	}
	structured := make([]sourceJSON, len(sources))
	var b strings.Builder
	for i, s := range sources {
		structured[i] = sourceJSON{Kind: string(s.Kind), Title: s.Title, Reference: s.Reference, URL: s.URL, TextDate: s.TextDate, Accessed: s.Accessed, Language: s.Language, Excerpt: s.Excerpt}
		if i > 0 {
			b.WriteByte('\n')
		}
		for k, f := range []string{string(s.Kind), s.Title, s.Reference, s.URL, s.TextDate, s.Accessed, s.Language, s.Excerpt} {
			if k > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(oneLine(f))
		}
	}
	return cell{kind: textCell, text: b.String(), structured: structured}
}

// verdictJSON is a reviewer's verdict in JSON exports; the reviewer is left
// out, as in every export, because reviews may be blind and exports
// public.
type verdictJSON struct {
	AnswerVersion   int    `json:"answer_version"`
	Verdict         string `json:"verdict"`
	SuggestedOption string `json:"suggested_option,omitempty"`
	Reason          string `json:"reason,omitempty"`
	At              string `json:"at,omitempty"`
}

// verdictsCell joins the verdicts like sources: verdict | suggested option
// | reason | time, one per line.
func verdictsCell(verdicts []snapshot.Verdict) cell {
	if len(verdicts) == 0 {
		return cell{}
	}
	structured := make([]verdictJSON, len(verdicts))
	var b strings.Builder
	for i, v := range verdicts {
		at := ""
		if !v.At.IsZero() {
			at = v.At.UTC().Format(snapshot.TimeLayout)
		}
		structured[i] = verdictJSON{AnswerVersion: v.AnswerVersion, Verdict: v.Verdict, SuggestedOption: v.SuggestedOption, Reason: v.Reason, At: at}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(oneLine(v.Verdict) + " | " + oneLine(v.SuggestedOption) + " | " + oneLine(v.Reason) + " | " + at)
	}
	return cell{kind: textCell, text: b.String(), structured: structured}
}

// oneLine keeps a joined field on its line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}

// answerOf finds the answer to code; Build sorts answers by indicator.
func answerOf(s *snapshot.Snapshot, code string) *snapshot.Answer {
	i, ok := slices.BinarySearchFunc(s.Answers, code, func(a snapshot.Answer, c string) int { return strings.Compare(a.Indicator, c) })
	if ok {
		return &s.Answers[i]
	}
	// A snapshot assembled by hand may be unsorted.
	for i := range s.Answers {
		if s.Answers[i].Indicator == code {
			return &s.Answers[i]
		}
	}
	return nil
}

func overrideOf(s *snapshot.Snapshot, node string) *snapshot.Override {
	for i := range s.Overrides {
		if s.Overrides[i].Node == node {
			return &s.Overrides[i]
		}
	}
	return nil
}

// tree is a definition's nodes in pre-order, as the scoring engine lists
// them.
type tree struct {
	nodes []treeNode
	pos   map[string]int
}

type treeNode struct {
	code   string
	parent string
	depth  int
	group  *questionnaire.Group
	ind    *questionnaire.Indicator
}

func walk(d *questionnaire.Definition) *tree {
	t := &tree{pos: map[string]int{}}
	var visit func(nodes []questionnaire.Node, parent string, depth int)
	visit = func(nodes []questionnaire.Node, parent string, depth int) {
		for _, n := range nodes {
			tn := treeNode{code: n.Code(), parent: parent, depth: depth, group: n.Group, ind: n.Indicator}
			if tn.group == nil && tn.ind == nil {
				continue
			}
			if _, dup := t.pos[tn.code]; !dup {
				t.pos[tn.code] = len(t.nodes)
			}
			t.nodes = append(t.nodes, tn)
			if n.Group != nil {
				visit(n.Group.Children, tn.code, depth+1)
			}
		}
	}
	if d != nil {
		visit(d.Tree, "", 0)
	}
	return t
}

// nodeScores finds a snapshot's node scores by code.
type nodeScores struct {
	s      *snapshot.Snapshot
	pos    map[string]int // the tree's positions, when the snapshot follows the tree
	byCode map[string]int // else its own
}

// scores indexes s's node scores. A snapshot scored with this tree lists
// its nodes in the same order, so the tree's index serves and no map is
// built per country.
func (t *tree) scores(s *snapshot.Snapshot) nodeScores {
	same := len(s.Nodes) == len(t.nodes)
	for i := 0; same && i < len(t.nodes); i++ {
		same = s.Nodes[i].Code == t.nodes[i].code
	}
	if same {
		return nodeScores{s: s, pos: t.pos}
	}
	m := make(map[string]int, len(s.Nodes))
	for i := range s.Nodes {
		if _, dup := m[s.Nodes[i].Code]; !dup {
			m[s.Nodes[i].Code] = i
		}
	}
	return nodeScores{s: s, byCode: m}
}

func (ns nodeScores) node(code string) *questionnaire.NodeScore {
	idx := ns.pos
	if idx == nil {
		idx = ns.byCode
	}
	if i, ok := idx[code]; ok {
		return &ns.s.Nodes[i]
	}
	return nil
}

func (ns nodeScores) variant(name string) *questionnaire.VariantScore {
	for i := range ns.s.Variants {
		if ns.s.Variants[i].Name == name {
			return &ns.s.Variants[i]
		}
	}
	return nil
}

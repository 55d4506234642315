package export

import (
	"fmt"
	"slices"

	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/snapshot"
)

// NotApplicableMark fills the answer cell of a wide row when the expert
// marked the indicator not applicable; its score cell is empty like that of
// any missing score.
const NotApplicableMark = "n/a"

// wideColumn is one column of the wide format beyond the sheet columns.
type wideColumn struct {
	name string
	code string
	kind wideKind
}

type wideKind uint8

const (
	answerColumn wideKind = iota
	scoreColumn
	variantColumn
)

// wideColumns lists, for the union of the rounds' definitions matched by
// code: for every node in pre-order, "<code>" (an indicator's answer) and
// "<code>_score"; then "variant_<name>" for every variant. Nodes and
// variants only a later version has come after those of earlier ones.
func wideColumns(rounds []Round) ([]wideColumn, error) {
	var cols []wideColumn
	seenNode := map[string]bool{}
	seenVariant := map[string]bool{}
	var variants []wideColumn
	for _, r := range rounds {
		for _, n := range walk(r.Definition).nodes {
			if seenNode[n.code] {
				continue
			}
			seenNode[n.code] = true
			if n.ind != nil {
				for _, o := range n.ind.Options {
					if o.Code == NotApplicableMark {
						return nil, fmt.Errorf("%w: indicator %s has an option coded %q, the wide format's mark for not applicable: export the long format", ErrInvalid, n.code, NotApplicableMark)
					}
				}
				cols = append(cols, wideColumn{name: n.code, code: n.code, kind: answerColumn})
			}
			cols = append(cols, wideColumn{name: n.code + "_score", code: n.code, kind: scoreColumn})
		}
		for _, v := range r.Definition.Variants {
			if !seenVariant[v.Name] {
				seenVariant[v.Name] = true
				variants = append(variants, wideColumn{name: "variant_" + v.Name, code: v.Name, kind: variantColumn})
			}
		}
	}
	cols = append(cols, variants...)
	names := map[string]bool{}
	for _, c := range sheetColumns {
		names[c] = true
	}
	for _, c := range cols {
		if names[c.name] {
			return nil, fmt.Errorf("%w: two columns named %q: a code collides with another code's column", ErrInvalid, c.name)
		}
		names[c.name] = true
	}
	return cols, nil
}

func writeWide(t table, rounds []Round) error {
	cols, err := wideColumns(rounds)
	if err != nil {
		return err
	}
	header := slices.Clone(sheetColumns)
	for _, c := range cols {
		header = append(header, c.name)
	}
	if err := t.header(header); err != nil {
		return err
	}
	cells := make([]cell, 0, len(header))
	for _, r := range rounds {
		tree := walk(r.Definition)
		for s, err := range r.Sheets {
			if err != nil {
				return err
			}
			scores := tree.scores(s)
			cells = sheetCells(cells[:0], s)
			for _, c := range cols {
				switch c.kind {
				case answerColumn:
					cells = append(cells, answerCell(answerOf(s, c.code)))
				case scoreColumn:
					cells = append(cells, nodeScoreCell(scores.node(c.code)))
				case variantColumn:
					if v := scores.variant(c.code); v != nil {
						cells = append(cells, optNumber(v.Score))
					} else {
						cells = append(cells, cell{})
					}
				}
			}
			if err := t.row(cells); err != nil {
				return err
			}
		}
	}
	return nil
}

// answerCell is an indicator's answer in a wide row: the option code, the
// number, the text, or NotApplicableMark; empty when not answered.
func answerCell(a *snapshot.Answer) cell {
	switch {
	case a == nil:
		return cell{}
	case a.NotApplicable:
		return text(NotApplicableMark)
	case a.Value != nil:
		return number(*a.Value)
	case a.Option != "":
		return text(a.Option)
	}
	return text(a.Text)
}

func nodeScoreCell(ns *questionnaire.NodeScore) cell {
	if ns == nil {
		return cell{}
	}
	return optNumber(ns.Score)
}

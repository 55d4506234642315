package export

import (
	"io"
	"iter"
	"strings"

	"github.com/expertsurvey/expertsurvey/snapshot"
)

var comparisonColumns = []string{
	"country", "round_a", "round_b", "revision_a", "revision_b", "kind", "code",
	"score_a", "score_b", "delta", "answer_changed", "answer_a", "answer_b", "changed_fields",
}

// Comparison writes two rounds side by side, as snapshot.CompareRounds
// yields them: one row per country and node, then per country and
// variant, with both scores and their difference; the rows of indicators
// whose response changed also carry both answers.
func Comparison(w io.Writer, f Format, comparisons iter.Seq2[*snapshot.Comparison, error]) error {
	t, err := newTable(w, f, "comparison")
	if err != nil {
		return err
	}
	return finish(t, writeComparison(t, comparisons))
}

func writeComparison(t table, comparisons iter.Seq2[*snapshot.Comparison, error]) error {
	if err := t.header(comparisonColumns); err != nil {
		return err
	}
	cells := make([]cell, 0, len(comparisonColumns))
	for c, err := range comparisons {
		if err != nil {
			return err
		}
		changed := make(map[string]*snapshot.AnswerChange, len(c.Changed))
		for i := range c.Changed {
			changed[c.Changed[i].Indicator] = &c.Changed[i]
		}
		revision := func(round string, r int) cell {
			if round == "" {
				return cell{}
			}
			return number(float64(r))
		}
		for _, s := range c.Scores {
			kind, code := "node", s.Node
			if s.Node == "" {
				kind, code = "variant", s.Variant
			}
			cells = append(cells[:0], text(c.Country), text(c.RoundA), text(c.RoundB),
				revision(c.RoundA, c.RevisionA), revision(c.RoundB, c.RevisionB), text(kind), text(code),
				optNumber(s.Before), optNumber(s.After), optNumber(s.Delta))
			if ch := changed[code]; ch != nil && kind == "node" {
				cells = append(cells, boolean(true), answerCell(ch.Before), answerCell(ch.After), text(strings.Join(ch.Fields, ", ")))
			} else {
				cells = append(cells, cell{}, cell{}, cell{}, cell{})
			}
			if err := t.row(cells); err != nil {
				return err
			}
		}
	}
	return nil
}

package review

import (
	"fmt"
	"time"
)

// Target names an answer version, for moves on several answers at once.
type Target struct {
	Indicator string
	Version   int
}

// ApproveMany approves several answers in one go, all or nothing: each approval is its own
// Change (one verdict, audited as such), computed as if the approvals before it had been
// applied, so that the round appends them together and the sheet's automatic moves come out
// right (the review starts with the first, the sheet is ready to lock with the last). The
// first refusal refuses them all, wrapped with the indicator it concerns.
func (s *Sheet) ApproveMany(actor Actor, targets []Target) ([]Change, error) {
	scratch := s.clone()
	out := make([]Change, 0, len(targets))
	for _, t := range targets {
		c, err := scratch.Approve(actor, t.Indicator, t.Version)
		if err != nil {
			return nil, fmt.Errorf("answer %s: %w", t.Indicator, err)
		}
		scratch.Apply(c, time.Time{})
		out = append(out, c)
	}
	return out, nil
}

// Confirm is the expert (or a coordinator) confirming answers carried from the previous round
// unchanged: each becomes a new version by them, so that the answer is theirs before it is
// submitted (and nobody they confirmed for reviews it). One change per answer, all or nothing,
// as in ApproveMany; the first starts the sheet.
func (s *Sheet) Confirm(actor Actor, targets []Target) ([]Change, error) {
	scratch := s.clone()
	out := make([]Change, 0, len(targets))
	for _, t := range targets {
		_, c, err := scratch.answerMove(actor, MoveConfirm, t.Indicator, t.Version)
		if err != nil {
			return nil, fmt.Errorf("answer %s: %w", t.Indicator, err)
		}
		if row, _ := sheetRow(scratch.state(), MoveConfirm); row.To != scratch.state() {
			c.Sheet = []SheetStep{{Move: MoveConfirm, From: scratch.state(), To: row.To}}
		}
		scratch.Apply(c, time.Time{})
		out = append(out, c)
	}
	return out, nil
}

// Awaiting lists, in indicator order, the answers waiting for a verdict from reviewer at their
// current versions: a reviewer's work on the sheet, and "approve all remaining".
func (s *Sheet) Awaiting(reviewer string) []Target {
	var out []Target
	for a := range s.EachAnswer() {
		if a.AwaitsVerdictFrom(reviewer) {
			out = append(out, Target{Indicator: a.Indicator, Version: a.Version})
		}
	}
	return out
}

// clone copies the sheet; Apply on the copy leaves s as it was (see answerList).
func (s *Sheet) clone() *Sheet {
	c := *s
	return &c
}

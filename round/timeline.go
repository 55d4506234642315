package round

import (
	"context"
	"fmt"
	"time"

	"github.com/expertsurvey/expertsurvey/auth"
)

// TimelineItem is one thing that happened to a sheet: a content write, a review move, a comment,
// a status change. A log entry gives one item per answer it wrote outside a review move and one
// per review move (a bulk approval gives one per answer), in log order.
type TimelineItem struct {
	Seq       int64
	At        time.Time
	Actor     string // labelled for the reader
	Action    string // the review move ("review.approve") or the entry's action ("answers.carry")
	Indicator string
	// Version is the answer version the item wrote, or the one a move was based on.
	Version  int
	Decision string // of a verdict
	Reason   string
	Text     string // a comment's, a rebuttal's, an adjudication's rationale
	Content  *Content
	Score    *float64 // of an override
	// From and To are the sheet's status before and after, when the item changed it.
	From, To SheetStatus
}

// maxTimelineWindow is how many log entries one read of the timeline fetches at a time.
const maxTimelineWindow = 64

// Timeline lists what happened to a sheet (or, with indicator set, to one answer), oldest first,
// from log position after+1 on, until at least limit items (a log entry is never split). next
// is the position to pass as after for the next page, 0 after the last.
func (s *Service) Timeline(ctx context.Context, p auth.Principal, roundID, country, indicator string, after int64, limit int) ([]TimelineItem, int64, error) {
	r, _, inst, err := s.roundAndCountry(ctx, p, auth.ReadSheet, roundID, country)
	if err != nil {
		return nil, 0, err
	}
	if indicator != "" {
		if _, ok := inst.Indicator(indicator); !ok {
			return nil, 0, fmt.Errorf("indicator %q is not in the round's questionnaire: %w", indicator, ErrNotFound)
		}
	}
	sh, err := s.sheetOf(ctx, r, country)
	if err != nil {
		return nil, 0, err
	}
	labels := labelsFor(p, r, sh)
	var out []TimelineItem
	seq := max(after, 0)
	for seq < sh.Seq && len(out) < limit {
		n := min(int64(maxTimelineWindow), sh.Seq-seq)
		seqs := make([]int64, n)
		for i := range seqs {
			seqs[i] = seq + 1 + int64(i)
		}
		entries, err := s.sheets.SheetEntries(ctx, roundID, country, seqs)
		if err != nil {
			return nil, 0, err
		}
		for _, e := range entries {
			seq = e.Seq
			for _, it := range timelineOf(e) {
				if indicator == "" || it.Indicator == indicator {
					it.Actor = labels.Of(it.Actor)
					out = append(out, it)
				}
			}
			if len(out) >= limit {
				break
			}
		}
	}
	if seq >= sh.Seq {
		seq = 0
	}
	return out, seq, nil
}

// timelineOf turns one log entry into timeline items.
func timelineOf(e Entry) []TimelineItem {
	var out []TimelineItem
	base := TimelineItem{Seq: e.Seq, At: e.Time, Actor: e.Actor, Action: e.Change.Action}
	content := map[string]Content{}
	for i := range e.Change.Answers {
		content[e.Change.Answers[i].Indicator] = e.Change.Answers[i].Content()
	}
	covered := map[string]bool{}
	for _, rc := range e.Change.Review {
		it := base
		it.Action, it.Indicator, it.Version, it.Reason = string(rc.Move), rc.Indicator, rc.Version, rc.Reason
		if rc.WritesContent() {
			it.Version = rc.Version + 1
			if c, ok := content[rc.Indicator]; ok {
				it.Content = &c
				covered[rc.Indicator] = true
			}
		}
		switch {
		case rc.Verdict != nil:
			it.Decision, it.Reason = string(rc.Verdict.Decision), rc.Verdict.Reason
		case rc.Rebuttal != nil:
			it.Text = rc.Rebuttal.Text
		case rc.Adjudication != nil:
			it.Text = rc.Adjudication.Rationale
		case rc.Override != nil:
			it.Score = rc.Override.Score
		case rc.Comment != nil:
			it.Text = rc.Comment.Text
		}
		if len(rc.Sheet) > 0 {
			it.From, it.To = SheetStatus(rc.Sheet[0].From), SheetStatus(rc.Sheet[len(rc.Sheet)-1].To)
		}
		out = append(out, it)
	}
	for i := range e.Change.Answers {
		a := &e.Change.Answers[i]
		if covered[a.Indicator] {
			continue // the review move's item shows it
		}
		it := base
		c := a.Content()
		it.Indicator, it.Content = a.Indicator, &c
		out = append(out, it)
	}
	if len(e.Change.Review) == 0 && e.Change.Status != "" && len(e.Change.Answers) == 0 {
		it := base
		it.To, it.Reason = e.Change.Status, e.Change.Reason
		out = append(out, it)
	}
	return out
}

package round

import (
	"context"

	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/review"
)

// Freezer turns a locked sheet into its frozen, scored snapshot. The round package declares it
// and calls it; package publish implements it (the snapshot package builds on this one, so the
// dependency points the other way). Freeze must be idempotent: it is called again for a sheet
// whose snapshot exists, whenever a locked sheet is read or locked, so that a lock interrupted
// between its log entry and the snapshot is completed by the next one who comes along.
type Freezer interface {
	Freeze(ctx context.Context, r *Round, inst *questionnaire.Compiled, sh *Sheet) error
}

// SetFreezer has every lock frozen by f. Without one, locks are log entries only.
func (s *Service) SetFreezer(f Freezer) { s.freezer = f }

// freeze completes the snapshot of sh when it is locked; the lock entry is the truth, the
// snapshot follows from it.
func (s *Service) freeze(ctx context.Context, r *Round, inst *questionnaire.Compiled, sh *Sheet) error {
	if s.freezer == nil || sh == nil || sh.Status != SheetLocked {
		return nil
	}
	return s.freezer.Freeze(ctx, r, inst, sh)
}

// Revision is the snapshot revision of a sheet's latest lock: how many locks its history holds
// (0 when it was never locked). A reopen and a new lock make the next revision.
func Revision(sh *Sheet) int {
	n := 0
	for _, h := range sh.Review.History {
		if h.Move == review.MoveLock && h.To == review.SheetLocked {
			n++
		}
	}
	return n
}

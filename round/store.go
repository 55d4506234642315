package round

import (
	"context"
	"time"
)

// SheetStore keeps each sheet as an append-only log of changes plus a projection of its current
// state. Appending is the insert of the log entry at position Seq+1 under a unique key, so of
// two writers who read the same state exactly one lands; the other is asked again on the fresh
// state. That is the whole concurrency guarantee, and it holds across service instances and on
// a store whose updates are not atomic.
type SheetStore interface {
	// Sheet returns the sheet with every logged change applied, or ErrNotFound.
	Sheet(ctx context.Context, round, country string) (*Sheet, error)
	// UpdateSheet loads the sheet (empty, at position 0 and not started, when nobody wrote to it
	// yet), asks decide for the change to make and appends it at the next
	// position; when another writer took that position first it reloads and asks decide again.
	// decide returns nil for "nothing to do" and an error to refuse. The actor and request id
	// come from the context (package audit); the entry is the change's audit event.
	UpdateSheet(ctx context.Context, round, country string, decide func(*Sheet) (*Change, error)) (*Sheet, error)
	// SheetEntries returns the sheet's log entries at the given positions, in that order.
	SheetEntries(ctx context.Context, round, country string, seqs []int64) ([]Entry, error)
}

// Entry is one logged change with who made it and when.
type Entry struct {
	Seq       int64
	Change    Change
	Actor     string
	Time      time.Time
	RequestID string
}

// RoundStore keeps rounds. Every change is a new version written as the insert of log entry
// Version under a unique key, so a change based on a stale version is refused, never applied.
type RoundStore interface {
	// Round returns the current version of a round, or ErrNotFound.
	Round(ctx context.Context, id string) (*Round, error)
	// SaveRound writes r as version r.Version, recording action and the replaced state (nil
	// for a new round). It reports ErrStale when that version exists already (ErrConflict for
	// a new round whose id is taken).
	SaveRound(ctx context.Context, before, r *Round, action string) error
	// Rounds lists every round, by id.
	Rounds(ctx context.Context) ([]Round, error)
}

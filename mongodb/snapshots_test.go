package mongodb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/round"
	"github.com/expertsurvey/expertsurvey/snapshot"
)

// TestSnapshotsAreWrittenWithMajority: an instance connected to a server by its URI (MongoDB in
// production; here the embedded store, as a second instance reaches it) inserts snapshots with
// write concern majority, so that a published number survives a fail-over; the process that
// runs the embedded store (one node, nothing to replicate to) uses the server's default. The
// server takes the majority insert, and the write-once rule holds across instances: the same
// snapshot again is a no-op, another content under the same id a conflict.
func TestSnapshotsAreWrittenWithMajority(t *testing.T) {
	ctx := context.Background()
	first := mongodbtest.New(t)
	second := mongodbtest.SecondInstance(t, first)
	if second.Embedded() {
		t.Fatal("a store opened by URI says it runs the embedded server")
	}
	if wc := second.SnapshotsWriteConcern(); wc == nil || wc.W != writeconcern.Majority().W {
		t.Fatalf("snapshots over a server connection are written with %+v, want majority", wc)
	}
	if first.Embedded() && first.SnapshotsWriteConcern() != nil {
		t.Fatalf("the embedded store's own snapshots ask for %+v", first.SnapshotsWriteConcern())
	}

	snap := &snapshot.Snapshot{Round: "wc", Country: "AT", Questionnaire: "q", Version: "1", Revision: 1, LockedBy: "u_c",
		LockedAt: time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC), Hash: "1f0e"}
	if err := second.InsertSnapshot(ctx, snap); err != nil {
		t.Fatalf("insert with majority: %v", err)
	}
	got, err := first.Snapshot(ctx, "wc", "AT", 1)
	if err != nil || got.Hash != snap.Hash || !got.LockedAt.Equal(snap.LockedAt) {
		t.Fatalf("read back: %+v %v", got, err)
	}
	if err := first.InsertSnapshot(ctx, snap); err != nil {
		t.Fatalf("the same snapshot again: %v", err)
	}
	other := *snap
	other.Hash = "2a2b"
	if err := first.InsertSnapshot(ctx, &other); !errors.Is(err, round.ErrConflict) {
		t.Fatalf("another content under the same id: %v, want a conflict", err)
	}
}

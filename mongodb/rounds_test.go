package mongodb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/round"
)

// A round cached by one instance still shows another instance's change on the next read, and
// a change based on a stale version is refused on both.
func TestRoundChangesAreSeenAcrossInstances(t *testing.T) {
	s := mongodbtest.New(t)
	other := mongodbtest.SecondInstance(t, s)
	ctx := context.Background()
	r := &round.Round{ID: "r1", Name: "One", Countries: []string{"AT"}, Status: round.StatusDraft, Version: 1, UpdatedAt: time.Now()}
	if err := s.SaveRound(ctx, nil, r, "round.create"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Round(ctx, "r1"); err != nil { // cached here now
		t.Fatal(err)
	}
	seen, err := other.Round(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	next := *seen
	next.Status, next.Version = round.StatusOpen, 2
	if err := other.SaveRound(ctx, seen, &next, "round.status.open"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Round(ctx, "r1")
	if err != nil || got.Version != 2 || got.Status != round.StatusOpen {
		t.Fatalf("first instance reads %+v, %v; want version 2, open", got, err)
	}
	stale := *r
	stale.Version, stale.Name = 2, "Renamed"
	if err := s.SaveRound(ctx, r, &stale, "round.update"); !errors.Is(err, round.ErrStale) {
		t.Fatalf("stale change: %v", err)
	}
	if _, err := s.Round(ctx, "nope"); !errors.Is(err, round.ErrNotFound) {
		t.Fatalf("missing round: %v", err)
	}
}

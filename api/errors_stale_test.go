package api

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
)

// TestStaleVersionsAreNever500: every domain's stale-version sentinel, bare or wrapped (the store
// lost a race and the re-read of the current state failed), answers 412, and typed stale errors
// keep their current state.
func TestStaleVersionsAreNever500(t *testing.T) {
	for _, err := range []error{
		round.ErrStale, fmt.Errorf("save round r1: %w", round.ErrStale),
		questionnaire.ErrStale, fmt.Errorf("save: %w", questionnaire.ErrStale),
		auth.ErrStale, fmt.Errorf("%w: user u1 is at version 3, not 2", auth.ErrStale),
	} {
		p, expected := toProblem(err)
		if p.Status != http.StatusPreconditionFailed || !expected {
			t.Errorf("%v: %d (expected %v), want 412", err, p.Status, expected)
		}
	}
	p, _ := toProblem(&round.StaleRoundError{Current: &round.Round{ID: "r1", Version: 3}})
	if p.Status != http.StatusPreconditionFailed || p.Current == nil {
		t.Errorf("typed stale round: %+v; want 412 with the current round", p)
	}
}

func TestDetailsDropTheSentinelsText(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: token expired", auth.ErrUnauthorized), "token expired"},
		{fmt.Errorf("round r1 is published: %w", round.ErrNotEditable), "round r1 is published: not editable"},
		{auth.ErrForbidden, ""},
		{fmt.Errorf("%w: version 1 of q: create a new version", questionnaire.ErrPublished), "version is published: version 1 of q: create a new version"},
	} {
		if p, _ := toProblem(tc.err); p.Detail != tc.want {
			t.Errorf("%v: detail %q, want %q", tc.err, p.Detail, tc.want)
		}
	}
}

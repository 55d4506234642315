package api

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/expertsurvey/expertsurvey/review"
	"github.com/expertsurvey/expertsurvey/round"
)

// TestReviewErrorsMapToTheirStatus: every typed error of the review package reaches the client
// as the status its doc names, wrapped as the moves wrap them.
func TestReviewErrorsMapToTheirStatus(t *testing.T) {
	for err, status := range map[error]int{
		review.ErrInvalidTransition: http.StatusConflict,
		review.ErrForbidden:         http.StatusForbidden,
		review.ErrSelfReview:        http.StatusForbidden,
		review.ErrLocked:            http.StatusConflict,
		review.ErrAlreadyReviewed:   http.StatusConflict,
		review.ErrNotFound:          http.StatusNotFound,
		// The moves' data-carrying errors arrive converted by the round service.
		&round.StaleError{Current: &round.Answer{Indicator: "A1"}}:                           http.StatusPreconditionFailed,
		&round.ValidationError{Problems: []round.FieldError{{Field: "reason", Reason: "x"}}}: http.StatusBadRequest,
	} {
		p, expected := toProblem(fmt.Errorf("move: %w", err))
		if !expected || p.Status != status {
			t.Errorf("%v: %d (expected %v), want %d", err, p.Status, expected, status)
		}
	}
}

package review

import (
	"errors"
	"fmt"

	"github.com/expertsurvey/expertsurvey/auth"
)

// Errors of the moves; they wrap these with the detail, and callers match them with errors.Is
// and map them to statuses in one place (api/errors.go). Suggested statuses in brackets.
var (
	// ErrInvalidTransition refuses a move that the tables do not allow from the current states
	// [409].
	ErrInvalidTransition = errors.New("review: move not allowed in this state")
	// ErrForbidden is auth.ErrForbidden, so that the one error table maps both alike: the
	// actor's role may not make the move [403].
	ErrForbidden = auth.ErrForbidden
	// ErrSelfReview refuses a verdict on an answer the reviewer wrote a version of. It wraps
	// ErrForbidden [403].
	ErrSelfReview = fmt.Errorf("%w: nobody reviews an answer they wrote", ErrForbidden)
	// ErrStale refuses a move based on an answer version that is no longer current; a
	// *StaleError carries the current answer [412].
	ErrStale = errors.New("review: stale answer version")
	// ErrLocked refuses every move on a locked sheet but reopening it [409].
	ErrLocked = errors.New("review: sheet is locked")
	// ErrAlreadyReviewed refuses a second verdict by the same reviewer on the same version: a
	// verdict is a record, not a setting, and a changed mind is said in a comment [409].
	ErrAlreadyReviewed = errors.New("review: verdict already given on this version")
	// ErrNotFound: no such comment [404].
	ErrNotFound = errors.New("review: not found")
	// ErrInvalid: bad input; a *ValidationError names the fields [422].
	ErrInvalid = errors.New("review: invalid")
)

// StaleError refuses a move based on an old answer version and carries the answer as it is
// now, so that the client can reread it and decide again without another request.
type StaleError struct {
	Current Answer
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("review: answer %s is at version %d", e.Current.Indicator, e.Current.Version)
}

// Is makes a StaleError match ErrStale.
func (e *StaleError) Is(target error) bool { return target == ErrStale }

// FieldError names one invalid field of a move's input. It has the shape of round.FieldError,
// which the round package converts it to.
type FieldError struct {
	Field  string
	Reason string
}

// ValidationError lists every problem of a move's input at once.
type ValidationError struct {
	Problems []FieldError
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 0 {
		return "review: invalid"
	}
	return "review: invalid: " + e.Problems[0].Field + ": " + e.Problems[0].Reason
}

// Is makes a ValidationError match ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// problems collects field errors; err returns nil when there are none, so that a nil
// *ValidationError never hides in an error interface.
type problems []FieldError

func (p *problems) add(field, reason string) { *p = append(*p, FieldError{field, reason}) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Problems: p}
}

package round

import "errors"

// Errors callers map to responses; wrap them with %w to add detail.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrStale refuses a write based on an answer version that is no longer current.
	ErrStale = errors.New("stale version")
	// ErrLocked refuses a change to a locked sheet.
	ErrLocked = errors.New("sheet is locked")
	// ErrNotEditable refuses an answer change in a sheet or round state that does not allow it.
	ErrNotEditable = errors.New("not editable")
	ErrInvalid     = errors.New("invalid")
	// ErrIncomplete refuses a submission that lacks answers or sources.
	ErrIncomplete = errors.New("incomplete")
	// ErrPreconditionRequired refuses an update sent without the version it is based on.
	ErrPreconditionRequired = errors.New("version required")
)

// StaleError carries the current answer with a refused stale write, so that the client can
// merge without another request.
type StaleError struct {
	Current *Answer
}

func (e *StaleError) Error() string { return "the answer changed since the version you read" }

// Is makes a StaleError match ErrStale.
func (e *StaleError) Is(target error) bool { return target == ErrStale }

// FieldError names an invalid field of a request.
type FieldError struct {
	Field  string
	Reason string
}

// ValidationError lists every problem of a request at once.
type ValidationError struct {
	Problems []FieldError
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 0 {
		return "invalid"
	}
	return "invalid: " + e.Problems[0].Field + ": " + e.Problems[0].Reason
}

// Is makes a ValidationError match ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// IncompleteError lists what a submission lacks.
type IncompleteError struct {
	Missing []FieldError
}

func (e *IncompleteError) Error() string { return "the sheet is incomplete" }

// Is makes an IncompleteError match ErrIncomplete.
func (e *IncompleteError) Is(target error) bool { return target == ErrIncomplete }

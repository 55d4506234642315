package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors. Functions of this package wrap them with the reason; callers match them with
// errors.Is and map them to HTTP statuses in one place.
var (
	// ErrUnauthorized: no valid identity (bad credentials, bad or expired token, disabled user).
	ErrUnauthorized = errors.New("auth: unauthorized")
	// ErrForbidden: a known identity that the policy does not allow to act.
	ErrForbidden = errors.New("auth: forbidden")
	// ErrNotFound: no such user or token.
	ErrNotFound = errors.New("auth: not found")
	// ErrConflict: the change collides with existing state, e.g. a duplicate email.
	ErrConflict = errors.New("auth: conflict")
	// ErrInvalid: bad input; a FieldErrors value names the fields.
	ErrInvalid = errors.New("auth: invalid")
	// ErrStale: the change was based on a version that is no longer current.
	ErrStale = errors.New("auth: stale version")
	// ErrLocked: too many failed logins; a *LockedError carries when to retry.
	ErrLocked = errors.New("auth: temporarily locked")
)

// FieldError is one problem with one input field.
type FieldError struct {
	Field  string
	Reason string
}

// FieldErrors lists every problem found in an input, so that a client can fix them all at once.
// It matches ErrInvalid with errors.Is.
type FieldErrors []FieldError

func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, e := range fe {
		parts[i] = e.Field + ": " + e.Reason
	}
	return "auth: invalid: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true for field errors.
func (fe FieldErrors) Is(target error) bool { return target == ErrInvalid }

// orNil returns fe as an error, or nil when it is empty; a nil FieldErrors stored in an error
// interface would not compare equal to nil.
func (fe FieldErrors) orNil() error {
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// LockedError answers a login while the account or the client address is locked out. It is the
// same whether or not the account exists, so it reveals nothing about which emails are known.
type LockedError struct {
	RetryAfter time.Duration
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("auth: too many failed logins, retry after %d seconds", e.RetryAfterSeconds())
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// RetryAfterSeconds is the value for a Retry-After header, rounded up so that a client retrying
// on time is never still locked.
func (e *LockedError) RetryAfterSeconds() int {
	s := int((e.RetryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}

package questionnaire

import "fmt"

// Status is where a questionnaire version is in its life. A draft may be
// edited freely and may be invalid; a published version is valid and never
// changes, because rounds and snapshots score against it.
type Status string

// Statuses.
const (
	StatusDraft     Status = "draft"
	StatusPublished Status = "published"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	return s == StatusDraft || s == StatusPublished
}

// CheckEditable returns nil for a draft, ErrPublished for a published
// version, and ErrInvalid for an unknown status.
func (s Status) CheckEditable() error {
	switch s {
	case StatusDraft:
		return nil
	case StatusPublished:
		return fmt.Errorf("%w: create a new version to change it", ErrPublished)
	}
	return fmt.Errorf("%w: unknown status %q", ErrInvalid, s)
}

// Publish returns StatusPublished if a version in status s with definition
// d may be published: it must be a draft and valid. An invalid definition
// yields a *ValidationError listing every problem.
func (s Status) Publish(d *Definition) (Status, error) {
	if err := s.CheckEditable(); err != nil {
		return s, err
	}
	if ps := d.Validate(); len(ps) > 0 {
		return s, &ValidationError{Problems: ps}
	}
	return StatusPublished, nil
}

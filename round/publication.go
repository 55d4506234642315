package round

import (
	"context"
	"fmt"
	"strings"
)

// ErrNotPublishable refuses to publish a round whose sheets are not all locked or excluded.
var ErrNotPublishable = fmt.Errorf("%w: the round cannot be published yet", ErrInvalidTransition)

// checkPublication checks that every country of r is locked or excluded with a reason, and
// completes the snapshot of every lock, so that the published scores are frozen.
func (s *Service) checkPublication(ctx context.Context, r *Round, excluded []Exclusion) error {
	var problems []FieldError
	seen := map[string]bool{}
	for i, e := range excluded {
		switch {
		case !r.HasCountry(e.Country):
			problems = append(problems, FieldError{fmt.Sprintf("excluded[%d].country", i), "is not in the round"})
		case seen[e.Country]:
			problems = append(problems, FieldError{fmt.Sprintf("excluded[%d].country", i), "is listed twice"})
		}
		if strings.TrimSpace(e.Reason) == "" {
			problems = append(problems, FieldError{fmt.Sprintf("excluded[%d].reason", i), "is required"})
		}
		seen[e.Country] = true
	}
	if len(problems) > 0 {
		return &ValidationError{Problems: problems}
	}
	_, inst, err := s.instrument(ctx, r)
	if err != nil {
		return err
	}
	var unlocked []string
	for _, c := range r.Countries {
		if seen[c] {
			continue
		}
		sh, err := s.sheetOf(ctx, r, c)
		if err != nil {
			return err
		}
		if sh.Status != SheetLocked {
			unlocked = append(unlocked, c+" ("+string(sh.Status)+")")
			continue
		}
		if err := s.freeze(ctx, r, inst, sh); err != nil {
			return err
		}
	}
	if len(unlocked) > 0 {
		return fmt.Errorf("%w: lock or exclude (with a reason) every sheet first; not locked: %s", ErrNotPublishable, strings.Join(unlocked, ", "))
	}
	return nil
}

package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/round"
)

// roundTargets shows auth the rounds and their countries, so that assignments name only real
// ones. It reads the store directly: the check is about existence, not about who may read a
// round.
type roundTargets struct{ rounds round.RoundStore }

func (t roundTargets) RoundCountries(ctx context.Context, id string) ([]string, error) {
	r, err := t.rounds.Round(ctx, id)
	if errors.Is(err, round.ErrNotFound) {
		return nil, fmt.Errorf("%w: round %s", auth.ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	return r.Countries, nil
}

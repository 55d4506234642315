package publish

import (
	"context"
	"errors"
	"slices"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/round"
	"github.com/expertsurvey/expertsurvey/snapshot"
)

// Compare sets two rounds side by side, country by country, from each country's latest
// snapshot (a country not locked, or not in a round, has no side there): the scores of every
// node and variant and the indicators whose answers changed. The caller must coordinate both.
func (s *Service) Compare(ctx context.Context, p auth.Principal, roundA, roundB string) ([]*snapshot.Comparison, error) {
	for _, id := range []string{roundA, roundB} {
		if err := p.Can(auth.ManageRound, auth.Scope{Round: id}); err != nil {
			return nil, err
		}
	}
	ra, err := s.roundStore.Round(ctx, roundA)
	if err != nil {
		return nil, err
	}
	rb, err := s.roundStore.Round(ctx, roundB)
	if err != nil {
		return nil, err
	}
	countries := slices.Concat(ra.Countries, rb.Countries)
	slices.Sort(countries)
	countries = slices.Compact(countries)
	latest := func(r *round.Round, c string) (*snapshot.Snapshot, error) {
		if !r.HasCountry(c) {
			return nil, nil
		}
		snap, _, err := s.snapshotOf(ctx, r.ID, c, 0)
		if errors.Is(err, ErrNotLocked) {
			return nil, nil
		}
		return snap, err
	}
	var out []*snapshot.Comparison
	for _, c := range countries {
		a, err := latest(ra, c)
		if err != nil {
			return nil, err
		}
		b, err := latest(rb, c)
		if err != nil {
			return nil, err
		}
		if a == nil && b == nil {
			continue
		}
		out = append(out, snapshot.Compare(a, b))
	}
	return out, nil
}

package publish

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/expertsurvey/expertsurvey/round"
	"github.com/expertsurvey/expertsurvey/snapshot"
)

// What the public reads: published rounds only. Anything else is ErrNotFound, never
// forbidden, so that the public cannot even learn that a draft exists.

// publicFreshness is how long a computed public view is served from memory. Public reads come
// in bursts (a release, a news story) and are the same for everyone; an erratum locked after
// publication shows within this delay (and clients cache for Cache-Control's max-age).
const publicFreshness = 2 * time.Second

// PublicRounds lists the published rounds, by id.
func (s *Service) PublicRounds(ctx context.Context) ([]round.Round, error) {
	all, err := s.roundStore.Rounds(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, r := range all {
		if r.Status == round.StatusPublished {
			out = append(out, r)
		}
	}
	return out, nil
}

// PublicRound returns a published round, or ErrNotFound.
func (s *Service) PublicRound(ctx context.Context, id string) (*round.Round, error) {
	r, err := s.roundStore.Round(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Status != round.StatusPublished {
		return nil, fmt.Errorf("round %s: %w", id, round.ErrNotFound)
	}
	return r, nil
}

// PublishedRound is a published round with the latest snapshot of every country it publishes
// (excluded countries are left out), by country code.
type PublishedRound struct {
	Round     *round.Round
	Snapshots []*snapshot.Snapshot
}

type publicEntry struct {
	at  time.Time
	val *PublishedRound
}

// publicCache holds the computed public views of rounds. One caller at a time recomputes a
// round's view; while it does, the others are served the previous view (a burst of public reads
// never becomes a burst of store reads), or wait for the first one.
type publicCache struct {
	mu       sync.Mutex
	entries  map[string]publicEntry
	inFlight map[string]chan struct{}
}

// Published returns a published round with its snapshots.
func (s *Service) Published(ctx context.Context, id string) (*PublishedRound, error) {
	for {
		now := s.now()
		s.public.mu.Lock()
		e, ok := s.public.entries[id]
		fresh := ok && now.Sub(e.at) < publicFreshness && now.Sub(e.at) >= 0
		wait, busy := s.public.inFlight[id]
		switch {
		case fresh, ok && busy:
			s.public.mu.Unlock()
			return e.val, nil
		case busy:
			s.public.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if s.public.inFlight == nil {
			s.public.inFlight, s.public.entries = map[string]chan struct{}{}, map[string]publicEntry{}
		}
		done := make(chan struct{})
		s.public.inFlight[id] = done
		s.public.mu.Unlock()

		val, err := s.published(ctx, id)
		s.public.mu.Lock()
		delete(s.public.inFlight, id)
		if err == nil {
			s.public.entries[id] = publicEntry{at: now, val: val}
		} else {
			delete(s.public.entries, id) // unpublished or gone: nothing stale is served
		}
		s.public.mu.Unlock()
		close(done)
		return val, err
	}
}

// published computes a published round's view from the store.
func (s *Service) published(ctx context.Context, id string) (*PublishedRound, error) {
	r, err := s.PublicRound(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &PublishedRound{Round: r}
	countries := slices.Sorted(slices.Values(r.Countries))
	for _, c := range countries {
		if r.IsExcluded(c) {
			continue
		}
		snap, _, err := s.snapshotOf(ctx, id, c, 0)
		if err != nil {
			return nil, err
		}
		out.Snapshots = append(out.Snapshots, snap)
	}
	return out, nil
}

// PublicSnapshot returns a published country's latest snapshot when the round publishes its
// answers; ErrNotFound otherwise.
func (s *Service) PublicSnapshot(ctx context.Context, id, country string) (*snapshot.Snapshot, error) {
	pr, err := s.Published(ctx, id)
	if err != nil {
		return nil, err
	}
	if !pr.Round.PublicAnswers {
		return nil, fmt.Errorf("round %s does not publish its answers: %w", id, round.ErrNotFound)
	}
	for _, snap := range pr.Snapshots {
		if snap.Country == country {
			return snap, nil
		}
	}
	return nil, fmt.Errorf("country %s is not published in round %s: %w", country, id, round.ErrNotFound)
}

// PublicErrata lists the errata of a published round.
func (s *Service) PublicErrata(ctx context.Context, id string) ([]*snapshot.Erratum, error) {
	r, err := s.PublicRound(ctx, id)
	if err != nil {
		return nil, err
	}
	all, err := s.errata(ctx, id)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, e := range all {
		if !r.IsExcluded(e.Country) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Point is one published round's score of a country at a node or variant.
type Point struct {
	Round         string
	ReferenceDate string
	Revision      int
	Score         *float64
}

// Series is a country's score at a node (or variant, when variant is set) across the published
// rounds of one questionnaire code, by reference date.
func (s *Service) Series(ctx context.Context, questionnaireCode, country, node, variant string) ([]Point, error) {
	rounds, err := s.PublicRounds(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(rounds, func(a, b round.Round) int {
		if c := strings.Compare(a.ReferenceDate, b.ReferenceDate); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	var out []Point
	for _, r := range rounds {
		if r.Questionnaire != questionnaireCode || !r.HasCountry(country) || r.IsExcluded(country) {
			continue
		}
		pr, err := s.Published(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		for _, snap := range pr.Snapshots {
			if snap.Country != country {
				continue
			}
			p := Point{Round: r.ID, ReferenceDate: r.ReferenceDate, Revision: snap.Revision}
			found := false
			if variant != "" {
				for _, v := range snap.Variants {
					if v.Name == variant {
						p.Score, found = v.Score, true
					}
				}
			} else {
				for _, n := range snap.Nodes {
					if n.Code == node {
						p.Score, found = n.Score, true
					}
				}
			}
			if found {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

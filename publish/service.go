package publish

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
	"github.com/expertsurvey/expertsurvey/snapshot"
)

// sheetAndRound loads a round that has country, and the country's sheet (nil when nobody wrote
// to it), completing the snapshot of a lock that lacks it.
func (s *Service) sheetAndRound(ctx context.Context, roundID, country string) (*round.Round, *questionnaire.Compiled, *round.Sheet, error) {
	r, err := s.roundStore.Round(ctx, roundID)
	if err != nil {
		return nil, nil, nil, err
	}
	if !r.HasCountry(country) {
		return nil, nil, nil, fmt.Errorf("country %s is not in round %s: %w", country, roundID, round.ErrNotFound)
	}
	_, inst, err := s.instruments.Published(ctx, r.Questionnaire, r.QuestionnaireVer)
	if err != nil {
		return nil, nil, nil, err
	}
	sh, err := s.sheets.Sheet(ctx, roundID, country)
	if errors.Is(err, round.ErrNotFound) {
		return r, inst, nil, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if err := s.Freeze(ctx, r, inst, sh); err != nil {
		return nil, nil, nil, err
	}
	return r, inst, sh, nil
}

// ErrNotLocked refuses a snapshot of a sheet that was never locked.
var ErrNotLocked = fmt.Errorf("the sheet was never locked: %w", round.ErrNotFound)

// snapshotOf reads revision rev of a sheet's snapshot (0: the latest).
func (s *Service) snapshotOf(ctx context.Context, roundID, country string, rev int) (*snapshot.Snapshot, *questionnaire.Compiled, error) {
	_, inst, sh, err := s.sheetAndRound(ctx, roundID, country)
	if err != nil {
		return nil, nil, err
	}
	snap, err := s.revisionOf(ctx, roundID, country, sh, rev)
	if err != nil {
		return nil, nil, err
	}
	return snap, inst, nil
}

// revisionOf reads revision rev (0: the latest) of the snapshot of sh, a sheet read (and its
// lock completed) by sheetAndRound; nil sh is a sheet nobody wrote to.
func (s *Service) revisionOf(ctx context.Context, roundID, country string, sh *round.Sheet, rev int) (*snapshot.Snapshot, error) {
	latest := 0
	if sh != nil {
		latest = round.Revision(sh)
	}
	if latest == 0 {
		return nil, fmt.Errorf("%s/%s: %w", roundID, country, ErrNotLocked)
	}
	if rev == 0 {
		rev = latest
	}
	if rev < 0 || rev > latest {
		return nil, fmt.Errorf("%s/%s has revisions 1 to %d: %w", roundID, country, latest, round.ErrNotFound)
	}
	return s.store.Snapshot(ctx, roundID, country, rev)
}

// Snapshot returns revision rev (0: the latest) of a sheet's snapshot to someone who may read
// the sheet.
func (s *Service) Snapshot(ctx context.Context, p auth.Principal, roundID, country string, rev int) (*snapshot.Snapshot, error) {
	if err := p.Can(auth.ReadSheet, auth.Scope{Round: roundID, Country: country}); err != nil {
		return nil, err
	}
	snap, _, err := s.snapshotOf(ctx, roundID, country, rev)
	return snap, err
}

// Verification is what Verify found: the stored snapshot and every mismatch between it and
// what its content recomputes to (none when it is intact).
type Verification struct {
	Snapshot   *snapshot.Snapshot
	Recomputed string // the hash of the content as stored
	Mismatches []snapshot.Mismatch
}

// Verify recomputes the scores and the hash of a stored snapshot.
func (s *Service) Verify(ctx context.Context, p auth.Principal, roundID, country string, rev int) (*Verification, error) {
	if err := p.Can(auth.ReadSheet, auth.Scope{Round: roundID, Country: country}); err != nil {
		return nil, err
	}
	snap, inst, err := s.snapshotOf(ctx, roundID, country, rev)
	if err != nil {
		return nil, err
	}
	v := &Verification{Snapshot: snap, Mismatches: snapshot.Verify(snap, inst)}
	if h, err := snapshot.ComputeHash(snap); err == nil {
		v.Recomputed = h
	}
	return v, nil
}

// Errata lists every erratum of a round (each new revision of a sheet against the one before
// it), by country and revision.
func (s *Service) Errata(ctx context.Context, p auth.Principal, roundID string) ([]*snapshot.Erratum, error) {
	if err := p.Can(auth.ManageRound, auth.Scope{Round: roundID}); err != nil {
		return nil, err
	}
	return s.errata(ctx, roundID)
}

func (s *Service) errata(ctx context.Context, roundID string) ([]*snapshot.Erratum, error) {
	r, err := s.roundStore.Round(ctx, roundID)
	if err != nil {
		return nil, err
	}
	countries := slices.Sorted(slices.Values(r.Countries))
	var out []*snapshot.Erratum
	for _, c := range countries {
		_, _, sh, err := s.sheetAndRound(ctx, roundID, c)
		if err != nil {
			return nil, err
		}
		if sh == nil {
			continue
		}
		latest := round.Revision(sh)
		var prev *snapshot.Snapshot
		for rev := 1; rev <= latest; rev++ {
			cur, err := s.store.Snapshot(ctx, roundID, c, rev)
			if err != nil {
				return nil, err
			}
			if prev != nil {
				e, err := snapshot.Diff(prev, cur)
				if err != nil {
					return nil, err
				}
				out = append(out, e)
			}
			prev = cur
		}
	}
	return out, nil
}

// LockResult is the outcome of locking one sheet of a bulk lock.
type LockResult struct {
	Country  string
	Revision int
	Hash     string
	Err      error
}

// LockMany locks the named sheets of a round (every ready one when countries is empty), each
// as its own log entry: a sheet that cannot be locked is reported and the others are locked.
func (s *Service) LockMany(ctx context.Context, p auth.Principal, roundID string, countries []string) ([]LockResult, error) {
	if err := p.Can(auth.LockSheet, auth.Scope{Round: roundID}); err != nil {
		return nil, err
	}
	r, err := s.roundStore.Round(ctx, roundID)
	if err != nil {
		return nil, err
	}
	all := len(countries) == 0
	if all {
		countries = r.Countries
	}
	var out []LockResult
	for _, c := range countries {
		if all {
			sh, err := s.sheets.Sheet(ctx, roundID, c)
			if err != nil || sh.Status != round.SheetReadyToLock {
				continue
			}
		}
		res := LockResult{Country: c}
		view, err := s.rounds.Lock(ctx, p, roundID, c)
		if err != nil {
			res.Err = err
		} else {
			res.Revision = round.Revision(view.Sheet)
			if snap, err := s.store.Snapshot(ctx, roundID, c, res.Revision); err == nil {
				res.Hash = snap.Hash
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// Package publish is the end of the pipeline: it freezes every lock of a sheet into a hashed
// snapshot (package snapshot), lists the errata between revisions, and serves rounds once
// published: their frozen scores, answers and changelog, to coordinators and to the public.
//
// The lock is an entry in the sheet's log (package round); the snapshot follows from it. A lock
// whose snapshot is missing (the process stopped between the two writes) is completed by the
// next read or lock of the sheet, or at start-up (CompleteLocks): the snapshot is a pure
// function of the sheet as locked, so whoever builds it builds the same document, and the
// insert under its unique id lands once.
package publish

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/review"
	"github.com/expertsurvey/expertsurvey/round"
	"github.com/expertsurvey/expertsurvey/snapshot"
)

// Store keeps snapshots, each written once and never changed.
type Store interface {
	// InsertSnapshot writes s under SnapshotID by an insert under the unique id. A snapshot
	// already stored under that id with the same hash is success (a repeated freeze); one with
	// another hash is round.ErrConflict.
	InsertSnapshot(ctx context.Context, s *snapshot.Snapshot) error
	// Snapshot reads one revision of a sheet's snapshot, or round.ErrNotFound.
	Snapshot(ctx context.Context, roundID, country string, revision int) (*snapshot.Snapshot, error)
	// RecordExport appends ev, the audit record of an export of the round, to the audit trail
	// (entity "export/<round>").
	RecordExport(ctx context.Context, roundID string, ev audit.Event) error
}

// SnapshotID is the key of a snapshot: "<round>/<country>/<revision>".
func SnapshotID(roundID, country string, revision int) string {
	return roundID + "/" + country + "/" + strconv.Itoa(revision)
}

// Service freezes locks and serves what they froze.
type Service struct {
	rounds      *round.Service
	roundStore  round.RoundStore
	sheets      round.SheetStore
	instruments round.Instruments
	store       Store
	now         func() time.Time

	beforeInsert func(id string)

	// frozen remembers the snapshots this process has seen stored, so that reading a locked
	// sheet costs nothing more once its snapshot is known.
	frozen sync.Map // SnapshotID -> struct{}
	// public holds the computed public views of published rounds, for publicFreshness.
	public publicCache
}

// Config wires a Service.
type Config struct {
	Rounds      *round.Service
	RoundStore  round.RoundStore
	Sheets      round.SheetStore
	Instruments round.Instruments
	Store       Store
	Now         func() time.Time
	// BeforeInsert, when set, runs after a lock's snapshot is built and before it is stored:
	// between the lock's log entry and its snapshot. It is a fault-injection point for one test
	// (cmd/expertsurvey/crash_test.go stops a process there and kills it); nothing in the service
	// sets it.
	BeforeInsert func(id string)
}

// NewService wires the service and registers it as the rounds' freezer.
func NewService(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{rounds: cfg.Rounds, roundStore: cfg.RoundStore, sheets: cfg.Sheets, instruments: cfg.Instruments, store: cfg.Store, now: cfg.Now,
		beforeInsert: cfg.BeforeInsert}
	if cfg.Rounds != nil {
		cfg.Rounds.SetFreezer(s)
	}
	return s
}

// Freeze implements round.Freezer: it stores the snapshot of the latest lock of sh unless it is
// known to be stored.
func (s *Service) Freeze(ctx context.Context, r *round.Round, inst *questionnaire.Compiled, sh *round.Sheet) error {
	rev := round.Revision(sh)
	if rev == 0 || sh.Status != round.SheetLocked {
		return nil
	}
	id := SnapshotID(r.ID, sh.Country, rev)
	if _, ok := s.frozen.Load(id); ok {
		return nil
	}
	snap, err := Build(r, inst, sh)
	if err != nil {
		return err
	}
	if s.beforeInsert != nil {
		s.beforeInsert(id)
	}
	if err := s.store.InsertSnapshot(ctx, snap); err != nil {
		return fmt.Errorf("freeze %s: %w", id, err)
	}
	s.frozen.Store(id, struct{}{})
	return nil
}

// Build is the snapshot of the latest lock of sh: a pure function of the locked sheet, so that
// every instance that completes an interrupted lock builds the same document.
func Build(r *round.Round, inst *questionnaire.Compiled, sh *round.Sheet) (*snapshot.Snapshot, error) {
	return snapshot.Build(inst, input(r, sh))
}

// Live scores a sheet that is not locked as a provisional snapshot, for coordinators' exports:
// the revision it would be locked as, dated at its last change, not hashed (nothing is frozen).
func Live(r *round.Round, inst *questionnaire.Compiled, sh *round.Sheet) (*snapshot.Snapshot, error) {
	in := input(r, sh)
	in.Revision, in.LockedBy, in.LockedAt, in.Reopened = round.Revision(sh)+1, "", sh.UpdatedAt, nil
	if in.LockedAt.IsZero() {
		in.LockedAt = time.Unix(0, 0)
	}
	out, err := snapshot.Build(inst, in)
	if err != nil {
		return nil, err
	}
	out.Hash = ""
	return out, nil
}

// input is the content of a snapshot of sh before scoring and hashing.
func input(r *round.Round, sh *round.Sheet) *snapshot.Snapshot {
	in := &snapshot.Snapshot{
		Round: r.ID, Country: sh.Country, Questionnaire: r.Questionnaire, Version: r.QuestionnaireVer,
		Revision: round.Revision(sh),
	}
	var lastReopen *review.StatusChange
	for i := range sh.Review.History {
		h := &sh.Review.History[i]
		switch {
		case h.Move == review.MoveLock && h.To == review.SheetLocked:
			in.LockedBy, in.LockedAt = h.By, h.At
		case h.Move == review.MoveReopen:
			lastReopen = h
		}
	}
	if lastReopen != nil && in.Revision > 1 {
		in.Reopened = &snapshot.Reopen{By: lastReopen.By, At: lastReopen.At, Reason: lastReopen.Reason}
	}
	for a := range sh.EachAnswer() {
		fa := snapshot.AnswerFrom(*a)
		ra := sh.Review.Answer(a.Indicator)
		fa.Comments, fa.Verdicts, fa.Adjudication = reviewRecord(ra)
		in.Answers = append(in.Answers, fa)
		if o := ra.ScoreOverride(); o != nil && !a.Inapplicable {
			in.Overrides = append(in.Overrides, snapshot.Override{Node: a.Indicator, Score: *o.Score, Reason: o.Reason, By: o.Coordinator, At: o.At})
		}
	}
	return in
}

// reviewRecord maps the review side of an answer to the snapshot's plain records.
func reviewRecord(ra review.Answer) ([]snapshot.Comment, []snapshot.Verdict, *snapshot.Adjudication) {
	var comments []snapshot.Comment
	for _, c := range ra.Comments {
		comments = append(comments, snapshot.Comment{Author: c.Author, At: c.At, Text: c.Text})
	}
	var verdicts []snapshot.Verdict
	for _, v := range ra.Verdicts {
		verdicts = append(verdicts, snapshot.Verdict{Reviewer: v.Reviewer, AnswerVersion: v.Version, Verdict: string(v.Decision),
			SuggestedOption: v.SuggestedOption, Reason: v.Reason, At: v.At})
	}
	var adj *snapshot.Adjudication
	if n := len(ra.Adjudications); n > 0 {
		a := ra.Adjudications[n-1]
		adj = &snapshot.Adjudication{By: a.Coordinator, AnswerVersion: a.Version, Option: a.Option, Rationale: a.Rationale, At: a.At}
	}
	return comments, verdicts, adj
}

// CompleteLocks freezes every locked sheet of every round whose snapshot is missing: run at
// start-up, it completes the locks a stopped process left behind.
func (s *Service) CompleteLocks(ctx context.Context) (int, error) {
	rounds, err := s.roundStore.Rounds(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for i := range rounds {
		r := &rounds[i]
		if r.Status == round.StatusDraft {
			continue
		}
		_, inst, err := s.instruments.Published(ctx, r.Questionnaire, r.QuestionnaireVer)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, c := range r.Countries {
			sh, err := s.sheets.Sheet(ctx, r.ID, c)
			if errors.Is(err, round.ErrNotFound) {
				continue
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if sh.Status != round.SheetLocked {
				continue
			}
			if err := s.Freeze(ctx, r, inst, sh); err != nil {
				errs = append(errs, err)
				continue
			}
			n++
		}
	}
	return n, errors.Join(errs...)
}

package publish_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/publish"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/review"
	"github.com/expertsurvey/expertsurvey/round"
	"github.com/expertsurvey/expertsurvey/snapshot"
)

func TestMain(m *testing.M) { mongodbtest.Main(m) }

type published struct {
	def *questionnaire.Definition
	c   *questionnaire.Compiled
}

func (p published) Published(_ context.Context, code, version string) (*questionnaire.Definition, *questionnaire.Compiled, error) {
	if code != "mini-index" || version != "1" {
		return nil, nil, fmt.Errorf("no published version %s %s", code, version)
	}
	return p.def, p.c, nil
}

func miniIndex(t testing.TB) published {
	t.Helper()
	f, err := os.Open("../questionnaire/testdata/mini_index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	def, err := questionnaire.DecodeDefinition(f, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := def.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return published{def, c}
}

var (
	coordinator = auth.Principal{UserID: "u_coord", Assignments: []auth.Assignment{{Role: auth.RoleCoordinator, Round: auth.AllRounds}}}
	expert      = auth.Principal{UserID: "u_exp", Assignments: []auth.Assignment{
		{Role: auth.RoleExpert, Round: "r1", Country: "AT"}, {Role: auth.RoleExpert, Round: "r1", Country: "BE"}}}
	reviewer = auth.Principal{UserID: "u_rev", Assignments: []auth.Assignment{
		{Role: auth.RoleReviewer, Round: "r1", Country: "AT"}, {Role: auth.RoleReviewer, Round: "r1", Country: "BE"}}}
)

func num(f float64) *float64 { return &f }

// sheetAnswers answer every indicator of the mini index that applies when FR_1 is "full" and
// FR_4 "no".
var sheetAnswers = map[string]round.AnswerInput{
	"LMM_1": {Option: "full", Sources: []round.Source{{Kind: "law", Title: "Employment Act 2019", Reference: "art. 3"}}},
	"LMM_2": {Option: "yes"}, "LMM_3": {Value: num(2)}, "LMM_4": {Option: "100"}, "LMM_5": {Option: "keeps"},
	"FR_1": {Option: "full"}, "FR_2": {Option: "yes"}, "FR_4": {Option: "no"}, "FR_6": {Value: num(80)},
	"FR_7": {Text: "nothing to add"}, "H_1": {Option: "full"}, "H_2": {Option: "yes"}, "H_3": {Option: "no"},
}

type fixture struct {
	ctx     context.Context
	store   *mongodb.Store
	inst    published
	rounds  *round.Service
	publish *publish.Service
	clock   time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{ctx: audit.WithOrigin(context.Background(), "u_test", "rid"), store: mongodbtest.New(t), inst: miniIndex(t),
		clock: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	f.rounds, f.publish = f.services(f.store)
	return f
}

// services wires a service instance on store (a second instance when store is another
// connection to the same database).
func (f *fixture) services(store *mongodb.Store) (*round.Service, *publish.Service) {
	now := func() time.Time { return f.clock }
	rs := round.NewService(store, store, f.inst, now)
	ps := publish.NewService(publish.Config{Rounds: rs, RoundStore: store, Sheets: store, Instruments: f.inst, Store: store, Now: now})
	return rs, ps
}

func (f *fixture) openRound(t testing.TB, id string, countries ...string) {
	t.Helper()
	r, err := f.rounds.CreateRound(f.ctx, coordinator, round.RoundInput{ID: id, Name: "Round " + id, Questionnaire: "mini-index",
		QuestionnaireVer: "1", Countries: countries, ReferenceDate: "2025"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.rounds.SetStatus(f.ctx, coordinator, id, round.StatusOpen, r.Version); err != nil {
		t.Fatal(err)
	}
}

// readySheet answers, submits and approves a sheet, which is then ready to lock.
func (f *fixture) readySheet(t testing.TB, rs *round.Service, roundID, country string) {
	t.Helper()
	zero := 0
	for code, in := range sheetAnswers {
		if _, err := rs.SaveAnswer(f.ctx, expert, roundID, country, code, in, &zero); err != nil {
			t.Fatalf("answer %s: %v", code, err)
		}
	}
	if _, err := rs.Submit(f.ctx, expert, roundID, country); err != nil {
		t.Fatal(err)
	}
	view, _, err := rs.ApproveMany(f.ctx, reviewer, roundID, country, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if view.Sheet.Status != round.SheetReadyToLock {
		t.Fatalf("after approval: %s", view.Sheet.Status)
	}
}

func TestLockFreezesAVerifiableSnapshot(t *testing.T) {
	f := newFixture(t)
	f.openRound(t, "r1", "AT", "BE")
	f.readySheet(t, f.rounds, "r1", "AT")
	view, err := f.rounds.Lock(f.ctx, coordinator, "r1", "AT")
	if err != nil {
		t.Fatal(err)
	}
	if view.Sheet.Status != round.SheetLocked {
		t.Fatalf("status %s", view.Sheet.Status)
	}
	snap, err := f.store.Snapshot(f.ctx, "r1", "AT", 1)
	if err != nil {
		t.Fatalf("no snapshot after the lock: %v", err)
	}
	if snap.Revision != 1 || snap.LockedBy != coordinator.UserID || len(snap.Answers) != len(sheetAnswers) || snap.Hash == "" {
		t.Fatalf("snapshot: rev %d by %s, %d answers, hash %q", snap.Revision, snap.LockedBy, len(snap.Answers), snap.Hash)
	}
	lmm1 := snap.Answers[slicesIndex(snap.Answers, "LMM_1")]
	if len(lmm1.Sources) != 1 || len(lmm1.Verdicts) != 1 || lmm1.Verdicts[0].Verdict != "approve" {
		t.Fatalf("LMM_1 frozen without its sources or verdicts: %+v", lmm1)
	}
	// The frozen scores are the live ones of the locked sheet.
	_, live, err := f.rounds.Scores(f.ctx, coordinator, "r1")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range live[0].Result.Nodes {
		for _, s := range snap.Nodes {
			if s.Code == n.Code && !sameScore(s.Score, n.Score) {
				t.Fatalf("node %s: frozen %v, live %v", n.Code, s.Score, n.Score)
			}
		}
	}
	v, err := f.publish.Verify(f.ctx, coordinator, "r1", "AT", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Mismatches) != 0 || v.Recomputed != snap.Hash {
		t.Fatalf("an intact snapshot does not verify: %v", v.Mismatches)
	}
	// Saves after the lock collide with it.
	one := 1
	if _, err := f.rounds.SaveAnswer(f.ctx, expert, "r1", "AT", "LMM_2", round.AnswerInput{Option: "no"}, &one); !errors.Is(err, review.ErrLocked) {
		t.Fatalf("save after the lock: %v", err)
	}
	// BE was never locked: no snapshot.
	if _, err := f.publish.Snapshot(f.ctx, coordinator, "r1", "BE", 0); !errors.Is(err, round.ErrNotFound) {
		t.Fatalf("snapshot of an unlocked sheet: %v", err)
	}
}

func TestInterruptedLockIsCompletedByTheNextReaderAndAtStartUp(t *testing.T) {
	f := newFixture(t)
	f.openRound(t, "r1", "AT", "BE")
	// An instance without a freezer stands for a process killed between the lock entry and
	// the snapshot insert.
	bare := round.NewService(f.store, f.store, f.inst, func() time.Time { return f.clock })
	for _, c := range []string{"AT", "BE"} {
		f.readySheet(t, bare, "r1", c)
		if _, err := bare.Lock(f.ctx, coordinator, "r1", c); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.Snapshot(f.ctx, "r1", c, 1); !errors.Is(err, round.ErrNotFound) {
			t.Fatalf("%s: the bare lock stored a snapshot: %v", c, err)
		}
	}
	// A reader of AT on another instance completes AT.
	rs2, _ := f.services(mongodbtest.SecondInstance(t, f.store))
	if _, err := rs2.Sheet(f.ctx, expert, "r1", "AT"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Snapshot(f.ctx, "r1", "AT", 1); err != nil {
		t.Fatalf("a read did not complete the lock: %v", err)
	}
	// Start-up completes BE; running it again is a no-op.
	for range 2 {
		if n, err := f.publish.CompleteLocks(f.ctx); err != nil || n != 2 {
			t.Fatalf("complete locks: %d, %v", n, err)
		}
	}
	be, err := f.store.Snapshot(f.ctx, "r1", "BE", 1)
	if err != nil {
		t.Fatal(err)
	}
	if ms := snapshot.Verify(be, f.inst.c); len(ms) != 0 {
		t.Fatalf("completed snapshot: %v", ms)
	}
}

func TestReopenAndRelockMakeRevisionTwoAndAnErratum(t *testing.T) {
	f := newFixture(t)
	f.openRound(t, "r1", "AT")
	f.readySheet(t, f.rounds, "r1", "AT")
	if _, err := f.rounds.Lock(f.ctx, coordinator, "r1", "AT"); err != nil {
		t.Fatal(err)
	}
	f.clock = f.clock.Add(time.Hour)
	if _, err := f.rounds.Reopen(f.ctx, coordinator, "r1", "AT", "the 2024 amendment was missed"); err != nil {
		t.Fatal(err)
	}
	a, err := f.rounds.Answer(f.ctx, coordinator, "r1", "AT", "LMM_4")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.rounds.Override(f.ctx, coordinator, "r1", "AT", "LMM_4", &a.Version, num(50), "practice lags the law"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.rounds.Lock(f.ctx, coordinator, "r1", "AT"); err != nil {
		t.Fatal(err)
	}
	latest, err := f.publish.Snapshot(f.ctx, coordinator, "r1", "AT", 0)
	if err != nil {
		t.Fatal(err)
	}
	first, err := f.publish.Snapshot(f.ctx, coordinator, "r1", "AT", 1)
	if err != nil {
		t.Fatal(err)
	}
	if latest.Revision != 2 || first.Revision != 1 || latest.Reopened == nil || latest.Reopened.Reason != "the 2024 amendment was missed" {
		t.Fatalf("revisions: latest %d (reopened %+v), first %d", latest.Revision, latest.Reopened, first.Revision)
	}
	errata, err := f.publish.Errata(f.ctx, coordinator, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(errata) != 1 || errata[0].From != 1 || errata[0].To != 2 || len(errata[0].Overrides) != 1 {
		t.Fatalf("errata: %+v", errata)
	}
	var lmm4 *snapshot.ScoreChange
	for i, c := range errata[0].Scores {
		if c.Node == "LMM_4" {
			lmm4 = &errata[0].Scores[i]
		}
	}
	if lmm4 == nil || lmm4.Delta == nil || *lmm4.Delta != -50 {
		t.Fatalf("LMM_4 score change: %+v", errata[0].Scores)
	}
}

func slicesIndex(answers []snapshot.Answer, code string) int {
	for i, a := range answers {
		if a.Indicator == code {
			return i
		}
	}
	return -1
}

func sameScore(a, b *float64) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

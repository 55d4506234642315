package mongodb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/round"
)

func newSheet(t *testing.T, s *mongodb.Store) {
	t.Helper()
	first := &round.Change{Action: "answer.save", Answers: []round.Answer{{Indicator: "q1", Option: "a"}}}
	if _, err := s.UpdateSheet(context.Background(), "r2025", "AT", func(*round.Sheet) (*round.Change, error) { return first, nil }); err != nil {
		t.Fatal(err)
	}
}

type ack struct {
	version int
	comment string
}

// saveIfCurrent is a read-modify-write with an If-Match check, the way the API saves.
func saveIfCurrent(ctx context.Context, s *mongodb.Store, indicator, comment string) (ack, error) {
	sh, err := s.Sheet(ctx, "r2025", "AT")
	if err != nil {
		return ack{}, err
	}
	read := 0
	if a := sh.Answer(indicator); a != nil {
		read = a.Version
	}
	out, err := s.UpdateSheet(ctx, "r2025", "AT", func(cur *round.Sheet) (*round.Change, error) {
		now := 0
		if a := cur.Answer(indicator); a != nil {
			now = a.Version
		}
		if now != read {
			return nil, &round.StaleError{Current: cur.Answer(indicator)}
		}
		return &round.Change{Action: "answer.save", Answers: []round.Answer{{Indicator: indicator, Option: "b", Comment: comment}}}, nil
	})
	if err != nil {
		return ack{}, err
	}
	return ack{version: out.Answer(indicator).Version, comment: comment}, nil
}

func TestConcurrentReadModifyWriteLosesNoAcknowledgedWrite(t *testing.T) {
	for _, twoInstances := range []bool{false, true} {
		t.Run(fmt.Sprintf("two_instances=%v", twoInstances), func(t *testing.T) {
			s := mongodbtest.New(t)
			newSheet(t, s)
			stores := []*mongodb.Store{s}
			if twoInstances {
				stores = append(stores, mongodbtest.SecondInstance(t, s))
			}
			ctx := audit.WithOrigin(context.Background(), "u_expert", "req")
			var mu sync.Mutex
			var acks []ack
			stale := 0
			var wg sync.WaitGroup
			for g := range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					st := stores[g%len(stores)]
					for i := range 4 {
						a, err := saveIfCurrent(ctx, st, "q1", fmt.Sprintf("g%d-%d", g, i))
						mu.Lock()
						switch {
						case err == nil:
							acks = append(acks, a)
						case errors.Is(err, round.ErrStale):
							stale++
						default:
							t.Errorf("save: %v", err)
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			sh, err := s.Sheet(ctx, "r2025", "AT")
			if err != nil {
				t.Fatal(err)
			}
			a := sh.Answer("q1")
			if got, want := a.Version, 1+len(acks); got != want {
				t.Fatalf("final version %d, want 1 + %d acknowledged writes", got, len(acks))
			}
			versions, err := round.Versions(ctx, s, "r2025", "AT", a)
			if err != nil || len(versions) != a.Version {
				t.Fatalf("%d versions read back of %d: %v", len(versions), a.Version, err)
			}
			byVersion := map[int]string{}
			for _, v := range versions {
				byVersion[v.Answer.Version] = v.Answer.Comment
			}
			seen := map[int]bool{}
			for _, k := range acks {
				if seen[k.version] {
					t.Fatalf("version %d acknowledged twice", k.version)
				}
				seen[k.version] = true
				if byVersion[k.version] != k.comment {
					t.Fatalf("acknowledged write %q as version %d, history has %q", k.comment, k.version, byVersion[k.version])
				}
			}
			if len(acks) == 0 || stale == 0 {
				t.Fatalf("want both successes and stale refusals under contention, got %d and %d", len(acks), stale)
			}
			t.Logf("%d acknowledged, %d refused as stale", len(acks), stale)
		})
	}
}

func TestConcurrentWritesToDifferentAnswersAllLand(t *testing.T) {
	s := mongodbtest.New(t)
	newSheet(t, s)
	other := mongodbtest.SecondInstance(t, s)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := s
			if g%2 == 1 {
				st = other
			}
			if _, err := saveIfCurrent(ctx, st, fmt.Sprintf("x%02d", g), "c"); err != nil {
				t.Errorf("save x%02d: %v", g, err)
			}
		}()
	}
	wg.Wait()
	sh, err := s.Sheet(ctx, "r2025", "AT")
	if err != nil {
		t.Fatal(err)
	}
	if sh.AnswerCount() != 41 || sh.Seq != 41 {
		t.Fatalf("got %d answers at seq %d, want 41 at 41", sh.AnswerCount(), sh.Seq)
	}
}

func TestSheetLogIsTheAuditTrail(t *testing.T) {
	s := mongodbtest.New(t)
	newSheet(t, s)
	ctx := audit.WithOrigin(context.Background(), "u_1", "rid-9")
	if _, err := saveIfCurrent(ctx, s, "q1", "because"); err != nil {
		t.Fatal(err)
	}
	evs, err := s.ListEvents(ctx, audit.Filter{Entity: "sheet/r2025/AT"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2 (create, save)", len(evs))
	}
	last := evs[1]
	if last.Actor != "u_1" || last.RequestID != "rid-9" || last.Action != "answer.save" || len(last.Before) == 0 || len(last.After) == 0 {
		t.Fatalf("event %+v", last)
	}
}

func TestMissingSheetIsNotFound(t *testing.T) {
	s := mongodbtest.New(t)
	if _, err := s.Sheet(context.Background(), "r", "XX"); !errors.Is(err, round.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
	sh, err := s.UpdateSheet(context.Background(), "r", "XX", func(sh *round.Sheet) (*round.Change, error) {
		if sh.Seq != 0 || sh.Status != round.SheetNotStarted {
			t.Errorf("a sheet nobody wrote to: %+v", sh)
		}
		return &round.Change{Action: "sheet.submit", Status: round.SheetSubmitted}, nil
	})
	if err != nil || sh.Seq != 1 || sh.Status != round.SheetSubmitted {
		t.Fatalf("first write: %+v %v", sh, err)
	}
	if got, err := s.Sheet(context.Background(), "r", "XX"); err != nil || got.Seq != 1 {
		t.Fatalf("read after first write: %+v %v", got, err)
	}
}

// The stored projection is a checkpoint; an instance that never saw the sheet replays the log
// after it, and an instance with the sheet cached sees another's writes at once.
func TestInstancesSeeEachOthersWritesThroughTheLog(t *testing.T) {
	s := mongodbtest.New(t)
	newSheet(t, s)
	other := mongodbtest.SecondInstance(t, s)
	ctx := context.Background()
	for i := range 21 {
		if _, err := saveIfCurrent(ctx, s, fmt.Sprintf("q%02d", i), "c"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := other.Sheet(ctx, "r2025", "AT")
	if err != nil || got.Seq != 22 || got.AnswerCount() != 22 {
		t.Fatalf("fresh instance: seq %d, %d answers, %v; want 22, 22", got.Seq, got.AnswerCount(), err)
	}
	if _, err := saveIfCurrent(ctx, other, "q00", "from the other instance"); err != nil {
		t.Fatal(err)
	}
	mine, err := s.Sheet(ctx, "r2025", "AT")
	if err != nil || mine.Seq != 23 || mine.Answer("q00").Comment != "from the other instance" {
		t.Fatalf("cached instance missed a write of the other: %+v %v", mine.Answer("q00"), err)
	}
}

// An answer saved many times costs the same to write as one saved once: its log entry and its
// part of the stored projection hold two positions, not one per version, and its versions are
// still all read back, in order, by following the chain.
func TestAnswerCostDoesNotGrowWithItsVersions(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := context.Background()
	save := func(i int) int64 {
		t.Helper()
		before := s.Stats().LogBytes
		if _, err := s.UpdateSheet(ctx, "r", "AT", func(*round.Sheet) (*round.Change, error) {
			return &round.Change{Action: "answer.save", Answers: []round.Answer{{Indicator: "q1", Option: "full", Comment: fmt.Sprintf("save %04d", i)}}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		return s.Stats().LogBytes - before
	}
	projection := func() int {
		t.Helper()
		s.WaitForCheckpoints(ctx)
		raw, err := s.Database().Collection("sheets").FindOne(ctx, map[string]string{"_id": "r/AT"}).Raw()
		if err != nil {
			t.Fatal(err)
		}
		return len(raw)
	}
	// The first checkpoint comes after a few entries (at least 4).
	for i := 1; i < 8; i++ {
		save(i)
	}
	second := save(8)
	firstProjection := projection()
	const saves = 300
	var last int64
	for i := 9; i <= saves; i++ {
		last = save(i)
	}
	// The entry's size may differ by the digits of the positions it names, no more.
	if last > second+8 {
		t.Errorf("log entry of version %d is %d bytes, of version 8 %d: it grows with the versions", saves, last, second)
	}
	if p := projection(); p > firstProjection+16 {
		t.Errorf("stored projection %d bytes after %d versions, %d after 8: it grows with the versions", p, saves, firstProjection)
	}

	// A cold reader (a second store on the same database) reads the chain back.
	other := mongodbtest.SecondInstance(t, s)
	sh, err := other.Sheet(ctx, "r", "AT")
	if err != nil {
		t.Fatal(err)
	}
	a := sh.Answer("q1")
	versions, err := round.Versions(ctx, other, "r", "AT", a)
	if err != nil || len(versions) != saves {
		t.Fatalf("%d versions read back, want %d: %v", len(versions), saves, err)
	}
	for i, v := range versions {
		if v.Answer.Version != i+1 || v.Answer.Comment != fmt.Sprintf("save %04d", i+1) || v.Entry.Seq != v.Answer.At {
			t.Fatalf("version %d read back as %+v at entry %d", i+1, v.Answer, v.Entry.Seq)
		}
	}
}

// Saves that land while a sheet's projection is being rewritten count from the position that
// rewrite was asked for, so a sheet is rewritten once per interval of entries (an eighth of its
// answers), not again at once by every save that arrived during a slow write.
func TestCheckpointsKeepToTheirInterval(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := context.Background()
	const answers, saves = 160, 320 // an interval of 20 entries
	full := &round.Change{Action: "answer.import"}
	for i := range answers {
		full.Answers = append(full.Answers, round.Answer{Indicator: fmt.Sprintf("q%03d", i), Option: "full", Comment: strings.Repeat("words ", 50)})
	}
	if _, err := s.UpdateSheet(ctx, "r", "AT", func(*round.Sheet) (*round.Change, error) { return full, nil }); err != nil {
		t.Fatal(err)
	}
	s.WaitForCheckpoints(ctx)
	before := s.Stats().Checkpoints
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < saves; i += 8 {
				if _, err := s.UpdateSheet(ctx, "r", "AT", func(*round.Sheet) (*round.Change, error) {
					return &round.Change{Action: "answer.save", Answers: []round.Answer{{Indicator: fmt.Sprintf("q%03d", i%answers), Option: "none"}}}, nil
				}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	s.WaitForCheckpoints(ctx)
	if n, most := s.Stats().Checkpoints-before, int64(saves/20+1); n > most {
		t.Errorf("%d checkpoints for %d saves on a sheet checkpointed every 20 entries; at most %d", n, saves, most)
	}
}

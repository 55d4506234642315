package review

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRandomWalks makes thousands of random moves by random people on small sheets and checks,
// after every one, what must always hold: every refusal is one of the package's typed errors
// and changes nothing; the sheet's state agrees with its answers; and replaying the log gives
// the same sheet.
func TestRandomWalks(t *testing.T) {
	people := []Actor{expert, reviewer1, reviewer2, coordinator, {ID: "r3", Role: "reviewer"}}
	codes := []string{"A1", "A2", "A3"}
	typed := []error{ErrInvalidTransition, ErrForbidden, ErrStale, ErrLocked, ErrAlreadyReviewed, ErrNotFound, ErrInvalid}
	visited := map[SheetState]int{}
	answerStates := map[AnswerState]int{}
	for walk := range 200 {
		rng := rand.New(rand.NewPCG(uint64(walk), 9))
		l := newLogged(t, 1+rng.IntN(3))
		s := l.sheet
		// Copies taken along the way must never see a later move: the round hands copies of
		// cached sheets to concurrent requests (see answerList).
		type copied struct {
			sheet *Sheet
			at    int
		}
		var copies []copied
		for step := range 60 {
			copies = append(copies, copied{s.clone(), len(l.log)})
			kind := rng.IntN(18)
			who := people[rng.IntN(len(people))]
			if rng.IntN(5) > 0 {
				who = plausible(rng, kind, people)
			}
			code := codes[rng.IntN(len(codes))]
			version := s.Answer(code).Version
			if rng.IntN(10) == 0 {
				version-- // now and then, a stale version
			}
			text := "because"
			if rng.IntN(15) == 0 {
				text = "" // now and then, a missing reason
			}
			applicable := codes
			// A fork of the sheet takes another move after this one, as a request that lost the
			// race for the log does: nothing it does may show in the sheet or the copies.
			fork := s.clone()
			forkMoves := randomMove(rng, kind, fork, plausible(rng, kind, people), code, version, text, applicable)
			changes := randomMove(rng, kind, s, who, code, version, text, applicable)
			before := s.clone()
			name := fmt.Sprintf("walk %d step %d", walk, step)
			for _, mv := range changes {
				if mv.err != nil {
					if !errorsIsAny(mv.err, typed) {
						t.Fatalf("%s: untyped error %v", name, mv.err)
					}
					if !reflect.DeepEqual(before, s) {
						t.Fatalf("%s: a refused move changed the sheet: %s", name, cmp.Diff(before, s, byAnswers))
					}
					continue
				}
				l.do(mv.change, nil)
			}
			for _, mv := range forkMoves {
				if mv.err == nil {
					fork.Apply(mv.change, t0)
				}
			}
			if err := consistent(s); err != nil {
				t.Fatalf("%s after %v: %v", name, changes, err)
			}
			visited[s.state()]++
			for a := range s.EachAnswer() {
				answerStates[a.State]++
			}
		}
		if diff := cmp.Diff(s, l.replay(), byAnswers); diff != "" {
			t.Fatalf("walk %d: replay differs:\n%s", walk, diff)
		}
		for _, c := range copies {
			if diff := cmp.Diff(c.sheet, l.replayTo(c.at), byAnswers); diff != "" {
				t.Fatalf("walk %d: a later move changed the copy taken after %d entries:\n%s", walk, c.at, diff)
			}
		}
	}
	// The walks must go everywhere, or they prove little.
	for _, st := range SheetStates {
		if visited[st] == 0 {
			t.Errorf("no walk reached a %s sheet", st)
		}
	}
	for _, st := range AnswerStates {
		if answerStates[st] == 0 {
			t.Errorf("no walk reached a %s answer", st)
		}
	}
	t.Logf("sheet states visited: %v", visited)
}

type moveResult struct {
	change Change
	err    error
}

func (m moveResult) String() string {
	if m.err != nil {
		return "refused: " + m.err.Error()
	}
	return string(m.change.Move) + " " + m.change.Indicator
}

// randomMove makes one random move and returns its changes (several for bulk moves).
func randomMove(rng *rand.Rand, kind int, s *Sheet, who Actor, code string, version int, text string, applicable []string) []moveResult {
	one := func(c Change, err error) []moveResult { return []moveResult{{c, err}} }
	many := func(cs []Change, err error) []moveResult {
		if err != nil {
			return []moveResult{{err: err}}
		}
		var out []moveResult
		for _, c := range cs {
			out = append(out, moveResult{change: c})
		}
		return out
	}
	switch kind {
	case 0, 1:
		return one(s.Edit(who, code, version, text))
	case 2:
		return many(s.Confirm(who, []Target{{code, version}}))
	case 3:
		return one(s.Submit(who, applicable))
	case 4, 5:
		return one(s.Approve(who, code, version))
	case 6, 7:
		return one(s.RequestChanges(who, code, version, RequestInput{Reason: text}))
	case 8, 17:
		return one(s.Dispute(who, code, version, text))
	case 9:
		return one(s.Adjudicate(who, code, version, AdjudicationInput{Option: "a", Rationale: text}))
	case 10:
		return one(s.SendBack(who, code, version, text))
	case 11:
		return one(s.Override(who, code, version, ptr(float64(rng.IntN(101))), text))
	case 12:
		return one(s.AddComment(who, code, "a comment", rng.IntN(3)))
	case 13:
		return one(s.Resubmit(who, applicable))
	case 14:
		return one(s.Return(who, text))
	case 15:
		if rng.IntN(2) == 0 {
			return one(s.Lock(who))
		}
		return one(s.Reopen(who, text))
	default:
		return many(s.ApproveMany(who, s.Awaiting(who.ID)))
	}
}

// plausible picks someone whose role may make move kind of randomMove, so that walks get far.
func plausible(rng *rand.Rand, kind int, people []Actor) Actor {
	switch kind {
	case 4, 5, 6, 7, 16: // verdicts
		reviewers := []Actor{people[1], people[2], people[4]}
		return reviewers[rng.IntN(len(reviewers))]
	case 14: // a whole-sheet return, rarer: it would cut most reviews short
		if rng.IntN(4) == 0 {
			return people[3]
		}
		return people[0]
	case 9, 10, 11, 15: // coordinator's moves
		return people[3]
	case 12:
		return people[rng.IntN(len(people))]
	default: // the expert's moves
		return people[0]
	}
}

// consistent checks that the sheet's state agrees with its answers.
func consistent(s *Sheet) error {
	var waiting, needsExpert, settled int
	for a := range s.EachAnswer() {
		if a.Inapplicable {
			continue
		}
		switch a.State {
		case AnswerSubmitted, AnswerDisputed:
			waiting++
		case AnswerApproved, AnswerResolved:
			settled++
		default:
			needsExpert++
		}
		for _, v := range a.Verdicts {
			if v.Version > a.Version {
				return fmt.Errorf("%s: verdict on version %d, the answer is at %d", a.Indicator, v.Version, a.Version)
			}
		}
		if a.State == AnswerApproved && len(a.CurrentVerdicts()) == 0 {
			return fmt.Errorf("%s approved without a verdict on version %d", a.Indicator, a.Version)
		}
	}
	switch s.state() {
	case SheetNotStarted, SheetInProgress:
		if waiting+settled > 0 {
			return fmt.Errorf("%s sheet with answers in review", s.state())
		}
	case SheetInReview:
		if waiting == 0 {
			return errors.New("in review, but no answer waits for a reviewer or a coordinator")
		}
	case SheetReadyToLock, SheetLocked:
		if waiting+needsExpert > 0 {
			return fmt.Errorf("%s with %d answers waiting and %d for the expert", s.state(), waiting, needsExpert)
		}
	}
	return nil
}

func errorsIsAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

package round_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/review"
	"github.com/expertsurvey/expertsurvey/round"
)

// model is the sheet as a plain sorted slice: what the chunked sheet must always equal.
type model map[string]round.Answer

func (m model) apply(c round.Change, seq int64, actor string, t time.Time) {
	for _, in := range c.Answers {
		a := in
		a.UpdatedBy, a.UpdatedAt = actor, t
		if cur, ok := m[a.Indicator]; ok {
			a.Version, a.Prev = cur.Version+1, cur.At
		} else {
			a.Version, a.Prev = 1, 0
		}
		a.At = seq
		m[a.Indicator] = a
	}
}

func (m model) sorted() []round.Answer {
	out := make([]round.Answer, 0, len(m))
	for _, a := range m {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b round.Answer) int { return strings.Compare(a.Indicator, b.Indicator) })
	return out
}

// TestSheetApplyMatchesAPlainList applies random changes (one answer, a few, hundreds at once)
// to a chunked sheet and to a plain map, and checks after each that both hold the same answers
// in order, that every answer can be found, and that copies taken earlier did not change.
func TestSheetApplyMatchesAPlainList(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	sh := &round.Sheet{Round: "r", Country: "AT"}
	m := model{}
	type frozen struct {
		sheet *round.Sheet
		want  []round.Answer
	}
	var copies []frozen
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for seq := int64(1); seq <= 120; seq++ {
		n := 1
		switch rng.IntN(10) {
		case 0:
			n = 40 + rng.IntN(200) // an import or a confirmation of a whole sheet
		case 1, 2:
			n = 2 + rng.IntN(5)
		}
		var c round.Change
		seen := map[string]bool{}
		for range n {
			code := fmt.Sprintf("I%04d", rng.IntN(700))
			if seen[code] {
				continue
			}
			seen[code] = true
			c.Answers = append(c.Answers, round.Answer{Indicator: code, Option: fmt.Sprint("o", seq)})
		}
		at := t0.Add(time.Duration(seq) * time.Minute)
		next := sh.Clone()
		next.Apply(c, seq, "u", at)
		m.apply(c, seq, "u", at)
		if rng.IntN(20) == 0 {
			copies = append(copies, frozen{sheet: sh, want: sh.Answers()})
		}
		sh = next
		want := m.sorted()
		if got := sh.Answers(); !slices.EqualFunc(want, got, func(a, b round.Answer) bool { return cmp.Equal(a, b) }) {
			t.Fatalf("after entry %d (-want +got):\n%s", seq, cmp.Diff(want, got))
		}
		if sh.AnswerCount() != len(want) {
			t.Fatalf("AnswerCount %d, want %d", sh.AnswerCount(), len(want))
		}
		for _, a := range want {
			if got := sh.Answer(a.Indicator); got == nil || got.Version != a.Version {
				t.Fatalf("Answer(%s) = %+v, want version %d", a.Indicator, got, a.Version)
			}
		}
		if sh.Answer("I9999") != nil || sh.Answer("") != nil {
			t.Fatal("found an answer that was never written")
		}
	}
	for i, f := range copies {
		if diff := cmp.Diff(f.want, f.sheet.Answers()); diff != "" {
			t.Fatalf("copy %d changed after later writes (-was +now):\n%s", i, diff)
		}
	}
}

// TestSheetChangeCostIsFlat: applying one answer to a clone allocates about as many bytes on a
// sheet of 50 answers as on one of 2,000, because only one chunk and the chunk list are copied
// (copying the whole list would be some 500 kB on 2,000 answers).
func TestSheetChangeCostIsFlat(t *testing.T) {
	allocs := map[int]float64{}
	for _, size := range []int{50, 2000} {
		sh := &round.Sheet{Round: "r", Country: "AT"}
		answers := make([]round.Answer, size)
		for i := range answers {
			answers[i] = round.Answer{Indicator: fmt.Sprintf("I%04d", i), Option: "full", Comment: strings.Repeat("x", 300), Version: 1, At: 1}
		}
		sh.SetAnswers(answers)
		change := round.Change{Answers: []round.Answer{{Indicator: fmt.Sprintf("I%04d", size/2), Option: "none"}}}
		const runs = 200
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range runs {
			next := sh.Clone()
			next.Apply(change, 2, "u", time.Time{})
		}
		runtime.ReadMemStats(&after)
		allocs[size] = float64(after.TotalAlloc-before.TotalAlloc) / runs
	}
	// The chunk list of 2,000 answers is 63 pointers more than that of 50: 500 bytes.
	if allocs[2000] > allocs[50]+1024 {
		t.Fatalf("one change allocates %.0f bytes on 2,000 answers, %.0f on 50: the cost grows with the sheet", allocs[2000], allocs[50])
	}
	t.Logf("bytes allocated by one change: %.0f on 50 answers, %.0f on 2,000", allocs[50], allocs[2000])
}

// TestReviewMoveCostIsFlat: deciding and applying a verdict allocates the same on a sheet of
// 2,000 answers as on one of 50 (the review projection is chunked and copied on write too).
func TestReviewMoveCostIsFlat(t *testing.T) {
	allocs := map[int]float64{}
	for _, size := range []int{50, 2000} {
		sh := &round.Sheet{Round: "r", Country: "AT", Status: round.SheetInReview}
		answers := make([]review.Answer, size)
		for i := range answers {
			answers[i] = review.Answer{Indicator: fmt.Sprintf("I%04d", i), State: review.AnswerSubmitted, Version: 1, Author: "ex", Authors: []string{"ex"}}
		}
		sh.Review.SetAnswers(answers)
		sh.Review.State, sh.Review.ReviewersPerAnswer = review.SheetInReview, 3
		reviewer := review.Actor{ID: "rev", Role: auth.RoleReviewer}
		code := fmt.Sprintf("I%04d", size/2)
		const runs = 200
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range runs {
			next := sh.Clone()
			rc, err := next.Review.Approve(reviewer, code, 1)
			if err != nil {
				t.Fatal(err)
			}
			next.Apply(round.Change{Action: string(rc.Move), Review: []review.Change{rc}}, 2, "rev", time.Time{})
		}
		runtime.ReadMemStats(&after)
		allocs[size] = float64(after.TotalAlloc-before.TotalAlloc) / runs
	}
	if allocs[2000] > allocs[50]+1024 {
		t.Fatalf("one verdict allocates %.0f bytes on 2,000 answers, %.0f on 50: the cost grows with the sheet", allocs[2000], allocs[50])
	}
	t.Logf("bytes allocated by one verdict: %.0f on 50 answers, %.0f on 2,000", allocs[50], allocs[2000])
}

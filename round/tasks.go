package round

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/review"
)

// TaskKind is what waits on a person.
type TaskKind string

// Task kinds, in the order a work queue lists them within a sheet.
const (
	// TaskCompleteSheet: an expert's sheet not yet submitted.
	TaskCompleteSheet TaskKind = "complete_sheet"
	// TaskAnswerRequests: answers a reviewer or coordinator sent back to the expert.
	TaskAnswerRequests TaskKind = "answer_requests"
	// TaskResubmit: a returned sheet whose requests are all answered, waiting to be resubmitted.
	TaskResubmit TaskKind = "resubmit_sheet"
	// TaskReviewAnswers: answers waiting for the reviewer's verdict.
	TaskReviewAnswers TaskKind = "review_answers"
	// TaskAdjudicate: disputed answers waiting for a coordinator.
	TaskAdjudicate TaskKind = "adjudicate_disputes"
	// TaskLockSheet: a sheet ready to lock.
	TaskLockSheet TaskKind = "lock_sheet"
)

// Task is one thing waiting on the caller in one sheet.
type Task struct {
	Kind       TaskKind
	Round      string
	Country    string
	Indicators []string // the answers concerned, for answer tasks
	Due        string   // the round's deadline for this kind of work, YYYY-MM-DD, or ""
	Overdue    bool
}

// Key orders tasks and pages through them: by deadline (tasks without one last), round,
// country and kind. It is stable while the task exists, so a page cursor can name it.
func (t Task) Key() string {
	due := t.Due
	if due == "" {
		due = "~" // after every date
	}
	return due + "|" + t.Round + "|" + t.Country + "|" + string(rune('a'+slices.Index(taskOrder, t.Kind)))
}

var taskOrder = []TaskKind{TaskCompleteSheet, TaskAnswerRequests, TaskResubmit, TaskReviewAnswers, TaskAdjudicate, TaskLockSheet}

// Tasks lists what waits on p across the rounds being collected or reviewed, by deadline (the
// earliest first, tasks without one last), then round and country. It reads the sheets p works
// on, a few at a time, from the projection (no log scan).
func (s *Service) Tasks(ctx context.Context, p auth.Principal) ([]Task, error) {
	rounds, err := s.Rounds(ctx, p)
	if err != nil {
		return nil, err
	}
	today := s.now().UTC().Format(time.DateOnly)
	var out []Task
	for i := range rounds {
		r := &rounds[i]
		if r.Status != StatusOpen && r.Status != StatusClosed {
			continue
		}
		coordinates := p.SeesAllCountries(r.ID)
		experts := p.Countries(r.ID, auth.RoleExpert)
		reviews := p.Countries(r.ID, auth.RoleReviewer)
		var countries []string
		for _, c := range r.Countries {
			if coordinates || slices.Contains(experts, c) || slices.Contains(reviews, c) {
				countries = append(countries, c)
			}
		}
		found := make([][]Task, len(countries))
		err := forEachCountry(ctx, countries, func(i int, country string) error {
			sh, err := s.sheetOf(ctx, r, country)
			if err != nil {
				return err
			}
			found[i] = sheetTasks(p.UserID, r, sh, slices.Contains(experts, country), slices.Contains(reviews, country), coordinates)
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, ts := range found {
			for _, t := range ts {
				t.Overdue = t.Due != "" && t.Due < today
				out = append(out, t)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Task) int { return cmp.Compare(a.Key(), b.Key()) })
	return out, nil
}

// sheetTasks is what waits on user in one sheet, in the roles they hold there.
func sheetTasks(user string, r *Round, sh *Sheet, expert, reviewer, coordinator bool) []Task {
	task := func(kind TaskKind, due string, codes []string) Task {
		return Task{Kind: kind, Round: r.ID, Country: sh.Country, Indicators: codes, Due: due}
	}
	var out []Task
	rv := &sh.Review
	if expert {
		switch sh.Status {
		case SheetNotStarted, SheetInProgress:
			if r.Status == StatusOpen {
				out = append(out, task(TaskCompleteSheet, r.AnswersDue, nil))
			}
		case SheetReturned:
			var open []string
			for a := range rv.EachAnswer() {
				if a.State == review.AnswerChangesRequested && !a.Inapplicable {
					open = append(open, a.Indicator)
				}
			}
			if len(open) > 0 {
				out = append(out, task(TaskAnswerRequests, r.ReviewsDue, open))
			} else {
				out = append(out, task(TaskResubmit, r.ReviewsDue, nil))
			}
		}
	}
	if reviewer && (sh.Status == SheetSubmitted || sh.Status == SheetInReview) {
		if waiting := rv.Awaiting(user); len(waiting) > 0 {
			codes := make([]string, len(waiting))
			for i, t := range waiting {
				codes[i] = t.Indicator
			}
			out = append(out, task(TaskReviewAnswers, r.ReviewsDue, codes))
		}
	}
	if coordinator {
		switch sh.Status {
		case SheetInReview:
			var disputed []string
			for a := range rv.EachAnswer() {
				if a.State == review.AnswerDisputed && !a.Inapplicable {
					disputed = append(disputed, a.Indicator)
				}
			}
			if len(disputed) > 0 {
				out = append(out, task(TaskAdjudicate, r.ReviewsDue, disputed))
			}
		case SheetReadyToLock:
			out = append(out, task(TaskLockSheet, r.ReviewsDue, nil))
		}
	}
	return out
}

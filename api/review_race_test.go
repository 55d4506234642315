package api_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/review"
	"github.com/expertsurvey/expertsurvey/round"
)

// TestConcurrentReviewThroughTwoInstancesLosesNothing: six reviewers give verdicts on every
// answer of a submitted sheet at once, through two service instances sharing the store, while
// a coordinator returns the sheet and the expert revises what is not approved. Every
// acknowledged verdict and revision is in the log exactly once, every verdict is on the version
// its request named, no version gets more verdicts than the round asks for, and nothing but
// 200, 409 and 412 is answered.
func TestConcurrentReviewThroughTwoInstancesLosesNothing(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	ctx := context.Background()
	r, err := env.App.Rounds.CreateRound(ctx, systemAdmin, round.RoundInput{ID: "r1", Name: "Race", Questionnaire: "mini-index",
		QuestionnaireVer: "1", Countries: []string{"AT"}, ReviewersPerAnswer: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Rounds.SetStatus(ctx, systemAdmin, "r1", round.StatusOpen, r.Version); err != nil {
		t.Fatal(err)
	}
	second := apitest.NewOn(t, mongodbtest.SecondInstance(t, env.Store))
	servers := []*apitest.Env{env, second}
	at := func(role auth.Role) auth.Assignment { return auth.Assignment{Role: role, Round: "r1", Country: "AT"} }
	expert, _ := env.As(auth.RoleNone, at(auth.RoleExpert))
	for code, body := range reviewSheetAnswers {
		want(t, expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", code), Header: map[string]string{"If-Match": `"0"`}, Body: body}), 200, "answer "+code)
	}
	want(t, expert.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r1/countries/AT/submit"}), 200, "submit")

	type verdictKey struct {
		reviewer, indicator string
	}
	var mu sync.Mutex
	ackedVerdicts := map[verdictKey]int{}
	ackedRevisions := map[string][]int{}
	unexpected := func(what string, res *apitest.Response) {
		if res.Status != 200 && res.Status != 409 && res.Status != 412 {
			t.Errorf("%s: %d %s", what, res.Status, res.Body)
		}
	}
	var wg sync.WaitGroup
	for i := range 6 {
		c, u := env.As(auth.RoleNone, at(auth.RoleReviewer))
		c = servers[i%2].Client()
		c.Token = loginToken(t, env, u.Email)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for code := range reviewSheetAnswers {
				body := map[string]any{"decision": "approve"}
				if i%3 == 0 {
					body = map[string]any{"decision": "request_changes", "reason": "reviewer " + strconv.Itoa(i) + " disagrees"}
				}
				res := c.Do(apitest.Request{Method: "POST", Path: answerPath("r1", "AT", code) + "/verdicts", Header: map[string]string{"If-Match": `"1"`}, Body: body})
				unexpected("verdict", res)
				if res.Status == 200 {
					mu.Lock()
					ackedVerdicts[verdictKey{u.ID, code}] = 1
					mu.Unlock()
				}
			}
		}()
	}
	coord, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: "r1"})
	wg.Add(1)
	go func() {
		defer wg.Done()
		unexpected("return", coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r1/countries/AT/return", Body: map[string]any{"reason": "stop: new law"}}))
	}()
	// The expert, on the other instance, revises the text answer FR_7 once the sheet is back (unless
	// it is approved by then).
	ec := second.Client()
	ec.Token = expert.Token
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 200 {
			var sheet struct {
				Status  string
				Answers []struct {
					Indicator string
					Version   int
					Review    struct{ State string }
				}
			}
			ec.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/r1/countries/AT"}).Decode(t, &sheet)
			if sheet.Status != "returned" {
				continue
			}
			for _, a := range sheet.Answers {
				if a.Indicator != "FR_7" || a.Review.State == "approved" || a.Review.State == "revised" {
					continue
				}
				res := ec.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", a.Indicator), Header: map[string]string{"If-Match": strconv.Quote(strconv.Itoa(a.Version))},
					Body: map[string]any{"text": "revised after the return", "reason": "the new law"}})
				unexpected("revision", res)
				if res.Status == 200 {
					mu.Lock()
					ackedRevisions[a.Indicator] = append(ackedRevisions[a.Indicator], a.Version+1)
					mu.Unlock()
				}
			}
			return
		}
	}()
	wg.Wait()

	sh, err := env.Store.Sheet(ctx, "r1", "AT")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := env.Store.SheetEntries(ctx, "r1", "AT", seqs(int(sh.Seq)))
	if err != nil {
		t.Fatal(err)
	}
	inLog := map[verdictKey]int{}
	perVersion := map[string]int{}
	revisions := map[string][]int{}
	for _, e := range entries {
		for _, rc := range e.Change.Review {
			switch {
			case rc.Verdict != nil:
				k := verdictKey{rc.Actor.ID, rc.Indicator}
				inLog[k]++
				if rc.Verdict.Version != 1 {
					t.Errorf("%s's verdict on %s is on version %d; every request named version 1", k.reviewer, k.indicator, rc.Verdict.Version)
				}
				perVersion[fmt.Sprintf("%s@%d", rc.Indicator, rc.Verdict.Version)]++
			case rc.Move == review.MoveRevise:
				revisions[rc.Indicator] = append(revisions[rc.Indicator], rc.Version+1)
			}
		}
	}
	if len(ackedVerdicts) == 0 {
		t.Fatal("no verdict was acknowledged: the race proves nothing")
	}
	for k := range ackedVerdicts {
		if inLog[k] != 1 {
			t.Errorf("acknowledged verdict of %s on %s is in the log %d times", k.reviewer, k.indicator, inLog[k])
		}
	}
	for k, n := range inLog {
		if ackedVerdicts[k] == 0 {
			t.Errorf("verdict of %s on %s is in the log (%d) but was never acknowledged", k.reviewer, k.indicator, n)
		}
	}
	for v, n := range perVersion {
		if n > 2 {
			t.Errorf("%s has %d verdicts; the round asks for 2", v, n)
		}
	}
	for code, vs := range ackedRevisions {
		if fmt.Sprint(vs) != fmt.Sprint(revisions[code]) {
			t.Errorf("revisions of %s: acknowledged %v, logged %v", code, vs, revisions[code])
		}
	}
	// The projection every instance serves equals a replay of the log.
	for _, s := range servers {
		got, err := s.Store.Sheet(ctx, "r1", "AT")
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != sh.Seq || got.Status != sh.Status || got.Review.Progress() != sh.Review.Progress() {
			t.Errorf("instances disagree: %d %s %+v vs %d %s %+v", got.Seq, got.Status, got.Review.Progress(), sh.Seq, sh.Status, sh.Review.Progress())
		}
	}
	t.Logf("verdicts acknowledged %d, revisions %d, log entries %d, sheet %s", len(ackedVerdicts), len(ackedRevisions), len(entries), sh.Status)
}

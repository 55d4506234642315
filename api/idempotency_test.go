package api_test

import (
	"context"
	"sync"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/round"
)

// submittedSheet opens round r1 (two reviewers per answer) with AT's sheet answered and
// submitted, and returns the second instance and a reviewer's user.
func submittedSheet(t *testing.T) (*apitest.Env, *apitest.Env, auth.User) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	ctx := context.Background()
	r, err := env.App.Rounds.CreateRound(ctx, systemAdmin, round.RoundInput{ID: "r1", Name: "Keys", Questionnaire: "mini-index",
		QuestionnaireVer: "1", Countries: []string{"AT"}, ReviewersPerAnswer: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Rounds.SetStatus(ctx, systemAdmin, "r1", round.StatusOpen, r.Version); err != nil {
		t.Fatal(err)
	}
	at := func(role auth.Role) auth.Assignment { return auth.Assignment{Role: role, Round: "r1", Country: "AT"} }
	expert, _ := env.As(auth.RoleNone, at(auth.RoleExpert))
	for code, body := range reviewSheetAnswers {
		want(t, expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", code), Header: map[string]string{"If-Match": `"0"`}, Body: body}), 200, "answer "+code)
	}
	want(t, expert.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r1/countries/AT/submit"}), 200, "submit")
	_, reviewer := env.As(auth.RoleNone, at(auth.RoleReviewer))
	return env, apitest.NewOn(t, mongodbtest.SecondInstance(t, env.Store)), reviewer
}

// verdictsOn counts the verdicts in AT's log on indicator.
func verdictsOn(t *testing.T, env *apitest.Env, indicator string) int {
	ctx := context.Background()
	sh, err := env.Store.Sheet(ctx, "r1", "AT")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := env.Store.SheetEntries(ctx, "r1", "AT", seqs(int(sh.Seq)))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		for _, rc := range e.Change.Review {
			if rc.Verdict != nil && rc.Indicator == indicator {
				n++
			}
		}
	}
	return n
}

func TestIdempotencyKeyReplaysTheFirstResponse(t *testing.T) {
	env, second, reviewer := submittedSheet(t)
	token := loginToken(t, env, reviewer.Email)
	one, two := env.Client(), second.Client()
	one.Token, two.Token = token, token
	approve := apitest.Request{Method: "POST", Path: answerPath("r1", "AT", "LMM_2") + "/verdicts",
		Header: map[string]string{"If-Match": `"1"`, "Idempotency-Key": "k-approve-lmm2"}, Body: map[string]any{"decision": "approve"}}

	first := one.Do(approve)
	want(t, first, 200, "first approval")
	again := two.Do(approve) // a retry through the other instance
	want(t, again, 200, "retried approval")
	if string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" || again.Header.Get("ETag") != first.Header.Get("ETag") {
		t.Fatalf("the retry was not a replay: %s / %s", again.Header, again.Body)
	}
	if n := verdictsOn(t, env, "LMM_2"); n != 1 {
		t.Fatalf("%d verdicts in the log after a retried approval, want 1", n)
	}
	// Without the key, the same request is a second verdict on the version: refused.
	plain := approve
	plain.Header = map[string]string{"If-Match": `"1"`}
	want(t, one.Do(plain), 409, "a second approval without the key")

	// The same key with another body is refused, naming the header.
	other := approve
	other.Body = map[string]any{"decision": "request_changes", "reason": "second thoughts"}
	res := two.Do(other)
	if got := fieldsOf(t, res); res.Status != 422 || len(got) != 1 || got[0] != "Idempotency-Key" {
		t.Fatalf("reused key: %d %v", res.Status, got)
	}

	// A refusal is replayed too: the retry learns what the first attempt learnt.
	stale := apitest.Request{Method: "POST", Path: answerPath("r1", "AT", "LMM_3") + "/verdicts",
		Header: map[string]string{"If-Match": `"7"`, "Idempotency-Key": "k-stale"}, Body: map[string]any{"decision": "approve"}}
	want(t, one.Do(stale), 412, "stale verdict")
	if res := two.Do(stale); res.Status != 412 || res.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("stale verdict retried: %d %s", res.Status, res.Header)
	}
	// Keys belong to their user: another reviewer's same key is their own.
	_, other2 := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleReviewer, Round: "r1", Country: "AT"})
	c := env.Client()
	c.Token = loginToken(t, env, other2.Email)
	if res := c.Do(approve); res.Status != 200 || res.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("another user's key: %d %s", res.Status, res.Header)
	}
	if n := verdictsOn(t, env, "LMM_2"); n != 2 {
		t.Fatalf("%d verdicts on LMM_2, want 2", n)
	}
}

// TestIdempotencyKeyRaceThroughTwoInstances: many retries of one request at once, through two
// instances, make one verdict; every answer is the first response or "still in progress".
func TestIdempotencyKeyRaceThroughTwoInstances(t *testing.T) {
	env, second, reviewer := submittedSheet(t)
	token := loginToken(t, env, reviewer.Email)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := []*apitest.Env{env, second}[i%2].Client()
			c.Token = token
			res := c.Do(apitest.Request{Method: "POST", Path: answerPath("r1", "AT", "FR_2") + "/verdicts",
				Header: map[string]string{"If-Match": `"1"`, "Idempotency-Key": "k-race"}, Body: map[string]any{"decision": "approve"}})
			mu.Lock()
			statuses[res.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[200] == 0 || statuses[200]+statuses[409] != 16 {
		t.Fatalf("statuses %v: want 200s (first response and replays) and 409s (in progress) only", statuses)
	}
	if n := verdictsOn(t, env, "FR_2"); n != 1 {
		t.Fatalf("%d verdicts from 16 attempts with one key, want 1", n)
	}
}

// TestImportDoesNotBypassReview: once a sheet is submitted, an answers import that would change
// it is refused, row by row (a coordinator's revision needs a reason, like an expert's), while
// importing what it already holds writes nothing and succeeds.
func TestImportDoesNotBypassReview(t *testing.T) {
	env, _, _ := submittedSheet(t)
	coord, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: "r1"})
	res := coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r1/answers/import", ContentType: "text/csv", Body: "country,indicator,option\nAT,LMM_2,no\n"})
	if got := fieldsOf(t, res); res.Status != 400 || len(got) != 1 || got[0] != "row 2: country" {
		t.Fatalf("changing a submitted sheet by import: %d %v", res.Status, got)
	}
	res = coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r1/answers/import", ContentType: "text/csv", Body: "country,indicator,option\nAT,LMM_2,yes\n"})
	want(t, res, 200, "re-importing what the sheet holds")
	if res.JSON(t)["written"] != float64(0) {
		t.Fatalf("re-import wrote: %s", res.Body)
	}
}

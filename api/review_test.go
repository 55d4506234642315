package api_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/round"
)

// reviewSheetAnswers answers every indicator of the mini index that applies when FR_1 is "full"
// and FR_4 "no" (FR_3 and FR_5 then do not apply).
var reviewSheetAnswers = map[string]map[string]any{
	"LMM_1": {"option": "full", "sources": []map[string]any{{"kind": "law", "title": "Employment Act 2019"}}},
	"LMM_2": {"option": "yes"}, "LMM_3": {"value": 2}, "LMM_4": {"option": "100"}, "LMM_5": {"option": "keeps"},
	"FR_1": {"option": "full"}, "FR_2": {"option": "yes"}, "FR_4": {"option": "no"}, "FR_6": {"value": 80},
	"FR_7": {"text": "nothing to add"}, "H_1": {"option": "full"}, "H_2": {"option": "yes"}, "H_3": {"option": "no"},
}

// seen collects every response body a person received, to check what blind review hides.
type seen struct {
	*apitest.Client
	bodies []string
}

func (s *seen) Do(req apitest.Request) *apitest.Response {
	r := s.Client.Do(req)
	s.bodies = append(s.bodies, string(r.Body))
	return r
}

func (s *seen) mustNotMention(t *testing.T, who string, users ...auth.User) {
	t.Helper()
	for _, u := range users {
		for _, b := range s.bodies {
			for _, secret := range []string{u.ID, u.Email} {
				if strings.Contains(b, secret) {
					t.Fatalf("a response to the %s names %s: %.300s", who, secret, b)
				}
			}
		}
	}
}

func etagOf(r *apitest.Response) map[string]string {
	return map[string]string{"If-Match": r.Header.Get("ETag")}
}

func want(t *testing.T, r *apitest.Response, status int, what string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: %d, want %d: %s", what, r.Status, status, r.Body)
	}
}

// TestReviewOfASheetWithTwoBlindReviewers plays a whole review over HTTP: submission, one
// reviewer approving everything, the other approving most and challenging two answers, a
// revision with its reason, a rebuttal, adjudication, an override, the sheet reaching
// ready_to_lock and being locked. Every response is checked against openapi.yaml, and no
// response the expert received names a reviewer (nor the reverse).
func TestReviewOfASheetWithTwoBlindReviewers(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	ctx := context.Background()
	r, err := env.App.Rounds.CreateRound(ctx, systemAdmin, round.RoundInput{ID: "r1", Name: "Blind", Questionnaire: "mini-index",
		QuestionnaireVer: "1", Countries: []string{"AT"}, BlindReview: true, ReviewersPerAnswer: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Rounds.SetStatus(ctx, systemAdmin, "r1", round.StatusOpen, r.Version); err != nil {
		t.Fatal(err)
	}
	at := func(role auth.Role) auth.Assignment { return auth.Assignment{Role: role, Round: "r1", Country: "AT"} }
	ec, expertUser := env.As(auth.RoleNone, at(auth.RoleExpert))
	r1c, reviewer1 := env.As(auth.RoleNone, at(auth.RoleReviewer))
	r2c, reviewer2 := env.As(auth.RoleNone, at(auth.RoleReviewer))
	cc, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: "r1"})
	expert, rev1, rev2, coord := &seen{Client: ec}, &seen{Client: r1c}, &seen{Client: r2c}, &seen{Client: cc}
	sheet := "/v1/rounds/r1/countries/AT"
	ans := func(code string) string { return answerPath("r1", "AT", code) }

	for code, body := range reviewSheetAnswers {
		want(t, expert.Do(apitest.Request{Method: "PUT", Path: ans(code), Header: map[string]string{"If-Match": `"0"`}, Body: body}), 200, "answer "+code)
	}
	want(t, expert.Do(apitest.Request{Method: "POST", Path: sheet + "/submit"}), 200, "submit")
	wantTasks(t, rev1, "review_answers", len(reviewSheetAnswers))
	wantTasks(t, expert)

	// A reviewer cannot change content; an expert cannot give verdicts.
	want(t, rev1.Do(apitest.Request{Method: "PUT", Path: ans("LMM_2"), Header: map[string]string{"If-Match": `"1"`}, Body: map[string]any{"option": "no"}}), 403, "reviewer saving")
	want(t, expert.Do(apitest.Request{Method: "POST", Path: ans("LMM_2") + "/verdicts", Header: map[string]string{"If-Match": `"1"`}, Body: map[string]any{"decision": "approve"}}), 403, "expert approving")
	// A request for changes needs its reason, named as the field.
	res := rev2.Do(apitest.Request{Method: "POST", Path: ans("LMM_1") + "/verdicts", Header: map[string]string{"If-Match": `"1"`}, Body: map[string]any{"decision": "request_changes"}})
	if got := fieldsOf(t, res); res.Status != 400 || !slices.Contains(got, "reason") {
		t.Fatalf("request without a reason: %d %v", res.Status, got)
	}

	// Reviewer 1 approves everything at once; reviewer 2 approves all but two, which they challenge.
	res = rev1.Do(apitest.Request{Method: "POST", Path: sheet + "/approvals", Body: map[string]any{"all_remaining": true}})
	want(t, res, 200, "bulk approval")
	var bulk struct {
		Approved []string `json:"approved"`
		Sheet    struct {
			Status string `json:"status"`
		} `json:"sheet"`
	}
	res.Decode(t, &bulk)
	if len(bulk.Approved) != len(reviewSheetAnswers) || bulk.Sheet.Status != "in_review" {
		t.Fatalf("bulk approval: %d approved, sheet %s", len(bulk.Approved), bulk.Sheet.Status)
	}
	var others []map[string]any
	for code := range reviewSheetAnswers {
		if code != "LMM_1" && code != "LMM_2" {
			others = append(others, map[string]any{"indicator": code, "version": 1})
		}
	}
	want(t, rev2.Do(apitest.Request{Method: "POST", Path: sheet + "/approvals", Body: map[string]any{"answers": others}}), 200, "second reviewer's approvals")
	want(t, rev2.Do(apitest.Request{Method: "POST", Path: ans("LMM_1") + "/verdicts", Header: map[string]string{"If-Match": `"1"`},
		Body: map[string]any{"decision": "request_changes", "reason": "the 2024 amendment restricts access", "suggested_option": "partial"}}), 200, "request on LMM_1")
	want(t, rev2.Do(apitest.Request{Method: "POST", Path: ans("LMM_2") + "/verdicts", Header: map[string]string{"If-Match": `"1"`},
		Body: map[string]any{"decision": "request_changes", "reason": "see the 2023 decree"}}), 200, "request on LMM_2")
	want(t, rev2.Do(apitest.Request{Method: "POST", Path: ans("LMM_2") + "/comments", Body: map[string]any{"text": "decree 2023/14, art. 3"}}), 201, "comment")

	// Nothing waits for a reviewer any more: the sheet is back with the expert, who sees why.
	wantTasks(t, rev1)
	wantTasks(t, expert, "answer_requests", 2)
	res = expert.Do(apitest.Request{Method: "GET", Path: sheet})
	want(t, res, 200, "expert reads the returned sheet")
	var view struct {
		Status  string `json:"status"`
		Answers []struct {
			Indicator string `json:"indicator"`
			Version   int    `json:"version"`
			Review    struct {
				State        string `json:"state"`
				OpenRequests []struct {
					By, Reason string
				} `json:"open_requests"`
				Comments []struct{ Author string } `json:"comments"`
			} `json:"review"`
		} `json:"answers"`
		Progress map[string]int `json:"progress"`
	}
	res.Decode(t, &view)
	if view.Status != "returned" || view.Progress["approved"] != len(reviewSheetAnswers)-2 || view.Progress["changes_requested"] != 2 {
		t.Fatalf("after the verdicts: %s %v", view.Status, view.Progress)
	}
	for _, a := range view.Answers {
		if a.Indicator == "LMM_1" && (len(a.Review.OpenRequests) != 1 || !strings.HasPrefix(a.Review.OpenRequests[0].By, "Reviewer ") ||
			a.Review.OpenRequests[0].Reason != "the 2024 amendment restricts access") {
			t.Fatalf("the expert's view of the request on LMM_1: %+v", a.Review)
		}
		if a.Indicator == "LMM_2" && (len(a.Review.Comments) != 1 || !strings.HasPrefix(a.Review.Comments[0].Author, "Reviewer ")) {
			t.Fatalf("the expert's view of the comment on LMM_2: %+v", a.Review)
		}
	}

	// A revision needs its reason; then the expert disputes the other request and resubmits.
	res = expert.Do(apitest.Request{Method: "PUT", Path: ans("LMM_1"), Header: map[string]string{"If-Match": `"1"`},
		Body: map[string]any{"option": "partial", "sources": []map[string]any{{"kind": "law", "title": "Employment Act 2024"}}}})
	if got := fieldsOf(t, res); res.Status != 400 || !slices.Contains(got, "reason") {
		t.Fatalf("revision without a reason: %d %v", res.Status, got)
	}
	want(t, expert.Do(apitest.Request{Method: "PUT", Path: ans("LMM_1"), Header: map[string]string{"If-Match": `"1"`},
		Body: map[string]any{"option": "partial", "reason": "the amendment applies from 2024", "sources": []map[string]any{{"kind": "law", "title": "Employment Act 2024"}}}}), 200, "revision")
	res = expert.Do(apitest.Request{Method: "GET", Path: ans("LMM_1") + "/history"})
	var hist struct {
		Versions []struct {
			Version int
			Reason  string
		}
	}
	res.Decode(t, &hist)
	if len(hist.Versions) != 2 || hist.Versions[0].Reason != "the amendment applies from 2024" || hist.Versions[1].Reason != "" {
		t.Fatalf("history of LMM_1 after the revision: %s", res.Body)
	}
	want(t, expert.Do(apitest.Request{Method: "POST", Path: ans("LMM_2") + "/dispute", Header: map[string]string{"If-Match": `"1"`},
		Body: map[string]any{"text": "the decree was annulled in 2024"}}), 200, "dispute")
	want(t, expert.Do(apitest.Request{Method: "POST", Path: sheet + "/submit"}), 200, "resubmit")
	wantTasks(t, coord, "adjudicate_disputes", 1)
	wantTasks(t, rev2, "review_answers", 1)

	// An approval of the version that was revised is refused with the current answer.
	res = rev1.Do(apitest.Request{Method: "POST", Path: ans("LMM_1") + "/verdicts", Header: map[string]string{"If-Match": `"1"`}, Body: map[string]any{"decision": "approve"}})
	want(t, res, 412, "stale approval")
	if cur, _ := res.JSON(t)["current"].(map[string]any); cur == nil || cur["version"] != float64(2) {
		t.Fatalf("stale approval without the current answer: %s", res.Body)
	}
	for _, rv := range []*seen{rev1, rev2} {
		want(t, rv.Do(apitest.Request{Method: "POST", Path: ans("LMM_1") + "/verdicts", Header: map[string]string{"If-Match": `"2"`}, Body: map[string]any{"decision": "approve"}}), 200, "approval of the revision")
	}
	want(t, rev1.Do(apitest.Request{Method: "POST", Path: ans("LMM_1") + "/verdicts", Header: map[string]string{"If-Match": `"2"`}, Body: map[string]any{"decision": "approve"}}), 409, "a second verdict on one version")
	want(t, rev1.Do(apitest.Request{Method: "POST", Path: ans("LMM_2") + "/adjudication", Header: map[string]string{"If-Match": `"1"`},
		Body: map[string]any{"option": "no", "rationale": "mine"}}), 403, "a reviewer adjudicating")
	want(t, coord.Do(apitest.Request{Method: "POST", Path: ans("LMM_2") + "/adjudication", Header: map[string]string{"If-Match": `"1"`},
		Body: map[string]any{"option": "maybe", "rationale": "x"}}), 400, "adjudication to an unknown option")
	res = coord.Do(apitest.Request{Method: "POST", Path: ans("LMM_2") + "/adjudication", Header: map[string]string{"If-Match": `"1"`},
		Body: map[string]any{"option": "no", "rationale": "the annulment is under appeal; the decree applies"}})
	want(t, res, 200, "adjudication")
	if a := res.JSON(t); a["option"] != "no" || a["version"] != float64(2) || a["review"].(map[string]any)["state"] != "resolved" {
		t.Fatalf("adjudicated answer: %s", res.Body)
	}
	res = coord.Do(apitest.Request{Method: "POST", Path: ans("LMM_4") + "/override", Header: etagOf(coord.Do(apitest.Request{Method: "GET", Path: ans("LMM_4")})),
		Body: map[string]any{"score": 80, "reason": "practice lags the law"}})
	want(t, res, 200, "override")

	// Ready to lock; the coordinator sees names, and the scores use the override.
	res = coord.Do(apitest.Request{Method: "GET", Path: sheet})
	res.Decode(t, &view)
	if view.Status != "ready_to_lock" || view.Progress["approved"] != len(reviewSheetAnswers)-1 || view.Progress["resolved"] != 1 {
		t.Fatalf("before the lock: %s %v", view.Status, view.Progress)
	}
	if !strings.Contains(string(res.Body), reviewer1.ID) || !strings.Contains(string(res.Body), expertUser.ID) {
		t.Fatal("the coordinator does not see who acted")
	}
	var history struct {
		History []struct{ Move, To string } `json:"history"`
	}
	res.Decode(t, &history)
	var path []string
	for _, h := range history.History {
		path = append(path, h.To)
	}
	if got := strings.Join(path, ","); got != "in_progress,submitted,in_review,returned,in_review,ready_to_lock" {
		t.Fatalf("sheet history: %s", got)
	}
	wantTasks(t, coord, "lock_sheet", 0)
	// Calibration: LMM_4's score is the override; agreement over the versions two reviewers
	// ruled on: 12 agreed (two approvals each), LMM_1 v1 and LMM_2 v1 split (approve, request).
	res = coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/r1/calibration/LMM_4"})
	want(t, res, 200, "calibration")
	var cal struct {
		Countries []struct {
			Country string
			Score   *float64
		}
	}
	res.Decode(t, &cal)
	if len(cal.Countries) != 1 || cal.Countries[0].Score == nil || *cal.Countries[0].Score != 80 {
		t.Fatalf("calibration of LMM_4: %s", res.Body)
	}
	res = coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/r1/agreement"})
	want(t, res, 200, "agreement")
	var ag struct {
		Overall struct {
			Units, Pairs, Agreeing int
		}
	}
	res.Decode(t, &ag)
	if n := len(reviewSheetAnswers); ag.Overall.Units != n+1 || ag.Overall.Pairs != n+1 || ag.Overall.Agreeing != n-1 {
		t.Fatalf("agreement: %s", res.Body)
	}
	want(t, rev1.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/r1/agreement"}), 403, "agreement for a reviewer")
	want(t, coord.Do(apitest.Request{Method: "POST", Path: sheet + "/lock"}), 200, "lock")
	wantTasks(t, coord)
	want(t, rev1.Do(apitest.Request{Method: "POST", Path: ans("LMM_3") + "/comments", Body: map[string]any{"text": "late"}}), 409, "comment on a locked sheet")
	want(t, expert.Do(apitest.Request{Method: "PUT", Path: ans("LMM_3"), Header: map[string]string{"If-Match": `"1"`}, Body: map[string]any{"value": 3, "reason": "x"}}), 409, "edit of a locked sheet")

	// Every move is in the sheet's log, in order.
	entries, err := env.Store.SheetEntries(ctx, "r1", "AT", seqs(len(reviewSheetAnswers)+12))
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries[len(reviewSheetAnswers):] {
		actions = append(actions, e.Change.Action)
	}
	wantActions := "review.submit,review.approve_many,review.approve_many,review.request_changes,review.request_changes,review.comment," +
		"answer.save,review.dispute,review.resubmit,review.approve,review.approve,review.adjudicate"
	if got := strings.Join(actions, ","); got != wantActions {
		t.Fatalf("log:\n got %s\nwant %s", got, wantActions)
	}

	// The timeline holds the same, move by move, a page at a time; the answer's is its part.
	var moves []string
	after := ""
	for {
		res := expert.Do(apitest.Request{Method: "GET", Path: sheet + "/timeline?limit=10" + after})
		want(t, res, 200, "timeline")
		var page struct {
			Items []struct{ Action, Actor, Indicator string }
			Next  int64
		}
		res.Decode(t, &page)
		for _, it := range page.Items {
			moves = append(moves, it.Action)
		}
		if page.Next == 0 {
			break
		}
		after = "&after=" + strconv.FormatInt(page.Next, 10)
	}
	n := len(reviewSheetAnswers)
	wantMoves := slices.Concat(repeat("review.save", n), []string{"review.submit"}, repeat("review.approve", 2*n-2),
		[]string{"review.request_changes", "review.request_changes", "review.comment", "review.revise", "review.dispute", "review.resubmit",
			"review.approve", "review.approve", "review.adjudicate", "review.override", "review.lock"})
	if !slices.Equal(moves, wantMoves) {
		t.Fatalf("timeline:\n got %v\nwant %v", moves, wantMoves)
	}
	res = rev1.Do(apitest.Request{Method: "GET", Path: ans("LMM_1") + "/timeline"})
	var one struct {
		Items []struct{ Action, Actor string }
	}
	res.Decode(t, &one)
	var lmm1 []string
	for _, it := range one.Items {
		lmm1 = append(lmm1, it.Action+" by "+it.Actor)
	}
	if got := strings.Join(lmm1, ", "); got != "review.save by Expert, review.approve by Reviewer 1, review.request_changes by Reviewer 2, "+
		"review.revise by Expert, review.approve by Reviewer 1, review.approve by Reviewer 2" {
		t.Fatalf("LMM_1's timeline as the first reviewer sees it: %s", got)
	}

	expert.mustNotMention(t, "expert", reviewer1, reviewer2)
	rev1.mustNotMention(t, "first reviewer", expertUser, reviewer2)
	rev2.mustNotMention(t, "second reviewer", expertUser, reviewer1)
}

// wantTasks checks the caller's work queue: empty, or one task of kind naming n answers.
func wantTasks(t *testing.T, who *seen, kindAndCount ...any) {
	t.Helper()
	res := who.Do(apitest.Request{Method: "GET", Path: "/v1/me/tasks"})
	want(t, res, 200, "tasks")
	var page struct {
		Tasks []struct {
			Kind       string
			Indicators []string
		}
	}
	res.Decode(t, &page)
	if len(kindAndCount) == 0 {
		if len(page.Tasks) != 0 {
			t.Fatalf("tasks: %+v, want none", page.Tasks)
		}
		return
	}
	if len(page.Tasks) != 1 || page.Tasks[0].Kind != kindAndCount[0] || len(page.Tasks[0].Indicators) != kindAndCount[1] {
		t.Fatalf("tasks: %+v, want one %v of %v answers", page.Tasks, kindAndCount[0], kindAndCount[1])
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// seqs lists log positions 1..n.
func seqs(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i + 1)
	}
	return out
}

// TestSheetRenderingsAreKeptAndRevalidated: a sheet read twice is the same body with the same
// ETag, If-None-Match gets 304, and any write (here a comment) gives a new ETag and body; a blind
// round's reviewer and coordinator get different renderings.
func TestSheetRenderingsAreKeptAndRevalidated(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	ctx := context.Background()
	r, err := env.App.Rounds.CreateRound(ctx, systemAdmin, round.RoundInput{ID: "r1", Name: "Blind", Questionnaire: "mini-index",
		QuestionnaireVer: "1", Countries: []string{"AT"}, BlindReview: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Rounds.SetStatus(ctx, systemAdmin, "r1", round.StatusOpen, r.Version); err != nil {
		t.Fatal(err)
	}
	expert, expertUser := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleExpert, Round: "r1", Country: "AT"})
	reviewer, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleReviewer, Round: "r1", Country: "AT"})
	coord, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: "r1"})
	want(t, expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", "LMM_2"), Header: map[string]string{"If-Match": `"0"`}, Body: map[string]any{"option": "yes"}}), 200, "save")
	sheet := "/v1/rounds/r1/countries/AT"
	first := reviewer.Do(apitest.Request{Method: "GET", Path: sheet})
	again := reviewer.Do(apitest.Request{Method: "GET", Path: sheet})
	if first.Status != 200 || string(first.Body) != string(again.Body) || first.Header.Get("ETag") == "" || first.Header.Get("ETag") != again.Header.Get("ETag") {
		t.Fatalf("two reads differ: %s / %s", first.Header.Get("ETag"), again.Header.Get("ETag"))
	}
	if strings.Contains(string(first.Body), expertUser.ID) {
		t.Fatal("the blind reviewer's rendering names the expert")
	}
	if res := reviewer.Do(apitest.Request{Method: "GET", Path: sheet, Header: map[string]string{"If-None-Match": first.Header.Get("ETag")}}); res.Status != 304 {
		t.Fatalf("revalidation: %d", res.Status)
	}
	byCoord := coord.Do(apitest.Request{Method: "GET", Path: sheet})
	if byCoord.Header.Get("ETag") == first.Header.Get("ETag") || !strings.Contains(string(byCoord.Body), expertUser.ID) {
		t.Fatalf("the coordinator got the blind rendering: %s", byCoord.Header.Get("ETag"))
	}
	want(t, expert.Do(apitest.Request{Method: "POST", Path: answerPath("r1", "AT", "LMM_2") + "/comments", Body: map[string]any{"text": "see the decree"}}), 201, "comment")
	after := reviewer.Do(apitest.Request{Method: "GET", Path: sheet, Header: map[string]string{"If-None-Match": first.Header.Get("ETag")}})
	if after.Status != 200 || after.Header.Get("ETag") == first.Header.Get("ETag") || !strings.Contains(string(after.Body), "see the decree") {
		t.Fatalf("after a write: %d %s", after.Status, after.Header.Get("ETag"))
	}
}

// TestHistoryAndCommentsPage follows the cursors of an answer's history (newest first) and of
// its comment thread (oldest first) to their ends, and refuses cursors that are not one.
func TestHistoryAndCommentsPage(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	ctx := context.Background()
	r, err := env.App.Rounds.CreateRound(ctx, systemAdmin, round.RoundInput{ID: "r1", Name: "Pages", Questionnaire: "mini-index",
		QuestionnaireVer: "1", Countries: []string{"AT"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Rounds.SetStatus(ctx, systemAdmin, "r1", round.StatusOpen, r.Version); err != nil {
		t.Fatal(err)
	}
	expert, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleExpert, Round: "r1", Country: "AT"})
	path := answerPath("r1", "AT", "LMM_1")
	for i := range 5 {
		want(t, expert.Do(apitest.Request{Method: "PUT", Path: path, Header: ifMatch(fmt.Sprintf(`"%d"`, i)),
			Body: map[string]any{"option": "full", "comment": fmt.Sprintf("save %d", i+1)}}), 200, "save")
		want(t, expert.Do(apitest.Request{Method: "POST", Path: path + "/comments", Body: map[string]any{"text": fmt.Sprintf("note %d", i+1)}}), 201, "comment")
	}

	var versions []int
	query := "?limit=2"
	for range 5 {
		var page struct {
			Versions []struct{ Version int }
			Next     string
		}
		expert.Do(apitest.Request{Method: "GET", Path: path + "/history" + query}).Decode(t, &page)
		for _, v := range page.Versions {
			versions = append(versions, v.Version)
		}
		if page.Next == "" {
			break
		}
		query = "?limit=2&after=" + url.QueryEscape(page.Next)
	}
	if !slices.Equal(versions, []int{5, 4, 3, 2, 1}) {
		t.Fatalf("history pages gave versions %v, want 5..1", versions)
	}

	var ids []int
	query = "?limit=2"
	for range 5 {
		var page struct {
			Comments []struct{ ID int }
			Next     int
		}
		expert.Do(apitest.Request{Method: "GET", Path: path + "/comments" + query}).Decode(t, &page)
		for _, c := range page.Comments {
			ids = append(ids, c.ID)
		}
		if page.Next == 0 {
			break
		}
		query = fmt.Sprintf("?limit=2&after=%d", page.Next)
	}
	if !slices.Equal(ids, []int{1, 2, 3, 4, 5}) {
		t.Fatalf("comment pages gave %v, want 1..5", ids)
	}

	// Each kind of field change, checked strictly against the document's AnswerFieldChange union.
	num := answerPath("r1", "AT", "LMM_3")
	law := []map[string]any{{"kind": "law", "title": "Residence Act"}}
	for i, body := range []map[string]any{{"value": 2}, {"value": 3, "sources": law}, {"not_applicable": true, "na_reason": "no such law"}} {
		want(t, expert.Do(apitest.Request{Method: "PUT", Path: num, Header: ifMatch(fmt.Sprintf(`"%d"`, i)), Body: body}), 200, "save LMM_3")
	}
	kinds := map[string]bool{}
	for _, q := range []string{"?from=1&to=2", "?from=2&to=3"} {
		var d struct {
			Changes []struct{ Field, Kind string }
		}
		expert.Do(apitest.Request{Method: "GET", Path: num + "/diff" + q}).Decode(t, &d)
		for _, c := range d.Changes {
			kinds[c.Kind] = true
		}
	}
	if !kinds["number"] || !kinds["source"] || !kinds["flag"] || !kinds["text"] {
		t.Fatalf("diffs of LMM_3 showed the kinds %v, want number, source, flag and text", kinds)
	}

	for _, bad := range []string{"/history?after=x", "/history?after=9.1", "/history?limit=0", "/comments?after=-1", "/comments?limit=501"} {
		res := expert.Do(apitest.Request{Method: "GET", Path: path + bad, Invalid: true})
		if got := fieldsOf(t, res); res.Status != 400 || len(got) != 1 {
			t.Errorf("GET %s: %d %v, want 400 naming the parameter", bad, res.Status, got)
		}
	}
}

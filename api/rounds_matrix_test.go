package api_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/round"
)

// atSecret is a comment only AT's sheet holds, for the isolation checks.
const atSecret = "AT-only draft explanation"

// roundWorlds remembers the worlds whose round is set up.
var roundWorlds sync.Map

// roundWorld gives the matrix round r1 over the mini index, open, with one answer in AT.
func roundWorld(t *testing.T, w *matrixWorld) {
	if _, done := roundWorlds.LoadOrStore(w, true); !done {
		publishMiniIndex(t, w.Env)
		openRound(t, w.Env, w.Round, "")
		zero := 0
		if _, err := w.Env.App.Rounds.SaveAnswer(context.Background(), systemAdmin, w.Round, w.CountryA, "LMM_1",
			round.AnswerInput{Option: "full", Comment: atSecret}, &zero); err != nil {
			t.Fatalf("answer: %v", err)
		}
	}
	// The status case toggles r1; every other case wants it open.
	r, err := w.Env.App.Rounds.Round(context.Background(), systemAdmin, w.Round)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != round.StatusOpen {
		if _, err := w.Env.App.Rounds.SetStatus(context.Background(), systemAdmin, w.Round, round.StatusOpen, r.Version); err != nil {
			t.Fatal(err)
		}
	}
}

// etagNow is the current ETag of an answer, read as the admin, so that a case's write is never
// refused as stale and only the policy decides.
func etagNow(t *testing.T, w *matrixWorld, country, indicator string) string {
	a, err := w.Env.App.Rounds.Answer(context.Background(), systemAdmin, w.Round, country, indicator)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Quote(strconv.Itoa(a.Version))
}

func roundETag(t *testing.T, w *matrixWorld) (*round.Round, string) {
	r, err := w.Env.App.Rounds.Round(context.Background(), systemAdmin, w.Round)
	if err != nil {
		t.Fatal(err)
	}
	return r, strconv.Quote(strconv.Itoa(r.Version))
}

// Who may do what on rounds: managing needs the round's (or a global) coordinator or an admin;
// creating needs a global coordinator or an admin; sheets are read by the country's expert and
// reviewer and written by its expert.
var (
	roundManagers = signedIn(403).with(200, roundCoordinator, globalCoordinator, admin)
	sheetReaders  = signedIn(403).with(200, expertA, reviewerA, roundCoordinator, globalCoordinator, admin)
)

func sheetWriters(status int) statuses {
	return signedIn(403).with(status, expertA, roundCoordinator, globalCoordinator, admin)
}

func inSheet(path string) func(*testing.T, *matrixWorld, principal) apitest.Request {
	return func(_ *testing.T, w *matrixWorld, _ principal) apitest.Request {
		return apitest.Request{Method: "GET", Path: "/v1/rounds/" + w.Round + "/countries/" + w.CountryA + path}
	}
}

var roundMatrixCases = []matrixCase{
	{op: "GET /v1/rounds", setup: roundWorld, request: get("/v1/rounds"), want: signedIn(200)},
	{
		op: "POST /v1/rounds", setup: roundWorld,
		request: func(_ *testing.T, w *matrixWorld, _ principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/rounds", Body: map[string]any{
				"id": fmt.Sprintf("m%d", w.seq.Add(1)), "name": "Matrix", "questionnaire": "mini-index",
				"questionnaire_version": "1", "countries": []string{"AT"}}}
		},
		want: signedIn(403).with(201, globalCoordinator, admin),
	},
	{op: "GET /v1/rounds/{round}", setup: roundWorld, request: get("/v1/rounds/r1"), want: signedIn(200)},
	{
		op: "PUT /v1/rounds/{round}", setup: roundWorld,
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			r, etag := roundETag(t, w)
			return apitest.Request{Method: "PUT", Path: "/v1/rounds/" + w.Round, Header: ifMatch(etag), Body: map[string]any{
				"name": "Renamed by " + string(who), "questionnaire": r.Questionnaire, "questionnaire_version": r.QuestionnaireVer,
				"countries": r.Countries}}
		},
		want: roundManagers,
	},
	{
		op: "POST /v1/rounds/{round}/status", setup: roundWorld,
		request: func(t *testing.T, w *matrixWorld, _ principal) apitest.Request {
			r, etag := roundETag(t, w)
			to := "closed"
			if r.Status == round.StatusClosed {
				to = "open"
			}
			return apitest.Request{Method: "POST", Path: "/v1/rounds/" + w.Round + "/status", Header: ifMatch(etag), Body: map[string]any{"status": to}}
		},
		want: roundManagers,
	},
	{op: "GET /v1/rounds/{round}/dashboard", setup: roundWorld, request: get("/v1/rounds/r1/dashboard"), want: roundManagers},
	{op: "GET /v1/rounds/{round}/scores", setup: roundWorld, request: get("/v1/rounds/r1/scores"), want: roundManagers},
	{op: "GET /v1/rounds/{round}/calibration/{indicator}", setup: roundWorld, request: get("/v1/rounds/r1/calibration/LMM_1"), want: roundManagers},
	{op: "GET /v1/rounds/{round}/agreement", setup: roundWorld, request: get("/v1/rounds/r1/agreement"), want: roundManagers},
	{
		op: "POST /v1/rounds/{round}/answers/import", setup: roundWorld,
		request: func(_ *testing.T, w *matrixWorld, _ principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/rounds/" + w.Round + "/answers/import",
				ContentType: "text/csv", Body: "country,indicator,option\nBE,LMM_2,yes\n"}
		},
		want: roundManagers,
	},
	{op: "GET /v1/rounds/{round}/countries/{country}", setup: roundWorld, request: inSheet(""), want: sheetReaders},
	{op: "GET /v1/rounds/{round}/countries/{country}/changes", setup: roundWorld, request: inSheet("/changes"), want: sheetReaders},
	{op: "GET /v1/rounds/{round}/countries/{country}/answers/{indicator}", setup: roundWorld, request: inSheet("/answers/LMM_1"), want: sheetReaders},
	{op: "GET /v1/rounds/{round}/countries/{country}/answers/{indicator}/history", setup: roundWorld, request: inSheet("/answers/LMM_1/history"), want: sheetReaders},
	{op: "GET /v1/rounds/{round}/countries/{country}/answers/{indicator}/diff", setup: roundWorld, request: inSheet("/answers/LMM_1/diff?from=1&to=1"), want: sheetReaders},
	{
		op: "PUT /v1/rounds/{round}/countries/{country}/answers/{indicator}", setup: roundWorld,
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "PUT", Path: answerPath(w.Round, w.CountryA, "LMM_2"), Header: ifMatch(etagNow(t, w, w.CountryA, "LMM_2")),
				Body: map[string]any{"option": "yes", "comment": "by " + string(who)}}
		},
		want: sheetWriters(200),
	},
	{
		op: "POST /v1/rounds/{round}/countries/{country}/answers/{indicator}/confirm", variant: "not carried", setup: roundWorld,
		request: func(t *testing.T, w *matrixWorld, _ principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: answerPath(w.Round, w.CountryA, "LMM_1") + "/confirm", Header: ifMatch(etagNow(t, w, w.CountryA, "LMM_1"))}
		},
		want: sheetWriters(409),
	},
	{
		op: "POST /v1/rounds/{round}/countries/{country}/confirm", setup: roundWorld,
		request: func(_ *testing.T, w *matrixWorld, _ principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/rounds/" + w.Round + "/countries/" + w.CountryA + "/confirm", Body: map[string]any{}}
		},
		want: sheetWriters(200),
	},
	{
		op: "POST /v1/rounds/{round}/countries/{country}/submit", variant: "incomplete", setup: roundWorld,
		request: func(_ *testing.T, w *matrixWorld, _ principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/rounds/" + w.Round + "/countries/" + w.CountryA + "/submit"}
		},
		want: sheetWriters(422),
	},
	{
		op: "POST /v1/rounds/{round}/countries/{country}/return", variant: "not submitted", setup: roundWorld,
		request: func(_ *testing.T, w *matrixWorld, _ principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/rounds/" + w.Round + "/countries/" + w.CountryA + "/return", Body: map[string]any{"reason": "check"}}
		},
		want: signedIn(403).with(409, roundCoordinator, globalCoordinator, admin),
	},
	// Review moves on AT's sheet while it is in progress: whoever the policy lets make the move
	// gets 409 from the workflow (nothing is submitted yet), everyone else 403.
	{
		op: "POST /v1/rounds/{round}/countries/{country}/answers/{indicator}/verdicts", variant: "not submitted", setup: roundWorld,
		request: answerMove("/verdicts", map[string]any{"decision": "approve"}),
		want:    signedIn(403).with(409, reviewerA, roundCoordinator, globalCoordinator, admin),
	},
	{
		op: "POST /v1/rounds/{round}/countries/{country}/answers/{indicator}/dispute", variant: "not submitted", setup: roundWorld,
		request: answerMove("/dispute", map[string]any{"text": "the law says otherwise"}),
		want:    signedIn(403).with(409, expertA),
	},
	{
		op: "POST /v1/rounds/{round}/countries/{country}/answers/{indicator}/adjudication", variant: "not submitted", setup: roundWorld,
		request: answerMove("/adjudication", map[string]any{"option": "full", "rationale": "as the law reads"}),
		want:    coordinatorsOnly(409),
	},
	{
		op: "POST /v1/rounds/{round}/countries/{country}/answers/{indicator}/send-back", variant: "not submitted", setup: roundWorld,
		request: answerMove("/send-back", map[string]any{"reason": "check the amendment"}),
		want:    coordinatorsOnly(409),
	},
	{
		op: "POST /v1/rounds/{round}/countries/{country}/answers/{indicator}/override", variant: "not submitted", setup: roundWorld,
		request: answerMove("/override", map[string]any{"score": 50, "reason": "partial in practice"}),
		want:    coordinatorsOnly(409),
	},
	{op: "GET /v1/rounds/{round}/countries/{country}/timeline", setup: roundWorld, request: inSheet("/timeline"), want: sheetReaders},
	{op: "GET /v1/rounds/{round}/countries/{country}/answers/{indicator}/timeline", setup: roundWorld, request: inSheet("/answers/LMM_1/timeline"), want: sheetReaders},
	{op: "GET /v1/me/tasks", setup: roundWorld, request: get("/v1/me/tasks"), want: signedIn(200)},
	{op: "GET /v1/rounds/{round}/countries/{country}/answers/{indicator}/comments", setup: roundWorld, request: inSheet("/answers/LMM_1/comments"), want: sheetReaders},
	{
		op: "POST /v1/rounds/{round}/countries/{country}/answers/{indicator}/comments", setup: roundWorld,
		request: func(_ *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: answerPath(w.Round, w.CountryA, "LMM_1") + "/comments", Body: map[string]any{"text": "by " + string(who)}}
		},
		want: signedIn(403).with(201, expertA, reviewerA, roundCoordinator, globalCoordinator, admin),
	},
	{
		op: "PATCH /v1/rounds/{round}/countries/{country}/answers/{indicator}/comments/{comment}", variant: "no such comment", setup: roundWorld,
		request: func(_ *testing.T, w *matrixWorld, _ principal) apitest.Request {
			return apitest.Request{Method: "PATCH", Path: answerPath(w.Round, w.CountryA, "LMM_1") + "/comments/999", Body: map[string]any{"resolved": true}}
		},
		want: signedIn(403).with(404, expertA, reviewerA, roundCoordinator, globalCoordinator, admin),
	},
	{
		op: "POST /v1/rounds/{round}/countries/{country}/approvals", variant: "nothing waits", setup: roundWorld,
		request: func(_ *testing.T, w *matrixWorld, _ principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/rounds/" + w.Round + "/countries/" + w.CountryA + "/approvals", Body: map[string]any{"all_remaining": true}}
		},
		want: signedIn(403).with(409, reviewerA, roundCoordinator, globalCoordinator, admin),
	},
	{
		op: "POST /v1/rounds/{round}/countries/{country}/lock", variant: "not ready", setup: roundWorld,
		request: func(_ *testing.T, w *matrixWorld, _ principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/rounds/" + w.Round + "/countries/" + w.CountryA + "/lock"}
		},
		want: coordinatorsOnly(409),
	},
	{
		op: "POST /v1/rounds/{round}/countries/{country}/reopen", variant: "not locked", setup: roundWorld,
		request: func(_ *testing.T, w *matrixWorld, _ principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/rounds/" + w.Round + "/countries/" + w.CountryA + "/reopen", Body: map[string]any{"reason": "erratum"}}
		},
		want: coordinatorsOnly(409),
	},
	// Snapshots of AT's sheet, which was never locked: readers get 404 from the domain.
	{op: "GET /v1/rounds/{round}/countries/{country}/snapshot", variant: "never locked", setup: roundWorld, request: inSheet("/snapshot"), want: signedIn(403).with(404, expertA, reviewerA, roundCoordinator, globalCoordinator, admin)},
	{op: "GET /v1/rounds/{round}/countries/{country}/snapshot/verify", variant: "never locked", setup: roundWorld, request: inSheet("/snapshot/verify"), want: signedIn(403).with(404, expertA, reviewerA, roundCoordinator, globalCoordinator, admin)},
	{op: "GET /v1/rounds/{round}/errata", setup: roundWorld, request: get("/v1/rounds/r1/errata"), want: roundManagers},
	{
		op: "POST /v1/rounds/{round}/lock", variant: "nothing ready", setup: roundWorld,
		request: func(_ *testing.T, w *matrixWorld, _ principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/rounds/" + w.Round + "/lock", Body: map[string]any{}}
		},
		want: coordinatorsOnly(200),
	},
	// The public API needs no token and shows nothing unpublished: r1 is open, so it is not there.
	{op: "GET /v1/rounds/{round}/compare/{other}", setup: roundWorld, request: get("/v1/rounds/r1/compare/r1"), want: roundManagers},
	{op: "GET /v1/public/rounds", setup: roundWorld, request: get("/v1/public/rounds"), want: everyone(200)},
	{op: "GET /v1/public/rounds/{round}", variant: "unpublished", setup: roundWorld, request: get("/v1/public/rounds/r1"), want: everyone(404)},
	{op: "GET /v1/public/rounds/{round}/scores", variant: "unpublished", setup: roundWorld, request: get("/v1/public/rounds/r1/scores"), want: everyone(404)},
	{op: "GET /v1/public/rounds/{round}/countries/{country}/answers", variant: "unpublished", setup: roundWorld, request: get("/v1/public/rounds/r1/countries/AT/answers"), want: everyone(404)},
	{op: "GET /v1/public/rounds/{round}/errata", variant: "unpublished", setup: roundWorld, request: get("/v1/public/rounds/r1/errata"), want: everyone(404)},
	{op: "GET /v1/rounds/{round}/export", setup: roundWorld, request: get("/v1/rounds/r1/export?format=csv&shape=long"), want: roundManagers},
	{op: "GET /v1/public/rounds/{round}/export", variant: "unpublished", setup: roundWorld, request: get("/v1/public/rounds/r1/export"), want: everyone(404)},
	{op: "GET /v1/public/series", setup: roundWorld, request: get("/v1/public/series?questionnaire=mini-index&country=AT&node=LMM"), want: everyone(200)},
}

// coordinatorsOnly: the round's and global coordinators and admins get status, others 403.
func coordinatorsOnly(status int) statuses {
	return signedIn(403).with(status, roundCoordinator, globalCoordinator, admin)
}

// answerMove is a review move on AT's LMM_1 based on its current version.
func answerMove(path string, body map[string]any) func(*testing.T, *matrixWorld, principal) apitest.Request {
	return func(t *testing.T, w *matrixWorld, _ principal) apitest.Request {
		return apitest.Request{Method: "POST", Path: answerPath(w.Round, w.CountryA, "LMM_1") + path,
			Header: ifMatch(etagNow(t, w, w.CountryA, "LMM_1")), Body: body}
	}
}

var roundIsolationChecks = []matrixIsolationCheck{
	{
		name: "expert of BE reads the BE sheet", who: expertB,
		request: func(t *testing.T, w *matrixWorld) apitest.Request {
			roundWorld(t, w)
			return apitest.Request{Method: "GET", Path: "/v1/rounds/" + w.Round + "/countries/" + w.CountryB}
		},
		mustNotContain: []string{atSecret, `"country":"AT"`},
	},
}

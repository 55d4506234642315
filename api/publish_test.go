package api_test

import (
	"context"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/round"
)

// publishWorld is a round over the mini index with the given countries, open, and clients for
// the expert and reviewer of every country and the round's coordinator.
type publishWorld struct {
	env                     *apitest.Env
	expert, reviewer, coord *apitest.Client
	round                   string
}

func newPublishWorld(t *testing.T, env *apitest.Env, roundID string, countries ...string) *publishWorld {
	t.Helper()
	ctx := context.Background()
	r, err := env.App.Rounds.CreateRound(ctx, systemAdmin, round.RoundInput{ID: roundID, Name: "Publish " + roundID, Questionnaire: "mini-index",
		QuestionnaireVer: "1", Countries: countries, ReferenceDate: "2025"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Rounds.SetStatus(ctx, systemAdmin, roundID, round.StatusOpen, r.Version); err != nil {
		t.Fatal(err)
	}
	var ex, rv []auth.Assignment
	for _, c := range countries {
		ex = append(ex, auth.Assignment{Role: auth.RoleExpert, Round: roundID, Country: c})
		rv = append(rv, auth.Assignment{Role: auth.RoleReviewer, Round: roundID, Country: c})
	}
	w := &publishWorld{env: env, round: roundID}
	w.expert, _ = env.As(auth.RoleNone, ex...)
	w.reviewer, _ = env.As(auth.RoleNone, rv...)
	w.coord, _ = env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: roundID})
	return w
}

// ready answers, submits and approves a country's sheet over HTTP.
func (w *publishWorld) ready(t *testing.T, country string) {
	t.Helper()
	for code, body := range reviewSheetAnswers {
		want(t, w.expert.Do(apitest.Request{Method: "PUT", Path: answerPath(w.round, country, code), Header: map[string]string{"If-Match": `"0"`}, Body: body}), 200, "answer "+code)
	}
	sheet := "/v1/rounds/" + w.round + "/countries/" + country
	want(t, w.expert.Do(apitest.Request{Method: "POST", Path: sheet + "/submit"}), 200, "submit")
	want(t, w.reviewer.Do(apitest.Request{Method: "POST", Path: sheet + "/approvals", Body: map[string]any{"all_remaining": true}}), 200, "approvals")
}

// TestLockSnapshotVerifyAndErrata locks two sheets at once, reads and verifies a snapshot,
// detects a snapshot altered in the store, and makes an erratum: reopen, override, lock again;
// revision 2 and the changelog with its score delta.
func TestLockSnapshotVerifyAndErrata(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	w := newPublishWorld(t, env, "p1", "AT", "BE", "CZ")
	w.ready(t, "AT")
	w.ready(t, "BE")
	sheet := "/v1/rounds/p1/countries/AT"

	// Bulk lock of everything ready: AT and BE; CZ is not ready and is not named.
	res := w.coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/p1/lock", Body: map[string]any{}})
	want(t, res, 200, "bulk lock")
	var bulk struct {
		Locked []struct {
			Country  string `json:"country"`
			Revision int    `json:"revision"`
			Hash     string `json:"hash"`
		} `json:"locked"`
		Failed []struct{ Country string } `json:"failed"`
	}
	res.Decode(t, &bulk)
	if len(bulk.Locked) != 2 || len(bulk.Failed) != 0 || bulk.Locked[0].Revision != 1 || bulk.Locked[0].Hash == "" {
		t.Fatalf("bulk lock: %s", res.Body)
	}
	// Naming CZ reports its problem without failing the request.
	res = w.coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/p1/lock", Body: map[string]any{"countries": []string{"CZ"}}})
	want(t, res, 200, "bulk lock of an unready sheet")
	res.Decode(t, &bulk)
	if len(bulk.Locked) != 0 || len(bulk.Failed) != 1 {
		t.Fatalf("bulk lock of CZ: %s", res.Body)
	}
	// A save after the lock collides with it.
	want(t, w.expert.Do(apitest.Request{Method: "PUT", Path: answerPath("p1", "AT", "LMM_2"), Header: map[string]string{"If-Match": `"1"`}, Body: map[string]any{"option": "no", "reason": "late"}}), 409, "save after the lock")

	// The snapshot: answers with sources and verdicts; the expert reads it too.
	res = w.expert.Do(apitest.Request{Method: "GET", Path: sheet + "/snapshot"})
	want(t, res, 200, "snapshot")
	var snap struct {
		Revision int    `json:"revision"`
		Hash     string `json:"hash"`
		Answers  []struct {
			Indicator string           `json:"indicator"`
			Sources   []map[string]any `json:"sources"`
			Verdicts  []map[string]any `json:"verdicts"`
		} `json:"answers"`
	}
	res.Decode(t, &snap)
	if snap.Revision != 1 || len(snap.Answers) != len(reviewSheetAnswers) || res.Header.Get("ETag") != `"`+snap.Hash+`"` {
		t.Fatalf("snapshot: %s", res.Body)
	}
	for _, a := range snap.Answers {
		if len(a.Verdicts) != 1 || (a.Indicator == "LMM_1" && len(a.Sources) != 1) {
			t.Fatalf("answer %s: %d verdicts, %d sources", a.Indicator, len(a.Verdicts), len(a.Sources))
		}
	}
	verify := func(path string) map[string]any {
		t.Helper()
		res := w.coord.Do(apitest.Request{Method: "GET", Path: path})
		want(t, res, 200, "verify")
		return res.JSON(t)
	}
	if v := verify(sheet + "/snapshot/verify"); v["valid"] != true {
		t.Fatalf("an intact snapshot: %v", v)
	}
	// Someone edits BE's frozen answer in the store: verify tells.
	if _, err := env.Store.Database().Collection("snapshots").UpdateOne(context.Background(), bson.D{{Key: "_id", Value: "p1/BE/1"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "answers.0.comment", Value: "edited behind the service's back"}}}}); err != nil {
		t.Fatal(err)
	}
	if v := verify("/v1/rounds/p1/countries/BE/snapshot/verify"); v["valid"] != false || len(v["mismatches"].([]any)) == 0 {
		t.Fatalf("an altered snapshot verifies: %v", v)
	}

	// Erratum: reopen with a reason, override LMM_4, lock again.
	want(t, w.coord.Do(apitest.Request{Method: "POST", Path: sheet + "/reopen", Body: map[string]any{"reason": "the 2024 amendment was missed"}}), 200, "reopen")
	res = w.coord.Do(apitest.Request{Method: "GET", Path: answerPath("p1", "AT", "LMM_4")})
	want(t, w.coord.Do(apitest.Request{Method: "POST", Path: answerPath("p1", "AT", "LMM_4") + "/override", Header: etagOf(res),
		Body: map[string]any{"score": 50, "reason": "practice lags the law"}}), 200, "override")
	want(t, w.coord.Do(apitest.Request{Method: "POST", Path: sheet + "/lock"}), 200, "second lock")
	res = w.coord.Do(apitest.Request{Method: "GET", Path: sheet + "/snapshot"})
	res.Decode(t, &snap)
	if snap.Revision != 2 {
		t.Fatalf("after the erratum: revision %d", snap.Revision)
	}
	want(t, w.coord.Do(apitest.Request{Method: "GET", Path: sheet + "/snapshot?revision=1"}), 200, "revision 1 stays readable")
	want(t, w.coord.Do(apitest.Request{Method: "GET", Path: sheet + "/snapshot?revision=3"}), 404, "no revision 3")
	res = w.coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/p1/errata"})
	want(t, res, 200, "errata")
	var errata struct {
		Errata []struct {
			Country string `json:"country"`
			From    int    `json:"from_revision"`
			To      int    `json:"to_revision"`
			Reason  string `json:"reason"`
			Scores  []struct {
				Node  string   `json:"node"`
				Delta *float64 `json:"delta"`
			} `json:"scores"`
		} `json:"errata"`
	}
	res.Decode(t, &errata)
	if len(errata.Errata) != 1 || errata.Errata[0].Country != "AT" || errata.Errata[0].To != 2 || errata.Errata[0].Reason != "the 2024 amendment was missed" {
		t.Fatalf("errata: %s", res.Body)
	}
	found := false
	for _, sc := range errata.Errata[0].Scores {
		if sc.Node == "LMM_4" && sc.Delta != nil && *sc.Delta == -50 {
			found = true
		}
	}
	if !found {
		t.Fatalf("no LMM_4 delta of -50 in %s", res.Body)
	}
}

// TestPublishGatingAndThePublicAPI: a round is published only when every sheet is locked or
// excluded with a reason; then the public reads it without a token, with ETags and 304s, and
// nothing unpublished is visible.
func TestPublishGatingAndThePublicAPI(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	ctx := context.Background()
	if _, err := env.App.Rounds.CreateRound(ctx, systemAdmin, round.RoundInput{ID: "hidden", Name: "Draft", Questionnaire: "mini-index",
		QuestionnaireVer: "1", Countries: []string{"AT"}}); err != nil {
		t.Fatal(err)
	}
	w := newPublishWorld(t, env, "p1", "AT", "BE", "CZ")
	r, err := env.App.Rounds.Round(ctx, systemAdmin, "p1")
	if err != nil {
		t.Fatal(err)
	}
	in := round.RoundInput{ID: r.ID, Name: r.Name, Questionnaire: r.Questionnaire, QuestionnaireVer: r.QuestionnaireVer,
		ReferenceDate: r.ReferenceDate, Countries: r.Countries, PublicAnswers: true}
	if _, err := env.App.Rounds.UpdateRound(ctx, systemAdmin, "p1", in, r.Version); err != nil {
		t.Fatal(err)
	}
	w.ready(t, "AT")
	w.ready(t, "BE")
	want(t, w.coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/p1/lock", Body: map[string]any{}}), 200, "bulk lock")
	res := w.coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/p1/scores"})
	want(t, res, 200, "live scores")
	if res.JSON(t)["provisional"] != true {
		t.Fatalf("live scores not marked provisional: %.200s", res.Body)
	}

	status := func(body map[string]any) *apitest.Response {
		cur := w.coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/p1"})
		return w.coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/p1/status", Header: etagOf(cur), Body: body})
	}
	want(t, status(map[string]any{"status": "closed"}), 200, "close")
	res = status(map[string]any{"status": "published"})
	want(t, res, 409, "publish with CZ unlocked")
	if !strings.Contains(string(res.Body), "CZ") {
		t.Fatalf("the refusal does not name CZ: %s", res.Body)
	}
	want(t, status(map[string]any{"status": "published", "excluded": []map[string]any{{"country": "CZ", "reason": ""}}}), 400, "exclusion without a reason")
	want(t, status(map[string]any{"status": "published", "excluded": []map[string]any{{"country": "CZ", "reason": "no expert could be recruited"}}}), 200, "publish")

	anon := env.Client()
	res = anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds"})
	want(t, res, 200, "public rounds")
	if b := string(res.Body); !strings.Contains(b, `"p1"`) || strings.Contains(b, "hidden") {
		t.Fatalf("public rounds: %s", b)
	}
	want(t, anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/hidden"}), 404, "a draft round")
	want(t, anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/hidden/scores"}), 404, "a draft round's scores")

	res = anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/p1/scores"})
	want(t, res, 200, "public scores")
	etag := res.Header.Get("ETag")
	if etag == "" || !strings.Contains(res.Header.Get("Cache-Control"), "max-age") {
		t.Fatalf("public scores without cache headers: %v", res.Header)
	}
	var scores struct {
		Provisional bool `json:"provisional"`
		Countries   []struct {
			Country string `json:"country"`
			Hash    string `json:"hash"`
		} `json:"countries"`
	}
	res.Decode(t, &scores)
	if scores.Provisional || len(scores.Countries) != 2 || scores.Countries[0].Country != "AT" || scores.Countries[1].Country != "BE" {
		t.Fatalf("public scores: %s", res.Body)
	}
	want(t, anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/p1/scores", Header: map[string]string{"If-None-Match": etag}}), 304, "If-None-Match")
	res = anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/p1/scores?country=AT&node=LMM"})
	want(t, res, 200, "one country and node")
	if n := strings.Count(string(res.Body), `"code"`); n != 1 {
		t.Fatalf("filtered scores hold %d nodes: %s", n, res.Body)
	}

	res = anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/p1/countries/AT/answers"})
	want(t, res, 200, "public answers")
	if b := string(res.Body); !strings.Contains(b, "Employment Act 2019") || strings.Contains(b, "verdicts") || strings.Contains(b, "locked_by") {
		t.Fatalf("public answers: sources missing or review records shown: %.400s", b)
	}
	want(t, anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/p1/countries/CZ/answers"}), 404, "an excluded country")
	want(t, anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/p1/errata"}), 200, "public errata")
	res = anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/series?questionnaire=mini-index&country=AT&node=LMM"})
	want(t, res, 200, "series")
	if pts := res.JSON(t)["points"].([]any); len(pts) != 1 {
		t.Fatalf("series: %s", res.Body)
	}
	want(t, anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/series?questionnaire=mini-index&country=AT"}), 400, "series without a node or variant")
}

// TestCompareTwoRounds sets two rounds side by side: the indicator whose answer changed is
// listed, with the score changes it caused.
func TestCompareTwoRounds(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	a := newPublishWorld(t, env, "c1", "AT")
	a.ready(t, "AT")
	saved := reviewSheetAnswers["LMM_2"]
	reviewSheetAnswers["LMM_2"] = map[string]any{"option": "no"}
	b := newPublishWorld(t, env, "c2", "AT")
	b.ready(t, "AT")
	reviewSheetAnswers["LMM_2"] = saved
	want(t, a.coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/c1/lock", Body: map[string]any{}}), 200, "lock c1")
	want(t, b.coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/c2/lock", Body: map[string]any{}}), 200, "lock c2")
	want(t, a.coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/c1/compare/c2"}), 403, "a coordinator of one round only")
	coord, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: auth.AllRounds})
	res := coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/c1/compare/c2"})
	want(t, res, 200, "compare")
	var cmp struct {
		Countries []struct {
			Country string `json:"country"`
			Changed []struct {
				Indicator string `json:"indicator"`
			} `json:"changed"`
			Scores []struct {
				Node  string   `json:"node"`
				Delta *float64 `json:"delta"`
			} `json:"scores"`
		} `json:"countries"`
	}
	res.Decode(t, &cmp)
	if len(cmp.Countries) != 1 || len(cmp.Countries[0].Changed) != 1 || cmp.Countries[0].Changed[0].Indicator != "LMM_2" {
		t.Fatalf("comparison: %s", res.Body)
	}
	for _, sc := range cmp.Countries[0].Scores {
		if sc.Node == "LMM_2" && (sc.Delta == nil || *sc.Delta >= 0) {
			t.Fatalf("LMM_2's score did not fall: %s", res.Body)
		}
	}
}

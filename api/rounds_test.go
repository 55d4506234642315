package api_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
)

var systemAdmin = auth.Principal{UserID: "u_setup", Admin: true}

// publishMiniIndex publishes questionnaire/testdata/mini_index.yaml as mini-index version "1".
func publishMiniIndex(t *testing.T, env *apitest.Env) {
	t.Helper()
	f, err := os.Open("../questionnaire/testdata/mini_index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := env.App.Questionnaires.Import(context.Background(), systemAdmin, f,
		questionnaire.ImportOptions{Format: "yaml", Version: "1", Publish: true}); err != nil {
		t.Fatalf("publish the mini index: %v", err)
	}
}

// openRound creates round id over the mini index for AT and BE, and opens it.
func openRound(t *testing.T, env *apitest.Env, id, previous string) {
	t.Helper()
	ctx := context.Background()
	r, err := env.App.Rounds.CreateRound(ctx, systemAdmin, round.RoundInput{ID: id, Name: "Round " + id,
		Questionnaire: "mini-index", QuestionnaireVer: "1", Countries: []string{"AT", "BE"}, Previous: previous})
	if err != nil {
		t.Fatalf("create round: %v", err)
	}
	if _, err := env.App.Rounds.SetStatus(ctx, systemAdmin, id, round.StatusOpen, r.Version); err != nil {
		t.Fatalf("open round: %v", err)
	}
}

// closeRound closes an open round, so that the next round can carry its answers forward.
func closeRound(t *testing.T, env *apitest.Env, id string) {
	t.Helper()
	ctx := context.Background()
	r, err := env.App.Rounds.Round(ctx, systemAdmin, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Rounds.SetStatus(ctx, systemAdmin, id, round.StatusClosed, r.Version); err != nil {
		t.Fatalf("close round: %v", err)
	}
}

func answerPath(roundID, country, indicator string) string {
	return "/v1/rounds/" + roundID + "/countries/" + country + "/answers/" + indicator
}

func fieldsOf(t *testing.T, r *apitest.Response) []string {
	t.Helper()
	var p struct {
		Errors []struct{ Field string } `json:"errors"`
	}
	r.Decode(t, &p)
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

func TestRoundLifecycleOverHTTP(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	coord, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: auth.AllRounds})

	r := coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds", Body: map[string]any{
		"id": "r1", "name": "2025 edition", "questionnaire": "mini-index", "questionnaire_version": "1",
		"countries": []string{"AT", "BE"}, "answers_due": "2026-06-30", "reference_date": "2025"}})
	if r.Status != 201 || r.Header.Get("ETag") != `"1"` {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	// Assignments name existing rounds, so the expert comes after the round.
	expert, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleExpert, Round: "r1", Country: "AT"})
	r = coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds", Body: map[string]any{"id": "BAD", "countries": []string{"xx"}}})
	if got := fieldsOf(t, r); r.Status != 400 || !strings.Contains(strings.Join(got, ","), "countries[0]") {
		t.Fatalf("invalid round: %d %v", r.Status, got)
	}
	// Answers wait until the round opens.
	r = expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", "LMM_2"), Body: map[string]any{"option": "yes"}, Header: ifMatch(`"0"`)})
	if r.Status != 409 {
		t.Fatalf("answer in a draft round: %d %s", r.Status, r.Body)
	}
	if r = coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r1/status", Body: map[string]any{"status": "open"}, Invalid: true}); r.Status != 428 {
		t.Fatalf("status without If-Match: %d", r.Status)
	}
	if r = coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r1/status", Body: map[string]any{"status": "published"}, Header: ifMatch(`"1"`)}); r.Status != 409 {
		t.Fatalf("draft to published: %d", r.Status)
	}
	if r = coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r1/status", Body: map[string]any{"status": "open"}, Header: ifMatch(`"1"`)}); r.Status != 200 {
		t.Fatalf("open: %d %s", r.Status, r.Body)
	}

	// The first save of an answer is a read-modify-write like every other.
	r = expert.Do(apitest.Request{Method: "GET", Path: answerPath("r1", "AT", "LMM_1")})
	if r.Status != 200 || r.Header.Get("ETag") != `"0"` {
		t.Fatalf("unanswered: %d %q", r.Status, r.Header.Get("ETag"))
	}
	body := map[string]any{"option": "full", "comment": "Equal access since 2011.",
		"sources": []map[string]any{{"kind": "law", "title": "Aliens Employment Act", "reference": "§ 4", "url": "https://example.org/aea", "accessed": "2026-01-10"}}}
	if r = expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", "LMM_1"), Body: body, Invalid: true}); r.Status != 428 {
		t.Fatalf("no If-Match: %d", r.Status)
	}
	if r = expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", "LMM_1"), Body: body, Header: ifMatch(`"0"`)}); r.Status != 200 || r.Header.Get("ETag") != `"1"` {
		t.Fatalf("save: %d %s", r.Status, r.Body)
	}
	r = expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", "LMM_1"), Body: map[string]any{"option": "none"}, Header: ifMatch(`"0"`)})
	if r.Status != 412 || r.JSON(t)["current"].(map[string]any)["option"] != "full" {
		t.Fatalf("stale save: %d %s", r.Status, r.Body)
	}
	r = expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", "LMM_3"), Header: ifMatch(`"0"`),
		Body: map[string]any{"value": 99, "sources": []map[string]any{{"kind": "blog", "title": "", "url": "not a url"}}}, Invalid: true})
	if got := strings.Join(fieldsOf(t, r), ","); r.Status != 400 || !strings.Contains(got, "value") || !strings.Contains(got, "sources[0].kind") || !strings.Contains(got, "sources[0].url") || !strings.Contains(got, "sources[0].title") {
		t.Fatalf("invalid answer: %d %s", r.Status, got)
	}
	r = expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", "FR_3"), Body: map[string]any{"option": "yes"}, Header: ifMatch(`"0"`)})
	if r.Status != 400 || !strings.Contains(string(r.Body), "skip logic") {
		t.Fatalf("inapplicable indicator: %d %s", r.Status, r.Body)
	}
	if r = expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", "NOPE"), Body: map[string]any{"option": "yes"}, Header: ifMatch(`"0"`)}); r.Status != 404 {
		t.Fatalf("unknown indicator: %d", r.Status)
	}
	r = expert.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r1/countries/AT/submit"})
	if got := fieldsOf(t, r); r.Status != 422 || len(got) == 0 || got[0] != "answers.LMM_2" {
		t.Fatalf("incomplete submit: %d %v", r.Status, got)
	}
	r = expert.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/r1/countries/AT"})
	var sheet struct {
		Status   string
		Progress struct {
			Applicable  int `json:"applicable"`
			Answered    int `json:"answered"`
			WithSources int `json:"with_sources"`
		}
		Answers []map[string]any
	}
	r.Decode(t, &sheet)
	if r.Status != 200 || sheet.Status != "in_progress" || sheet.Progress.Answered != 1 || len(sheet.Answers) != 1 {
		t.Fatalf("sheet: %d %s", r.Status, r.Body)
	}
	// History and diff.
	expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", "LMM_1"), Body: map[string]any{"option": "partial", "comment": "Amended in 2025."}, Header: ifMatch(`"1"`)})
	r = expert.Do(apitest.Request{Method: "GET", Path: answerPath("r1", "AT", "LMM_1") + "/history"})
	if r.Status != 200 || strings.Count(string(r.Body), `"version"`) != 4 { // two versions, each with its answer's version
		t.Fatalf("history: %d %s", r.Status, r.Body)
	}
	r = expert.Do(apitest.Request{Method: "GET", Path: answerPath("r1", "AT", "LMM_1") + "/diff?from=1&to=2"})
	if r.Status != 200 || !strings.Contains(string(r.Body), `"field":"option"`) || !strings.Contains(string(r.Body), `"field":"sources[0]"`) {
		t.Fatalf("diff: %d %s", r.Status, r.Body)
	}
	r = coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/r1/scores"})
	if r.Status != 200 || !strings.Contains(string(r.Body), `"country":"AT"`) || !strings.Contains(string(r.Body), `"code":"LMM_1","score":50`) {
		t.Fatalf("scores: %d %.600s", r.Status, r.Body)
	}
	r = coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/r1/dashboard"})
	if r.Status != 200 || !strings.Contains(string(r.Body), `"country":"BE","status":"not_started"`) {
		t.Fatalf("dashboard: %d %s", r.Status, r.Body)
	}
}

func TestImportAnswersOverHTTP(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	openRound(t, env, "r1", "")
	coord, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: "r1"})
	csv := "country,indicator,option,value,source_kind,source_title\nAT,LMM_1,full,,law,Act\nAT,LMM_3,,2,,\nBE,LMM_1,none,,,\n"
	r := coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r1/answers/import", Body: csv, ContentType: "text/csv"})
	if r.Status != 200 || r.JSON(t)["written"] != float64(3) {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	r = coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r1/answers/import?format=csv", Body: csv, ContentType: "text/csv"})
	if r.Status != 200 || r.JSON(t)["written"] != float64(0) || r.JSON(t)["unchanged"] != float64(3) {
		t.Fatalf("re-import: %d %s", r.Status, r.Body)
	}
	bad := csv + "BE,LMM_1,maybe,,,\n"
	r = coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r1/answers/import", Body: bad, ContentType: "text/csv"})
	if r.Status != 400 || !strings.Contains(string(r.Body), "row 5") {
		t.Fatalf("bad import: %d %s", r.Status, r.Body)
	}
	r = coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r1/answers/import", Body: csv, ContentType: "application/pdf", Invalid: true})
	if r.Status != 415 {
		t.Fatalf("wrong media type: %d", r.Status)
	}
}

func TestCarryForwardOverHTTP(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	openRound(t, env, "r1", "")
	expert, expertUser := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleExpert, Round: "r1", Country: "AT"})
	law := map[string]any{"kind": "law", "title": "Act 2020", "url": "https://example.org/2020"}
	expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", "LMM_1"), Body: map[string]any{"option": "full", "sources": []any{law}}, Header: ifMatch(`"0"`)})
	expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", "LMM_2"), Body: map[string]any{"option": "yes"}, Header: ifMatch(`"0"`)})
	closeRound(t, env, "r1")
	openRound(t, env, "r2", "r1")
	if _, err := env.App.Auth.Grant(context.Background(), systemAdmin, expertUser.ID, auth.Assignment{Role: auth.RoleExpert, Round: "r2", Country: "AT"}, 0); err != nil {
		t.Fatal(err)
	}

	r := expert.Do(apitest.Request{Method: "GET", Path: answerPath("r2", "AT", "LMM_1")})
	a := r.JSON(t)
	if a["carried"] != true || a["previous"].(map[string]any)["round"] != "r1" {
		t.Fatalf("carried: %s", r.Body)
	}
	etag := r.Header.Get("ETag")
	if r = expert.Do(apitest.Request{Method: "POST", Path: answerPath("r2", "AT", "LMM_1") + "/confirm", Header: ifMatch(etag)}); r.Status != 200 || r.JSON(t)["carried"] != false {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	r = expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r2", "AT", "LMM_2"), Body: map[string]any{"option": "no"}, Header: ifMatch(`"1"`)})
	if got := strings.Join(fieldsOf(t, r), ","); r.Status != 400 || got != "justification,sources" {
		t.Fatalf("unjustified change: %d %s", r.Status, got)
	}
	r = expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r2", "AT", "LMM_2"), Header: ifMatch(`"1"`),
		Body: map[string]any{"option": "no", "justification": "Civil service reform, 2025", "sources": []any{map[string]any{"kind": "law", "title": "Civil Service Act 2025"}}}})
	if r.Status != 200 || r.JSON(t)["changed"] != true {
		t.Fatalf("justified change: %d %s", r.Status, r.Body)
	}
	r = expert.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/r2/countries/AT/changes"})
	if r.Status != 200 || !strings.Contains(string(r.Body), `"indicator":"LMM_2","kind":"changed"`) || !strings.Contains(string(r.Body), `"indicator":"LMM_1","kind":"unchanged"`) {
		t.Fatalf("changes: %d %s", r.Status, r.Body)
	}
	if r = expert.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r2/countries/AT/confirm", Body: map[string]any{}}); r.Status != 200 {
		t.Fatalf("confirm sheet: %d %s", r.Status, r.Body)
	}
}

// TestConcurrentSavesOverHTTPLoseNothing runs 50 clients doing read-modify-write cycles on one
// answer with If-Match, against one instance and against two instances sharing the store: the
// answer's history must hold every acknowledged write, under the version it was acknowledged
// with.
func TestConcurrentSavesOverHTTPLoseNothing(t *testing.T) {
	for _, instances := range []int{1, 2} {
		t.Run(fmt.Sprintf("instances=%d", instances), func(t *testing.T) {
			env := apitest.New(t)
			publishMiniIndex(t, env)
			openRound(t, env, "r1", "")
			servers := []*apitest.Env{env}
			if instances == 2 {
				servers = append(servers, apitest.NewOn(t, mongodbtest.SecondInstance(t, env.Store)))
			}
			_, expert := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleExpert, Round: "r1", Country: "AT"})
			token := loginToken(t, env, expert.Email)
			var mu sync.Mutex
			acked := map[int]string{}
			var wg sync.WaitGroup
			for g := range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := servers[g%len(servers)].Client()
					c.Token = token
					// A refused write brings the current answer back, so the client retries on it
					// without another read, as a real client would.
					etag := c.Do(apitest.Request{Method: "GET", Path: answerPath("r1", "AT", "LMM_1")}).Header.Get("ETag")
					comment := fmt.Sprintf("client %d", g)
					for {
						r := c.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", "LMM_1"), Header: ifMatch(etag),
							Body: map[string]any{"option": "partial", "comment": comment}})
						if r.Status == 412 {
							var p struct{ Current struct{ Version int } }
							r.Decode(t, &p)
							etag = strconv.Quote(strconv.Itoa(p.Current.Version))
							continue
						}
						if r.Status != 200 {
							t.Errorf("save: %d %s", r.Status, r.Body)
							return
						}
						v, _ := strconv.Unquote(r.Header.Get("ETag"))
						n, _ := strconv.Atoi(v)
						mu.Lock()
						if prev, dup := acked[n]; dup {
							t.Errorf("version %d acknowledged twice: %q and %q", n, prev, comment)
						}
						acked[n] = comment
						mu.Unlock()
						return
					}
				}()
			}
			wg.Wait()
			c := env.Client()
			c.Token = token
			r := c.Do(apitest.Request{Method: "GET", Path: answerPath("r1", "AT", "LMM_1") + "/history"})
			var h struct {
				Versions []struct {
					Version int
					Answer  struct{ Comment string }
				}
			}
			r.Decode(t, &h)
			if len(h.Versions) != len(acked) || len(acked) != 50 {
				t.Fatalf("history has %d versions, %d writes were acknowledged; want 50 of each", len(h.Versions), len(acked))
			}
			for _, v := range h.Versions {
				if acked[v.Version] != v.Answer.Comment {
					t.Fatalf("version %d: history has %q, the client was told %q", v.Version, v.Answer.Comment, acked[v.Version])
				}
			}
		})
	}
}

func loginToken(t *testing.T, env *apitest.Env, email string) string {
	t.Helper()
	sess, err := env.App.Auth.Login(context.Background(), email, apitest.Password, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return sess.AccessToken
}

// A 10 MB body is refused with 413 before it is read, under the default limit of 1 MiB.
func TestTenMegabyteBodyIsRefused(t *testing.T) {
	env := apitest.New(t)
	c := env.Client()
	body := `{"email":"` + strings.Repeat("x", 10<<20) + `","password":"p"}`
	r := c.Do(apitest.Request{Method: "POST", Path: "/v1/auth/login", Body: body, Invalid: true})
	if r.Status != 413 || !strings.Contains(string(r.Body), "/problems/too-large") {
		t.Fatalf("10 MB body: %d %.200s", r.Status, r.Body)
	}
}

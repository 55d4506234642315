package api_test

// OWASP API Security Top 10 (2023), API1: broken object-level authorization. The authorization
// matrix (matrix_test.go) calls every operation as every kind of caller: experts and reviewers
// of one country against another's, coordinators of one round against another's. This file
// derives the route list from the router itself, so that a route without a matrix case fails
// even before it reaches openapi.yaml, and reports the matrix's size; and it keeps the
// cross-round carry-forward leak closed.

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/round"
)

func TestEveryRouteOfTheRouterHasAnAuthorizationMatrixCase(t *testing.T) {
	env := apitest.New(t)
	covered := map[string]int{}
	for _, mc := range allMatrixCases() {
		covered[mc.op]++
	}
	var missing []string
	routes := 0
	for _, r := range env.App.Server.Routes() {
		op := r[0] + " " + apitest.EchoPathToSpec(r[1])
		routes++
		if covered[op] == 0 {
			missing = append(missing, op)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("routes without an authorization matrix case (see the top of matrix_test.go):\n  %s", strings.Join(missing, "\n  "))
	}
	cells := len(allMatrixCases()) * len(principals)
	t.Logf("%d routes; %d matrix cases x %d callers (experts and reviewers of two countries, a round's and a global coordinator, admin, disabled, anonymous) = %d cells", routes, len(allMatrixCases()), len(principals), cells)
}

// TestCarryForwardCannotReadAnotherRound: the coordinator of r2 may not make r1, which they get
// 403 on, the previous round of r2 (that copied r1's answers and sources into r2).
func TestCarryForwardCannotReadAnotherRound(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	openRound(t, env, "r1", "")
	closeRound(t, env, "r1")
	ctx := context.Background()
	if _, err := env.App.Rounds.CreateRound(ctx, systemAdmin, round.RoundInput{ID: "r2", Name: "Round r2",
		Questionnaire: "mini-index", QuestionnaireVer: "1", Countries: []string{"AT"}}); err != nil {
		t.Fatal(err)
	}
	coord, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: "r2"})
	if r := coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/r1"}); r.Status != 403 {
		t.Fatalf("coordinator of r2 reading r1: %d", r.Status)
	}
	r := coord.Do(apitest.Request{Method: "PUT", Path: "/v1/rounds/r2", Header: ifMatch(`"1"`), Body: map[string]any{
		"name": "Round r2", "questionnaire": "mini-index", "questionnaire_version": "1", "countries": []string{"AT"}, "previous": "r1"}})
	if r.Status != 400 || !strings.Contains(string(r.Body), `"field":"previous"`) {
		t.Fatalf("coordinator of r2 naming r1 as previous: %d %s; want 400 naming previous", r.Status, r.Body)
	}
}

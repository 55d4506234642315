package api_test

// OWASP API Security Top 10 (2023), API6: unrestricted access to sensitive business flows.
// Carry-forward from a round still open is refused; the rest of this item (self-review, edits
// after submit or lock, publishing before lock) is proven by the round and review tests and the
// authorization matrix.

import (
	"context"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/round"
)

func TestCarryForwardFromAnOpenRoundIsRefused(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	openRound(t, env, "r1", "")
	ctx := context.Background()
	if _, err := env.App.Rounds.CreateRound(ctx, systemAdmin, round.RoundInput{ID: "r2", Name: "Round r2",
		Questionnaire: "mini-index", QuestionnaireVer: "1", Countries: []string{"AT"}, Previous: "r1"}); err != nil {
		t.Fatal(err)
	}
	admin, _ := env.As("admin")
	r := admin.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r2/status", Header: ifMatch(`"1"`), Body: map[string]any{"status": "open"}})
	if r.Status != 409 {
		t.Fatalf("opening r2 while r1 is open: %d %s; want 409", r.Status, r.Body)
	}
	closeRound(t, env, "r1")
	if r := admin.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r2/status", Header: ifMatch(`"1"`), Body: map[string]any{"status": "open"}}); r.Status != 200 {
		t.Fatalf("opening r2 once r1 is closed: %d %s", r.Status, r.Body)
	}
}

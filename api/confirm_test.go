package api_test

import (
	"context"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/round"
)

// TestConfirmAnswerWithoutIfMatch: the one-answer confirmation without If-Match, on an
// indicator or on a group code, answers 428 and confirms nothing (it used to confirm the whole
// group, then answer 500).
func TestConfirmAnswerWithoutIfMatch(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	openRound(t, env, "r1", "")
	// r2 follows r1; it exists (as a draft) before anyone is assigned to it.
	ctx := context.Background()
	r2, err := env.App.Rounds.CreateRound(ctx, systemAdmin, round.RoundInput{ID: "r2", Name: "Round r2", Questionnaire: "mini-index",
		QuestionnaireVer: "1", Countries: []string{"AT", "BE"}, Previous: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	expert, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleExpert, Round: "r1", Country: "AT"}, auth.Assignment{Role: auth.RoleExpert, Round: "r2", Country: "AT"})
	law := map[string]any{"kind": "law", "title": "Act 2020", "url": "https://example.org/2020"}
	expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", "LMM_1"), Body: map[string]any{"option": "full", "sources": []any{law}}, Header: ifMatch(`"0"`)})
	closeRound(t, env, "r1")
	if _, err := env.App.Rounds.SetStatus(ctx, systemAdmin, "r2", round.StatusOpen, r2.Version); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"LMM", "LMM_1"} {
		r := expert.Do(apitest.Request{Method: "POST", Path: answerPath("r2", "AT", target) + "/confirm", Invalid: true})
		if r.Status != 428 {
			t.Errorf("confirm %s without If-Match: %d %s; want 428", target, r.Status, r.Body)
		}
	}
	if r := expert.Do(apitest.Request{Method: "POST", Path: answerPath("r2", "AT", "LMM") + "/confirm", Header: ifMatch(`"1"`)}); r.Status != 404 {
		t.Errorf("confirm group LMM with If-Match: %d %s; want 404", r.Status, r.Body)
	}
	if r := expert.Do(apitest.Request{Method: "GET", Path: answerPath("r2", "AT", "LMM_1")}); r.JSON(t)["carried"] != true {
		t.Fatalf("refused confirmations confirmed the answer: %s", r.Body)
	}
}

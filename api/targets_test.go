package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/round"
)

// draftRounds publishes the mini index and creates the given rounds over it for AT and BE, left
// in draft: assignments may only name existing rounds and their countries.
func draftRounds(t *testing.T, env *apitest.Env, ids ...string) {
	t.Helper()
	publishMiniIndex(t, env)
	for _, id := range ids {
		if _, err := env.App.Rounds.CreateRound(context.Background(), systemAdmin, round.RoundInput{ID: id, Name: "Round " + id,
			Questionnaire: "mini-index", QuestionnaireVer: "1", Countries: []string{"AT", "BE"}}); err != nil {
			t.Fatalf("create round %s: %v", id, err)
		}
	}
}

func TestAssignmentsNameExistingRoundsAndCountries(t *testing.T) {
	env := apitest.New(t)
	draftRounds(t, env, "r1")
	adm, _ := env.As(auth.RoleAdmin)
	u := createUser(t, adm, "expert@example.org", nil)
	grant := func(version int64, body map[string]string) *apitest.Response {
		return adm.Do(userChange("POST", "/v1/users/"+u.ID+"/assignments", version, body))
	}
	for _, tt := range []struct {
		name  string
		body  map[string]string
		field string
	}{
		{"unknown round", map[string]string{"role": "expert", "round": "r9", "country": "AT"}, "round"},
		{"country not in the round", map[string]string{"role": "expert", "round": "r1", "country": "FR"}, "country"},
		{"coordinator of an unknown round", map[string]string{"role": "coordinator", "round": "r9"}, "round"},
	} {
		r := grant(1, tt.body)
		if r.Status != http.StatusUnprocessableEntity || !hasFieldError(decodeProblem(t, r), tt.field) {
			t.Errorf("%s: %d %s, want 422 naming %s", tt.name, r.Status, r.Body, tt.field)
		}
	}
	// A lowercase code is the round's country, stored as the round spells it.
	r := grant(1, map[string]string{"role": "expert", "round": "r1", "country": "at"})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"country":"AT"`) {
		t.Fatalf("lowercase country: %d %s", r.Status, r.Body)
	}
	// Global coordinators name no round.
	if r := grant(2, map[string]string{"role": "coordinator", "round": "*"}); r.Status != http.StatusOK {
		t.Fatalf("global coordinator: %d %s", r.Status, r.Body)
	}
}

package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
)

func TestCountryCodesInPathsMatchWithoutCase(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	openRound(t, env, "r1", "")
	expert, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleExpert, Round: "r1", Country: "AT"})

	r := expert.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/r1/countries/at"})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"country":"AT"`) {
		t.Fatalf("lowercase code: %d %s", r.Status, r.Body)
	}
	r = expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "aT", "LMM_2"), Body: map[string]any{"option": "yes"}, Header: ifMatch(`"0"`)})
	if r.Status != http.StatusOK {
		t.Fatalf("save through a mixed-case code: %d %s", r.Status, r.Body)
	}
	for _, code := range []string{"austria", "A1", "x"} {
		r := expert.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/r1/countries/" + code})
		p := decodeProblem(t, r)
		if r.Status != http.StatusNotFound || !strings.Contains(p.Detail, "not known") || !hasFieldError(p, "country") {
			t.Errorf("%s: %d %s, want 404 saying the code is not known", code, r.Status, r.Body)
		}
	}
	// Authentication still comes first.
	if r := env.Client().Do(apitest.Request{Method: "GET", Path: "/v1/rounds/r1/countries/austria"}); r.Status != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", r.Status)
	}
}

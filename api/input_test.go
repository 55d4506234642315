package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
)

// TestControlCharactersAndHugeNumbersAreRefusedNamingTheField: NUL and other control characters
// in text fields, and numbers beyond float64, get 400 naming the field with a plain reason, and
// nothing is saved; tab and line breaks are welcome in free text.
func TestControlCharactersAndHugeNumbersAreRefusedNamingTheField(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	openRound(t, env, "r1", "")
	expert, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleExpert, Round: "r1", Country: "AT"})
	law := func(title string) map[string]any { return map[string]any{"kind": "law", "title": title} }
	for _, tc := range []struct {
		name, indicator string
		body            any
		field, reason   string
	}{
		{"NUL in a comment", "LMM_1", map[string]any{"option": "full", "comment": "ok\x00hidden"}, "comment", "U+0000"},
		{"ESC in a comment", "LMM_1", map[string]any{"option": "full", "comment": "\x1b[31mred"}, "comment", "U+001B"},
		{"a line break in a source title", "LMM_1", map[string]any{"option": "full", "sources": []any{law("Act\nof 2020")}}, "sources[0].title", "U+000A"},
		{"C1 in an option", "LMM_1", map[string]any{"option": "full\u0085"}, "option", "U+0085"},
		{"1e400", "LMM_3", `{"value": 1e400}`, "value", "out of range"},
	} {
		req := apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", tc.indicator), Body: tc.body, Header: ifMatch(`"0"`)}
		if s, ok := tc.body.(string); ok {
			req.Body, req.ContentType, req.Invalid = []byte(s), "application/json", true
		}
		r := expert.Do(req)
		if r.Status != 400 || !strings.Contains(string(r.Body), `"field":"`+tc.field+`"`) || !strings.Contains(string(r.Body), tc.reason) {
			t.Errorf("%s: %d %s; want 400 naming %s with %q", tc.name, r.Status, r.Body, tc.field, tc.reason)
		}
	}
	view, err := env.App.Rounds.Sheet(context.Background(), systemAdmin, "r1", "AT")
	if err == nil && view.Sheet.AnswerCount() != 0 {
		t.Fatalf("refused saves stored %d answers", view.Sheet.AnswerCount())
	}
	r := expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", "LMM_1"), Header: ifMatch(`"0"`),
		Body: map[string]any{"option": "full", "comment": "First line\n\tindented\r\nlast"}})
	if r.Status != 200 {
		t.Fatalf("tab and line breaks in a comment: %d %s", r.Status, r.Body)
	}
	// The answer import refuses them too.
	coord, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: "r1"})
	r = coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r1/answers/import", ContentType: "text/csv",
		Body: "country,indicator,option,comment\nBE,LMM_1,full,bad\x00cell\n"})
	if r.Status != 400 || !strings.Contains(string(r.Body), `"field":"row 2: column 4"`) {
		t.Fatalf("NUL in an imported cell: %d %s", r.Status, r.Body)
	}
}

// TestErrorDetailsCarryNoGoPrefixes: a disabled account's sign-in answers exactly as a wrong
// password does, and details never start with a Go package prefix.
func TestErrorDetailsCarryNoGoPrefixes(t *testing.T) {
	env := apitest.New(t)
	admin, _ := env.As(auth.RoleAdmin)
	_, gone := env.As(auth.RoleNone)
	if r := admin.Do(apitest.Request{Method: "POST", Path: "/v1/users/" + gone.ID + "/disable", Header: ifMatch(`"1"`)}); r.Status != 200 {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	_, other := env.As(auth.RoleNone)
	c := env.Client()
	login := func(email, password string) map[string]any {
		r := c.Do(apitest.Request{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": email, "password": password}})
		if r.Status != 401 {
			t.Fatalf("login %s: %d %s", email, r.Status, r.Body)
		}
		return r.JSON(t)
	}
	disabled := login(gone.Email, apitest.Password)
	wrong := login(other.Email, "not the password at all")
	if disabled["detail"] != wrong["detail"] || disabled["title"] != wrong["title"] || disabled["type"] != wrong["type"] {
		t.Fatalf("disabled: %v\nwrong password: %v", disabled, wrong)
	}
	for _, p := range []map[string]any{disabled, wrong,
		admin.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/nope"}).JSON(t),
		env.Client().Do(apitest.Request{Method: "GET", Path: "/v1/me", Token: "not.a.token"}).JSON(t)} {
		d, _ := p["detail"].(string)
		for _, prefix := range []string{"auth:", "round:", "questionnaire:", "json:", "mongo"} {
			if strings.Contains(d, prefix) {
				t.Errorf("detail %q carries %q", d, prefix)
			}
		}
	}
}

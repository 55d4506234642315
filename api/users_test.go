package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
)

// Only admins manage users; everyone reads themselves.
var userMatrixCases = []matrixCase{
	{op: "GET /v1/me", request: get("/v1/me"), want: signedIn(200)},
	{op: "GET /v1/users", request: get("/v1/users"), want: adminOnly(200)},
	{
		op: "POST /v1/users",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			email := fmt.Sprintf("created-by-%s-%d@example.org", who, w.seq.Add(1))
			return apitest.Request{Method: "POST", Path: "/v1/users", Body: map[string]string{"email": email, "display_name": "Created"}}
		},
		want: adminOnly(201),
	},
	{
		op: "GET /v1/users/{id}", variant: "another user",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "GET", Path: "/v1/users/" + w.Spare.ID}
		},
		want: adminOnly(200),
	},
	{
		op: "GET /v1/users/{id}", variant: "own user",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "GET", Path: "/v1/users/" + w.ownID(who)}
		},
		want: signedIn(200),
	},
	{
		op: "GET /v1/users/{id}", variant: "unknown user",
		request: get("/v1/users/u_nobody"),
		want:    adminOnly(404),
	},
	{
		op: "POST /v1/users/{id}/disable",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			u, _ := w.invitee(t)
			return userChange("POST", "/v1/users/"+u.ID+"/disable", u.Version, nil)
		},
		want: adminOnly(200),
	},
	{
		op: "POST /v1/users/{id}/disable", variant: "missing If-Match",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/users/" + w.Spare.ID + "/disable", Invalid: true}
		},
		// 403 comes before 428: a caller who may not change users learns nothing about how to.
		want: adminOnly(428),
	},
	{
		op: "POST /v1/users/{id}/enable",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			u, _ := w.invitee(t)
			u, err := w.Env.App.Auth.DisableUser(context.Background(), w.adminPrincipal(), u.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			return userChange("POST", "/v1/users/"+u.ID+"/enable", u.Version, nil)
		},
		want: adminOnly(200),
	},
	{
		op: "POST /v1/users/{id}/password-reset",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			u, _ := w.invitee(t)
			return userChange("POST", "/v1/users/"+u.ID+"/password-reset", u.Version, nil)
		},
		want: adminOnly(200),
	},
	{
		op: "GET /v1/users/{id}/assignments", variant: "another user",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "GET", Path: "/v1/users/" + w.Users[expertA].ID + "/assignments"}
		},
		want: adminOnly(200).with(200, expertA),
	},
	{
		op: "GET /v1/users/{id}/assignments", variant: "own user",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "GET", Path: "/v1/users/" + w.ownID(who) + "/assignments"}
		},
		want: signedIn(200),
	},
	{
		op: "POST /v1/users/{id}/assignments",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			u, _ := w.invitee(t)
			return userChange("POST", "/v1/users/"+u.ID+"/assignments", u.Version,
				map[string]string{"role": "expert", "round": w.Round, "country": w.CountryB})
		},
		want: adminOnly(200),
	},
	{
		op: "POST /v1/users/{id}/assignments", variant: "to oneself",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			// Nobody grants themselves a role: the coordinator of r1 may not make themselves
			// coordinator of everything.
			return userChange("POST", "/v1/users/"+w.ownID(who)+"/assignments", w.Users[who].Version,
				map[string]string{"role": "coordinator", "round": "*"})
		},
		want: adminOnly(200),
	},
	{
		op: "DELETE /v1/users/{id}/assignments",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			u, _ := w.invitee(t, auth.Assignment{Role: auth.RoleExpert, Round: w.Round, Country: w.CountryA})
			return userChange("DELETE", "/v1/users/"+u.ID+"/assignments?"+assignmentQuery("expert", w.Round, w.CountryA), u.Version, nil)
		},
		want: adminOnly(200),
	},
}

// userIsolationChecks: a user's own record shows only their own countries.
var userIsolationChecks = []matrixIsolationCheck{
	{
		name: "expert of BE reads /v1/me", who: expertB,
		request:        func(*testing.T, *matrixWorld) apitest.Request { return apitest.Request{Method: "GET", Path: "/v1/me"} },
		mustNotContain: []string{`"AT"`},
	},
	{
		name: "expert of BE reads own assignments", who: expertB,
		request: func(t *testing.T, w *matrixWorld) apitest.Request {
			return apitest.Request{Method: "GET", Path: "/v1/users/" + w.Users[expertB].ID + "/assignments"}
		},
		mustNotContain: []string{`"AT"`},
	},
}

// userChange is a change of a user based on version (If-Match).
func userChange(method, path string, version int64, body any) apitest.Request {
	return apitest.Request{Method: method, Path: path, Body: body, Header: map[string]string{"If-Match": etag(version)}}
}

func etag(version int64) string { return fmt.Sprintf("%q", fmt.Sprint(version)) }

func assignmentQuery(role, round, country string) string {
	q := url.Values{"role": {role}, "round": {round}}
	if country != "" {
		q.Set("country", country)
	}
	return q.Encode()
}

type userBody struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	Role        string `json:"role"`
	Disabled    bool   `json:"disabled"`
	Invited     bool   `json:"invited"`
	Version     int64  `json:"version"`
	Assignments []struct {
		Role    string `json:"role"`
		Round   string `json:"round"`
		Country string `json:"country"`
	} `json:"assignments"`
}

func decodeUser(t *testing.T, r *apitest.Response) userBody {
	t.Helper()
	var u userBody
	r.Decode(t, &u)
	if got, want := r.Header.Get("ETag"), etag(u.Version); got != want {
		t.Errorf("ETag %q, want %q", got, want)
	}
	return u
}

func createUser(t *testing.T, c *apitest.Client, email string, extra map[string]string) userBody {
	t.Helper()
	body := map[string]string{"email": email, "display_name": "Name of " + email}
	for k, v := range extra {
		body[k] = v
	}
	r := c.Do(apitest.Request{Method: "POST", Path: "/v1/users", Body: body})
	if r.Status != http.StatusCreated {
		t.Fatalf("create %s: %d %s", email, r.Status, r.Body)
	}
	var created struct {
		User userBody `json:"user"`
	}
	r.Decode(t, &created)
	if loc := r.Header.Get("Location"); loc != "/v1/users/"+created.User.ID {
		t.Errorf("Location %q", loc)
	}
	if r.Header.Get("ETag") != `"1"` || created.User.Version != 1 {
		t.Errorf("a new user's ETag %q, version %d", r.Header.Get("ETag"), created.User.Version)
	}
	return created.User
}

func TestCreateAndListUsers(t *testing.T) {
	env := apitest.New(t)
	adm, admUser := env.As(auth.RoleAdmin)
	want := map[string]bool{admUser.ID: true}
	for i := range 4 {
		want[createUser(t, adm, fmt.Sprintf("member%d@example.org", i), nil).ID] = true
	}
	boss := createUser(t, adm, "boss@example.org", map[string]string{"role": "admin", "password": "a long enough password"})
	want[boss.ID] = true
	if boss.Role != "admin" || boss.Invited {
		t.Errorf("admin with password: %+v", boss)
	}
	mustLogin(t, env.Client(), "boss@example.org", "a long enough password")

	seen := map[string]bool{}
	pages := 0
	for after := ""; ; pages++ {
		path := "/v1/users?limit=2"
		if after != "" {
			path += "&after=" + url.QueryEscape(after)
		}
		r := adm.Do(apitest.Request{Method: "GET", Path: path})
		if r.Status != http.StatusOK {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		var page struct {
			Users []userBody `json:"users"`
			Next  string     `json:"next"`
		}
		r.Decode(t, &page)
		for _, u := range page.Users {
			if seen[u.ID] {
				t.Errorf("%s listed twice", u.ID)
			}
			seen[u.ID] = true
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if len(seen) != len(want) || pages != 2 {
		t.Errorf("listed %d users in %d pages, want %d in 3", len(seen), pages+1, len(want))
	}

	r := adm.Do(apitest.Request{Method: "POST", Path: "/v1/users", Body: map[string]string{"email": "MEMBER1@example.org ", "display_name": "Again"}})
	if r.Status != http.StatusConflict {
		t.Errorf("duplicate email: %d %s", r.Status, r.Body)
	}
	r = adm.Do(apitest.Request{Method: "POST", Path: "/v1/users", Body: map[string]string{"email": "not an email", "display_name": "X", "password": "short"}})
	if p := decodeProblem(t, r); r.Status != http.StatusBadRequest || !hasFieldError(p, "email") || !hasFieldError(p, "password") {
		t.Errorf("bad fields: %d %s", r.Status, r.Body)
	}
	r = adm.Do(apitest.Request{Method: "GET", Path: "/v1/users?limit=0", Invalid: true})
	if p := decodeProblem(t, r); r.Status != http.StatusBadRequest || !hasFieldError(p, "limit") {
		t.Errorf("limit=0: %d %s", r.Status, r.Body)
	}
}

func TestAssignmentsNeedTheCurrentVersion(t *testing.T) {
	env := apitest.New(t)
	draftRounds(t, env, "r1")
	adm, _ := env.As(auth.RoleAdmin)
	u := createUser(t, adm, "expert@example.org", nil)
	base := "/v1/users/" + u.ID + "/assignments"
	grant := func(version string, body map[string]string) *apitest.Response {
		req := apitest.Request{Method: "POST", Path: base, Body: body}
		if version != "" {
			req.Header = map[string]string{"If-Match": version}
		} else {
			req.Invalid = true // the contract requires If-Match
		}
		return adm.Do(req)
	}
	expertAT := map[string]string{"role": "expert", "round": "r1", "country": "AT"}

	r := grant("", expertAT)
	if r.Status != http.StatusPreconditionRequired || !hasFieldError(decodeProblem(t, r), "If-Match") {
		t.Fatalf("without If-Match: %d %s", r.Status, r.Body)
	}
	if r := grant(`"abc"`, expertAT); r.Status != http.StatusBadRequest {
		t.Fatalf("malformed If-Match: %d %s", r.Status, r.Body)
	}
	if r := grant(`*`, expertAT); r.Status != http.StatusBadRequest {
		t.Fatalf("If-Match *: %d %s", r.Status, r.Body)
	}
	r = grant(`"1"`, expertAT)
	if r.Status != http.StatusOK {
		t.Fatalf("grant: %d %s", r.Status, r.Body)
	}
	got := decodeUser(t, r)
	if got.Version != 2 || len(got.Assignments) != 1 || got.Assignments[0].Country != "AT" {
		t.Fatalf("after grant: %s", r.Body)
	}
	// A second admin still holding version 1 is refused, and told the current state.
	r = grant(`"1"`, map[string]string{"role": "reviewer", "round": "r1", "country": "BE"})
	if r.Status != http.StatusPreconditionFailed {
		t.Fatalf("stale grant: %d %s", r.Status, r.Body)
	}
	if p := decodeProblem(t, r); p.Current["version"] != float64(2) {
		t.Fatalf("412 current: %s", r.Body)
	}
	// The weak form of the ETag is accepted: compressing proxies weaken ETags.
	r = grant(`W/"2"`, map[string]string{"role": "reviewer", "round": "r1", "country": "BE"})
	if r.Status != http.StatusOK || decodeUser(t, r).Version != 3 {
		t.Fatalf("grant with W/: %d %s", r.Status, r.Body)
	}
	if r := grant(`"3"`, map[string]string{"role": "reviewer", "round": "r1", "country": "AT"}); r.Status != http.StatusConflict {
		t.Fatalf("reviewer of own country: %d %s", r.Status, r.Body)
	}
	r = grant(`"3"`, map[string]string{"role": "coordinator", "round": "r1", "country": "AT"})
	if r.Status != http.StatusBadRequest || !hasFieldError(decodeProblem(t, r), "country") {
		t.Fatalf("coordinator with a country: %d %s", r.Status, r.Body)
	}
	r = adm.Do(apitest.Request{Method: "POST", Path: base, Body: map[string]string{"role": "admin", "round": "r1"},
		Header: map[string]string{"If-Match": `"3"`}, Invalid: true})
	if r.Status != http.StatusBadRequest || !hasFieldError(decodeProblem(t, r), "role") {
		t.Fatalf("role admin: %d %s", r.Status, r.Body)
	}

	revoke := func(version string, query string) *apitest.Response {
		return adm.Do(apitest.Request{Method: "DELETE", Path: base + "?" + query, Header: map[string]string{"If-Match": version}})
	}
	if r := revoke(`"2"`, assignmentQuery("expert", "r1", "AT")); r.Status != http.StatusPreconditionFailed {
		t.Fatalf("stale revoke: %d %s", r.Status, r.Body)
	}
	r = revoke(`"3"`, assignmentQuery("expert", "r1", "AT"))
	if r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if got := decodeUser(t, r); got.Version != 4 || len(got.Assignments) != 1 || got.Assignments[0].Role != "reviewer" {
		t.Fatalf("after revoke: %s", r.Body)
	}
	if r := revoke(`"4"`, assignmentQuery("expert", "r1", "AT")); r.Status != http.StatusNotFound {
		t.Fatalf("revoke again: %d %s", r.Status, r.Body)
	}
	r = adm.Do(apitest.Request{Method: "GET", Path: base})
	if r.Status != http.StatusOK || string(r.Body) != `{"assignments":[{"role":"reviewer","round":"r1","country":"BE"}]}`+"\n" {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	r = adm.Do(apitest.Request{Method: "GET", Path: "/v1/users/" + u.ID})
	if r.Status != http.StatusOK || decodeUser(t, r).Version != 4 {
		t.Fatalf("get: %d %s", r.Status, r.Body)
	}
}

func TestDisableEndsAccessAndEnableRestoresSignIn(t *testing.T) {
	env := apitest.New(t)
	adm, admUser := env.As(auth.RoleAdmin)
	userClient, u := env.As(auth.RoleNone)
	s := mustLogin(t, env.Client(), u.Email, apitest.Password)

	r := adm.Do(userChange("POST", "/v1/users/"+u.ID+"/disable", u.Version, nil))
	if r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	disabled := decodeUser(t, r)
	if !disabled.Disabled {
		t.Fatalf("not disabled: %s", r.Body)
	}
	if r := userClient.Do(apitest.Request{Method: "GET", Path: "/v1/me"}); r.Status != http.StatusUnauthorized {
		t.Errorf("token of a disabled user: %d", r.Status)
	}
	if r := refresh(env.Client(), s.RefreshToken); r.Status != http.StatusUnauthorized {
		t.Errorf("refresh of a disabled user: %d", r.Status)
	}
	if r := login(env.Client(), u.Email, apitest.Password); r.Status != http.StatusUnauthorized {
		t.Errorf("login of a disabled user: %d", r.Status)
	}
	if r := adm.Do(userChange("POST", "/v1/users/"+admUser.ID+"/disable", admUser.Version, nil)); r.Status != http.StatusConflict {
		t.Errorf("admin disabling themselves: %d %s", r.Status, r.Body)
	}
	if r := adm.Do(userChange("POST", "/v1/users/"+u.ID+"/enable", u.Version, nil)); r.Status != http.StatusPreconditionFailed {
		t.Errorf("enable with a stale version: %d %s", r.Status, r.Body)
	}
	r = adm.Do(userChange("POST", "/v1/users/"+u.ID+"/enable", disabled.Version, nil))
	if r.Status != http.StatusOK || decodeUser(t, r).Disabled {
		t.Fatalf("enable: %d %s", r.Status, r.Body)
	}
	mustLogin(t, env.Client(), u.Email, apitest.Password)
	// Sessions from before the disabling stay ended.
	if r := refresh(env.Client(), s.RefreshToken); r.Status != http.StatusUnauthorized {
		t.Errorf("old session after enabling: %d", r.Status)
	}
	if r := adm.Do(userChange("POST", "/v1/users/u_nobody/disable", 1, nil)); r.Status != http.StatusNotFound {
		t.Errorf("unknown user: %d %s", r.Status, r.Body)
	}
}

func TestPasswordReset(t *testing.T) {
	env := apitest.New(t)
	adm, _ := env.As(auth.RoleAdmin)
	_, u := env.As(auth.RoleNone)
	c := env.Client()
	old := mustLogin(t, c, u.Email, apitest.Password)
	path := "/v1/users/" + u.ID + "/password-reset"

	// Without a body: a one-time reset token for the user.
	r := adm.Do(userChange("POST", path, u.Version, nil))
	if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("reset token: %d %s", r.Status, r.Body)
	}
	var issued struct {
		User       userBody `json:"user"`
		ResetToken string   `json:"reset_token"`
	}
	r.Decode(t, &issued)
	if issued.ResetToken == "" || issued.User.Version != u.Version+1 {
		t.Fatalf("reset: %s", r.Body)
	}
	r = c.Do(apitest.Request{Method: "POST", Path: "/v1/auth/accept-invitation", Body: map[string]string{"token": issued.ResetToken, "password": "my brand new passphrase"}})
	if r.Status != http.StatusOK {
		t.Fatalf("accept reset: %d %s", r.Status, r.Body)
	}
	if r := login(c, u.Email, apitest.Password); r.Status != http.StatusUnauthorized {
		t.Errorf("old password after reset: %d", r.Status)
	}
	if r := refresh(c, old.RefreshToken); r.Status != http.StatusUnauthorized {
		t.Errorf("session from before the reset: %d", r.Status)
	}
	mustLogin(t, c, u.Email, "my brand new passphrase")

	// With a password: set at once. The version moved with the accepted reset.
	cur := decodeUser(t, adm.Do(apitest.Request{Method: "GET", Path: "/v1/users/" + u.ID}))
	r = adm.Do(userChange("POST", path, cur.Version, map[string]string{"password": "short"}))
	if r.Status != http.StatusBadRequest || !hasFieldError(decodeProblem(t, r), "password") {
		t.Fatalf("weak password: %d %s", r.Status, r.Body)
	}
	r = adm.Do(userChange("POST", path, cur.Version, map[string]string{"password": "set by the admin today"}))
	if r.Status != http.StatusOK || r.JSON(t)["reset_token"] != nil {
		t.Fatalf("set password: %d %s", r.Status, r.Body)
	}
	mustLogin(t, c, u.Email, "set by the admin today")
}

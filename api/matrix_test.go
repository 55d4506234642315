package api_test

// The authorization matrix: every operation of openapi.yaml, called by every kind of caller,
// must answer exactly the status the policy gives (the policy is the one authority on access). One world of users
// is shared by all cases; see newMatrixWorld.
//
// How to add your endpoints:
//
//  1. In your resource's test file declare a list, e.g.
//
//     var roundMatrixCases = []matrixCase{
//     	{
//     		op:      "GET /v1/rounds/{round}",
//     		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
//     			return apitest.Request{Method: "GET", Path: "/v1/rounds/" + w.Round}
//     		},
//     		want: signedIn(200).with(403, globalCoordinator /* ... */),
//     	},
//     }
//
//  2. Add its name to matrixCaseLists below (one line; the only edit of this file you need).
//
// op names the operation exactly as openapi.yaml does; add variant when an operation has several
// cases. want must name a status for every principal: start from everyone, signedIn or adminOnly
// and adjust with .with(status, principals...). Cases run one after another, in the order of the
// lists, on one shared world; request runs once per principal, in the order of principals. A case
// that changes state should build a fresh target on each call (w.invitee makes a user without a
// password, which costs no hashing) so that every principal meets the same state. setup, when
// set, runs before the case's requests, for fixtures the case reads (a round, a sheet); several
// cases may share it, so make it idempotent (and cheap when its fixtures exist). The world has
// round w.Round ("r1") with countries w.CountryA ("AT") and w.CountryB ("BE"), open, over the
// mini index (roundWorld), where the users hold their assignments: assignments may only name an
// existing round.
//
// TestMatrixCoversEveryOperation fails when an operation of openapi.yaml has no case, so a new
// endpoint cannot skip the matrix.
//
// For country-scoped reads, also add a matrixIsolationCheck to matrixIsolationLists: it asserts
// that a principal's response does not mention another country's data.

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
)

// matrixCaseLists names every list of cases; append yours.
var matrixCaseLists = [][]matrixCase{
	opsMatrixCases,
	authMatrixCases,
	userMatrixCases,
	auditMatrixCases,
	questionnaireMatrixCases,
	roundMatrixCases,
	peopleMatrixCases,
	webhookMatrixCases,
}

// matrixIsolationLists names every list of isolation checks; append yours.
var matrixIsolationLists = [][]matrixIsolationCheck{
	userIsolationChecks,
	roundIsolationChecks,
}

// principal is a kind of caller.
type principal string

// The callers of the matrix. Experts, reviewers and the round coordinator are assigned in round
// "r1"; the disabled user was an expert of AT there before being disabled.
const (
	anonymous         principal = "unauthenticated"
	expertA           principal = "expert_AT"
	expertB           principal = "expert_BE"
	reviewerA         principal = "reviewer_AT"
	roundCoordinator  principal = "coordinator_r1"
	globalCoordinator principal = "coordinator_global"
	admin             principal = "admin"
	disabledUser      principal = "disabled"
)

var principals = []principal{anonymous, expertA, expertB, reviewerA, roundCoordinator, globalCoordinator, admin, disabledUser}

// statuses is the expected status for each principal.
type statuses map[principal]int

// everyone answers status to every caller: public endpoints.
func everyone(status int) statuses {
	s := statuses{}
	for _, p := range principals {
		s[p] = status
	}
	return s
}

// signedIn answers status to every enabled user and 401 to the rest.
func signedIn(status int) statuses {
	return everyone(status).with(401, anonymous, disabledUser)
}

// adminOnly answers status to admins, 403 to other users and 401 to the rest.
func adminOnly(status int) statuses {
	return everyone(403).with(401, anonymous, disabledUser).with(status, admin)
}

// with returns a copy of s in which ps get status.
func (s statuses) with(status int, ps ...principal) statuses {
	out := make(statuses, len(s))
	for k, v := range s {
		out[k] = v
	}
	for _, p := range ps {
		out[p] = status
	}
	return out
}

// matrixCase is one operation (or one variant of it) in the matrix.
type matrixCase struct {
	// op is the operation as openapi.yaml names it: "POST /v1/users/{id}/disable".
	op string
	// variant tells several cases of one operation apart ("own id", "missing If-Match").
	variant string
	setup   func(t *testing.T, w *matrixWorld)
	request func(t *testing.T, w *matrixWorld, who principal) apitest.Request
	want    statuses
}

// matrixIsolationCheck asserts that who's response to request mentions none of mustNotContain.
type matrixIsolationCheck struct {
	name           string
	who            principal
	request        func(t *testing.T, w *matrixWorld) apitest.Request
	mustNotContain []string
}

// matrixWorld is the service with one user per principal.
type matrixWorld struct {
	Env      *apitest.Env
	Round    string
	CountryA string
	CountryB string
	// Users holds every principal's user but anonymous's.
	Users map[principal]auth.User
	// Spare is an enabled user with apitest.Password that no principal is, for sign-in cases.
	Spare  auth.User
	tokens map[principal]string
	seq    atomic.Int64
}

func newMatrixWorld(t *testing.T) *matrixWorld {
	t.Helper()
	env := apitest.New(t)
	w := &matrixWorld{
		Env: env, Round: "r1", CountryA: "AT", CountryB: "BE",
		Users: map[principal]auth.User{}, tokens: map[principal]string{},
	}
	roundWorld(t, w) // assignments name an existing round
	assign := func(role auth.Role, round, country string) auth.Assignment {
		return auth.Assignment{Role: role, Round: round, Country: country}
	}
	setups := []struct {
		who         principal
		role        auth.Role
		assignments []auth.Assignment
	}{
		{expertA, auth.RoleNone, []auth.Assignment{assign(auth.RoleExpert, w.Round, w.CountryA)}},
		{expertB, auth.RoleNone, []auth.Assignment{assign(auth.RoleExpert, w.Round, w.CountryB)}},
		{reviewerA, auth.RoleNone, []auth.Assignment{assign(auth.RoleReviewer, w.Round, w.CountryA)}},
		{roundCoordinator, auth.RoleNone, []auth.Assignment{assign(auth.RoleCoordinator, w.Round, "")}},
		{globalCoordinator, auth.RoleNone, []auth.Assignment{assign(auth.RoleCoordinator, auth.AllRounds, "")}},
		{admin, auth.RoleAdmin, nil},
		{disabledUser, auth.RoleNone, []auth.Assignment{assign(auth.RoleExpert, w.Round, w.CountryA)}},
	}
	// The principals hold access tokens issued with the service's keys rather than signed in
	// with passwords: each sign-in costs a password hash, and sign-in has tests of its own.
	tokens := testTokens(t, apitest.TestKeys, "expertsurvey", time.Now)
	ctx := context.Background()
	for _, s := range setups {
		u, _, err := env.App.Auth.BootstrapUser(ctx, auth.NewUser{Email: string(s.who) + "@example.org", DisplayName: string(s.who), GlobalRole: s.role})
		if err != nil {
			t.Fatalf("create %s: %v", s.who, err)
		}
		for _, a := range s.assignments {
			if u, err = env.App.Auth.Grant(ctx, auth.Principal{UserID: "u_matrix_setup", Admin: true}, u.ID, a, 0); err != nil {
				t.Fatalf("grant %s: %v", s.who, err)
			}
		}
		w.Users[s.who], w.tokens[s.who] = u, issue(t, tokens, u.ID)
	}
	u, err := env.App.Auth.DisableUser(ctx, w.adminPrincipal(), w.Users[disabledUser].ID, 0)
	if err != nil {
		t.Fatalf("disable: %v", err)
	}
	w.Users[disabledUser] = u
	w.Spare, _, err = env.App.Auth.BootstrapUser(ctx, auth.NewUser{Email: "spare@example.org", DisplayName: "Spare", Password: apitest.Password})
	if err != nil {
		t.Fatalf("spare user: %v", err)
	}
	return w
}

func (w *matrixWorld) adminPrincipal() auth.Principal { return w.Users[admin].Principal() }

// Client returns a client reporting to t, signed in as who (anonymous: no token).
func (w *matrixWorld) Client(t *testing.T, who principal) *apitest.Client {
	c := apitest.NewClient(t, w.Env.App.Server)
	c.Token = w.tokens[who]
	return c
}

// invitee creates a user without a password (no hashing, so cheap) with the given assignments,
// for cases that change a user.
func (w *matrixWorld) invitee(t *testing.T, assignments ...auth.Assignment) (auth.User, string) {
	t.Helper()
	ctx := context.Background()
	email := fmt.Sprintf("invitee%d@example.org", w.seq.Add(1))
	u, token, err := w.Env.App.Auth.BootstrapUser(ctx, auth.NewUser{Email: email, DisplayName: email})
	if err != nil {
		t.Fatalf("invitee: %v", err)
	}
	for _, a := range assignments {
		if u, err = w.Env.App.Auth.Grant(ctx, w.adminPrincipal(), u.ID, a, 0); err != nil {
			t.Fatalf("grant: %v", err)
		}
	}
	return u, token
}

// ownID is who's user id; anonymous gets the disabled user's, whose answer is 401 all the same.
func (w *matrixWorld) ownID(who principal) string {
	if who == anonymous {
		return w.Users[disabledUser].ID
	}
	return w.Users[who].ID
}

func allMatrixCases() []matrixCase { return slices.Concat(matrixCaseLists...) }

// opsMatrixCases: the operations endpoints are public.
var opsMatrixCases = []matrixCase{
	{op: "GET /livez", request: get("/livez"), want: everyone(200)},
	{op: "GET /healthz", request: get("/healthz"), want: everyone(200)},
	{op: "GET /readyz", request: get("/readyz"), want: everyone(200)},
	{op: "GET /metrics", request: get("/metrics"), want: everyone(200)},
	{op: "GET /openapi.yaml", request: get("/openapi.yaml"), want: everyone(200)},
	{op: "GET /docs", request: get("/docs"), want: everyone(200)},
	{op: "GET /docs/{asset}", request: get("/docs/init.js"), want: everyone(200)},
	{op: "GET /problems", request: get("/problems"), want: everyone(200)},
	{op: "GET /problems/{type}", request: get("/problems/stale"), want: everyone(200)},
}

// get is a request builder for a fixed GET.
func get(path string) func(*testing.T, *matrixWorld, principal) apitest.Request {
	return func(*testing.T, *matrixWorld, principal) apitest.Request {
		return apitest.Request{Method: "GET", Path: path}
	}
}

func TestAuthorizationMatrix(t *testing.T) {
	w := newMatrixWorld(t)
	_, router := apitest.Spec(t)
	for _, mc := range allMatrixCases() {
		name := strings.TrimSpace(mc.op + " " + mc.variant)
		t.Run(name, func(t *testing.T) {
			for _, who := range principals {
				if _, ok := mc.want[who]; !ok {
					t.Fatalf("the case names no status for %s", who)
				}
			}
			if mc.setup != nil {
				mc.setup(t, w)
			}
			for _, who := range principals {
				req := mc.request(t, w, who)
				if route, _, err := router.FindRoute(httptest.NewRequest(req.Method, req.Path, nil)); err != nil || route.Method+" "+route.Path != mc.op {
					t.Fatalf("%s %s is not the operation %s", req.Method, req.Path, mc.op)
				}
				r := w.Client(t, who).Do(req)
				if r.Status != mc.want[who] {
					t.Errorf("%s as %s: status %d, want %d: %s", req.Method, who, r.Status, mc.want[who], r.Body)
				}
			}
		})
	}
	for _, ic := range slices.Concat(matrixIsolationLists...) {
		t.Run("isolation/"+ic.name, func(t *testing.T) {
			r := w.Client(t, ic.who).Do(ic.request(t, w))
			if r.Status != 200 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			for _, s := range ic.mustNotContain {
				if strings.Contains(string(r.Body), s) {
					t.Errorf("%s's response mentions %s: %s", ic.who, s, r.Body)
				}
			}
		})
	}
}

// TestMatrixCoversEveryOperation checks that each operation of openapi.yaml has at least one
// matrix case.
func TestMatrixCoversEveryOperation(t *testing.T) {
	spec, _ := apitest.Spec(t)
	covered := map[string]bool{}
	for _, mc := range allMatrixCases() {
		covered[mc.op] = true
	}
	var missing []string
	for path, item := range spec.Paths.Map() {
		for method := range item.Operations() {
			if !covered[method+" "+path] {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations without an authorization matrix case (see the top of matrix_test.go):\n  %s", strings.Join(missing, "\n  "))
	}
}

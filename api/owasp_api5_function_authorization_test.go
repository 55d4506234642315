package api_test

// OWASP API Security Top 10 (2023), API5: broken function-level authorization. Every route of
// the router has a declared least function level below (public, any signed-in user, expert,
// reviewer, coordinator, admin), written independently of the authorization matrix; the test
// checks the two against each other: no caller below a route's level is let in by the matrix (which TestAuthorizationMatrix proves by calling every route as each of them),
// and some caller at the level is. Let in means past authorization: any status but 401 and 403
// (a 409 for a sheet in the wrong state, a 404 for a round not published, are answers to a
// caller the function is open to). A new route without a level fails, and so does a policy
// change that lets a lesser role into an admin or coordinator function without this table
// being changed too.

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
)

// functionLevel is the least level that may use a function (for some object: an expert's own
// country, a coordinator's own round).
type functionLevel int

const (
	levelPublic functionLevel = iota
	// levelSignedIn is any enabled user, for the objects they hold (an expert their country's
	// sheet); the matrix's least signed-in callers are experts.
	levelSignedIn
	levelReviewer
	levelCoordinator
	levelAdmin
)

func (l functionLevel) String() string {
	return [...]string{"public", "signed-in", "reviewer", "coordinator", "admin"}[l]
}

// levelOf places each caller of the matrix; the disabled user is below everyone signed in.
var levelOf = map[principal]functionLevel{anonymous: levelPublic, disabledUser: levelPublic, expertA: levelSignedIn,
	expertB: levelSignedIn, reviewerA: levelReviewer, roundCoordinator: levelCoordinator, globalCoordinator: levelCoordinator, admin: levelAdmin}

// functionLevels declares every route's level. Coordinator functions include locking,
// adjudication and round management; admin functions are users, audit and webhooks.
var functionLevels = map[string]functionLevel{}

func init() {
	for level, ops := range map[functionLevel][]string{
		levelPublic: {
			"GET /livez", "GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.yaml", "GET /docs", "GET /docs/{asset}",
			"POST /v1/auth/login", "POST /v1/auth/refresh", "POST /v1/auth/logout", "POST /v1/auth/accept-invitation",
			"GET /v1/public/rounds", "GET /v1/public/rounds/{round}", "GET /v1/public/rounds/{round}/scores",
			"GET /v1/public/rounds/{round}/countries/{country}/answers", "GET /v1/public/rounds/{round}/errata",
			"GET /v1/public/series", "GET /v1/public/rounds/{round}/export",
			// The problem-type pages (on main since this table was written; entries for routes
			// the router lacks are ignored).
			"GET /problems", "GET /problems/{type}",
		},
		levelSignedIn: {
			"GET /v1/me", "GET /v1/me/tasks", "GET /v1/questionnaires", "GET /v1/questionnaires/{code}",
			"GET /v1/questionnaires/{code}/versions", "GET /v1/questionnaires/{code}/versions/{version}",
			"GET /v1/questionnaires/{code}/versions/{version}/validation", "GET /v1/questionnaires/{code}/versions/{version}/export",
			"POST /v1/questionnaires/{code}/versions/{version}/score", "GET /v1/questionnaires/{code}/diff",
			"GET /v1/rounds", "GET /v1/users/{id}", "GET /v1/users/{id}/assignments",
			"GET /v1/rounds/{round}/countries/{country}/answers/{indicator}/comments", "GET /v1/rounds/{round}/countries/{country}/answers/{indicator}/diff", "GET /v1/rounds/{round}/countries/{country}/answers/{indicator}/history", "GET /v1/rounds/{round}/countries/{country}/answers/{indicator}/timeline", "GET /v1/rounds/{round}/countries/{country}/answers/{indicator}", "GET /v1/rounds/{round}/countries/{country}/changes", "GET /v1/rounds/{round}/countries/{country}/snapshot/verify", "GET /v1/rounds/{round}/countries/{country}/snapshot", "GET /v1/rounds/{round}/countries/{country}/timeline", "GET /v1/rounds/{round}/countries/{country}", "GET /v1/rounds/{round}", "PATCH /v1/rounds/{round}/countries/{country}/answers/{indicator}/comments/{comment}", "POST /v1/rounds/{round}/countries/{country}/answers/{indicator}/comments", "POST /v1/rounds/{round}/countries/{country}/answers/{indicator}/confirm", "POST /v1/rounds/{round}/countries/{country}/answers/{indicator}/dispute", "POST /v1/rounds/{round}/countries/{country}/confirm", "POST /v1/rounds/{round}/countries/{country}/submit", "PUT /v1/rounds/{round}/countries/{country}/answers/{indicator}",
		},
		levelReviewer:    {"POST /v1/rounds/{round}/countries/{country}/answers/{indicator}/verdicts", "POST /v1/rounds/{round}/countries/{country}/approvals"},
		levelCoordinator: {"GET /v1/audit", "GET /v1/rounds/{round}/agreement", "GET /v1/rounds/{round}/calibration/{indicator}", "GET /v1/rounds/{round}/compare/{other}", "GET /v1/rounds/{round}/dashboard", "GET /v1/rounds/{round}/errata", "GET /v1/rounds/{round}/export", "GET /v1/rounds/{round}/scores", "POST /v1/questionnaires/{code}/import", "POST /v1/questionnaires/{code}/versions/{version}/publish", "POST /v1/questionnaires/{code}/versions", "POST /v1/questionnaires", "POST /v1/rounds/{round}/answers/import", "POST /v1/rounds/{round}/countries/{country}/answers/{indicator}/adjudication", "POST /v1/rounds/{round}/countries/{country}/answers/{indicator}/override", "POST /v1/rounds/{round}/countries/{country}/answers/{indicator}/send-back", "POST /v1/rounds/{round}/countries/{country}/lock", "POST /v1/rounds/{round}/countries/{country}/reopen", "POST /v1/rounds/{round}/countries/{country}/return", "POST /v1/rounds/{round}/lock", "POST /v1/rounds/{round}/status", "POST /v1/rounds", "PUT /v1/questionnaires/{code}/versions/{version}", "PUT /v1/rounds/{round}"},
		levelAdmin:       {"DELETE /v1/users/{id}/assignments", "DELETE /v1/webhooks/{id}", "GET /v1/users", "GET /v1/webhooks/{id}/deliveries", "GET /v1/webhooks", "POST /v1/rounds/{round}/assignments/copy", "POST /v1/users/import", "POST /v1/users/{id}/assignments", "POST /v1/users/{id}/disable", "POST /v1/users/{id}/enable", "POST /v1/users/{id}/password-reset", "POST /v1/users", "POST /v1/webhooks"},
	} {
		for _, op := range ops {
			functionLevels[op] = level
		}
	}
}

func TestEveryFunctionHasALevelAndTheMatrixAgrees(t *testing.T) {
	var routes []string
	for _, r := range apitest.New(t).App.Server.Routes() {
		routes = append(routes, r[0]+" "+apitest.EchoPathToSpec(r[1]))
	}
	derived := map[string]functionLevel{}
	for _, mc := range allMatrixCases() {
		least, any := levelAdmin+1, false
		for p, status := range mc.want {
			if status != 401 && status != 403 && levelOf[p] < least {
				least, any = levelOf[p], true
			}
		}
		if !any {
			continue // a variant nobody is let into: says nothing of the level
		}
		if cur, ok := derived[mc.op]; !ok || least < cur {
			derived[mc.op] = least
		}
	}
	var problems []string
	for _, op := range routes {
		declared, ok := functionLevels[op]
		got, seen := derived[op]
		switch {
		case !ok && !seen:
			problems = append(problems, op+": no level declared, and no matrix case lets anyone in")
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: no level declared (the matrix lets %s callers in)", op, got))
		case !seen && declared == levelPublic:
			// Public functions whose cases all answer 401 for a bad token in the body
			// (refresh, accept-invitation): nothing to compare.
		case !seen:
			problems = append(problems, fmt.Sprintf("%s: declared %s, but no matrix case lets anyone in", op, declared))
		case got < declared:
			problems = append(problems, fmt.Sprintf("%s: declared %s, but the matrix lets %s callers in", op, declared, got))
		case got > declared:
			problems = append(problems, fmt.Sprintf("%s: declared %s, but the matrix lets only %s callers in", op, declared, got))
		}
	}
	slices.Sort(problems)
	if len(problems) > 0 {
		t.Errorf("function levels (top of owasp_api5_function_authorization_test.go):\n  %s", strings.Join(problems, "\n  "))
	}
	counts := map[functionLevel]int{}
	for _, op := range routes {
		counts[functionLevels[op]]++
	}
	t.Logf("%d routes: %v", len(routes), counts)
}

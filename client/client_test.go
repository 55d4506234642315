package client_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/client"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	openapi_types "github.com/oapi-codegen/runtime/types"
)

func TestMain(m *testing.M) { mongodbtest.Main(m) }

// TestGeneratedClientPlaysARound plays a whole round through the generated client against the
// real server (over HTTP, on the embedded store): the admin creates the people; a coordinator
// imports and publishes a questionnaire, creates and opens a round and assigns an expert and a
// reviewer; the expert answers with sources and submits; the reviewer approves; the coordinator
// locks, closes and publishes; anyone reads the public scores and exports. A contract change that
// breaks generated clients fails here.
func TestGeneratedClientPlaysARound(t *testing.T) {
	env := apitest.New(t)
	srv := httptest.NewServer(env.App.Server)
	t.Cleanup(srv.Close)
	ctx := context.Background()

	// The first admin comes from the command line (no API can create one from nothing).
	const adminEmail, password = "admin@example.org", "a long pass phrase for tests"
	if _, _, err := env.App.Auth.BootstrapUser(ctx, auth.NewUser{Email: adminEmail, DisplayName: "Admin", GlobalRole: auth.RoleAdmin, Password: password}); err != nil {
		t.Fatal(err)
	}
	anon := newClient(t, srv.URL, "")
	admin := signIn(t, anon, srv.URL, adminEmail, password)

	// People: a global coordinator, an expert and a reviewer, each with a password.
	ids := map[string]string{}
	for _, name := range []string{"coordinator", "expert", "reviewer"} {
		res, err := admin.CreateUserWithResponse(ctx, client.CreateUserRequest{
			Email: openapi_types.Email(name + "@example.org"), DisplayName: name, Password: ptr(password)})
		check(t, "create "+name, res, err, http.StatusCreated)
		ids[name] = res.JSON201.User.Id
	}
	grant := func(user string, a client.Assignment) {
		t.Helper()
		u, err := admin.GetUserWithResponse(ctx, ids[user])
		check(t, "read "+user, u, err, http.StatusOK)
		res, err := admin.GrantAssignmentWithResponse(ctx, ids[user], &client.GrantAssignmentParams{IfMatch: u.HTTPResponse.Header.Get("ETag")}, a)
		check(t, "grant "+user, res, err, http.StatusOK)
	}
	grant("coordinator", client.Assignment{Role: client.AssignmentRoleCoordinator, Round: "*"})
	coord := signIn(t, anon, srv.URL, "coordinator@example.org", password)

	// The coordinator imports the questionnaire as a draft, then publishes it.
	file, err := os.ReadFile("../questionnaire/testdata/mini_index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	imp, err := coord.ImportQuestionnaireVersionWithBodyWithResponse(ctx, "mini-index",
		&client.ImportQuestionnaireVersionParams{Version: ptr("1")}, "application/yaml", bytes.NewReader(file))
	check(t, "import", imp, err, http.StatusCreated)
	if !imp.JSON201.Valid || imp.JSON201.Status != "draft" {
		t.Fatalf("imported version: valid %v, status %s, problems %v", imp.JSON201.Valid, imp.JSON201.Status, imp.JSON201.Problems)
	}
	pub, err := coord.PublishQuestionnaireVersionWithResponse(ctx, "mini-index", "1",
		&client.PublishQuestionnaireVersionParams{IfMatch: imp.HTTPResponse.Header.Get("ETag")})
	check(t, "publish the version", pub, err, http.StatusOK)

	// A round over one country, opened.
	created, err := coord.CreateRoundWithResponse(ctx, client.RoundInput{Id: ptr("r2025"), Name: ptr("Round 2025"),
		Questionnaire: ptr("mini-index"), QuestionnaireVersion: ptr("1"), Countries: &[]string{"AT"}, ReferenceDate: ptr("2025")})
	check(t, "create the round", created, err, http.StatusCreated)
	setStatus := func(status client.RoundStatusInputStatus) {
		t.Helper()
		cur, err := coord.GetRoundWithResponse(ctx, "r2025")
		check(t, "read the round", cur, err, http.StatusOK)
		res, err := coord.SetRoundStatusWithResponse(ctx, "r2025", &client.SetRoundStatusParams{IfMatch: cur.HTTPResponse.Header.Get("ETag")},
			client.RoundStatusInput{Status: status})
		check(t, "round "+string(status), res, err, http.StatusOK)
	}
	setStatus(client.RoundStatusInputStatusOpen)
	grant("expert", client.Assignment{Role: client.AssignmentRoleExpert, Round: "r2025", Country: ptr("AT")})
	grant("reviewer", client.Assignment{Role: client.AssignmentRoleReviewer, Round: "r2025", Country: ptr("AT")})

	// The expert answers every indicator, citing sources where the instrument requires them, and
	// submits.
	expert := signIn(t, anon, srv.URL, "expert@example.org", password)
	law := client.Source{Kind: client.Law, Title: "Employment Act 2019", Url: ptr("https://example.org/employment-act")}
	answers := map[string]client.AnswerInput{
		"LMM_1": {Option: ptr("full"), Sources: &[]client.Source{law}}, "LMM_2": {Option: ptr("yes")}, "LMM_3": {Value: ptr(2.0)},
		"LMM_4": {Option: ptr("100")}, "LMM_5": {Option: ptr("keeps")}, "FR_1": {Option: ptr("full")}, "FR_2": {Option: ptr("yes")},
		"FR_4": {Option: ptr("no")}, "FR_6": {Value: ptr(80.0)}, "FR_7": {Text: ptr("nothing to add")}, "H_1": {Option: ptr("full")},
		"H_2": {Option: ptr("yes")}, "H_3": {Option: ptr("no")},
	}
	for code, body := range answers {
		res, err := expert.PutAnswerWithResponse(ctx, "r2025", "AT", code, &client.PutAnswerParams{IfMatch: `"0"`}, body)
		check(t, "answer "+code, res, err, http.StatusOK)
		if res.JSON200.Version != 1 {
			t.Errorf("answer %s at version %d", code, res.JSON200.Version)
		}
	}
	sub, err := expert.SubmitSheetWithResponse(ctx, "r2025", "AT")
	check(t, "submit", sub, err, http.StatusOK)

	// The reviewer approves every answer.
	reviewer := signIn(t, anon, srv.URL, "reviewer@example.org", password)
	appr, err := reviewer.ApproveManyWithResponse(ctx, "r2025", "AT", &client.ApproveManyParams{}, client.ApprovalsInput{AllRemaining: ptr(true)})
	check(t, "approve", appr, err, http.StatusOK)

	// The coordinator locks the sheet, closes and publishes the round.
	lock, err := coord.LockSheetsWithResponse(ctx, "r2025", &client.LockSheetsParams{}, client.LockSheetsInput{})
	check(t, "lock", lock, err, http.StatusOK)
	if len(lock.JSON200.Locked) != 1 || lock.JSON200.Locked[0].Country != "AT" || len(lock.JSON200.Failed) != 0 {
		t.Fatalf("lock: %+v", lock.JSON200)
	}
	setStatus(client.RoundStatusInputStatusClosed)
	setStatus(client.RoundStatusInputStatusPublished)

	// Anyone reads the published scores and exports, without a token.
	scores, err := anon.PublicScoresWithResponse(ctx, "r2025", &client.PublicScoresParams{Country: ptr("AT")})
	check(t, "public scores", scores, err, http.StatusOK)
	if scores.JSON200.Provisional || len(scores.JSON200.Countries) != 1 || scores.JSON200.Countries[0].Hash != lock.JSON200.Locked[0].Hash {
		t.Fatalf("public scores: %+v", scores.JSON200)
	}
	csvFormat, long := client.ExportFormatCsv, client.Long
	exp, err := anon.PublicExportRoundWithResponse(ctx, "r2025", &client.PublicExportRoundParams{Format: &csvFormat, Shape: &long})
	check(t, "public export", exp, err, http.StatusOK)
	rows, err := csv.NewReader(bytes.NewReader(exp.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 1+len(answers) || rows[0][0] != "round" || !strings.Contains(string(exp.Body), "Employment Act 2019") {
		t.Fatalf("public export: %d rows, header %v", len(rows), rows[0])
	}
	jsonFormat := client.ExportFormatJson
	rexp, err := coord.ExportRoundWithResponse(ctx, "r2025", &client.ExportRoundParams{Format: &jsonFormat})
	check(t, "coordinator export", rexp, err, http.StatusOK)
	if rexp.JSON200 == nil || len(*rexp.JSON200) < len(answers) {
		t.Fatalf("coordinator's JSON export: %s", rexp.Body)
	}
}

// response is what every generated response has.
type response interface {
	StatusCode() int
}

func check(t *testing.T, what string, res response, err error, want int) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got := res.StatusCode(); got != want {
		body := ""
		if b, ok := res.(interface{ GetBody() []byte }); ok {
			body = string(b.GetBody())
		}
		t.Fatalf("%s: %d, want %d\n%s", what, got, want, body)
	}
}

func newClient(t *testing.T, server, token string) *client.ClientWithResponses {
	t.Helper()
	c, err := client.NewClientWithResponses(server, client.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func signIn(t *testing.T, anon *client.ClientWithResponses, server, email, password string) *client.ClientWithResponses {
	t.Helper()
	res, err := anon.LoginWithResponse(context.Background(), client.LoginRequest{Email: openapi_types.Email(email), Password: password})
	check(t, "sign in "+email, res, err, http.StatusOK)
	return newClient(t, server, res.JSON200.AccessToken)
}

func ptr[T any](v T) *T { return &v }

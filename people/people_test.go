package people_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/people"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
)

func TestMain(m *testing.M) { mongodbtest.Main(m) }

// importer is the admin who runs the imports; their events are counted to prove that a run
// wrote nothing.
var importer = auth.Principal{UserID: "u_importer", Admin: true}

type world struct {
	env *apitest.Env
	svc *people.Service
}

// newWorld is the service on a fresh database with the mini index published and rounds r1
// (AT, BE, FR) and r2 (AT, BE).
func newWorld(t *testing.T) *world {
	t.Helper()
	env := apitest.New(t)
	ctx := context.Background()
	data := bytes.NewReader(mustRead(t, "../questionnaire/testdata/mini_index.yaml"))
	if _, err := env.App.Questionnaires.Import(ctx, importer, data, questionnaire.ImportOptions{Format: "yaml", Version: "1", Publish: true}); err != nil {
		t.Fatal(err)
	}
	for id, countries := range map[string][]string{"r1": {"AT", "BE", "FR"}, "r2": {"AT", "BE"}} {
		if _, err := env.App.Rounds.CreateRound(ctx, importer, round.RoundInput{ID: id, Name: "Round " + id,
			Questionnaire: "mini-index", QuestionnaireVer: "1", Countries: countries}); err != nil {
			t.Fatal(err)
		}
	}
	return &world{env: env, svc: people.NewService(env.App.Auth)}
}

func (w *world) importCSV(t *testing.T, csv string, dryRun bool) (*people.Result, error) {
	t.Helper()
	rows, err := people.Parse(strings.NewReader(csv), "csv")
	if err != nil {
		return nil, err
	}
	return w.svc.Import(context.Background(), importer, rows, dryRun)
}

// events counts the audit events the importer wrote.
func (w *world) events(t *testing.T) int {
	t.Helper()
	n, after := 0, ""
	for {
		evs, err := w.env.Store.ListEvents(context.Background(), audit.Filter{Actor: importer.UserID, After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return n
		}
		n += len(evs)
		after = evs[len(evs)-1].ID
	}
}

func (w *world) user(t *testing.T, email string) (auth.User, bool) {
	t.Helper()
	u, err := w.env.App.Auth.UserByEmail(context.Background(), importer, email)
	if errors.Is(err, auth.ErrNotFound) {
		return u, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return u, true
}

func TestImportTwoThousandPeopleIsIdempotent(t *testing.T) {
	w := newWorld(t)
	var b strings.Builder
	b.WriteString("email,name,role,round,countries\n")
	countries := []string{"AT", "be", "FR"} // codes match without regard to case
	for i := range 2000 {
		role := []string{"expert", "reviewer"}[i%2]
		fmt.Fprintf(&b, "person%04d@example.org,Person %d,%s,r1,%s\n", i, i, role, countries[i%3])
	}
	b.WriteString("coordinator@example.org,Coordinator,coordinator,r1,\n")
	b.WriteString("coordinator@example.org,Coordinator,coordinator,r2,\n")
	csv := b.String()

	res, err := w.importCSV(t, csv, true)
	if err != nil {
		t.Fatal(err)
	}
	want := &people.Result{DryRun: true, Rows: 2002, Users: 2001, Created: 2001, Granted: 2002}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Fatalf("dry run (-want +got):\n%s", diff)
	}
	if _, found := w.user(t, "person0000@example.org"); found {
		t.Fatal("the dry run created a user")
	}

	res, err = w.importCSV(t, csv, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 2001 || res.Granted != 2002 || len(res.Invitations) != 2001 || res.Invitations[0].Token == "" {
		t.Fatalf("import: %+v (%d invitations)", *res, len(res.Invitations))
	}
	// Each person is created with their assignments in one version.
	w.checkVersionOne(t, 2000)
	u, _ := w.user(t, "person0001@example.org")
	if diff := cmp.Diff([]auth.Assignment{{Role: auth.RoleReviewer, Round: "r1", Country: "BE"}}, u.Assignments); diff != "" || !u.Invited || u.Version != 1 {
		t.Errorf("person 1 (-want +got):\n%s%+v", diff, u)
	}
	c, _ := w.user(t, "coordinator@example.org")
	if len(c.Assignments) != 2 {
		t.Errorf("coordinator: %+v", c.Assignments)
	}

	res, err = w.importCSV(t, csv, false)
	if err != nil {
		t.Fatal(err)
	}
	want = &people.Result{Rows: 2002, Users: 2001, Unchanged: 2001}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Fatalf("re-import (-want +got):\n%s", diff)
	}
	// Any write would have made a new version of someone.
	w.checkVersionOne(t, 2000)
}

// checkVersionOne checks that every tenth of the n people is still at version 1, by point reads:
// listing thousands of users or events filters them in Go on the embedded store, too slowly
// under the race detector. The smaller tests count every event.
func (w *world) checkVersionOne(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i += 10 {
		email := fmt.Sprintf("person%04d@example.org", i)
		if u, found := w.user(t, email); !found || u.Version != 1 {
			t.Fatalf("%s: found %v, version %d, want version 1", email, found, u.Version)
		}
	}
}

func TestImportReportsEveryProblemAndWritesNothing(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	// An existing expert of r1/AT, who may not become its reviewer.
	existing, _, err := w.env.App.Auth.BootstrapUser(ctx, auth.NewUser{Email: "old@example.org", DisplayName: "Old",
		Assignments: []auth.Assignment{{Role: auth.RoleExpert, Round: "r1", Country: "AT"}}})
	if err != nil {
		t.Fatal(err)
	}
	csv := strings.Join([]string{
		"Email,Name,Role,Round,Countries",
		"ok@example.org,Fine,expert,r1,AT",          // 2: fine
		"not-an-email,Bad Email,expert,r1,AT",       // 3
		"noname@example.org,,expert,r1,AT",          // 4
		"role@example.org,Role,boss,r1,AT",          // 5
		"round@example.org,Round,expert,r9,AT",      // 6
		"country@example.org,Country,expert,r2,FR",  // 7
		"coord@example.org,Coord,coordinator,r1,AT", // 8
		"empty@example.org,Empty,reviewer,r1,",      // 9
		"ok@example.org,Fine,reviewer,r1,AT",        // 10: expert and reviewer of r1/AT
		"ok@example.org,Other Name,expert,r1,BE",    // 11: another name for the same email
		"old@example.org,Old,reviewer,r1,AT",        // 12: already expert of r1/AT
		"none@example.org,None,,r1,",                // 13: a round without a role
		"two@example.org,Two,expert,r1,AT;XX;BE",    // 14: one unknown country among good ones
	}, "\n")
	_, err = w.importCSV(t, csv, true)
	var perr *people.Error
	if !errors.As(err, &perr) {
		t.Fatalf("dry run: %v, want the list of problems", err)
	}
	type at struct {
		Row    int
		Column string
	}
	var got []at
	for _, p := range perr.Problems {
		got = append(got, at{p.Row, p.Column})
		if p.Message == "" {
			t.Errorf("row %d, %s: no message", p.Row, p.Column)
		}
	}
	want := []at{{3, "email"}, {4, "name"}, {5, "role"}, {6, "round"}, {7, "countries"}, {8, "countries"},
		{9, "countries"}, {10, "role"}, {11, "name"}, {12, "role"}, {13, "round"}, {14, "countries"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("problems (-want +got):\n%s\n%v", diff, perr)
	}
	// Without the dry run the answer is the same, and nothing is written either.
	if _, err := w.importCSV(t, csv, false); !errors.As(err, &perr) || len(perr.Problems) != len(want) {
		t.Fatalf("import: %v", err)
	}
	if n := w.events(t); n != 0 {
		t.Fatalf("a refused import wrote %d events", n)
	}
	if _, found := w.user(t, "ok@example.org"); found {
		t.Fatal("a refused import created the valid row's user")
	}
	if u, _ := w.user(t, "old@example.org"); u.Version != existing.Version {
		t.Fatalf("a refused import changed an existing user: %+v", u)
	}
}

func TestParseHeaderProblemsAndXLSX(t *testing.T) {
	_, err := people.Parse(strings.NewReader("mail,name,colour\nx@example.org,X,red\n"), "csv")
	var perr *people.Error
	if !errors.As(err, &perr) {
		t.Fatalf("bad header: %v", err)
	}
	var cols []string
	for _, p := range perr.Problems {
		if p.Row != 1 {
			t.Errorf("header problem on row %d", p.Row)
		}
		cols = append(cols, p.Column)
	}
	if diff := cmp.Diff([]string{"mail", "colour", "email"}, cols); diff != "" {
		t.Errorf("header problems (-want +got):\n%s", diff)
	}

	f := excelize.NewFile()
	for i, row := range [][]any{{"countries", "email", "name", "role", "round"}, {"AT BE", "ann@example.org", "Ann", "expert", "r1"}, {}, {"", "bob@example.org", "Bob", "", ""}} {
		if err := f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &row); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := people.Parse(&buf, "xlsx")
	if err != nil {
		t.Fatal(err)
	}
	want := []people.Row{
		{Line: 2, Email: "ann@example.org", Name: "Ann", Role: "expert", Round: "r1", Countries: "AT BE"},
		{Line: 4, Email: "bob@example.org", Name: "Bob"},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("xlsx rows (-want +got):\n%s", diff)
	}
}

// Two imports of one roster at once: every person exists once, with their assignments, and
// neither import fails. The guarantee is the email claim (a unique-key insert) and the user's
// versioned log, not the store's updates.
func TestConcurrentImportsOfOneRoster(t *testing.T) {
	w := newWorld(t)
	var b strings.Builder
	b.WriteString("email,name,role,round,countries\n")
	for i := range 40 {
		fmt.Fprintf(&b, "p%d@example.org,P %d,expert,r1,AT\np%d@example.org,P %d,expert,r2,BE\n", i, i, i, i)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, errs[i] = w.importCSV(t, b.String(), false) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent import: %v", err)
		}
	}
	for i := range 40 {
		u, found := w.user(t, fmt.Sprintf("p%d@example.org", i))
		want := []auth.Assignment{{Role: auth.RoleExpert, Round: "r1", Country: "AT"}, {Role: auth.RoleExpert, Round: "r2", Country: "BE"}}
		if diff := cmp.Diff(want, u.Assignments); !found || diff != "" {
			t.Fatalf("p%d (-want +got):\n%s", i, diff)
		}
	}
	res, err := w.importCSV(t, b.String(), false)
	if err != nil || res.Unchanged != 40 {
		t.Fatalf("after the race: %+v %v", res, err)
	}
}

func TestCopyAssignments(t *testing.T) {
	w := newWorld(t)
	csv := "email,name,role,round,countries\n" +
		"a@example.org,A,expert,r1,AT FR\n" +
		"b@example.org,B,reviewer,r1,BE\n" +
		"c@example.org,C,coordinator,r1,\n" +
		"d@example.org,D,expert,r2,BE\n" + // already in r2, and not in r1
		"e@example.org,E,expert,r2,AT\n" +
		"e@example.org,E,reviewer,r1,AT\n" // would review the sheet they write in r2
	if _, err := w.importCSV(t, csv, false); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before := w.events(t)
	res, err := w.svc.CopyAssignments(ctx, importer, "r1", "r2", true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Users != 4 || res.Granted != 3 || len(res.Skipped) != 2 || w.events(t) != before {
		t.Fatalf("dry run: %+v", res)
	}
	res, err = w.svc.CopyAssignments(ctx, importer, "r1", "r2", false)
	if err != nil {
		t.Fatal(err)
	}
	var skipped []string
	for _, s := range res.Skipped {
		skipped = append(skipped, s.Email+" "+s.Country)
	}
	if diff := cmp.Diff([]string{"a@example.org FR", "e@example.org AT"}, sortStrings(skipped)); diff != "" || res.Granted != 3 {
		t.Fatalf("copy: %+v (-want +got skipped):\n%s", res, diff)
	}
	a, _ := w.user(t, "a@example.org")
	if !hasAssignment(a, auth.Assignment{Role: auth.RoleExpert, Round: "r2", Country: "AT"}) {
		t.Errorf("a: %+v", a.Assignments)
	}
	c, _ := w.user(t, "c@example.org")
	if !hasAssignment(c, auth.Assignment{Role: auth.RoleCoordinator, Round: "r2"}) {
		t.Errorf("c: %+v", c.Assignments)
	}
	after := w.events(t)
	res, err = w.svc.CopyAssignments(ctx, importer, "r1", "r2", false)
	if err != nil || res.Granted != 0 || res.Unchanged != 3 || w.events(t) != after {
		t.Fatalf("second copy: %+v %v", res, err)
	}
	var te *auth.TargetError
	if _, err := w.svc.CopyAssignments(ctx, importer, "r9", "r2", false); !errors.As(err, &te) || te.Field != "from" {
		t.Fatalf("unknown from: %v", err)
	}
}

func hasAssignment(u auth.User, a auth.Assignment) bool {
	for _, b := range u.Assignments {
		if a == b {
			return true
		}
	}
	return false
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

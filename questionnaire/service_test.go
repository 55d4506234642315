package questionnaire_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/questionnaire"
)

func TestMain(m *testing.M) { mongodbtest.Main(m) }

var (
	admin       = auth.Principal{UserID: "u_admin", Admin: true}
	coordinator = auth.Principal{UserID: "u_coord", Assignments: []auth.Assignment{{Role: auth.RoleCoordinator, Round: auth.AllRounds}}}
	// A coordinator of one round edits that round, not the instruments every round shares.
	roundCoordinator = auth.Principal{UserID: "u_rcoord", Assignments: []auth.Assignment{{Role: auth.RoleCoordinator, Round: "r1"}}}
	expert           = auth.Principal{UserID: "u_expert", Assignments: []auth.Assignment{{Role: auth.RoleExpert, Round: "r1", Country: "AT"}}}
)

func newService(t *testing.T, store *mongodb.Store) *questionnaire.Service {
	t.Helper()
	s, err := questionnaire.NewService(questionnaire.ServiceConfig{Store: store,
		Now: func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func miniIndex(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/mini_index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func miniDefinition(t *testing.T) *questionnaire.Definition {
	t.Helper()
	d, err := questionnaire.DecodeDefinition(bytes.NewReader(miniIndex(t)), "yaml")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// brokenDefinition has several independent problems.
func brokenDefinition(t *testing.T) *questionnaire.Definition {
	t.Helper()
	d := miniDefinition(t)
	d.DefaultLanguage = ""
	d.Tree[0].Group.Children[0].Group.Children[0].Indicator.Options[0].Score = nil
	d.Variants[0].Areas = append(d.Variants[0].Areas, "NOPE")
	return d
}

// events counts the audit events of every questionnaire entity.
func events(t *testing.T, store *mongodb.Store) []audit.Event {
	t.Helper()
	all, err := store.ListEvents(context.Background(), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Event
	for _, ev := range all {
		if strings.HasPrefix(ev.Entity, "questionnaire/") {
			out = append(out, ev)
		}
	}
	return out
}

// expectEvents checks that exactly the given actions were logged since the last check.
type eventLog struct {
	t     *testing.T
	store *mongodb.Store
	seen  int
}

func (l *eventLog) expect(actions ...string) {
	l.t.Helper()
	evs := events(l.t, l.store)
	var got []string
	for _, ev := range evs[l.seen:] {
		got = append(got, ev.Action)
	}
	if diff := cmp.Diff(actions, got); diff != "" {
		l.t.Fatalf("audit events since the last check (-want +got):\n%s", diff)
	}
	l.seen = len(evs)
}

func TestVersionLifecycle(t *testing.T) {
	store := mongodbtest.New(t)
	s := newService(t, store)
	ctx := context.Background()
	log := &eventLog{t: t, store: store}

	q, err := s.Create(ctx, coordinator, "mini-index", "Mini index")
	if err != nil {
		t.Fatal(err)
	}
	if q.Revision != 1 || q.CreatedBy != "u_coord" {
		t.Fatalf("created %+v", q)
	}
	log.expect(questionnaire.ActionCreate)

	// A draft may be invalid; it is saved anyway and reports its problems.
	broken := brokenDefinition(t)
	v, err := s.CreateDraft(ctx, coordinator, "mini-index", questionnaire.DraftInput{Version: "2025.1", Definition: broken})
	if err != nil {
		t.Fatal(err)
	}
	want := broken.Validate()
	if len(want) < 3 || len(v.Problems()) != len(want) || v.Status != questionnaire.StatusDraft || v.Revision != 1 {
		t.Fatalf("draft %+v with %d problems, want %d", v, len(v.Problems()), len(want))
	}
	log.expect(questionnaire.ActionCreateVersion)

	// Publishing refuses it with every problem, and writes nothing.
	_, err = s.Publish(ctx, coordinator, "mini-index", "2025.1", 1)
	var verr *questionnaire.ValidationError
	if !errors.As(err, &verr) || !errors.Is(err, questionnaire.ErrInvalid) {
		t.Fatalf("publish of an invalid draft: %v", err)
	}
	if diff := cmp.Diff(want, verr.Problems); diff != "" {
		t.Fatalf("publish problems (-want +got):\n%s", diff)
	}
	log.expect()

	// Edits need the revision they are based on.
	if _, err := s.SaveDraft(ctx, coordinator, "mini-index", "2025.1", miniDefinition(t), 0); !errors.Is(err, questionnaire.ErrRevisionRequired) {
		t.Fatalf("save without a revision: %v", err)
	}
	v, err = s.SaveDraft(ctx, coordinator, "mini-index", "2025.1", miniDefinition(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if v.Revision != 2 || len(v.Problems()) != 0 {
		t.Fatalf("saved %+v, problems %v", v, v.Problems())
	}
	log.expect(questionnaire.ActionUpdateVersion)

	_, err = s.SaveDraft(ctx, coordinator, "mini-index", "2025.1", miniDefinition(t), 1)
	var stale *questionnaire.StaleError
	if !errors.As(err, &stale) || stale.Current.Revision != 2 || !errors.Is(err, questionnaire.ErrStale) {
		t.Fatalf("save on a stale revision: %v", err)
	}
	log.expect()

	v, err = s.Publish(ctx, coordinator, "mini-index", "2025.1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != questionnaire.StatusPublished || v.Revision != 3 || v.PublishedBy != "u_coord" || v.PublishedAt.IsZero() {
		t.Fatalf("published %+v", v)
	}
	log.expect(questionnaire.ActionPublishVersion)

	// Published is immutable through every method, whatever revision is named.
	for _, rev := range []int64{1, 2, 3, 4} {
		if _, err := s.SaveDraft(ctx, admin, "mini-index", "2025.1", miniDefinition(t), rev); !errors.Is(err, questionnaire.ErrPublished) {
			t.Errorf("save of a published version at revision %d: %v", rev, err)
		}
		if _, err := s.Publish(ctx, admin, "mini-index", "2025.1", rev); !errors.Is(err, questionnaire.ErrPublished) {
			t.Errorf("publish of a published version at revision %d: %v", rev, err)
		}
	}
	if _, err := s.Import(ctx, admin, bytes.NewReader(miniIndex(t)), questionnaire.ImportOptions{Format: "yaml", Version: "2025.1"}); !errors.Is(err, questionnaire.ErrConflict) {
		t.Errorf("import over a published version: %v", err)
	}
	if _, err := s.CreateDraft(ctx, admin, "mini-index", questionnaire.DraftInput{Version: "2025.1", Definition: miniDefinition(t)}); !errors.Is(err, questionnaire.ErrConflict) {
		t.Errorf("new draft over a published version: %v", err)
	}
	log.expect()
	got, err := s.Version(ctx, expert, "mini-index", "2025.1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(miniDefinition(t), got.Definition); diff != "" || got.Revision != 3 {
		t.Fatalf("published version changed (-want +got):\n%s", diff)
	}

	// A new version starts from the previous one; Diff shows what the authors change.
	next, err := s.NewVersion(ctx, coordinator, "mini-index", "2025.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if next.Version != "2025.2" || next.From != "2025.1" || next.Status != questionnaire.StatusDraft {
		t.Fatalf("new version %+v", next)
	}
	if diff := cmp.Diff(miniDefinition(t), next.Definition); diff != "" {
		t.Fatalf("new version's definition (-want +got):\n%s", diff)
	}
	log.expect(questionnaire.ActionCreateVersion)
	changes, err := s.Diff(ctx, coordinator, "mini-index", "2025.1", "2025.2")
	if err != nil || len(changes) != 0 {
		t.Fatalf("diff of a fresh copy: %v, %v", changes, err)
	}
	edited := next.Definition
	edited.Tree[2].Group.Children[0].Indicator.Title["fr"] = "Droits"
	if _, err := s.SaveDraft(ctx, coordinator, "mini-index", "2025.2", edited, next.Revision); err != nil {
		t.Fatal(err)
	}
	log.expect(questionnaire.ActionUpdateVersion)
	changes, err = s.Diff(ctx, coordinator, "mini-index", "2025.1", "2025.2")
	if err != nil {
		t.Fatal(err)
	}
	wantChange := questionnaire.Change{Kind: questionnaire.ChangeModified, Subject: questionnaire.SubjectIndicator, Code: "H_1", Field: "title.fr", After: "Droits"}
	if len(changes) != 1 || changes[0] != wantChange {
		t.Fatalf("diff %+v, want %+v", changes, wantChange)
	}

	vs, err := s.Versions(ctx, coordinator, "mini-index")
	if err != nil || len(vs) != 2 || vs[0].Version != "2025.1" || vs[1].Version != "2025.2" {
		t.Fatalf("versions %+v, %v", vs, err)
	}
}

func TestPublishedIsCompiledOnceAndRefusesDrafts(t *testing.T) {
	store := mongodbtest.New(t)
	s := newService(t, store)
	ctx := context.Background()
	if _, err := s.Import(ctx, admin, bytes.NewReader(miniIndex(t)), questionnaire.ImportOptions{Format: "yaml", Version: "2024", Publish: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, admin, bytes.NewReader(miniIndex(t)), questionnaire.ImportOptions{Format: "yaml", Version: "2025"}); err != nil {
		t.Fatal(err)
	}
	d1, c1, err := s.Published(ctx, "mini-index", "2024")
	if err != nil {
		t.Fatal(err)
	}
	d2, c2, err := s.Published(ctx, "mini-index", "2024")
	if err != nil || d1 != d2 || c1 != c2 {
		t.Fatalf("second call did not come from the cache: %v", err)
	}
	if _, ok := c1.Indicator("LMM_1"); !ok || d1.Code != "mini-index" {
		t.Fatalf("compiled version lacks LMM_1")
	}
	if _, _, err := s.Published(ctx, "mini-index", "2025"); !errors.Is(err, questionnaire.ErrNotPublished) {
		t.Fatalf("draft: %v, want ErrNotPublished", err)
	}
	if _, _, err := s.Published(ctx, "mini-index", "1999"); !errors.Is(err, questionnaire.ErrNotFound) {
		t.Fatalf("missing: %v, want ErrNotFound", err)
	}
	// Another instance sees the same published version.
	other := newService(t, mongodbtest.SecondInstance(t, store))
	if _, _, err := other.Published(ctx, "mini-index", "2024"); err != nil {
		t.Fatal(err)
	}

	r, err := s.Score(ctx, coordinator, "mini-index", "2024", questionnaire.Answers{{Indicator: "LMM_1", Option: "full"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := r.Node("LMM_1"); !ok || n.Score == nil || *n.Score != 100 {
		t.Fatalf("score of LMM_1: %+v", n)
	}
	if n, _ := r.Node("LMM_2"); n.Missing == nil || n.Missing.Reason != questionnaire.ReasonNotAnswered {
		t.Fatalf("LMM_2 should be missing as not answered: %+v", n)
	}
}

func TestImport(t *testing.T) {
	store := mongodbtest.New(t)
	s := newService(t, store)
	ctx := context.Background()
	log := &eventLog{t: t, store: store}

	// A broken file: every problem is reported and nothing is written.
	var buf bytes.Buffer
	broken := brokenDefinition(t)
	if err := questionnaire.EncodeDefinition(&buf, broken, "json"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Import(ctx, admin, &buf, questionnaire.ImportOptions{Format: "json"})
	var verr *questionnaire.ValidationError
	if !errors.As(err, &verr) || len(verr.Problems) != len(broken.Validate()) {
		t.Fatalf("broken import: %v", err)
	}
	for _, p := range verr.Problems {
		if p.Path == "" || p.Message == "" {
			t.Errorf("problem without a path: %+v", p)
		}
	}
	if _, err := s.Import(ctx, admin, strings.NewReader("code: [unclosed"), questionnaire.ImportOptions{Format: "yaml"}); !errors.Is(err, questionnaire.ErrFormat) {
		t.Fatalf("undecodable import: %v", err)
	}
	if _, err := s.Import(ctx, admin, bytes.NewReader(miniIndex(t)), questionnaire.ImportOptions{Format: "yaml", Questionnaire: "other"}); !errors.As(err, &verr) || verr.Problems[0].Path != "code" {
		t.Fatalf("import into another questionnaire: %v", err)
	}
	if _, err := s.Import(ctx, admin, bytes.NewReader(miniIndex(t)), questionnaire.ImportOptions{Format: "yaml", Version: "no/slash"}); !errors.Is(err, questionnaire.ErrInvalid) {
		t.Fatalf("bad label: %v", err)
	}
	if _, err := s.Questionnaire(ctx, admin, "mini-index"); !errors.Is(err, questionnaire.ErrNotFound) {
		t.Fatalf("a refused import created the questionnaire: %v", err)
	}
	log.expect()

	// A good file creates the questionnaire and a draft: two changes, two events.
	v, err := s.Import(ctx, coordinator, bytes.NewReader(miniIndex(t)), questionnaire.ImportOptions{Format: "yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != "2025.1" || v.Status != questionnaire.StatusDraft {
		t.Fatalf("imported %+v", v)
	}
	log.expect(questionnaire.ActionCreate, questionnaire.ActionImportVersion)
	q, err := s.Questionnaire(ctx, expert, "mini-index")
	if err != nil || q.Title != "Mini integration policy index" {
		t.Fatalf("questionnaire %+v, %v", q, err)
	}

	// Back-filling a historical instrument publishes it in one change.
	old, err := s.Import(ctx, coordinator, bytes.NewReader(miniIndex(t)), questionnaire.ImportOptions{Format: "yaml", Version: "2019", Publish: true, Questionnaire: "mini-index"})
	if err != nil {
		t.Fatal(err)
	}
	if old.Status != questionnaire.StatusPublished || old.Revision != 1 {
		t.Fatalf("back-filled %+v", old)
	}
	log.expect(questionnaire.ActionImportVersion)

	// Export round-trips, through an import too.
	for _, format := range questionnaire.FileFormats {
		var out bytes.Buffer
		if err := s.Export(ctx, expert, "mini-index", "2019", format, &out); err != nil {
			t.Fatal(err)
		}
		file := out.Bytes()
		d, err := questionnaire.DecodeFile(bytes.NewReader(file), format)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(miniDefinition(t), d); diff != "" {
			t.Fatalf("%s export round trip (-want +got):\n%s", format, diff)
		}
		v, err := s.Import(ctx, admin, bytes.NewReader(file), questionnaire.ImportOptions{Format: format, Version: "rt-" + format})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(miniDefinition(t), v.Definition); diff != "" {
			t.Fatalf("%s re-import (-want +got):\n%s", format, diff)
		}
	}

	// A broken workbook names the sheet and row of every problem.
	var book bytes.Buffer
	brokenBook := miniDefinition(t)
	brokenBook.DefaultLanguage = "de"
	if err := questionnaire.EncodeDefinitionXLSX(&book, brokenBook); err != nil {
		t.Fatal(err)
	}
	_, err = s.Import(ctx, admin, &book, questionnaire.ImportOptions{Format: "xlsx", Version: "broken"})
	if !errors.As(err, &verr) || len(verr.Problems) != len(brokenBook.Validate()) || !strings.Contains(verr.Problems[0].Path, "!") {
		t.Fatalf("broken workbook: %v", err)
	}
	if err := s.Export(ctx, admin, "mini-index", "2019", "csv", &bytes.Buffer{}); !errors.Is(err, questionnaire.ErrFormat) {
		t.Fatalf("unknown export format: %v", err)
	}
}

func TestPermissions(t *testing.T) {
	store := mongodbtest.New(t)
	s := newService(t, store)
	ctx := context.Background()
	if _, err := s.Import(ctx, admin, bytes.NewReader(miniIndex(t)), questionnaire.ImportOptions{Format: "yaml", Version: "2024", Publish: true}); err != nil {
		t.Fatal(err)
	}
	draft, err := s.Import(ctx, admin, bytes.NewReader(miniIndex(t)), questionnaire.ImportOptions{Format: "yaml", Version: "2025"})
	if err != nil {
		t.Fatal(err)
	}
	log := &eventLog{t: t, store: store}
	log.seen = len(events(t, store))

	for _, p := range []auth.Principal{expert, roundCoordinator, {}} {
		t.Run(p.UserID, func(t *testing.T) {
			writes := map[string]error{}
			_, writes["create"] = s.Create(ctx, p, "other", "Other")
			_, writes["draft"] = s.CreateDraft(ctx, p, "mini-index", questionnaire.DraftInput{From: "2024"})
			_, writes["save"] = s.SaveDraft(ctx, p, "mini-index", "2025", miniDefinition(t), draft.Revision)
			_, writes["publish"] = s.Publish(ctx, p, "mini-index", "2025", draft.Revision)
			_, writes["import"] = s.Import(ctx, p, bytes.NewReader(miniIndex(t)), questionnaire.ImportOptions{Format: "yaml"})
			_, writes["read draft"] = s.Version(ctx, p, "mini-index", "2025")
			writes["export draft"] = s.Export(ctx, p, "mini-index", "2025", "yaml", &bytes.Buffer{})
			_, writes["diff with draft"] = s.Diff(ctx, p, "mini-index", "2024", "2025")
			for name, err := range writes {
				if !errors.Is(err, auth.ErrForbidden) {
					t.Errorf("%s: %v, want ErrForbidden", name, err)
				}
			}
			if p.UserID == "" {
				return
			}
			// Every signed-in user reads published versions: experts work from them.
			if _, err := s.Version(ctx, p, "mini-index", "2024"); err != nil {
				t.Errorf("read published: %v", err)
			}
			vs, err := s.Versions(ctx, p, "mini-index")
			if err != nil || len(vs) != 1 || vs[0].Version != "2024" {
				t.Errorf("versions visible to %s: %+v, %v", p.UserID, vs, err)
			}
		})
	}
	log.expect()
	vs, err := s.Versions(ctx, coordinator, "mini-index")
	if err != nil || len(vs) != 2 {
		t.Fatalf("versions visible to a global coordinator: %+v, %v", vs, err)
	}
}

// Two racing changes of one draft, each based on the revision both read: exactly one lands,
// within one instance and across two sharing the store.
func TestRacingChangesOfOneDraftHaveOneWinner(t *testing.T) {
	for _, instances := range []int{1, 2} {
		t.Run(fmt.Sprintf("instances=%d", instances), func(t *testing.T) {
			store := mongodbtest.New(t)
			services := []*questionnaire.Service{newService(t, store)}
			if instances == 2 {
				services = append(services, newService(t, mongodbtest.SecondInstance(t, store)))
			}
			ctx := context.Background()
			for round := range 3 {
				label := fmt.Sprintf("2025.%d", round+1)
				v, err := services[0].Import(ctx, admin, bytes.NewReader(miniIndex(t)), questionnaire.ImportOptions{Format: "yaml", Version: label})
				if err != nil {
					t.Fatal(err)
				}
				before := len(events(t, store))
				var wg sync.WaitGroup
				results := make(chan error, 8)
				for g := range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						s := services[g%len(services)]
						var err error
						if g%2 == 0 || round == 0 {
							_, err = s.Publish(ctx, coordinator, "mini-index", label, v.Revision)
						} else {
							d := miniDefinition(t)
							d.Title["fr"] = fmt.Sprintf("Édition %d", g)
							_, err = s.SaveDraft(ctx, coordinator, "mini-index", label, d, v.Revision)
						}
						results <- err
					}()
				}
				wg.Wait()
				close(results)
				wins := 0
				for err := range results {
					switch {
					case err == nil:
						wins++
					case errors.Is(err, questionnaire.ErrStale), errors.Is(err, questionnaire.ErrPublished):
					default:
						t.Errorf("unexpected error: %v", err)
					}
				}
				if wins != 1 {
					t.Fatalf("round %d: %d changes landed, want exactly 1", round, wins)
				}
				if n := len(events(t, store)) - before; n != 1 {
					t.Fatalf("round %d: %d audit events, want 1", round, n)
				}
				got, err := services[0].Version(ctx, coordinator, "mini-index", label)
				if err != nil || got.Revision != 2 {
					t.Fatalf("round %d: revision after the race: %+v, %v", round, got, err)
				}
			}
		})
	}
}

func TestDraftsOfAnotherQuestionnaireAreRefused(t *testing.T) {
	store := mongodbtest.New(t)
	s := newService(t, store)
	ctx := context.Background()
	if _, err := s.Create(ctx, admin, "other", "Other"); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateDraft(ctx, admin, "other", questionnaire.DraftInput{Definition: miniDefinition(t)})
	var verr *questionnaire.ValidationError
	if !errors.As(err, &verr) || verr.Problems[0].Path != "code" {
		t.Fatalf("definition of another questionnaire: %v", err)
	}
	// A definition without a code takes the questionnaire's.
	v, err := s.CreateDraft(ctx, admin, "other", questionnaire.DraftInput{Definition: &questionnaire.Definition{}})
	if err != nil || v.Definition.Code != "other" || v.Version != "2025.1" {
		t.Fatalf("empty draft: %+v, %v", v, err)
	}
	for _, in := range []questionnaire.DraftInput{{}, {From: "x", Definition: &questionnaire.Definition{}}, {From: "1999"}} {
		if _, err := s.CreateDraft(ctx, admin, "other", in); !errors.Is(err, questionnaire.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", in, err)
		}
	}
	if _, err := s.CreateDraft(ctx, admin, "nope", questionnaire.DraftInput{Definition: &questionnaire.Definition{}}); !errors.Is(err, questionnaire.ErrNotFound) {
		t.Errorf("draft of a missing questionnaire: %v", err)
	}
	if _, err := s.Create(ctx, admin, "bad code", "x"); !errors.Is(err, questionnaire.ErrInvalid) {
		t.Errorf("bad code: %v", err)
	}
	if _, err := s.Create(ctx, admin, "other", "Again"); !errors.Is(err, questionnaire.ErrConflict) {
		t.Errorf("taken code: %v", err)
	}
}

package mongodb_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/questionnaire"
)

func storedDefinition() *questionnaire.Definition {
	// Codes with dots and a nested tree: what the embedded store would refuse as BSON keys or
	// nested arrays, and why the definition is stored as JSON text.
	return &questionnaire.Definition{
		Code: "idx", Title: questionnaire.Text{"en": "Index", "fr": "Indice"}, DefaultLanguage: "en", Languages: []string{"en", "fr"},
		Tree: []questionnaire.Node{{Group: &questionnaire.Group{Code: "A.1", Title: questionnaire.Text{"en": "Area"},
			Children: []questionnaire.Node{{Indicator: &questionnaire.Indicator{Code: "A.1.1", Title: questionnaire.Text{"en": "Q"},
				Question: questionnaire.Text{"en": "Q?"}, Type: questionnaire.YesNo}}}}}},
	}
}

func newStoredVersion(t *testing.T, s *mongodb.Store, ctx context.Context) *questionnaire.Version {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	q := &questionnaire.Questionnaire{Code: "idx", Title: "Index", Revision: 1, CreatedAt: now, CreatedBy: "u1", UpdatedAt: now, UpdatedBy: "u1"}
	if err := s.CreateQuestionnaire(ctx, q, "questionnaire.create"); err != nil {
		t.Fatal(err)
	}
	v := &questionnaire.Version{Questionnaire: "idx", Version: "2025.1", Status: questionnaire.StatusDraft, Definition: storedDefinition(),
		Revision: 1, CreatedAt: now, CreatedBy: "u1", UpdatedAt: now, UpdatedBy: "u1"}
	if err := s.SaveVersion(ctx, nil, v, "questionnaire.version.create"); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestQuestionnaireVersionRoundTripsAndLogsEveryChange(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := audit.WithOrigin(context.Background(), "u1", "req-1")
	v := newStoredVersion(t, s, ctx)

	got, err := s.Version(ctx, "idx", "2025.1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Definition.Tree[0].Group.Children[0].Indicator.Code != "A.1.1" || got.Revision != 1 || !got.CreatedAt.Equal(v.CreatedAt) {
		t.Fatalf("read back %+v", got)
	}
	if err := s.CreateQuestionnaire(ctx, &questionnaire.Questionnaire{Code: "idx", Title: "Other", Revision: 1}, "questionnaire.create"); !errors.Is(err, questionnaire.ErrConflict) {
		t.Fatalf("second create of a code: %v, want ErrConflict", err)
	}
	if err := s.SaveVersion(ctx, nil, v, "questionnaire.version.create"); !errors.Is(err, questionnaire.ErrConflict) {
		t.Fatalf("second create of a version: %v, want ErrConflict", err)
	}

	next := *got
	next.Revision, next.Status = 2, questionnaire.StatusPublished
	next.PublishedAt, next.PublishedBy = time.Now().UTC().Truncate(time.Millisecond), "u1"
	if err := s.SaveVersion(ctx, got, &next, "questionnaire.version.publish"); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveVersion(ctx, got, &next, "questionnaire.version.publish"); !errors.Is(err, questionnaire.ErrStale) {
		t.Fatalf("write at a taken revision: %v, want ErrStale", err)
	}

	events, err := s.ListEvents(ctx, audit.Filter{Entity: "questionnaire/idx/2025.1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].Action != "questionnaire.version.create" || events[1].Action != "questionnaire.version.publish" {
		t.Fatalf("events %+v", events)
	}
	var after struct {
		Status     string          `json:"status"`
		Definition json.RawMessage `json:"definition"`
	}
	if err := json.Unmarshal(events[1].After, &after); err != nil || after.Status != "published" || len(after.Definition) == 0 {
		t.Fatalf("after-state %s: %v", events[1].After, err)
	}
	if events[1].Actor != "u1" || events[1].RequestID != "req-1" || len(events[1].Before) == 0 {
		t.Fatalf("event origin or before-state missing: %+v", events[1])
	}

	vs, err := s.Versions(ctx, "idx")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Status != questionnaire.StatusPublished || vs[0].Definition != nil || vs[0].PublishedAt.IsZero() {
		t.Fatalf("listing %+v", vs)
	}
	qs, err := s.Questionnaires(ctx)
	if err != nil || len(qs) != 1 || qs[0].Title != "Index" {
		t.Fatalf("questionnaires %+v, %v", qs, err)
	}
}

// A writer may stop between the log entry and the projection, or projection writes may land out
// of order: reads, listings included, follow the log.
func TestQuestionnaireReadsCatchUpWithTheLog(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := context.Background()
	v := newStoredVersion(t, s, ctx)
	next := *v
	next.Revision, next.Status = 2, questionnaire.StatusPublished
	if err := s.SaveVersion(ctx, v, &next, "questionnaire.version.publish"); err != nil {
		t.Fatal(err)
	}
	// Roll the projection back to revision 1, as a lost projection write would leave it.
	col := s.Database().Collection("questionnaire_versions")
	if _, err := col.UpdateOne(ctx, bson.D{{Key: "_id", Value: "idx/2025.1"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revision", Value: 1}, {Key: "status", Value: "draft"}}}}); err != nil {
		t.Fatal(err)
	}
	vs, err := s.Versions(ctx, "idx")
	if err != nil || len(vs) != 1 || vs[0].Revision != 2 || vs[0].Status != questionnaire.StatusPublished {
		t.Fatalf("listing behind the log: %+v, %v", vs, err)
	}
	got, err := s.Version(ctx, "idx", "2025.1")
	if err != nil || got.Revision != 2 || got.Status != questionnaire.StatusPublished {
		t.Fatalf("read behind the log: %+v, %v", got, err)
	}
	// The read repaired the projection.
	var doc struct {
		Revision int64 `bson:"revision"`
	}
	if err := col.FindOne(ctx, bson.D{{Key: "_id", Value: "idx/2025.1"}}).Decode(&doc); err != nil || doc.Revision != 2 {
		t.Fatalf("projection not repaired: %+v, %v", doc, err)
	}

	// A projection that was never written at all.
	if _, err := s.Database().Collection("questionnaires").DeleteOne(ctx, bson.D{{Key: "_id", Value: "idx"}}); err != nil {
		t.Fatal(err)
	}
	q, err := s.Questionnaire(ctx, "idx")
	if err != nil || q.Title != "Index" {
		t.Fatalf("questionnaire from its log: %+v, %v", q, err)
	}
	if _, err := s.Version(ctx, "idx", "1999"); !errors.Is(err, questionnaire.ErrNotFound) {
		t.Fatalf("missing version: %v", err)
	}
	if _, err := s.Questionnaire(ctx, "nope"); !errors.Is(err, questionnaire.ErrNotFound) {
		t.Fatalf("missing questionnaire: %v", err)
	}
}

func TestRacingVersionWritesHaveOneWinnerAcrossInstances(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := context.Background()
	v := newStoredVersion(t, s, ctx)
	stores := []*mongodb.Store{s, mongodbtest.SecondInstance(t, s)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, stale := 0, 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := *v
			next.Revision = 2
			next.UpdatedBy = "g" + string(rune('0'+g))
			err := stores[g%2].SaveVersion(ctx, v, &next, "questionnaire.version.update")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, questionnaire.ErrStale):
				stale++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || stale != 7 {
		t.Fatalf("%d wins and %d stale, want 1 and 7", wins, stale)
	}
	events, err := s.ListEvents(ctx, audit.Filter{Entity: "questionnaire/idx/2025.1"})
	if err != nil || len(events) != 2 {
		t.Fatalf("%d events (%v), want 2", len(events), err)
	}
}

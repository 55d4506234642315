package mongodb_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/round"
)

// openSchema1Copy starts an embedded store on a copy of testdata/schema1: the files that the
// service as released before schema 2 wrote while serving the demo, after an expert saved eight
// answers of Austria's sheet (one of them twice).
func openSchema1Copy(t *testing.T) *mongodb.Store {
	t.Helper()
	if mongodbtest.External() {
		t.Skip("the schema 1 fixture is a file of the embedded store")
	}
	dir := t.TempDir() + "/"
	src, err := os.Open("testdata/schema1/expertsurvey.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(filepath.Join(dir, "expertsurvey.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	s, err := mongodb.Open(context.Background(), mongodb.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// countStrings counts documents of a collection whose field holds text rather than a document.
func countStrings(t *testing.T, s *mongodb.Store, collection string, fields ...string) int {
	t.Helper()
	cur, err := s.Database().Collection(collection).Find(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.Raw
	if err := cur.All(context.Background(), &docs); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range docs {
		for _, f := range fields {
			if d.Lookup(f).Type == bson.TypeString {
				n++
			}
		}
	}
	return n
}

func TestMigrateSchema1Store(t *testing.T) {
	s := openSchema1Copy(t)
	ctx := context.Background()
	before := countStrings(t, s, "events", "before", "after") + countStrings(t, s, "sheets", "answers") +
		countStrings(t, s, "questionnaire_versions", "definition")
	if before == 0 {
		t.Fatal("the fixture holds no JSON text; it does not test the migration")
	}
	// Two instances starting at once both migrate; neither fails, and the result is one.
	second := mongodbtest.SecondInstance(t, s)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, st := range []*mongodb.Store{s, second} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = st.Migrate(ctx) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for col, fields := range map[string][]string{"events": {"before", "after"}, "sheets": {"answers"}, "questionnaire_versions": {"definition"}} {
		if n := countStrings(t, s, col, fields...); n != 0 {
			t.Errorf("%s: %d fields still JSON text after the migration", col, n)
		}
	}
	var schema struct{ Version int }
	if err := s.Database().Collection("meta").FindOne(ctx, bson.D{{Key: "_id", Value: "schema"}}).Decode(&schema); err != nil || schema.Version != mongodb.SchemaVersion {
		t.Fatalf("schema version %d, %v; want %d", schema.Version, err, mongodb.SchemaVersion)
	}
	// Everything reads back as before: the sheet with its history, the audit trail, the
	// questionnaire's definition, the round.
	sh, err := s.Sheet(ctx, "demo-2025", "AT")
	if err != nil {
		t.Fatal(err)
	}
	a := sh.Answer("LMM_1")
	if a == nil || a.Option != "some_limits" || a.Version != 2 || a.At == 0 || a.Prev == 0 {
		t.Fatalf("LMM_1 after migration: %+v", a)
	}
	if n := sh.AnswerCount(); n != 7 {
		t.Fatalf("AT has %d answers after migration, want 7", n)
	}
	versions, err := round.Versions(ctx, s, "demo-2025", "AT", a)
	if err != nil || len(versions) != 2 || versions[0].Answer.Option != "equal" || versions[0].Answer.Sources[0].Reference != "§ 4(2)" {
		t.Fatalf("history of LMM_1: %+v, %v", versions, err)
	}
	events, err := s.ListEvents(ctx, audit.Filter{Entity: "sheet/demo-2025/AT"})
	if err != nil || len(events) == 0 || len(events[0].After) == 0 {
		t.Fatalf("audit of AT: %d events, %v", len(events), err)
	}
	if _, err := s.Round(ctx, "demo-2025"); err != nil {
		t.Fatal(err)
	}
	v, err := s.Version(ctx, "demo-integration-index", "2025.1")
	if err != nil || v.Definition == nil || len(v.Definition.Tree) != 8 {
		t.Fatalf("definition after migration: %v", err)
	}
	// The migrated sheet takes new writes.
	ctx = audit.WithOrigin(ctx, "u_expert", "req")
	if _, err := s.UpdateSheet(ctx, "demo-2025", "AT", func(*round.Sheet) (*round.Change, error) {
		return &round.Change{Action: "answer.save", Answers: []round.Answer{{Indicator: "LMM_1", Option: "equal"}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	// Running it again changes nothing.
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateRefusesANewerSchema(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := context.Background()
	if _, err := s.Database().Collection("meta").ReplaceOne(ctx, bson.D{{Key: "_id", Value: "schema"}},
		bson.D{{Key: "_id", Value: "schema"}, {Key: "version", Value: mongodb.SchemaVersion + 1}}); err != nil {
		t.Fatal(err)
	}
	err := s.Migrate(ctx)
	if !errors.Is(err, mongodb.ErrSchemaTooNew) {
		t.Fatalf("Migrate on a newer schema: %v, want ErrSchemaTooNew", err)
	}
	t.Log(err)
}

package mongodb_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

// On the embedded store a point read by _id must use an index, not scan the collection: the
// whole design rests on point reads being cheap. SQLite's query plan says which it does.
func TestEmbeddedPointReadsUseAnIndex(t *testing.T) {
	if mongodbtest.External() {
		t.Skip("embedded store only")
	}
	dir := t.TempDir()
	ctx := context.Background()
	s, err := mongodb.Open(ctx, mongodb.Config{DataDir: dir, Database: "plan", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "plan.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Snapshots are written long after start-up, but their collection and its index exist from
	// the start: an export reads one snapshot per country, and a scan per read made an export
	// quadratic in the round's size.
	for _, name := range []string{"events", "sheets", "snapshots"} {
		var table string
		if err := db.QueryRowContext(ctx, `SELECT table_name FROM _ferretdb_collections WHERE name = ?`, name).Scan(&table); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// The statement FerretDB 1.24 runs for find {_id: "..."} (backends/sqlite/collection.go).
		rows, err := db.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM "`+table+`" WHERE _ferretdb_sjson->'$._id' = ? LIMIT 1`, `"x"`)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if got := strings.Join(plan, "; "); !strings.Contains(got, "USING INDEX "+table+"_id_lookup") {
			t.Fatalf("%s: point read plan %q: a scan, not the _id index", name, got)
		}
	}
}

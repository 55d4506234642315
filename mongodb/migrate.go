package mongodb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// colMeta holds the store's own records: the schema version.
const colMeta = "meta"

// SchemaVersion is the layout of the documents this release writes and reads.
//
//   - 1: answers of sheet projections, before and after of log entries and questionnaire
//     definitions were JSON text inside string fields.
//   - 2: all of them are documents and arrays (docs/data-model.md).
const SchemaVersion = 2

// ErrSchemaTooNew refuses to start on a store written by a newer release: this one would not
// understand what that one wrote, and might overwrite it.
var ErrSchemaTooNew = errors.New("the store was written by a newer release")

type schemaDoc struct {
	ID         string    `bson:"_id"`
	Version    int       `bson:"version"`
	MigratedAt time.Time `bson:"migrated_at"`
}

// Migrate brings the store's documents to SchemaVersion and records it; every start-up calls
// it. Each step rewrites a document only when it is still in the old layout, into the same
// content whoever writes it, so running it again, or on two instances starting at once, changes
// nothing more; readers accept both layouts meanwhile, so instances of the previous release
// can keep running during a rolling upgrade.
func (s *Store) Migrate(ctx context.Context) error {
	var cur schemaDoc
	err := s.db.Collection(colMeta).FindOne(ctx, byID("schema")).Decode(&cur)
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("read schema version: %w", err)
	}
	if cur.Version > SchemaVersion {
		return fmt.Errorf("%w: its schema is version %d, this release knows up to %d; run a newer release", ErrSchemaTooNew, cur.Version, SchemaVersion)
	}
	if cur.Version == SchemaVersion {
		return nil
	}
	start := time.Now()
	n, err := s.migrateTo2(ctx)
	if err != nil {
		return fmt.Errorf("migrate the store to schema 2: %w", err)
	}
	d := schemaDoc{ID: "schema", Version: SchemaVersion, MigratedAt: s.now().UTC()}
	// Two instances migrating at once both upsert; on the embedded store the loser's upsert
	// fails on the unique _id instead of matching the winner's document. Either way the
	// version is recorded, which is all that matters.
	if _, err := s.db.Collection(colMeta).ReplaceOne(ctx, byID(d.ID), d, options.Replace().SetUpsert(true)); err != nil && !isDuplicateKey(err) {
		return fmt.Errorf("record schema version: %w", err)
	}
	if n > 0 {
		s.logger.Info("store migrated", "schema", SchemaVersion, "documents", n, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// migrateTo2 turns the JSON text of schema 1 into documents and tells how many it rewrote.
func (s *Store) migrateTo2(ctx context.Context) (int, error) {
	total := 0
	n, err := rewriteEach(ctx, s, colEvents, func(d bson.Raw) (bson.D, bool, error) {
		stream, _ := d.Lookup("stream").StringValueOK()
		isSheet := len(stream) > len("sheet/") && stream[:len("sheet/")] == "sheet/"
		var out bson.D
		if err := bson.Unmarshal(d, &out); err != nil {
			return nil, false, err
		}
		changed := false
		for i, e := range out {
			text, ok := e.Value.(string)
			if !ok || (e.Key != "before" && e.Key != "after") {
				continue
			}
			var doc any
			var err error
			switch {
			case isSheet && e.Key == "after":
				doc, err = convertJSON[changeDoc](text)
			case isSheet:
				doc, err = convertJSON[beforeDoc](text)
			default:
				doc, err = jsonToBSON(json.RawMessage(text))
			}
			if err != nil {
				return nil, false, fmt.Errorf("%s of %s: %w", e.Key, d.Lookup("_id"), err)
			}
			out[i].Value = doc
			changed = true
		}
		return out, changed, nil
	})
	total += n
	if err != nil {
		return total, err
	}
	n, err = rewriteEach(ctx, s, colSheets, func(d bson.Raw) (bson.D, bool, error) {
		return convertField(d, "answers", func(text string) (any, error) { return convertJSON[[]answerDoc](text) })
	})
	total += n
	if err != nil {
		return total, err
	}
	n, err = rewriteEach(ctx, s, colQuestionnaireVersions, func(d bson.Raw) (bson.D, bool, error) {
		return convertField(d, "definition", func(text string) (any, error) { return jsonToBSON(json.RawMessage(text)) })
	})
	return total + n, err
}

// convertJSON decodes schema 1's JSON text into the typed document that schema 2 stores, so that
// times become dates rather than strings.
func convertJSON[T any](text string) (T, error) {
	var v T
	err := json.Unmarshal([]byte(text), &v)
	return v, err
}

// convertField replaces one string field of d with its converted document.
func convertField(d bson.Raw, key string, convert func(string) (any, error)) (bson.D, bool, error) {
	text, ok := d.Lookup(key).StringValueOK()
	if !ok {
		return nil, false, nil
	}
	var out bson.D
	if err := bson.Unmarshal(d, &out); err != nil {
		return nil, false, err
	}
	v, err := convert(text)
	if err != nil {
		return nil, false, fmt.Errorf("%s of %s: %w", key, d.Lookup("_id"), err)
	}
	for i := range out {
		if out[i].Key == key {
			out[i].Value = v
		}
	}
	return out, true, nil
}

// rewriteEach reads every document of a collection and replaces, by _id, those that convert
// changes.
func rewriteEach(ctx context.Context, s *Store, collection string, convert func(bson.Raw) (bson.D, bool, error)) (int, error) {
	col := s.db.Collection(collection)
	cur, err := col.Find(ctx, bson.D{}, options.Find().SetBatchSize(500))
	if err != nil {
		return 0, fmt.Errorf("scan %s: %w", collection, err)
	}
	defer cur.Close(ctx)
	n := 0
	for cur.Next(ctx) {
		doc, changed, err := convert(cur.Current)
		if err != nil {
			return n, fmt.Errorf("%s: %w", collection, err)
		}
		if !changed {
			continue
		}
		id := cur.Current.Lookup("_id")
		if _, err := col.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, doc); err != nil {
			return n, fmt.Errorf("rewrite %s %s: %w", collection, id, err)
		}
		n++
	}
	return n, cur.Err()
}

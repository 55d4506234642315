package mongodb

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// indexes lists the secondary indexes the service needs. Uniqueness that guards a race lives
// in _id wherever possible, because _id is the one key both servers always index and the
// embedded store serves from SQL.
var indexes = map[string][]index{
	colEvents: {
		{name: "entity_id", keys: bson.D{{Key: "entity", Value: 1}, {Key: "_id", Value: 1}}},
		{name: "actor_id", keys: bson.D{{Key: "actor", Value: 1}, {Key: "_id", Value: 1}}},
		{name: "time", keys: bson.D{{Key: "time", Value: 1}}},
	},
	// Listing a questionnaire's versions (MongoDB uses it; the embedded store scans).
	colQuestionnaireVersions: {
		{name: "questionnaire_id", keys: bson.D{{Key: "questionnaire", Value: 1}, {Key: "_id", Value: 1}}},
	},
	// A webhook's deliveries, and the attempts due for a retry (mongodb/notify.go).
	colWebhookDeliveries: {
		{name: "webhook_id", keys: bson.D{{Key: "webhook", Value: 1}, {Key: "_id", Value: 1}}},
		{name: "status_retry_at", keys: bson.D{{Key: "status", Value: 1}, {Key: "retry_at", Value: 1}}},
	},
}

type index struct {
	name   string
	keys   bson.D
	unique bool
}

// EnsureIndexes creates the missing indexes; every start-up calls it. It creates only what is
// missing because FerretDB 1.24 drops the connection (a panic inside the server) when asked to
// create an index that exists already, where MongoDB would do nothing.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	for col, models := range indexes {
		existing, err := s.indexNames(ctx, col)
		if err != nil {
			return err
		}
		var missing []mongo.IndexModel
		for _, m := range models {
			if !existing[m.name] {
				opts := options.Index().SetName(m.name)
				if m.unique {
					opts.SetUnique(true)
				}
				missing = append(missing, mongo.IndexModel{Keys: m.keys, Options: opts})
			}
		}
		if len(missing) == 0 {
			continue
		}
		if _, err := s.db.Collection(col).Indexes().CreateMany(ctx, missing); err != nil {
			return fmt.Errorf("create indexes on %s: %w", col, err)
		}
	}
	if s.sqliteDir != "" {
		return indexIDLookups(ctx, s.db, s.sqliteDir)
	}
	return nil
}

func (s *Store) indexNames(ctx context.Context, col string) (map[string]bool, error) {
	cur, err := s.db.Collection(col).Indexes().List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list indexes on %s: %w", col, err)
	}
	var specs []struct {
		Name string `bson:"name"`
	}
	if err := cur.All(ctx, &specs); err != nil {
		return nil, fmt.Errorf("list indexes on %s: %w", col, err)
	}
	names := map[string]bool{}
	for _, sp := range specs {
		names[sp.Name] = true
	}
	return names, nil
}

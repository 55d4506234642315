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
var indexes = map[string][]mongo.IndexModel{
	colEvents: {
		{Keys: bson.D{{Key: "entity", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("entity_id")},
		{Keys: bson.D{{Key: "actor", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("actor_id")},
		{Keys: bson.D{{Key: "time", Value: 1}}, Options: options.Index().SetName("time")},
	},
}

// EnsureIndexes creates the indexes; it is idempotent, so every start-up calls it.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	for col, models := range indexes {
		if _, err := s.db.Collection(col).Indexes().CreateMany(ctx, models); err != nil {
			return fmt.Errorf("create indexes on %s: %w", col, err)
		}
	}
	return nil
}

package mongodb

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/expertsurvey/expertsurvey/audit"
)

// colEvents holds every entity's log: one immutable document per state change, keyed
// "<stream>/<seq>" so that two writers appending the same position collide on _id, the one
// guarantee that holds under concurrency on both servers. The same documents are the audit
// trail.
const colEvents = "events"

// eventDoc is the stored form of an audit.Event. Before and after are kept as JSON text: domain
// states may hold keys with dots or nested arrays, which the embedded store refuses in BSON.
type eventDoc struct {
	ID        string    `bson:"_id"`
	Stream    string    `bson:"stream"`
	Seq       int64     `bson:"seq"`
	Actor     string    `bson:"actor"`
	Action    string    `bson:"action"`
	Entity    string    `bson:"entity"`
	Before    string    `bson:"before,omitempty"`
	After     string    `bson:"after,omitempty"`
	Time      time.Time `bson:"time"`
	RequestID string    `bson:"request_id,omitempty"`
	// State, for entities whose audit after-state leaves out secrets (a user's password hash),
	// is the entity's whole stored state at this version, so that a projection that fell behind
	// its log can be rebuilt. It is never returned as part of the audit trail.
	State any `bson:"state,omitempty"`
}

// eventID orders lexically as it orders numerically, so a listing by _id is in log order.
func eventID(stream string, seq int64) string {
	return fmt.Sprintf("%s/%012d", stream, seq)
}

// appendEvent writes ev at position seq of stream. It reports false, without error, when another
// writer took that position first: the caller re-reads and decides (retry or refuse).
func (s *Store) appendEvent(ctx context.Context, stream string, seq int64, ev audit.Event) (bool, error) {
	return s.appendEventWithState(ctx, stream, seq, ev, nil)
}

// appendEventWithState is appendEvent for entities whose projection is rebuilt from state.
func (s *Store) appendEventWithState(ctx context.Context, stream string, seq int64, ev audit.Event, state any) (bool, error) {
	doc := toEventDoc(stream, seq, ev)
	doc.State = state
	_, err := s.db.Collection(colEvents).InsertOne(ctx, doc)
	if isDuplicateKey(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("append %s: %w", doc.ID, err)
	}
	return true, nil
}

// readEvent returns the entry at position seq of stream; a projection whose version is behind
// its log is repaired by reading forward from there.
func (s *Store) readEvent(ctx context.Context, stream string, seq int64) (audit.Event, bool, error) {
	var d eventDoc
	err := s.db.Collection(colEvents).FindOne(ctx, byID(eventID(stream, seq))).Decode(&d)
	if isNotFound(err) {
		return audit.Event{}, false, nil
	}
	if err != nil {
		return audit.Event{}, false, fmt.Errorf("read event: %w", err)
	}
	return fromEventDoc(d), true, nil
}

func toEventDoc(stream string, seq int64, ev audit.Event) eventDoc {
	return eventDoc{
		ID: eventID(stream, seq), Stream: stream, Seq: seq,
		Actor: ev.Actor, Action: ev.Action, Entity: ev.Entity,
		Before: string(ev.Before), After: string(ev.After),
		Time: ev.Time.UTC(), RequestID: ev.RequestID,
	}
}

func fromEventDoc(d eventDoc) audit.Event {
	ev := audit.Event{
		ID: d.ID, Actor: d.Actor, Action: d.Action, Entity: d.Entity,
		Time: d.Time.UTC(), RequestID: d.RequestID,
	}
	if d.Before != "" {
		ev.Before = []byte(d.Before)
	}
	if d.After != "" {
		ev.After = []byte(d.After)
	}
	return ev
}

// ListEvents implements audit.Reader.
func (s *Store) ListEvents(ctx context.Context, f audit.Filter) ([]audit.Event, error) {
	filter := bson.D{}
	if f.Entity != "" {
		filter = append(filter, bson.E{Key: "entity", Value: f.Entity})
	}
	if f.Actor != "" {
		filter = append(filter, bson.E{Key: "actor", Value: f.Actor})
	}
	if f.Action != "" {
		filter = append(filter, bson.E{Key: "action", Value: f.Action})
	}
	timeRange := bson.D{}
	if !f.Since.IsZero() {
		timeRange = append(timeRange, bson.E{Key: "$gte", Value: f.Since.UTC()})
	}
	if !f.Until.IsZero() {
		timeRange = append(timeRange, bson.E{Key: "$lt", Value: f.Until.UTC()})
	}
	if len(timeRange) > 0 {
		filter = append(filter, bson.E{Key: "time", Value: timeRange})
	}
	if f.After != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: f.After}}})
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit))
	docs, err := findAll[eventDoc](ctx, s.db.Collection(colEvents), filter, "list events", opts)
	if err != nil {
		return nil, err
	}
	out := make([]audit.Event, len(docs))
	for i, d := range docs {
		out[i] = fromEventDoc(d)
	}
	return out, nil
}

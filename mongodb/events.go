package mongodb

import (
	"context"
	"errors"
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

// eventDoc is the stored form of an audit.Event, as written. Before and after are documents:
// a sheet's are its own typed documents, other entities' are converted from the JSON of their
// audit states.
type eventDoc struct {
	ID        string    `bson:"_id"`
	Stream    string    `bson:"stream"`
	Seq       int64     `bson:"seq"`
	Actor     string    `bson:"actor"`
	Action    string    `bson:"action"`
	Entity    string    `bson:"entity"`
	Before    any       `bson:"before,omitempty"`
	After     any       `bson:"after,omitempty"`
	Time      time.Time `bson:"time"`
	RequestID string    `bson:"request_id,omitempty"`
	// State, for entities whose audit after-state leaves out secrets (a user's password hash),
	// is the entity's whole stored state at this version, so that a projection that fell behind
	// its log can be rebuilt. It is never returned as part of the audit trail.
	State any `bson:"state,omitempty"`
}

// storedEvent is an event as read: before and after stay raw until someone needs them, and may
// be the JSON text that schema 1 stored.
type storedEvent struct {
	ID        string        `bson:"_id"`
	Stream    string        `bson:"stream"`
	Seq       int64         `bson:"seq"`
	Actor     string        `bson:"actor"`
	Action    string        `bson:"action"`
	Entity    string        `bson:"entity"`
	Before    bson.RawValue `bson:"before"`
	After     bson.RawValue `bson:"after"`
	Time      time.Time     `bson:"time"`
	RequestID string        `bson:"request_id"`
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
	doc, err := toEventDoc(stream, seq, ev)
	if err != nil {
		return false, err
	}
	doc.State = state
	return s.insertEvent(ctx, doc)
}

// insertEvent writes one log entry with the next group commit.
func (s *Store) insertEvent(ctx context.Context, doc eventDoc) (bool, error) {
	err := s.commit.insert(ctx, doc)
	if errors.Is(err, errDuplicate) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("append %s: %w", doc.ID, err)
	}
	return true, nil
}

// readStoredEvent returns the entry at position seq of stream; a projection whose version is
// behind its log is repaired by reading forward from there.
func (s *Store) readStoredEvent(ctx context.Context, stream string, seq int64) (storedEvent, bool, error) {
	var d storedEvent
	err := s.db.Collection(colEvents).FindOne(ctx, byID(eventID(stream, seq))).Decode(&d)
	if isNotFound(err) {
		return storedEvent{}, false, nil
	}
	if err != nil {
		return storedEvent{}, false, fmt.Errorf("read event: %w", err)
	}
	return d, true, nil
}

func toEventDoc(stream string, seq int64, ev audit.Event) (eventDoc, error) {
	d := eventDoc{
		ID: eventID(stream, seq), Stream: stream, Seq: seq,
		Actor: ev.Actor, Action: ev.Action, Entity: ev.Entity,
		Time: ev.Time.UTC(), RequestID: ev.RequestID,
	}
	// A nil bson.Raw in an interface is not a nil interface: set only what exists, so that
	// omitempty leaves the field out.
	if before, err := jsonToBSON(ev.Before); err != nil {
		return eventDoc{}, err
	} else if before != nil {
		d.Before = before
	}
	if after, err := jsonToBSON(ev.After); err != nil {
		return eventDoc{}, err
	} else if after != nil {
		d.After = after
	}
	return d, nil
}

func fromStoredEvent(d storedEvent) (audit.Event, error) {
	ev := audit.Event{
		ID: d.ID, Actor: d.Actor, Action: d.Action, Entity: d.Entity,
		Time: d.Time.UTC(), RequestID: d.RequestID,
	}
	var err error
	if ev.Before, err = stateJSON(d.Before); err != nil {
		return audit.Event{}, fmt.Errorf("event %s: before: %w", d.ID, err)
	}
	if ev.After, err = stateJSON(d.After); err != nil {
		return audit.Event{}, fmt.Errorf("event %s: after: %w", d.ID, err)
	}
	return ev, nil
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
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)).
		SetProjection(bson.D{{Key: "state", Value: 0}})
	docs, err := findAll[storedEvent](ctx, s.db.Collection(colEvents), filter, "list events", opts)
	if err != nil {
		return nil, err
	}
	out := make([]audit.Event, len(docs))
	for i, d := range docs {
		if out[i], err = fromStoredEvent(d); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readEvent returns the entry at position seq of stream with its states as JSON, for the
// stores whose entities are JSON-described audit states.
func (s *Store) readEvent(ctx context.Context, stream string, seq int64) (audit.Event, bool, error) {
	d, ok, err := s.readStoredEvent(ctx, stream, seq)
	if err != nil || !ok {
		return audit.Event{}, ok, err
	}
	ev, err := fromStoredEvent(d)
	return ev, err == nil, err
}

// Package audit defines the append-only record of every state change: who did what to which
// entity, the state before and after, when, and under which request.
//
// Stores write an Event in the same insert that makes a change (the entity's log entry is its
// audit event), so there is exactly one event per state change and no change without one.
// Nothing edits or deletes events.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Event is one state change.
type Event struct {
	ID        string
	Actor     string // user id, or "system" for start-up tasks and the CLI
	Action    string // e.g. "user.create", "answer.save"
	Entity    string // e.g. "user/u_123", "sheet/2025/AT"
	Before    json.RawMessage
	After     json.RawMessage
	Time      time.Time
	RequestID string
}

// Filter selects events; zero fields match everything.
type Filter struct {
	Entity string
	Actor  string
	Action string
	Since  time.Time
	Until  time.Time
	// After is the cursor: the ID of the last event of the previous page.
	After string
	Limit int
}

// Reader lists events in the order of their IDs: entity by entity (an ID starts with its
// entity's log), and within one entity oldest first.
type Reader interface {
	ListEvents(ctx context.Context, f Filter) ([]Event, error)
}

// SystemActor is the actor of changes made outside any request: the CLI and start-up.
const SystemActor = "system"

type contextKey struct{}

type origin struct {
	actor     string
	requestID string
}

// WithOrigin records who acts and under which request, for every event written under ctx.
func WithOrigin(ctx context.Context, actor, requestID string) context.Context {
	return context.WithValue(ctx, contextKey{}, origin{actor: actor, requestID: requestID})
}

// Origin returns the actor and request id recorded by WithOrigin; the system actor when none.
func Origin(ctx context.Context) (actor, requestID string) {
	if o, ok := ctx.Value(contextKey{}).(origin); ok && o.actor != "" {
		return o.actor, o.requestID
	}
	if o, ok := ctx.Value(contextKey{}).(origin); ok {
		return SystemActor, o.requestID
	}
	return SystemActor, ""
}

// New builds an event for a change made under ctx, encoding before and after as JSON (nil
// values stay empty).
func New(ctx context.Context, action, entity string, before, after any, now time.Time) (Event, error) {
	actor, rid := Origin(ctx)
	ev := Event{Actor: actor, Action: action, Entity: entity, Time: now.UTC(), RequestID: rid}
	var err error
	if ev.Before, err = encode(before); err != nil {
		return Event{}, err
	}
	if ev.After, err = encode(after); err != nil {
		return Event{}, err
	}
	return ev, nil
}

func encode(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errors.Join(errors.New("audit: encode state"), err)
	}
	return b, nil
}

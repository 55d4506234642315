package mongodb

import (
	"context"
	"fmt"
	"time"

	"github.com/expertsurvey/expertsurvey/api"
)

// colIdempotency holds the Idempotency-Key records of the review actions: a claim
// "<user>/<key>" inserted before the action runs (the unique insert decides which of two
// concurrent requests with one key acts, on any instance), and the response
// "<user>/<key>/response" inserted once it is known. Nothing is ever updated, so the guarantee
// holds on a store whose updates are not atomic. Both expire after a day (the sweep removes them).
const colIdempotency = "idempotency"

type idempotencyClaimDoc struct {
	ID        string    `bson:"_id"`
	Hash      []byte    `bson:"hash"`
	At        time.Time `bson:"at"`
	ExpiresAt time.Time `bson:"expires_at"`
}

type idempotencyResponseDoc struct {
	ID          string    `bson:"_id"`
	Status      int       `bson:"status"`
	ContentType string    `bson:"content_type,omitempty"`
	ETag        string    `bson:"etag,omitempty"`
	Location    string    `bson:"location,omitempty"`
	Body        []byte    `bson:"body"`
	ExpiresAt   time.Time `bson:"expires_at"`
}

// ClaimIdempotencyKey implements api.IdempotencyStore.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, key string, hash []byte, ttl time.Duration) (api.IdempotencyClaim, error) {
	now := s.now().UTC()
	for range 2 {
		_, err := s.db.Collection(colIdempotency).InsertOne(ctx, idempotencyClaimDoc{ID: key, Hash: hash, At: now, ExpiresAt: now.Add(ttl)})
		if err == nil {
			return api.IdempotencyClaim{Claimed: true}, nil
		}
		if !isDuplicateKey(err) {
			return api.IdempotencyClaim{}, fmt.Errorf("claim idempotency key: %w", err)
		}
		var claim idempotencyClaimDoc
		if err := s.db.Collection(colIdempotency).FindOne(ctx, byID(key)).Decode(&claim); isNotFound(err) {
			continue // released or swept in between: claim again
		} else if err != nil {
			return api.IdempotencyClaim{}, fmt.Errorf("read idempotency key: %w", err)
		}
		if claim.ExpiresAt.Before(now) {
			// Expired but not swept yet: it no longer counts. Deleting by _id is safe to race.
			if err := s.ReleaseIdempotencyKey(ctx, key); err != nil {
				return api.IdempotencyClaim{}, err
			}
			continue
		}
		out := api.IdempotencyClaim{Hash: claim.Hash}
		var resp idempotencyResponseDoc
		switch err := s.db.Collection(colIdempotency).FindOne(ctx, byID(key+"/response")).Decode(&resp); {
		case isNotFound(err):
		case err != nil:
			return api.IdempotencyClaim{}, fmt.Errorf("read idempotent response: %w", err)
		default:
			out.Response = &api.StoredResponse{Status: resp.Status, ContentType: resp.ContentType, ETag: resp.ETag, Location: resp.Location, Body: resp.Body}
		}
		return out, nil
	}
	return api.IdempotencyClaim{}, fmt.Errorf("claim idempotency key %s: it keeps changing", key)
}

// SaveIdempotentResponse implements api.IdempotencyStore.
func (s *Store) SaveIdempotentResponse(ctx context.Context, key string, r api.StoredResponse, ttl time.Duration) error {
	doc := idempotencyResponseDoc{ID: key + "/response", Status: r.Status, ContentType: r.ContentType, ETag: r.ETag,
		Location: r.Location, Body: r.Body, ExpiresAt: s.now().UTC().Add(ttl)}
	if _, err := s.db.Collection(colIdempotency).InsertOne(ctx, doc); err != nil && !isDuplicateKey(err) {
		return fmt.Errorf("save idempotent response: %w", err)
	}
	return nil
}

// ReleaseIdempotencyKey implements api.IdempotencyStore.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, key string) error {
	if _, err := s.db.Collection(colIdempotency).DeleteOne(ctx, byID(key)); err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

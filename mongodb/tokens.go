package mongodb

import (
	"context"
	"fmt"
	"time"

	"github.com/expertsurvey/expertsurvey/auth"
)

const (
	// colTokens holds one-time tokens (refresh, invitation, reset) keyed by the SHA-256 of the
	// token; the token itself is never stored.
	colTokens = "tokens"
	// colTokenUses holds one marker per consumed token, keyed by its hash: inserting it is
	// consuming the token, so of racing consumers exactly one succeeds.
	colTokenUses = "token_uses"
	// colTokenRevocations holds one marker per revoked refresh-token family, keyed by family id.
	colTokenRevocations = "token_revocations"
)

type tokenDoc struct {
	ID           string    `bson:"_id"` // hex SHA-256 of the token
	Kind         string    `bson:"kind"`
	UserID       string    `bson:"user_id"`
	Family       string    `bson:"family,omitempty"`
	SessionStart time.Time `bson:"session_start"`
	IssuedAt     time.Time `bson:"issued_at"`
	ExpiresAt    time.Time `bson:"expires_at"`
}

type markerDoc struct {
	ID string    `bson:"_id"`
	At time.Time `bson:"at"`
}

func toTokenDoc(t auth.TokenRecord) tokenDoc {
	return tokenDoc{
		ID: t.Hash, Kind: string(t.Kind), UserID: t.UserID, Family: t.Family,
		SessionStart: t.SessionStart.UTC(), IssuedAt: t.IssuedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC(),
	}
}

func fromTokenDoc(d tokenDoc) auth.TokenRecord {
	return auth.TokenRecord{
		Hash: d.ID, Kind: auth.TokenKind(d.Kind), UserID: d.UserID, Family: d.Family,
		SessionStart: zeroIfEpochless(d.SessionStart), IssuedAt: d.IssuedAt.UTC(), ExpiresAt: d.ExpiresAt.UTC(),
	}
}

// SaveToken implements auth.TokenStore.
func (s *Store) SaveToken(ctx context.Context, t auth.TokenRecord) error {
	_, err := s.db.Collection(colTokens).InsertOne(ctx, toTokenDoc(t))
	if isDuplicateKey(err) {
		return fmt.Errorf("%w: token exists", auth.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	return nil
}

// TokenByHash implements auth.TokenStore with one point read.
func (s *Store) TokenByHash(ctx context.Context, hash string) (auth.TokenRecord, error) {
	var d tokenDoc
	err := s.db.Collection(colTokens).FindOne(ctx, byID(hash)).Decode(&d)
	if isNotFound(err) {
		return auth.TokenRecord{}, fmt.Errorf("%w: token", auth.ErrNotFound)
	}
	if err != nil {
		return auth.TokenRecord{}, fmt.Errorf("read token: %w", err)
	}
	return fromTokenDoc(d), nil
}

// ConsumeToken implements auth.TokenStore: the insert of the use marker is the consumption.
func (s *Store) ConsumeToken(ctx context.Context, hash string, at time.Time) (bool, error) {
	return s.insertMarker(ctx, colTokenUses, hash, at)
}

// RevokeFamily implements auth.TokenStore; a second revocation finds the marker and is a no-op.
func (s *Store) RevokeFamily(ctx context.Context, family string, at time.Time) error {
	_, err := s.insertMarker(ctx, colTokenRevocations, family, at)
	return err
}

// FamilyRevoked implements auth.TokenStore with one point read.
func (s *Store) FamilyRevoked(ctx context.Context, family string) (bool, error) {
	return s.hasDoc(ctx, colTokenRevocations, family)
}

// insertMarker inserts {_id: id} into col and reports whether this call created it.
func (s *Store) insertMarker(ctx context.Context, col, id string, at time.Time) (bool, error) {
	_, err := s.db.Collection(col).InsertOne(ctx, markerDoc{ID: id, At: at.UTC()})
	if isDuplicateKey(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("insert into %s: %w", col, err)
	}
	return true, nil
}

// hasDoc is an existence check by exact _id, the read the embedded store serves from SQL.
func (s *Store) hasDoc(ctx context.Context, col, id string) (bool, error) {
	err := s.db.Collection(col).FindOne(ctx, byID(id)).Err()
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", col, err)
	}
	return true, nil
}

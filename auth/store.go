package auth

import (
	"context"
	"time"

	"github.com/expertsurvey/expertsurvey/audit"
)

// Store is everything the Service keeps: users, one-time tokens and failed-login counts.
// mongodb.Store implements it.
type Store interface {
	UserStore
	TokenStore
	AttemptStore
}

// UserStore keeps users with their assignments. A user has a log of changes, one audit event
// per version: storing version n is winning position n of that log, so a writer that read
// version n-1 either wins or is told ErrStale, never overwriting another change.
type UserStore interface {
	// CreateUser stores u at version 1 with ev as its first event. ErrConflict when the email
	// key (or, improbably, the id) is taken.
	CreateUser(ctx context.Context, u StoredUser, ev audit.Event) error
	// SaveUser stores u at u.Version with ev as the event of that version; ErrStale when
	// another change took that version first.
	SaveUser(ctx context.Context, u StoredUser, ev audit.Event) error
	// UserByID is a point read; ErrNotFound when absent. It runs on every request.
	UserByID(ctx context.Context, id string) (StoredUser, error)
	// UserByEmail finds a user by NormalizeEmail of the email; ErrNotFound when absent.
	UserByEmail(ctx context.Context, emailKey string) (StoredUser, error)
	// ListUsers returns up to limit users with ids greater than after, by id.
	ListUsers(ctx context.Context, after string, limit int) ([]StoredUser, error)
	// RecordLogin notes a successful login. It is kept apart from the versioned user so that
	// logins neither conflict with administrators' changes nor fill the audit log.
	RecordLogin(ctx context.Context, userID string, at time.Time) error
	// LastLogins returns the last login time of each of ids that ever logged in.
	LastLogins(ctx context.Context, ids []string) (map[string]time.Time, error)
}

// TokenKind tells what a one-time token is for; a token of one kind is refused for another.
type TokenKind string

// Token kinds.
const (
	TokenRefresh    TokenKind = "refresh"
	TokenInvitation TokenKind = "invitation"
	TokenReset      TokenKind = "reset"
)

// TokenRecord is the stored form of an opaque token: only its SHA-256 hash is kept, so a copy
// of the database yields no usable token.
type TokenRecord struct {
	Hash   string // hex SHA-256 of the token
	Kind   TokenKind
	UserID string
	// Family groups the refresh tokens of one login, each rotated from the previous; revoking
	// the family ends the session.
	Family string
	// SessionStart is when the family began (the login), compared with the user's
	// SessionsNotBefore.
	SessionStart time.Time
	IssuedAt     time.Time
	ExpiresAt    time.Time
}

// TokenStore keeps one-time tokens. Consuming and revoking are inserts of marker documents
// under a unique key, so that of two racing consumers exactly one wins.
type TokenStore interface {
	// SaveToken stores a new token record.
	SaveToken(ctx context.Context, t TokenRecord) error
	// TokenByHash is a point read; ErrNotFound when absent.
	TokenByHash(ctx context.Context, hash string) (TokenRecord, error)
	// ConsumeToken marks the token used; false when it already was (a reuse).
	ConsumeToken(ctx context.Context, hash string, at time.Time) (bool, error)
	// RevokeFamily ends every token of family; revoking twice is not an error.
	RevokeFamily(ctx context.Context, family string, at time.Time) error
	// FamilyRevoked is a point read.
	FamilyRevoked(ctx context.Context, family string) (bool, error)
}

// AttemptStore counts failed logins, shared by every instance of the service.
type AttemptStore interface {
	// AddFailure records one failure under key (which names the time bucket) and returns the
	// count including it, or limit when limit failures are already recorded.
	AddFailure(ctx context.Context, key string, limit int) (int, error)
	// HasFailures tells whether at least n failures are recorded under key.
	HasFailures(ctx context.Context, key string, n int) (bool, error)
}

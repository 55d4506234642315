package mongodb

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Expiring rows are removed by a periodic sweep, not by TTL indexes: the embedded store has none
// (docs/data-model.md, "How writes work"), and one mechanism on both servers is one thing to test.
//
// A sweep is a DeleteMany by an expiry filter per collection. Deleting what is already gone
// deletes nothing, so several instances may sweep at the same time, in any order, without
// coordination: the worst case is that two of them count the same row as "looked at" and only
// one of them counts it removed.

// SweepPolicy says how long rows live whose lifetime the store cannot read from the row itself.
type SweepPolicy struct {
	// TokenLifetime is the longest life of any one-time token (refresh, invitation, reset). A
	// token's use marker and a session family's revocation marker matter only while a token
	// they guard can still be presented: once every such token has expired (and been swept),
	// the marker is dead weight.
	TokenLifetime time.Duration
	// LoginFailureLifetime is how long a failed sign-in counts toward a lockout, including the
	// lockout it may cause.
	LoginFailureLifetime time.Duration
}

// sweepRule is one kind of expiring row: its collection and the time field that says when it
// expires (keep == nil: the field is the expiry itself) or when it was written (keep gives how
// long after that it is kept). Adding a kind of expiring row (idempotency keys, delivered outbox
// entries) is one entry in sweepRules.
type sweepRule struct {
	kind       string // the metric label
	collection string
	field      string
	keep       func(SweepPolicy) time.Duration
}

var sweepRules = []sweepRule{
	{"refresh_tokens", colTokens, "expires_at", nil}, // every one-time token kind carries its expiry
	{"token_uses", colTokenUses, "at", func(p SweepPolicy) time.Duration { return p.TokenLifetime }},
	{"token_revocations", colTokenRevocations, "at", func(p SweepPolicy) time.Duration { return p.TokenLifetime }},
	{"login_failures", colLoginFailures, "at", func(p SweepPolicy) time.Duration { return p.LoginFailureLifetime }},
	{"idempotency_keys", colIdempotency, "expires_at", nil},
}

// SweepKinds lists the kinds a sweep reports, for documentation and metrics.
func SweepKinds() []string {
	out := make([]string, len(sweepRules))
	for i, r := range sweepRules {
		out[i] = r.kind
	}
	return out
}

// Sweep removes every row that expired before now under policy and returns how many it removed,
// by kind. A rule whose lifetime is not set (zero) is skipped rather than removing everything.
func (s *Store) Sweep(ctx context.Context, now time.Time, policy SweepPolicy) (map[string]int64, error) {
	removed := map[string]int64{}
	for _, r := range sweepRules {
		cutoff := now
		if r.keep != nil {
			keep := r.keep(policy)
			if keep <= 0 {
				continue
			}
			cutoff = now.Add(-keep)
		}
		res, err := s.db.Collection(r.collection).DeleteMany(ctx, bson.D{{Key: r.field, Value: bson.D{{Key: "$lt", Value: cutoff.UTC()}}}})
		if err != nil {
			return removed, fmt.Errorf("sweep %s: %w", r.kind, Classify(err))
		}
		removed[r.kind] = res.DeletedCount
	}
	return removed, nil
}

// Sweeper runs Sweep every Interval until its context ends.
type Sweeper struct {
	Store    *Store
	Policy   SweepPolicy
	Interval time.Duration
	// Now is the clock that decides what has expired (time.Now when nil); the interval is
	// waited on the real clock.
	Now    func() time.Time
	Logger *slog.Logger
	// OnSwept, when set, is told how many rows of each kind a sweep removed, for metrics.
	OnSwept func(kind string, n int64)
	// OnSuccess, when set, is told the time of every sweep that completed, so that an alert can
	// notice sweeps that stopped.
	OnSuccess func(at time.Time)
}

// Run sweeps once at once, then every Interval; it returns when ctx ends. A failed sweep (the
// store is down) is logged and tried again at the next tick: nothing depends on its timing.
func (w *Sweeper) Run(ctx context.Context) {
	now, logger := w.Now, w.Logger
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.Default()
	}
	ticker := time.NewTicker(w.Interval)
	defer ticker.Stop()
	for {
		removed, err := w.Store.Sweep(ctx, now(), w.Policy)
		for kind, n := range removed {
			if w.OnSwept != nil {
				w.OnSwept(kind, n)
			}
			if n > 0 {
				logger.InfoContext(ctx, "swept expired rows", "kind", kind, "removed", n)
			}
		}
		switch {
		case err == nil && w.OnSuccess != nil:
			w.OnSuccess(now())
		case err != nil && ctx.Err() == nil:
			logger.WarnContext(ctx, "sweep failed; trying again at the next interval", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

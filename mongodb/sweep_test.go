package mongodb_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

// fillExpiring writes, for every kind of expiring row, one row that has expired at now and one
// that has not.
func fillExpiring(t *testing.T, s *mongodb.Store, now time.Time, policy mongodb.SweepPolicy) {
	t.Helper()
	ctx := context.Background()
	for i, exp := range []time.Time{now.Add(-time.Minute), now.Add(time.Minute)} {
		id := []string{"old", "new"}[i]
		if err := s.SaveToken(ctx, auth.TokenRecord{Hash: "tok-" + id, Kind: auth.TokenRefresh, UserID: "u_1", Family: "f",
			IssuedAt: exp.Add(-time.Hour), ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		written := exp.Add(-policy.TokenLifetime)
		if _, err := s.ConsumeToken(ctx, "use-"+id, written); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeFamily(ctx, "fam-"+id, written); err != nil {
			t.Fatal(err)
		}
	}
	// Idempotency keys carry their expiry; the store's clock is the wall clock here.
	for key, ttl := range map[string]time.Duration{"u_1/old": time.Until(now.Add(-time.Minute)), "u_1/new": time.Until(now.Add(time.Minute))} {
		if _, err := s.ClaimIdempotencyKey(ctx, key, []byte("h"), ttl); err != nil {
			t.Fatal(err)
		}
	}
	// Login failures are stamped with the wall clock when written.
	if _, err := s.AddFailure(ctx, "acct/someone", 5); err != nil {
		t.Fatal(err)
	}
}

func TestSweepRemovesExpiredRowsOnly(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := context.Background()
	policy := mongodb.SweepPolicy{TokenLifetime: 30 * 24 * time.Hour, LoginFailureLifetime: time.Hour}
	now := time.Now()
	fillExpiring(t, s, now, policy)

	removed, err := s.Sweep(ctx, now, policy)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"refresh_tokens": 1, "token_uses": 1, "token_revocations": 1, "login_failures": 0, "idempotency_keys": 1}
	if diff := cmp.Diff(want, removed); diff != "" {
		t.Fatalf("first sweep (-want +got):\n%s", diff)
	}
	if _, err := s.TokenByHash(ctx, "tok-new"); err != nil {
		t.Errorf("a live token was swept: %v", err)
	}
	if _, err := s.TokenByHash(ctx, "tok-old"); err == nil {
		t.Error("an expired token survived the sweep")
	}
	if revoked, _ := s.FamilyRevoked(ctx, "fam-new"); !revoked {
		t.Error("a revocation that still matters was swept")
	}
	if failed, _ := s.HasFailures(ctx, "acct/someone", 1); !failed {
		t.Error("a fresh login failure was swept")
	}

	// Two hours later the failure is past its lifetime; a second sweep over the same instant
	// finds nothing more.
	later := now.Add(2 * time.Hour)
	removed, err = s.Sweep(ctx, later, policy)
	if err != nil {
		t.Fatal(err)
	}
	if removed["login_failures"] != 1 || removed["refresh_tokens"] != 1 {
		t.Fatalf("sweep two hours later: %v", removed)
	}
	if removed, err = s.Sweep(ctx, later, policy); err != nil || sum(removed) != 0 {
		t.Fatalf("a repeated sweep removed %v (%v); want nothing", removed, err)
	}
}

// Instances sweep without coordinating: together they remove each expired row once.
func TestConcurrentSweepsRemoveEachRowOnce(t *testing.T) {
	s := mongodbtest.New(t)
	other := mongodbtest.SecondInstance(t, s)
	policy := mongodb.SweepPolicy{TokenLifetime: time.Hour, LoginFailureLifetime: time.Hour}
	now := time.Now()
	fillExpiring(t, s, now, policy)
	var mu sync.Mutex
	total := map[string]int64{}
	var wg sync.WaitGroup
	for _, st := range []*mongodb.Store{s, other, s, other} {
		wg.Go(func() {
			removed, err := st.Sweep(context.Background(), now, policy)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for k, n := range removed {
				total[k] += n
			}
		})
	}
	wg.Wait()
	if total["refresh_tokens"] < 1 || total["token_uses"] < 1 || total["token_revocations"] < 1 {
		t.Fatalf("concurrent sweeps removed %v; want every expired row removed", total)
	}
	if _, err := s.TokenByHash(context.Background(), "tok-old"); err == nil {
		t.Error("an expired token survived concurrent sweeps")
	}
	if _, err := s.TokenByHash(context.Background(), "tok-new"); err != nil {
		t.Errorf("a live token was swept: %v", err)
	}
}

// The periodic sweeper sweeps at start and reports every kind to its metrics callback, with the
// injected clock deciding what has expired.
func TestSweeperReportsWhatItRemoved(t *testing.T) {
	s := mongodbtest.New(t)
	policy := mongodb.SweepPolicy{TokenLifetime: time.Hour, LoginFailureLifetime: time.Hour}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	fillExpiring(t, s, now, policy)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reports := make(chan [2]any, 16)
	succeeded := make(chan time.Time, 1)
	go (&mongodb.Sweeper{Store: s, Policy: policy, Interval: time.Hour, Now: func() time.Time { return now },
		OnSwept:   func(kind string, n int64) { reports <- [2]any{kind, n} },
		OnSuccess: func(at time.Time) { succeeded <- at }}).Run(ctx)
	got := map[string]int64{}
	for range mongodb.SweepKinds() {
		select {
		case r := <-reports:
			got[r[0].(string)] = r[1].(int64)
		case <-time.After(30 * time.Second):
			t.Fatalf("the sweeper reported only %v", got)
		}
	}
	// 2030 is far past the failure written now, so every kind has one row removed.
	want := map[string]int64{"refresh_tokens": 1, "token_uses": 1, "token_revocations": 1, "login_failures": 1, "idempotency_keys": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("reports (-want +got):\n%s", diff)
	}
	select {
	case at := <-succeeded:
		if !at.Equal(now) {
			t.Errorf("success reported at %v, want the injected clock's %v", at, now)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the sweeper did not report its success")
	}
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

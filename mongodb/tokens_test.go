package mongodb_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

func TestTokens(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rec := auth.TokenRecord{Hash: "h1", Kind: auth.TokenRefresh, UserID: "u_1", Family: "f1",
		SessionStart: now, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.SaveToken(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := s.TokenByHash(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rec, got); diff != "" {
		t.Fatalf("TokenByHash (-want +got):\n%s", diff)
	}
	if _, err := s.TokenByHash(ctx, "h2"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("missing token: %v", err)
	}

	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if first, err := s.ConsumeToken(ctx, "h1", now); err != nil {
				t.Error(err)
			} else if first {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d consumers won; want 1", wins.Load())
	}

	if revoked, _ := s.FamilyRevoked(ctx, "f1"); revoked {
		t.Fatal("family revoked before revocation")
	}
	for range 2 { // revoking twice is fine
		if err := s.RevokeFamily(ctx, "f1", now); err != nil {
			t.Fatal(err)
		}
	}
	if revoked, err := s.FamilyRevoked(ctx, "f1"); err != nil || !revoked {
		t.Fatalf("FamilyRevoked = %v, %v", revoked, err)
	}
}

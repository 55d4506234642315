package auth_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

// TestEverySignInCostsOneHash: no user enumeration by timing. Whatever the email (a user's, an
// unknown one, an invitation not yet accepted, a disabled user's), a sign-in derives exactly
// one password hash, so the answer takes the same work; counted, not timed, so that it cannot
// flake on a busy machine.
func TestEverySignInCostsOneHash(t *testing.T) {
	ctx := context.Background()
	h, err := auth.NewHasher(auth.MinParams, 2)
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := auth.NewKeySet(auth.Key{ID: "k1", Secret: bytes.Repeat([]byte("k"), 32)})
	tokens, _ := auth.NewTokens(auth.TokenConfig{Keys: ks, Issuer: "https://survey.test", Audience: "expertsurvey"})
	svc, err := auth.NewService(auth.Config{Store: mongodbtest.New(t), Tokens: tokens, Hasher: h,
		Lockout: auth.LockoutPolicy{Window: time.Hour, MaxPerAccount: 1000, MaxPerAddress: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	admin := auth.Principal{UserID: "u_admin", Admin: true}
	known, _, err := svc.BootstrapUser(ctx, auth.NewUser{Email: "known@example.org", DisplayName: "K", Password: "a long enough password"})
	if err != nil {
		t.Fatal(err)
	}
	gone, _, _ := svc.BootstrapUser(ctx, auth.NewUser{Email: "gone@example.org", DisplayName: "G", Password: "a long enough password"})
	if _, err := svc.DisableUser(ctx, admin, gone.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateUser(ctx, admin, auth.NewUser{Email: "invited@example.org", DisplayName: "I"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ what, email, password string }{
		{"known email, wrong password", known.Email, "wrong password here"},
		{"unknown email", "nobody@example.org", "wrong password here"},
		{"invitation not accepted", "invited@example.org", "wrong password here"},
		{"disabled user, right password", "gone@example.org", "a long enough password"},
		{"known email, right password", known.Email, "a long enough password"},
	} {
		before := h.Stats().Derivations
		_, err := svc.Login(ctx, tt.email, tt.password, "192.0.2.1")
		if got := h.Stats().Derivations - before; got != 1 {
			t.Errorf("%s: %d hashes derived (err %v); every sign-in must cost exactly one", tt.what, got, err)
		}
		if tt.what != "known email, right password" && !errors.Is(err, auth.ErrUnauthorized) {
			t.Errorf("%s: %v; want the one unauthorized answer", tt.what, err)
		}
	}
}

// TestParallelHashesStayWithinTheBound: 24 sign-ins at once on a hasher bounded to 3 never
// derive more than 3 hashes at once (each holds Memory KiB), and all complete.
func TestParallelHashesStayWithinTheBound(t *testing.T) {
	h, err := auth.NewHasher(auth.MinParams, 3)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h.Hash(context.Background(), "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 24 {
		wg.Go(func() {
			if _, err := h.Verify(context.Background(), "another password", enc); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if s := h.Stats(); s.Peak > 3 || s.Derivations != 25 || s.Running != 0 {
		t.Fatalf("stats %+v; want at most 3 at once, 25 derived, none running", s)
	}
}

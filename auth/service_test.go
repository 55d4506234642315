package auth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

func TestMain(m *testing.M) { mongodbtest.Main(m) }

const adminPassword = "admin passphrase for tests"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var hasher = func() *auth.Hasher {
	h, err := auth.NewHasher(auth.MinParams, 0)
	if err != nil {
		panic(err)
	}
	return h
}()

type env struct {
	t     testing.TB
	ctx   context.Context
	store *mongodb.Store
	clock *clock
	svc   *auth.Service
	admin auth.Principal
}

func newService(t testing.TB, store *mongodb.Store, c *clock, lockout auth.LockoutPolicy) *auth.Service {
	t.Helper()
	ks, err := auth.NewKeySet(auth.Key{ID: "k1", Secret: bytes.Repeat([]byte("k"), 32)})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(auth.TokenConfig{Keys: ks, Issuer: "https://survey.test", Audience: "expertsurvey", Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.NewService(auth.Config{Store: store, Tokens: tokens, Hasher: hasher, Lockout: lockout, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), store: mongodbtest.New(t),
		clock: &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}}
	e.svc = newService(t, e.store, e.clock, auth.LockoutPolicy{})
	admin, _, err := e.svc.BootstrapUser(e.ctx, auth.NewUser{Email: "Admin@Example.org", DisplayName: "Admin", GlobalRole: auth.RoleAdmin, Password: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	e.admin = admin.Principal()
	return e
}

func (e *env) createUser(email, password string) auth.User {
	e.t.Helper()
	u, _, err := e.svc.CreateUser(e.ctx, e.admin, auth.NewUser{Email: email, DisplayName: email, Password: password})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) events(userID string) []audit.Event {
	e.t.Helper()
	evs, err := e.store.ListEvents(e.ctx, audit.Filter{Entity: "user/" + userID})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v; want %v", what, err, target)
	}
}

func TestLoginAuthenticateRefreshLogout(t *testing.T) {
	e := newEnv(t)
	s, err := e.svc.Login(e.ctx, " admin@EXAMPLE.org", adminPassword, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if s.User.ID != e.admin.UserID || s.RefreshToken == "" || s.AccessToken == "" {
		t.Fatalf("session %+v", s)
	}
	p, err := e.svc.Authenticate(e.ctx, s.AccessToken)
	if err != nil || p.UserID != e.admin.UserID || !p.Admin {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	me, err := e.svc.Me(e.ctx, p)
	if err != nil || !me.LastLoginAt.Equal(e.clock.Now()) {
		t.Fatalf("Me = %+v, %v; want last login %v", me, err, e.clock.Now())
	}

	s2, err := e.svc.Refresh(e.ctx, s.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if s2.RefreshToken == s.RefreshToken {
		t.Fatal("refresh did not rotate the token")
	}
	s3, err := e.svc.Refresh(e.ctx, s2.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	// Reuse of a rotated token revokes the whole family: the newest token dies too.
	_, err = e.svc.Refresh(e.ctx, s.RefreshToken)
	wantErr(t, "reuse of a rotated token", err, auth.ErrUnauthorized)
	_, err = e.svc.Refresh(e.ctx, s3.RefreshToken)
	wantErr(t, "newest token after a reuse", err, auth.ErrUnauthorized)

	// A new login is a new family; logout ends it.
	s4, err := e.svc.Login(e.ctx, "admin@example.org", adminPassword, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Logout(e.ctx, s4.RefreshToken); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Refresh(e.ctx, s4.RefreshToken)
	wantErr(t, "refresh after logout", err, auth.ErrUnauthorized)
	if err := e.svc.Logout(e.ctx, s4.RefreshToken); err != nil {
		t.Fatalf("second logout: %v", err)
	}

	s5, _ := e.svc.Login(e.ctx, "admin@example.org", adminPassword, "10.0.0.1")
	e.clock.Add(auth.DefaultRefreshTTL + time.Second)
	_, err = e.svc.Refresh(e.ctx, s5.RefreshToken)
	wantErr(t, "expired refresh token", err, auth.ErrUnauthorized)
}

func TestConcurrentRefreshOfOneTokenHasOneWinnerAndRevokesTheFamily(t *testing.T) {
	e := newEnv(t)
	s, err := e.svc.Login(e.ctx, "admin@example.org", adminPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make(chan auth.Session, 8)
	failures := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := e.svc.Refresh(e.ctx, s.RefreshToken)
			if err != nil {
				failures <- err
				return
			}
			results <- got
		}()
	}
	wg.Wait()
	close(results)
	close(failures)
	if len(results) != 1 {
		t.Fatalf("%d refreshes succeeded; want exactly 1", len(results))
	}
	for err := range failures {
		wantErr(t, "losing refresh", err, auth.ErrUnauthorized)
	}
	winner := <-results
	_, err = e.svc.Refresh(e.ctx, winner.RefreshToken)
	wantErr(t, "winner's token after the reuses", err, auth.ErrUnauthorized)
}

func TestLockoutAfterFailures(t *testing.T) {
	e := newEnv(t)
	e.createUser("ann@example.org", "ann's long passphrase")
	// The same sequence for a known and an unknown email must give the same answers.
	for _, email := range []string{"ann@example.org", "nobody@example.org"} {
		t.Run(email, func(t *testing.T) {
			var answers []string
			for i := 1; i <= auth.DefaultLockout.MaxPerAccount+1; i++ {
				_, err := e.svc.Login(e.ctx, email, "wrong password attempt", "10.0.0.2")
				var locked *auth.LockedError
				switch {
				case errors.As(err, &locked):
					answers = append(answers, fmt.Sprintf("locked %ds", locked.RetryAfterSeconds()))
				case errors.Is(err, auth.ErrUnauthorized):
					answers = append(answers, "unauthorized")
				default:
					t.Fatalf("attempt %d: %v", i, err)
				}
			}
			want := []string{"unauthorized", "unauthorized", "unauthorized", "unauthorized", "locked 1800s", "locked 1800s"}
			if fmt.Sprint(answers) != fmt.Sprint(want) {
				t.Fatalf("answers %v; want %v", answers, want)
			}
		})
	}
	// The right password does not get through a lock, and does not lift it.
	_, err := e.svc.Login(e.ctx, "ann@example.org", "ann's long passphrase", "10.0.0.3")
	wantErr(t, "right password while locked", err, auth.ErrLocked)
	var locked *auth.LockedError
	if !errors.As(err, &locked) || locked.RetryAfter <= 0 {
		t.Fatalf("lock without Retry-After: %v", err)
	}
	e.clock.Add(locked.RetryAfter)
	if _, err := e.svc.Login(e.ctx, "ann@example.org", "ann's long passphrase", "10.0.0.3"); err != nil {
		t.Fatalf("login after Retry-After: %v", err)
	}
}

func TestLockoutPerAddress(t *testing.T) {
	e := newEnv(t)
	e.svc = newService(t, e.store, e.clock, auth.LockoutPolicy{MaxPerAddress: 3})
	for i := range 3 {
		_, _ = e.svc.Login(e.ctx, fmt.Sprintf("guess%d@example.org", i), "wrong password attempt", "192.0.2.7")
	}
	_, err := e.svc.Login(e.ctx, "admin@example.org", adminPassword, "192.0.2.7")
	wantErr(t, "login from a locked address", err, auth.ErrLocked)
	if _, err := e.svc.Login(e.ctx, "admin@example.org", adminPassword, "192.0.2.8"); err != nil {
		t.Fatalf("login from another address: %v", err)
	}
}

// Two service instances on one database share the count, as replicas behind a load balancer do.
func TestLockoutHoldsAcrossInstances(t *testing.T) {
	e := newEnv(t)
	other := newService(t, e.store.WithDatabase(e.store.Database().Name()), e.clock, auth.LockoutPolicy{})
	instances := []*auth.Service{e.svc, other}
	for i := range auth.DefaultLockout.MaxPerAccount {
		_, _ = instances[i%2].Login(e.ctx, "admin@example.org", "wrong password attempt", fmt.Sprintf("10.1.0.%d", i))
	}
	for i, svc := range instances {
		_, err := svc.Login(e.ctx, "admin@example.org", adminPassword, "10.1.1.1")
		wantErr(t, fmt.Sprintf("instance %d", i), err, auth.ErrLocked)
	}
}

func TestConcurrentFailuresAreAllCounted(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = e.svc.Login(e.ctx, "admin@example.org", fmt.Sprintf("wrong password %d", i), "")
		}()
	}
	wg.Wait()
	_, err := e.svc.Login(e.ctx, "admin@example.org", adminPassword, "")
	wantErr(t, "after 8 concurrent failures", err, auth.ErrLocked)
}

func TestAuthenticateRefuses(t *testing.T) {
	e := newEnv(t)
	e.createUser("bob@example.org", "bob's long passphrase")
	s, err := e.svc.Login(e.ctx, "bob@example.org", "bob's long passphrase", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DisableUser(e.ctx, e.admin, s.User.ID, 0); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Authenticate(e.ctx, s.AccessToken)
	wantErr(t, "disabled user's access token", err, auth.ErrUnauthorized)
	_, err = e.svc.Refresh(e.ctx, s.RefreshToken)
	wantErr(t, "disabled user's refresh token", err, auth.ErrUnauthorized)
	_, err = e.svc.Login(e.ctx, "bob@example.org", "bob's long passphrase", "")
	wantErr(t, "disabled user's login", err, auth.ErrUnauthorized)

	// Enabling again does not revive sessions begun before the disabling.
	if _, err := e.svc.EnableUser(e.ctx, e.admin, s.User.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Login(e.ctx, "bob@example.org", "bob's long passphrase", ""); err != nil {
		t.Fatalf("login after enabling: %v", err)
	}
	ghost := newService(t, mongodbtest.New(t), e.clock, auth.LockoutPolicy{}) // same keys, no users
	_, err = ghost.Authenticate(e.ctx, s.AccessToken)
	wantErr(t, "token of an unknown user", err, auth.ErrUnauthorized)
	_, err = e.svc.Authenticate(e.ctx, "garbage")
	wantErr(t, "garbage token", err, auth.ErrUnauthorized)
}

func TestEnabledUserKeepsOldSessionsEnded(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("bob@example.org", "bob's long passphrase")
	s, _ := e.svc.Login(e.ctx, "bob@example.org", "bob's long passphrase", "")
	e.clock.Add(time.Second)
	_, _ = e.svc.DisableUser(e.ctx, e.admin, u.ID, 0)
	_, _ = e.svc.EnableUser(e.ctx, e.admin, u.ID, 0)
	_, err := e.svc.Refresh(e.ctx, s.RefreshToken)
	wantErr(t, "refresh of a session from before the disabling", err, auth.ErrUnauthorized)
}

func TestInvitation(t *testing.T) {
	e := newEnv(t)
	u, token, err := e.svc.CreateUser(e.ctx, e.admin, auth.NewUser{Email: "Carla@Example.org", DisplayName: "Carla"})
	if err != nil {
		t.Fatal(err)
	}
	if token == "" || !u.Invited {
		t.Fatalf("invitation: token %q, user %+v", token, u)
	}
	_, err = e.svc.Login(e.ctx, "carla@example.org", "", "")
	wantErr(t, "login before accepting", err, auth.ErrUnauthorized)
	_, err = e.svc.AcceptInvitation(e.ctx, token, "carla")
	wantErr(t, "weak password", err, auth.ErrInvalid)
	got, err := e.svc.AcceptInvitation(e.ctx, token, "carla's long passphrase") // not wasted by the refusal
	if err != nil || got.Invited {
		t.Fatalf("accept: %+v, %v", got, err)
	}
	_, err = e.svc.AcceptInvitation(e.ctx, token, "another long passphrase")
	wantErr(t, "second use of an invitation", err, auth.ErrUnauthorized)
	if _, err := e.svc.Login(e.ctx, "carla@example.org", "carla's long passphrase", ""); err != nil {
		t.Fatalf("login after accepting: %v", err)
	}
	evs := e.events(u.ID)
	if last := evs[len(evs)-1]; last.Actor != u.ID || last.Action != "user.password_set" {
		t.Fatalf("last event %+v; want user.password_set by the user", last)
	}
	if bytes.Contains(evs[len(evs)-1].After, []byte("argon2")) {
		t.Fatal("audit event holds the password hash")
	}

	_, token2, _ := e.svc.CreateUser(e.ctx, e.admin, auth.NewUser{Email: "dan@example.org", DisplayName: "Dan"})
	e.clock.Add(auth.DefaultInvitationTTL)
	_, err = e.svc.AcceptInvitation(e.ctx, token2, "dan's long passphrase")
	wantErr(t, "expired invitation", err, auth.ErrUnauthorized)
}

func TestResetPassword(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("eve@example.org", "eve's first passphrase")
	s, _ := e.svc.Login(e.ctx, "eve@example.org", "eve's first passphrase", "")
	e.clock.Add(time.Second)
	if _, _, err := e.svc.ResetPassword(e.ctx, e.admin, u.ID, "eve's second passphrase", 0); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Refresh(e.ctx, s.RefreshToken)
	wantErr(t, "session from before the reset", err, auth.ErrUnauthorized)
	_, err = e.svc.Login(e.ctx, "eve@example.org", "eve's first passphrase", "")
	wantErr(t, "old password", err, auth.ErrUnauthorized)
	if _, err := e.svc.Login(e.ctx, "eve@example.org", "eve's second passphrase", ""); err != nil {
		t.Fatal(err)
	}
	_, token, err := e.svc.ResetPassword(e.ctx, e.admin, u.ID, "", 0)
	if err != nil || token == "" {
		t.Fatalf("reset token: %q, %v", token, err)
	}
	_, err = e.svc.Refresh(e.ctx, token)
	wantErr(t, "reset token used as a refresh token", err, auth.ErrUnauthorized)
	if _, err := e.svc.AcceptInvitation(e.ctx, token, "eve's third passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Login(e.ctx, "eve@example.org", "eve's third passphrase", ""); err != nil {
		t.Fatal(err)
	}
}

func TestEveryChangeWritesExactlyOneEvent(t *testing.T) {
	e := newEnv(t)
	ctx := audit.WithOrigin(e.ctx, "", "req-1")
	u, _, err := e.svc.CreateUser(ctx, e.admin, auth.NewUser{Email: "fay@example.org", DisplayName: "Fay", Password: "fay's long passphrase"})
	if err != nil {
		t.Fatal(err)
	}
	expert := auth.Assignment{Role: auth.RoleExpert, Round: "r2025", Country: "AT"}
	steps := []struct {
		action string
		do     func() error
	}{
		{"assignment.grant", func() error { _, err := e.svc.Grant(ctx, e.admin, u.ID, expert, 0); return err }},
		{"assignment.revoke", func() error { _, err := e.svc.Revoke(ctx, e.admin, u.ID, expert, 0); return err }},
		{"user.disable", func() error { _, err := e.svc.DisableUser(ctx, e.admin, u.ID, 0); return err }},
		{"user.enable", func() error { _, err := e.svc.EnableUser(ctx, e.admin, u.ID, 0); return err }},
		{"user.password_reset", func() error {
			_, _, err := e.svc.ResetPassword(ctx, e.admin, u.ID, "fay's other passphrase", 0)
			return err
		}},
		{"user.password_reset_issue", func() error { _, _, err := e.svc.ResetPassword(ctx, e.admin, u.ID, "", 0); return err }},
	}
	if evs := e.events(u.ID); len(evs) != 1 || evs[0].Action != "user.create" || evs[0].Actor != e.admin.UserID || evs[0].RequestID != "req-1" {
		t.Fatalf("after create: %+v", evs)
	}
	for i, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.action, err)
		}
		evs := e.events(u.ID)
		if len(evs) != i+2 {
			t.Fatalf("after %s: %d events; want %d", step.action, len(evs), i+2)
		}
		if last := evs[len(evs)-1]; last.Action != step.action || last.Actor != e.admin.UserID {
			t.Fatalf("after %s: last event %s by %s", step.action, last.Action, last.Actor)
		}
	}
	// Changes that change nothing, refused changes and logins write none.
	n := len(e.events(u.ID))
	_, _ = e.svc.EnableUser(ctx, e.admin, u.ID, 0)
	_, _ = e.svc.Grant(ctx, e.admin, u.ID, auth.Assignment{Role: "boss", Round: "r"}, 0)
	_, _ = e.svc.Login(ctx, "fay@example.org", "fay's other passphrase", "")
	if got := len(e.events(u.ID)); got != n {
		t.Fatalf("no-op, refused change and login wrote %d events", got-n)
	}
	boot := e.events(e.admin.UserID)
	if len(boot) != 1 || boot[0].Actor != audit.SystemActor {
		t.Fatalf("bootstrap events %+v; want one by %s", boot, audit.SystemActor)
	}
}

func TestUserAdministrationNeedsAdmin(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("gus@example.org", "gus's long passphrase")
	coordinator := auth.Principal{UserID: u.ID, Assignments: []auth.Assignment{{Role: auth.RoleCoordinator, Round: auth.AllRounds}}}
	_, _, err := e.svc.CreateUser(e.ctx, coordinator, auth.NewUser{Email: "x@example.org", DisplayName: "X"})
	wantErr(t, "coordinator creates a user", err, auth.ErrForbidden)
	_, err = e.svc.Grant(e.ctx, coordinator, u.ID, auth.Assignment{Role: auth.RoleExpert, Round: "r", Country: "AT"}, 0)
	wantErr(t, "coordinator grants", err, auth.ErrForbidden)
	_, err = e.svc.ListUsers(e.ctx, coordinator, "", 10)
	wantErr(t, "coordinator lists users", err, auth.ErrForbidden)
	_, err = e.svc.GetUser(e.ctx, coordinator, e.admin.UserID)
	wantErr(t, "coordinator reads another user", err, auth.ErrForbidden)
	if _, err := e.svc.GetUser(e.ctx, coordinator, u.ID); err != nil {
		t.Fatalf("user reads themselves: %v", err)
	}
	_, err = e.svc.DisableUser(e.ctx, e.admin, e.admin.UserID, 0)
	wantErr(t, "admin disables themselves", err, auth.ErrConflict)
}

func TestCreateUserRefuses(t *testing.T) {
	e := newEnv(t)
	e.createUser("hal@example.org", "hal's long passphrase")
	_, _, err := e.svc.CreateUser(e.ctx, e.admin, auth.NewUser{Email: " HAL@example.ORG", DisplayName: "Hal 2"})
	wantErr(t, "duplicate email in other case", err, auth.ErrConflict)
	_, _, err = e.svc.CreateUser(e.ctx, e.admin, auth.NewUser{Email: "not an email", Password: "short", GlobalRole: "root"})
	var fe auth.FieldErrors
	if !errors.As(err, &fe) || !errors.Is(err, auth.ErrInvalid) || len(fe) != 4 {
		t.Fatalf("bad input: %v; want 4 field errors (email, display_name, role, password)", err)
	}
}

func TestConcurrentCreationsOfOneEmailHaveOneWinner(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	wins := make(chan auth.User, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, _, err := e.svc.CreateUser(e.ctx, e.admin, auth.NewUser{Email: "ida@example.org", DisplayName: fmt.Sprint("Ida ", i)})
			if err == nil {
				wins <- u
			} else if !errors.Is(err, auth.ErrConflict) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(wins) != 1 {
		t.Fatalf("%d creations won; want 1", len(wins))
	}
}

func TestStaleVersionIsRefused(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("jo@example.org", "jo's long passphrase")
	if _, err := e.svc.Grant(e.ctx, e.admin, u.ID, auth.Assignment{Role: auth.RoleExpert, Round: "r", Country: "AT"}, u.Version); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.DisableUser(e.ctx, e.admin, u.ID, u.Version)
	wantErr(t, "change based on an old version", err, auth.ErrStale)
}

func TestConcurrentGrantsAreAllKept(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("kim@example.org", "kim's long passphrase")
	countries := []string{"AT", "BE", "DE", "FR"}
	var wg sync.WaitGroup
	for _, c := range countries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.svc.Grant(e.ctx, e.admin, u.ID, auth.Assignment{Role: auth.RoleExpert, Round: "r", Country: c}, 0); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	as, err := e.svc.ListAssignments(e.ctx, e.admin, u.ID)
	if err != nil || len(as) != len(countries) {
		t.Fatalf("assignments %v, %v; want %d", as, err, len(countries))
	}
	if n := len(e.events(u.ID)); n != 1+len(countries) {
		t.Fatalf("%d events; want %d", n, 1+len(countries))
	}
}

func TestGrantAndAuthenticateSeeAssignments(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("lea@example.org", "lea's long passphrase")
	expert := auth.Assignment{Role: auth.RoleExpert, Round: "r2025", Country: "AT"}
	if _, err := e.svc.Grant(e.ctx, e.admin, u.ID, expert, 0); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Grant(e.ctx, e.admin, u.ID, auth.Assignment{Role: auth.RoleReviewer, Round: "r2025", Country: "AT"}, 0)
	wantErr(t, "reviewer of own sheet", err, auth.ErrConflict)
	_, err = e.svc.Grant(e.ctx, e.admin, u.ID, auth.Assignment{Role: auth.RoleCoordinator, Round: "r2025", Country: "AT"}, 0)
	wantErr(t, "coordinator with a country", err, auth.ErrInvalid)
	_, err = e.svc.Revoke(e.ctx, e.admin, u.ID, auth.Assignment{Role: auth.RoleExpert, Round: "r2025", Country: "BE"}, 0)
	wantErr(t, "revoke of an assignment not held", err, auth.ErrNotFound)

	s, err := e.svc.Login(e.ctx, "lea@example.org", "lea's long passphrase", "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.Authenticate(e.ctx, s.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Can(auth.WriteAnswer, auth.Scope{Round: "r2025", Country: "AT"}); err != nil {
		t.Fatalf("assigned expert may not write: %v", err)
	}
	if _, err := e.svc.Revoke(e.ctx, e.admin, u.ID, expert, 0); err != nil {
		t.Fatal(err)
	}
	p, _ = e.svc.Authenticate(e.ctx, s.AccessToken)
	if err := p.Can(auth.WriteAnswer, auth.Scope{Round: "r2025", Country: "AT"}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("revoked expert: %v; want ErrForbidden at once", err)
	}
}

func TestListUsersPages(t *testing.T) {
	e := newEnv(t)
	for i := range 6 {
		e.createUser(fmt.Sprintf("user%d@example.org", i), "a long enough passphrase")
	}
	var ids []string
	after := ""
	for pages := 0; ; pages++ {
		page, err := e.svc.ListUsers(e.ctx, e.admin, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Users {
			ids = append(ids, u.ID)
		}
		if page.Next == "" {
			if pages != 2 {
				t.Errorf("%d pages; want 3 of 3, 3 and 1", pages+1)
			}
			break
		}
		after = page.Next
	}
	if len(ids) != 7 {
		t.Fatalf("listed %d users; want 7", len(ids))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i-1] >= ids[i] {
			t.Fatalf("ids not in order: %v", ids)
		}
	}
}

func BenchmarkLogin(b *testing.B) {
	e := newEnv(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.svc.Login(e.ctx, "admin@example.org", adminPassword, ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := hasher.Hash(context.Background(), adminPassword); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyAccessToken(b *testing.B) {
	ks, _ := auth.NewKeySet(auth.Key{ID: "k1", Secret: bytes.Repeat([]byte("k"), 32)})
	tokens, _ := auth.NewTokens(auth.TokenConfig{Keys: ks, Issuer: "https://survey.test", Audience: "expertsurvey"})
	tok, _, _ := tokens.Issue("u_abcdefghijklmnop")
	for b.Loop() {
		if _, err := tokens.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	e := newEnv(b)
	s, err := e.svc.Login(e.ctx, "admin@example.org", adminPassword, "")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.svc.Authenticate(e.ctx, s.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}

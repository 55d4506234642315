package mongodb_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

var _ auth.Store = (*mongodb.Store)(nil)

func testUser(id, email string) auth.StoredUser {
	return auth.StoredUser{
		User: auth.User{
			ID: id, Email: email, EmailKey: auth.NormalizeEmail(email), DisplayName: "Test " + id,
			CreatedAt:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Assignments: []auth.Assignment{{Role: auth.RoleExpert, Round: "r1", Country: "AT"}, {Role: auth.RoleCoordinator, Round: "*"}},
			Version:     1,
		},
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
	}
}

func event(action, id string) audit.Event {
	return audit.Event{Actor: "u_admin", Action: action, Entity: "user/" + id, Time: time.Now().UTC()}
}

func TestUserRoundTrip(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := context.Background()
	u := testUser("u_1", "Ann@Example.org")
	if err := s.CreateUser(ctx, u, event("user.create", u.ID)); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByID(ctx, "u_1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(u, got); diff != "" {
		t.Fatalf("UserByID (-want +got):\n%s", diff)
	}
	byEmail, err := s.UserByEmail(ctx, "ann@example.org")
	if err != nil || byEmail.ID != "u_1" {
		t.Fatalf("UserByEmail = %+v, %v", byEmail, err)
	}
	if _, err := s.UserByID(ctx, "u_missing"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("missing user: %v", err)
	}
	if _, err := s.UserByEmail(ctx, "nobody@example.org"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("missing email: %v", err)
	}
	if err := s.CreateUser(ctx, testUser("u_2", "ann@example.org"), event("user.create", "u_2")); !errors.Is(err, auth.ErrConflict) {
		t.Fatalf("duplicate email: %v", err)
	}
}

func TestSaveUserRefusesStaleVersionAndWritesOneEvent(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := context.Background()
	u := testUser("u_1", "a@example.org")
	if err := s.CreateUser(ctx, u, event("user.create", u.ID)); err != nil {
		t.Fatal(err)
	}
	// Eight writers all read version 1 and try to store version 2: one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := u
			next.Version = 2
			next.Disabled = true
			err := s.SaveUser(ctx, next, event("user.disable", u.ID))
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, auth.ErrStale) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d writers won version 2; want 1", wins)
	}
	evs, err := s.ListEvents(ctx, audit.Filter{Entity: "user/u_1"})
	if err != nil || len(evs) != 2 {
		t.Fatalf("events %v, %v; want 2", evs, err)
	}
	got, _ := s.UserByID(ctx, "u_1")
	if got.Version != 2 || !got.Disabled {
		t.Fatalf("projection %+v; want version 2, disabled", got)
	}
}

func TestListUsersAndLogins(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := context.Background()
	for _, id := range []string{"u_c", "u_a", "u_b"} {
		if err := s.CreateUser(ctx, testUser(id, id+"@example.org"), event("user.create", id)); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.ListUsers(ctx, "u_a", 10)
	if err != nil || len(page) != 2 || page[0].ID != "u_b" || page[1].ID != "u_c" {
		t.Fatalf("ListUsers after u_a = %v, %v", page, err)
	}
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	if err := s.RecordLogin(ctx, "u_a", at); err != nil {
		t.Fatal(err)
	}
	_ = s.RecordLogin(ctx, "u_b", at.Add(time.Hour))
	one, err := s.LastLogins(ctx, []string{"u_a"})
	if err != nil || !one["u_a"].Equal(at) {
		t.Fatalf("LastLogins(u_a) = %v, %v", one, err)
	}
	many, _ := s.LastLogins(ctx, []string{"u_a", "u_b", "u_c"})
	if len(many) != 2 || !many["u_b"].Equal(at.Add(time.Hour)) {
		t.Fatalf("LastLogins = %v", many)
	}
}

// A writer that stops between its log entry and its projection write must not leave the user
// unchangeable: reads rebuild the projection from the log.
func TestUserProjectionBehindItsLogIsRepaired(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := context.Background()
	u := testUser("u_1", "a@example.org")
	if err := s.CreateUser(ctx, u, event("user.create", u.ID)); err != nil {
		t.Fatal(err)
	}
	var v1 bson.M
	users := s.Database().Collection("users")
	if err := users.FindOne(ctx, bson.D{{Key: "_id", Value: "u_1"}}).Decode(&v1); err != nil {
		t.Fatal(err)
	}
	next := u
	next.Version, next.DisplayName = 2, "Renamed"
	if err := s.SaveUser(ctx, next, event("user.update", u.ID)); err != nil {
		t.Fatal(err)
	}
	// Put the version-1 projection back, as if the version-2 writer had died before writing it.
	if _, err := users.ReplaceOne(ctx, bson.D{{Key: "_id", Value: "u_1"}}, v1); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByID(ctx, "u_1")
	if err != nil || got.Version != 2 || got.DisplayName != "Renamed" || got.PasswordHash != u.PasswordHash {
		t.Fatalf("UserByID = %+v, %v; want version 2 rebuilt from the log", got, err)
	}
	third := got
	third.Version, third.Disabled = 3, true
	if err := s.SaveUser(ctx, third, event("user.disable", u.ID)); err != nil {
		t.Fatalf("the user cannot be changed after the repair: %v", err)
	}
	evs, _ := s.ListEvents(ctx, audit.Filter{Entity: "user/u_1"})
	for _, ev := range evs {
		if strings.Contains(string(ev.After)+string(ev.Before), "argon2") {
			t.Fatalf("the audit trail shows a password hash: %s", ev.After)
		}
	}
}

package apitest

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

// TestKeys signs access tokens in tests, so that two instances in one test accept each other's.
const TestKeys = "test:dGVzdC1rZXktdGhhdC1pcy1hdC1sZWFzdC0zMi1ieXRlcy1sb25nISE="

// Password is every test user's password.
const Password = "correct horse battery staple"

// Env is a fully assembled service on a fresh database of the real store.
type Env struct {
	tb    testing.TB
	Store *mongodb.Store
	App   *app.App
	users atomic.Int64
}

// New assembles the service on a new database.
func New(tb testing.TB) *Env {
	tb.Helper()
	return NewOn(tb, mongodbtest.New(tb))
}

// NewOn assembles the service on an existing store, as a second instance would.
func NewOn(tb testing.TB, store *mongodb.Store) *Env {
	tb.Helper()
	a, err := app.New(store, app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: TestKeys})
	if err != nil {
		tb.Fatalf("assemble: %v", err)
	}
	a.Server.MarkReady()
	return &Env{tb: tb, Store: store, App: a}
}

// Client is an unauthenticated client of this instance.
func (e *Env) Client() *Client { return NewClient(e.tb, e.App.Server) }

// As returns a client signed in as a new user with the given global role and assignments.
func (e *Env) As(role auth.Role, assignments ...auth.Assignment) (*Client, auth.User) {
	e.tb.Helper()
	ctx := context.Background()
	email := fmt.Sprintf("user%d@example.org", e.users.Add(1))
	u, _, err := e.App.Auth.BootstrapUser(ctx, auth.NewUser{Email: email, DisplayName: email, GlobalRole: role, Password: Password})
	if err != nil {
		e.tb.Fatalf("create user: %v", err)
	}
	admin := auth.Principal{UserID: "u_test_admin", Admin: true}
	for _, as := range assignments {
		if u, err = e.App.Auth.Grant(ctx, admin, u.ID, as, 0); err != nil {
			e.tb.Fatalf("grant %+v: %v", as, err)
		}
	}
	sess, err := e.App.Auth.Login(ctx, email, Password, "127.0.0.1")
	if err != nil {
		e.tb.Fatalf("login: %v", err)
	}
	c := e.Client()
	c.Token = sess.AccessToken
	return c, u
}

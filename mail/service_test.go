package mail_test

import (
	"bytes"
	"context"
	netmail "net/mail"
	"net/url"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

func TestMain(m *testing.M) { mongodbtest.Main(m) }

// An invitation and a password reset issued by the auth service, on the real store, arrive by
// mail at the SMTP server started inside the test, with the very tokens the admin was given.
func TestServiceMailsInvitationsAndResets(t *testing.T) {
	srv := startSMTP(t)
	ks, err := auth.NewKeySet(auth.Key{ID: "k1", Secret: bytes.Repeat([]byte("k"), 32)})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(auth.TokenConfig{Keys: ks, Issuer: "expertsurvey", Audience: "expertsurvey"})
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := auth.NewHasher(auth.MinParams, 0)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.NewService(auth.Config{Store: mongodbtest.New(t), Tokens: tokens, Hasher: hasher, Notifier: sender(t, srv, "en")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	admin := auth.Principal{UserID: "u_admin", Admin: true}
	u, invitation, err := svc.CreateUser(ctx, admin, auth.NewUser{Email: "bob@example.org", DisplayName: "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	_, reset, err := svc.ResetPassword(ctx, admin, u.ID, "", u.Version)
	if err != nil {
		t.Fatal(err)
	}
	got := srv.messages()
	if len(got) != 2 {
		t.Fatalf("%d messages, want the invitation and the reset", len(got))
	}
	for i, token := range []string{invitation, reset} {
		msg, err := netmail.ReadMessage(strings.NewReader(got[i].data))
		if err != nil {
			t.Fatal(err)
		}
		if body := decodedBody(t, msg); got[i].to != "bob@example.org" || !strings.Contains(body, "token="+url.QueryEscape(token)) {
			t.Errorf("message %d does not carry its token:\n%s", i, body)
		}
	}
}

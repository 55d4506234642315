package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
)

// The sign-in endpoints are public: whatever bearer token a caller sends, the answer depends on
// the body alone. Only sign-in succeeds here, because every success costs a password hash; the
// other flows are tested below.
var authMatrixCases = []matrixCase{
	{
		op: "POST /v1/auth/login",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": w.Spare.Email, "password": apitest.Password}}
		},
		want: everyone(200),
	},
	{
		op: "POST /v1/auth/refresh",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": "not-a-token"}}
		},
		want: everyone(401),
	},
	{
		op: "POST /v1/auth/logout",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/auth/logout", Body: map[string]string{"refresh_token": "not-a-token"}}
		},
		want: everyone(204),
	},
	{
		op: "POST /v1/auth/accept-invitation",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/auth/accept-invitation", Body: map[string]string{"token": "not-a-token", "password": "a new and long password"}}
		},
		want: everyone(401),
	},
}

type session struct {
	AccessToken      string    `json:"access_token"`
	TokenType        string    `json:"token_type"`
	ExpiresAt        time.Time `json:"expires_at"`
	RefreshToken     string    `json:"refresh_token"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
	User             struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"user"`
}

type problem struct {
	Type       string `json:"type"`
	Title      string `json:"title"`
	Status     int    `json:"status"`
	Detail     string `json:"detail"`
	RequestID  string `json:"request_id"`
	RetryAfter int    `json:"retry_after"`
	Errors     []struct {
		Field  string `json:"field"`
		Reason string `json:"reason"`
	} `json:"errors"`
	Current map[string]any `json:"current"`
}

func decodeProblem(t *testing.T, r *apitest.Response) problem {
	t.Helper()
	var p problem
	r.Decode(t, &p)
	return p
}

func hasFieldError(p problem, field string) bool {
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}

func login(c *apitest.Client, email, password string) *apitest.Response {
	return c.Do(apitest.Request{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": email, "password": password}})
}

func mustLogin(t *testing.T, c *apitest.Client, email, password string) session {
	t.Helper()
	r := login(c, email, password)
	if r.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, r.Status, r.Body)
	}
	var s session
	r.Decode(t, &s)
	return s
}

func refresh(c *apitest.Client, token string) *apitest.Response {
	return c.Do(apitest.Request{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": token}})
}

func me(c *apitest.Client, token string) *apitest.Response {
	return c.Do(apitest.Request{Method: "GET", Path: "/v1/me", Token: token, NoToken: token == ""})
}

func TestLoginAndMe(t *testing.T) {
	env := apitest.New(t)
	draftRounds(t, env, "r1")
	_, u := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleExpert, Round: "r1", Country: "AT"})
	c := env.Client()

	r := login(c, u.Email, apitest.Password)
	if r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	var s session
	r.Decode(t, &s)
	if s.TokenType != "Bearer" || s.AccessToken == "" || s.RefreshToken == "" || s.User.ID != u.ID {
		t.Fatalf("session %+v", s)
	}
	if !s.ExpiresAt.After(time.Now()) || !s.RefreshExpiresAt.After(s.ExpiresAt) {
		t.Errorf("expiries %v, %v", s.ExpiresAt, s.RefreshExpiresAt)
	}
	r = me(c, s.AccessToken)
	if r.Status != http.StatusOK {
		t.Fatalf("me: %d %s", r.Status, r.Body)
	}
	var mine struct {
		ID          string `json:"id"`
		Email       string `json:"email"`
		Role        string `json:"role"`
		LastLoginAt string `json:"last_login_at"`
		Assignments []struct {
			Role, Round, Country string
		} `json:"assignments"`
	}
	r.Decode(t, &mine)
	if mine.ID != u.ID || mine.Role != "none" || mine.LastLoginAt == "" || len(mine.Assignments) != 1 || mine.Assignments[0].Country != "AT" {
		t.Errorf("me: %s", r.Body)
	}
	if r.Header.Get("ETag") != `"2"` { // created, then granted the assignment
		t.Errorf("ETag %q", r.Header.Get("ETag"))
	}
}

func TestWrongCredentialsLookTheSameForKnownAndUnknownEmails(t *testing.T) {
	env := apitest.New(t)
	_, u := env.As(auth.RoleNone)
	c := env.Client()
	known := login(c, u.Email, "not the password at all")
	unknown := login(c, "nobody@example.org", "not the password at all")
	if known.Status != http.StatusUnauthorized || unknown.Status != http.StatusUnauthorized {
		t.Fatalf("statuses %d, %d", known.Status, unknown.Status)
	}
	pk, pu := decodeProblem(t, known), decodeProblem(t, unknown)
	pk.RequestID, pu.RequestID = "", ""
	if fmt.Sprint(pk) != fmt.Sprint(pu) {
		t.Errorf("bodies differ:\n%s\n%s", known.Body, unknown.Body)
	}
	if r := login(c, "", ""); r.Status != http.StatusBadRequest {
		t.Errorf("empty body fields: %d", r.Status)
	}
}

func TestLoginLockoutAnswers429WithRetryAfter(t *testing.T) {
	env := apitest.New(t)
	_, u := env.As(auth.RoleNone)
	c := env.Client()
	limit := auth.DefaultLockout.MaxPerAccount
	for i := 1; i < limit; i++ {
		if r := login(c, u.Email, "wrong password number "+strconv.Itoa(i)); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := login(c, u.Email, "wrong password again")
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("failure %d: %d %s", limit, r.Status, r.Body)
	}
	// Even the right password is refused while locked: the lock must not be an oracle.
	r = login(c, u.Email, apitest.Password)
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("right password while locked: %d %s", r.Status, r.Body)
	}
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > int(2*auth.DefaultLockout.Window/time.Second) {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	if p := decodeProblem(t, r); p.RetryAfter != secs {
		t.Errorf("retry_after %d, header %d", p.RetryAfter, secs)
	}
	// An unknown email locks the same way.
	for range limit {
		r = login(c, "ghost@example.org", "wrong password")
	}
	if r.Status != http.StatusTooManyRequests {
		t.Errorf("unknown email after %d failures: %d", limit, r.Status)
	}
}

func TestRefreshRotatesAndReuseRevokesTheSession(t *testing.T) {
	env := apitest.New(t)
	_, u := env.As(auth.RoleNone)
	c := env.Client()
	s1 := mustLogin(t, c, u.Email, apitest.Password)

	r := refresh(c, s1.RefreshToken)
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	var s2 session
	r.Decode(t, &s2)
	if s2.RefreshToken == s1.RefreshToken || s2.AccessToken == "" {
		t.Fatalf("not rotated: %+v", s2)
	}
	if r := me(c, s2.AccessToken); r.Status != http.StatusOK {
		t.Fatalf("new access token: %d", r.Status)
	}
	// Presenting s1's token again means it was copied: both tokens of the family stop working.
	if r := refresh(c, s1.RefreshToken); r.Status != http.StatusUnauthorized {
		t.Fatalf("reuse: %d %s", r.Status, r.Body)
	}
	if r := refresh(c, s2.RefreshToken); r.Status != http.StatusUnauthorized {
		t.Fatalf("rotated token after reuse: %d %s", r.Status, r.Body)
	}
	// Another sign-in is another family, untouched.
	s3 := mustLogin(t, c, u.Email, apitest.Password)
	if r := refresh(c, s3.RefreshToken); r.Status != http.StatusOK {
		t.Fatalf("other session: %d %s", r.Status, r.Body)
	}
}

func TestLogoutEndsTheSession(t *testing.T) {
	env := apitest.New(t)
	_, u := env.As(auth.RoleNone)
	c := env.Client()
	s := mustLogin(t, c, u.Email, apitest.Password)
	logout := apitest.Request{Method: "POST", Path: "/v1/auth/logout", Body: map[string]string{"refresh_token": s.RefreshToken}}
	if r := c.Do(logout); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if r := refresh(c, s.RefreshToken); r.Status != http.StatusUnauthorized {
		t.Fatalf("refresh after logout: %d %s", r.Status, r.Body)
	}
	if r := c.Do(logout); r.Status != http.StatusNoContent {
		t.Fatalf("second logout: %d %s", r.Status, r.Body)
	}
}

// testTokens issues access tokens as the service under test would, with another clock or key.
func testTokens(t *testing.T, keys string, issuer string, now func() time.Time) *auth.Tokens {
	t.Helper()
	ks, err := auth.ParseKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(auth.TokenConfig{Keys: ks, Issuer: issuer, Audience: issuer, TTL: auth.DefaultAccessTTL, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return tokens
}

func issue(t *testing.T, tokens *auth.Tokens, userID string) string {
	t.Helper()
	tok, _, err := tokens.Issue(userID)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// unsignedToken is a JWT with alg "none" and valid claims: the classic forgery.
func unsignedToken(userID string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now().Unix()
	header := enc(map[string]string{"alg": "none", "typ": "JWT", "kid": "test"})
	claims := enc(map[string]any{"iss": "expertsurvey", "aud": "expertsurvey", "sub": userID, "exp": now + 600, "nbf": now, "iat": now, "jti": "x"})
	return header + "." + claims + "."
}

func TestAccessTokensThatMustBeRefused(t *testing.T) {
	env := apitest.New(t)
	_, u := env.As(auth.RoleNone)
	_, gone := env.As(auth.RoleNone)
	admin := auth.Principal{UserID: "u_test_admin", Admin: true}
	if _, err := env.App.Auth.DisableUser(context.Background(), admin, gone.ID, 0); err != nil {
		t.Fatal(err)
	}
	now := time.Now
	valid := testTokens(t, apitest.TestKeys, "expertsurvey", now)
	tests := []struct {
		name   string
		token  string
		status int
	}{
		{"valid (the construction works)", issue(t, valid, u.ID), http.StatusOK},
		{"none", "", http.StatusUnauthorized},
		{"garbage", "not.a.jwt", http.StatusUnauthorized},
		{"alg none", unsignedToken(u.ID), http.StatusUnauthorized},
		{"wrong signature", issue(t, testTokens(t, "test:"+auth.GenerateKey(), "expertsurvey", now), u.ID), http.StatusUnauthorized},
		{"unknown kid", issue(t, testTokens(t, "other:"+auth.GenerateKey(), "expertsurvey", now), u.ID), http.StatusUnauthorized},
		{"other issuer", issue(t, testTokens(t, apitest.TestKeys, "someone-else", now), u.ID), http.StatusUnauthorized},
		{"expired", issue(t, testTokens(t, apitest.TestKeys, "expertsurvey", func() time.Time { return time.Now().Add(-time.Hour) }), u.ID), http.StatusUnauthorized},
		{"unknown user", issue(t, valid, "u_nobody"), http.StatusUnauthorized},
		{"disabled user", issue(t, valid, gone.ID), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := me(apitest.NewClient(t, env.App.Server), tt.token)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if tt.status == http.StatusUnauthorized && r.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
}

func TestInvitationFlow(t *testing.T) {
	env := apitest.New(t)
	adm, _ := env.As(auth.RoleAdmin)
	r := adm.Do(apitest.Request{Method: "POST", Path: "/v1/users", Body: map[string]string{"email": "New.Expert@example.org", "display_name": "New Expert"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var created struct {
		User struct {
			ID      string `json:"id"`
			Invited bool   `json:"invited"`
		} `json:"user"`
		InvitationToken string `json:"invitation_token"`
	}
	r.Decode(t, &created)
	if !created.User.Invited || created.InvitationToken == "" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("created %s (Cache-Control %q)", r.Body, r.Header.Get("Cache-Control"))
	}
	c := env.Client()
	// Before accepting there is no password that works.
	if r := login(c, "new.expert@example.org", "any password at all"); r.Status != http.StatusUnauthorized {
		t.Fatalf("login before accepting: %d", r.Status)
	}
	accept := func(token, password string) *apitest.Response {
		return c.Do(apitest.Request{Method: "POST", Path: "/v1/auth/accept-invitation", Body: map[string]string{"token": token, "password": password}})
	}
	r = accept(created.InvitationToken, "short")
	if r.Status != http.StatusBadRequest || !hasFieldError(decodeProblem(t, r), "password") {
		t.Fatalf("short password: %d %s", r.Status, r.Body)
	}
	// The refused password did not use up the invitation.
	r = accept(created.InvitationToken, "a much longer pass phrase")
	if r.Status != http.StatusOK {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	if u := r.JSON(t); u["invited"] != false || u["id"] != created.User.ID {
		t.Fatalf("accepted user %s", r.Body)
	}
	mustLogin(t, c, "NEW.expert@example.org", "a much longer pass phrase")
	if r := accept(created.InvitationToken, "yet another pass phrase"); r.Status != http.StatusUnauthorized {
		t.Fatalf("second use of the invitation: %d %s", r.Status, r.Body)
	}
}

package api_test

// OWASP API Security Top 10 (2023), API2: broken authentication. Sign-out and password changes
// end access tokens already issued, on every instance within the user cache's one second.

import (
	"net/http"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

// TestLogoutEndsAccessTokensOnEveryInstance signs a user in, uses the token on two instances
// sharing the store, signs out on the first: the first refuses the token at once, the second
// within the user cache's freshness bound (1 s; the test allows 2), and a new sign-in works at
// once on both.
func TestLogoutEndsAccessTokensOnEveryInstance(t *testing.T) {
	one := apitest.New(t)
	two := apitest.NewOn(t, mongodbtest.SecondInstance(t, one.Store))
	_, u := one.As(auth.RoleNone)
	c1, c2 := one.Client(), two.Client()
	s := mustLogin(t, c1, u.Email, apitest.Password)
	for _, c := range []*apitest.Client{c1, c2} {
		if r := me(c, s.AccessToken); r.Status != http.StatusOK {
			t.Fatalf("token before sign-out: %d", r.Status)
		}
	}
	if r := c1.Do(apitest.Request{Method: "POST", Path: "/v1/auth/logout", Body: map[string]string{"refresh_token": s.RefreshToken}}); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if r := me(c1, s.AccessToken); r.Status != http.StatusUnauthorized {
		t.Fatalf("the instance that signed out still accepts the token: %d", r.Status)
	}
	start := time.Now()
	for me(c2, s.AccessToken).Status != http.StatusUnauthorized {
		if time.Since(start) > 2*time.Second {
			t.Fatal("the second instance still accepts the token 2 s after the sign-out")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("second instance refused the signed-out token after %v", time.Since(start).Round(time.Millisecond))
	fresh := mustLogin(t, c1, u.Email, apitest.Password)
	for _, c := range []*apitest.Client{c1, c2} {
		if r := me(c, fresh.AccessToken); r.Status != http.StatusOK {
			t.Fatalf("a new sign-in after the sign-out: %d", r.Status)
		}
	}
}

// TestPasswordResetEndsAccessTokens: an admin setting a user's password ends the access token
// the user held (not only the refresh token).
func TestPasswordResetEndsAccessTokens(t *testing.T) {
	env := apitest.New(t)
	adm, _ := env.As(auth.RoleAdmin)
	_, u := env.As(auth.RoleNone)
	c := env.Client()
	s := mustLogin(t, c, u.Email, apitest.Password)
	cur := decodeUser(t, adm.Do(apitest.Request{Method: "GET", Path: "/v1/users/" + u.ID}))
	if r := adm.Do(userChange("POST", "/v1/users/"+u.ID+"/password-reset", cur.Version, map[string]string{"password": "set by the admin today"})); r.Status != http.StatusOK {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	if r := me(c, s.AccessToken); r.Status != http.StatusUnauthorized {
		t.Fatalf("access token from before the reset: %d", r.Status)
	}
	fresh := mustLogin(t, c, u.Email, "set by the admin today")
	if r := me(c, fresh.AccessToken); r.Status != http.StatusOK {
		t.Fatalf("new token: %d", r.Status)
	}
}

// TestTokensServeOnlyTheirOwnPurpose: a refresh token sent as a bearer token is refused (401),
// and an access token sent to /v1/auth/refresh is refused too, without ending the session.
// The other forgeries (none-alg, algorithm switch, foreign key, unknown kid, expiry, issuer and
// audience) are in TestAccessTokensThatMustBeRefused and auth's TestVerifyRefuses; refresh
// reuse in TestRefreshRotatesAndReuseRevokesTheSession; lockout in
// TestLoginLockoutAnswers429WithRetryAfter; enumeration in
// TestWrongCredentialsLookTheSameForKnownAndUnknownEmails and auth's TestEverySignInCostsOneHash.
func TestTokensServeOnlyTheirOwnPurpose(t *testing.T) {
	env := apitest.New(t)
	_, u := env.As(auth.RoleNone)
	c := env.Client()
	s := mustLogin(t, c, u.Email, apitest.Password)
	if r := me(c, s.RefreshToken); r.Status != http.StatusUnauthorized {
		t.Fatalf("refresh token as an access token: %d %s", r.Status, r.Body)
	}
	if r := c.Do(apitest.Request{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": s.AccessToken}, Invalid: true}); r.Status != http.StatusUnauthorized && r.Status != http.StatusBadRequest {
		t.Fatalf("access token as a refresh token: %d %s", r.Status, r.Body)
	}
	if r := c.Do(apitest.Request{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": s.RefreshToken}}); r.Status != http.StatusOK {
		t.Fatalf("the real refresh token after the attempts: %d %s", r.Status, r.Body)
	}
}

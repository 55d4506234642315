package api_test

// OWASP API Security Top 10 (2023), API8: security misconfiguration. Every response carries
// the security headers; the docs page may not be framed; cross-origin calls are allowed from the
// configured origins only.

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

func TestEveryResponseCarriesTheSecurityHeaders(t *testing.T) {
	env := apitest.New(t)
	c := env.Client()
	admin, _ := env.As(auth.RoleAdmin)
	for _, tc := range []struct {
		client *apitest.Client
		req    apitest.Request
		status int
	}{
		{c, apitest.Request{Method: "GET", Path: "/livez"}, 200},
		{c, apitest.Request{Method: "GET", Path: "/openapi.yaml"}, 200},
		{c, apitest.Request{Method: "GET", Path: "/docs"}, 200},
		{c, apitest.Request{Method: "GET", Path: "/v1/me"}, 401},
		{admin, apitest.Request{Method: "GET", Path: "/v1/users"}, 200},
		{admin, apitest.Request{Method: "GET", Path: "/v1/rounds/nope"}, 404},
		{admin, apitest.Request{Method: "POST", Path: "/v1/users", Body: "{", ContentType: "application/json", Invalid: true}, 400},
	} {
		r := tc.client.Do(tc.req)
		if r.Status != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.req.Method, tc.req.Path, r.Status, tc.status)
		}
		for h, want := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
			"Content-Security-Policy": "frame-ancestors 'none'",
		} {
			if got := r.Header.Get(h); !strings.Contains(got, want) {
				t.Errorf("%s %s: %s is %q, want it to hold %q", tc.req.Method, tc.req.Path, h, got, want)
			}
		}
		if tc.status >= 400 && (strings.Contains(string(r.Body), "goroutine") || strings.Contains(string(r.Body), ".go:")) {
			t.Errorf("%s %s: the error shows a stack: %s", tc.req.Method, tc.req.Path, r.Body)
		}
	}
}

func TestCORSAllowsOnlyConfiguredOrigins(t *testing.T) {
	preflight := func(h http.Handler, origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodOptions, "/v1/me", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	// By default no origin is allowed.
	env := apitest.New(t)
	if got := preflight(env.App.Server, "https://survey.example.org").Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("default configuration allows %q", got)
	}
	a, err := app.New(mongodbtest.New(t), app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: apitest.TestKeys,
		CORSOrigins: []string{"https://survey.example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := preflight(a.Server, "https://survey.example.org")
	if rec.Header().Get("Access-Control-Allow-Origin") != "https://survey.example.org" || rec.Code >= 300 ||
		!strings.Contains(strings.ToLower(rec.Header().Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("allowed origin: %d %v", rec.Code, rec.Header())
	}
	if rec.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Fatal("credentials allowed: the API takes bearer tokens, not cookies")
	}
	if got := preflight(a.Server, "https://evil.example").Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("another origin is allowed: %q", got)
	}
	if _, err := app.New(mongodbtest.New(t), app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: apitest.TestKeys,
		CORSOrigins: []string{"*"}}); err == nil {
		t.Fatal(`"*" accepted as an allow-list`)
	}
}

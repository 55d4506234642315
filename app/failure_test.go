package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/api"
	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

// freeAddr is a loopback address that nothing listens on right now, so that the embedded store
// can be stopped and started again at the same address.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// syncBuffer is a log sink that the server's goroutines and the test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The store stops under a running service: requests answer 503 store_unavailable with
// Retry-After (not a 500 after 30 s), readiness turns 503, and both recover by themselves when
// the store comes back at the same address, with the data written before.
func TestStoreStoppedAndRestartedUnderTheService(t *testing.T) {
	if mongodbtest.External() {
		t.Skip("stops and restarts the embedded store")
	}
	dir, addr := t.TempDir(), freeAddr(t)
	logger := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	emb, err := mongodb.StartEmbedded(ctx, dir, addr, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	store, err := mongodb.Open(ctx, mongodb.Config{URI: emb.URI(), Database: "outage", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close(context.Background()) })
	env := apitest.NewOn(t, store)
	if err := env.App.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	c, _ := env.As(auth.RoleAdmin)
	if r := c.Do(apitest.Request{Method: "GET", Path: "/v1/me"}); r.Status != http.StatusOK {
		t.Fatalf("before the outage: %d %s", r.Status, r.Body)
	}

	emb.Close()
	start := time.Now()
	r := c.Do(apitest.Request{Method: "GET", Path: "/v1/me"})
	t.Logf("first answer with the store down after %v", time.Since(start)) // the figure in docs/operations.md
	var p api.Problem
	r.Decode(t, &p)
	if r.Status != http.StatusServiceUnavailable || p.Type != "/problems/store_unavailable" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("with the store down: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	login := apitest.Request{Method: "POST", Path: "/v1/auth/login", NoToken: true,
		Body: map[string]string{"email": "user1@example.org", "password": apitest.Password}}
	if r := c.Do(login); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("login with the store down: %d %s", r.Status, r.Body)
	}
	if r := c.Do(apitest.Request{Method: "GET", Path: "/readyz"}); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the store down: %d %s", r.Status, r.Body)
	}

	emb, err = mongodb.StartEmbedded(ctx, dir, addr, logger)
	if err != nil {
		t.Fatalf("restart the store: %v", err)
	}
	t.Cleanup(func() { emb.Close() })
	// The driver finds the server again on its next heartbeat; poll rather than sleep.
	restarted := time.Now()
	deadline := restarted.Add(30 * time.Second)
	for {
		r := c.Do(apitest.Request{Method: "GET", Path: "/readyz"})
		if r.Status == http.StatusOK {
			t.Logf("ready again %v after the store restarted", time.Since(restarted))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz did not recover: %d %s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := c.Do(apitest.Request{Method: "GET", Path: "/v1/me"}); r.Status != http.StatusOK {
		t.Fatalf("after the store came back: %d %s", r.Status, r.Body)
	}
	if r := c.Do(login); r.Status != http.StatusOK {
		t.Fatalf("login after the store came back: %d %s", r.Status, r.Body)
	}
}

// A client that hangs up mid-request is recorded as 499 (client closed), at info level, not as a
// 500 with an ERROR line.
func TestCancelledRequestIsClientClosedNotAnError(t *testing.T) {
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	metrics := api.NewMetrics()
	a, err := app.New(mongodbtest.New(t), app.Options{Logger: logger, Metrics: metrics, JWTKeys: apitest.TestKeys})
	if err != nil {
		t.Fatal(err)
	}
	a.Server.MarkReady()
	// The context is cancelled before the store is asked: what a client that disconnected
	// while the handler waited for the store looks like to the handler.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/auth/login",
		strings.NewReader(`{"email":"nobody@example.org","password":"whatever it is"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	a.Server.ServeHTTP(rec, req)
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a cancelled request logged an error:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "status=499") {
		t.Errorf("the access log does not record 499:\n%s", logs)
	}
	mrec := httptest.NewRecorder()
	a.Server.ServeHTTP(mrec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := mrec.Body.String()
	if !strings.Contains(body, `route="/v1/auth/login",status="499"`) || strings.Contains(body, `status="500"`) {
		t.Errorf("metrics do not count the cancelled request as 499:\n%s", grepLines(body, "http_requests_total"))
	}
}

// Readiness while starting is a 503 logged at info: it is expected on every start.
func TestStartupReadinessIsNotAnError(t *testing.T) {
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	a, err := app.New(mongodbtest.New(t), app.Options{Logger: logger, JWTKeys: apitest.TestKeys})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	a.Server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("readyz before start-up finished: %d", rec.Code)
	}
	if strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "level=INFO") {
		t.Errorf("start-up readiness should be logged at info:\n%s", logs)
	}
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

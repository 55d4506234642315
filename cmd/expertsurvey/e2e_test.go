package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/round"
)

// TestMain doubles as the server process of the signal test: with EXPERTSURVEY_TEST_SERVE set,
// the test binary runs main() with those arguments, as the real binary would.
func TestMain(m *testing.M) {
	// "-" stands for the bare binary (no arguments at all).
	if args := os.Getenv("EXPERTSURVEY_TEST_SERVE"); args != "" {
		if os.Getenv(pauseBeforeSnapshotEnv) != "" {
			beforeSnapshot = pauseForever
		}
		os.Args = append(os.Args[:1], strings.Fields(strings.TrimPrefix(args, "-"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func send(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func demoLogin(t *testing.T, base, email string) string {
	t.Helper()
	status, body := postJSON(t, base+"/v1/auth/login", "", map[string]string{"email": email, "password": app.DemoPassword})
	if status != http.StatusOK {
		t.Fatalf("login %s: %d %v", email, status, body)
	}
	return body["access_token"].(string)
}

// The README's run command: serve --demo on the embedded store, and the demo users can work.
func TestServeDemoAnswerSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	keys := map[string]string{"EXPERTSURVEY_JWT_KEYS": "k1:" + strings.Repeat("QUJD", 11)}
	p := startServer(t, keys, "--demo", "--data-dir", dir)
	waitFor(t, p.base+"/readyz", http.StatusOK)
	token := demoLogin(t, p.base, "expert.at@demo.expertsurvey.org")
	answer := p.base + "/v1/rounds/" + app.DemoRound + "/countries/AT/answers/LMM_1"
	req, _ := http.NewRequest(http.MethodPut, answer, strings.NewReader(`{"option":"some_limits","comment":"Written before the restart.","sources":[{"kind":"law","title":"Act"}]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("If-Match", `"0"`)
	if status, body := send(t, req); status != http.StatusOK {
		t.Fatalf("save: %d %v", status, body)
	}
	p.stop(t)

	p = startServer(t, keys, "--demo", "--data-dir", dir)
	waitFor(t, p.base+"/readyz", http.StatusOK)
	answer = p.base + "/v1/rounds/" + app.DemoRound + "/countries/AT/answers/LMM_1"
	req, _ = http.NewRequest(http.MethodGet, answer, nil)
	req.Header.Set("Authorization", "Bearer "+token) // the same keys: the token outlives the restart
	status, body := send(t, req)
	if status != http.StatusOK || body["comment"] != "Written before the restart." || body["version"] != float64(1) {
		t.Fatalf("after restart: %d %v", status, body)
	}
}

// slowBody sends half a body, then waits for release before sending the rest.
type slowBody struct {
	first, rest []byte
	release     chan struct{}
	sent        bool
}

func (s *slowBody) Read(p []byte) (int, error) {
	if !s.sent {
		s.sent = true
		return copy(p, s.first), nil
	}
	if s.rest != nil {
		<-s.release
		n := copy(p, s.rest)
		s.rest = nil
		return n, nil
	}
	return 0, io.EOF
}

// SIGTERM during a slow request: the request finishes, then the process exits cleanly.
func TestSIGTERMLetsAnInFlightRequestFinish(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "EXPERTSURVEY_TEST_SERVE=serve --addr 127.0.0.1:0 --log-format text --data-dir "+t.TempDir())
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; time.Sleep(20 * time.Millisecond) {
		if m := listeningRe.FindStringSubmatch(logs.String()); m != nil {
			base = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s", logs.String())
		}
	}
	waitFor(t, base+"/readyz", http.StatusOK)

	body := &slowBody{first: []byte(`{"email":"nobody@example.org",`), rest: []byte(`"password":"wrong password here"}`), release: make(chan struct{})}
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/auth/login", body)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	done := make(chan *http.Response, 1)
	errs := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			errs <- err
			return
		}
		done <- resp
	}()
	time.Sleep(200 * time.Millisecond) // the request is in flight, its body half sent
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // shutdown has begun and waits for the request
	if resp, err := http.Get(base + "/readyz"); err == nil {
		resp.Body.Close()
		t.Fatalf("a new request was served during shutdown: %d", resp.StatusCode)
	}
	close(body.release)
	select {
	case resp := <-done:
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the in-flight request got %d %s, want its real answer (401)", resp.StatusCode, b)
		}
	case err := <-errs:
		t.Fatalf("the in-flight request failed: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatal("no answer to the in-flight request")
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the process did not exit after SIGTERM")
	}
	if !strings.Contains(logs.String(), "msg=stopped") {
		t.Fatalf("no clean stop in the logs:\n%s", logs.String())
	}
}

// serve --demo over a demo round that has moved on (closed here) serves, and leaves it closed.
func TestServeDemoOverAClosedDemoRoundServes(t *testing.T) {
	dir := t.TempDir()
	p := startServer(t, nil, "--demo", "--data-dir", dir)
	waitFor(t, p.base+"/readyz", http.StatusOK)
	p.stop(t)

	closeDemoRound(t, dir)
	p = startServer(t, nil, "--demo", "--data-dir", dir)
	waitFor(t, p.base+"/readyz", http.StatusOK)
	token := demoLogin(t, p.base, "coordinator@demo.expertsurvey.org")
	req, _ := http.NewRequest(http.MethodGet, p.base+"/v1/rounds/"+app.DemoRound, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if status, body := send(t, req); status != http.StatusOK || body["status"] != "closed" {
		t.Fatalf("the demo round after serve --demo: %d %v", status, body)
	}
	p.stop(t)
}

func closeDemoRound(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	store, err := mongodb.Open(ctx, mongodb.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = store.Close(context.Background()) }()
	a, err := app.New(store, app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: "k:" + auth.GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	admin := auth.Principal{UserID: "u_test", Admin: true}
	r, err := a.Rounds.Round(ctx, admin, app.DemoRound)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Rounds.SetStatus(ctx, admin, app.DemoRound, round.StatusClosed, r.Version); err != nil {
		t.Fatal(err)
	}
}

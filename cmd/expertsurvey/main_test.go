package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// serverProcess is a run() of the real binary's code in this test process.
type serverProcess struct {
	base   string
	cancel context.CancelFunc
	done   chan error
	logs   *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var listeningRe = regexp.MustCompile(`msg=listening addr=(http://\S+)`)

// startServer calls run with the given extra arguments and waits until /healthz answers.
func startServer(t *testing.T, env map[string]string, args ...string) *serverProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedBuffer{}
	p := &serverProcess{cancel: cancel, done: make(chan error, 1), logs: logs}
	getenv := func(k string) string { return env[k] }
	go func() {
		p.done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "text"}, args...), getenv, logs, io.Discard)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for p.base == "" {
		if m := listeningRe.FindStringSubmatch(logs.String()); m != nil {
			p.base = m[1]
			break
		}
		select {
		case err := <-p.done:
			t.Fatalf("run returned early: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitFor(t, p.base+"/healthz", http.StatusOK)
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *serverProcess) stop(t *testing.T) {
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("run: %v\n%s", err, p.logs)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("run did not return after shutdown")
	}
}

func waitFor(t *testing.T, url string, status int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == status {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %d in time (last: %v)", url, status, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeStartsBecomesReadyAndShutsDownCleanly(t *testing.T) {
	p := startServer(t, nil, "--data-dir", t.TempDir())
	waitFor(t, p.base+"/readyz", http.StatusOK)
	// Once ready, serve sweeps at once, and /healthz names the build.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(p.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), `expertsurvey_swept_rows_total{kind="refresh_tokens"} 0`) &&
			!strings.Contains(string(b), "expertsurvey_sweep_last_success_timestamp_seconds 0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sweep reported in /metrics:\n%s", b)
		}
	}
	resp, err := http.Get(p.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(hb), `"version":"`+buildVersion()+`"`) {
		t.Fatalf("/healthz: %s", hb)
	}
	resp, err = http.Get(p.base + "/docs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/docs: %d", resp.StatusCode)
	}
	p.stop(t)
	logs := p.logs.String()
	for _, want := range []string{"embedded store in use", "mongodb_uri=mongodb://", "store.sock", "msg=ready", "msg=stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestBadConfigurationIsRefusedAtStart(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--env", "staging"}, "want development or production"},
		{map[string]string{"EXPERTSURVEY_ACCESS_TTL": "soon"}, nil, "EXPERTSURVEY_ACCESS_TTL"},
		{nil, []string{"--log-format", "xml"}, "want text or json"},
		{nil, []string{"extra"}, "unexpected argument"},
		{map[string]string{"EXPERTSURVEY_ENV": "production", "EXPERTSURVEY_JWT_KEYS": "k1:" + strings.Repeat("QUJD", 11)}, []string{"--demo"}, "refused in production"},
		{nil, []string{"--env", "production", "--demo"}, "refused in production"},
		{nil, []string{"--cors-origins", "*"}, "want origins such as"},
		{map[string]string{"EXPERTSURVEY_CORS_ORIGINS": "https://ok.example.org, survey.example.org"}, nil, "want origins such as"},
		{nil, []string{"--webhook-allow-networks", "10.0.0.0/8,intranet"}, "want networks such as"},
	} {
		getenv := func(k string) string { return tc.env[k] }
		err := run(context.Background(), append([]string{"serve", "--data-dir", t.TempDir()}, tc.args...), getenv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: got %v, want an error with %q", tc.env, tc.args, err, tc.want)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	var stderr strings.Builder
	if err := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, io.Discard, &stderr); err == nil {
		t.Fatal("want an error")
	}
	if !strings.Contains(stderr.String(), "Usage:") {
		t.Fatalf("stderr lacks usage: %s", stderr.String())
	}
}

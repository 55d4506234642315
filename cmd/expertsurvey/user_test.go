package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// runUserCmd runs `expertsurvey user ...` with password on standard input.
func runUserCmd(t *testing.T, env map[string]string, password string, args ...string) (string, error) {
	t.Helper()
	old := stdin
	stdin = strings.NewReader(password)
	t.Cleanup(func() { stdin = old })
	var stdout, stderr strings.Builder
	err := run(context.Background(), append([]string{"user"}, args...), func(k string) string { return env[k] }, &stdout, &stderr)
	if err != nil {
		t.Logf("stderr: %s", stderr.String())
	}
	return stdout.String(), err
}

func postJSON(t *testing.T, url, token string, body any) (int, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&buf).Encode(body); err != nil {
			t.Fatal(err)
		}
	}
	method := http.MethodPost
	if body == nil {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, url, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

var generatedPasswordRe = regexp.MustCompile(`password \(shown only now\): (\S+)`)

func TestUserAddThenSignInThroughServe(t *testing.T) {
	dir := t.TempDir()
	// The data directory through the environment, as an operator would set it for serve too.
	env := map[string]string{"EXPERTSURVEY_DATA_DIR": dir}

	out, err := runUserCmd(t, env, "first admin passphrase\n", "add", "--email", "Root@Example.org", "--name", "Root", "--role", "admin", "--password-stdin")
	if err != nil {
		t.Fatalf("user add: %v", err)
	}
	if !strings.Contains(out, "<Root@Example.org> role admin") || strings.Contains(out, "passphrase") {
		t.Fatalf("user add printed %q", out)
	}
	out, err = runUserCmd(t, env, "", "add", "--email", "second@example.org", "--name", "Second")
	if err != nil {
		t.Fatalf("user add with a generated password: %v", err)
	}
	m := generatedPasswordRe.FindStringSubmatch(out)
	if m == nil || len(m[1]) < 20 {
		t.Fatalf("no generated password in %q", out)
	}
	generated := m[1]
	if _, err := runUserCmd(t, env, "", "add", "--email", "root@example.org", "--name", "Again"); err == nil || !strings.Contains(err.Error(), "conflict") {
		t.Fatalf("duplicate email: %v", err)
	}
	if _, err := runUserCmd(t, env, "short\n", "add", "--email", "weak@example.org", "--name", "Weak", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("weak password: %v", err)
	}
	out, err = runUserCmd(t, env, "", "list")
	if err != nil {
		t.Fatalf("user list: %v", err)
	}
	if !strings.Contains(out, "Root@Example.org") || !strings.Contains(out, "second@example.org") || strings.Contains(out, "weak@") {
		t.Fatalf("user list:\n%s", out)
	}

	p := startServer(t, env)
	waitFor(t, p.base+"/readyz", http.StatusOK)
	status, body := postJSON(t, p.base+"/v1/auth/login", "", map[string]string{"email": "root@example.org", "password": "first admin passphrase"})
	if status != http.StatusOK {
		t.Fatalf("login: %d %v", status, body)
	}
	token, _ := body["access_token"].(string)
	status, body = postJSON(t, p.base+"/v1/users", token, nil)
	if status != http.StatusOK || len(body["users"].([]any)) != 2 {
		t.Fatalf("list users as the new admin: %d %v", status, body)
	}
	if status, body := postJSON(t, p.base+"/v1/auth/login", "", map[string]string{"email": "second@example.org", "password": generated}); status != http.StatusOK {
		t.Fatalf("login with the generated password: %d %v", status, body)
	}
}

func TestUserCommandUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"add", "--data-dir", t.TempDir(), "--role", "owner", "--email", "a@example.org", "--name", "A"}} {
		if _, err := runUserCmd(t, nil, "", args...); err == nil {
			t.Errorf("user %v: want an error", args)
		}
	}
	if _, err := runUserCmd(t, nil, "", "add", "-h"); err != nil {
		t.Errorf("user add -h: %v", err)
	}
}

var storeURIRe = regexp.MustCompile(`mongodb_uri=(mongodb://\S+)`)

// While the service runs, the CLI reaches its embedded store through MONGODB_URI, as it would
// reach a production MongoDB.
func TestUserAddThroughMongoDBURIWhileServing(t *testing.T) {
	p := startServer(t, nil, "--data-dir", t.TempDir())
	waitFor(t, p.base+"/readyz", http.StatusOK)
	m := storeURIRe.FindStringSubmatch(p.logs.String())
	if m == nil {
		t.Fatalf("no store address in the logs:\n%s", p.logs)
	}
	env := map[string]string{"MONGODB_URI": m[1]}
	if _, err := runUserCmd(t, env, "a pass phrase for ops\n", "add", "--email", "ops@example.org", "--name", "Ops", "--role", "admin", "--password-stdin"); err != nil {
		t.Fatalf("user add: %v", err)
	}
	if status, body := postJSON(t, p.base+"/v1/auth/login", "", map[string]string{"email": "ops@example.org", "password": "a pass phrase for ops"}); status != http.StatusOK {
		t.Fatalf("login: %d %v", status, body)
	}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/questionnaire/demo"
	"github.com/expertsurvey/expertsurvey/round"
)

// pauseBeforeSnapshotEnv, set for a server process of the test binary, stops every freeze of
// that process between the lock's log entry and the snapshot's insert (see beforeSnapshot in
// serve.go). Only TestMain reads it, and only the test binary contains TestMain: the fault
// cannot be switched on in a built binary. A build tag would do the same, but would need a
// second build of the whole binary in every test run; the test binary is already built.
const pauseBeforeSnapshotEnv = "EXPERTSURVEY_TEST_PAUSE_BEFORE_SNAPSHOT"

// pauseMarker is what a paused process prints, followed by the snapshot's id.
const pauseMarker = "fault: paused between the lock entry and snapshot "

// pauseForever announces the pause and never returns: the test kills the process here.
func pauseForever(id string) {
	fmt.Fprintln(os.Stderr, pauseMarker+id)
	select {}
}

// child is a server process of the test binary.
type child struct {
	cmd  *exec.Cmd
	logs *lockedBuffer
	base string
	done chan error
}

// startChild starts `serve` in a new process of the test binary with extra environment, and
// waits until it is ready.
func startChild(t *testing.T, serveArgs string, env ...string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{logs: &lockedBuffer{}, done: make(chan error, 1)}
	c.cmd = exec.Command(exe)
	c.cmd.Env = append(append(os.Environ(), "EXPERTSURVEY_TEST_SERVE=serve --addr 127.0.0.1:0 --log-format text "+serveArgs), env...)
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.done
	})
	for deadline := time.Now().Add(60 * time.Second); c.base == ""; time.Sleep(20 * time.Millisecond) {
		if m := listeningRe.FindStringSubmatch(c.logs.String()); m != nil {
			c.base = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s", c.logs.String())
		}
	}
	waitFor(t, c.base+"/readyz", http.StatusOK)
	return c
}

// call sends a JSON request (with token, unless empty) and returns the status and body; err is a
// failure to get an answer.
func call(method, url, token, body string, header ...string) (int, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{Timeout: 2 * time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// isLocked tells whether an answer is the 409 of a write that collided with the lock.
func isLocked(status int, body string) bool {
	return status == http.StatusConflict && strings.Contains(body, "/problems/locked")
}

// readyDemoSheet loads the demo data into store and brings Austria's sheet, which the demo
// leaves empty, to ready_to_lock: answered (the demo's Austrian answers, with a source each),
// submitted and approved.
func readyDemoSheet(t *testing.T, store *mongodb.Store, jwtKeys string) {
	t.Helper()
	ctx := audit.WithOrigin(context.Background(), audit.SystemActor, "setup")
	a, err := app.New(store, app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: jwtKeys})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	admin := auth.Principal{UserID: "u_setup", Admin: true}
	zero := 0
	for _, ans := range demo.Answers()["AT"] {
		in := round.AnswerInput{Option: ans.Option, Value: ans.Number, Text: ans.Text, NotApplicable: ans.NotApplicable,
			Comment: "Checked against the statute book.", Sources: []round.Source{{Kind: "law", Title: "Federal Law Gazette"}}}
		if ans.NotApplicable {
			in.NAReason, in.Sources = "Does not apply.", nil
		}
		_, err := a.Rounds.SaveAnswer(ctx, admin, app.DemoRound, "AT", ans.Indicator, in, &zero)
		var invalid *round.ValidationError
		if ans.NotApplicable && errors.As(err, &invalid) {
			continue // excluded by skip logic: the demo marks it not applicable, a sheet leaves it out
		}
		if err != nil {
			t.Fatalf("answer %s: %v", ans.Indicator, err)
		}
	}
	if _, err := a.Rounds.Submit(ctx, admin, app.DemoRound, "AT"); err != nil {
		t.Fatal(err)
	}
	reviewer := auth.Principal{UserID: "u_reviewer", Assignments: []auth.Assignment{{Role: auth.RoleReviewer, Round: app.DemoRound, Country: "AT"}}}
	view, _, err := a.Rounds.ApproveMany(ctx, reviewer, app.DemoRound, "AT", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if view.Sheet.Status != round.SheetReadyToLock {
		t.Fatalf("Austria's sheet is %s, not ready to lock", view.Sheet.Status)
	}
}

// TestLockKilledBetweenEntryAndSnapshotIsCompletedAtStartUp: two server processes share a store;
// while a reviewer's comments and a coordinator's score overrides stream into the demo round's
// Austrian sheet through both, the coordinator locks it on the first process, which is stopped
// by the fault point right after the lock's log entry, before the snapshot, and killed
// (SIGKILL) there: the lock is never acknowledged. Every write after the entry is refused with
// 409 locked on both processes. The second process stops; the first restarts and completes the
// snapshot at start-up, before anyone reads the sheet. The snapshot holds every acknowledged
// write (and the last acknowledged override of each indicator), verifies, and every write
// after the restart is refused too.
func TestLockKilledBetweenEntryAndSnapshotIsCompletedAtStartUp(t *testing.T) {
	ctx := context.Background()
	began := time.Now()
	store, err := mongodb.Open(ctx, mongodb.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = store.Close(context.Background()) }()
	keys := "k1:" + strings.Repeat("QUJD", 11)
	readyDemoSheet(t, store, keys)
	t.Logf("set up at %v", time.Since(began))
	// Shedding is off: the race needs every writer's request to reach the log around the lock;
	// a shed 503 would be refused before it, proving nothing (bench/load covers shedding).
	storeArgs := "--mongodb-uri " + store.URI() + " --webhook-workers 0 --max-reads 0 --max-writes 0 --max-per-client 0"
	jwt := "EXPERTSURVEY_JWT_KEYS=" + keys
	first := startChild(t, storeArgs, jwt, pauseBeforeSnapshotEnv+"=1")
	second := startChild(t, storeArgs, jwt)
	instances := []string{first.base, second.base}
	t.Logf("started at %v", time.Since(began))
	coordinator := demoLogin(t, first.base, "coordinator@demo.expertsurvey.org")
	reviewer := demoLogin(t, second.base, "reviewer.at@demo.expertsurvey.org")
	sheet := "/v1/rounds/" + app.DemoRound + "/countries/AT"

	var commentOn, overrideOn []string // indicators that apply and are scored by an option
	for _, ans := range demo.Answers()["AT"] {
		switch {
		case ans.Option == "":
		case len(overrideOn) < 2:
			overrideOn = append(overrideOn, ans.Indicator)
		case len(commentOn) < 4:
			commentOn = append(commentOn, ans.Indicator)
		}
	}
	var mu sync.Mutex
	ackedComments := map[string]string{} // text -> indicator
	lastOverride := map[string]float64{} // indicator -> the last score acknowledged
	var refused, inDoubt int
	// write sends one write through instance; it reports whether the writer goes on.
	write := func(method, path, token, body string, ack func(), header ...string) bool {
		status, resp, err := call(method, path, token, body, header...)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			inDoubt++ // no answer: it may or may not have landed
			t.Errorf("%s %s: %v", method, path, err)
			return false
		case status == http.StatusOK || status == http.StatusCreated:
			ack()
			return true
		case isLocked(status, resp):
			refused++
			return false
		default:
			t.Errorf("%s %s: %d %s", method, path, status, resp)
			return false
		}
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g, code := range commentOn {
		wg.Go(func() {
			<-start
			for i := 0; ; i++ {
				text := fmt.Sprintf("writer %d, comment %d", g, i)
				url := instances[(g+i)%2] + sheet + "/answers/" + code + "/comments"
				if !write("POST", url, reviewer, fmt.Sprintf(`{"text":%q}`, text), func() { ackedComments[text] = code }) {
					return
				}
			}
		})
	}
	for g, code := range overrideOn {
		wg.Go(func() {
			status, body, err := call("GET", first.base+sheet+"/answers/"+code, coordinator, "")
			if err != nil || status != http.StatusOK {
				t.Errorf("answer %s: %d %v %s", code, status, err, body)
				return
			}
			etag := fmt.Sprintf(`"%d"`, answerVersion(t, body))
			<-start
			for i := 0; ; i++ {
				score := float64(i % 101)
				url := instances[(g+i)%2] + sheet + "/answers/" + code + "/override"
				body := fmt.Sprintf(`{"score":%g,"reason":"calibration %d"}`, score, i)
				if !write("POST", url, coordinator, body, func() { lastOverride[code] = score }, "If-Match", etag) {
					return
				}
			}
		})
	}
	close(start)
	// Lock once writes are landing through both processes, so that the lock meets writers.
	for underWay := false; !underWay; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		underWay = len(ackedComments) >= 4*len(commentOn) && len(lastOverride) == len(overrideOn) || refused > 0
		mu.Unlock()
	}
	t.Logf("writers under way at %v", time.Since(began))
	lockAnswered := make(chan error, 1)
	go func() {
		status, body, err := call("POST", first.base+sheet+"/lock", coordinator, "")
		if err == nil {
			err = fmt.Errorf("the lock was answered %d %s", status, body)
		}
		lockAnswered <- err
	}()
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(first.logs.String(), pauseMarker+app.DemoRound+"/AT/1"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the first process never reached the fault point:\n%s", first.logs.String())
		}
	}
	wg.Wait() // every writer was refused by the lock entry, on either process

	// Between the entry and the snapshot: the sheet is locked in the log, no snapshot exists.
	sh, err := store.Sheet(ctx, app.DemoRound, "AT")
	if err != nil || sh.Status != round.SheetLocked {
		t.Fatalf("during the pause the sheet is %v (%v), want locked", sh, err)
	}
	if _, err := store.Snapshot(ctx, app.DemoRound, "AT", 1); !errors.Is(err, round.ErrNotFound) {
		t.Fatalf("a snapshot exists before the fault point was passed: %v", err)
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done
	first.done <- nil // for the cleanup
	if err := <-lockAnswered; err == nil || strings.Contains(err.Error(), "answered") {
		t.Fatalf("the killed lock: %v", err)
	}
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-second.done; err != nil {
		t.Fatalf("the second process: %v\n%s", err, second.logs.String())
	}
	second.done <- nil
	if _, err := store.Snapshot(ctx, app.DemoRound, "AT", 1); !errors.Is(err, round.ErrNotFound) {
		t.Fatalf("the snapshot exists before the restart: %v", err)
	}

	t.Logf("killed at %v", time.Since(began))
	// The restart completes the lock before it reports ready, without any read of the sheet.
	restarted := startChild(t, storeArgs, jwt)
	snap, err := store.Snapshot(ctx, app.DemoRound, "AT", 1)
	if err != nil {
		t.Fatalf("the restarted process did not complete the snapshot at start-up: %v\n%s", err, restarted.logs.String())
	}
	frozen := map[string]string{}
	for _, a := range snap.Answers {
		for _, c := range a.Comments {
			if strings.HasPrefix(c.Text, "writer ") {
				frozen[c.Text] = a.Indicator
			}
		}
	}
	for text, code := range ackedComments {
		if frozen[text] != code {
			t.Errorf("acknowledged comment %q on %s is not in the snapshot", text, code)
		}
	}
	if len(frozen) != len(ackedComments) && inDoubt == 0 {
		t.Errorf("the snapshot holds %d comments, %d were acknowledged", len(frozen), len(ackedComments))
	}
	for _, code := range overrideOn {
		want, acked := lastOverride[code]
		got := -1.0
		for _, o := range snap.Overrides {
			if o.Node == code {
				got = o.Score
			}
		}
		if acked && got != want {
			t.Errorf("%s: the snapshot's override is %g, the last acknowledged %g", code, got, want)
		}
	}
	status, body, err := call("GET", restarted.base+sheet+"/snapshot/verify", coordinator, "")
	if err != nil || status != http.StatusOK || !strings.Contains(body, `"valid":true`) {
		t.Fatalf("verify after the restart: %d %v %s", status, err, body)
	}
	status, body, err = call("POST", restarted.base+sheet+"/answers/"+commentOn[0]+"/comments", reviewer, `{"text":"after the restart"}`)
	if err != nil || !isLocked(status, body) {
		t.Fatalf("a comment after the restart: %d %v %s", status, err, body)
	}
	t.Logf("%d comments and %d overrides acknowledged before the lock; %d writes refused by it", len(ackedComments), len(lastOverride), refused)
	if len(ackedComments) == 0 || refused < len(commentOn)+len(overrideOn) {
		t.Fatalf("the race was not exercised: %d comments acknowledged, %d writers refused", len(ackedComments), refused)
	}
}

// answerVersion reads the version of an answer from its JSON.
func answerVersion(t *testing.T, body string) int {
	t.Helper()
	var a struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Errorf("answer: %v", err)
	}
	return a.Version
}

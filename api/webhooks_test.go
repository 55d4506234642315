package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/notify"
	"github.com/expertsurvey/expertsurvey/round"
)

var webhookMatrixCases = []matrixCase{
	{op: "GET /v1/webhooks", request: get("/v1/webhooks"), want: adminOnly(200)},
	{
		op: "POST /v1/webhooks",
		request: func(*testing.T, *matrixWorld, principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/webhooks", Body: map[string]any{"url": "https://hooks.example.org/matrix"}}
		},
		want: adminOnly(201),
	},
	{
		op: "DELETE /v1/webhooks/{id}",
		request: func(t *testing.T, w *matrixWorld, _ principal) apitest.Request {
			return apitest.Request{Method: "DELETE", Path: "/v1/webhooks/" + matrixWebhook(t, w)}
		},
		want: adminOnly(204),
	},
	{
		op: "GET /v1/webhooks/{id}/deliveries",
		request: func(t *testing.T, w *matrixWorld, _ principal) apitest.Request {
			return apitest.Request{Method: "GET", Path: "/v1/webhooks/" + matrixWebhook(t, w) + "/deliveries"}
		},
		want: adminOnly(200),
	},
}

// matrixWebhook creates a fresh webhook (no hashing involved: cheap) for a case that may delete it.
func matrixWebhook(t *testing.T, w *matrixWorld) string {
	t.Helper()
	wh, err := w.Env.App.Webhooks.Create(context.Background(), w.adminPrincipal(), notify.CreateInput{URL: "https://hooks.example.org/m"})
	if err != nil {
		t.Fatal(err)
	}
	return wh.ID
}

// receiver is a webhook endpoint: it checks every delivery's signature and counts deliveries
// by idempotency key. respond, when set, decides the status of a delivery (attempt from 1).
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	secrets  map[string]string // webhook path -> secret
	received map[string]int    // "<path> <idempotency key>" -> deliveries answered 2xx
	attempts map[string][]int  // same key -> attempt headers seen
	bodies   map[string]notify.Notification
	raw      []string // every body received
	respond  func(path string, n notify.Notification, attempt int) int
	changed  chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, secrets: map[string]string{}, received: map[string]int{}, attempts: map[string][]int{},
		bodies: map[string]notify.Notification{}, changed: make(chan struct{}, 1)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	secret, respond := r.secrets[req.URL.Path], r.respond
	r.mu.Unlock()
	if err := notify.Verify(secret, req.Header.Get(notify.HeaderSignature), req.Header.Get(notify.HeaderTimestamp), body, time.Now(), 5*time.Minute); err != nil {
		r.t.Errorf("delivery to %s: %v", req.URL.Path, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var n notify.Notification
	if err := json.Unmarshal(body, &n); err != nil {
		r.t.Errorf("delivery body %s: %v", body, err)
	}
	key := req.Header.Get(notify.HeaderIdempotencyKey)
	if key != n.ID || req.Header.Get(notify.HeaderEvent) != n.ID || req.Header.Get("Content-Type") != "application/json" {
		r.t.Errorf("headers %v do not name the notification %s", req.Header, n.ID)
	}
	var attempt int
	fmt.Sscan(req.Header.Get(notify.HeaderAttempt), &attempt)
	status := http.StatusNoContent
	if respond != nil {
		status = respond(req.URL.Path, n, attempt)
	}
	r.mu.Lock()
	k := req.URL.Path + " " + key
	r.raw = append(r.raw, string(body))
	r.attempts[k] = append(r.attempts[k], attempt)
	if status < 300 {
		r.received[k]++
		r.bodies[k] = n
	}
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
	w.WriteHeader(status)
}

// add creates a webhook to path through the API and returns its id.
func (r *receiver) add(t *testing.T, admin *apitest.Client, path string, kinds ...string) string {
	t.Helper()
	body := map[string]any{"url": r.srv.URL + path, "description": "test " + path}
	if len(kinds) > 0 {
		body["kinds"] = kinds
	}
	res := admin.Do(apitest.Request{Method: "POST", Path: "/v1/webhooks", Body: body})
	want(t, res, 201, "create webhook")
	var created struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	res.Decode(t, &created)
	if !strings.HasPrefix(created.Secret, "whsec_") || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("creation: secret %q, Cache-Control %q", created.Secret, res.Header.Get("Cache-Control"))
	}
	r.mu.Lock()
	r.secrets[path] = created.Secret
	r.mu.Unlock()
	// The secret is shown once: neither the listing nor the audit trail holds it.
	for _, p := range []string{"/v1/webhooks", "/v1/audit?entity=webhook/" + created.ID} {
		res := admin.Do(apitest.Request{Method: "GET", Path: p})
		want(t, res, 200, p)
		if strings.Contains(string(res.Body), created.Secret) || !strings.Contains(string(res.Body), created.ID) {
			t.Fatalf("%s: %s", p, res.Body)
		}
	}
	return created.ID
}

// waitFor waits until cond holds, checking after every delivery and every 50 ms; it fails the
// test after a minute, which only a broken dispatcher takes.
func (r *receiver) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("waiting for %s; received %v, attempts %v", what, r.received, r.attempts)
		}
	}
}

// keys lists the received idempotency keys of path.
func (r *receiver) keys(path string) []string {
	var out []string
	for k := range r.received {
		if p, key, _ := strings.Cut(k, " "); p == path {
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out
}

// dispatch runs env's dispatcher until the test ends, with short backoff and the given poll
// (an hour: only this instance's own writes, which nudge it, are delivered from here).
func dispatch(t *testing.T, env *apitest.Env, instance string, poll time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := env.App.Notifier()
	d.Workers, d.Poll, d.RetryPoll, d.Instance = 4, poll, 50*time.Millisecond, instance
	if d.Timeout == 0 { // a test of timeouts sets a short one
		d.Timeout = 30 * time.Second
	}
	d.Backoff = notify.Backoff{Base: 20 * time.Millisecond, Max: 100 * time.Millisecond, MaxAttempts: 5}
	done := make(chan struct{})
	go func() { defer close(done); env.App.RunNotifications(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// reviewWorld is a round r1 over the mini index with Austria, one reviewer per answer, and its
// people.
type reviewWorld struct {
	env                                *apitest.Env
	expert, reviewer, coordinator, adm *apitest.Client
	people                             []auth.User
}

func newReviewWorld(t *testing.T, env *apitest.Env) *reviewWorld {
	t.Helper()
	return newReviewWorldWith(t, env, false)
}

// newReviewWorldWith is newReviewWorld with the round's blind review on or off.
func newReviewWorldWith(t *testing.T, env *apitest.Env, blind bool) *reviewWorld {
	t.Helper()
	publishMiniIndex(t, env)
	ctx := context.Background()
	r, err := env.App.Rounds.CreateRound(ctx, systemAdmin, round.RoundInput{ID: "r1", Name: "Notified", Questionnaire: "mini-index",
		QuestionnaireVer: "1", Countries: []string{"AT"}, ReviewersPerAnswer: 1, BlindReview: blind})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Rounds.SetStatus(ctx, systemAdmin, "r1", round.StatusOpen, r.Version); err != nil {
		t.Fatal(err)
	}
	at := func(role auth.Role) auth.Assignment { return auth.Assignment{Role: role, Round: "r1", Country: "AT"} }
	w := &reviewWorld{env: env}
	var ex, rv, co auth.User
	w.expert, ex = env.As(auth.RoleNone, at(auth.RoleExpert))
	w.reviewer, rv = env.As(auth.RoleNone, at(auth.RoleReviewer))
	w.coordinator, co = env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: "r1"})
	w.people = []auth.User{ex, rv, co}
	w.adm, _ = env.As(auth.RoleAdmin)
	return w
}

const atSheet = "/v1/rounds/r1/countries/AT"

// submit answers every applicable indicator and submits the sheet: one sheet.submitted.
func (w *reviewWorld) submit(t *testing.T) {
	t.Helper()
	for code, body := range reviewSheetAnswers {
		want(t, w.expert.Do(apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", code), Header: map[string]string{"If-Match": `"0"`}, Body: body}), 200, "answer "+code)
	}
	want(t, w.expert.Do(apitest.Request{Method: "POST", Path: atSheet + "/submit"}), 200, "submit")
}

// review plays the rest: approvals but LMM_1, a request on LMM_1 (the sheet returns), a
// dispute, the resubmission and the adjudication (ready to lock).
func (w *reviewWorld) review(t *testing.T) {
	t.Helper()
	var others []map[string]any
	for code := range reviewSheetAnswers {
		if code != "LMM_1" {
			others = append(others, map[string]any{"indicator": code, "version": 1})
		}
	}
	ans := answerPath("r1", "AT", "LMM_1")
	ifOne := map[string]string{"If-Match": `"1"`}
	want(t, w.reviewer.Do(apitest.Request{Method: "POST", Path: atSheet + "/approvals", Body: map[string]any{"answers": others}}), 200, "approvals")
	want(t, w.reviewer.Do(apitest.Request{Method: "POST", Path: ans + "/verdicts", Header: ifOne,
		Body: map[string]any{"decision": "request_changes", "reason": "the 2024 amendment restricts access"}}), 200, "request")
	want(t, w.expert.Do(apitest.Request{Method: "POST", Path: ans + "/dispute", Header: ifOne, Body: map[string]any{"text": "not in force"}}), 200, "dispute")
	want(t, w.expert.Do(apitest.Request{Method: "POST", Path: atSheet + "/submit"}), 200, "resubmit")
	want(t, w.coordinator.Do(apitest.Request{Method: "POST", Path: ans + "/adjudication", Header: ifOne,
		Body: map[string]any{"option": "full", "rationale": "the amendment applies from 2026"}}), 200, "adjudication")
}

var reviewKinds = []notify.Kind{notify.KindSheetSubmitted, notify.KindChangesRequested, notify.KindSheetReturned,
	notify.KindDisputed, notify.KindSheetResubmitted, notify.KindReadyToLock}

// TestWebhookReceivesAReviewsNotifications: a webhook receives, signed, one notification for
// every move of a review that put work on someone's queue, addressed to the right role, and the
// admin reads every delivery as delivered.
func TestWebhookReceivesAReviewsNotifications(t *testing.T) {
	env := apitest.New(t)
	w := newReviewWorld(t, env)
	rcv := newReceiver(t)
	id := rcv.add(t, w.adm, "/all")
	onlyLock := rcv.add(t, w.adm, "/lock", string(notify.KindReadyToLock))
	// Polls an hour apart: what arrives comes from the nudges of this instance's own writes.
	dispatch(t, env, "one", time.Hour)
	w.submit(t)
	w.review(t)

	rcv.waitFor(t, "every kind", func() bool { return len(rcv.keys("/all")) == len(reviewKinds) && len(rcv.keys("/lock")) == 1 })
	rcv.mu.Lock()
	got := map[notify.Kind]notify.Notification{}
	for k, n := range rcv.bodies {
		if strings.HasPrefix(k, "/all ") {
			got[n.Kind] = n
		}
	}
	rcv.mu.Unlock()
	roles := map[notify.Kind]auth.Role{notify.KindSheetSubmitted: auth.RoleReviewer, notify.KindChangesRequested: auth.RoleExpert,
		notify.KindSheetReturned: auth.RoleExpert, notify.KindDisputed: auth.RoleCoordinator, notify.KindSheetResubmitted: auth.RoleReviewer,
		notify.KindReadyToLock: auth.RoleCoordinator}
	for _, k := range reviewKinds {
		n, ok := got[k]
		if !ok || n.Audience.Role != roles[k] || n.Audience.Round != "r1" || n.Audience.Country != "AT" || !strings.HasPrefix(n.ID, "sheet/r1/AT/") {
			t.Errorf("%s: %+v", k, n)
		}
	}
	if n := got[notify.KindChangesRequested]; !slices.Equal(n.Indicators, []string{"LMM_1"}) {
		t.Errorf("changes requested on %v, want LMM_1", n.Indicators)
	}
	// No notification names a person: a blind review stays blind whoever reads the webhook.
	rcv.mu.Lock()
	for _, body := range rcv.raw {
		for _, u := range w.people {
			if strings.Contains(body, u.ID) || strings.Contains(body, u.Email) {
				t.Errorf("a notification names %s: %s", u.ID, body)
			}
		}
	}
	rcv.mu.Unlock()

	// The admin's view, paged: every delivery delivered at its first attempt (each outcome is
	// recorded just after the receiver answered, so the view is read until it shows them all).
	type deliveryView struct {
		Event, Kind, State string
		Attempts           []struct {
			Attempt int
			Status  string
			Code    int
		}
	}
	type deliveryPage struct {
		Deliveries []deliveryView
		Next       string
	}
	var all []deliveryView
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		var first, second deliveryPage
		res := w.adm.Do(apitest.Request{Method: "GET", Path: "/v1/webhooks/" + id + "/deliveries?limit=4"})
		want(t, res, 200, "deliveries")
		res.Decode(t, &first)
		res = w.adm.Do(apitest.Request{Method: "GET", Path: "/v1/webhooks/" + id + "/deliveries?limit=4&after=" + first.Next})
		want(t, res, 200, "second page")
		res.Decode(t, &second)
		if len(first.Deliveries) != 4 || second.Next != "" {
			t.Fatalf("pages of %d and %d deliveries, next %q", len(first.Deliveries), len(second.Deliveries), second.Next)
		}
		all = append(first.Deliveries, second.Deliveries...)
		settled := true
		for _, d := range all {
			settled = settled && d.State != "pending"
		}
		if settled || time.Now().After(deadline) {
			break
		}
	}
	if len(all) != len(reviewKinds) {
		t.Fatalf("deliveries: %d", len(all))
	}
	for _, d := range all {
		if d.State != "delivered" || len(d.Attempts) != 1 || d.Attempts[0].Code != 204 || d.Attempts[0].Status != "delivered" {
			t.Errorf("delivery %+v", d)
		}
	}
	// Deleting a webhook: 204, then 404; its deliveries are no longer listed through it.
	want(t, w.adm.Do(apitest.Request{Method: "DELETE", Path: "/v1/webhooks/" + onlyLock}), 204, "delete")
	want(t, w.adm.Do(apitest.Request{Method: "DELETE", Path: "/v1/webhooks/" + onlyLock}), 404, "delete again")
	want(t, w.adm.Do(apitest.Request{Method: "GET", Path: "/v1/webhooks/" + onlyLock + "/deliveries"}), 404, "deliveries of a deleted webhook")
}

// TestWebhookURLAndKindsAreValidated: problems name the field.
func TestWebhookURLAndKindsAreValidated(t *testing.T) {
	env := apitest.New(t)
	adm, _ := env.As(auth.RoleAdmin)
	for _, tt := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"url": "http://hooks.example.org/x"}, "url"},
		{map[string]any{"url": "https://user:pw@hooks.example.org/x"}, "url"},
		{map[string]any{"url": "https://hooks.example.org/x", "kinds": []string{"sheet.locked"}}, "kinds[0]"},
	} {
		res := adm.Do(apitest.Request{Method: "POST", Path: "/v1/webhooks", Body: tt.body, Invalid: tt.field == "kinds[0]"})
		if got := fieldsOf(t, res); res.Status != 400 || !slices.Contains(got, tt.field) {
			t.Errorf("%v: %d %v, want 400 naming %s", tt.body, res.Status, got, tt.field)
		}
	}
}

// TestWebhookRetriedWithBackoff: a webhook that fails twice gets the same notification a third
// time, with the same idempotency key, and the delivery ends delivered with three attempts.
func TestWebhookRetriedWithBackoff(t *testing.T) {
	env := apitest.New(t)
	w := newReviewWorld(t, env)
	rcv := newReceiver(t)
	rcv.respond = func(_ string, _ notify.Notification, attempt int) int {
		if attempt <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	id := rcv.add(t, w.adm, "/flaky")
	dispatch(t, env, "one", time.Hour)
	w.submit(t)
	rcv.waitFor(t, "the third attempt", func() bool { return len(rcv.keys("/flaky")) == 1 })

	rcv.mu.Lock()
	key := "/flaky " + rcv.keys("/flaky")[0]
	attempts := slices.Clone(rcv.attempts[key])
	rcv.mu.Unlock()
	if !slices.Equal(attempts, []int{1, 2, 3}) {
		t.Fatalf("attempts seen by the receiver: %v", attempts)
	}
	var page struct {
		Deliveries []struct {
			State    string
			Attempts []struct {
				Attempt  int
				Status   string
				Code     int
				Error    string
				Finished time.Time
				RetryAt  *time.Time `json:"retry_at"`
			}
		}
	}
	// The third attempt's outcome is recorded just after the receiver answered it.
	deadline := time.Now().Add(time.Minute)
	for {
		res := w.adm.Do(apitest.Request{Method: "GET", Path: "/v1/webhooks/" + id + "/deliveries"})
		want(t, res, 200, "deliveries")
		res.Decode(t, &page)
		if len(page.Deliveries) == 1 && page.Deliveries[0].State == "delivered" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	d := page.Deliveries[0]
	if d.State != "delivered" || len(d.Attempts) != 3 {
		t.Fatalf("delivery: %+v", d)
	}
	for i, a := range d.Attempts {
		wantStatus, wantCode := "failed", 503
		if i == 2 {
			wantStatus, wantCode = "delivered", 200
		}
		if a.Attempt != i+1 || a.Status != wantStatus || a.Code != wantCode {
			t.Errorf("attempt %d: %+v", i+1, a)
		}
		// A failed attempt names its error; its retry_at is cleared once the next one started.
		if i < 2 && (a.Error != "HTTP 503" || a.RetryAt != nil) {
			t.Errorf("attempt %d: error %q, retry_at %v", i+1, a.Error, a.RetryAt)
		}
	}
	res := env.Client().Do(apitest.Request{Method: "GET", Path: "/metrics"})
	for _, line := range []string{`expertsurvey_webhook_attempts_total{status="failed"} 2`, `expertsurvey_webhook_attempts_total{status="delivered"} 1`} {
		if !strings.Contains(string(res.Body), line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}

// TestHangingWebhookDoesNotHoldRequests: while a webhook holds a delivery open, the requests
// that cause further notifications complete.
func TestHangingWebhookDoesNotHoldRequests(t *testing.T) {
	env := apitest.New(t)
	w := newReviewWorld(t, env)
	rcv := newReceiver(t)
	release := make(chan struct{})
	hanging := make(chan struct{}, 16)
	rcv.respond = func(string, notify.Notification, int) int {
		hanging <- struct{}{}
		<-release
		return http.StatusOK
	}
	rcv.add(t, w.adm, "/slow")
	dispatch(t, env, "one", time.Hour)
	w.submit(t)
	<-hanging // the dispatcher is now inside the submission's delivery, which does not return
	// The whole rest of the review, five notifications more, goes through while it hangs.
	w.review(t)
	select {
	case <-release:
		t.Fatal("released early")
	default:
	}
	res := w.coordinator.Do(apitest.Request{Method: "GET", Path: atSheet})
	want(t, res, 200, "sheet")
	if res.JSON(t)["status"] != "ready_to_lock" {
		t.Fatalf("sheet after the review: %s", res.Body)
	}
	close(release)
	rcv.waitFor(t, "every notification after the release", func() bool { return len(rcv.keys("/slow")) == len(reviewKinds) })
}

// TestTwoInstancesDeliverEachNotificationOnce: two instances on one database, both running
// dispatchers over the same log, with moves made through both; every notification reaches each
// webhook exactly once.
func TestTwoInstancesDeliverEachNotificationOnce(t *testing.T) {
	env := apitest.New(t)
	w := newReviewWorld(t, env)
	other := apitest.NewOn(t, mongodbtest.SecondInstance(t, env.Store))
	rcv := newReceiver(t)
	paths := []string{"/a", "/b", "/c"}
	var ids []string
	for _, p := range paths {
		ids = append(ids, rcv.add(t, w.adm, p))
	}
	// Both poll every sheet often, so both see every entry (each also sees its own at once).
	dispatch(t, env, "one", 20*time.Millisecond)
	dispatch(t, other, "two", 20*time.Millisecond)
	w.submit(t)
	// The rest of the review through the second instance (tokens are valid on both).
	w2 := *w
	for _, c := range []**apitest.Client{&w2.expert, &w2.reviewer, &w2.coordinator} {
		moved := other.Client()
		moved.Token = (*c).Token
		*c = moved
	}
	w2.review(t)

	rcv.waitFor(t, "every notification at every webhook", func() bool {
		for _, p := range paths {
			if len(rcv.keys(p)) != len(reviewKinds) {
				return false
			}
		}
		return true
	})
	// Give both dispatchers many more scans over the same entries before counting.
	time.Sleep(50 * 20 * time.Millisecond)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	deliveries := 0
	for k, n := range rcv.received {
		deliveries += n
		if n != 1 || len(rcv.attempts[k]) != 1 {
			t.Errorf("%s: delivered %d times, attempts %v", k, n, rcv.attempts[k])
		}
	}
	if deliveries != len(paths)*len(reviewKinds) {
		t.Errorf("%d deliveries, want %d", deliveries, len(paths)*len(reviewKinds))
	}
	// Which instance won which claim varies from run to run; the log shows the split.
	byInstance := map[string]int{}
	for _, id := range ids {
		ds, err := env.Store.Deliveries(context.Background(), id, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if len(d.Attempts) != 1 {
				t.Errorf("%s: %d attempts", d.Event, len(d.Attempts))
			}
			for _, a := range d.Attempts {
				byInstance[a.Instance]++
			}
		}
	}
	t.Logf("deliveries by instance: %v", byInstance)
}

// TestRestartDeliversWhatWasHandedButNotClaimed: an instance saved its cursor at the end of the
// log and stopped before its workers claimed anything (the worst case of a crash); the next
// start reads back far enough to deliver every notification.
func TestRestartDeliversWhatWasHandedButNotClaimed(t *testing.T) {
	env := apitest.New(t)
	w := newReviewWorld(t, env)
	rcv := newReceiver(t)
	rcv.add(t, w.adm, "/late")
	w.submit(t)
	w.review(t)
	ctx := context.Background()
	sh, err := env.App.Rounds.Sheet(ctx, systemAdmin, "r1", "AT")
	if err != nil {
		t.Fatal(err)
	}
	end := sh.Sheet.Seq
	if err := env.Store.SaveSheetCursor(ctx, notify.Sheet{Round: "r1", Country: "AT"}, end); err != nil {
		t.Fatal(err)
	}
	dispatch(t, env, "restarted", 20*time.Millisecond)
	rcv.waitFor(t, "every notification", func() bool { return len(rcv.keys("/late")) == len(reviewKinds) })
	if start, err := env.Store.StartSeq(ctx, notify.Sheet{Round: "r1", Country: "AT"}); err != nil || start != end {
		t.Errorf("cursor after the restart: %d, %v; want %d", start, err, end)
	}
}

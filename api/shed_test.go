package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/api"
	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/auth"
)

// heldBody is a request body that tells when the handler starts reading it, then holds the
// request (and the slot it took) until released.
type heldBody struct {
	started, release chan struct{}
	rest             io.Reader
}

func (b *heldBody) Read(p []byte) (int, error) {
	if b.started != nil {
		close(b.started)
		b.started = nil
		<-b.release
	}
	return b.rest.Read(p)
}

// With one write slot and one request per client, a second write is shed with 503 and a
// second request of the same client with 429, both with Retry-After and a problem body; reads
// and health checks keep flowing meanwhile; once the held request ends, the same requests
// succeed: the server recovers by itself.
func TestShedsPastItsLimitsAndRecovers(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	openRound(t, env, "r1", "")
	_, expert := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleExpert, Round: "r1", Country: "AT"})
	token := loginToken(t, env, expert.Email)
	shedding, err := app.New(env.Store, app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: apitest.TestKeys,
		Shed: api.ShedLimits{Reads: 1, Writes: 1, Wait: 20 * time.Millisecond, PerClient: 1}})
	if err != nil {
		t.Fatal(err)
	}
	shedding.Server.MarkReady()
	c := apitest.NewClient(t, shedding.Server)
	c.Token = token

	// A sign-in without a token (its client is the remote address) holds the only write slot
	// while the handler waits for the rest of its body.
	held := &heldBody{started: make(chan struct{}), release: make(chan struct{}),
		rest: strings.NewReader(`{"email":"nobody@example.org","password":"not the password at all"}`)}
	started := held.started
	heldReq := httptest.NewRequest(http.MethodPost, "/v1/auth/login", held)
	heldReq.Header.Set("Content-Type", "application/json")
	heldDone := make(chan int, 1)
	go func() {
		rec := httptest.NewRecorder()
		shedding.Server.ServeHTTP(rec, heldReq)
		heldDone <- rec.Code
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the held request never reached its handler")
	}

	save := apitest.Request{Method: "PUT", Path: answerPath("r1", "AT", "LMM_1"), Header: ifMatch(`"0"`),
		Body: map[string]any{"option": "partial", "comment": "Saved after the overload."}}
	r := c.Do(save)
	wantShed(t, r, http.StatusServiceUnavailable, "/problems/unavailable")
	// Reads have their own slots, and health checks are never shed.
	if r := c.Do(apitest.Request{Method: "GET", Path: answerPath("r1", "AT", "LMM_1")}); r.Status != http.StatusOK {
		t.Fatalf("a read while writes are shed: %d %s", r.Status, r.Body)
	}
	if r := c.Do(apitest.Request{Method: "GET", Path: "/livez", NoToken: true}); r.Status != http.StatusOK {
		t.Fatalf("/livez while shedding: %d", r.Status)
	}
	// The same address again, while its first request is in flight: that client's bound.
	login := apitest.Request{Method: "POST", Path: "/v1/auth/login", NoToken: true,
		Body: map[string]string{"email": expert.Email, "password": apitest.Password}}
	wantShed(t, c.Do(login), http.StatusTooManyRequests, "/problems/too-many-requests")

	close(held.release)
	if code := <-heldDone; code != http.StatusUnauthorized {
		t.Fatalf("the held sign-in got %d, want its real answer 401", code)
	}
	if r := c.Do(save); r.Status != http.StatusOK {
		t.Fatalf("the save after the overload: %d %s", r.Status, r.Body)
	}
	if r := c.Do(login); r.Status != http.StatusOK {
		t.Fatalf("the sign-in after the overload: %d %s", r.Status, r.Body)
	}
	metrics := c.Do(apitest.Request{Method: "GET", Path: "/metrics", NoToken: true})
	for _, line := range []string{
		`expertsurvey_http_shed_total{class="write",reason="busy"} 1`,
		`expertsurvey_http_shed_total{class="write",reason="client"} 1`,
		`expertsurvey_http_in_flight{class="write"} 0`,
	} {
		if !strings.Contains(string(metrics.Body), line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

func wantShed(t *testing.T, r *apitest.Response, status int, typ string) {
	t.Helper()
	var p struct {
		Type       string
		RetryAfter int `json:"retry_after"`
	}
	if r.Status != status {
		t.Fatalf("got %d %s, want %d", r.Status, r.Body, status)
	}
	r.Decode(t, &p)
	if p.Type != typ || r.Header.Get("Retry-After") != "1" || p.RetryAfter != 1 {
		t.Fatalf("shed answer: type %q, Retry-After %q, body %s", p.Type, r.Header.Get("Retry-After"), r.Body)
	}
}

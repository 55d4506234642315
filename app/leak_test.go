package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/internal/loadkit"
	"github.com/expertsurvey/expertsurvey/mongodb"
)

// abortedRequests sends, from 8 clients at once, rounds of requests whose clients go away
// part-way: a save cut off while its body is sent or just after, a sheet load and an export
// stream dropped once their answer has begun, and an answers import (an upload) cut off in the
// middle of its body.
func abortedRequests(t *testing.T, base, token string, countries []string, rounds int) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	abort := func(method, path, contentType string, body func(w *io.PipeWriter), afterHeaders bool) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var rd io.Reader
		if body != nil {
			pr, pw := io.Pipe()
			go func() {
				body(pw)
				cancel() // the client gives up while (or just after) sending
				pw.CloseWithError(context.Canceled)
			}()
			rd = pr
		}
		req, _ := http.NewRequestWithContext(ctx, method, base+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
			req.Header.Set("If-Match", `"1"`)
		}
		resp, err := client.Do(req)
		if err == nil {
			if afterHeaders {
				_, _ = io.CopyN(io.Discard, resp.Body, 64) // the answer has begun; then the client leaves
				cancel()
			}
			resp.Body.Close()
		}
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				country := countries[(w+i)%len(countries)]
				answer := "/v1/rounds/leak/countries/" + country + "/answers/" + loadkit.Indicator(i%40)
				save := `{"option":"full","comment":"Cut off.","sources":[{"kind":"law","title":"Act","url":"https://example.org/act"}]}`
				abort(http.MethodPut, answer, "application/json", func(w *io.PipeWriter) {
					_, _ = w.Write([]byte(save[:len(save)/2]))
				}, false)
				abort(http.MethodPut, answer, "application/json", func(w *io.PipeWriter) {
					_, _ = w.Write([]byte(save))
					time.Sleep(time.Duration(rand.N(3000)) * time.Microsecond)
				}, false)
				abort(http.MethodGet, "/v1/rounds/leak/countries/"+country, "", nil, true)
				abort(http.MethodGet, "/v1/rounds/leak/export?format=ndjson&shape=long", "", nil, true)
				abort(http.MethodPost, "/v1/rounds/leak/answers/import", "text/csv", func(w *io.PipeWriter) {
					_, _ = w.Write([]byte("country,indicator,option,comment,source_kind,source_title,source_url\n"))
					for k := range 2000 {
						fmt.Fprintf(w, "%s,%s,partial,Imported.,law,Act,https://example.org/act\n", country, loadkit.Indicator(k%40))
					}
				}, false)
			}
		}()
	}
	wg.Wait()
}

// Clients that hang up mid-request (during a save, a sheet load, an upload, an export stream)
// leave no goroutine and no store connection behind: after a warm-up round that grows the
// pools to their working size, 240 aborted requests end with as many
// goroutines as before (within a small allowance for timers and the runtime) and every store
// connection given back.
func TestAbortedRequestsLeakNothing(t *testing.T) {
	ctx := context.Background()
	store, err := mongodb.Open(ctx, mongodb.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close(context.Background()) })
	a, err := app.New(store, app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: apitest.TestKeys})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	a.Server.MarkReady()
	if err := loadkit.PublishInstrument(ctx, a, 40); err != nil {
		t.Fatal(err)
	}
	countries := loadkit.Countries(8)
	if err := loadkit.Seed(ctx, a, loadkit.Round{ID: "leak", Countries: countries, Indicators: 40, Sources: 2}); err != nil {
		t.Fatal(err)
	}
	u, _, err := a.Auth.BootstrapUser(ctx, auth.NewUser{Email: "coordinator@leak.test", DisplayName: "Coordinator", Password: apitest.Password})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Auth.Grant(ctx, loadkit.Admin, u.ID, auth.Assignment{Role: auth.RoleCoordinator, Round: auth.AllRounds}, u.Version); err != nil {
		t.Fatal(err)
	}
	sess, err := a.Auth.Login(ctx, u.Email, apitest.Password, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Server)
	defer srv.Close()

	abortedRequests(t, srv.URL, sess.AccessToken, countries, 2) // warm-up: pools, caches, background workers
	before, beforeStats := settle(t, store, 0)
	abortedRequests(t, srv.URL, sess.AccessToken, countries, 6)
	after, afterStats := settle(t, store, before)
	t.Logf("goroutines %d before, %d after 240 aborted requests; store connections open %d before, %d after, in use %d",
		before, after, beforeStats.ConnectionsOpen, afterStats.ConnectionsOpen, afterStats.ConnectionsInUse)
	if after > before+leakAllowance {
		var stacks bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
		t.Errorf("%d goroutines after the aborted requests, %d before:\n%s", after, before, stacks.String())
	}
	if afterStats.ConnectionsInUse != 0 {
		t.Errorf("%d store connections still checked out after the aborted requests", afterStats.ConnectionsInUse)
	}
	if afterStats.ConnectionsOpen > beforeStats.ConnectionsOpen+leakAllowance {
		t.Errorf("%d store connections open after the aborted requests, %d before", afterStats.ConnectionsOpen, beforeStats.ConnectionsOpen)
	}
}

// leakAllowance absorbs goroutines and connections that come and go on their own (a driver
// connection replacing one closed mid-command, a timer); a leak of one per aborted request
// would be hundreds.
const leakAllowance = 8

// settle waits (up to 20 s) until no store connection is in use and the goroutine count is
// within leakAllowance of target (with target 0: until the count stops changing), and returns
// the count and the store's counters.
func settle(t *testing.T, store *mongodb.Store, target int) (int, mongodb.Stats) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	last := -1
	for {
		runtime.GC()
		n, st := runtime.NumGoroutine(), store.Stats()
		stable := target == 0 && n == last
		if st.ConnectionsInUse == 0 && (stable || (target > 0 && n <= target+leakAllowance)) || time.Now().After(deadline) {
			return n, st
		}
		last = n
		time.Sleep(200 * time.Millisecond)
	}
}

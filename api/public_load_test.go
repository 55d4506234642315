package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/api/apitest"
)

// TestPublicScoresLoad measures the public scores of a published round of 12 countries read by
// 16 concurrent clients over real HTTP (loopback, keep-alive) for 5 seconds; figures in
// docs/performance.md ("Public reads"):
//
//	EXPERTSURVEY_LOAD=1 go test -run TestPublicScoresLoad -v ./api/
//
// It is a load measurement, not a check: it only fails on an error status.
func TestPublicScoresLoad(t *testing.T) {
	if os.Getenv("EXPERTSURVEY_LOAD") == "" {
		t.Skip("set EXPERTSURVEY_LOAD=1 to measure")
	}
	env := apitest.New(t)
	publishMiniIndex(t, env)
	var countries []string
	for i := range 12 {
		countries = append(countries, fmt.Sprintf("C%c", 'A'+i))
	}
	w := newPublishWorld(t, env, "load", countries...)
	for _, c := range countries {
		w.ready(t, c)
	}
	want(t, w.coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/load/lock", Body: map[string]any{}}), 200, "lock")
	for _, to := range []string{"closed", "published"} {
		cur := w.coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/load"})
		want(t, w.coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/load/status", Header: etagOf(cur), Body: map[string]any{"status": to}}), 200, to)
	}
	srv := httptest.NewServer(env.App.Server)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	url := srv.URL + "/v1/public/rounds/load/scores"
	const clients, duration = 16, 5 * time.Second
	var done, failed atomic.Int64
	var bytes atomic.Int64
	lat := make([][]time.Duration, clients)
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for g := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				start := time.Now()
				res, err := client.Get(url)
				if err != nil {
					failed.Add(1)
					continue
				}
				n, _ := io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					failed.Add(1)
					continue
				}
				bytes.Add(n)
				done.Add(1)
				lat[g] = append(lat[g], time.Since(start))
			}
		}()
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	p := func(q float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		sortDurations(all)
		return all[int(q*float64(len(all)-1))]
	}
	t.Logf("public scores, 12 countries, %d clients, %v: %d requests (%.0f/s), %d failed, %d bytes each, p50 %v, p99 %v",
		clients, duration, done.Load(), float64(done.Load())/duration.Seconds(), failed.Load(), bytes.Load()/max(1, done.Load()), p(0.5), p(0.99))
	if failed.Load() > 0 {
		t.Fatalf("%d requests failed", failed.Load())
	}
}

func sortDurations(d []time.Duration) { slices.Sort(d) }

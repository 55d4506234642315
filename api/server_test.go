package api_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/api"
	"github.com/expertsurvey/expertsurvey/api/apitest"
)

type fakePinger struct{ err error }

func (f *fakePinger) Ping(context.Context) error { return f.err }

func newServer(t *testing.T, store api.Pinger) *api.Server {
	t.Helper()
	s, err := api.New(api.Config{Logger: slog.New(slog.DiscardHandler), Store: store})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoutesAndSpecAreTheSameSet(t *testing.T) {
	spec, _ := apitest.Spec(t)
	s := newServer(t, &fakePinger{})
	inSpec := map[string]bool{}
	for path, item := range spec.Paths.Map() {
		for method := range item.Operations() {
			inSpec[method+" "+path] = true
		}
	}
	inEcho := map[string]bool{}
	for _, r := range s.Routes() {
		inEcho[r[0]+" "+apitest.EchoPathToSpec(r[1])] = true
	}
	var missing, extra []string
	for k := range inEcho {
		if !inSpec[k] {
			missing = append(missing, k)
		}
	}
	for k := range inSpec {
		if !inEcho[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("routes not in openapi.yaml: %v\nspec operations with no route: %v", missing, extra)
	}
}

func TestOperationsEndpoints(t *testing.T) {
	pinger := &fakePinger{}
	s := newServer(t, pinger)
	c := apitest.NewClient(t, s)
	if r := c.Do(apitest.Request{Method: "GET", Path: "/readyz"}); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("readyz before start-up finished: %d", r.Status)
	}
	s.MarkReady()
	for _, path := range []string{"/livez", "/healthz", "/readyz", "/openapi.yaml", "/docs", "/metrics"} {
		if r := c.Do(apitest.Request{Method: "GET", Path: path}); r.Status != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, r.Status, r.Body)
		}
	}
	pinger.err = errors.New("down")
	if r := c.Do(apitest.Request{Method: "GET", Path: "/readyz"}); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the store down: %d", r.Status)
	}
	pinger.err = nil
	s.Drain()
	if r := c.Do(apitest.Request{Method: "GET", Path: "/readyz"}); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("readyz while draining: %d", r.Status)
	}
	if r := c.Do(apitest.Request{Method: "GET", Path: "/livez"}); r.Status != http.StatusOK {
		t.Fatalf("livez while draining: %d", r.Status)
	}
}

// /docs is Swagger UI from the binary's own files: the page loads nothing from elsewhere, its
// files are served with their types under a strict Content-Security-Policy, and nothing else is.
// TestDocsRenderInABrowser checks that it renders the contract.
func TestDocsPageUsesOnlyItsOwnAssets(t *testing.T) {
	s := newServer(t, &fakePinger{})
	c := apitest.NewClient(t, s)
	r := c.Do(apitest.Request{Method: "GET", Path: "/docs"})
	page := string(r.Body)
	if r.Status != http.StatusOK || !strings.Contains(page, `id="swagger-ui"`) {
		t.Fatalf("/docs: %d %s", r.Status, page)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	for _, external := range []string{"http://", "https://", "//cdn", "unpkg", "jsdelivr"} {
		if strings.Contains(page, external) {
			t.Errorf("/docs references %q: assets must be embedded", external)
		}
	}
	for asset, ct := range map[string]string{"swagger-ui-bundle.js": "text/javascript", "init.js": "text/javascript", "swagger-ui.css": "text/css"} {
		if !strings.Contains(page, "/docs/"+asset) {
			t.Errorf("/docs does not load %s", asset)
		}
		r := c.Do(apitest.Request{Method: "GET", Path: "/docs/" + asset})
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), ct) || len(r.Body) == 0 {
			t.Errorf("/docs/%s: %d %q", asset, r.Status, r.Header.Get("Content-Type"))
		}
	}
	for _, name := range []string{"VERSION", "LICENSE", "index.html", "..%2Fdocs.go"} {
		if r := c.Do(apitest.Request{Method: "GET", Path: "/docs/" + name}); r.Status != http.StatusNotFound {
			t.Errorf("/docs/%s: %d", name, r.Status)
		}
	}
}

func TestMetricsCountRequestsByRouteAndStatus(t *testing.T) {
	m := api.NewMetrics()
	s, err := api.New(api.Config{Logger: slog.New(slog.DiscardHandler), Store: &fakePinger{}, Metrics: m, Version: "v1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	c := apitest.NewClient(t, s)
	if live := c.Do(apitest.Request{Method: "GET", Path: "/livez"}).JSON(t); live["version"] != "v1.2.3" {
		t.Errorf("/livez does not name the version: %v", live)
	}
	c.Do(apitest.Request{Method: "GET", Path: "/no/such/route", Invalid: true})
	m.ObserveStore("find", 1e6, false)
	m.CountSwept("refresh_tokens", 3)
	m.SweepSucceeded(time.Unix(1700000000, 0))
	body := string(c.Do(apitest.Request{Method: "GET", Path: "/metrics"}).Body)
	for _, want := range []string{
		`expertsurvey_http_requests_total{method="GET",route="/livez",status="200"} 1`,
		`expertsurvey_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`expertsurvey_store_command_duration_seconds_count{command="find",outcome="ok"} 1`,
		`go_goroutines`,
		`expertsurvey_build_info{goversion="go`,
		`version="v1.2.3"} 1`,
		`expertsurvey_swept_rows_total{kind="refresh_tokens"} 3`,
		`expertsurvey_sweep_last_success_timestamp_seconds 1.7e+09`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

package api_test

// OWASP API Security Top 10 (2023), API9: improper inventory management. The router's routes
// and openapi.yaml's operations are one set (TestRoutesAndSpecAreTheSameSet in server_test.go;
// every API test's traffic is validated against the document by apitest). Here: the service
// assembled as production assembles it serves exactly the documented operations, less /metrics
// (on its own address there), and no debugging or profiling endpoint answers.

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

func TestProductionServesOnlyTheDocumentedOperations(t *testing.T) {
	a, err := app.New(mongodbtest.New(t), app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: apitest.TestKeys,
		Production: true, SeparateMetrics: true})
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := apitest.Spec(t)
	var documented, served []string
	for path, item := range spec.Paths.Map() {
		for method := range item.Operations() {
			if path != "/metrics" {
				documented = append(documented, method+" "+path)
			}
		}
	}
	for _, r := range a.Server.Routes() {
		served = append(served, r[0]+" "+apitest.EchoPathToSpec(r[1]))
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("production routes differ from openapi.yaml (less /metrics):\nserved:     %v\ndocumented: %v", served, documented)
	}
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/vars", "/metrics", "/v1/debug", "/v2/rounds", "/v0/rounds", "/v1/internal/users", "/.env", "/swagger.json"} {
		rec := httptest.NewRecorder()
		a.Server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		// Under /v1 the sign-in wall comes first: an anonymous caller learns nothing of what exists.
		ok := rec.Code == http.StatusNotFound || strings.HasPrefix(p, "/v1/") && rec.Code == http.StatusUnauthorized
		if !ok || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
			t.Errorf("GET %s in production: %d %s; want a 404 problem", p, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}

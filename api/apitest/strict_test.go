package apitest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// recordingTB stands in for the test that uses the client, keeping what the validator reports
// instead of failing.
type recordingTB struct {
	testing.TB
	reports []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.reports = append(r.reports, fmt.Sprintf(format, args...))
}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.TB.Helper()
	r.TB.Fatalf(format, args...)
}

// TestValidatorRefusesWhatTheDocumentDoesNotDeclare checks the checker: a handler answering
// GET /livez with something the document does not declare makes the client report it, and
// the declared answer passes.
func TestValidatorRefusesWhatTheDocumentDoesNotDeclare(t *testing.T) {
	cases := []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   string // in the report; empty when the answer conforms
	}{
		{name: "declared", status: 200, header: map[string]string{"X-Request-Id": "r1"}, body: `{"status":"ok","version":"v1"}`},
		{name: "undeclared status", status: 418, body: `{"type":"about:blank","title":"teapot","status":418}`, want: "status 418 is not declared"},
		{name: "undeclared 4xx not excused by default", status: 409, body: `{"type":"about:blank","title":"Conflict","status":409}`, want: "status 409 is not declared"},
		{name: "undeclared header", status: 200, header: map[string]string{"X-Secret": "1"}, body: `{"status":"ok"}`, want: "header X-Secret is not declared"},
		{name: "undeclared field", status: 200, body: `{"status":"ok","uptime":3}`, want: "body field uptime is not declared"},
		{name: "5xx falls to default", status: 500, body: `{"type":"/problems/internal","title":"Internal error","status":500}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				ct := "application/json"
				if tc.status >= 400 {
					ct = "application/problem+json"
				}
				w.Header().Set("Content-Type", ct)
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			rec := &recordingTB{TB: t}
			NewClient(rec, h).Do(Request{Method: http.MethodGet, Path: "/livez", NoToken: true})
			got := strings.Join(rec.reports, "\n")
			switch {
			case tc.want == "" && got != "":
				t.Errorf("a conforming answer was refused:\n%s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("want a report containing %q, got:\n%s", tc.want, got)
			}
		})
	}
}

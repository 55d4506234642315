package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
)

// TestProblemTypesAreServed: every problem type the contract lists resolves to its page, the
// index lists them all, and an unknown type is a 404 problem.
func TestProblemTypesAreServed(t *testing.T) {
	env := apitest.New(t)
	c := env.Client()
	doc, _ := apitest.Spec(t)
	types := doc.Components.Schemas["ProblemType"].Value.Enum
	if len(types) < 2 {
		t.Fatalf("ProblemType lists %v", types)
	}
	index := c.Do(apitest.Request{Method: http.MethodGet, Path: "/problems", NoToken: true})
	if index.Status != http.StatusOK {
		t.Fatalf("GET /problems: %d", index.Status)
	}
	for _, v := range types {
		uri := v.(string)
		if uri == "about:blank" {
			continue
		}
		if !strings.Contains(string(index.Body), `href="`+uri+`"`) {
			t.Errorf("GET /problems does not link %s", uri)
		}
		page := c.Do(apitest.Request{Method: http.MethodGet, Path: uri, NoToken: true})
		if page.Status != http.StatusOK || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(page.Body), "<code>"+uri+"</code>") {
			t.Errorf("GET %s: %d %s\n%s", uri, page.Status, page.Header.Get("Content-Type"), page.Body)
		}
	}
	if r := c.Do(apitest.Request{Method: http.MethodGet, Path: "/problems/no-such-type", NoToken: true}); r.Status != http.StatusNotFound {
		t.Errorf("unknown type: %d, want 404", r.Status)
	}
}

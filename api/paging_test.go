package api

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"
)

// TestKeyPage walks a list held whole by a service page after page: items come by key whatever
// the service's order, a page boundary holds when the item it was cut at is removed between two
// requests, and a limit out of range is a problem naming it.
func TestKeyPage(t *testing.T) {
	e := echo.New()
	page := func(items []string, query string) ([]string, string, error) {
		c := e.NewContext(httptest.NewRequest("GET", "/list?"+query, nil), httptest.NewRecorder())
		return keyPage(c, items, func(s *string) string { return *s }, 2, 3)
	}
	items := []string{"c", "a", "e", "b", "d"}
	var got []string
	var pages int
	for query := ""; ; pages++ {
		p, next, err := page(items, query)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p...)
		if next == "" {
			break
		}
		if next != p[len(p)-1] {
			t.Fatalf("next %q is not the key of the page's last item %q", next, p[len(p)-1])
		}
		query = "after=" + next
	}
	if !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) || pages != 2 {
		t.Fatalf("pages gave %v in %d pages after the first, want a..e in 3 pages", got, pages)
	}
	if !slices.Equal(items, []string{"c", "a", "e", "b", "d"}) {
		t.Fatalf("the service's list was reordered: %v", items)
	}
	// "b" ended the first page and was removed since: the next page still starts at "c".
	if p, next, err := page([]string{"a", "c", "d", "e"}, "after=b&limit=3"); err != nil || !slices.Equal(p, []string{"c", "d", "e"}) || next != "" {
		t.Fatalf("after a removed key: %v %q %v", p, next, err)
	}
	if p, next, err := page(items, "after=z"); err != nil || len(p) != 0 || next != "" {
		t.Fatalf("after the last key: %v %q %v", p, next, err)
	}
	for _, q := range []string{"limit=0", "limit=4", "limit=x"} {
		_, _, err := page(items, q)
		if p, _ := toProblem(err); err == nil || p.Status != 400 || len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Field, "limit") {
			t.Errorf("%s: %v, want a problem naming limit", q, err)
		}
	}
}

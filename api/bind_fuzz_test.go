package api

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/labstack/echo/v5"
)

// FuzzBindJSON feeds arbitrary bodies and query strings to the request decoders (plainQuery,
// then bindJSON into a few of the API's request types): they must never panic, every refusal
// must be a problem of 4xx, and what is accepted must hold no control character where the
// field forbids one. Seeds: below, and testdata/fuzz/FuzzBindJSON.
func FuzzBindJSON(f *testing.F) {
	f.Add([]byte(`{"option":"full","comment":"c","sources":[{"kind":"law","title":"Act","url":"https://example.org"}]}`), "")
	f.Add([]byte(`{"answers":[{"indicator":"A","option":"x"}],"overrides":[{"node":"A","score":1e400,"reason":"r"}]}`), "dry_run=true")
	f.Add([]byte(`{"comment":{"$ne":""}}`), "limit[$ne]=1")
	f.Add([]byte("{\"comment\":\"a\x00b\"}"), "after=%ff")
	f.Add([]byte(`{"countries":["AT","BE"]} {}`), "x=%zz")
	e := echo.New()
	targets := []func() any{
		func() any { return new(answerRequest) },
		func() any { return new(scoreRequest) },
		func() any {
			return new(struct {
				Countries []string `json:"countries" validate:"max=400,dive,max=64"`
			})
		},
	}
	f.Fuzz(func(t *testing.T, body []byte, query string) {
		for _, target := range targets {
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			req.URL.RawQuery = query
			req.Header.Set("Content-Type", "application/json")
			c := e.NewContext(req, httptest.NewRecorder())
			dst := target()
			err := plainQuery(func(c *echo.Context) error { return bindJSON(c, dst) })(c)
			if err != nil {
				var pe *problemError
				if !errors.As(err, &pe) || pe.p.Status < 400 || pe.p.Status >= 500 {
					t.Fatalf("refusal %T %v; want a 4xx problem", err, err)
				}
				continue
			}
			if bad := controlCharacters(reflect.ValueOf(dst), ""); len(bad) > 0 {
				t.Fatalf("accepted %+v with control characters in %v", dst, bad)
			}
		}
	})
}

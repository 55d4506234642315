package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"
)

// probeRequest exercises the decoder's rules on a route that exists only in this test.
type probeRequest struct {
	Name    string        `json:"name" validate:"required,max=10"`
	Count   int           `json:"count" validate:"gte=0,lte=5"`
	Email   string        `json:"email,omitempty" validate:"omitempty,email"`
	Sources []probeSource `json:"sources" validate:"dive"`
}

type probeSource struct {
	URL string `json:"url" validate:"required,http_url"`
}

func newBareServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Config{Logger: slog.New(slog.DiscardHandler), Store: nil, BodyLimit: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	s.echo.POST("/probe", func(c *echo.Context) error {
		var req probeRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, req)
	})
	s.echo.GET("/panic", func(c *echo.Context) error { panic("secret internal detail") })
	return s
}

func send(t *testing.T, s *Server, method, path, contentType, body string) (*httptest.ResponseRecorder, Problem) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var p Problem
	if rec.Code >= 400 {
		if ct := rec.Header().Get("Content-Type"); ct != problemContentType {
			t.Fatalf("%s %s: content type %q, want %s", method, path, ct, problemContentType)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatalf("problem body: %v: %s", err, rec.Body)
		}
		if p.Status != rec.Code || p.Type == "" || p.Title == "" || p.RequestID == "" {
			t.Fatalf("incomplete problem %+v", p)
		}
	}
	return rec, p
}

func TestBadRequestsGetProblemsNamingTheField(t *testing.T) {
	s := newBareServer(t)
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		field       string
		reason      string
	}{
		{"broken JSON", "application/json", `{"name": "a",`, 400, "", ""},
		{"syntax error", "application/json", `{"name": 'a'}`, 400, "", ""},
		{"empty body", "application/json", ``, 400, "", ""},
		{"two values", "application/json", `{"name":"a"} {}`, 400, "", ""},
		{"wrong content type", "text/plain", `{"name":"a"}`, 415, "Content-Type", "must be application/json"},
		{"no content type", "", `{"name":"a"}`, 415, "Content-Type", "must be application/json"},
		{"unknown field", "application/json", `{"name":"a","colour":"red"}`, 400, "colour", "unknown field"},
		{"wrong type", "application/json", `{"name":5}`, 400, "name", "must be a string, not number"},
		{"missing required", "application/json", `{"count":1}`, 400, "name", "is required"},
		{"too long", "application/json", `{"name":"abcdefghijk"}`, 400, "name", "must be at most 10 characters long"},
		{"out of range", "application/json", `{"name":"a","count":9}`, 400, "count", "must be at most 5"},
		{"bad email", "application/json", `{"name":"a","email":"nope"}`, 400, "email", "must be an email address"},
		{"nested", "application/json", `{"name":"a","sources":[{"url":"https://ok.example"},{"url":"ftp:/x"}]}`, 400, "sources[1].url", "must be an absolute http(s) URL"},
		{"too large", "application/json", `{"name":"` + strings.Repeat("x", 2000) + `"}`, 413, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, p := send(t, s, http.MethodPost, "/probe", tt.contentType, tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.field == "" {
				return
			}
			for _, fe := range p.Errors {
				if fe.Field == tt.field && fe.Reason == tt.reason {
					return
				}
			}
			t.Fatalf("errors %+v lack {%s: %s}", p.Errors, tt.field, tt.reason)
		})
	}
}

func TestStreamedBodyOverTheLimitIs413(t *testing.T) {
	s := newBareServer(t)
	// No Content-Length: the limit must hold while reading, not only from the header.
	body := `{"name":"` + strings.Repeat("x", 5000) + `"}`
	req := httptest.NewRequest(http.MethodPost, "/probe", struct{ *strings.Reader }{strings.NewReader(body)})
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %s", rec.Code, rec.Body)
	}
}

func TestValidBodyPasses(t *testing.T) {
	s := newBareServer(t)
	rec, _ := send(t, s, http.MethodPost, "/probe", "application/json; charset=utf-8", `{"name":"ok","count":2,"sources":[{"url":"https://example.org/law"}]}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}

func TestPanicIsA500ThatRevealsNothing(t *testing.T) {
	s := newBareServer(t)
	rec, p := send(t, s, http.MethodGet, "/panic", "", "")
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "secret") || strings.Contains(rec.Body.String(), "goroutine") {
		t.Fatalf("500 leaks internals: %s", rec.Body)
	}
	if p.Type != "/problems/internal" {
		t.Fatalf("type %q", p.Type)
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	s := newBareServer(t)
	if rec, p := send(t, s, http.MethodGet, "/nothing-here", "", ""); rec.Code != 404 || p.Type != "/problems/not-found" {
		t.Fatalf("unknown route: %d %+v", rec.Code, p)
	}
	rec, _ := send(t, s, http.MethodDelete, "/livez", "", "")
	if rec.Code != http.StatusMethodNotAllowed || !strings.Contains(rec.Header().Get("Allow"), "GET") {
		t.Fatalf("wrong method: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

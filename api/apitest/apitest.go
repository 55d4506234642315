// Package apitest drives the API in tests: a server on a fresh database of the real embedded
// store, and a client that validates every request and response against openapi.yaml.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/expertsurvey/expertsurvey"
)

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

// Spec returns the parsed contract and a router over it.
func Spec(tb testing.TB) (*openapi3.T, routers.Router) {
	tb.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		specDoc, specErr = loader.LoadFromData(expertsurvey.OpenAPI)
		if specErr != nil {
			return
		}
		if specErr = specDoc.Validate(context.Background()); specErr != nil {
			return
		}
		// Plain-text media types the validator has no decoder for are checked as strings.
		for _, ct := range []string{"application/yaml", "text/html", "text/csv", "text/javascript", "text/css"} {
			openapi3filter.RegisterBodyDecoder(ct, func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
				b, err := io.ReadAll(r)
				return string(b), err
			})
		}
		specRouter, specErr = gorillamux.NewRouter(specDoc)
	})
	if specErr != nil {
		tb.Fatalf("openapi.yaml: %v", specErr)
	}
	return specDoc, specRouter
}

// Client sends requests to a handler and checks both directions against the contract.
type Client struct {
	tb      testing.TB
	handler http.Handler
	// Token is sent as a bearer token when a Request does not name one.
	Token string
}

// NewClient wraps h.
func NewClient(tb testing.TB, h http.Handler) *Client {
	return &Client{tb: tb, handler: h}
}

// Request describes one call. Body is JSON-encoded unless it is a string or []byte, which are
// sent as they are (for malformed-input tests).
type Request struct {
	Method      string
	Path        string
	Token       string
	NoToken     bool
	Body        any
	ContentType string
	Header      map[string]string
	// Invalid marks a request that deliberately breaks the contract (a malformed body, an
	// unknown route): it is not validated, but its response still is when the route exists.
	Invalid bool
}

// Response is what came back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Decode unmarshals the body into v, failing the test on error.
func (r *Response) Decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("decode %s: %v", r.Body, err)
	}
}

// JSON returns the body as a generic map.
func (r *Response) JSON(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	r.Decode(tb, &m)
	return m
}

// Do sends req and validates it and its response against the contract.
func (c *Client) Do(req Request) *Response {
	c.tb.Helper()
	var body []byte
	switch b := req.Body.(type) {
	case nil:
	case string:
		body = []byte(b)
	case []byte:
		body = b
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			c.tb.Fatalf("encode body: %v", err)
		}
	}
	httpReq := httptest.NewRequest(req.Method, req.Path, bytes.NewReader(body))
	if body != nil {
		ct := req.ContentType
		if ct == "" {
			ct = "application/json"
		}
		httpReq.Header.Set("Content-Type", ct)
	}
	token := req.Token
	if token == "" && !req.NoToken {
		token = c.Token
	}
	if token != "" {
		httpReq.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range req.Header {
		httpReq.Header.Set(k, v)
	}
	_, router := Spec(c.tb)
	route, pathParams, findErr := router.FindRoute(httpReq)
	var input *openapi3filter.RequestValidationInput
	if findErr == nil {
		input = &openapi3filter.RequestValidationInput{
			Request: httpReq, PathParams: pathParams, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
		}
		if !req.Invalid {
			if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil {
				c.tb.Errorf("%s %s: request breaks openapi.yaml: %v", req.Method, req.Path, err)
			}
			httpReq.Body = io.NopCloser(bytes.NewReader(body))
		}
	} else if !req.Invalid {
		c.tb.Errorf("%s %s: no such operation in openapi.yaml: %v", req.Method, req.Path, findErr)
	}
	rec := httptest.NewRecorder()
	c.handler.ServeHTTP(rec, httpReq)
	resp := &Response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	if input != nil {
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: input, Status: resp.Status, Header: resp.Header,
			Body:    io.NopCloser(bytes.NewReader(resp.Body)),
			Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			c.tb.Errorf("%s %s: response %d breaks openapi.yaml: %v\nbody: %s", req.Method, req.Path, resp.Status, err, truncate(resp.Body))
		}
		if !req.Invalid {
			recordExample(input.Route.Operation.OperationID, resp.Status, httpReq.Header.Get("Content-Type"), body, resp.Header.Get("Content-Type"), resp.Body)
		}
		if undeclared := strictResponse(input.Route.Operation, resp.Status, resp.Header, resp.Body); len(undeclared) > 0 {
			c.tb.Errorf("%s %s: response %d has what openapi.yaml does not declare:\n  %s\nbody: %s", req.Method, req.Path, resp.Status, strings.Join(undeclared, "\n  "), truncate(resp.Body))
		}
	}
	if resp.Status >= 400 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") && req.Method != http.MethodHead {
		c.tb.Errorf("%s %s: error %d is %q, not application/problem+json", req.Method, req.Path, resp.Status, resp.Header.Get("Content-Type"))
	}
	return resp
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "..."
	}
	return string(b)
}

// EchoPathToSpec turns Echo's /rounds/:round into the spec's /rounds/{round}.
func EchoPathToSpec(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, ":") {
			parts[i] = "{" + part[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

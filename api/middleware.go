package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
)

const ctxRequestID = "request_id"

// withRequestID takes the caller's X-Request-Id when it is sane, or makes one, and echoes it.
func withRequestID() echo.MiddlewareFunc {
	return middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		Generator: newRequestID,
		RequestIDHandler: func(c *echo.Context, id string) {
			if len(id) > 128 {
				id = newRequestID()
				c.Response().Header().Set(echo.HeaderXRequestID, id)
			}
			c.Set(ctxRequestID, id)
		},
	})
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func requestID(c *echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}

// accessLog writes one structured line per request and feeds the request metrics; it wraps the
// error boundary, so it sees the final status.
func accessLog(logger *slog.Logger, m *Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			start := time.Now()
			err := next(c)
			took := time.Since(start)
			_, status := echo.ResolveResponseStatus(c.Response(), err)
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			m.observeRequest(c.Request().Method, route, status, took)
			// The error boundary says how loud a failure is (an expected 5xx such as a store
			// outage is a warning, a client that hung up is info); without its word, 5xx is an error.
			level, hinted := c.Get(ctxLogLevel).(slog.Level)
			if !hinted {
				level = slog.LevelInfo
				if status >= 500 {
					level = slog.LevelError
				}
			}
			logger.LogAttrs(c.Request().Context(), level, "request",
				slog.String("request_id", requestID(c)),
				slog.String("method", c.Request().Method),
				slog.String("path", c.Request().URL.Path),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Duration("took", took),
				slog.String("remote", c.RealIP()),
			)
			return err
		}
	}
}

// securityHeaders sets the headers every response carries: no MIME sniffing (a JSON or CSV
// answer is never run as a script or page), no framing, no referrer, and a content security
// policy that allows nothing for API responses (the docs page sets its own, with
// frame-ancestors 'none' as well).
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		return next(c)
	}
}

// corsAllowList answers cross-origin requests from the configured origins only (exact
// scheme://host[:port] matches; "*" is refused by the configuration). Credentials are not
// allowed: the API takes bearer tokens, not cookies.
func corsAllowList(origins []string) (echo.MiddlewareFunc, error) {
	for _, o := range origins {
		if o == "*" {
			return nil, fmt.Errorf("CORS origins: \"*\" is not an allow-list; name each origin")
		}
	}
	return middleware.CORSConfig{
		AllowOrigins:  origins,
		AllowMethods:  []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete},
		AllowHeaders:  []string{"Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key", "X-Request-Id"},
		ExposeHeaders: []string{"ETag", "Retry-After", "X-Request-Id", "Location"},
		MaxAge:        600,
	}.ToMiddleware()
}

// recoverPanics turns a panic into an error for the boundary, which logs it and answers 500.
func recoverPanics() echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true})
}

// limitBody refuses a body over the route's limit (the server default, or what routes.go set
// with allowLargeBody): at once when Content-Length says so, otherwise when the reader crosses
// the limit (decoders then report *http.MaxBytesError). It runs after routing, so that it knows
// the route.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		limit := s.bodyLimit
		if l, ok := s.largeBodies[c.Request().Method+" "+c.Path()]; ok {
			limit = l
		}
		req := c.Request()
		if req.ContentLength > limit {
			return newProblem(kindTooLarge, fmt.Sprintf("the body exceeds the limit of %d bytes", limit))
		}
		req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
		return next(c)
	}
}

// allowLargeBody raises the body limit of one route, for file uploads.
func (s *Server) allowLargeBody(method, path string, limit int64) {
	s.largeBodies[method+" "+path] = limit
}

func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

package api

import "github.com/labstack/echo/v5"

// routes lists the whole API in one place. Routes under v1 need a bearer token; the few public
// ones are registered on e with their full path.
func (s *Server) routes() {
	e := s.echo
	e.GET("/livez", handleLive)
	e.GET("/healthz", handleLive)
	e.GET("/readyz", s.handleReady)
	e.GET("/metrics", echo.WrapHandler(s.metrics.handler()))
	e.GET("/openapi.yaml", s.handleSpec)
	e.GET("/docs", s.handleDocs)

	v1 := e.Group("/v1", s.authenticate)
	_ = v1

	// --- auth and users ---

	// --- questionnaires ---

	// --- rounds, sheets and answers ---
}

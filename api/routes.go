package api

import "github.com/labstack/echo/v5"

// routes lists the whole API in one place.
func (s *Server) routes() {
	e := s.echo
	e.GET("/livez", handleLive)
	e.GET("/healthz", handleLive)
	e.GET("/readyz", s.handleReady)
	e.GET("/metrics", echo.WrapHandler(s.metrics.handler()))
	e.GET("/openapi.yaml", s.handleSpec)
	e.GET("/docs", s.handleDocs)
}

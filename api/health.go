package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"
)

// Pinger is what readiness needs of the store.
type Pinger interface {
	Ping(ctx context.Context) error
}

type statusResponse struct {
	Status string `json:"status"`
	// Version is the running build, so that an operator can see what a rollout reached.
	Version string `json:"version,omitempty"`
}

// handleLive answers while the process runs; it touches nothing, so a slow store never gets a
// healthy process restarted.
func (s *Server) handleLive(c *echo.Context) error {
	return c.JSON(http.StatusOK, statusResponse{Status: "ok", Version: s.version})
}

// handleReady answers 200 only when the store answers a ping and the server is not draining, so
// a load balancer stops sending work before shutdown and until the store is reachable.
func (s *Server) handleReady(c *echo.Context) error {
	if s.draining.Load() {
		c.Set(ctxLogLevel, slog.LevelInfo)
		return newProblem(kindUnavailable, "the server is shutting down")
	}
	if !s.ready.Load() {
		// Expected while the store is being reached and the indexes built: not worth an error
		// line on every probe.
		c.Set(ctxLogLevel, slog.LevelInfo)
		return newProblem(kindUnavailable, "the service is starting: waiting for the store")
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.logger.WarnContext(ctx, "readiness: store does not answer", "error", err.Error())
		p := newProblem(kindStoreUnavailable, "the store does not answer")
		p.p.RetryAfter = storeRetryAfter
		return p
	}
	return c.JSON(http.StatusOK, statusResponse{Status: "ready"})
}

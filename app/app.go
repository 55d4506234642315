// Package app assembles the service from a store and its settings: the domain services, their
// store adapters and the HTTP API. The binary and the API tests build it the same way.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/expertsurvey/expertsurvey/api"
	"github.com/expertsurvey/expertsurvey/mongodb"
)

// Options are the settings the service needs beyond the store.
type Options struct {
	Logger    *slog.Logger
	Metrics   *api.Metrics
	BodyLimit int64
	Now       func() time.Time
}

// App is an assembled service.
type App struct {
	Server *api.Server
	store  *mongodb.Store
	logger *slog.Logger
}

// New wires the services on store.
func New(store *mongodb.Store, opts Options) (*App, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	srv, err := api.New(api.Config{
		Logger: opts.Logger, Store: store, Metrics: opts.Metrics, BodyLimit: opts.BodyLimit,
	})
	if err != nil {
		return nil, err
	}
	return &App{Server: srv, store: store, logger: opts.Logger}, nil
}

// Prepare waits until the store answers and creates the indexes, retrying until ctx ends, so
// that the service can start before its store and report readiness when it is there.
func (a *App) Prepare(ctx context.Context) error {
	delay := 100 * time.Millisecond
	for {
		err := a.prepareOnce(ctx)
		if err == nil {
			return nil
		}
		a.logger.WarnContext(ctx, "store not ready; retrying", "error", err.Error(), "in", delay.String())
		select {
		case <-ctx.Done():
			return fmt.Errorf("store not ready: %w", err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

func (a *App) prepareOnce(ctx context.Context) error {
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := a.store.Ping(pingCtx); err != nil {
		return err
	}
	return a.store.EnsureIndexes(ctx)
}

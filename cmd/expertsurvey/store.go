package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb"
)

// withApp is how every command other than serve reaches the data: it opens the store named by
// the serve settings, makes sure the indexes exist, runs f with the assembled services, and
// closes the store, so that every write is on disk before the command returns.
func withApp(ctx context.Context, cfg *serveConfig, stderr io.Writer, f func(*app.App) error) (err error) {
	// Only the store's warnings and errors interest the user of a command; its routine logs
	// would bury the result.
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := mongodb.Open(ctx, mongodb.Config{
		URI: cfg.MongoURI, Database: cfg.Database, DataDir: cfg.DataDir, EmbeddedAddr: cfg.StoreAddr, Logger: logger,
	})
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if cerr := store.Close(closeCtx); cerr != nil && err == nil {
			err = fmt.Errorf("close the store: %w", cerr)
		}
	}()
	// Commands issue no access tokens, so a throwaway key avoids app's warning about missing keys.
	a, err := app.New(store, app.Options{Logger: logger, JWTKeys: "cli:" + auth.GenerateKey()})
	if err != nil {
		return err
	}
	prepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.Prepare(prepCtx); err != nil {
		return err
	}
	return f(a)
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/expertsurvey/expertsurvey/api"
	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/mail"
	"github.com/expertsurvey/expertsurvey/mongodb"
)

// beforeSnapshot is app.Options.BeforeSnapshot. Only the test binary sets it (TestMain, in
// e2e_test.go, from an environment variable it alone reads), to stop a serving process between a
// lock's log entry and its snapshot; the binary built from this package never sets it, and
// nothing it reads (flag, environment, file) can.
var beforeSnapshot func(id string)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logger, err := newLogger(stdout, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	metrics := api.NewMetrics()
	store, err := mongodb.Open(ctx, mongodb.Config{
		URI: cfg.MongoURI, Database: cfg.Database, DataDir: cfg.DataDir, EmbeddedAddr: cfg.StoreAddr,
		Logger: logger, OnCommand: metrics.ObserveStore, OperationTimeout: cfg.StoreTimeout, CacheBytes: cfg.CacheBytes,
	})
	if err != nil {
		return err
	}
	if store.Embedded() {
		logger.Info("embedded store in use (FerretDB, SQLite files); other instances can share it with MONGODB_URI",
			"mongodb_uri", store.URI(), "data_dir", cfg.DataDir)
	} else {
		logger.Info("store in use", "server", "MongoDB", "database", cfg.Database)
	}
	a, err := app.New(store, app.Options{
		Logger: logger, Metrics: metrics, BodyLimit: cfg.BodyLimit,
		JWTKeys: cfg.JWTKeys, JWTIssuer: cfg.JWTIssuer, AccessTTL: cfg.AccessTTL, Production: cfg.Env == "production",
		Version: buildVersion(), CORSOrigins: cfg.CORSOrigins, SeparateMetrics: cfg.MetricsAddr != "",
		Mail: mail.Config{Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword,
			From: cfg.SMTPFrom, TLS: cfg.SMTPTLS, LinkBase: cfg.MailLinkBase, Language: cfg.MailLanguage},
		Notify: notifyOptions(cfg), Shed: cfg.Shed, BeforeSnapshot: beforeSnapshot,
	})
	if err != nil {
		_ = store.Close(context.Background())
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		_ = store.Close(context.Background())
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	httpServer := &http.Server{
		Handler:           a.Server,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // long enough for a spreadsheet upload on a slow line
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 2)
	go func() { serveErr <- httpServer.Serve(ln) }()
	var metricsServer *http.Server
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			_ = httpServer.Close()
			_ = store.Close(context.Background())
			return fmt.Errorf("listen on %s (metrics): %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics.Handler())
		metricsServer = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
		go func() { serveErr <- metricsServer.Serve(mln) }()
		logger.Info("metrics on their own address", "addr", "http://"+mln.Addr().String()+"/metrics")
	}
	logger.Info("listening", "addr", "http://"+ln.Addr().String(), "docs", "http://"+ln.Addr().String()+"/docs", "version", buildVersion())

	prepared := make(chan error, 1)
	prepareCtx, cancelPrepare := context.WithCancel(ctx)
	defer cancelPrepare()
	go func() {
		err := a.Prepare(prepareCtx)
		if err == nil && cfg.Demo {
			// Demo data is a convenience: whatever state it is in (changed by users, its round
			// moved on), the service still serves.
			if derr := a.LoadDemo(prepareCtx); derr != nil {
				logger.Warn("demo data not (fully) loaded; serving anyway", "error", derr.Error())
			} else {
				logDemo(logger)
			}
		}
		prepared <- err
	}()

	var sweepsDone chan struct{} // closed when the sweeps stopped; nil when they never started
	var notifyDone chan struct{} // the same for webhook deliveries
	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		runErr = fmt.Errorf("http server: %w", err)
	case err := <-prepared:
		if err != nil {
			runErr = err
			break
		}
		a.Server.MarkReady()
		logger.Info("ready")
		// Sweeps stop with the service: prepareCtx ends at shutdown, and the store closes only
		// after the sweep in progress has given up.
		sweepsDone = make(chan struct{})
		go func() {
			defer close(sweepsDone)
			a.RunSweeps(prepareCtx, cfg.SweepInterval)
		}()
		// Webhook deliveries run beside the requests, never inside one, and stop with the
		// sweeps: the store closes after the attempts in flight are recorded.
		notifyDone = make(chan struct{})
		go func() {
			defer close(notifyDone)
			a.RunNotifications(prepareCtx)
		}()
		select {
		case <-ctx.Done():
		case err := <-serveErr:
			runErr = fmt.Errorf("http server: %w", err)
		}
	}
	cancelPrepare()
	if sweepsDone != nil {
		<-sweepsDone
	}
	if notifyDone != nil {
		<-notifyDone
	}

	// Shutdown order: stop advertising readiness, let in-flight requests finish, then close the
	// store so that every acknowledged write is on disk.
	logger.Info("shutting down", "grace", cfg.ShutdownTimeout.String())
	a.Server.Drain()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		logger.Error("in-flight requests did not finish in time", "error", err.Error())
		_ = httpServer.Close()
	}
	if metricsServer != nil {
		_ = metricsServer.Close()
	}
	if err := store.Close(shutdownCtx); err != nil {
		logger.Error("closing the store", "error", err.Error())
	}
	logger.Info("stopped")
	return runErr
}

// logDemo tells whoever started the demo how to sign in.
func logDemo(logger *slog.Logger) {
	for _, u := range app.DemoUsers {
		logger.Info("demo user", "email", u.Email, "password", app.DemoPassword)
	}
	logger.Info("demo data loaded", "questionnaire", app.DemoQuestionnaire+"@"+app.DemoVersion, "round", app.DemoRound,
		"try", "POST /v1/auth/login, then GET /v1/rounds/"+app.DemoRound+"/dashboard")
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level / EXPERTSURVEY_LOG_LEVEL: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// Package app assembles the service from a store and its settings: the domain services, their
// store adapters and the HTTP API. The binary and the API tests build it the same way.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/expertsurvey/expertsurvey/api"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mail"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/notify"
	"github.com/expertsurvey/expertsurvey/people"
	"github.com/expertsurvey/expertsurvey/publish"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
)

// Options are the settings the service needs beyond the store.
type Options struct {
	Logger    *slog.Logger
	Metrics   *api.Metrics
	BodyLimit int64
	// JWTKeys is "kid:base64key[,...]"; empty in development makes a random key for this
	// process (tokens then do not survive a restart, nor work on another instance).
	JWTKeys    string
	JWTIssuer  string
	AccessTTL  time.Duration
	Production bool
	// Lockout overrides the default brute-force limits.
	Lockout *auth.LockoutPolicy
	Now     func() time.Time
	// Version names the build in /livez and the build_info metric.
	Version string
	// Mail delivers invitations and password resets when its Host is set; without it their
	// links are logged (at info), for development.
	Mail mail.Config
	// Notify configures webhook deliveries (app/notify.go).
	Notify NotifyOptions
	// CORSOrigins lists the origins whose browser pages may call the API (none when empty).
	CORSOrigins []string
	// SeparateMetrics leaves /metrics off the API; the caller serves Metrics.Handler elsewhere.
	SeparateMetrics bool
	// Shed bounds the requests served at once (api/shed.go); the zero value sheds nothing.
	Shed api.ShedLimits
	// BeforeSnapshot is publish.Config.BeforeInsert: a fault-injection point between a lock's
	// log entry and its snapshot, set only by the test binary of cmd/expertsurvey.
	BeforeSnapshot func(id string)
}

// App is an assembled service.
type App struct {
	Server *api.Server
	Auth   *auth.Service
	// Questionnaires also gives the rounds their published instruments (Published).
	Questionnaires *questionnaire.Service
	Rounds         *round.Service
	// People imports rosters and copies assignments between rounds.
	People *people.Service
	// Publish freezes locks into snapshots and serves published rounds.
	Publish *publish.Service
	store   *mongodb.Store
	logger  *slog.Logger
	metrics *api.Metrics
	now     func() time.Time
	lockout auth.LockoutPolicy

	// Webhooks manages the webhooks that RunNotifications delivers to (app/notify.go).
	Webhooks   *notify.Service
	notify     NotifyOptions
	dispatcher *notify.Dispatcher
}

// ErrNoSigningKey refuses to start in production without configured JWT keys.
var ErrNoSigningKey = errors.New("production requires signing keys: set EXPERTSURVEY_JWT_KEYS (kid:base64key, 32 bytes or more)")

// New wires the services on store.
func New(store *mongodb.Store, opts Options) (*App, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Metrics == nil {
		opts.Metrics = api.NewMetrics() // shared by the API and the sweeps
	}
	opts.Metrics.Register(storeCollectors(store)...)
	if opts.JWTIssuer == "" {
		opts.JWTIssuer = "expertsurvey"
	}
	keys, err := signingKeys(opts)
	if err != nil {
		return nil, err
	}
	tokens, err := auth.NewTokens(auth.TokenConfig{Keys: keys, Issuer: opts.JWTIssuer, Audience: opts.JWTIssuer, TTL: opts.AccessTTL, Now: opts.Now})
	if err != nil {
		return nil, err
	}
	hasher, err := auth.NewHasher(auth.MinParams, 0)
	if err != nil {
		return nil, err
	}
	lockout := auth.DefaultLockout
	if opts.Lockout != nil {
		lockout = *opts.Lockout
	}
	questionnaires, err := questionnaire.NewService(questionnaire.ServiceConfig{Store: store, Now: opts.Now})
	if err != nil {
		return nil, err
	}
	notifier, err := notifierFor(opts, instrumentLanguages(store, questionnaires))
	if err != nil {
		return nil, err
	}
	authSvc, err := auth.NewService(auth.Config{Store: store, Tokens: tokens, Hasher: hasher, Lockout: lockout, Now: opts.Now,
		Targets: roundTargets{store}, Notifier: notifier})
	if err != nil {
		return nil, err
	}
	dispatcher := newDispatcher(store, opts)
	rounds := round.NewService(store, nudgingSheets{store, dispatcher.Nudge}, questionnaires, opts.Now)
	publisher := publish.NewService(publish.Config{Rounds: rounds, RoundStore: store, Sheets: store, Instruments: questionnaires, Store: store, Now: opts.Now,
		BeforeInsert: opts.BeforeSnapshot})
	webhooks := notify.NewService(store, opts.Now, opts.Notify.AllowHTTP, webhookReach(opts))
	peopleSvc := people.NewService(authSvc)
	srv, err := api.New(api.Config{
		Logger: opts.Logger, Store: store, Metrics: opts.Metrics, BodyLimit: opts.BodyLimit,
		Auth: authSvc, Audit: store, Questionnaires: questionnaires, Rounds: rounds, Publish: publisher, Idempotency: store, People: peopleSvc,
		ClassifyError: mongodb.Classify, Version: opts.Version, Webhooks: webhooks, CORSOrigins: opts.CORSOrigins,
		SeparateMetrics: opts.SeparateMetrics, Shed: opts.Shed,
	})
	if err != nil {
		return nil, err
	}
	return &App{Server: srv, Auth: authSvc, Questionnaires: questionnaires, Rounds: rounds, People: peopleSvc, Publish: publisher, store: store, logger: opts.Logger,
		metrics: opts.Metrics, now: opts.Now, lockout: lockout,
		Webhooks: webhooks, notify: opts.Notify, dispatcher: dispatcher}, nil
}

// RunSweeps removes expired rows (tokens, login failures, ...) now and then every interval until
// ctx ends. Every instance may run it: the sweep is idempotent.
func (a *App) RunSweeps(ctx context.Context, interval time.Duration) {
	w := &mongodb.Sweeper{Store: a.store, Policy: a.SweepPolicy(), Interval: interval, Now: a.now, Logger: a.logger}
	if a.metrics != nil {
		w.OnSwept, w.OnSuccess = a.metrics.CountSwept, a.metrics.SweepSucceeded
	}
	w.Run(ctx)
}

// SweepPolicy derives the lifetimes of rows that do not carry their expiry from the auth
// settings: markers of used tokens and revoked sessions outlive the longest token, and a login
// failure counts for a lockout window and the lockout it may cause (up to two windows), with one
// window to spare.
func (a *App) SweepPolicy() mongodb.SweepPolicy {
	return mongodb.SweepPolicy{
		TokenLifetime:        max(auth.DefaultRefreshTTL, auth.DefaultInvitationTTL, auth.DefaultResetTTL),
		LoginFailureLifetime: 4 * cmp.Or(a.lockout.Window, auth.DefaultLockout.Window),
	}
}

func signingKeys(opts Options) (*auth.KeySet, error) {
	if opts.JWTKeys != "" {
		ks, err := auth.ParseKeys(opts.JWTKeys)
		if err != nil {
			return nil, fmt.Errorf("EXPERTSURVEY_JWT_KEYS: %w", err)
		}
		return ks, nil
	}
	if opts.Production {
		return nil, ErrNoSigningKey
	}
	opts.Logger.Warn("no JWT keys configured: using a random key for this process; sessions end at restart and do not work on other instances")
	return auth.ParseKeys("dev:" + auth.GenerateKey())
}

// Prepare waits until the store answers, migrates it to this release's schema and creates the
// indexes, retrying until ctx ends, so that the service can start before its store and report
// readiness when it is there. A store written by a newer release is refused at once.
func (a *App) Prepare(ctx context.Context) error {
	delay := 100 * time.Millisecond
	for {
		err := a.prepareOnce(ctx)
		if err == nil {
			a.completeLocks(ctx)
		}
		if err == nil || errors.Is(err, mongodb.ErrSchemaTooNew) {
			return err
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
	if err := a.store.Migrate(ctx); err != nil {
		return err
	}
	return a.store.EnsureIndexes(ctx)
}

// notifierFor delivers tokens by mail when an SMTP server is configured, in the languages of
// each user's instruments, and logs their links otherwise.
func notifierFor(opts Options, languagesOf func(context.Context, auth.User) []string) (auth.Notifier, error) {
	if opts.Mail.Host == "" {
		return mail.Log{LinkBase: opts.Mail.LinkBase, Logger: opts.Logger}, nil
	}
	cfg := opts.Mail
	cfg.LanguagesOf = languagesOf
	return mail.New(cfg, opts.Logger)
}

// instrumentLanguages names the languages of a user's messages: those of the instruments of
// the rounds the user is assigned to, each instrument's default language first, in the order of
// the assignments. A round or instrument that cannot be read is passed over: the message still
// goes, in the configured language.
func instrumentLanguages(rounds round.RoundStore, instruments *questionnaire.Service) func(context.Context, auth.User) []string {
	return func(ctx context.Context, u auth.User) []string {
		var langs, seenRounds []string
		for _, a := range u.Assignments {
			if a.Round == auth.AllRounds || slices.Contains(seenRounds, a.Round) {
				continue
			}
			seenRounds = append(seenRounds, a.Round)
			r, err := rounds.Round(ctx, a.Round)
			if err != nil {
				continue
			}
			d, _, err := instruments.Published(ctx, r.Questionnaire, r.QuestionnaireVer)
			if err != nil {
				continue
			}
			for _, l := range append([]string{d.DefaultLanguage}, d.Languages...) {
				if !slices.Contains(langs, l) {
					langs = append(langs, l)
				}
			}
		}
		return langs
	}
}

// completeLocks freezes the locks a stopped process left without their snapshot. A failure is
// logged, not fatal: the next read or lock of such a sheet completes it too.
func (a *App) completeLocks(ctx context.Context) {
	n, err := a.Publish.CompleteLocks(ctx)
	if err != nil {
		a.logger.WarnContext(ctx, "completing interrupted locks", "error", err.Error())
	}
	if n > 0 {
		a.logger.InfoContext(ctx, "locked sheets checked for their snapshots", "sheets", n)
	}
}

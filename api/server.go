// Package api maps HTTP to the domain: routes, request decoding and validation, responses, and
// the one table from domain errors to RFC 9457 problems. It is the only package that imports
// Echo; it does not import the store.
package api

import (
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/labstack/echo/v5"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/notify"
	"github.com/expertsurvey/expertsurvey/people"
	"github.com/expertsurvey/expertsurvey/publish"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
)

// DefaultBodyLimit bounds a request body; imports of large files raise it per route.
const DefaultBodyLimit = 1 << 20

// Config is what the server needs; cmd wires it.
type Config struct {
	Logger    *slog.Logger
	Store     Pinger
	Metrics   *Metrics
	BodyLimit int64
	Auth      *auth.Service
	// Audit lists the audit trail for GET /v1/audit.
	Audit audit.Reader
	// Rounds runs rounds, sheets and answers.
	Rounds *round.Service
	// Publish serves snapshots, errata and published rounds.
	Publish *publish.Service
	// Questionnaires keeps the instruments and their versions.
	Questionnaires *questionnaire.Service
	// People imports rosters of users and copies assignments between rounds.
	People *people.Service
	// ClassifyError, when set, wraps the store adapter's failures in expertsurvey.ErrStoreUnavailable
	// or ErrStoreFull before the error table is consulted; api cannot know the driver's errors.
	ClassifyError func(error) error
	// Version is the build's version, reported by /livez and the build_info metric.
	Version string
	// Idempotency keeps the Idempotency-Key records of the review actions.
	Idempotency IdempotencyStore
	// Webhooks manages the notification webhooks (admins only).
	Webhooks *notify.Service
	// SeparateMetrics leaves /metrics off the API's routes: cmd serves Metrics.Handler on a
	// listen address of its own, so that whoever reaches the API cannot read them.
	SeparateMetrics bool
	// CORSOrigins lists the origins (scheme://host[:port]) whose browser pages may call the
	// API; empty allows none (same-origin only).
	CORSOrigins []string
	// Shed bounds the requests served at once (shed.go); the zero value sheds nothing.
	Shed ShedLimits
}

// Server is the HTTP API.
type Server struct {
	echo    *echo.Echo
	logger  *slog.Logger
	store   Pinger
	metrics *Metrics
	docs    *apiDocs
	auth    *auth.Service
	audit   audit.Reader
	rounds  *round.Service
	publish *publish.Service
	// questionnaires keeps the instruments and their versions.
	questionnaires *questionnaire.Service
	people         *people.Service
	// bodyLimit bounds request bodies; largeBodies raises it for file uploads, by route.
	bodyLimit   int64
	largeBodies map[string]int64
	// separateMetrics: /metrics is served elsewhere, not by this router.
	separateMetrics bool
	classify        func(error) error
	idempotency     IdempotencyStore
	// sheets keeps rendered sheets (sheetcache.go).
	sheets   *renderedSheets
	version  string
	webhooks *notify.Service
	ready    atomic.Bool
	draining atomic.Bool
}

// New builds the server with every route of routes.go.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	docs, err := loadDocs()
	if err != nil {
		return nil, err
	}
	s := &Server{
		echo:            echo.NewWithConfig(echo.Config{Logger: cfg.Logger}),
		logger:          cfg.Logger,
		store:           cfg.Store,
		metrics:         cfg.Metrics,
		docs:            docs,
		auth:            cfg.Auth,
		audit:           cfg.Audit,
		rounds:          cfg.Rounds,
		publish:         cfg.Publish,
		questionnaires:  cfg.Questionnaires,
		people:          cfg.People,
		bodyLimit:       cfg.BodyLimit,
		largeBodies:     map[string]int64{},
		classify:        cfg.ClassifyError,
		separateMetrics: cfg.SeparateMetrics,
		idempotency:     cfg.Idempotency,
		sheets:          newRenderedSheets(DefaultRenderedSheetBytes),
		version:         cfg.Version,
		webhooks:        cfg.Webhooks,
	}
	if s.version == "" {
		s.version = "unknown"
	}
	cfg.Metrics.setBuildInfo(s.version)
	// The error boundary must be inside the access log (so the log sees the final status) and
	// outside panic recovery (so a panic is answered like any other failure).
	s.echo.HTTPErrorHandler = s.writeProblem
	s.echo.Pre(
		withRequestID(),
		accessLog(cfg.Logger, cfg.Metrics),
		securityHeaders,
		s.renderErrors(),
		recoverPanics(),
	)
	if len(cfg.CORSOrigins) > 0 {
		cors, err := corsAllowList(cfg.CORSOrigins)
		if err != nil {
			return nil, err
		}
		s.echo.Pre(cors)
	}
	// Shedding runs after routing, so that the request metrics name the shed request's route,
	// and before anything reads the body or the store.
	if cfg.Shed != (ShedLimits{}) {
		s.echo.Use(newShedder(cfg.Shed, cfg.Metrics).middleware)
	}
	s.echo.Use(s.limitBody, plainQuery)
	s.routes()
	return s, nil
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// MarkReady tells /readyz that start-up tasks (indexes, demo data) are done.
func (s *Server) MarkReady() { s.ready.Store(true) }

// Drain makes /readyz answer 503 so that load balancers stop routing here before shutdown.
func (s *Server) Drain() { s.draining.Store(true) }

// Routes lists method and path of every route, for the spec parity test.
func (s *Server) Routes() [][2]string {
	var out [][2]string
	for _, r := range s.echo.Router().Routes() {
		if r.Method == echo.RouteNotFound {
			continue
		}
		out = append(out, [2]string{r.Method, r.Path})
	}
	return out
}

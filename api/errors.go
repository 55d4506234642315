package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/expertsurvey/expertsurvey"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/notify"
	"github.com/expertsurvey/expertsurvey/publish"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/review"
	"github.com/expertsurvey/expertsurvey/round"
)

// problemContentType is RFC 9457's media type for error bodies.
const problemContentType = "application/problem+json"

// Problem is an RFC 9457 problem detail, the body of every error response.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Instance  string       `json:"instance,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
	Errors    []FieldError `json:"errors,omitempty"`
	// Problems lists every problem of an uploaded file by row and column (a refused roster).
	Problems []RowProblem `json:"problems,omitempty"`
	// Current carries the resource as it is now, for a refused stale write (412), so the
	// client can merge without another round trip.
	Current any `json:"current,omitempty"`
	// RetryAfter mirrors the Retry-After header in seconds, for 429 and 503.
	RetryAfter int `json:"retry_after,omitempty"`
}

// FieldError names one invalid field of a request: a JSON path into the body ("sources[0].url"),
// or a query or path parameter, or a header.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// problemError is an error that already knows its response.
type problemError struct {
	p     Problem
	cause error
}

func (e *problemError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.p.Title, e.p.Detail, e.cause)
	}
	return e.p.Title + ": " + e.p.Detail
}

func (e *problemError) Unwrap() error { return e.cause }

// problemKind is a class of failure: its status, its type URI (/problems/<slug>), its title
// (the same on every occurrence, as RFC 9457 asks) and what it means for the client, which the
// service serves as the page at that URI (problemKinds is the registry).
type problemKind struct {
	status  int
	slug    string
	title   string
	meaning string
}

func (k problemKind) typeURI() string {
	if k.slug == "" {
		return "about:blank"
	}
	return "/problems/" + k.slug
}

var (
	kindValidation = problemKind{http.StatusBadRequest, "validation", "Invalid request",
		"A field of the body, a query or path parameter or a header is invalid; `errors` names each one and why. Nothing was changed."}
	kindMalformed = problemKind{http.StatusBadRequest, "malformed-body", "Malformed request body",
		"The body is not the JSON the operation takes (syntax, or a value of the wrong type). Nothing was changed."}
	kindUnreadableFile = problemKind{http.StatusBadRequest, "unreadable-file", "Unreadable definition file",
		"An uploaded questionnaire definition cannot be read as YAML, JSON or XLSX at all. Nothing was changed."}
	kindUnauthorized = problemKind{http.StatusUnauthorized, "unauthorized", "Authentication required",
		"No access token, or one that is expired, revoked or not valid; or wrong credentials at sign-in. Sign in again."}
	kindForbidden = problemKind{http.StatusForbidden, "forbidden", "Not allowed",
		"The caller's role or assignments do not allow this operation on this resource."}
	kindNotFound = problemKind{http.StatusNotFound, "not-found", "Not found",
		"No such resource, or none the caller may see."}
	kindMethod = problemKind{http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed",
		"The path exists but not with this method; `Allow` lists the methods it takes."}
	kindConflict = problemKind{http.StatusConflict, "conflict", "Conflict",
		"The request conflicts with what exists: a duplicate key, or a resource in use."}
	kindLocked = problemKind{http.StatusConflict, "locked", "Sheet locked",
		"The sheet is locked: its answers change only after a coordinator reopens it."}
	kindNotEditable = problemKind{http.StatusConflict, "not-editable", "Not editable now",
		"The round or sheet is not in a state that allows this change (for example, the round is not open)."}
	kindInvalidTransition = problemKind{http.StatusConflict, "invalid-transition", "Not allowed in the current state",
		"The status change or review move is not one the current state allows (docs/review.md lists the moves)."}
	kindAlreadyReviewed = problemKind{http.StatusConflict, "already-reviewed", "Verdict already given",
		"The reviewer already gave a verdict on this version of the answer."}
	kindPublished = problemKind{http.StatusConflict, "published", "Version published",
		"A published questionnaire version never changes; create a new version."}
	kindNotPublished = problemKind{http.StatusConflict, "not-published", "Version not published",
		"Rounds run on published questionnaire versions only; publish the version first."}
	kindStale = problemKind{http.StatusPreconditionFailed, "stale", "Precondition failed",
		"The If-Match version is not the current one: someone else changed the resource first. `current` holds it as it is now, to merge and retry."}
	kindTooLarge = problemKind{http.StatusRequestEntityTooLarge, "too-large", "Request body too large",
		"The body exceeds the limit: the server's --body-limit (1 MiB by default) or the operation's own, which its description names. Nothing was kept."}
	kindMediaType = problemKind{http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
		"The body's Content-Type is not one the operation takes."}
	kindUnprocessable = problemKind{http.StatusUnprocessableEntity, "unprocessable", "Request cannot be processed",
		"The request is well formed but the state does not allow it (for example, an incomplete sheet submitted, or an Idempotency-Key reused with another body); `errors` says what is missing."}
	kindRoster = problemKind{http.StatusUnprocessableEntity, "invalid-roster", "Roster refused",
		"An uploaded roster of people and assignments has problems; `problems` lists every one by row and column, and nothing was written."}
	kindPrecondReq = problemKind{http.StatusPreconditionRequired, "precondition-required", "If-Match required",
		"This change needs If-Match with the ETag of the version read, so that it cannot overwrite a change it did not see."}
	kindTooMany = problemKind{http.StatusTooManyRequests, "too-many-requests", "Too many requests",
		"Too many sign-in failures, a retry of an idempotent request still running, or load being shed. Retry after Retry-After seconds."}
	kindUnavailable = problemKind{http.StatusServiceUnavailable, "unavailable", "Service unavailable",
		"The server is starting, draining for shutdown, or shedding load. Retry after Retry-After seconds, or on another instance."}
	kindInternal = problemKind{http.StatusInternalServerError, "internal", "Internal error",
		"An unexpected failure; nothing about it is revealed. Quote `request_id` when reporting it."}
	// The store's own failures: not the caller's fault and not a bug, so they are answered with
	// a type a client can act on (retry later; tell an operator) and logged as warnings.
	kindStoreUnavailable = problemKind{http.StatusServiceUnavailable, "store_unavailable", "Store unavailable",
		"The store did not answer in time; nothing was changed. Retry after Retry-After seconds."}
	kindStoreFull = problemKind{http.StatusInsufficientStorage, "store_full", "Store out of space",
		"The store has no space left; nothing was changed. An operator must free space."}
)

// problemKinds is the registry of problem types: every kind the service answers with, each
// served as a page at its type URI (GET /problems/{type}) and listed in openapi.yaml and
// docs/problems.md (a test holds the three together).
var problemKinds = []problemKind{
	kindValidation, kindMalformed, kindUnreadableFile, kindUnauthorized, kindForbidden, kindNotFound,
	kindMethod, kindConflict, kindLocked, kindNotEditable, kindInvalidTransition, kindAlreadyReviewed,
	kindPublished, kindNotPublished, kindStale, kindTooLarge, kindMediaType, kindUnprocessable,
	kindRoster, kindPrecondReq, kindTooMany, kindUnavailable, kindInternal, kindStoreUnavailable,
	kindStoreFull,
}

// storeRetryAfter is the Retry-After of a store_unavailable answer, in seconds: about twice the
// driver's server selection timeout, so that a retry finds a store that came back.
const storeRetryAfter = 2

// statusClientClosed is recorded (log and metrics) for a request whose client went away before
// the answer: nginx's 499. Nothing is sent; the client is gone.
const statusClientClosed = 499

// newProblem builds an error that renders as the given kind.
func newProblem(k problemKind, detail string, fields ...FieldError) *problemError {
	return &problemError{p: Problem{Type: k.typeURI(), Title: k.title, Status: k.status, Detail: detail, Errors: fields}}
}

// invalid reports one or more invalid fields.
func invalid(detail string, fields ...FieldError) *problemError {
	return newProblem(kindValidation, detail, fields...)
}

// sentinelKinds maps domain sentinel errors to their responses: the one table of error to status.
// Domain packages add their sentinels here as they appear.
type sentinel struct {
	err  error
	kind problemKind
}

var sentinelKinds = []sentinel{
	{echo.ErrNotFound, kindNotFound},
	{echo.ErrMethodNotAllowed, kindMethod},
	{echo.ErrStatusRequestEntityTooLarge, kindTooLarge},
	{echo.ErrUnsupportedMediaType, kindMediaType},
	{auth.ErrUnauthorized, kindUnauthorized},
	{auth.ErrForbidden, kindForbidden},
	{auth.ErrNotFound, kindNotFound},
	{auth.ErrConflict, kindConflict},
	{auth.ErrStale, kindStale},
	{round.ErrNotFound, kindNotFound},
	{round.ErrConflict, kindConflict},
	{round.ErrLocked, kindLocked},
	{round.ErrNotEditable, kindNotEditable},
	{round.ErrInvalidTransition, kindInvalidTransition},
	{round.ErrPreconditionRequired, kindPrecondReq},
	// The review workflow's refusals; its data-carrying errors (stale, invalid) come through
	// the round's converter.
	{review.ErrLocked, kindLocked},
	{review.ErrInvalidTransition, kindInvalidTransition},
	{review.ErrAlreadyReviewed, kindAlreadyReviewed},
	{review.ErrNotFound, kindNotFound},
	// Typed questionnaire errors (problem lists, stale revisions, bad fields) are rendered by
	// questionnaireProblem; these are the bare ones.
	{questionnaire.ErrNotFound, kindNotFound},
	{questionnaire.ErrConflict, kindConflict},
	{questionnaire.ErrPublished, kindPublished},
	{questionnaire.ErrNotPublished, kindNotPublished},
	{questionnaire.ErrRevisionRequired, kindPrecondReq},
	{questionnaire.ErrFormat, kindUnreadableFile},
	{publish.ErrInvalidExport, kindValidation},
	// Webhooks (notify); their field errors come through notifyProblem.
	{notify.ErrNotFound, kindNotFound},
	{notify.ErrConflict, kindConflict},
}

// fallbackKinds are rows of the table consulted after the domain converters: stale versions
// usually arrive typed, with the current state for the client (rendered by the converters), and
// only a bare one (the store lost a race and the re-read failed) lands here: still a 412, never
// a 500.
var fallbackKinds = []sentinel{
	{round.ErrStale, kindStale},
	{questionnaire.ErrStale, kindStale},
	{auth.ErrInvalid, kindValidation},
}

// toProblem turns any error into the problem to send and tells whether it was expected.
func toProblem(err error) (Problem, bool) {
	var pe *problemError
	if errors.As(err, &pe) {
		// A problem built on purpose is expected, 503s included (starting, draining); only an
		// internal error is a bug.
		return pe.p, pe.p.Status != http.StatusInternalServerError
	}
	// The store's failures (classified by the adapter, Config.ClassifyError) come before the
	// table: a domain error wrapping one is still the store's failure, and the driver's text
	// would name internals, so the detail is fixed.
	switch {
	case errors.Is(err, expertsurvey.ErrStoreUnavailable):
		p := problemFor(kindStoreUnavailable, "the store does not answer; nothing was changed; retry shortly")
		p.RetryAfter = storeRetryAfter
		return p, true
	case errors.Is(err, expertsurvey.ErrStoreFull):
		return problemFor(kindStoreFull, "the store has no space left; nothing was changed; an operator must free space"), true
	}
	for _, row := range sentinelKinds {
		if errors.Is(err, row.err) {
			return Problem{Type: row.kind.typeURI(), Title: row.kind.title, Status: row.kind.status, Detail: detailOf(err, row.err)}, true
		}
	}
	for _, conv := range domainConverters {
		if p, ok := conv(err); ok {
			return p, true
		}
	}
	for _, row := range fallbackKinds {
		if errors.Is(err, row.err) {
			return Problem{Type: row.kind.typeURI(), Title: row.kind.title, Status: row.kind.status, Detail: detailOf(err, row.err)}, true
		}
	}
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return problemFor(kindTooLarge, fmt.Sprintf("the body exceeds the limit of %d bytes", maxErr.Limit)), true
	}
	if code := echo.StatusCode(err); code >= 400 && code < 500 {
		return Problem{Type: "about:blank", Title: http.StatusText(code), Status: code}, true
	}
	return problemFor(kindInternal, "the server could not complete the request; quote the request id when reporting it"), false
}

// domainConverters turn typed domain errors (with per-field details or extra data) into
// problems; each lives beside the handlers of its domain.
var domainConverters = []func(error) (Problem, bool){authProblem, roundProblem, questionnaireProblem, peopleProblem, notifyProblem}

func problemFor(k problemKind, detail string) Problem {
	return Problem{Type: k.typeURI(), Title: k.title, Status: k.status, Detail: detail}
}

// detailOf uses the domain's own message, which says what went wrong, without Go's package
// prefixes, which mean nothing to a client: "questionnaire: version is published: ..." says
// "version is published: ...". The auth package's sentinels only name the class of failure,
// which the title already says, so they go entirely: "auth: unauthorized: token expired" says
// "token expired". A bare sentinel has no detail.
func detailOf(err, sentinel error) string {
	if err == sentinel {
		return ""
	}
	msg, name := err.Error(), sentinel.Error()
	short := name
	if pkg, rest, ok := strings.Cut(name, ": "); ok && !strings.Contains(pkg, " ") {
		short = rest
		if pkg == "auth" {
			short = ""
		}
	}
	if short == "" {
		msg = strings.TrimPrefix(msg, name+": ")
		msg = strings.TrimSuffix(msg, ": "+name)
		msg = strings.ReplaceAll(msg, ": "+name+": ", ": ")
	} else {
		msg = strings.ReplaceAll(msg, name, short)
	}
	if msg == name {
		return ""
	}
	return msg
}

// renderErrors is the outermost error boundary: it writes every error as problem+json, logs
// unexpected ones with the request id, and never reveals internals.
func (s *Server) renderErrors() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			err := next(c)
			if err == nil {
				return nil
			}
			s.writeProblem(c, err)
			return nil
		}
	}
}

// ctxLogLevel is where the error boundary tells the access log how loud the request's line
// should be (a slog.Level); without it the access log goes by the status.
const ctxLogLevel = "log_level"

func (s *Server) writeProblem(c *echo.Context, err error) {
	if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Committed {
		return
	}
	// A client that hung up cancels the request's context, and the store call fails with it.
	// That is neither a server error nor worth an ERROR line: record it as client-closed and
	// write nothing (there is no one to read it). Only the request's own context counts: a
	// cancellation from anywhere else is a failure like any other.
	if errors.Is(c.Request().Context().Err(), context.Canceled) {
		c.Set(ctxLogLevel, slog.LevelInfo)
		c.Response().WriteHeader(statusClientClosed)
		return
	}
	if s.classify != nil {
		err = s.classify(err)
	}
	p, expected := toProblem(err)
	p.RequestID = requestID(c)
	p.Instance = c.Request().URL.Path
	switch {
	case !expected:
		c.Set(ctxLogLevel, slog.LevelError)
		s.logger.ErrorContext(c.Request().Context(), "request failed",
			"request_id", p.RequestID, "method", c.Request().Method, "path", c.Request().URL.Path, "error", err.Error())
	case p.Status >= 500:
		// Expected 5xx: the store is down or full (an operator should know, the code is fine),
		// or readiness says "not yet", which handleReady sets to info itself.
		if _, set := c.Get(ctxLogLevel).(slog.Level); !set {
			c.Set(ctxLogLevel, slog.LevelWarn)
		}
	}
	if p.Status == http.StatusMethodNotAllowed {
		if allow, ok := c.Get(echo.ContextKeyHeaderAllow).(string); ok && allow != "" {
			c.Response().Header().Set("Allow", allow)
		}
	}
	if p.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", fmt.Sprint(p.RetryAfter))
	}
	c.Response().Header().Set(echo.HeaderContentType, problemContentType)
	c.Response().WriteHeader(p.Status)
	if c.Request().Method == http.MethodHead {
		return
	}
	_ = jsonEncode(c.Response(), p)
}

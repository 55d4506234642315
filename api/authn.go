package api

import (
	"errors"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
)

const ctxPrincipal = "principal"

// authenticate admits a request with a valid bearer access token of an enabled user, puts the
// user's principal in the context for handlers, and records the user and request id as the
// origin of every audit event written under the request.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		header := c.Request().Header.Get("Authorization")
		token, ok := strings.CutPrefix(header, "Bearer ")
		if !ok || token == "" {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="expertsurvey"`)
			return newProblem(kindUnauthorized, "send an access token: Authorization: Bearer <token>")
		}
		p, err := s.auth.Authenticate(c.Request().Context(), token)
		if err != nil {
			if errors.Is(err, auth.ErrUnauthorized) {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="expertsurvey", error="invalid_token"`)
			}
			return err
		}
		c.Set(ctxPrincipal, p)
		ctx := audit.WithOrigin(c.Request().Context(), p.UserID, requestID(c))
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// principal is the authenticated caller; routes without authenticate get the zero principal,
// which the policy refuses everything.
func principal(c *echo.Context) auth.Principal {
	p, _ := c.Get(ctxPrincipal).(auth.Principal)
	return p
}

// withOrigin marks audit events of an unauthenticated request (login, accepting an invitation)
// with its request id; the service names the actor.
func withOrigin(c *echo.Context) {
	ctx := audit.WithOrigin(c.Request().Context(), "", requestID(c))
	c.SetRequest(c.Request().WithContext(ctx))
}

// authProblem renders auth's typed errors: field lists and lockouts.
func authProblem(err error) (Problem, bool) {
	var fields auth.FieldErrors
	if errors.As(err, &fields) {
		p := problemFor(kindValidation, "the request has invalid fields")
		for _, f := range fields {
			p.Errors = append(p.Errors, FieldError{Field: f.Field, Reason: f.Reason})
		}
		return p, true
	}
	var target *auth.TargetError
	if errors.As(err, &target) {
		// The request is well formed but names a round or country that does not exist.
		p := problemFor(kindUnprocessable, "the assignment names a round or country that does not exist")
		p.Errors = []FieldError{{Field: target.Field, Reason: target.Reason}}
		return p, true
	}
	var locked *auth.LockedError
	if errors.As(err, &locked) {
		p := problemFor(kindTooMany, "too many failed sign-ins; try again later")
		p.RetryAfter = locked.RetryAfterSeconds()
		return p, true
	}
	return Problem{}, false
}

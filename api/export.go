package api

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/export"
	"github.com/expertsurvey/expertsurvey/publish"
)

// handleExport handles GET /v1/rounds/:round/export: coordinators, any round (provisional
// unless published).
func (s *Server) handleExport(c *echo.Context) error {
	p := principal(c)
	return s.streamExport(c, &p)
}

// handlePublicExport handles GET /v1/public/rounds/:round/export: published rounds, no token.
func (s *Server) handlePublicExport(c *echo.Context) error {
	return s.streamExport(c, nil)
}

// streamExport writes the export as it is produced: nothing is buffered, so memory stays flat
// however large the round. A failure after the first bytes aborts the response (the client sees
// a truncated body, never a complete-looking wrong file) and is logged.
func (s *Server) streamExport(c *echo.Context, p *auth.Principal) error {
	in := publish.ExportRequest{Round: c.Param("round"), Format: export.Format(c.QueryParam("format")), Shape: publish.Shape(c.QueryParam("shape"))}
	switch c.QueryParam("series") {
	case "", "false":
	case "true":
		in.Series = true
	default:
		return invalid("series is true or false", FieldError{Field: "series", Reason: "must be true or false"})
	}
	if in.Format == "" {
		in.Format = export.CSV
	}
	if in.Shape == "" {
		in.Shape = publish.ShapeLong
	}
	e, err := s.publish.PrepareExport(c.Request().Context(), p, in)
	if err != nil {
		return err
	}
	name := in.Round + "-" + string(in.Shape)
	if in.Series {
		name = in.Round + "-series-" + string(in.Shape)
	}
	if e.Provisional {
		name += "-provisional"
	}
	h := c.Response().Header()
	h.Set("Content-Type", in.Format.ContentType())
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, name, in.Format))
	h.Set("X-Provisional", fmt.Sprint(e.Provisional))
	if p == nil {
		h.Set("Cache-Control", publicCacheControl)
	}
	c.Response().WriteHeader(http.StatusOK)
	if err := e.Write(c.Response()); err != nil {
		s.logger.ErrorContext(c.Request().Context(), "export failed after the response started", "round", in.Round, "error", err.Error())
		panic(http.ErrAbortHandler)
	}
	return nil
}

package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
)

// The public, read-only API under /v1/public/: published rounds only, no token. Unpublished
// rounds answer 404, as if they did not exist. Every answer carries an ETag (a hash of the
// body) and Cache-Control; If-None-Match with the current ETag answers 304.

// publicCacheControl lets browsers and shared caches keep a public answer for a minute.
const publicCacheControl = "public, max-age=60"

// publicJSON writes v with its ETag and cache headers, or 304 when the client has it.
func publicJSON(c *echo.Context, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := c.Response().Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", publicCacheControl)
	h.Set("Vary", "Accept-Encoding")
	if inm := c.Request().Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.JSONBlob(http.StatusOK, body)
}

// etagMatches tells whether an If-None-Match header names etag (weak comparison, "*" matches).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

type publicRoundResponse struct {
	ID                   string              `json:"id"`
	Name                 string              `json:"name"`
	Questionnaire        string              `json:"questionnaire"`
	QuestionnaireVersion string              `json:"questionnaire_version"`
	ReferenceDate        string              `json:"reference_date,omitempty"`
	Countries            []string            `json:"countries"`
	Excluded             []exclusionResponse `json:"excluded"`
	PublicAnswers        bool                `json:"public_answers"`
	PublishedAt          time.Time           `json:"published_at"`
}

func toPublicRound(r *round.Round) publicRoundResponse {
	out := publicRoundResponse{ID: r.ID, Name: r.Name, Questionnaire: r.Questionnaire, QuestionnaireVersion: r.QuestionnaireVer,
		ReferenceDate: r.ReferenceDate, Countries: []string{}, Excluded: []exclusionResponse{}, PublicAnswers: r.PublicAnswers, PublishedAt: r.PublishedAt}
	for _, c := range r.Countries {
		if !r.IsExcluded(c) {
			out.Countries = append(out.Countries, c)
		}
	}
	for _, e := range r.Excluded {
		out.Excluded = append(out.Excluded, exclusionResponse(e))
	}
	return out
}

// handlePublicRounds handles GET /v1/public/rounds.
func (s *Server) handlePublicRounds(c *echo.Context) error {
	rounds, err := s.publish.PublicRounds(c.Request().Context())
	if err != nil {
		return err
	}
	rounds, next, err := keyPage(c, rounds, func(r *round.Round) string { return r.ID }, 100, 500)
	if err != nil {
		return err
	}
	out := struct {
		Rounds []publicRoundResponse `json:"rounds"`
		Next   string                `json:"next,omitempty"`
	}{Rounds: []publicRoundResponse{}, Next: next}
	for i := range rounds {
		out.Rounds = append(out.Rounds, toPublicRound(&rounds[i]))
	}
	return publicJSON(c, out)
}

// handlePublicRound handles GET /v1/public/rounds/:round.
func (s *Server) handlePublicRound(c *echo.Context) error {
	r, err := s.publish.PublicRound(c.Request().Context(), c.Param("round"))
	if err != nil {
		return err
	}
	return publicJSON(c, toPublicRound(r))
}

type publicCountryScores struct {
	Country  string               `json:"country"`
	Revision int                  `json:"revision"`
	Hash     string               `json:"hash"`
	LockedAt time.Time            `json:"locked_at"`
	Scores   questionnaire.Result `json:"scores"`
}

// handlePublicScores handles GET /v1/public/rounds/:round/scores: the frozen scores of every
// published country, optionally of one country, node or variant.
func (s *Server) handlePublicScores(c *echo.Context) error {
	pr, err := s.publish.Published(c.Request().Context(), c.Param("round"))
	if err != nil {
		return err
	}
	country, node, variant := c.QueryParam("country"), c.QueryParam("node"), c.QueryParam("variant")
	out := struct {
		Round                string                `json:"round"`
		Questionnaire        string                `json:"questionnaire"`
		QuestionnaireVersion string                `json:"questionnaire_version"`
		Provisional          bool                  `json:"provisional"`
		Countries            []publicCountryScores `json:"countries"`
	}{Round: pr.Round.ID, Questionnaire: pr.Round.Questionnaire, QuestionnaireVersion: pr.Round.QuestionnaireVer, Countries: []publicCountryScores{}}
	for _, snap := range pr.Snapshots {
		if country != "" && snap.Country != country {
			continue
		}
		res := questionnaire.Result{Nodes: []questionnaire.NodeScore{}}
		for _, n := range snap.Nodes {
			if (node == "" && variant == "") || n.Code == node {
				res.Nodes = append(res.Nodes, n)
			}
		}
		for _, v := range snap.Variants {
			if (node == "" && variant == "") || v.Name == variant {
				res.Variants = append(res.Variants, v)
			}
		}
		out.Countries = append(out.Countries, publicCountryScores{Country: snap.Country, Revision: snap.Revision, Hash: snap.Hash, LockedAt: snap.LockedAt, Scores: res})
	}
	return publicJSON(c, out)
}

// handlePublicAnswers handles GET /v1/public/rounds/:round/countries/:country/answers.
func (s *Server) handlePublicAnswers(c *echo.Context) error {
	snap, err := s.publish.PublicSnapshot(c.Request().Context(), c.Param("round"), c.Param("country"))
	if err != nil {
		return err
	}
	return publicJSON(c, toSnapshotResponse(snap, false))
}

// handlePublicErrata handles GET /v1/public/rounds/:round/errata.
func (s *Server) handlePublicErrata(c *echo.Context) error {
	errata, err := s.publish.PublicErrata(c.Request().Context(), c.Param("round"))
	if err != nil {
		return err
	}
	return errataPage(c, errata, publicJSON)
}

// handlePublicSeries handles GET /v1/public/series: one country's score at a node or variant
// across the published rounds of a questionnaire.
func (s *Server) handlePublicSeries(c *echo.Context) error {
	q, country, node, variant := c.QueryParam("questionnaire"), c.QueryParam("country"), c.QueryParam("node"), c.QueryParam("variant")
	var problems []FieldError
	if q == "" {
		problems = append(problems, FieldError{Field: "questionnaire", Reason: "is required"})
	}
	if country == "" {
		problems = append(problems, FieldError{Field: "country", Reason: "is required"})
	}
	if (node == "") == (variant == "") {
		problems = append(problems, FieldError{Field: "node", Reason: "name either a node or a variant"})
	}
	if len(problems) > 0 {
		return invalid("a series is one country at one node or variant of a questionnaire", problems...)
	}
	points, err := s.publish.Series(c.Request().Context(), q, country, node, variant)
	if err != nil {
		return err
	}
	type point struct {
		Round         string   `json:"round"`
		ReferenceDate string   `json:"reference_date,omitempty"`
		Revision      int      `json:"revision"`
		Score         *float64 `json:"score"`
	}
	out := struct {
		Questionnaire string  `json:"questionnaire"`
		Country       string  `json:"country"`
		Node          string  `json:"node,omitempty"`
		Variant       string  `json:"variant,omitempty"`
		Points        []point `json:"points"`
	}{Questionnaire: q, Country: country, Node: node, Variant: variant, Points: []point{}}
	for _, p := range points {
		out.Points = append(out.Points, point(p))
	}
	return publicJSON(c, out)
}

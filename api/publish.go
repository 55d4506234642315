package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/snapshot"
)

// The responses of snapshots, their verification and errata (docs/publishing.md).

type snapshotSourceResponse = sourceBody

type snapshotCommentResponse struct {
	Author string    `json:"author"`
	At     time.Time `json:"at"`
	Text   string    `json:"text"`
}

type snapshotVerdictResponse struct {
	Reviewer        string    `json:"reviewer"`
	AnswerVersion   int       `json:"answer_version"`
	Verdict         string    `json:"verdict"`
	SuggestedOption string    `json:"suggested_option,omitempty"`
	Reason          string    `json:"reason,omitempty"`
	At              time.Time `json:"at"`
}

type snapshotAdjudicationResponse struct {
	By            string    `json:"by"`
	AnswerVersion int       `json:"answer_version"`
	Option        string    `json:"option,omitempty"`
	Rationale     string    `json:"rationale"`
	At            time.Time `json:"at"`
}

type snapshotAnswerResponse struct {
	Indicator     string                        `json:"indicator"`
	Option        string                        `json:"option,omitempty"`
	Value         *float64                      `json:"value,omitempty"`
	Text          string                        `json:"text,omitempty"`
	NotApplicable bool                          `json:"not_applicable"`
	NAReason      string                        `json:"na_reason,omitempty"`
	Comment       string                        `json:"comment,omitempty"`
	Sources       []snapshotSourceResponse      `json:"sources"`
	Changed       bool                          `json:"changed"`
	Justification string                        `json:"justification,omitempty"`
	Inapplicable  bool                          `json:"inapplicable"`
	Version       int                           `json:"version"`
	UpdatedBy     string                        `json:"updated_by,omitempty"`
	Comments      []snapshotCommentResponse     `json:"comments,omitempty"`
	Verdicts      []snapshotVerdictResponse     `json:"verdicts,omitempty"`
	Adjudication  *snapshotAdjudicationResponse `json:"adjudication,omitempty"`
}

type snapshotOverrideResponse struct {
	Node   string    `json:"node"`
	Score  float64   `json:"score"`
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

type reopenResponse struct {
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

type snapshotResponse struct {
	Round                string                     `json:"round"`
	Country              string                     `json:"country"`
	Questionnaire        string                     `json:"questionnaire"`
	QuestionnaireVersion string                     `json:"questionnaire_version"`
	Revision             int                        `json:"revision"`
	LockedBy             string                     `json:"locked_by,omitempty"`
	LockedAt             time.Time                  `json:"locked_at"`
	Reopened             *reopenResponse            `json:"reopened,omitempty"`
	Answers              []snapshotAnswerResponse   `json:"answers"`
	Overrides            []snapshotOverrideResponse `json:"overrides"`
	Scores               questionnaire.Result       `json:"scores"`
	Hash                 string                     `json:"hash"`
}

// toSnapshotResponse renders a snapshot; review records are left out when withReview is false
// (the public reads answers and sources, not the people who reviewed them).
func toSnapshotResponse(s *snapshot.Snapshot, withReview bool) snapshotResponse {
	out := snapshotResponse{Round: s.Round, Country: s.Country, Questionnaire: s.Questionnaire, QuestionnaireVersion: s.Version,
		Revision: s.Revision, LockedAt: s.LockedAt, Answers: make([]snapshotAnswerResponse, 0, len(s.Answers)),
		Overrides: []snapshotOverrideResponse{}, Scores: questionnaire.Result{Nodes: s.Nodes, Variants: s.Variants}, Hash: s.Hash}
	if out.Scores.Nodes == nil {
		out.Scores.Nodes = []questionnaire.NodeScore{}
	}
	if withReview {
		out.LockedBy = s.LockedBy
	}
	if r := s.Reopened; r != nil {
		out.Reopened = &reopenResponse{At: r.At, Reason: r.Reason}
		if withReview {
			out.Reopened.By = r.By
		}
	}
	for _, a := range s.Answers {
		ar := snapshotAnswerResponse{Indicator: a.Indicator, Option: a.Option, Value: a.Value, Text: a.Text, NotApplicable: a.NotApplicable,
			NAReason: a.NAReason, Comment: a.Comment, Sources: fromSources(a.Sources), Changed: a.Changed,
			Justification: a.Justification, Inapplicable: a.Inapplicable, Version: a.Version}
		if withReview {
			ar.UpdatedBy = a.UpdatedBy
			for _, c := range a.Comments {
				ar.Comments = append(ar.Comments, snapshotCommentResponse(c))
			}
			for _, v := range a.Verdicts {
				ar.Verdicts = append(ar.Verdicts, snapshotVerdictResponse(v))
			}
			if j := a.Adjudication; j != nil {
				adj := snapshotAdjudicationResponse(*j)
				ar.Adjudication = &adj
			}
		}
		out.Answers = append(out.Answers, ar)
	}
	for _, o := range s.Overrides {
		or := snapshotOverrideResponse(o)
		if !withReview {
			or.By = ""
		}
		out.Overrides = append(out.Overrides, or)
	}
	return out
}

// revisionParam reads ?revision= (0 when absent: the latest).
func revisionParam(c *echo.Context) (int, error) {
	v := c.QueryParam("revision")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, invalid("revision names a revision of the sheet's snapshot", FieldError{Field: "revision", Reason: "must be a positive integer"})
	}
	return n, nil
}

// handleGetSnapshot handles GET /v1/rounds/:round/countries/:country/snapshot.
func (s *Server) handleGetSnapshot(c *echo.Context) error {
	rev, err := revisionParam(c)
	if err != nil {
		return err
	}
	snap, err := s.publish.Snapshot(c.Request().Context(), principal(c), c.Param("round"), c.Param("country"), rev)
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", strconv.Quote(snap.Hash))
	return c.JSON(http.StatusOK, toSnapshotResponse(snap, true))
}

// handleVerifySnapshot handles GET /v1/rounds/:round/countries/:country/snapshot/verify.
func (s *Server) handleVerifySnapshot(c *echo.Context) error {
	rev, err := revisionParam(c)
	if err != nil {
		return err
	}
	v, err := s.publish.Verify(c.Request().Context(), principal(c), c.Param("round"), c.Param("country"), rev)
	if err != nil {
		return err
	}
	type mismatch struct {
		Kind       string `json:"kind"`
		Code       string `json:"code,omitempty"`
		Field      string `json:"field,omitempty"`
		Stored     string `json:"stored"`
		Recomputed string `json:"recomputed"`
	}
	out := struct {
		Round          string     `json:"round"`
		Country        string     `json:"country"`
		Revision       int        `json:"revision"`
		Valid          bool       `json:"valid"`
		StoredHash     string     `json:"stored_hash"`
		RecomputedHash string     `json:"recomputed_hash"`
		Mismatches     []mismatch `json:"mismatches"`
	}{Round: v.Snapshot.Round, Country: v.Snapshot.Country, Revision: v.Snapshot.Revision, Valid: len(v.Mismatches) == 0,
		StoredHash: v.Snapshot.Hash, RecomputedHash: v.Recomputed, Mismatches: []mismatch{}}
	for _, m := range v.Mismatches {
		out.Mismatches = append(out.Mismatches, mismatch(m))
	}
	return c.JSON(http.StatusOK, out)
}

type scoreChangeResponse struct {
	Node    string   `json:"node,omitempty"`
	Variant string   `json:"variant,omitempty"`
	Before  *float64 `json:"before"`
	After   *float64 `json:"after"`
	Delta   *float64 `json:"delta"`
}

type answerChangeResponse struct {
	Indicator string   `json:"indicator"`
	Fields    []string `json:"fields"`
	Before    *string  `json:"before_option,omitempty"`
	After     *string  `json:"after_option,omitempty"`
}

type erratumResponse struct {
	Country   string                 `json:"country"`
	From      int                    `json:"from_revision"`
	To        int                    `json:"to_revision"`
	Reason    string                 `json:"reason"`
	At        time.Time              `json:"at"`
	Answers   []answerChangeResponse `json:"answers"`
	Overrides []string               `json:"overrides"`
	Scores    []scoreChangeResponse  `json:"scores"`
}

func toErratumResponses(errata []*snapshot.Erratum) []erratumResponse {
	out := make([]erratumResponse, 0, len(errata))
	for _, e := range errata {
		r := erratumResponse{Country: e.Country, From: e.From, To: e.To, Reason: e.Reason, At: e.At,
			Answers: []answerChangeResponse{}, Overrides: []string{}, Scores: []scoreChangeResponse{}}
		for _, a := range e.Answers {
			ac := answerChangeResponse{Indicator: a.Indicator, Fields: a.Fields}
			if a.Before != nil {
				ac.Before = &a.Before.Option
			}
			if a.After != nil {
				ac.After = &a.After.Option
			}
			r.Answers = append(r.Answers, ac)
		}
		for _, o := range e.Overrides {
			r.Overrides = append(r.Overrides, o.Node)
		}
		for _, sc := range e.Scores {
			r.Scores = append(r.Scores, scoreChangeResponse(sc))
		}
		out = append(out, r)
	}
	return out
}

// handleErrata handles GET /v1/rounds/:round/errata.
func (s *Server) handleErrata(c *echo.Context) error {
	errata, err := s.publish.Errata(c.Request().Context(), principal(c), c.Param("round"))
	if err != nil {
		return err
	}
	return errataPage(c, errata, func(c *echo.Context, v any) error { return c.JSON(http.StatusOK, v) })
}

// errataPage renders a page of a round's errata, by country and then revision.
func errataPage(c *echo.Context, errata []*snapshot.Erratum, render func(*echo.Context, any) error) error {
	// The key orders like the changelog: country codes, then revisions (zero-padded, so that
	// revision 10 follows 9).
	page, next, err := keyPage(c, errata, func(e **snapshot.Erratum) string { return fmt.Sprintf("%s/%06d", (*e).Country, (*e).To) }, 100, 500)
	if err != nil {
		return err
	}
	return render(c, struct {
		Round  string            `json:"round"`
		Errata []erratumResponse `json:"errata"`
		Next   string            `json:"next,omitempty"`
	}{c.Param("round"), toErratumResponses(page), next})
}

// handleLockSheets handles POST /v1/rounds/:round/lock: many sheets, each its own lock.
func (s *Server) handleLockSheets(c *echo.Context) error {
	var req struct {
		Countries []string `json:"countries" validate:"max=400,dive,max=64"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	results, err := s.publish.LockMany(c.Request().Context(), principal(c), c.Param("round"), req.Countries)
	if err != nil {
		return err
	}
	type locked struct {
		Country  string `json:"country"`
		Revision int    `json:"revision"`
		Hash     string `json:"hash"`
	}
	type failed struct {
		Country string  `json:"country"`
		Problem Problem `json:"problem"`
	}
	out := struct {
		Locked []locked `json:"locked"`
		Failed []failed `json:"failed"`
	}{Locked: []locked{}, Failed: []failed{}}
	for _, r := range results {
		if r.Err != nil {
			p, ok := toProblem(r.Err)
			if !ok {
				return r.Err
			}
			out.Failed = append(out.Failed, failed{Country: r.Country, Problem: p})
			continue
		}
		out.Locked = append(out.Locked, locked{Country: r.Country, Revision: r.Revision, Hash: r.Hash})
	}
	return c.JSON(http.StatusOK, out)
}

// handleCompare handles GET /v1/rounds/:round/compare/:other: two rounds side by side.
func (s *Server) handleCompare(c *echo.Context) error {
	comps, err := s.publish.Compare(c.Request().Context(), principal(c), c.Param("round"), c.Param("other"))
	if err != nil {
		return err
	}
	type changed struct {
		Indicator string   `json:"indicator"`
		Fields    []string `json:"fields"`
	}
	type country struct {
		Country   string                `json:"country"`
		RevisionA int                   `json:"revision_a"`
		RevisionB int                   `json:"revision_b"`
		Scores    []scoreChangeResponse `json:"scores"`
		Changed   []changed             `json:"changed"`
	}
	out := struct {
		RoundA    string    `json:"round_a"`
		RoundB    string    `json:"round_b"`
		Countries []country `json:"countries"`
	}{RoundA: c.Param("round"), RoundB: c.Param("other"), Countries: []country{}}
	for _, cmp := range comps {
		ct := country{Country: cmp.Country, RevisionA: cmp.RevisionA, RevisionB: cmp.RevisionB, Scores: []scoreChangeResponse{}, Changed: []changed{}}
		for _, sc := range cmp.Scores {
			ct.Scores = append(ct.Scores, scoreChangeResponse(sc))
		}
		for _, a := range cmp.Changed {
			ct.Changed = append(ct.Changed, changed{Indicator: a.Indicator, Fields: a.Fields})
		}
		out.Countries = append(out.Countries, ct)
	}
	return c.JSON(http.StatusOK, out)
}

package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/review"
	"github.com/expertsurvey/expertsurvey/round"
)

// The review workflow's routes: verdicts, disputes, adjudication, send-backs, overrides,
// comments, bulk approval, lock and reopen. The rules are the review package's; a handler
// decodes, calls the round service and renders the answer or sheet as the caller may see it
// (through the view's labels: in a blind round experts and reviewers see roles, not names).

// --- responses ---

type verdictResponse struct {
	Reviewer        string    `json:"reviewer"`
	Decision        string    `json:"decision"`
	Version         int       `json:"version"`
	Reason          string    `json:"reason,omitempty"`
	SuggestedOption string    `json:"suggested_option,omitempty"`
	SuggestedValue  *float64  `json:"suggested_value,omitempty"`
	At              time.Time `json:"at"`
}

type openRequestResponse struct {
	By              string    `json:"by"`
	Reason          string    `json:"reason"`
	SuggestedOption string    `json:"suggested_option,omitempty"`
	SuggestedValue  *float64  `json:"suggested_value,omitempty"`
	SentBack        bool      `json:"sent_back"`
	At              time.Time `json:"at"`
}

type revisionResponse struct {
	Version int       `json:"version"`
	By      string    `json:"by"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}

type rebuttalResponse struct {
	Expert  string    `json:"expert"`
	Version int       `json:"version"`
	Text    string    `json:"text"`
	At      time.Time `json:"at"`
}

type adjudicationResponse struct {
	Coordinator   string    `json:"coordinator"`
	Version       int       `json:"version"`
	Option        string    `json:"option,omitempty"`
	Value         *float64  `json:"value,omitempty"`
	Text          string    `json:"text,omitempty"`
	NotApplicable bool      `json:"not_applicable"`
	Rationale     string    `json:"rationale"`
	At            time.Time `json:"at"`
}

type overrideResponse struct {
	Coordinator string    `json:"coordinator"`
	Version     int       `json:"version"`
	Score       *float64  `json:"score"`
	Reason      string    `json:"reason"`
	At          time.Time `json:"at"`
}

type commentResponse struct {
	ID         int                   `json:"id"`
	Author     string                `json:"author"`
	Role       string                `json:"role"`
	Text       string                `json:"text"`
	ReplyTo    int                   `json:"reply_to,omitempty"`
	Version    int                   `json:"version"`
	Resolved   bool                  `json:"resolved"`
	ResolvedBy string                `json:"resolved_by,omitempty"`
	Earlier    []commentTextResponse `json:"earlier"`
	At         time.Time             `json:"at"`
	EditedAt   *time.Time            `json:"edited_at,omitempty"`
}

type commentTextResponse struct {
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// answerReviewResponse is the review side of an answer, every person in it labelled for the
// reader.
type answerReviewResponse struct {
	State         string                 `json:"state"`
	Inapplicable  bool                   `json:"inapplicable"`
	Verdicts      []verdictResponse      `json:"verdicts"`
	OpenRequests  []openRequestResponse  `json:"open_requests"`
	Revisions     []revisionResponse     `json:"revisions"`
	Rebuttals     []rebuttalResponse     `json:"rebuttals"`
	Adjudications []adjudicationResponse `json:"adjudications"`
	Overrides     []overrideResponse     `json:"overrides"`
	ScoreOverride *float64               `json:"score_override,omitempty"`
	Comments      []commentResponse      `json:"comments"`
}

// mapped maps a slice through f, never returning nil (lists are [] in JSON, not null).
func mapped[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

func toAnswerReview(a review.Answer, l review.Labels) *answerReviewResponse {
	out := &answerReviewResponse{
		State: string(a.State), Inapplicable: a.Inapplicable,
		Verdicts: mapped(a.Verdicts, func(v review.Verdict) verdictResponse {
			return verdictResponse{l.Of(v.Reviewer), string(v.Decision), v.Version, v.Reason, v.SuggestedOption, v.SuggestedValue, v.At}
		}),
		OpenRequests: mapped(a.OpenRequests(), func(r review.OpenRequest) openRequestResponse {
			return openRequestResponse{l.Of(r.By), r.Reason, r.SuggestedOption, r.SuggestedValue, r.SentBack, r.At}
		}),
		Revisions: mapped(a.Revisions, func(r review.Revision) revisionResponse {
			return revisionResponse{r.Version, l.Of(r.By), r.Reason, r.At}
		}),
		Rebuttals: mapped(a.Rebuttals, func(r review.Rebuttal) rebuttalResponse {
			return rebuttalResponse{l.Of(r.Expert), r.Version, r.Text, r.At}
		}),
		Adjudications: mapped(a.Adjudications, func(r review.Adjudication) adjudicationResponse {
			return adjudicationResponse{l.Of(r.Coordinator), r.Version, r.Option, r.Value, r.Text, r.NotApplicable, r.Rationale, r.At}
		}),
		Overrides: mapped(a.Overrides, func(r review.Override) overrideResponse {
			return overrideResponse{l.Of(r.Coordinator), r.Version, r.Score, r.Reason, r.At}
		}),
		Comments: mapped(a.Comments, func(c review.Comment) commentResponse { return toCommentResponse(c, l) }),
	}
	if o := a.ScoreOverride(); o != nil {
		out.ScoreOverride = o.Score
	}
	return out
}

func toCommentResponse(c review.Comment, l review.Labels) commentResponse {
	out := commentResponse{ID: c.ID, Author: l.Of(c.Author), Role: string(c.Role), Text: c.Text, ReplyTo: c.ReplyTo,
		Version: c.Version, Resolved: c.Resolved, ResolvedBy: l.Of(c.ResolvedBy), At: c.At,
		Earlier: mapped(c.Earlier, func(t review.CommentText) commentTextResponse { return commentTextResponse{t.Text, t.At} })}
	if !c.EditedAt.IsZero() {
		t := c.EditedAt
		out.EditedAt = &t
	}
	return out
}

// toAnswerView renders an answer with its review, as the reader may see it.
func toAnswerView(v *round.AnswerView) answerResponse {
	out := toAnswerResponse(&v.Answer)
	out.UpdatedBy = v.Labels.Of(out.UpdatedBy)
	out.Review = toAnswerReview(v.Review, v.Labels)
	return out
}

// renderAnswer answers with an answer view and its version as ETag.
func renderAnswer(c *echo.Context, status int, v *round.AnswerView) error {
	setVersionETag(c, v.Version)
	return c.JSON(status, toAnswerView(v))
}

type statusChangeResponse struct {
	Move      string    `json:"move"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	By        string    `json:"by,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Automatic bool      `json:"automatic"`
	At        time.Time `json:"at"`
}

// --- requests ---

type verdictRequest struct {
	Decision        string   `json:"decision" validate:"required,oneof=approve request_changes"`
	Reason          string   `json:"reason"`
	SuggestedOption string   `json:"suggested_option"`
	SuggestedValue  *float64 `json:"suggested_value"`
}

type disputeRequest struct {
	Text string `json:"text"`
}

type adjudicationRequest struct {
	Option        string   `json:"option"`
	Value         *float64 `json:"value"`
	Text          string   `json:"text"`
	NotApplicable bool     `json:"not_applicable"`
	Rationale     string   `json:"rationale"`
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

type overrideRequest struct {
	Score  *float64 `json:"score"`
	Reason string   `json:"reason"`
}

type commentRequest struct {
	Text    string `json:"text"`
	ReplyTo int    `json:"reply_to" validate:"min=0"`
}

type commentEditRequest struct {
	Text     *string `json:"text"`
	Resolved *bool   `json:"resolved"`
}

type approvalsRequest struct {
	Answers []struct {
		Indicator string `json:"indicator" validate:"required,max=200"`
		Version   int    `json:"version" validate:"min=1"`
	} `json:"answers" validate:"max=5000,dive"`
	AllRemaining bool `json:"all_remaining"`
}

// --- handlers ---

// answerParams are the path parameters of an answer route.
func answerParams(c *echo.Context) (roundID, country, indicator string) {
	return c.Param("round"), c.Param("country"), c.Param("indicator")
}

// answerMoveRequest is one review move on an answer: decode the body, read If-Match (the
// service answers 428 without it), make the move, answer with the answer as the caller sees it.
func answerMoveRequest[T any](c *echo.Context, move func(ctx context.Context, p auth.Principal, roundID, country, indicator string, ifVersion *int, req T) (*round.AnswerView, error)) error {
	var req T
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	v, err := ifMatchVersion(c)
	if err != nil {
		return err
	}
	r, country, code := answerParams(c)
	view, err := move(c.Request().Context(), principal(c), r, country, code, v, req)
	if err != nil {
		return err
	}
	return renderAnswer(c, http.StatusOK, view)
}

func (s *Server) handleVerdict(c *echo.Context) error {
	return answerMoveRequest(c, func(ctx context.Context, p auth.Principal, r, country, code string, v *int, req verdictRequest) (*round.AnswerView, error) {
		if req.Decision != string(review.Approve) {
			return s.rounds.RequestChanges(ctx, p, r, country, code, v,
				review.RequestInput{Reason: req.Reason, SuggestedOption: req.SuggestedOption, SuggestedValue: req.SuggestedValue})
		}
		if req.Reason != "" || req.SuggestedOption != "" || req.SuggestedValue != nil {
			return nil, invalid("an approval carries no reason or suggestion; comment instead",
				FieldError{Field: "reason", Reason: "only with decision request_changes"})
		}
		return s.rounds.Approve(ctx, p, r, country, code, v)
	})
}

func (s *Server) handleDispute(c *echo.Context) error {
	return answerMoveRequest(c, func(ctx context.Context, p auth.Principal, r, country, code string, v *int, req disputeRequest) (*round.AnswerView, error) {
		return s.rounds.Dispute(ctx, p, r, country, code, v, req.Text)
	})
}

func (s *Server) handleAdjudicate(c *echo.Context) error {
	return answerMoveRequest(c, func(ctx context.Context, p auth.Principal, r, country, code string, v *int, req adjudicationRequest) (*round.AnswerView, error) {
		return s.rounds.Adjudicate(ctx, p, r, country, code, v, review.AdjudicationInput{
			Option: req.Option, Value: req.Value, Text: req.Text, NotApplicable: req.NotApplicable, Rationale: req.Rationale})
	})
}

func (s *Server) handleSendBack(c *echo.Context) error {
	return answerMoveRequest(c, func(ctx context.Context, p auth.Principal, r, country, code string, v *int, req reasonRequest) (*round.AnswerView, error) {
		return s.rounds.SendBack(ctx, p, r, country, code, v, req.Reason)
	})
}

func (s *Server) handleOverride(c *echo.Context) error {
	return answerMoveRequest(c, func(ctx context.Context, p auth.Principal, r, country, code string, v *int, req overrideRequest) (*round.AnswerView, error) {
		return s.rounds.Override(ctx, p, r, country, code, v, req.Score, req.Reason)
	})
}

func (s *Server) handleListComments(c *echo.Context) error {
	limit, err := queryLimit(c, 100, 500)
	if err != nil {
		return err
	}
	after := 0
	if v := c.QueryParam("after"); v != "" {
		if after, err = strconv.Atoi(v); err != nil || after < 0 {
			return invalid("after is the next of the previous page", FieldError{Field: "after", Reason: "must be a comment id"})
		}
	}
	r, country, code := answerParams(c)
	view, err := s.rounds.Answer(c.Request().Context(), principal(c), r, country, code)
	if err != nil {
		return err
	}
	// Comments are numbered from 1 in order of posting and never removed: the page after
	// comment k starts at index k.
	all := view.Review.Comments
	from := min(after, len(all))
	page := all[from:min(from+limit, len(all))]
	out := struct {
		Comments []commentResponse `json:"comments"`
		Next     int               `json:"next,omitempty"`
	}{Comments: mapped(page, func(cm review.Comment) commentResponse { return toCommentResponse(cm, view.Labels) })}
	if len(page) > 0 && page[len(page)-1].ID < len(all) {
		out.Next = page[len(page)-1].ID
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) handleAddComment(c *echo.Context) error {
	var req commentRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	r, country, code := answerParams(c)
	view, id, err := s.rounds.Comment(c.Request().Context(), principal(c), r, country, code, req.Text, req.ReplyTo)
	if err != nil {
		return err
	}
	return s.renderComment(c, http.StatusCreated, view, id)
}

// renderComment answers with one comment of an answer view.
func (s *Server) renderComment(c *echo.Context, status int, view *round.AnswerView, id int) error {
	for _, cm := range view.Review.Comments {
		if cm.ID == id {
			c.Response().Header().Set("Location", c.Request().URL.Path+"/"+strconv.Itoa(id))
			return c.JSON(status, toCommentResponse(cm, view.Labels))
		}
	}
	return newProblem(kindInternal, "the comment written is missing from the answer")
}

func (s *Server) handleEditComment(c *echo.Context) error {
	var req commentEditRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	id, err := strconv.Atoi(c.Param("comment"))
	if err != nil || id < 1 {
		return invalid("comments are numbered from 1", FieldError{Field: "comment", Reason: "must be a comment number"})
	}
	r, country, code := answerParams(c)
	view, err := s.rounds.EditComment(c.Request().Context(), principal(c), r, country, code, id, round.CommentEdit{Text: req.Text, Resolved: req.Resolved})
	if err != nil {
		return err
	}
	c.Response().Header().Del("Location")
	for _, cm := range view.Review.Comments {
		if cm.ID == id {
			return c.JSON(http.StatusOK, toCommentResponse(cm, view.Labels))
		}
	}
	return newProblem(kindInternal, "the comment edited is missing from the answer")
}

func (s *Server) handleApprovals(c *echo.Context) error {
	var req approvalsRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	targets := make([]round.Approval, len(req.Answers))
	for i, a := range req.Answers {
		targets[i] = round.Approval{Indicator: a.Indicator, Version: a.Version}
	}
	view, approved, err := s.rounds.ApproveMany(c.Request().Context(), principal(c), c.Param("round"), c.Param("country"), targets, req.AllRemaining)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, struct {
		Approved []string      `json:"approved"`
		Sheet    sheetResponse `json:"sheet"`
	}{approved, toSheetResponse(view)})
}

func (s *Server) handleLockSheet(c *echo.Context) error {
	view, err := s.rounds.Lock(c.Request().Context(), principal(c), c.Param("round"), c.Param("country"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSheetResponse(view))
}

func (s *Server) handleReopenSheet(c *echo.Context) error {
	var req reasonRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	view, err := s.rounds.Reopen(c.Request().Context(), principal(c), c.Param("round"), c.Param("country"), req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSheetResponse(view))
}

type taskResponse struct {
	Kind       string   `json:"kind"`
	Round      string   `json:"round"`
	Country    string   `json:"country"`
	Indicators []string `json:"indicators"`
	Due        string   `json:"due,omitempty"`
	Overdue    bool     `json:"overdue"`
}

// handleMyTasks handles GET /v1/me/tasks: what waits on the caller, a page at a time.
func (s *Server) handleMyTasks(c *echo.Context) error {
	limit, err := queryLimit(c, 50, 200)
	if err != nil {
		return err
	}
	tasks, err := s.rounds.Tasks(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	after := c.QueryParam("after")
	start := 0
	if after != "" {
		start = len(tasks)
		for i, t := range tasks {
			if t.Key() > after {
				start = i
				break
			}
		}
	}
	page := tasks[start:min(start+limit, len(tasks))]
	out := struct {
		Tasks []taskResponse `json:"tasks"`
		Next  string         `json:"next,omitempty"`
	}{Tasks: mapped(page, func(t round.Task) taskResponse {
		codes := t.Indicators
		if codes == nil {
			codes = []string{}
		}
		return taskResponse{string(t.Kind), t.Round, t.Country, codes, t.Due, t.Overdue}
	})}
	if start+limit < len(tasks) {
		out.Next = page[len(page)-1].Key()
	}
	return c.JSON(http.StatusOK, out)
}

type timelineItemResponse struct {
	Seq       int64         `json:"seq"`
	At        time.Time     `json:"at"`
	Actor     string        `json:"actor"`
	Action    string        `json:"action"`
	Indicator string        `json:"indicator,omitempty"`
	Version   int           `json:"version,omitempty"`
	Decision  string        `json:"decision,omitempty"`
	Reason    string        `json:"reason,omitempty"`
	Text      string        `json:"text,omitempty"`
	Content   *contentValue `json:"content,omitempty"`
	Score     *float64      `json:"score,omitempty"`
	From      string        `json:"from,omitempty"`
	To        string        `json:"to,omitempty"`
}

type contentValue struct {
	Option        string   `json:"option,omitempty"`
	Value         *float64 `json:"value,omitempty"`
	Text          string   `json:"text,omitempty"`
	NotApplicable bool     `json:"not_applicable"`
}

// handleTimeline handles GET .../timeline of a sheet and of one answer.
func (s *Server) handleTimeline(c *echo.Context) error {
	limit, err := queryLimit(c, 100, 500)
	if err != nil {
		return err
	}
	var after int64
	if v := c.QueryParam("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			return invalid("after is the next of the previous page", FieldError{Field: "after", Reason: "must be a log position"})
		}
	}
	items, next, err := s.rounds.Timeline(c.Request().Context(), principal(c), c.Param("round"), c.Param("country"), c.Param("indicator"), after, limit)
	if err != nil {
		return err
	}
	out := struct {
		Items []timelineItemResponse `json:"items"`
		Next  int64                  `json:"next,omitempty"`
	}{Next: next, Items: mapped(items, func(it round.TimelineItem) timelineItemResponse {
		r := timelineItemResponse{Seq: it.Seq, At: it.At, Actor: it.Actor, Action: it.Action, Indicator: it.Indicator, Version: it.Version,
			Decision: it.Decision, Reason: it.Reason, Text: it.Text, Score: it.Score, From: string(it.From), To: string(it.To)}
		if ct := it.Content; ct != nil {
			r.Content = &contentValue{ct.Option, ct.Value, ct.Text, ct.NotApplicable}
		}
		return r
	})}
	return c.JSON(http.StatusOK, out)
}

type agreementResponse struct {
	Units            int      `json:"units"`
	Verdicts         int      `json:"verdicts"`
	Pairs            int      `json:"pairs"`
	Agreeing         int      `json:"agreeing"`
	PercentAgreement float64  `json:"percent_agreement"`
	Alpha            *float64 `json:"alpha"`
}

func toAgreement(a review.Agreement) agreementResponse {
	return agreementResponse{a.Units, a.Verdicts, a.Pairs, a.Agreeing, a.PercentAgreement, a.Alpha}
}

type calibrationRowResponse struct {
	Country string                `json:"country"`
	Status  string                `json:"status"`
	Answer  *answerResponse       `json:"answer,omitempty"`
	Review  *answerReviewResponse `json:"review"`
	Score   *float64              `json:"score"`
}

// handleCalibration handles GET /v1/rounds/:round/calibration/:indicator.
func (s *Server) handleCalibration(c *echo.Context) error {
	_, cal, err := s.rounds.Calibration(c.Request().Context(), principal(c), c.Param("round"), c.Param("indicator"))
	if err != nil {
		return err
	}
	var names review.Labels // coordinators only: everyone by id
	return c.JSON(http.StatusOK, struct {
		Indicator string                   `json:"indicator"`
		Countries []calibrationRowResponse `json:"countries"`
		Agreement agreementResponse        `json:"agreement"`
	}{cal.Indicator, mapped(cal.Rows, func(r round.CalibrationRow) calibrationRowResponse {
		out := calibrationRowResponse{Country: r.Country, Status: string(r.Status), Review: toAnswerReview(r.Review, names), Score: r.Score}
		if r.Answer != nil {
			a := toAnswerResponse(r.Answer)
			out.Answer = &a
		}
		return out
	}), toAgreement(cal.Agreement)})
}

// handleAgreement handles GET /v1/rounds/:round/agreement.
func (s *Server) handleAgreement(c *echo.Context) error {
	_, ag, err := s.rounds.Agreement(c.Request().Context(), principal(c), c.Param("round"))
	if err != nil {
		return err
	}
	type perIndicator struct {
		Indicator string `json:"indicator"`
		agreementResponse
	}
	var rows []perIndicator
	for _, code := range ag.IndicatorIDs {
		if a, ok := ag.ByIndicator[code]; ok && a.Units > 0 {
			rows = append(rows, perIndicator{code, toAgreement(a)})
		}
	}
	if rows == nil {
		rows = []perIndicator{}
	}
	return c.JSON(http.StatusOK, struct {
		Overall     agreementResponse `json:"overall"`
		ByIndicator []perIndicator    `json:"by_indicator"`
	}{toAgreement(ag.Overall), rows})
}

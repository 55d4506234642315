package api

import (
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/review"
	"github.com/expertsurvey/expertsurvey/round"
)

// --- requests and responses ---

type roundRequest struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	Questionnaire      string   `json:"questionnaire"`
	QuestionnaireVer   string   `json:"questionnaire_version"`
	ReferenceDate      string   `json:"reference_date"`
	Countries          []string `json:"countries"`
	AnswersDue         string   `json:"answers_due"`
	ReviewsDue         string   `json:"reviews_due"`
	Previous           string   `json:"previous"`
	BlindReview        bool     `json:"blind_review"`
	ReviewersPerAnswer int      `json:"reviewers_per_answer"`
	PublicAnswers      bool     `json:"public_answers"`
}

func (r roundRequest) toDomain() round.RoundInput {
	return round.RoundInput{ID: r.ID, Name: r.Name, Questionnaire: r.Questionnaire, QuestionnaireVer: r.QuestionnaireVer,
		ReferenceDate: r.ReferenceDate, Countries: r.Countries, AnswersDue: r.AnswersDue, ReviewsDue: r.ReviewsDue,
		Previous: r.Previous, BlindReview: r.BlindReview, ReviewersPerAnswer: r.ReviewersPerAnswer, PublicAnswers: r.PublicAnswers}
}

type roundResponse struct {
	ID                 string              `json:"id"`
	Name               string              `json:"name"`
	Questionnaire      string              `json:"questionnaire"`
	QuestionnaireVer   string              `json:"questionnaire_version"`
	ReferenceDate      string              `json:"reference_date,omitempty"`
	Countries          []string            `json:"countries"`
	AnswersDue         string              `json:"answers_due,omitempty"`
	ReviewsDue         string              `json:"reviews_due,omitempty"`
	Previous           string              `json:"previous,omitempty"`
	BlindReview        bool                `json:"blind_review"`
	ReviewersPerAnswer int                 `json:"reviewers_per_answer"`
	Status             string              `json:"status"`
	Version            int                 `json:"version"`
	CreatedAt          time.Time           `json:"created_at"`
	CreatedBy          string              `json:"created_by"`
	UpdatedAt          time.Time           `json:"updated_at"`
	PublicAnswers      bool                `json:"public_answers"`
	Excluded           []exclusionResponse `json:"excluded,omitempty"`
	PublishedAt        *time.Time          `json:"published_at,omitempty"`
}

type exclusionResponse struct {
	Country string `json:"country" validate:"required"`
	Reason  string `json:"reason" validate:"required,max=2000"`
}

func toRoundResponse(r *round.Round) roundResponse {
	countries := r.Countries
	if countries == nil {
		countries = []string{}
	}
	out := roundResponse{ID: r.ID, Name: r.Name, Questionnaire: r.Questionnaire, QuestionnaireVer: r.QuestionnaireVer,
		ReferenceDate: r.ReferenceDate, Countries: countries, AnswersDue: r.AnswersDue, ReviewsDue: r.ReviewsDue,
		Previous: r.Previous, BlindReview: r.BlindReview, ReviewersPerAnswer: r.ReviewersPerAnswer,
		Status: string(r.Status), Version: r.Version, CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy, UpdatedAt: r.UpdatedAt, PublicAnswers: r.PublicAnswers}
	for _, e := range r.Excluded {
		out.Excluded = append(out.Excluded, exclusionResponse(e))
	}
	if !r.PublishedAt.IsZero() {
		t := r.PublishedAt
		out.PublishedAt = &t
	}
	return out
}

type sourceBody struct {
	Kind      string `json:"kind"`
	Title     string `json:"title"`
	Reference string `json:"reference,omitempty"`
	URL       string `json:"url,omitempty"`
	TextDate  string `json:"text_date,omitempty"`
	Accessed  string `json:"accessed,omitempty"`
	Language  string `json:"language,omitempty"`
	Excerpt   string `json:"excerpt,omitempty"`
}

func toSources(in []sourceBody) []round.Source {
	out := make([]round.Source, len(in))
	for i, s := range in {
		out[i] = round.Source{Kind: round.SourceKind(s.Kind), Title: s.Title, Reference: s.Reference, URL: s.URL,
			TextDate: s.TextDate, Accessed: s.Accessed, Language: s.Language, Excerpt: s.Excerpt}
	}
	return out
}

func fromSources(in []round.Source) []sourceBody {
	out := make([]sourceBody, len(in))
	for i, s := range in {
		out[i] = sourceBody{Kind: string(s.Kind), Title: s.Title, Reference: s.Reference, URL: s.URL,
			TextDate: s.TextDate, Accessed: s.Accessed, Language: s.Language, Excerpt: s.Excerpt}
	}
	return out
}

type answerRequest struct {
	Option        string       `json:"option"`
	Value         *float64     `json:"value"`
	Text          string       `json:"text"`
	NotApplicable bool         `json:"not_applicable"`
	NAReason      string       `json:"na_reason"`
	Comment       string       `json:"comment"`
	Sources       []sourceBody `json:"sources"`
	Justification string       `json:"justification"`
	// Reason is the reason for the change, required once the sheet has been submitted.
	Reason string `json:"reason"`
}

type previousResponse struct {
	Round         string       `json:"round"`
	Option        string       `json:"option,omitempty"`
	Value         *float64     `json:"value,omitempty"`
	Text          string       `json:"text,omitempty"`
	NotApplicable bool         `json:"not_applicable"`
	Sources       []sourceBody `json:"sources"`
}

type answerResponse struct {
	Indicator     string            `json:"indicator"`
	Option        string            `json:"option,omitempty"`
	Value         *float64          `json:"value,omitempty"`
	Text          string            `json:"text,omitempty"`
	NotApplicable bool              `json:"not_applicable"`
	NAReason      string            `json:"na_reason,omitempty"`
	Comment       string            `json:"comment,omitempty"`
	Sources       []sourceBody      `json:"sources"`
	Carried       bool              `json:"carried"`
	Previous      *previousResponse `json:"previous,omitempty"`
	Changed       bool              `json:"changed"`
	Justification string            `json:"justification,omitempty"`
	Inapplicable  bool              `json:"inapplicable"`
	Version       int               `json:"version"`
	UpdatedBy     string            `json:"updated_by,omitempty"`
	UpdatedAt     *time.Time        `json:"updated_at,omitempty"`
	// Review is where the answer stands in review; left out where the answer is shown outside
	// its sheet's review (a stale write's current answer, an earlier version).
	Review *answerReviewResponse `json:"review,omitempty"`
}

func toAnswerResponse(a *round.Answer) answerResponse {
	out := answerResponse{Indicator: a.Indicator, Option: a.Option, Value: a.Value, Text: a.Text,
		NotApplicable: a.NotApplicable, NAReason: a.NAReason, Comment: a.Comment, Sources: fromSources(a.Sources),
		Carried: a.Carried, Changed: a.Changed, Justification: a.Justification, Inapplicable: a.Inapplicable,
		Version: a.Version, UpdatedBy: a.UpdatedBy}
	if !a.UpdatedAt.IsZero() {
		t := a.UpdatedAt
		out.UpdatedAt = &t
	}
	if p := a.Previous; p != nil {
		out.Previous = &previousResponse{Round: p.Round, Option: p.Option, Value: p.Value, Text: p.Text,
			NotApplicable: p.NotApplicable, Sources: fromSources(p.Sources)}
	}
	return out
}

type progressResponse struct {
	Applicable         int `json:"applicable"`
	Answered           int `json:"answered"`
	WithSources        int `json:"with_sources"`
	CarriedUnconfirmed int `json:"carried_unconfirmed"`
	// Review counts, per answer state, of the answers in review (inapplicable ones aside).
	Submitted        int `json:"submitted"`
	Reviewed         int `json:"reviewed"`
	Approved         int `json:"approved"`
	ChangesRequested int `json:"changes_requested"`
	Revised          int `json:"revised"`
	OpenDisputes     int `json:"open_disputes"`
	Resolved         int `json:"resolved"`
	OpenComments     int `json:"open_comments"`
}

func toProgress(p round.Progress) progressResponse {
	r := p.Review
	return progressResponse{Applicable: p.Applicable, Answered: p.Answered, WithSources: p.WithSources,
		CarriedUnconfirmed: p.CarriedUnconfirmed, Submitted: r.Submitted, Reviewed: r.Reviewed, Approved: r.Approved,
		ChangesRequested: r.ChangesRequested, Revised: r.Revised, OpenDisputes: r.Disputed, Resolved: r.Resolved, OpenComments: r.OpenComments}
}

type sheetResponse struct {
	Round       string           `json:"round"`
	Country     string           `json:"country"`
	Status      string           `json:"status"`
	RoundStatus string           `json:"round_status"`
	Progress    progressResponse `json:"progress"`
	Answers     []answerResponse `json:"answers"`
	UpdatedAt   *time.Time       `json:"updated_at,omitempty"`
	// ReturnReason is the reason a coordinator gave for returning the sheet, while returned.
	ReturnReason string `json:"return_reason,omitempty"`
	// History lists every change of the sheet's status, oldest first.
	History []statusChangeResponse `json:"history"`
}

func toSheetResponse(v *round.SheetView) sheetResponse {
	out := sheetResponse{Round: v.Sheet.Round, Country: v.Sheet.Country, Status: string(v.Sheet.Status),
		RoundStatus: string(v.Round.Status), Progress: toProgress(v.Progress), Answers: make([]answerResponse, 0, v.Sheet.AnswerCount())}
	for a := range v.Sheet.EachAnswer() {
		out.Answers = append(out.Answers, toAnswerView(&round.AnswerView{Answer: *a, Review: v.Sheet.Review.Answer(a.Indicator), Labels: v.Labels}))
	}
	out.ReturnReason = v.Sheet.Review.ReturnReason()
	out.History = mapped(v.Sheet.Review.History, func(h review.StatusChange) statusChangeResponse {
		return statusChangeResponse{string(h.Move), string(h.From), string(h.To), v.Labels.Of(h.By), h.Reason, h.Automatic, h.At}
	})
	if !v.Sheet.UpdatedAt.IsZero() {
		t := v.Sheet.UpdatedAt
		out.UpdatedAt = &t
	}
	return out
}

// --- the error table's part for rounds ---

// roundProblem renders the round package's typed errors.
func roundProblem(err error) (Problem, bool) {
	var ve *round.ValidationError
	var ie *round.IncompleteError
	var se *round.StaleError
	var sre *round.StaleRoundError
	var le *round.LimitError
	switch {
	case errors.As(err, &le):
		k := kindUnprocessable
		if le.TooLarge {
			k = kindTooLarge
		}
		p := problemFor(k, "the file passes a limit of the import; nothing was written")
		p.Errors = []FieldError{{Field: le.Field, Reason: le.Reason}}
		return p, true
	case errors.As(err, &ve):
		p := problemFor(kindValidation, "the request has invalid fields")
		for _, f := range ve.Problems {
			p.Errors = append(p.Errors, FieldError{Field: f.Field, Reason: f.Reason})
		}
		return p, true
	case errors.As(err, &ie):
		p := problemFor(kindUnprocessable, "the sheet cannot be submitted yet; errors lists what is missing")
		for _, f := range ie.Missing {
			p.Errors = append(p.Errors, FieldError{Field: f.Field, Reason: f.Reason})
		}
		return p, true
	case errors.As(err, &se):
		p := problemFor(kindStale, "the answer changed since the version you read; current holds it now")
		p.Current = toAnswerResponse(se.Current)
		return p, true
	case errors.As(err, &sre):
		p := problemFor(kindStale, "the round changed since the version you read; current holds it now")
		p.Current = toRoundResponse(sre.Current)
		return p, true
	}
	return Problem{}, false
}

// --- helpers ---

// setVersionETag sets the strong ETag of a versioned resource: its version, quoted.
func setVersionETag(c *echo.Context, version int) {
	c.Response().Header().Set("ETag", strconv.Quote(strconv.Itoa(version)))
}

// ifMatchVersion reads If-Match as the version the client read: nil when absent (the service
// answers 428 where it is required), an error when it is not one quoted version ("*" included:
// it would overwrite whatever is there, the lost update If-Match prevents).
func ifMatchVersion(c *echo.Context) (*int, error) {
	header := strings.TrimSpace(c.Request().Header.Get("If-Match"))
	if header == "" {
		return nil, nil
	}
	v, ok := parseETag(header)
	if !ok {
		return nil, invalid(`If-Match must be one ETag such as "3"`,
			FieldError{Field: "If-Match", Reason: "must be the ETag of the version read"})
	}
	n := int(v)
	return &n, nil
}

// parseETag reads one version ETag, strong ("3") or weak (W/"3": compressing proxies weaken
// ETags).
func parseETag(header string) (int64, bool) {
	unquoted, err := strconv.Unquote(strings.TrimPrefix(header, "W/"))
	if err != nil || !strings.HasPrefix(strings.TrimPrefix(header, "W/"), `"`) {
		return 0, false
	}
	v, err := strconv.ParseInt(unquoted, 10, 64)
	return v, err == nil && v >= 0
}

func requireIfMatch(c *echo.Context) (int, error) {
	v, err := ifMatchVersion(c)
	if err != nil {
		return 0, err
	}
	if v == nil {
		return 0, newProblem(kindPrecondReq, "send If-Match with the ETag of the version you read",
			FieldError{Field: "If-Match", Reason: "is required"})
	}
	return *v, nil
}

// --- rounds ---

func (s *Server) handleListRounds(c *echo.Context) error {
	rs, err := s.rounds.Rounds(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	rs, next, err := keyPage(c, rs, func(r *round.Round) string { return r.ID }, 100, 500)
	if err != nil {
		return err
	}
	out := struct {
		Rounds []roundResponse `json:"rounds"`
		Next   string          `json:"next,omitempty"`
	}{Rounds: make([]roundResponse, len(rs)), Next: next}
	for i := range rs {
		out.Rounds[i] = toRoundResponse(&rs[i])
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) handleCreateRound(c *echo.Context) error {
	var req roundRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	r, err := s.rounds.CreateRound(c.Request().Context(), principal(c), req.toDomain())
	if err != nil {
		return err
	}
	setVersionETag(c, r.Version)
	c.Response().Header().Set("Location", "/v1/rounds/"+r.ID)
	return c.JSON(http.StatusCreated, toRoundResponse(r))
}

func (s *Server) handleGetRound(c *echo.Context) error {
	r, err := s.rounds.Round(c.Request().Context(), principal(c), c.Param("round"))
	if err != nil {
		return err
	}
	setVersionETag(c, r.Version)
	return c.JSON(http.StatusOK, toRoundResponse(r))
}

func (s *Server) handleUpdateRound(c *echo.Context) error {
	var req roundRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.ID != "" && req.ID != c.Param("round") {
		return invalid("the id is the round's path", FieldError{Field: "id", Reason: "must match the round in the path, or be left out"})
	}
	v, err := requireIfMatch(c)
	if err != nil {
		return err
	}
	r, err := s.rounds.UpdateRound(c.Request().Context(), principal(c), c.Param("round"), req.toDomain(), v)
	if err != nil {
		return err
	}
	setVersionETag(c, r.Version)
	return c.JSON(http.StatusOK, toRoundResponse(r))
}

type roundStatusRequest struct {
	Status string `json:"status" validate:"required,oneof=open closed published"`
	// Excluded leaves countries out of a publication, each with a reason.
	Excluded []exclusionResponse `json:"excluded" validate:"max=400,dive"`
}

func (s *Server) handleSetRoundStatus(c *echo.Context) error {
	var req roundStatusRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	v, err := requireIfMatch(c)
	if err != nil {
		return err
	}
	excluded := make([]round.Exclusion, len(req.Excluded))
	for i, e := range req.Excluded {
		excluded[i] = round.Exclusion(e)
	}
	r, err := s.rounds.SetStatus(c.Request().Context(), principal(c), c.Param("round"), round.Status(req.Status), v, excluded...)
	if err != nil {
		return err
	}
	setVersionETag(c, r.Version)
	return c.JSON(http.StatusOK, toRoundResponse(r))
}

type dashboardResponse struct {
	Round  roundResponse          `json:"round"`
	Sheets []sheetSummaryResponse `json:"sheets"`
}

type sheetSummaryResponse struct {
	Country   string           `json:"country"`
	Status    string           `json:"status"`
	Progress  progressResponse `json:"progress"`
	UpdatedAt *time.Time       `json:"updated_at,omitempty"`
}

func (s *Server) handleDashboard(c *echo.Context) error {
	r, sheets, err := s.rounds.Dashboard(c.Request().Context(), principal(c), c.Param("round"))
	if err != nil {
		return err
	}
	out := dashboardResponse{Round: toRoundResponse(r), Sheets: make([]sheetSummaryResponse, len(sheets))}
	for i, sh := range sheets {
		out.Sheets[i] = sheetSummaryResponse{Country: sh.Country, Status: string(sh.Status), Progress: toProgress(sh.Progress)}
		if !sh.UpdatedAt.IsZero() {
			t := sh.UpdatedAt
			out.Sheets[i].UpdatedAt = &t
		}
	}
	return c.JSON(http.StatusOK, out)
}

// importMediaTypes maps an upload's media type to its format.
var importMediaTypes = map[string]string{
	"text/csv": "csv",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}

// handleImportAnswers handles POST /v1/rounds/:round/answers/import: the file is the body, its
// format from ?format= or the Content-Type.
func (s *Server) handleImportAnswers(c *echo.Context) error {
	format := c.QueryParam("format")
	if format == "" {
		mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
		format = importMediaTypes[mt]
	}
	if format != "csv" && format != "xlsx" {
		return newProblem(kindMediaType, "send the answers as text/csv or as an XLSX workbook, or name the format with ?format=csv|xlsx",
			FieldError{Field: "format", Reason: "must be csv or xlsx"})
	}
	// The caller's right comes first: nobody without it makes the service read a byte.
	if err := s.rounds.AuthorizeImport(c.Request().Context(), principal(c), c.Param("round")); err != nil {
		return err
	}
	rows, err := round.ParseImport(c.Request().Body, format)
	if err != nil {
		return err
	}
	res, err := s.rounds.ImportAnswers(c.Request().Context(), principal(c), c.Param("round"), rows, nil)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, struct {
		Rows      int `json:"rows"`
		Answers   int `json:"answers"`
		Written   int `json:"written"`
		Unchanged int `json:"unchanged"`
		Sheets    int `json:"sheets"`
	}{res.Rows, res.Answers, res.Written, res.Unchanged, res.Sheets})
}

// --- sheets ---

func (s *Server) handleGetSheet(c *echo.Context) error {
	v, err := s.rounds.Sheet(c.Request().Context(), principal(c), c.Param("round"), c.Param("country"))
	if err != nil {
		return err
	}
	return s.renderSheet(c, v)
}

func (s *Server) handleSubmitSheet(c *echo.Context) error {
	v, err := s.rounds.Submit(c.Request().Context(), principal(c), c.Param("round"), c.Param("country"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSheetResponse(v))
}

type returnRequest struct {
	Reason string `json:"reason" validate:"required,max=5000"`
}

func (s *Server) handleReturnSheet(c *echo.Context) error {
	var req returnRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	v, err := s.rounds.Return(c.Request().Context(), principal(c), c.Param("round"), c.Param("country"), req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSheetResponse(v))
}

type confirmRequest struct {
	// Group confirms the carried answers below one group (a dimension or an area); empty
	// confirms the whole sheet.
	Group string `json:"group" validate:"max=200"`
}

type confirmResponse struct {
	Confirmed []string `json:"confirmed"`
}

func (s *Server) handleConfirmSheet(c *echo.Context) error {
	var req confirmRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	_, done, err := s.rounds.Confirm(c.Request().Context(), principal(c), c.Param("round"), c.Param("country"), req.Group, nil)
	if err != nil {
		return err
	}
	if done == nil {
		done = []string{}
	}
	return c.JSON(http.StatusOK, confirmResponse{Confirmed: done})
}

type roundChangeResponse struct {
	Indicator     string            `json:"indicator"`
	Kind          string            `json:"kind"`
	Previous      *previousResponse `json:"previous,omitempty"`
	Option        string            `json:"option,omitempty"`
	Value         *float64          `json:"value,omitempty"`
	Text          string            `json:"text,omitempty"`
	NotApplicable bool              `json:"not_applicable"`
	Justification string            `json:"justification,omitempty"`
}

func (s *Server) handleSheetChanges(c *echo.Context) error {
	changes, err := s.rounds.ChangesSincePrevious(c.Request().Context(), principal(c), c.Param("round"), c.Param("country"))
	if err != nil {
		return err
	}
	out := struct {
		Changes []roundChangeResponse `json:"changes"`
	}{Changes: make([]roundChangeResponse, len(changes))}
	for i, ch := range changes {
		r := roundChangeResponse{Indicator: ch.Indicator, Kind: ch.Kind, Option: ch.Current.Option, Value: ch.Current.Value,
			Text: ch.Current.Text, NotApplicable: ch.Current.NotApplicable, Justification: ch.Justification}
		if p := ch.Previous; p != nil {
			r.Previous = &previousResponse{Round: p.Round, Option: p.Option, Value: p.Value, Text: p.Text,
				NotApplicable: p.NotApplicable, Sources: fromSources(p.Sources)}
		}
		out.Changes[i] = r
	}
	return c.JSON(http.StatusOK, out)
}

// --- answers ---

func (s *Server) handleGetAnswer(c *echo.Context) error {
	a, err := s.rounds.Answer(c.Request().Context(), principal(c), c.Param("round"), c.Param("country"), c.Param("indicator"))
	if err != nil {
		return err
	}
	return renderAnswer(c, http.StatusOK, a)
}

// handlePutAnswer handles PUT .../answers/:indicator. If-Match must name the version read (0
// for an indicator not answered yet): without it 428, when stale 412 with the current answer.
func (s *Server) handlePutAnswer(c *echo.Context) error {
	var req answerRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	v, err := ifMatchVersion(c)
	if err != nil {
		return err
	}
	in := round.AnswerInput{Option: req.Option, Value: req.Value, Text: req.Text, NotApplicable: req.NotApplicable,
		NAReason: req.NAReason, Comment: req.Comment, Sources: toSources(req.Sources), Justification: req.Justification, Reason: req.Reason}
	a, err := s.rounds.SaveAnswer(c.Request().Context(), principal(c), c.Param("round"), c.Param("country"), c.Param("indicator"), in, v)
	if err != nil {
		return err
	}
	return renderAnswer(c, http.StatusOK, a)
}

// handleConfirmAnswer confirms one carried answer. If-Match is required before anything is
// done: without it the service would take the path segment for a group and confirm all of it
// (groups are confirmed through .../confirm of the sheet, which names them in the body).
func (s *Server) handleConfirmAnswer(c *echo.Context) error {
	v, err := requireIfMatch(c)
	if err != nil {
		return err
	}
	sh, _, err := s.rounds.Confirm(c.Request().Context(), principal(c), c.Param("round"), c.Param("country"), c.Param("indicator"), &v)
	if err != nil {
		return err
	}
	a := sh.Answer(c.Param("indicator"))
	if a == nil {
		return errors.New("confirm: the answer is missing from the sheet after the write")
	}
	setVersionETag(c, a.Version)
	return c.JSON(http.StatusOK, toAnswerResponse(a))
}

type answerVersionResponse struct {
	Version   int            `json:"version"`
	Action    string         `json:"action"`
	Actor     string         `json:"actor,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
	Reason    string         `json:"reason,omitempty"`
	Answer    answerResponse `json:"answer"`
}

func (s *Server) handleAnswerHistory(c *echo.Context) error {
	limit, err := queryLimit(c, 50, 200)
	if err != nil {
		return err
	}
	after, err := round.ParseVersionCursor(c.QueryParam("after"))
	if err != nil {
		return err
	}
	h, next, err := s.rounds.History(c.Request().Context(), principal(c), c.Param("round"), c.Param("country"), c.Param("indicator"), after, limit)
	if err != nil {
		return err
	}
	out := struct {
		Versions []answerVersionResponse `json:"versions"`
		Next     string                  `json:"next,omitempty"`
	}{Versions: make([]answerVersionResponse, len(h))}
	if next != nil {
		out.Next = next.String()
	}
	for i := range h {
		out.Versions[i] = answerVersionResponse{Version: h[i].Version, Action: h[i].Action, Actor: h[i].Actor,
			RequestID: h[i].RequestID, Reason: h[i].Reason, Answer: toAnswerResponse(&h[i].Answer)}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) handleAnswerDiff(c *echo.Context) error {
	var problems []FieldError
	from, err := strconv.Atoi(c.QueryParam("from"))
	if err != nil {
		problems = append(problems, FieldError{Field: "from", Reason: "must be a version number"})
	}
	to, err := strconv.Atoi(c.QueryParam("to"))
	if err != nil {
		problems = append(problems, FieldError{Field: "to", Reason: "must be a version number"})
	}
	if len(problems) > 0 {
		return invalid("from and to name two versions of the answer", problems...)
	}
	changes, err := s.rounds.DiffVersions(c.Request().Context(), principal(c), c.Param("round"), c.Param("country"), c.Param("indicator"), from, to)
	if err != nil {
		return err
	}
	// A source added has no before, one removed no after: those are left out. The other kinds
	// always hold both (a value that was not there is null).
	type change struct {
		Field  string `json:"field"`
		Kind   string `json:"kind"`
		Before any    `json:"before,omitempty"`
		After  any    `json:"after,omitempty"`
	}
	out := struct {
		From    int      `json:"from"`
		To      int      `json:"to"`
		Changes []change `json:"changes"`
	}{From: from, To: to, Changes: make([]change, len(changes))}
	for i, ch := range changes {
		out.Changes[i] = change{Field: ch.Field, Kind: string(ch.Kind), Before: diffValue(ch.Before), After: diffValue(ch.After)}
	}
	return c.JSON(http.StatusOK, out)
}

// diffValue shows sources in their API form.
func diffValue(v any) any {
	if src, ok := v.(round.Source); ok {
		return fromSources([]round.Source{src})[0]
	}
	return v
}

type countryScoresResponse struct {
	Country string                `json:"country"`
	Status  string                `json:"status"`
	Scores  *questionnaire.Result `json:"scores"`
}

// handleRoundScores handles GET /v1/rounds/:round/scores: every country's live scores.
func (s *Server) handleRoundScores(c *echo.Context) error {
	r, scores, err := s.rounds.Scores(c.Request().Context(), principal(c), c.Param("round"))
	if err != nil {
		return err
	}
	out := struct {
		Round                string                  `json:"round"`
		Questionnaire        string                  `json:"questionnaire"`
		QuestionnaireVersion string                  `json:"questionnaire_version"`
		Countries            []countryScoresResponse `json:"countries"`
		// Provisional marks live scores: computed from answers as they stand, not frozen.
		Provisional bool `json:"provisional"`
	}{Provisional: true, Round: r.ID, Questionnaire: r.Questionnaire, QuestionnaireVersion: r.QuestionnaireVer, Countries: make([]countryScoresResponse, len(scores))}
	for i := range scores {
		out.Countries[i] = countryScoresResponse{Country: scores[i].Country, Status: string(scores[i].Status), Scores: &scores[i].Result}
	}
	return c.JSON(http.StatusOK, out)
}

package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/expertsurvey/expertsurvey/questionnaire"
)

// Questionnaires and their versions. A version's ETag is its revision, quoted ("3"); replacing a
// draft and publishing it require it in If-Match (428 without, 412 with a stale one and the
// current version in the problem's `current`). Definitions travel in the documented file format
// (docs/questionnaire-format.md) under `definition`.
//
// Status codes of definition problems: a file that cannot be decoded at all is a 400 (the
// parser stops at the first syntax error, whose line it names); a definition that decodes but
// breaks the rules is a 422 whose `errors` list every problem, each with its path in the file
// (or its sheet and row for spreadsheets) as `field`. Either way an import writes nothing.

// QuestionnaireBodyLimit bounds the bodies that carry a whole definition (imports, drafts): a
// large instrument with several languages is a few megabytes, more as YAML or a spreadsheet.
const QuestionnaireBodyLimit = 20 << 20

// definitionMediaTypes maps an uploaded or exported file's media type to its format.
var definitionMediaTypes = map[string]string{
	"application/yaml":   "yaml",
	"application/x-yaml": "yaml",
	"text/yaml":          "yaml",
	"application/json":   "json",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}

// definitionContentTypes is the media type of each export format.
var definitionContentTypes = map[string]string{
	"yaml": "application/yaml",
	"json": "application/json",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// --- requests and responses ---

type createQuestionnaireRequest struct {
	Code  string `json:"code" validate:"required"`
	Title string `json:"title" validate:"required"`
}

type questionnaireResponse struct {
	Code      string    `json:"code"`
	Title     string    `json:"title"`
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
	// Versions is set on a single questionnaire: those the caller may see.
	Versions []versionSummary `json:"versions,omitempty"`
}

func toQuestionnaireResponse(q *questionnaire.Questionnaire) questionnaireResponse {
	return questionnaireResponse{Code: q.Code, Title: q.Title, Revision: q.Revision,
		CreatedAt: q.CreatedAt.UTC(), CreatedBy: q.CreatedBy, UpdatedAt: q.UpdatedAt.UTC(), UpdatedBy: q.UpdatedBy}
}

type createVersionRequest struct {
	// Version is the new label; empty picks the next free "<year>.<n>".
	Version    string                    `json:"version,omitempty"`
	From       string                    `json:"from,omitempty"`
	Definition *questionnaire.Definition `json:"definition,omitempty"`
}

type putVersionRequest struct {
	Definition *questionnaire.Definition `json:"definition" validate:"required"`
}

// versionSummary is a version without its content, as listings show it.
type versionSummary struct {
	Questionnaire string     `json:"questionnaire"`
	Version       string     `json:"version"`
	Status        string     `json:"status"`
	Revision      int64      `json:"revision"`
	From          string     `json:"from,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	CreatedBy     string     `json:"created_by"`
	UpdatedAt     time.Time  `json:"updated_at"`
	UpdatedBy     string     `json:"updated_by"`
	PublishedAt   *time.Time `json:"published_at,omitempty"`
	PublishedBy   string     `json:"published_by,omitempty"`
}

func toVersionSummary(v *questionnaire.Version) versionSummary {
	out := versionSummary{
		Questionnaire: v.Questionnaire, Version: v.Version, Status: string(v.Status), Revision: v.Revision, From: v.From,
		CreatedAt: v.CreatedAt.UTC(), CreatedBy: v.CreatedBy, UpdatedAt: v.UpdatedAt.UTC(), UpdatedBy: v.UpdatedBy,
		PublishedBy: v.PublishedBy,
	}
	if !v.PublishedAt.IsZero() {
		t := v.PublishedAt.UTC()
		out.PublishedAt = &t
	}
	return out
}

// versionResponse is a whole version: the multilingual definition, what keeps a draft from
// being published, and, when ?lang= asks for it, every text resolved in that language.
type versionResponse struct {
	versionSummary
	Definition *questionnaire.Definition `json:"definition"`
	Valid      bool                      `json:"valid"`
	Problems   []definitionProblem       `json:"problems"`
	Resolved   *resolvedDefinition       `json:"resolved,omitempty"`
}

type definitionProblem struct {
	Path    string `json:"path"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

func toDefinitionProblems(ps []questionnaire.Problem) []definitionProblem {
	out := make([]definitionProblem, len(ps))
	for i, p := range ps {
		out[i] = definitionProblem{Path: p.Path, Code: p.Code, Message: p.Message}
	}
	return out
}

func toVersionResponse(v *questionnaire.Version, lang string) versionResponse {
	var ps []questionnaire.Problem
	if v.Status != questionnaire.StatusPublished {
		ps = v.Problems() // publishing validated the others
	}
	out := versionResponse{versionSummary: toVersionSummary(v), Definition: v.Definition,
		Valid: len(ps) == 0, Problems: toDefinitionProblems(ps)}
	if lang != "" && v.Definition != nil {
		out.Resolved = resolve(v.Definition, lang)
	}
	return out
}

// resolvedDefinition is a definition with every text in one language (falling back to the
// base language, then the default language, as questionnaire.Text.In does), in the shape a
// form renders: the tree with titles, questions, guidance, units and option labels as strings.
// The multilingual definition stays beside it in the response for editors.
type resolvedDefinition struct {
	Lang     string            `json:"lang"`
	Title    string            `json:"title"`
	Tree     []resolvedNode    `json:"tree"`
	Variants []resolvedVariant `json:"variants,omitempty"`
}

type resolvedNode struct {
	Kind     string           `json:"kind"` // group or indicator
	Code     string           `json:"code"`
	Level    string           `json:"level,omitempty"`
	Title    string           `json:"title"`
	Question string           `json:"question,omitempty"`
	Guidance string           `json:"guidance,omitempty"`
	Type     string           `json:"type,omitempty"`
	Unit     string           `json:"unit,omitempty"`
	Options  []resolvedOption `json:"options,omitempty"`
	Children []resolvedNode   `json:"children,omitempty"`
}

type resolvedOption struct {
	Code  string   `json:"code"`
	Label string   `json:"label"`
	Score *float64 `json:"score,omitempty"`
}

type resolvedVariant struct {
	Name  string `json:"name"`
	Title string `json:"title"`
}

func resolve(d *questionnaire.Definition, lang string) *resolvedDefinition {
	def := d.DefaultLanguage
	out := &resolvedDefinition{Lang: lang, Title: d.Title.In(lang, def), Tree: resolveNodes(d.Tree, lang, def)}
	for _, v := range d.Variants {
		out.Variants = append(out.Variants, resolvedVariant{Name: v.Name, Title: v.Title.In(lang, def)})
	}
	return out
}

func resolveNodes(nodes []questionnaire.Node, lang, def string) []resolvedNode {
	out := make([]resolvedNode, 0, len(nodes))
	for _, n := range nodes {
		switch {
		case n.Group != nil:
			g := n.Group
			out = append(out, resolvedNode{Kind: "group", Code: g.Code, Level: g.Level, Title: g.Title.In(lang, def),
				Children: resolveNodes(g.Children, lang, def)})
		case n.Indicator != nil:
			ind := n.Indicator
			rn := resolvedNode{Kind: "indicator", Code: ind.Code, Title: ind.Title.In(lang, def),
				Question: ind.Question.In(lang, def), Guidance: ind.Guidance.In(lang, def), Type: string(ind.Type)}
			if ind.Number != nil {
				rn.Unit = ind.Number.Unit.In(lang, def)
			}
			for _, o := range ind.Options {
				rn.Options = append(rn.Options, resolvedOption{Code: o.Code, Label: o.Label.In(lang, def), Score: o.Score})
			}
			out = append(out, rn)
		}
		// A draft's node with neither is reported by Validate; there is nothing to show.
	}
	return out
}

type validationResponse struct {
	Questionnaire string              `json:"questionnaire"`
	Version       string              `json:"version"`
	Status        string              `json:"status"`
	Revision      int64               `json:"revision"`
	Valid         bool                `json:"valid"`
	Problems      []definitionProblem `json:"problems"`
}

type diffResponse struct {
	Questionnaire string                 `json:"questionnaire"`
	From          string                 `json:"from"`
	To            string                 `json:"to"`
	Changes       []questionnaire.Change `json:"changes"`
}

type scoreRequest struct {
	Answers   []scoreAnswer   `json:"answers" validate:"max=5000,dive"`
	Overrides []scoreOverride `json:"overrides,omitempty" validate:"max=5000,dive"`
}

type scoreAnswer struct {
	Indicator     string   `json:"indicator" validate:"required,max=200"`
	Option        string   `json:"option,omitempty" validate:"max=200"`
	Value         *float64 `json:"value,omitempty"`
	Text          string   `json:"text,omitempty" validate:"max=20000"`
	NotApplicable bool     `json:"not_applicable,omitempty"`
}

type scoreOverride struct {
	Node   string  `json:"node" validate:"required,max=200"`
	Score  float64 `json:"score"`
	Reason string  `json:"reason" validate:"required,max=5000"`
}

func (r scoreRequest) toDomain() (questionnaire.Answers, []questionnaire.Override) {
	answers := make(questionnaire.Answers, len(r.Answers))
	for i, a := range r.Answers {
		answers[i] = questionnaire.Answer{Indicator: a.Indicator, Option: a.Option, Number: a.Value, Text: a.Text, NotApplicable: a.NotApplicable}
	}
	overrides := make([]questionnaire.Override, len(r.Overrides))
	for i, o := range r.Overrides {
		overrides[i] = questionnaire.Override{Node: o.Node, Score: o.Score, Reason: o.Reason}
	}
	return answers, overrides
}

// --- the error table's part for questionnaires ---

// questionnaireProblem renders the questionnaire package's typed errors.
func questionnaireProblem(err error) (Problem, bool) {
	var ve *questionnaire.ValidationError
	var se *questionnaire.StaleError
	var ie *questionnaire.InputError
	switch {
	case errors.As(err, &ve):
		kind := kindUnprocessable
		if ve.Unreadable {
			kind = kindValidation // fields the format does not know, or of the wrong type
		}
		p := problemFor(kind, fmt.Sprintf("the definition has %d problem(s); errors lists every one", len(ve.Problems)))
		for _, pr := range ve.Problems {
			field := pr.Path
			if field == "" {
				field = "(definition)"
			}
			reason := pr.Message
			if pr.Code != "" {
				reason = pr.Code + ": " + pr.Message
			}
			p.Errors = append(p.Errors, FieldError{Field: field, Reason: reason})
		}
		return p, true
	case errors.As(err, &se):
		p := problemFor(kindStale, "the version changed since the revision you read; current holds it now")
		if se.Current != nil {
			p.Current = toVersionResponse(se.Current, "")
		}
		return p, true
	case errors.As(err, &ie):
		p := problemFor(kindValidation, "the request has an invalid field")
		p.Errors = []FieldError{{Field: ie.Field, Reason: ie.Reason}}
		return p, true
	case errors.Is(err, questionnaire.ErrInvalid):
		return problemFor(kindUnprocessable, err.Error()), true
	}
	return Problem{}, false
}

// --- helpers ---

var langRe = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`)

func langParam(c *echo.Context) (string, error) {
	lang := c.QueryParam("lang")
	if lang != "" && !langRe.MatchString(lang) {
		return "", invalid("lang must be a language tag such as fr or pt-BR", FieldError{Field: "lang", Reason: "must be a BCP 47 language tag"})
	}
	return lang, nil
}

// ifMatchRevision reads If-Match as the revision the client read; 0 when absent, which the
// service refuses with 428 after its permission check, so that callers without the right learn
// that first.
func ifMatchRevision(c *echo.Context) (int64, error) {
	v, err := ifMatchVersion(c)
	if err != nil || v == nil {
		return 0, err
	}
	return int64(*v), nil
}

func setRevisionETag(c *echo.Context, revision int64) {
	c.Response().Header().Set("ETag", strconv.Quote(strconv.FormatInt(revision, 10)))
}

func versionLocation(v *questionnaire.Version) string {
	return "/v1/questionnaires/" + v.Questionnaire + "/versions/" + v.Version
}

// fileFormat reads ?format= or else, for uploads, the Content-Type, or else takes def.
func fileFormat(c *echo.Context, def string, fromContentType bool) (string, error) {
	format := strings.ToLower(c.QueryParam("format"))
	if format == "yml" {
		format = "yaml"
	}
	if format == "" && fromContentType {
		ct := c.Request().Header.Get(echo.HeaderContentType)
		mt, _, _ := mime.ParseMediaType(ct)
		if format = definitionMediaTypes[mt]; format == "" {
			return "", newProblem(kindMediaType, fmt.Sprintf("send the file as application/yaml, application/json or an XLSX workbook, or name its format with ?format= (got %q)", ct),
				FieldError{Field: "format", Reason: "must be yaml, json or xlsx"})
		}
	}
	if format == "" {
		format = def
	}
	if _, ok := definitionContentTypes[format]; !ok {
		return "", invalid("name the file format with ?format=yaml, json or xlsx",
			FieldError{Field: "format", Reason: "must be yaml, json or xlsx"})
	}
	return format, nil
}

// --- questionnaires ---

func (s *Server) handleListQuestionnaires(c *echo.Context) error {
	qs, err := s.questionnaires.Questionnaires(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	qs, next, err := keyPage(c, qs, func(q *questionnaire.Questionnaire) string { return q.Code }, 100, 500)
	if err != nil {
		return err
	}
	out := struct {
		Questionnaires []questionnaireResponse `json:"questionnaires"`
		Next           string                  `json:"next,omitempty"`
	}{Questionnaires: make([]questionnaireResponse, len(qs)), Next: next}
	for i := range qs {
		out.Questionnaires[i] = toQuestionnaireResponse(&qs[i])
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) handleCreateQuestionnaire(c *echo.Context) error {
	var req createQuestionnaireRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	q, err := s.questionnaires.Create(c.Request().Context(), principal(c), req.Code, req.Title)
	if err != nil {
		return err
	}
	setRevisionETag(c, q.Revision)
	c.Response().Header().Set("Location", "/v1/questionnaires/"+q.Code)
	return c.JSON(http.StatusCreated, toQuestionnaireResponse(q))
}

func (s *Server) handleGetQuestionnaire(c *echo.Context) error {
	ctx, p, code := c.Request().Context(), principal(c), c.Param("code")
	q, err := s.questionnaires.Questionnaire(ctx, p, code)
	if err != nil {
		return err
	}
	vs, err := s.questionnaires.Versions(ctx, p, code)
	if err != nil {
		return err
	}
	out := toQuestionnaireResponse(q)
	out.Versions = make([]versionSummary, len(vs))
	for i := range vs {
		out.Versions[i] = toVersionSummary(&vs[i])
	}
	setRevisionETag(c, q.Revision)
	return c.JSON(http.StatusOK, out)
}

// --- versions ---

func (s *Server) handleListVersions(c *echo.Context) error {
	vs, err := s.questionnaires.Versions(c.Request().Context(), principal(c), c.Param("code"))
	if err != nil {
		return err
	}
	vs, next, err := keyPage(c, vs, func(v *questionnaire.Version) string { return creationKey(v.CreatedAt, v.Version) }, 100, 500)
	if err != nil {
		return err
	}
	out := struct {
		Versions []versionSummary `json:"versions"`
		Next     string           `json:"next,omitempty"`
	}{Versions: make([]versionSummary, len(vs)), Next: next}
	for i := range vs {
		out.Versions[i] = toVersionSummary(&vs[i])
	}
	return c.JSON(http.StatusOK, out)
}

// handleCreateVersion handles POST /v1/questionnaires/:code/versions: a new draft with a
// definition, or copied from an existing version.
func (s *Server) handleCreateVersion(c *echo.Context) error {
	var req createVersionRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	v, err := s.questionnaires.CreateDraft(c.Request().Context(), principal(c), c.Param("code"),
		questionnaire.DraftInput{Version: req.Version, From: req.From, Definition: req.Definition})
	if err != nil {
		return err
	}
	setRevisionETag(c, v.Revision)
	c.Response().Header().Set("Location", versionLocation(v))
	return c.JSON(http.StatusCreated, toVersionResponse(v, ""))
}

func (s *Server) handleGetVersion(c *echo.Context) error {
	lang, err := langParam(c)
	if err != nil {
		return err
	}
	v, err := s.questionnaires.Version(c.Request().Context(), principal(c), c.Param("code"), c.Param("version"))
	if err != nil {
		return err
	}
	setRevisionETag(c, v.Revision)
	return c.JSON(http.StatusOK, toVersionResponse(v, lang))
}

// handlePutVersion handles PUT .../versions/:version: replace a draft's definition. It is saved
// even when invalid; the response's problems say what keeps it from being published.
func (s *Server) handlePutVersion(c *echo.Context) error {
	rev, err := ifMatchRevision(c)
	if err != nil {
		return err
	}
	var req putVersionRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	v, err := s.questionnaires.SaveDraft(c.Request().Context(), principal(c), c.Param("code"), c.Param("version"), req.Definition, rev)
	if err != nil {
		return err
	}
	setRevisionETag(c, v.Revision)
	return c.JSON(http.StatusOK, toVersionResponse(v, ""))
}

func (s *Server) handlePublishVersion(c *echo.Context) error {
	rev, err := ifMatchRevision(c)
	if err != nil {
		return err
	}
	v, err := s.questionnaires.Publish(c.Request().Context(), principal(c), c.Param("code"), c.Param("version"), rev)
	if err != nil {
		return err
	}
	setRevisionETag(c, v.Revision)
	return c.JSON(http.StatusOK, toVersionResponse(v, ""))
}

func (s *Server) handleValidateVersion(c *echo.Context) error {
	v, ps, err := s.questionnaires.Validation(c.Request().Context(), principal(c), c.Param("code"), c.Param("version"))
	if err != nil {
		return err
	}
	setRevisionETag(c, v.Revision)
	return c.JSON(http.StatusOK, validationResponse{Questionnaire: v.Questionnaire, Version: v.Version, Status: string(v.Status),
		Revision: v.Revision, Valid: len(ps) == 0, Problems: toDefinitionProblems(ps)})
}

// handleExportVersion handles GET .../versions/:version/export?format=yaml|json|xlsx (yaml by
// default), as a download.
func (s *Server) handleExportVersion(c *echo.Context) error {
	format, err := fileFormat(c, "yaml", false)
	if err != nil {
		return err
	}
	code, version := c.Param("code"), c.Param("version")
	// Encode in full before answering, so that a failure is a problem, not a truncated file.
	var buf bytes.Buffer
	if err := s.questionnaires.Export(c.Request().Context(), principal(c), code, version, format, &buf); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.%s"`, code, version, format))
	return c.Blob(http.StatusOK, definitionContentTypes[format], buf.Bytes())
}

// handleImportQuestionnaire handles POST /v1/questionnaires/:code/import: the body is a definition file
// (format from ?format= or the Content-Type). It creates a draft, or with ?publish=true a
// published version (back-filled historical instruments); ?version= names it. A file with any
// problem writes nothing.
func (s *Server) handleImportQuestionnaire(c *echo.Context) error {
	format, err := fileFormat(c, "", true)
	if err != nil {
		return err
	}
	publish := false
	if q := c.QueryParam("publish"); q != "" {
		if publish, err = strconv.ParseBool(q); err != nil {
			return invalid("publish must be true or false", FieldError{Field: "publish", Reason: "must be true or false"})
		}
	}
	// Read the whole body first, so that a body over the limit is a 413, not a decoding error.
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	v, err := s.questionnaires.Import(c.Request().Context(), principal(c), bytes.NewReader(body), questionnaire.ImportOptions{
		Format: format, Questionnaire: c.Param("code"), Version: c.QueryParam("version"), Publish: publish,
	})
	if err != nil {
		return err
	}
	setRevisionETag(c, v.Revision)
	c.Response().Header().Set("Location", versionLocation(v))
	return c.JSON(http.StatusCreated, toVersionResponse(v, ""))
}

func (s *Server) handleDiffVersions(c *echo.Context) error {
	from, to := c.QueryParam("from"), c.QueryParam("to")
	var fields []FieldError
	if from == "" {
		fields = append(fields, FieldError{Field: "from", Reason: "is required"})
	}
	if to == "" {
		fields = append(fields, FieldError{Field: "to", Reason: "is required"})
	}
	if len(fields) > 0 {
		return invalid("name the two versions to compare with ?from= and ?to=", fields...)
	}
	code := c.Param("code")
	changes, err := s.questionnaires.Diff(c.Request().Context(), principal(c), code, from, to)
	if err != nil {
		return err
	}
	if changes == nil {
		changes = []questionnaire.Change{}
	}
	return c.JSON(http.StatusOK, diffResponse{Questionnaire: code, From: from, To: to, Changes: changes})
}

// handleScoreVersion handles POST .../versions/:version/score: a preview of the scores of one
// set of answers, for coordinators testing an instrument. Nothing is stored.
func (s *Server) handleScoreVersion(c *echo.Context) error {
	var req scoreRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	answers, overrides := req.toDomain()
	r, err := s.questionnaires.Score(c.Request().Context(), principal(c), c.Param("code"), c.Param("version"), answers, overrides)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

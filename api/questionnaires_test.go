package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/google/go-cmp/cmp"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
)

// xlsxMediaType is a workbook's media type. The contract validator has no decoder for it, so
// these tests register one that takes the body as opaque bytes.
const xlsxMediaType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

func init() {
	openapi3filter.RegisterBodyDecoder(xlsxMediaType, openapi3filter.FileBodyDecoder)
}

func miniIndexFile(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../questionnaire/testdata/mini_index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func miniIndexDefinition(t *testing.T) *questionnaire.Definition {
	t.Helper()
	d, err := questionnaire.DecodeDefinition(bytes.NewReader(miniIndexFile(t)), "yaml")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func importYAML(path string, file []byte) apitest.Request {
	return apitest.Request{Method: "POST", Path: path, Body: file, ContentType: "application/yaml"}
}

func ifMatch(etag string) map[string]string { return map[string]string{"If-Match": etag} }

// versionBody is the part of a version response the tests read.
type versionBody struct {
	Version    string                    `json:"version"`
	Status     string                    `json:"status"`
	Revision   int64                     `json:"revision"`
	From       string                    `json:"from"`
	Definition *questionnaire.Definition `json:"definition"`
	Valid      bool                      `json:"valid"`
	Problems   []struct {
		Path    string `json:"path"`
		Message string `json:"message"`
	} `json:"problems"`
	Resolved *struct {
		Lang  string `json:"lang"`
		Title string `json:"title"`
		Tree  []struct {
			Code     string `json:"code"`
			Title    string `json:"title"`
			Children []struct {
				Code     string `json:"code"`
				Children []struct {
					Code     string `json:"code"`
					Title    string `json:"title"`
					Question string `json:"question"`
					Unit     string `json:"unit"`
					Options  []struct {
						Code  string `json:"code"`
						Label string `json:"label"`
					} `json:"options"`
				} `json:"children"`
			} `json:"children"`
		} `json:"tree"`
	} `json:"resolved"`
}

type problemBody struct {
	Status  int    `json:"status"`
	Detail  string `json:"detail"`
	Errors  []apiFieldError
	Current *versionBody `json:"current"`
}

type apiFieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func decodeVersion(t *testing.T, r *apitest.Response, status int) versionBody {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	var v versionBody
	r.Decode(t, &v)
	return v
}

func qProblem(t *testing.T, r *apitest.Response, status int) problemBody {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	var p struct {
		problemBody
		Errors []apiFieldError `json:"errors"`
	}
	r.Decode(t, &p)
	p.problemBody.Errors = p.Errors
	return p.problemBody
}

func TestQuestionnaireLifecycleOverHTTP(t *testing.T) {
	env := apitest.New(t)
	c, _ := env.As(auth.RoleAdmin)
	base := "/v1/questionnaires/mini-index"

	r := c.Do(apitest.Request{Method: "POST", Path: "/v1/questionnaires", Body: map[string]string{"code": "mini-index", "title": "Mini index"}})
	if r.Status != http.StatusCreated || r.Header.Get("ETag") != `"1"` || r.Header.Get("Location") != base {
		t.Fatalf("create: %d %v %s", r.Status, r.Header, r.Body)
	}
	if r := c.Do(apitest.Request{Method: "POST", Path: "/v1/questionnaires", Body: map[string]string{"code": "mini-index", "title": "Again"}}); r.Status != http.StatusConflict {
		t.Fatalf("second create: %d %s", r.Status, r.Body)
	}

	v := decodeVersion(t, c.Do(importYAML(base+"/import?version=2025.1", miniIndexFile(t))), http.StatusCreated)
	if v.Version != "2025.1" || v.Status != "draft" || !v.Valid || len(v.Problems) != 0 {
		t.Fatalf("imported %+v", v)
	}
	if diff := cmp.Diff(miniIndexDefinition(t), v.Definition); diff != "" {
		t.Fatalf("imported definition (-want +got):\n%s", diff)
	}

	// The whole tree in two languages: French where translated, English otherwise.
	fr := decodeVersion(t, c.Do(apitest.Request{Method: "GET", Path: base + "/versions/2025.1?lang=fr"}), http.StatusOK)
	en := decodeVersion(t, c.Do(apitest.Request{Method: "GET", Path: base + "/versions/2025.1?lang=en"}), http.StatusOK)
	if fr.Resolved == nil || en.Resolved == nil {
		t.Fatal("no resolved texts")
	}
	lmm3 := func(v versionBody) (string, string) {
		ind := v.Resolved.Tree[0].Children[0].Children[2]
		return ind.Code, ind.Unit
	}
	for _, tc := range []struct{ got, want string }{
		{fr.Resolved.Title, "Mini-indice des politiques d'intégration"},
		{en.Resolved.Title, "Mini integration policy index"},
		{fr.Resolved.Tree[0].Title, "Mobilité sur le marché du travail"},
		{en.Resolved.Tree[0].Title, "Labour market mobility"},
		{fr.Resolved.Tree[1].Title, "Family reunion"}, // no French: the default language
		{fr.Resolved.Tree[0].Children[0].Children[0].Options[0].Label, "Equal access"},
	} {
		if tc.got != tc.want {
			t.Errorf("resolved %q, want %q", tc.got, tc.want)
		}
	}
	if code, unit := lmm3(fr); code != "LMM_3" || unit != "ans" {
		t.Errorf("LMM_3 unit in French: %s %q", code, unit)
	}
	if code, unit := lmm3(en); code != "LMM_3" || unit != "years" {
		t.Errorf("LMM_3 unit in English: %s %q", code, unit)
	}
	if fr.Definition.Title["en"] == "" || fr.Definition.Title["fr"] == "" {
		t.Errorf("the multilingual definition should stay beside the resolved texts")
	}
	if r := c.Do(apitest.Request{Method: "GET", Path: base + "/versions/2025.1?lang=" + "not%20a%20tag"}); r.Status != http.StatusBadRequest {
		t.Errorf("bad lang: %d", r.Status)
	}
	if r := c.Do(apitest.Request{Method: "GET", Path: base + "/versions/2025.1"}); r.Header.Get("ETag") != `"1"` || strings.Contains(string(r.Body), `"resolved"`) {
		t.Errorf("plain GET: ETag %q, resolved present: %s", r.Header.Get("ETag"), r.Body)
	}

	// Replacing a draft needs If-Match: 428 without, 412 when stale, with the current version.
	edited := miniIndexDefinition(t)
	edited.Title["fr"] = "Mini-indice"
	put := func(etag string, d *questionnaire.Definition) *apitest.Response {
		req := apitest.Request{Method: "PUT", Path: base + "/versions/2025.1", Body: map[string]any{"definition": d}}
		if etag != "" {
			req.Header = ifMatch(etag)
		} else {
			req.Invalid = true // If-Match is required: the 428 is the point
		}
		return c.Do(req)
	}
	qProblem(t, put("", edited), http.StatusPreconditionRequired)
	stale := qProblem(t, put(`"7"`, edited), http.StatusPreconditionFailed)
	if stale.Current == nil || stale.Current.Revision != 1 || stale.Current.Definition == nil {
		t.Fatalf("412 without the current version: %+v", stale)
	}
	r = put(`"1"`, edited)
	v = decodeVersion(t, r, http.StatusOK)
	if v.Revision != 2 || r.Header.Get("ETag") != `"2"` || v.Definition.Title["fr"] != "Mini-indice" {
		t.Fatalf("put: %+v, ETag %s", v, r.Header.Get("ETag"))
	}

	// A draft may be saved invalid; publishing it is refused with every problem.
	broken := miniIndexDefinition(t)
	broken.DefaultLanguage = ""
	broken.Tree[2].Group.Children[0].Indicator.Options[1].Score = nil
	v = decodeVersion(t, put(`W/"2"`, broken), http.StatusOK)
	if v.Valid || len(v.Problems) != len(broken.Validate()) {
		t.Fatalf("invalid draft: valid %v, %d problems, want %d", v.Valid, len(v.Problems), len(broken.Validate()))
	}
	var val struct {
		Valid    bool `json:"valid"`
		Problems []struct {
			Path string `json:"path"`
		} `json:"problems"`
	}
	r = c.Do(apitest.Request{Method: "GET", Path: base + "/versions/2025.1/validation"})
	r.Decode(t, &val)
	if r.Status != http.StatusOK || val.Valid || len(val.Problems) != len(broken.Validate()) {
		t.Fatalf("validation: %d %s", r.Status, r.Body)
	}
	p := qProblem(t, c.Do(apitest.Request{Method: "POST", Path: base + "/versions/2025.1/publish", Header: ifMatch(`"3"`)}), http.StatusUnprocessableEntity)
	if len(p.Errors) != len(broken.Validate()) {
		t.Fatalf("publish problems: %+v, want %d", p.Errors, len(broken.Validate()))
	}
	for i, pr := range broken.Validate() {
		if p.Errors[i].Field != pr.Path {
			t.Errorf("problem %d names %q, want %q", i, p.Errors[i].Field, pr.Path)
		}
	}
	decodeVersion(t, put(`"3"`, edited), http.StatusOK)
	qProblem(t, c.Do(apitest.Request{Method: "POST", Path: base + "/versions/2025.1/publish", Invalid: true}), http.StatusPreconditionRequired)
	r = c.Do(apitest.Request{Method: "POST", Path: base + "/versions/2025.1/publish", Header: ifMatch(`"4"`)})
	v = decodeVersion(t, r, http.StatusOK)
	if v.Status != "published" || v.Revision != 5 || r.Header.Get("ETag") != `"5"` {
		t.Fatalf("published %+v", v)
	}

	// Published is immutable through every endpoint.
	for _, etag := range []string{`"4"`, `"5"`} {
		p := qProblem(t, put(etag, miniIndexDefinition(t)), http.StatusConflict)
		if !strings.Contains(p.Detail, "published") {
			t.Errorf("refusal does not say why: %q", p.Detail)
		}
		qProblem(t, c.Do(apitest.Request{Method: "POST", Path: base + "/versions/2025.1/publish", Header: ifMatch(etag)}), http.StatusConflict)
	}
	qProblem(t, c.Do(importYAML(base+"/import?version=2025.1", miniIndexFile(t))), http.StatusConflict)
	qProblem(t, c.Do(apitest.Request{Method: "POST", Path: base + "/versions", Body: map[string]any{"version": "2025.1", "from": "2025.1"}}), http.StatusConflict)

	// Export round-trips in every format.
	for _, format := range []string{"yaml", "json", "xlsx"} {
		r := c.Do(apitest.Request{Method: "GET", Path: base + "/versions/2025.1/export?format=" + format})
		if r.Status != http.StatusOK || !strings.Contains(r.Header.Get("Content-Disposition"), "mini-index-2025.1."+format) {
			t.Fatalf("export %s: %d %v", format, r.Status, r.Header)
		}
		d, err := questionnaire.DecodeFile(bytes.NewReader(r.Body), format)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(edited, d); diff != "" {
			t.Fatalf("%s export (-want +got):\n%s", format, diff)
		}
		// And importing the export gives the same definition back.
		label := "rt-" + format
		got := decodeVersion(t, c.Do(apitest.Request{Method: "POST", Path: base + "/import?version=" + label + "&format=" + format,
			Body: r.Body, ContentType: r.Header.Get("Content-Type")}), http.StatusCreated)
		if diff := cmp.Diff(edited, got.Definition); diff != "" {
			t.Fatalf("%s re-import (-want +got):\n%s", format, diff)
		}
	}

	// A new version from the published one, then the diff.
	r = c.Do(apitest.Request{Method: "POST", Path: base + "/versions", Body: map[string]any{"version": "2026.1", "from": "2025.1"}})
	v = decodeVersion(t, r, http.StatusCreated)
	if v.From != "2025.1" || v.Status != "draft" || r.Header.Get("Location") != base+"/versions/2026.1" {
		t.Fatalf("new version %+v", v)
	}
	next := v.Definition
	next.Tree[0].Group.Title["fr"] = "Marché du travail"
	decodeVersion(t, c.Do(apitest.Request{Method: "PUT", Path: base + "/versions/2026.1", Body: map[string]any{"definition": next}, Header: ifMatch(`"1"`)}), http.StatusOK)
	var diff struct {
		Changes []questionnaire.Change `json:"changes"`
	}
	r = c.Do(apitest.Request{Method: "GET", Path: base + "/diff?from=2025.1&to=2026.1"})
	r.Decode(t, &diff)
	want := []questionnaire.Change{{Kind: "changed", Subject: "group", Code: "LMM", Field: "title.fr", Before: "Mobilité sur le marché du travail", After: "Marché du travail"}}
	if r.Status != http.StatusOK || !cmp.Equal(want, diff.Changes) {
		t.Fatalf("diff: %d %s", r.Status, r.Body)
	}
	qProblem(t, c.Do(apitest.Request{Method: "GET", Path: base + "/diff?from=2025.1", Invalid: true}), http.StatusBadRequest)
	qProblem(t, c.Do(apitest.Request{Method: "GET", Path: base + "/diff?from=2025.1&to=1999"}), http.StatusNotFound)

	// Listings.
	var list struct {
		Versions []struct {
			Version string `json:"version"`
			Status  string `json:"status"`
		} `json:"versions"`
	}
	r = c.Do(apitest.Request{Method: "GET", Path: base + "/versions"})
	r.Decode(t, &list)
	if len(list.Versions) != 5 || list.Versions[0].Version != "2025.1" || list.Versions[0].Status != "published" {
		t.Fatalf("versions: %s", r.Body)
	}
	if r := c.Do(apitest.Request{Method: "GET", Path: base}); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"2026.1"`) {
		t.Fatalf("questionnaire: %d %s", r.Status, r.Body)
	}
	if r := c.Do(apitest.Request{Method: "GET", Path: "/v1/questionnaires"}); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"mini-index"`) {
		t.Fatalf("questionnaires: %d %s", r.Status, r.Body)
	}
	qProblem(t, c.Do(apitest.Request{Method: "GET", Path: "/v1/questionnaires/nope"}), http.StatusNotFound)
	qProblem(t, c.Do(apitest.Request{Method: "GET", Path: base + "/versions/1999"}), http.StatusNotFound)

	// The score preview.
	var scores struct {
		Nodes []struct {
			Code    string   `json:"code"`
			Score   *float64 `json:"score"`
			Missing *struct {
				Reason string `json:"reason"`
			} `json:"missing"`
		} `json:"nodes"`
	}
	r = c.Do(apitest.Request{Method: "POST", Path: base + "/versions/2025.1/score", Body: map[string]any{
		"answers": []map[string]any{{"indicator": "LMM_1", "option": "partial"}, {"indicator": "LMM_3", "value": 4}},
	}})
	r.Decode(t, &scores)
	got := map[string]string{}
	for _, n := range scores.Nodes {
		switch {
		case n.Score != nil:
			got[n.Code] = fmt.Sprint(*n.Score)
		case n.Missing != nil:
			got[n.Code] = n.Missing.Reason
		}
	}
	if r.Status != http.StatusOK || got["LMM_1"] != "50" || got["LMM_3"] != "50" || got["LMM_2"] != "not_answered" || got["LMM_A"] != "50" {
		t.Fatalf("scores %v: %s", got, r.Body)
	}
}

func TestBrokenImportListsEveryProblemAndWritesNothing(t *testing.T) {
	env := apitest.New(t)
	c, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: auth.AllRounds})

	broken := miniIndexDefinition(t)
	broken.DefaultLanguage = "de"
	broken.Tree[0].Group.Children[1].Group.Weights[0].Weight = nil
	broken.Tree[1].Group.Children[0].Group.Children[2].Indicator.Condition.Indicator = "NOPE"
	var file bytes.Buffer
	if err := questionnaire.EncodeDefinition(&file, broken, "yaml"); err != nil {
		t.Fatal(err)
	}
	want := broken.Validate()
	if len(want) < 3 {
		t.Fatalf("the broken file has only %d problems", len(want))
	}
	p := qProblem(t, c.Do(importYAML("/v1/questionnaires/mini-index/import", file.Bytes())), http.StatusUnprocessableEntity)
	if len(p.Errors) != len(want) {
		t.Fatalf("%d problems reported, want %d: %+v", len(p.Errors), len(want), p.Errors)
	}
	for i, pr := range want {
		if p.Errors[i].Field != pr.Path || !strings.Contains(p.Errors[i].Reason, pr.Message) {
			t.Errorf("problem %d: %+v, want %+v", i, p.Errors[i], pr)
		}
	}

	// A broken workbook: every problem with its sheet and row.
	// (A missing weight cannot even be written to a workbook, so this one breaks otherwise.)
	brokenBook := miniIndexDefinition(t)
	brokenBook.DefaultLanguage = "de"
	brokenBook.Tree[1].Group.Children[0].Group.Children[2].Indicator.Condition.Indicator = "NOPE"
	var book bytes.Buffer
	if err := questionnaire.EncodeDefinitionXLSX(&book, brokenBook); err != nil {
		t.Fatal(err)
	}
	p = qProblem(t, c.Do(apitest.Request{Method: "POST", Path: "/v1/questionnaires/mini-index/import", Body: book.Bytes(), ContentType: xlsxMediaType}), http.StatusUnprocessableEntity)
	if len(p.Errors) != len(brokenBook.Validate()) {
		t.Fatalf("%d workbook problems reported, want %d: %+v", len(p.Errors), len(brokenBook.Validate()), p.Errors)
	}
	for _, e := range p.Errors {
		if !strings.Contains(e.Field, "!") {
			t.Errorf("workbook problem without its sheet and row: %+v", e)
		}
	}

	// A file the decoder stops on (a misspelt field, a word where a number goes) is malformed
	// (400, as any body with a field its schema does not know), and has its other problems
	// reported in the same answer.
	mixed := strings.Replace(strings.Replace(string(miniIndexFile(t)), "title:", "titel:", 1), "default_language: en", "default_language: de", 1)
	p = qProblem(t, c.Do(importYAML("/v1/questionnaires/mini-index/import", []byte(mixed))), http.StatusBadRequest)
	var unknown, language bool
	for _, e := range p.Errors {
		unknown = unknown || (strings.HasPrefix(e.Field, "line ") && strings.Contains(e.Reason, `unknown field "titel"`))
		language = language || e.Field == "languages"
	}
	if !unknown || !language {
		t.Errorf("a file with an unknown field and an invalid language: %+v", p.Errors)
	}

	// Undecodable files name the line; unknown formats and another questionnaire's file are refused.
	p = qProblem(t, c.Do(importYAML("/v1/questionnaires/mini-index/import", []byte("code: mini-index\ntitle: [unclosed\n"))), http.StatusBadRequest)
	if !strings.Contains(p.Detail, "line") {
		t.Errorf("syntax error without a line: %q", p.Detail)
	}
	qProblem(t, c.Do(apitest.Request{Method: "POST", Path: "/v1/questionnaires/mini-index/import", Body: miniIndexFile(t), ContentType: "text/plain", Invalid: true}), http.StatusUnsupportedMediaType)
	qProblem(t, c.Do(apitest.Request{Method: "POST", Path: "/v1/questionnaires/mini-index/import?format=csv", Body: miniIndexFile(t), ContentType: "application/yaml", Invalid: true}), http.StatusBadRequest)
	p = qProblem(t, c.Do(importYAML("/v1/questionnaires/other/import", miniIndexFile(t))), http.StatusUnprocessableEntity)
	if len(p.Errors) != 1 || p.Errors[0].Field != "code" {
		t.Errorf("file of another questionnaire: %+v", p.Errors)
	}
	qProblem(t, c.Do(importYAML("/v1/questionnaires/mini-index/import?version=a/b", miniIndexFile(t))), http.StatusBadRequest)

	// Nothing was written: no questionnaire, no audit event.
	r := c.Do(apitest.Request{Method: "GET", Path: "/v1/questionnaires"})
	if r.Status != http.StatusOK || strings.Contains(string(r.Body), "mini-index") {
		t.Fatalf("a refused import left a questionnaire: %s", r.Body)
	}
	events, err := env.Store.ListEvents(context.Background(), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if strings.HasPrefix(ev.Entity, "questionnaire/") {
			t.Fatalf("a refused import wrote %+v", ev)
		}
	}

	// A body over the import limit is refused before it is read.
	big := bytes.Repeat([]byte("#"), 21<<20)
	qProblem(t, c.Do(apitest.Request{Method: "POST", Path: "/v1/questionnaires/mini-index/import", Body: big, ContentType: "application/yaml", Invalid: true}), http.StatusRequestEntityTooLarge)
	// A file over the default limit but under the import limit is fine.
	large := append(miniIndexFile(t), append([]byte("\n"), bytes.Repeat([]byte("# padding\n"), (2<<20)/10)...)...)
	decodeVersion(t, c.Do(importYAML("/v1/questionnaires/mini-index/import?publish=true", large)), http.StatusCreated)
}

func TestQuestionnairePermissionsOverHTTP(t *testing.T) {
	env := apitest.New(t)
	coordinator, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: auth.AllRounds})
	base := "/v1/questionnaires/mini-index"

	decodeVersion(t, coordinator.Do(importYAML(base+"/import?version=2024&publish=true", miniIndexFile(t))), http.StatusCreated)
	// Assignments name existing rounds: the expert's round comes first.
	if _, err := env.App.Rounds.CreateRound(context.Background(), systemAdmin, round.RoundInput{ID: "r1", Name: "Round r1",
		Questionnaire: "mini-index", QuestionnaireVer: "2024", Countries: []string{"AT"}}); err != nil {
		t.Fatal(err)
	}
	expert, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleExpert, Round: "r1", Country: "AT"})
	decodeVersion(t, coordinator.Do(importYAML(base+"/import?version=2025", miniIndexFile(t))), http.StatusCreated)

	// An expert reads published versions (they work from them) but not drafts, and writes nothing.
	v := decodeVersion(t, expert.Do(apitest.Request{Method: "GET", Path: base + "/versions/2024?lang=fr"}), http.StatusOK)
	if v.Status != "published" || v.Resolved == nil {
		t.Fatalf("expert's read: %+v", v)
	}
	r := expert.Do(apitest.Request{Method: "GET", Path: base + "/versions"})
	if r.Status != http.StatusOK || strings.Contains(string(r.Body), `"2025"`) || !strings.Contains(string(r.Body), `"2024"`) {
		t.Fatalf("expert's listing: %s", r.Body)
	}
	for _, req := range []apitest.Request{
		{Method: "GET", Path: base + "/versions/2025"},
		{Method: "GET", Path: base + "/versions/2025/validation"},
		{Method: "GET", Path: base + "/versions/2025/export"},
		{Method: "GET", Path: base + "/diff?from=2024&to=2025"},
		{Method: "POST", Path: "/v1/questionnaires", Body: map[string]string{"code": "x", "title": "X"}},
		importYAML(base+"/import?version=2026", miniIndexFile(t)),
		{Method: "POST", Path: base + "/versions", Body: map[string]any{"from": "2024"}},
		{Method: "PUT", Path: base + "/versions/2025", Body: map[string]any{"definition": miniIndexDefinition(t)}, Header: ifMatch(`"1"`)},
		{Method: "POST", Path: base + "/versions/2025/publish", Header: ifMatch(`"1"`)},
	} {
		if r := expert.Do(req); r.Status != http.StatusForbidden {
			t.Errorf("expert %s %s: %d, want 403: %s", req.Method, req.Path, r.Status, r.Body)
		}
	}
	// The coordinator still sees the draft unchanged.
	v = decodeVersion(t, coordinator.Do(apitest.Request{Method: "GET", Path: base + "/versions/2025"}), http.StatusOK)
	if v.Revision != 1 || v.Status != "draft" {
		t.Fatalf("draft after the expert's attempts: %+v", v)
	}
}

// --- the authorization matrix ---

// Every signed-in user reads published versions; drafts and every write are for admins and
// global coordinators (a round's coordinator edits the round, not the instrument all rounds
// share).
var (
	qEditors      = signedIn(403).with(200, globalCoordinator, admin)
	qEditorsWrite = signedIn(403).with(201, globalCoordinator, admin)
)

const matrixQuestionnaire = "mq"

// matrixQuestionnaireSetup gives the matrix a questionnaire with a published version "2024" and a
// draft "2025", once.
func matrixQuestionnaireSetup(t *testing.T, w *matrixWorld) {
	ctx := context.Background()
	qs := w.Env.App.Questionnaires
	def := miniIndexDefinition(t)
	def.Code = matrixQuestionnaire
	var file bytes.Buffer
	if err := questionnaire.EncodeDefinition(&file, def, "yaml"); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		label   string
		publish bool
	}{{"2024", true}, {"2025", false}} {
		_, err := qs.Import(ctx, w.adminPrincipal(), bytes.NewReader(file.Bytes()), questionnaire.ImportOptions{Format: "yaml", Version: v.label, Publish: v.publish})
		if err != nil && !errors.Is(err, questionnaire.ErrConflict) {
			t.Fatal(err)
		}
	}
}

// freshDraft makes a new draft of the matrix questionnaire for a case that changes it.
func freshDraft(t *testing.T, w *matrixWorld) string {
	t.Helper()
	label := fmt.Sprintf("d%d", w.seq.Add(1))
	if _, err := w.Env.App.Questionnaires.NewVersion(context.Background(), w.adminPrincipal(), matrixQuestionnaire, "2024", label); err != nil {
		t.Fatal(err)
	}
	return label
}

func qGet(path string) func(*testing.T, *matrixWorld, principal) apitest.Request {
	return func(*testing.T, *matrixWorld, principal) apitest.Request {
		return apitest.Request{Method: "GET", Path: "/v1/questionnaires/" + matrixQuestionnaire + path}
	}
}

var questionnaireMatrixCases = []matrixCase{
	{op: "GET /v1/questionnaires", request: get("/v1/questionnaires"), want: signedIn(200)},
	{
		op: "POST /v1/questionnaires",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/questionnaires",
				Body: map[string]string{"code": fmt.Sprintf("q%d", w.seq.Add(1)), "title": "Created by " + string(who)}}
		},
		want: qEditorsWrite,
	},
	{op: "GET /v1/questionnaires/{code}", setup: matrixQuestionnaireSetup, request: qGet(""), want: signedIn(200)},
	{op: "GET /v1/questionnaires/{code}/versions", setup: matrixQuestionnaireSetup, request: qGet("/versions"), want: signedIn(200)},
	{
		op: "POST /v1/questionnaires/{code}/versions", setup: matrixQuestionnaireSetup,
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/questionnaires/" + matrixQuestionnaire + "/versions",
				Body: map[string]any{"from": "2024", "version": fmt.Sprintf("n%d", w.seq.Add(1))}}
		},
		want: qEditorsWrite,
	},
	{op: "GET /v1/questionnaires/{code}/versions/{version}", variant: "published", setup: matrixQuestionnaireSetup, request: qGet("/versions/2024?lang=fr"), want: signedIn(200)},
	{op: "GET /v1/questionnaires/{code}/versions/{version}", variant: "draft", setup: matrixQuestionnaireSetup, request: qGet("/versions/2025"), want: qEditors},
	{
		op: "PUT /v1/questionnaires/{code}/versions/{version}", setup: matrixQuestionnaireSetup,
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			def := miniIndexDefinition(t)
			def.Code = matrixQuestionnaire
			return apitest.Request{Method: "PUT", Path: "/v1/questionnaires/" + matrixQuestionnaire + "/versions/" + freshDraft(t, w),
				Body: map[string]any{"definition": def}, Header: ifMatch(`"1"`)}
		},
		want: qEditors,
	},
	{
		op: "PUT /v1/questionnaires/{code}/versions/{version}", variant: "missing If-Match", setup: matrixQuestionnaireSetup,
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "PUT", Path: "/v1/questionnaires/" + matrixQuestionnaire + "/versions/2025",
				Body: map[string]any{"definition": map[string]any{"code": matrixQuestionnaire}}, Invalid: true}
		},
		// 403 comes before 428: a caller who may not edit learns nothing about how to.
		want: signedIn(403).with(428, globalCoordinator, admin),
	},
	{
		op: "POST /v1/questionnaires/{code}/versions/{version}/publish", setup: matrixQuestionnaireSetup,
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/questionnaires/" + matrixQuestionnaire + "/versions/" + freshDraft(t, w) + "/publish",
				Header: ifMatch(`"1"`)}
		},
		want: qEditors,
	},
	{
		op: "POST /v1/questionnaires/{code}/versions/{version}/publish", variant: "published", setup: matrixQuestionnaireSetup,
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/questionnaires/" + matrixQuestionnaire + "/versions/2024/publish", Header: ifMatch(`"1"`)}
		},
		want: signedIn(403).with(409, globalCoordinator, admin),
	},
	{op: "GET /v1/questionnaires/{code}/versions/{version}/validation", setup: matrixQuestionnaireSetup, request: qGet("/versions/2024/validation"), want: signedIn(200)},
	{op: "GET /v1/questionnaires/{code}/versions/{version}/validation", variant: "draft", setup: matrixQuestionnaireSetup, request: qGet("/versions/2025/validation"), want: qEditors},
	{op: "GET /v1/questionnaires/{code}/versions/{version}/export", setup: matrixQuestionnaireSetup, request: qGet("/versions/2024/export?format=json"), want: signedIn(200)},
	{op: "GET /v1/questionnaires/{code}/versions/{version}/export", variant: "draft", setup: matrixQuestionnaireSetup, request: qGet("/versions/2025/export"), want: qEditors},
	{
		op: "POST /v1/questionnaires/{code}/versions/{version}/score", setup: matrixQuestionnaireSetup,
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/questionnaires/" + matrixQuestionnaire + "/versions/2024/score",
				Body: map[string]any{"answers": []map[string]any{{"indicator": "LMM_1", "option": "full"}}}}
		},
		want: signedIn(200),
	},
	{
		op: "POST /v1/questionnaires/{code}/import", setup: matrixQuestionnaireSetup,
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			def := miniIndexDefinition(t)
			def.Code = matrixQuestionnaire
			var file bytes.Buffer
			if err := questionnaire.EncodeDefinition(&file, def, "json"); err != nil {
				t.Fatal(err)
			}
			return apitest.Request{Method: "POST", Path: fmt.Sprintf("/v1/questionnaires/%s/import?version=i%d", matrixQuestionnaire, w.seq.Add(1)),
				Body: file.Bytes()}
		},
		want: qEditorsWrite,
	},
	{op: "GET /v1/questionnaires/{code}/diff", setup: matrixQuestionnaireSetup, request: qGet("/diff?from=2024&to=2024"), want: signedIn(200)},
	{op: "GET /v1/questionnaires/{code}/diff", variant: "draft", setup: matrixQuestionnaireSetup, request: qGet("/diff?from=2024&to=2025"), want: qEditors},
}

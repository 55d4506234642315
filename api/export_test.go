package api_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/expertsurvey/expertsurvey/api/apitest"
)

// formulaComment is an expert's comment a spreadsheet would run as a formula.
const formulaComment = "=HYPERLINK(\"http://evil.example\",\"click\")"

// TestExportsReadBack exports a round as a coordinator before publication (provisional) and as
// the public after it, in every shape, and reads each file back: CSV with encoding/csv, XLSX
// with excelize, JSON with encoding/json; the formula comment comes back escaped.
func TestExportsReadBack(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	w := newPublishWorld(t, env, "x1", "AT", "BE")
	for _, c := range []string{"AT", "BE"} {
		w.ready(t, c)
	}
	// AT is locked (from its snapshot), BE ready but not locked (scored live).
	want(t, w.coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/x1/lock", Body: map[string]any{"countries": []string{"AT"}}}), 200, "lock AT")

	// Before publication: coordinators get a provisional export; the public gets nothing.
	res := w.coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/x1/export?format=csv&shape=long"})
	want(t, res, 200, "coordinator export")
	if res.Header.Get("X-Provisional") != "true" || !strings.Contains(res.Header.Get("Content-Disposition"), "provisional") {
		t.Fatalf("an unpublished export is not marked provisional: %v", res.Header)
	}
	rows := readCSV(t, res.Body)
	if len(rows) != 1+2*indicatorCount(t, env) {
		t.Fatalf("provisional long export: %d rows", len(rows))
	}
	anon := env.Client()
	want(t, anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/x1/export"}), 404, "public export of an unpublished round")
}

// TestEndToEndFromAnswersToPublicExport plays a round from end to end over HTTP: the expert
// answers (one comment is a formula), submits, the reviewer approves, the coordinator locks,
// closes and publishes; the public reads the round and its scores without a token and
// downloads the exports, which read back with the formula escaped.
func TestEndToEndFromAnswersToPublicExport(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	w := newPublishWorld(t, env, "x2", "AT")
	saved := reviewSheetAnswers["LMM_2"]
	reviewSheetAnswers["LMM_2"] = map[string]any{"option": "yes", "comment": formulaComment}
	w.ready(t, "AT")
	reviewSheetAnswers["LMM_2"] = saved
	want(t, w.coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/x2/lock", Body: map[string]any{}}), 200, "lock")
	status := func(body map[string]any) {
		cur := w.coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/x2"})
		want(t, w.coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/x2/status", Header: etagOf(cur), Body: body}), 200, "status")
	}
	status(map[string]any{"status": "closed"})
	status(map[string]any{"status": "published"})
	anon := env.Client()
	res := anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/x2"})
	want(t, res, 200, "public round")
	res = anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/x2/scores?country=AT"})
	want(t, res, 200, "public scores")
	if !strings.Contains(string(res.Body), `"hash":"`) || strings.Contains(string(res.Body), `"provisional":true`) {
		t.Fatalf("public scores: %.300s", res.Body)
	}

	// Long CSV: the comment is escaped, the header names the columns of docs/exports.md.
	res = anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/x2/export?format=csv&shape=long"})
	want(t, res, 200, "long csv")
	if res.Header.Get("X-Provisional") != "false" {
		t.Fatalf("a published export marked provisional")
	}
	rows := readCSV(t, res.Body)
	col := func(name string) int { return slices.Index(rows[0], name) }
	found := false
	for _, r := range rows[1:] {
		if r[col("indicator")] == "LMM_2" {
			found = true
			if r[col("comment")] != "'"+formulaComment {
				t.Fatalf("CSV comment not escaped: %q", r[col("comment")])
			}
			if r[col("snapshot_hash")] == "" || r[col("revision")] != "1" {
				t.Fatalf("CSV row without provenance: %v", r)
			}
		}
	}
	if !found {
		t.Fatal("no LMM_2 row in the long CSV")
	}

	// Long and wide XLSX through excelize.
	for _, shape := range []string{"long", "wide"} {
		res = anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/x2/export?format=xlsx&shape=" + shape})
		want(t, res, 200, shape+" xlsx")
		f, err := excelize.OpenReader(bytes.NewReader(res.Body))
		if err != nil {
			t.Fatalf("%s xlsx: %v", shape, err)
		}
		xrows, err := f.GetRows(shape)
		if err != nil {
			t.Fatal(err)
		}
		if shape == "long" {
			ci := slices.Index(xrows[0], "comment")
			ii := slices.Index(xrows[0], "indicator")
			ok := false
			for _, r := range xrows[1:] {
				if len(r) > ci && r[ii] == "LMM_2" && r[ci] == "'"+formulaComment {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("XLSX long export: LMM_2's escaped comment not found")
			}
		} else if len(xrows) != 2 || xrows[1][slices.Index(xrows[0], "country")] != "AT" {
			t.Fatalf("XLSX wide export: %d rows", len(xrows))
		}
		_ = f.Close()
	}

	// Codebook as JSON; JSON keeps texts exactly.
	res = anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/x2/export?format=json&shape=codebook"})
	want(t, res, 200, "codebook json")
	var cb []map[string]any
	if err := json.Unmarshal(res.Body, &cb); err != nil || len(cb) == 0 {
		t.Fatalf("codebook: %v (%d rows)", err, len(cb))
	}
	res = anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/x2/export?format=json&shape=long"})
	want(t, res, 200, "long json")
	if !strings.Contains(string(res.Body), `"comment":`+mustJSON(formulaComment)) {
		t.Fatalf("JSON does not carry the comment exactly")
	}
}

func readCSV(t *testing.T, body []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	return rows
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// indicatorCount is the number of indicators of the mini index.
func indicatorCount(t *testing.T, env *apitest.Env) int {
	t.Helper()
	_, c, err := env.App.Questionnaires.Published(t.Context(), "mini-index", "1")
	if err != nil {
		t.Fatal(err)
	}
	return len(c.IndicatorCodes())
}

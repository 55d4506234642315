package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/questionnaire/demo"
)

// TestDemoRoundFromAnswersToPublicExport plays the demo round of `serve --demo` over HTTP to the
// end. The demo expert answers Austria (one explanation is a formula) and submits; the demo
// reviewer challenges one answer and approves the rest; the expert revises it with a reason and
// resubmits; the reviewer approves. The coordinator submits and approves the three invented
// sheets, locks Austria, France and Portugal, closes the round and publishes it with Sweden
// excluded. The public then reads the round, its scores (304 on a repeated read), a time series,
// and downloads the exports: long CSV, wide XLSX and the codebook, which read back with the
// formula escaped and the published scores and hashes.
func TestDemoRoundFromAnswersToPublicExport(t *testing.T) {
	p := startServer(t, nil, "--demo", "--data-dir", t.TempDir())
	waitFor(t, p.base+"/readyz", http.StatusOK)
	expert := demoLogin(t, p.base, "expert.at@demo.expertsurvey.org")
	reviewer := demoLogin(t, p.base, "reviewer.at@demo.expertsurvey.org")
	coordinator := demoLogin(t, p.base, "coordinator@demo.expertsurvey.org")
	roundURL := p.base + "/v1/rounds/" + app.DemoRound
	sheet := func(country string) string { return roundURL + "/countries/" + country }
	do := func(what string, wantStatus int, method, url, token, body string, header ...string) string {
		t.Helper()
		status, resp, err := call(method, url, token, body, header...)
		if err != nil || status != wantStatus {
			t.Fatalf("%s: %d %v, want %d: %.500s", what, status, err, wantStatus, resp)
		}
		return resp
	}
	const formula = "=HYPERLINK(\"http://evil.example\",\"see\")"

	// The expert answers every indicator of Austria that applies, with a source each.
	challenged := ""
	answered := 0
	for _, ans := range demo.Answers()["AT"] {
		body := map[string]any{"comment": "Checked against the statute book.", "sources": []map[string]any{{"kind": "law", "title": "Federal Law Gazette"}}}
		switch {
		case ans.NotApplicable:
			body = map[string]any{"not_applicable": true, "na_reason": "Does not apply in Austria."}
		case ans.Number != nil:
			body["value"] = *ans.Number
		case ans.Text != "":
			body["text"] = ans.Text
		default:
			body["option"] = ans.Option
			if challenged == "" {
				challenged = ans.Indicator
			}
		}
		b, _ := json.Marshal(body)
		status, resp, err := call("PUT", sheet("AT")+"/answers/"+ans.Indicator, expert, string(b), "If-Match", `"0"`)
		switch {
		case err == nil && status == http.StatusOK:
			answered++
		case err == nil && status == http.StatusBadRequest && ans.NotApplicable && strings.Contains(resp, "skip logic"):
			// Excluded by skip logic: the sheet leaves it out.
		default:
			t.Fatalf("answer %s: %d %v %s", ans.Indicator, status, err, resp)
		}
	}
	do("submit", 200, "POST", sheet("AT")+"/submit", expert, "")

	// Review: one answer challenged, the rest approved; the sheet goes back to the expert.
	do("request changes", 200, "POST", sheet("AT")+"/answers/"+challenged+"/verdicts", reviewer,
		`{"decision":"request_changes","reason":"Cite the amended act."}`, "If-Match", `"1"`)
	if resp := do("approve the rest", 200, "POST", sheet("AT")+"/approvals", reviewer, `{"all_remaining":true}`); !strings.Contains(resp, `"status":"returned"`) {
		t.Fatalf("after the challenge the sheet is not returned to the expert: %.300s", resp)
	}
	revised, _ := json.Marshal(map[string]any{"option": optionOf("AT", challenged), "comment": formula, "reason": "Cited the amended act.",
		"sources": []map[string]any{{"kind": "law", "title": "Federal Law Gazette", "reference": "as amended in 2024"}}})
	do("revise", 200, "PUT", sheet("AT")+"/answers/"+challenged, expert, string(revised), "If-Match", `"1"`)
	do("resubmit", 200, "POST", sheet("AT")+"/submit", expert, "")
	if resp := do("approve the revision", 200, "POST", sheet("AT")+"/approvals", reviewer, `{"all_remaining":true}`); !strings.Contains(resp, `"status":"ready_to_lock"`) {
		t.Fatalf("Austria is not ready to lock: %.300s", resp)
	}

	// The invented sheets, submitted and approved by the coordinator.
	for _, c := range []string{"FR", "PT", "SE"} {
		do("submit "+c, 200, "POST", sheet(c)+"/submit", coordinator, "")
		do("approve "+c, 200, "POST", sheet(c)+"/approvals", coordinator, `{"all_remaining":true}`)
	}
	var lock struct {
		Locked []struct {
			Country string `json:"country"`
			Hash    string `json:"hash"`
		} `json:"locked"`
		Failed []any `json:"failed"`
	}
	decode(t, do("lock", 200, "POST", roundURL+"/lock", coordinator, `{"countries":["AT","FR","PT"]}`), &lock)
	if len(lock.Locked) != 3 || len(lock.Failed) != 0 {
		t.Fatalf("lock: %+v", lock)
	}
	hashes := map[string]string{}
	for _, l := range lock.Locked {
		hashes[l.Country] = l.Hash
	}
	setStatus := func(body string) {
		req, _ := http.NewRequest("GET", roundURL, nil)
		req.Header.Set("Authorization", "Bearer "+coordinator)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		do("status", 200, "POST", roundURL+"/status", coordinator, body, "If-Match", resp.Header.Get("ETag"))
	}
	setStatus(`{"status":"closed"}`)
	setStatus(`{"status":"published","excluded":[{"country":"SE","reason":"The sheet was not reviewed in time."}]}`)

	// The public: no token.
	public := p.base + "/v1/public/rounds/" + app.DemoRound
	do("public round", 200, "GET", public, "", "")
	var scores struct {
		Provisional bool `json:"provisional"`
		Countries   []struct {
			Country string `json:"country"`
			Hash    string `json:"hash"`
			Scores  struct {
				Variants []struct {
					Name  string   `json:"name"`
					Score *float64 `json:"score"`
				} `json:"variants"`
			} `json:"scores"`
		} `json:"countries"`
	}
	req, _ := http.NewRequest("GET", public+"/scores", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(resp.Body).Decode(&scores); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if scores.Provisional || len(scores.Countries) != 3 {
		t.Fatalf("public scores: %+v", scores)
	}
	do("scores again", 304, "GET", public+"/scores", "", "", "If-None-Match", resp.Header.Get("ETag"))
	variant := scores.Countries[0].Scores.Variants[0].Name
	published := map[string]string{} // country -> its score in the first variant, as exported
	for _, c := range scores.Countries {
		if c.Hash != hashes[c.Country] || c.Scores.Variants[0].Score == nil {
			t.Fatalf("public scores of %s: hash %s (locked as %s), %+v", c.Country, c.Hash, hashes[c.Country], c.Scores.Variants)
		}
		published[c.Country] = strconv.FormatFloat(*c.Scores.Variants[0].Score, 'f', -1, 64)
	}
	do("an excluded country's answers", 404, "GET", public+"/countries/SE/answers", "", "")
	series := do("series", 200, "GET", p.base+"/v1/public/series?questionnaire="+app.DemoQuestionnaire+"&country=AT&variant="+variant, "", "")
	if !strings.Contains(series, fmt.Sprintf(`"round":%q`, app.DemoRound)) || !strings.Contains(series, `"score":`+published["AT"]) {
		t.Fatalf("series: %s", series)
	}

	// Long CSV: a row per published country and indicator, with provenance; the formula escaped.
	rows, err := csv.NewReader(strings.NewReader(do("long csv", 200, "GET", public+"/export?format=csv&shape=long", "", ""))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(header []string, name string) int { return slices.Index(header, name) }
	h := rows[0]
	countries := map[string]int{}
	escaped := false
	for _, r := range rows[1:] {
		countries[r[col(h, "country")]]++
		if r[col(h, "snapshot_hash")] != hashes[r[col(h, "country")]] || r[col(h, "revision")] != "1" {
			t.Fatalf("a row without its snapshot's provenance: %v", r)
		}
		if r[col(h, "country")] == "AT" && r[col(h, "indicator")] == challenged {
			escaped = r[col(h, "comment")] == "'"+formula
		}
	}
	if len(countries) != 3 || countries["SE"] != 0 || countries["AT"] != countries["FR"] || countries["AT"] < answered {
		t.Fatalf("long CSV rows by country: %v (%d answered in Austria)", countries, answered)
	}
	if !escaped {
		t.Fatalf("Austria's %s comment is not escaped in the CSV", challenged)
	}

	// Wide XLSX: a row per published country, the variant as published.
	x, err := excelize.OpenReader(bytes.NewReader([]byte(do("wide xlsx", 200, "GET", public+"/export?format=xlsx&shape=wide", "", ""))))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	wide, err := x.GetRows("wide")
	if err != nil || len(wide) != 4 {
		t.Fatalf("wide XLSX: %v, %d rows", err, len(wide))
	}
	for _, r := range wide[1:] {
		c := r[col(wide[0], "country")]
		if got := r[col(wide[0], "variant_"+variant)]; got != published[c] {
			t.Fatalf("wide XLSX: %s's %s is %s, published %s", c, variant, got, published[c])
		}
	}
	var codebook []map[string]any
	decode(t, do("codebook", 200, "GET", public+"/export?format=json&shape=codebook", "", ""), &codebook)
	if len(codebook) == 0 || codebook[0]["questionnaire"] != app.DemoQuestionnaire {
		t.Fatalf("codebook: %d rows", len(codebook))
	}
}

// optionOf is the demo's option for a country's indicator.
func optionOf(country, indicator string) string {
	for _, a := range demo.Answers()[country] {
		if a.Indicator == indicator {
			return a.Option
		}
	}
	return ""
}

func decode(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%v: %.300s", err, body)
	}
}

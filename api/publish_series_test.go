package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/round"
)

// TestPublicSeriesAcrossPublishedRounds: Austria's score at a node and a variant across the
// published rounds of the mini index, in the order of their reference dates (not of their ids or
// creation), each point the score the round published; a round that is only closed is not in
// the series, and a country no round publishes has none. The series export puts the rounds up
// to the one asked for in one file, in the same order.
func TestPublicSeriesAcrossPublishedRounds(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	ctx := context.Background()
	publishAT := func(id, referenceDate string, override *float64, publish bool) {
		t.Helper()
		w := newPublishWorld(t, env, id, "AT")
		r, err := env.App.Rounds.Round(ctx, systemAdmin, id)
		if err != nil {
			t.Fatal(err)
		}
		in := round.RoundInput{ID: r.ID, Name: r.Name, Questionnaire: r.Questionnaire, QuestionnaireVer: r.QuestionnaireVer,
			ReferenceDate: referenceDate, Countries: r.Countries}
		if _, err := env.App.Rounds.UpdateRound(ctx, systemAdmin, id, in, r.Version); err != nil {
			t.Fatal(err)
		}
		w.ready(t, "AT")
		if override != nil {
			want(t, w.coord.Do(apitest.Request{Method: "POST", Path: answerPath(id, "AT", "LMM_1") + "/override", Header: map[string]string{"If-Match": `"1"`},
				Body: map[string]any{"score": *override, "reason": "the law is not applied"}}), 200, "override")
		}
		want(t, w.coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/" + id + "/countries/AT/lock"}), 200, "lock")
		statuses := []string{"closed"}
		if publish {
			statuses = append(statuses, "published")
		}
		for _, status := range statuses {
			cur := w.coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/" + id})
			want(t, w.coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/" + id + "/status", Header: etagOf(cur), Body: map[string]any{"status": status}}), 200, status)
		}
	}
	zero := 0.0
	publishAT("s-late", "2025", &zero, true)
	publishAT("s-early", "2019", nil, true)
	publishAT("s-closed", "2027", nil, false)

	anon := env.Client()
	published := func(id, query string) any {
		t.Helper()
		res := anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/" + id + "/scores?country=AT&" + query})
		want(t, res, 200, "scores of "+id)
		var out struct {
			Countries []struct {
				Scores struct {
					Nodes    []struct{ Score any } `json:"nodes"`
					Variants []struct{ Score any } `json:"variants"`
				} `json:"scores"`
			} `json:"countries"`
		}
		res.Decode(t, &out)
		if s := out.Countries[0].Scores; len(s.Nodes) == 1 {
			return s.Nodes[0].Score
		}
		return out.Countries[0].Scores.Variants[0].Score
	}
	res := anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/s-early/scores?country=AT"})
	var all struct {
		Countries []struct {
			Scores struct {
				Variants []struct {
					Name string `json:"name"`
				} `json:"variants"`
			} `json:"scores"`
		} `json:"countries"`
	}
	res.Decode(t, &all)
	variant := all.Countries[0].Scores.Variants[0].Name

	for _, q := range []string{"node=LMM", "variant=" + variant} {
		res := anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/series?questionnaire=mini-index&country=AT&" + q})
		want(t, res, 200, "series "+q)
		var series struct {
			Points []struct {
				Round         string `json:"round"`
				ReferenceDate string `json:"reference_date"`
				Revision      int    `json:"revision"`
				Score         any    `json:"score"`
			} `json:"points"`
		}
		res.Decode(t, &series)
		if len(series.Points) != 2 || series.Points[0].Round != "s-early" || series.Points[1].Round != "s-late" {
			t.Fatalf("series %s: %s", q, res.Body)
		}
		for _, p := range series.Points {
			if want := published(p.Round, q); p.Score != want || p.Revision != 1 {
				t.Fatalf("series %s: %s scores %v, published %v", q, p.Round, p.Score, want)
			}
		}
		if q == "node=LMM" && series.Points[0].Score == series.Points[1].Score {
			t.Fatalf("the override in s-late does not show in the series: %s", res.Body)
		}
	}
	// The same series as one file: the published rounds before s-late, then s-late.
	res = anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/s-late/export?format=csv&shape=wide&series=true"})
	want(t, res, 200, "series export")
	rows := readCSV(t, res.Body)
	if len(rows) != 3 || rows[1][0] != "s-early" || rows[2][0] != "s-late" || !strings.Contains(res.Header.Get("Content-Disposition"), "s-late-series-wide") {
		t.Fatalf("series export: %v %v", res.Header.Get("Content-Disposition"), rows)
	}
	res = anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/s-early/export?format=csv&shape=wide&series=true"})
	want(t, res, 200, "series export of the first round")
	if rows := readCSV(t, res.Body); len(rows) != 2 || rows[1][0] != "s-early" {
		t.Fatalf("series export up to s-early: %v", rows)
	}

	res = anon.Do(apitest.Request{Method: "GET", Path: "/v1/public/series?questionnaire=mini-index&country=BE&node=LMM"})
	want(t, res, 200, "series of a country no round publishes")
	if pts := res.JSON(t)["points"].([]any); len(pts) != 0 {
		t.Fatalf("series of BE: %s", res.Body)
	}
}

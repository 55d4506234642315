// Package loadkit is what the load tools (tools/loadtest, bench/load) share: a synthetic
// instrument of any size, country codes, a seeded round, and latency percentiles. It seeds
// through the domain services of an assembled app, so that the data is what the API would have
// written, in a fraction of the time.
package loadkit

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
)

// Questionnaire and Version name the synthetic instrument PublishInstrument publishes.
const (
	Questionnaire = "load"
	Version       = "1"
)

// Admin is the system principal that seeds.
var Admin = auth.Principal{UserID: audit.SystemActor, Admin: true}

// Seeding runs as the system actor, so that the audit trail tells seeded data from users' work.
func seedContext(ctx context.Context) context.Context {
	return audit.WithOrigin(ctx, audit.SystemActor, "load")
}

// Countries are n synthetic three-letter country codes: AAA, AAB, ...
func Countries(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = string(rune('A'+i/676)) + string(rune('A'+i/26%26)) + string(rune('A'+i%26))
	}
	return out
}

// Indicator is the code of the i-th indicator of the synthetic instrument.
func Indicator(i int) string { return fmt.Sprintf("I%04d", i) }

// Instrument is a synthetic questionnaire of n single-choice indicators with required sources,
// in 8 areas of 3 dimensions each, the shape of MIPEX.
func Instrument(n int) *questionnaire.Definition {
	score := func(f float64) *float64 { return &f }
	d := &questionnaire.Definition{Code: Questionnaire, Title: questionnaire.Text{"en": "Load test"}, DefaultLanguage: "en"}
	for i := range n {
		area, dim := i%8, i%24
		for len(d.Tree) <= area {
			d.Tree = append(d.Tree, questionnaire.Node{Group: &questionnaire.Group{Code: fmt.Sprintf("A%d", len(d.Tree)), Title: questionnaire.Text{"en": "Area"}}})
		}
		g := d.Tree[area].Group
		code := fmt.Sprintf("A%dD%d", area, dim)
		k := slices.IndexFunc(g.Children, func(n questionnaire.Node) bool { return n.Group.Code == code })
		if k < 0 {
			g.Children = append(g.Children, questionnaire.Node{Group: &questionnaire.Group{Code: code, Title: questionnaire.Text{"en": "Dimension"}}})
			k = len(g.Children) - 1
		}
		dg := g.Children[k].Group
		dg.Children = append(dg.Children, questionnaire.Node{Indicator: &questionnaire.Indicator{
			Code: Indicator(i), Title: questionnaire.Text{"en": "Indicator"}, Question: questionnaire.Text{"en": "Question?"},
			Type: questionnaire.SingleChoice, SourceRequired: true,
			Options: []questionnaire.Option{{Code: "full", Label: questionnaire.Text{"en": "Full"}, Score: score(100)}, {Code: "partial", Label: questionnaire.Text{"en": "Partial"}, Score: score(50)}, {Code: "none", Label: questionnaire.Text{"en": "None"}, Score: score(0)}},
		}})
	}
	return d
}

// PublishInstrument imports and publishes Instrument(indicators) as Questionnaire, Version.
func PublishInstrument(ctx context.Context, a *app.App, indicators int) error {
	var def bytes.Buffer
	if err := questionnaire.EncodeDefinition(&def, Instrument(indicators), questionnaire.FormatJSON); err != nil {
		return err
	}
	_, err := a.Questionnaires.Import(seedContext(ctx), Admin, &def, questionnaire.ImportOptions{Format: questionnaire.FormatJSON, Version: Version, Publish: true})
	return err
}

// Round describes a seeded round over the published instrument.
type Round struct {
	ID         string
	Countries  []string
	Indicators int
	// ReviewersPerAnswer is the round's review setting (0: the default).
	ReviewersPerAnswer int
	// Sources per answer; the first row of each answer carries the option and a comment of
	// about 280 bytes, as real answers do.
	Sources int
	// Submit hands every sheet to review once its answers are in.
	Submit bool
}

// Seed creates and opens the round, imports an answer to every indicator of every sheet (one
// answer version each, ETag "1"), and submits the sheets when asked.
func Seed(ctx context.Context, a *app.App, spec Round) error {
	ctx = seedContext(ctx)
	r, err := a.Rounds.CreateRound(ctx, Admin, round.RoundInput{ID: spec.ID, Name: spec.ID, Questionnaire: Questionnaire, QuestionnaireVer: Version,
		Countries: spec.Countries, ReviewersPerAnswer: spec.ReviewersPerAnswer})
	if err != nil {
		return err
	}
	if _, err := a.Rounds.SetStatus(ctx, Admin, spec.ID, round.StatusOpen, r.Version); err != nil {
		return err
	}
	var rows []round.ImportRow
	for _, c := range spec.Countries {
		for i := range spec.Indicators {
			for s := range max(spec.Sources, 1) {
				v := map[string]string{"country": c, "indicator": Indicator(i), "source_kind": "law",
					"source_title": fmt.Sprintf("Act %d", s), "source_url": "https://example.org/act", "source_reference": "§ 4(2)"}
				if s == 0 {
					v["option"], v["comment"] = "partial", strings.Repeat("The law grants equal access with exceptions. ", 6)
				}
				rows = append(rows, round.ImportRow{Line: len(rows) + 2, Values: v})
			}
		}
	}
	if _, err := a.Rounds.ImportAnswers(ctx, Admin, spec.ID, rows, nil); err != nil {
		return err
	}
	if spec.Submit {
		for _, c := range spec.Countries {
			if _, err := a.Rounds.Submit(ctx, Admin, spec.ID, c); err != nil {
				return fmt.Errorf("submit %s: %w", c, err)
			}
		}
	}
	return nil
}

// Percentile is the p-th (0..1) latency of lat, which it sorts.
func Percentile(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[int(float64(len(lat)-1)*p)]
}

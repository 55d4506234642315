package export

import (
	"fmt"
	"slices"
	"strings"

	"github.com/expertsurvey/expertsurvey/questionnaire"
)

// codebookColumns come first; then, for every language of the
// instruments (default language first), text_<lang> (a node's or
// variant's title, an option's label), question_<lang>, guidance_<lang>
// and unit_<lang>.
var codebookColumns = []string{
	"questionnaire", "version", "kind", "code", "parent", "depth", "level",
	"type", "option", "option_score", "scored", "source_required", "condition",
	"number_min", "number_max", "number_scoring", "bands",
	"aggregation", "weights", "lookup", "missing", "min_present", "rounding", "areas",
}

// Codebook row kinds.
const (
	kindGroup     = "group"
	kindIndicator = "indicator"
	kindOption    = "option"
	kindVariant   = "variant"
)

func languages(instruments []Instrument) []string {
	var langs []string
	for _, in := range instruments {
		d := in.Definition
		for _, l := range append([]string{d.DefaultLanguage}, d.Languages...) {
			if l != "" && !slices.Contains(langs, l) {
				langs = append(langs, l)
			}
		}
	}
	return langs
}

func writeCodebook(t table, instruments []Instrument) error {
	for _, in := range instruments {
		if in.Definition == nil {
			return fmt.Errorf("%w: codebook of version %q without a definition", ErrInvalid, in.Version)
		}
	}
	langs := languages(instruments)
	header := slices.Clone(codebookColumns)
	for _, l := range langs {
		header = append(header, "text_"+l, "question_"+l, "guidance_"+l, "unit_"+l)
	}
	if err := t.header(header); err != nil {
		return err
	}
	cells := make([]cell, 0, len(header))
	emit := func(r *codebookRow) error {
		cells = r.cells(cells[:0], langs)
		return t.row(cells)
	}
	for _, in := range instruments {
		d := in.Definition
		for _, n := range walk(d).nodes {
			r := &codebookRow{questionnaire: d.Code, version: in.Version, code: n.code, parent: n.parent, depth: n.depth}
			if g := n.group; g != nil {
				r.kind, r.level, r.title = kindGroup, g.Level, g.Title
				r.rule(&g.Rule, questionnaire.MissingSkip)
				if err := emit(r); err != nil {
					return err
				}
				continue
			}
			ind := n.ind
			r.kind, r.typ, r.title, r.question, r.guidance = kindIndicator, string(ind.Type), ind.Title, ind.Question, ind.Guidance
			r.scored, r.sourceRequired = boolean(ind.IsScored()), boolean(ind.SourceRequired)
			if ind.Condition != nil {
				r.condition = cell{kind: textCell, text: conditionText(ind.Condition), structured: ind.Condition}
			}
			if num := ind.Number; num != nil {
				r.numberMin, r.numberMax, r.unit = optNumber(num.Min), optNumber(num.Max), num.Unit
				r.numberScoring = text(string(num.Scoring))
				if len(num.Bands) > 0 {
					r.bands = cell{kind: textCell, text: bandsText(num.Bands), structured: num.Bands}
				}
			}
			if ind.Rounding != nil {
				r.rounding = cell{kind: textCell, text: roundingText(ind.Rounding), structured: ind.Rounding}
			}
			if err := emit(r); err != nil {
				return err
			}
			for _, o := range effectiveOptions(ind) {
				or := &codebookRow{questionnaire: d.Code, version: in.Version, kind: kindOption, code: n.code, parent: n.parent,
					depth: n.depth, option: o.Code, optionScore: optNumber(o.Score), title: o.Label}
				if err := emit(or); err != nil {
					return err
				}
			}
		}
		for _, v := range d.Variants {
			r := &codebookRow{questionnaire: d.Code, version: in.Version, kind: kindVariant, code: v.Name, title: v.Title}
			r.rule(&v.Rule, questionnaire.MissingRequire)
			r.areas = cell{kind: textCell, text: strings.Join(v.Areas, ", "), structured: v.Areas}
			if err := emit(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// effectiveOptions lists a yes/no indicator's implied options (yes 100,
// no 0) when it lists none, as the scoring engine reads them.
func effectiveOptions(ind *questionnaire.Indicator) []questionnaire.Option {
	if ind.Type == questionnaire.YesNo && len(ind.Options) == 0 {
		yes, no := 100.0, 0.0
		return []questionnaire.Option{{Code: questionnaire.OptionYes, Score: &yes}, {Code: questionnaire.OptionNo, Score: &no}}
	}
	return ind.Options
}

type codebookRow struct {
	questionnaire, version, kind, code, parent string
	depth                                      int
	level, typ, option                         string
	optionScore, scored, sourceRequired        cell
	condition                                  cell
	numberMin, numberMax, numberScoring, bands cell
	aggregation, weights, lookup, missing      cell
	minPresent, rounding, areas                cell
	title, question, guidance, unit            questionnaire.Text
}

// rule fills the aggregation columns with the defaults applied, so that a
// reader sees what the engine does, not what the file left out.
func (r *codebookRow) rule(rule *questionnaire.Rule, defaultMissing questionnaire.MissingRule) {
	r.aggregation = text(string(rule.EffectiveAggregation()))
	if len(rule.Weights) > 0 {
		r.weights = cell{kind: textCell, text: weightsText(rule.Weights), structured: rule.Weights}
	}
	if rule.Lookup != nil {
		r.lookup = cell{kind: textCell, text: lookupText(rule.Lookup), structured: rule.Lookup}
	}
	missing := rule.Missing
	if missing == "" {
		missing = defaultMissing
	}
	r.missing = text(string(missing))
	if rule.MinPresent > 0 {
		r.minPresent = number(float64(rule.MinPresent))
	}
	if rule.Rounding != nil {
		r.rounding = cell{kind: textCell, text: roundingText(rule.Rounding), structured: rule.Rounding}
	}
}

func (r *codebookRow) cells(cells []cell, langs []string) []cell {
	depth := cell{}
	if r.kind != kindVariant {
		depth = number(float64(r.depth))
	}
	cells = append(cells,
		text(r.questionnaire), text(r.version), text(r.kind), text(r.code), text(r.parent), depth, text(r.level),
		text(r.typ), text(r.option), r.optionScore, r.scored, r.sourceRequired, r.condition,
		r.numberMin, r.numberMax, r.numberScoring, r.bands,
		r.aggregation, r.weights, r.lookup, r.missing, r.minPresent, r.rounding, r.areas,
	)
	for _, l := range langs {
		// Exact language only: a codebook shows which translations are
		// missing instead of filling them in.
		cells = append(cells, text(r.title[l]), text(r.question[l]), text(r.guidance[l]), text(r.unit[l]))
	}
	return cells
}

func floatText(f *float64) string {
	if f == nil {
		return ""
	}
	return formatNumber(*f)
}

func weightsText(ws []questionnaire.Weight) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.Child + "=" + floatText(w.Weight)
	}
	return strings.Join(parts, "; ")
}

func lookupText(lk *questionnaire.Lookup) string {
	by := lk.By
	if by == "" {
		by = questionnaire.LookupByOption
	}
	parts := []string{"by " + string(by)}
	for _, row := range lk.Rows {
		keys := make([]string, len(row.When))
		for i, k := range row.When {
			keys[i] = string(k)
		}
		parts = append(parts, "("+strings.Join(keys, ", ")+") -> "+floatText(row.Score))
	}
	if lk.Default != nil {
		parts = append(parts, "default -> "+floatText(lk.Default))
	}
	return strings.Join(parts, "; ")
}

func roundingText(r *questionnaire.Rounding) string {
	mode := r.Mode
	if mode == "" {
		mode = questionnaire.RoundHalfUp
	}
	s := fmt.Sprintf("%d decimals %s", r.Decimals, mode)
	if r.ParentUsesRounded {
		s += ", parent uses rounded"
	}
	return s
}

// bandsText writes each band as its bounds and score: ">3 <=5 -> 50".
func bandsText(bands []questionnaire.Band) string {
	parts := make([]string, len(bands))
	for i, b := range bands {
		var bounds []string
		if b.Min != nil {
			bounds = append(bounds, ">="+floatText(b.Min))
		}
		if b.Over != nil {
			bounds = append(bounds, ">"+floatText(b.Over))
		}
		if b.Max != nil {
			bounds = append(bounds, "<="+floatText(b.Max))
		}
		if b.Under != nil {
			bounds = append(bounds, "<"+floatText(b.Under))
		}
		if len(bounds) == 0 {
			bounds = append(bounds, "any")
		}
		parts[i] = strings.Join(bounds, " ") + " -> " + floatText(b.Score)
	}
	return strings.Join(parts, "; ")
}

func conditionText(c *questionnaire.Condition) string {
	switch {
	case c.Indicator != "":
		return c.Indicator + " in [" + strings.Join(c.In, ", ") + "]"
	case len(c.AllOf) > 0:
		return "all_of(" + conditionsText(c.AllOf) + ")"
	case len(c.AnyOf) > 0:
		return "any_of(" + conditionsText(c.AnyOf) + ")"
	}
	return ""
}

func conditionsText(cs []questionnaire.Condition) string {
	parts := make([]string, len(cs))
	for i := range cs {
		parts[i] = conditionText(&cs[i])
	}
	return strings.Join(parts, "; ")
}

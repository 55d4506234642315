package questionnaire_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/questionnaire/demo"
)

// The XLSX tests live in the external test package because they use the
// demo instrument, whose package imports this one.

func loadYAML(t testing.TB, path string) *questionnaire.Definition {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := questionnaire.DecodeDefinition(f, questionnaire.FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func encodeXLSX(t testing.TB, d *questionnaire.Definition) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := questionnaire.EncodeDefinitionXLSX(&buf, d); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestXLSXRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		def  func(t *testing.T) *questionnaire.Definition
	}{
		{"mini index", func(t *testing.T) *questionnaire.Definition { return loadYAML(t, "testdata/mini_index.yaml") }},
		{"demo instrument", func(*testing.T) *questionnaire.Definition { return demo.Definition() }},
		{"every field", func(t *testing.T) *questionnaire.Definition { return loadYAML(t, "testdata/xlsx_every_field.yaml") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.def(t)
			if ps := want.Validate(); len(ps) > 0 {
				t.Fatalf("the test definition is invalid: %v", ps)
			}
			got, err := questionnaire.DecodeDefinitionXLSX(bytes.NewReader(encodeXLSX(t, want)))
			if err != nil {
				t.Fatalf("decoding our own workbook: %v", err)
			}
			// Exact equality, nil and empty included: the workbook loses
			// nothing the YAML form holds.
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decode(encode(d)) differs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestXLSXEveryFieldIsExercised keeps the every-field definition honest: a
// field it leaves at its zero value would not be proven to round-trip.
func TestXLSXEveryFieldIsExercised(t *testing.T) {
	d := loadYAML(t, "testdata/xlsx_every_field.yaml")
	seen := map[string]bool{}
	var conds func(c *questionnaire.Condition)
	conds = func(c *questionnaire.Condition) {
		if c.Indicator != "" {
			seen["condition leaf"] = true
		}
		if len(c.AllOf) > 0 {
			seen["all_of"] = true
		}
		if len(c.AnyOf) > 0 {
			seen["any_of"] = true
		}
		for i := range c.AllOf {
			conds(&c.AllOf[i])
		}
		for i := range c.AnyOf {
			conds(&c.AnyOf[i])
		}
	}
	rule := func(r questionnaire.Rule) {
		seen["aggregation "+string(r.EffectiveAggregation())] = true
		seen["missing "+string(r.Missing)] = true
		if r.MinPresent > 0 {
			seen["min_present"] = true
		}
		if r.Rounding != nil {
			seen["rounding mode "+string(r.Rounding.Mode)] = true
			if r.Rounding.ParentUsesRounded {
				seen["parent_uses_rounded"] = true
			}
		}
		if lk := r.Lookup; lk != nil {
			seen["lookup by "+string(lk.By)] = true
			if lk.Default != nil {
				seen["lookup default"] = true
			}
			for _, row := range lk.Rows {
				for _, k := range row.When {
					if k == questionnaire.AnyValue {
						seen["lookup wildcard"] = true
					}
				}
			}
		}
	}
	var walk func(nodes []questionnaire.Node)
	walk = func(nodes []questionnaire.Node) {
		kinds := ""
		for _, n := range nodes {
			if g := n.Group; g != nil {
				kinds += "g"
				if g.Level != "" {
					seen["level"] = true
				}
				rule(g.Rule)
				walk(g.Children)
				continue
			}
			kinds += "i"
			ind := n.Indicator
			seen["type "+string(ind.Type)] = true
			if len(ind.Guidance) > 0 {
				seen["guidance"] = true
			}
			if ind.SourceRequired {
				seen["source_required"] = true
			}
			if ind.Scored != nil && !*ind.Scored {
				seen["unscored"] = true
			}
			if ind.Rounding != nil {
				seen["indicator rounding"] = true
			}
			if ind.Condition != nil {
				conds(ind.Condition)
			}
			if ind.Type == questionnaire.YesNo && len(ind.Options) > 0 {
				seen["yes_no options"] = true
			}
			if num := ind.Number; num != nil {
				seen["number scoring "+string(num.Scoring)] = true
				if len(num.Unit) > 0 && num.Min != nil && num.Max != nil {
					seen["number unit min max"] = true
				}
				for _, b := range num.Bands {
					for name, p := range map[string]*float64{"min": b.Min, "over": b.Over, "max": b.Max, "under": b.Under} {
						if p != nil {
							seen["band "+name] = true
						}
					}
				}
			}
		}
		if strings.Contains(kinds, "igi") {
			seen["group between indicators"] = true
		}
	}
	walk(d.Tree)
	for _, v := range d.Variants {
		rule(v.Rule)
		if len(v.Weights) > 0 {
			seen["variant weights"] = true
		}
	}
	if len(d.Languages) >= 3 {
		seen["three languages"] = true
	}
	for _, want := range []string{
		"aggregation mean", "aggregation weighted", "aggregation lookup", "aggregation min", "aggregation max",
		"missing skip", "missing zero", "missing require", "min_present", "level",
		"rounding mode half_up", "rounding mode half_even", "parent_uses_rounded", "indicator rounding",
		"lookup by option", "lookup by score", "lookup default", "lookup wildcard",
		"type single_choice", "type yes_no", "type number", "type text", "yes_no options",
		"guidance", "source_required", "unscored", "condition leaf", "all_of", "any_of",
		"number scoring bands", "number scoring direct", "number scoring ", "number unit min max",
		"band min", "band over", "band max", "band under", "variant weights", "three languages",
		"group between indicators",
	} {
		if !seen[want] {
			t.Errorf("testdata/xlsx_every_field.yaml does not exercise %q", want)
		}
	}
}

// workbook edits an encoded workbook in place of a person with a
// spreadsheet program.
type workbook struct {
	t *testing.T
	f *excelize.File
}

func openWorkbook(t *testing.T, data []byte) *workbook {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &workbook{t: t, f: f}
}

// row returns the number of the first row of sheet whose first cell is key.
func (w *workbook) row(sheet, key string, nth int) int {
	w.t.Helper()
	rows, err := w.f.GetRows(sheet)
	if err != nil {
		w.t.Fatal(err)
	}
	for i, r := range rows {
		if len(r) > 0 && r[0] == key {
			if nth == 0 {
				return i + 1
			}
			nth--
		}
	}
	w.t.Fatalf("no row %q in sheet %s", key, sheet)
	return 0
}

// set writes value in the column whose header is column.
func (w *workbook) set(sheet string, row int, column string, value any) {
	w.t.Helper()
	header, err := w.f.GetRows(sheet)
	if err != nil {
		w.t.Fatal(err)
	}
	for j, h := range header[0] {
		if h == column {
			cell, _ := excelize.CoordinatesToCellName(j+1, row)
			if err := w.f.SetCellValue(sheet, cell, value); err != nil {
				w.t.Fatal(err)
			}
			return
		}
	}
	w.t.Fatalf("no column %q in sheet %s", column, sheet)
}

func (w *workbook) cell(sheet, cell string, value any) {
	w.t.Helper()
	if err := w.f.SetCellValue(sheet, cell, value); err != nil {
		w.t.Fatal(err)
	}
}

func (w *workbook) bytes() []byte {
	w.t.Helper()
	var buf bytes.Buffer
	if _, err := w.f.WriteTo(&buf); err != nil {
		w.t.Fatal(err)
	}
	return buf.Bytes()
}

func decodeProblems(t *testing.T, data []byte) []questionnaire.Problem {
	t.Helper()
	d, err := questionnaire.DecodeDefinitionXLSX(bytes.NewReader(data))
	if err == nil {
		t.Fatal("a broken workbook was accepted")
	}
	if d != nil {
		t.Error("a definition was returned along with problems")
	}
	if !errors.Is(err, questionnaire.ErrInvalid) {
		t.Fatalf("error %v does not wrap ErrInvalid", err)
	}
	var ve *questionnaire.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %T is not a *ValidationError", err)
	}
	return ve.Problems
}

func TestDecodeXLSXReportsEveryProblem(t *testing.T) {
	w := openWorkbook(t, encodeXLSX(t, loadYAML(t, "testdata/mini_index.yaml")))
	// One mistake per sheet, of different kinds: what a hurried
	// coordinator does in an afternoon.
	w.cell("definition", "A20", "colour")
	w.cell("definition", "B20", "red")
	w.cell("groups", "Z1", "titel:en")
	w.set("indicators", w.row("indicators", "LMM_1", 0), "type", "choice")
	w.set("indicators", w.row("indicators", "FR_3", 0), "condition", "FR_1 in [none")
	w.set("indicators", w.row("indicators", "H_1", 0), "parent", "HEALTHY")
	w.set("indicators", w.row("indicators", "LMM_5", 0), "weight", 0.5)
	w.set("options", w.row("options", "LMM_1", 1), "score", "high")
	w.set("bands", w.row("bands", "LMM_3", 2), "score", 150)
	w.set("lookups", w.row("lookups", "FR_B", 1), "when:1", "")
	w.set("variants", w.row("variants", "without_health", 0), "areas", "LMM, FR, XYZ")
	if _, err := w.f.NewSheet("indicatros"); err != nil {
		t.Fatal(err)
	}
	problems := decodeProblems(t, w.bytes())

	want := []struct{ path, message string }{
		{"indicatros", `unknown sheet "indicatros"`},
		{"definition!row 20", `unknown key "colour"`},
		{"groups!row 1", `unknown column "titel:en"`},
		{"groups!row 4", `weights: weights sum to 0.75, not 1`},
		{"indicators!row 2", `column type: unknown answer type "choice"`},
		{"indicators!row 9", `column condition: expected "," or "]" at character 14`},
		{"indicators!row 14", `column parent: unknown group "HEALTHY"`},
		{"options!row 3", `column score: "high" is not a number`},
		{"bands!row 4", `column score: score 150 is outside 0..100`},
		{"lookups!row 3", `column when:1: empty value before the last value of the row`},
		{"variants!row 3", `column areas: unknown top-level group "XYZ"`},
	}
	for _, w := range want {
		found := false
		for _, p := range problems {
			if p.Path == w.path && strings.Contains(p.Message, w.message) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem %s: %s", w.path, w.message)
		}
	}
	for _, p := range problems {
		if !strings.Contains(p.Path, "!row ") && p.Path != "indicatros" {
			t.Errorf("problem without a row: %v", p)
		}
	}
	// A score that is not a number is also a missing score; one cell, one
	// problem.
	if n := countAt(problems, "options!row 3"); n != 1 {
		t.Errorf("options!row 3 has %d problems, want 1: %v", n, problems)
	}
	if t.Failed() || testing.Verbose() {
		for _, p := range problems {
			t.Log(p)
		}
	}
}

func countAt(ps []questionnaire.Problem, path string) int {
	n := 0
	for _, p := range ps {
		if p.Path == path {
			n++
		}
	}
	return n
}

// sheets builds a workbook from literal rows, for the tests that need a
// layout the encoder never writes.
func sheets(t *testing.T, content map[string][][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for name, rows := range content {
		if _, err := f.NewSheet(name); err != nil {
			t.Fatal(err)
		}
		for i, row := range rows {
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			if err := f.SetSheetRow(name, cell, &row); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.DeleteSheet("Sheet1"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var smallDefinitionSheet = [][]any{{"key", "value"}, {"code", "t"}, {"title:en", "T"}, {"default_language", "en"}}

func indicatorRow(code, parent string) []any {
	return []any{code, parent, "yes_no", code, code + "?"}
}

var indicatorHeader = []any{"code", "parent", "type", "title:en", "question:en"}

func TestDecodeXLSXTreeOrder(t *testing.T) {
	groups := [][]any{{"code", "parent", "title:en"}, {"A", nil, "A"}, {"A1", "A", "A1"}, {"A2", "A", "A2"}, {"B", nil, "B"}}
	tests := []struct {
		name       string
		groups     [][]any
		indicators [][]any
		wantTree   string   // codes in pre-order, groups in capitals with their children in ()
		want       []string // problems, as "path: message fragment"
	}{
		{
			name:   "interleaved children take the place of their first indicator",
			groups: groups,
			indicators: [][]any{indicatorHeader,
				indicatorRow("a0", "A"), indicatorRow("a1", "A1"), indicatorRow("a1b", "A1"), indicatorRow("a3", "A"),
				indicatorRow("a2", "A2"), indicatorRow("b", "B")},
			wantTree: "A(a0 A1(a1 a1b) a3 A2(a2)) B(b)",
		},
		{
			name:   "a group's indicators apart",
			groups: groups,
			indicators: [][]any{indicatorHeader,
				indicatorRow("a1", "A1"), indicatorRow("a2", "A2"), indicatorRow("a1b", "A1"), indicatorRow("b", "B")},
			want: []string{`groups!row 3: the indicators of group "A1" are not in consecutive rows of the indicators sheet (indicators!row 3 holds a2`},
		},
		{
			name:   "sibling groups in the other order",
			groups: groups,
			indicators: [][]any{indicatorHeader,
				indicatorRow("a2", "A2"), indicatorRow("a1", "A1"), indicatorRow("b", "B")},
			want: []string{`groups!row 4: group "A2" is listed after its sibling "A1"`},
		},
		{
			name:       "parents in a cycle",
			groups:     [][]any{{"code", "parent", "title:en"}, {"A", nil, "A"}, {"C", "D", "C"}, {"D", "C", "D"}},
			indicators: [][]any{indicatorHeader, indicatorRow("a", "A"), indicatorRow("c", "C")},
			want:       []string{`groups!row 3: column parent: the parents of "C" form a cycle`, `groups!row 4: column parent: the parents of "D" form a cycle`},
		},
		{
			name:       "duplicate code across sheets",
			groups:     [][]any{{"code", "parent", "title:en"}, {"A", nil, "A"}},
			indicators: [][]any{indicatorHeader, indicatorRow("A", "A"), indicatorRow("a", "A")},
			want:       []string{`indicators!row 2: column code: duplicate code "A": already used at groups!row 2`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := sheets(t, map[string][][]any{"definition": smallDefinitionSheet, "groups": tt.groups, "indicators": tt.indicators})
			if tt.want == nil {
				d, err := questionnaire.DecodeDefinitionXLSX(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				if got := treeString(d.Tree); got != tt.wantTree {
					t.Errorf("tree = %s, want %s", got, tt.wantTree)
				}
				return
			}
			problems := decodeProblems(t, data)
			for _, w := range tt.want {
				path, msg, _ := strings.Cut(w, ": ")
				found := false
				for _, p := range problems {
					found = found || (p.Path == path && strings.Contains(p.Message, msg))
				}
				if !found {
					t.Errorf("no problem %s\ngot: %v", w, problems)
				}
			}
		})
	}
}

func treeString(nodes []questionnaire.Node) string {
	parts := make([]string, len(nodes))
	for i, n := range nodes {
		parts[i] = n.Code()
		if n.Group != nil {
			parts[i] += "(" + treeString(n.Group.Children) + ")"
		}
	}
	return strings.Join(parts, " ")
}

func TestDecodeXLSXStrictLayout(t *testing.T) {
	groups := [][]any{{"code", "parent", "title:en"}, {"A", nil, "A"}}
	indicators := [][]any{indicatorHeader, indicatorRow("a", "A")}
	tests := []struct {
		name    string
		content map[string][][]any
		want    []string
	}{
		{"missing sheets", map[string][][]any{"definition": smallDefinitionSheet}, []string{`groups: missing sheet "groups"`, `indicators: missing sheet "indicators"`}},
		{"missing key column", map[string][][]any{"definition": smallDefinitionSheet, "groups": {{"kode", "title:en"}, {"A", "A"}}, "indicators": indicators},
			[]string{`groups!row 1: unknown column "kode"`, `groups!row 1: missing column "code"`}},
		{"value without a header", map[string][][]any{"definition": smallDefinitionSheet, "groups": {{"code", "parent", "title:en"}, {"A", nil, "A", "stray"}}, "indicators": indicators},
			[]string{`groups!row 2: cell D2 has a value but its column has no valid name`}},
		{"language missing in a text column", map[string][][]any{"definition": smallDefinitionSheet, "groups": {{"code", "title:"}, {"A", "A"}}, "indicators": indicators},
			[]string{`groups!row 1: column "title:": name the language after the colon`}},
		{"column twice", map[string][][]any{"definition": smallDefinitionSheet, "groups": {{"code", "title:en", "title:en"}, {"A", "A", "A"}}, "indicators": indicators},
			[]string{`groups!row 1: column "title:en" appears twice`}},
		{"bad values", map[string][][]any{"definition": smallDefinitionSheet, "groups": {{"code", "title:en", "min_present", "rounding"}, {"A", "A", "1.5", "x"}},
			"indicators": {{"code", "parent", "type", "title:en", "question:en", "scored", "min"}, {"a", "A", "yes_no", "a", "a?", "maybe", "ten"}}},
			[]string{`groups!row 2: column min_present: "1.5" is not a whole number`, `groups!row 2: column rounding: "x" is not a whole number`,
				`indicators!row 2: column scored: "maybe" is not yes or no`, `indicators!row 2: column min: "ten" is not a number`}},
		{"references", map[string][][]any{"definition": smallDefinitionSheet, "groups": groups, "indicators": indicators,
			"options":  {{"indicator", "code", "score"}, {"nope", "x", 1}, {"A", "x", 1}},
			"bands":    {{"indicator", "max", "score"}, {"", 3, 100}},
			"lookups":  {{"group", "when:1", "score"}, {"a", "yes", 100}},
			"variants": {{"name", "areas", "weights"}, {"v", "A,", "A 0.5"}}},
			[]string{`options!row 2: column indicator: unknown indicator "nope"`, `options!row 3: column indicator: "A" is a group, not an indicator`,
				`bands!row 2: column indicator: must not be empty`, `lookups!row 2: column group: "a" is an indicator, not a group`,
				`variants!row 2: column areas: expected a code at character 3`, `variants!row 2: column weights: expected "=" at character 3`}},
		{"weight on an area", map[string][][]any{"definition": smallDefinitionSheet, "groups": {{"code", "parent", "weight", "title:en"}, {"A", nil, 1, "A"}}, "indicators": indicators},
			[]string{`groups!row 2: column weight: only children of a group carry a weight`}},
		{"definition keys", map[string][][]any{"definition": {{"key", "value"}, {"code", "t"}, {"code", "u"}, {"languages", "en fr"}, {"default_language", "en"}}, "groups": groups, "indicators": indicators},
			[]string{`definition!row 3: key "code" appears twice`, `definition!row 4: expected "," at character 4`, `definition: key title:en: missing text in the default language "en"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := decodeProblems(t, sheets(t, tt.content))
			for _, w := range tt.want {
				path, msg, _ := strings.Cut(w, ": ")
				found := false
				for _, p := range problems {
					found = found || (p.Path == path && strings.Contains(p.Message, msg))
				}
				if !found {
					t.Errorf("no problem %s\ngot: %v", w, problems)
				}
			}
		})
	}
}

func TestDecodeXLSXNotesAreIgnored(t *testing.T) {
	data := sheets(t, map[string][][]any{
		"definition": smallDefinitionSheet,
		"Groups":     {{"code", "title:en", "# why"}, {"A", "A", "a reminder"}},
		"indicators": {append(cloneRow(indicatorHeader), "#notes"), append(indicatorRow("a", "A"), "check the law")},
		"#scratch":   {{"anything", "goes"}},
	})
	if _, err := questionnaire.DecodeDefinitionXLSX(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

func cloneRow(s []any) []any { return append([]any(nil), s...) }

func TestDecodeXLSXNotAWorkbook(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("code: x\n"), []byte("PK\x03\x04broken")} {
		_, err := questionnaire.DecodeDefinitionXLSX(bytes.NewReader(data))
		if !errors.Is(err, questionnaire.ErrFormat) {
			t.Errorf("%q: got %v, want ErrFormat", data, err)
		}
	}
}

func TestEncodeXLSXRefusesWhatSheetsCannotHold(t *testing.T) {
	base := func() *questionnaire.Definition { return loadYAML(t, "testdata/mini_index.yaml") }
	lmm1 := func(d *questionnaire.Definition) *questionnaire.Indicator {
		return d.Tree[0].Group.Children[0].Group.Children[0].Indicator
	}
	tests := []struct {
		name   string
		change func(d *questionnaire.Definition)
		want   string
	}{
		{"duplicate code", func(d *questionnaire.Definition) { lmm1(d).Code = "LMM_2" }, `duplicate code "LMM_2"`},
		{"empty code", func(d *questionnaire.Definition) { lmm1(d).Code = "" }, `code "" cannot be referred to`},
		{"condition of two forms", func(d *questionnaire.Definition) {
			lmm1(d).Condition = &questionnaire.Condition{Indicator: "FR_1", In: []string{"none"}, AnyOf: []questionnaire.Condition{{Indicator: "FR_2", In: []string{"yes"}}}}
		}, "exactly one of"},
		{"weight of a stranger", func(d *questionnaire.Definition) {
			g := d.Tree[0].Group.Children[1].Group
			g.Weights = append(g.Weights, questionnaire.Weight{Child: "H_1", Weight: new(float64)})
		}, `weight for "H_1", which is not one of its children`},
		{"text too long for a cell", func(d *questionnaire.Definition) {
			lmm1(d).Guidance = questionnaire.Text{"en": strings.Repeat("x", 40000)}
		}, "longer than the 32767 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := base()
			tt.change(d)
			err := questionnaire.EncodeDefinitionXLSX(&bytes.Buffer{}, d)
			if !errors.Is(err, questionnaire.ErrFormat) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrFormat mentioning %q", err, tt.want)
			}
		})
	}
}

func TestConditionExpressions(t *testing.T) {
	leaf := func(ind string, in ...string) questionnaire.Condition {
		return questionnaire.Condition{Indicator: ind, In: in}
	}
	tests := []struct {
		expr string
		want questionnaire.Condition
		// canonical is how FormatCondition writes it; empty means expr.
		canonical string
	}{
		{expr: "LMM_1 in [A, B]", want: leaf("LMM_1", "A", "B")},
		{expr: "LMM_1 in [A,B]", want: leaf("LMM_1", "A", "B"), canonical: "LMM_1 in [A, B]"},
		{expr: "A in [x] and B in [y, z]", want: questionnaire.Condition{AllOf: []questionnaire.Condition{leaf("A", "x"), leaf("B", "y", "z")}}},
		{expr: "A in [x] or B in [y]", want: questionnaire.Condition{AnyOf: []questionnaire.Condition{leaf("A", "x"), leaf("B", "y")}}},
		{
			expr:      "A in [x] OR B in [y] AND C in [z]",
			want:      questionnaire.Condition{AnyOf: []questionnaire.Condition{leaf("A", "x"), {AllOf: []questionnaire.Condition{leaf("B", "y"), leaf("C", "z")}}}},
			canonical: "A in [x] or (B in [y] and C in [z])",
		},
		{
			expr: "(A in [x] and B in [y]) and C in [z]",
			want: questionnaire.Condition{AllOf: []questionnaire.Condition{{AllOf: []questionnaire.Condition{leaf("A", "x"), leaf("B", "y")}}, leaf("C", "z")}},
		},
		{expr: "all_of(A in [x])", want: questionnaire.Condition{AllOf: []questionnaire.Condition{leaf("A", "x")}}},
		{
			expr:      "any_of(A in [x], B in [y])",
			want:      questionnaire.Condition{AnyOf: []questionnaire.Condition{leaf("A", "x"), leaf("B", "y")}},
			canonical: "A in [x] or B in [y]",
		},
		{expr: `"my code" in ["x,y", "and", "say \"hi\""]`, want: leaf("my code", "x,y", "and", `say "hi"`)},
		{expr: "1.2 in [1.10]", want: leaf("1.2", "1.10")},
		{expr: "A in []", want: leaf("A")},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := questionnaire.ParseCondition(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			text, err := questionnaire.FormatCondition(got)
			if err != nil {
				t.Fatal(err)
			}
			canonical := tt.canonical
			if canonical == "" {
				canonical = tt.expr
			}
			if text != canonical {
				t.Errorf("formatted as %q, want %q", text, canonical)
			}
		})
	}
}

func TestConditionExpressionErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"A", `expected "in" after "A" at character 2`},
		{"A in x", `expected "[" at character 6`},
		{"A in [x", `expected "," or "]" at character 8, found end of text`},
		{"A in [x] B in [y]", `unexpected "B" at character 10: join conditions with and / or`},
		{"A in [x] and", `expected an indicator code or "(" at character 13`},
		{"(A in [x]", `expected ")" at character 10`},
		{`"A in [x]`, "unterminated quoted code at character 1"},
		{"and in [x]", `expected an indicator code or "(" at character 1, found "and"`},
		{"A in [,]", "expected an option code at character 7"},
		{`"" in []`, "an indicator code cannot be empty, at character 1"},
		{`A in [x, ""]`, "an option code cannot be empty, at character 10"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := questionnaire.ParseCondition(tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// mutateWorkbook writes junk into cells chosen by script, two bytes per
// cell (which sheet and cell, which junk), as a person might by accident.
func mutateWorkbook(t *testing.T, base []byte, script []byte) []byte {
	t.Helper()
	junk := []any{
		"", " ", "abc", "-1", "1e400", "NaN", "+Inf", "*", "[", "A in [", "LMM_1 in [full]", "all_of(", `"`,
		"yes", "maybe", "weighted", "lookup", "bands", "0.5", "x = 1", "title:en", "#", "\x01", "é\u00a0ü",
		strings.Repeat("long ", 50), 3.25, -7, 1e300, true, "LMM", "LMM_1", "FR_B", "1, 2, 3",
	}
	w := openWorkbook(t, base)
	list := w.f.GetSheetList()
	for k := 0; k+1 < len(script) && k < 64; k += 2 {
		sheet := list[int(script[k])%len(list)]
		rows, err := w.f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		width := 1
		for _, r := range rows {
			width = max(width, len(r))
		}
		pick := int(script[k]) / len(list)
		row := 1 + pick%(len(rows)+2)
		col := 1 + int(script[k+1])%(width+2)
		cell, _ := excelize.CoordinatesToCellName(col, row)
		w.cell(sheet, cell, junk[int(script[k+1])/(width+2)%len(junk)])
	}
	return w.bytes()
}

func checkJunkDecodes(t *testing.T, data []byte) {
	d, err := questionnaire.DecodeDefinitionXLSX(bytes.NewReader(data))
	switch {
	case err == nil:
		if ps := d.Validate(); len(ps) > 0 {
			t.Fatalf("decoded a definition with problems: %v", ps)
		}
	case !errors.Is(err, questionnaire.ErrInvalid) && !errors.Is(err, questionnaire.ErrFormat):
		t.Fatalf("unexpected error kind: %v", err)
	}
}

// TestDecodeXLSXJunkCells writes random junk into random cells of a valid
// workbook: decoding must never panic, and whatever it accepts is valid.
func TestDecodeXLSXJunkCells(t *testing.T) {
	base := encodeXLSX(t, loadYAML(t, "testdata/xlsx_every_field.yaml"))
	rng := rand.New(rand.NewPCG(1, 2))
	iterations := 150
	if testing.Short() {
		iterations = 20
	}
	for i := range iterations {
		script := make([]byte, 2*(1+rng.IntN(6)))
		for k := range script {
			script[k] = byte(rng.IntN(256))
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkJunkDecodes(t, mutateWorkbook(t, base, script)) })
	}
}

func FuzzDecodeDefinitionXLSX(f *testing.F) {
	base, err := os.ReadFile("testdata/xlsx_every_field.yaml")
	if err != nil {
		f.Fatal(err)
	}
	d, err := questionnaire.DecodeDefinition(bytes.NewReader(base), questionnaire.FormatYAML)
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := questionnaire.EncodeDefinitionXLSX(&buf, d); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{0, 0})
	f.Add([]byte{1, 7, 2, 40, 3, 200})
	f.Add([]byte{9, 255, 14, 3, 30, 31, 4, 4})
	f.Fuzz(func(t *testing.T, script []byte) {
		checkJunkDecodes(t, mutateWorkbook(t, buf.Bytes(), script))
	})
}

// TestXLSXDocExampleDecodes keeps the workbook example of the format
// reference honest: its tables, typed into sheets, must decode.
func TestXLSXDocExampleDecodes(t *testing.T) {
	raw, err := os.ReadFile("../docs/questionnaire-format.md")
	if err != nil {
		t.Skip("format reference not found:", err)
	}
	_, section, ok := strings.Cut(string(raw), "## Workbook (XLSX) format")
	if !ok {
		t.Fatal("no workbook section in docs/questionnaire-format.md")
	}
	_, example, ok := strings.Cut(section, "### Example")
	if !ok {
		t.Fatal("no workbook example")
	}
	content := map[string][][]any{}
	sheet := ""
	for line := range strings.Lines(example) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "`") && strings.HasSuffix(line, "`") && !strings.Contains(line, " "):
			sheet = strings.Trim(line, "`")
		case strings.HasPrefix(line, "|---"):
		case strings.HasPrefix(line, "|") && sheet != "":
			var row []any
			for _, cell := range strings.Split(strings.Trim(line, "|"), "|") {
				row = append(row, strings.TrimSpace(cell))
			}
			content[sheet] = append(content[sheet], row)
		}
	}
	if len(content) != 7 {
		t.Fatalf("found %d sheets in the example, want 7", len(content))
	}
	d, err := questionnaire.DecodeDefinitionXLSX(bytes.NewReader(sheets(t, content)))
	if err != nil {
		t.Fatal(err)
	}
	if got := treeString(d.Tree); got != "LMM(LMM_access(LMM_1 LMM_2)) FR(FR_status(FR_1 FR_2))" {
		t.Errorf("tree = %s", got)
	}
}

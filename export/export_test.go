package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"iter"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/snapshot"
	"github.com/google/go-cmp/cmp"
)

// flat reports whether a format is read in spreadsheets, where texts are
// escaped against formula injection.
func flat(f Format) bool { return f == CSV || f == XLSX }

// TestLongReadBack exports a round in the long format in every format,
// reads it back with the format's own reader, and checks the cells that
// matter: escaped formulas in flat formats (and only there), numbers
// written as numbers (a negative one unescaped), missing scores with their
// reason, review records, overrides, and the column order.
func TestLongReadBack(t *testing.T) {
	d, c := mini(t)
	ss := sheets(t, c, "r2025")
	for _, f := range Formats {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Long(&buf, f, Round{Definition: d, Sheets: seq(ss)}); err != nil {
				t.Fatal(err)
			}
			header, rows, types := readBack(t, f, buf.Bytes())
			if diff := cmp.Diff(longColumns, header); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if got, want := len(rows), 2*16; got != want {
				t.Fatalf("%d rows, want one per country and indicator: %d", got, want)
			}
			esc := func(s string) string {
				if flat(f) {
					return "'" + s
				}
				return s
			}
			sources := "law | " + hostile[0] + " | § 4 | https://example.org/a |  | 2026-01-10 |  | \nreport | Annual report |  |  |  |  |  | "
			verdicts := "disagree | none | see case law | 2026-03-01T09:30:00.000Z"
			if !flat(f) {
				sources = `[{"accessed":"2026-01-10","kind":"law","reference":"§ 4","title":"=HYPERLINK(\"http://evil.example\",\"x\")","url":"https://example.org/a"},{"kind":"report","title":"Annual\nreport"}]`
				verdicts = `[{"answer_version":1,"at":"2026-03-01T09:30:00.000Z","reason":"see case law","suggested_option":"none","verdict":"disagree"}]`
			}
			want := []struct {
				country, indicator string
				cells              map[string]string
			}{
				{"AT", "LMM_1", map[string]string{
					"round": "r2025", "revision": "2", "questionnaire": "mini-index", "version": "2025.1", "locked_at": "2026-03-01T09:30:00.000Z",
					"option": "partial", "score": "50", "missing_reason": "", "comment": esc(hostile[1]),
					"sources": sources, "verdicts": verdicts, "adjudicated_option": "partial", "adjudication_rationale": esc(hostile[3]),
					"not_applicable": "false", "override_score": "",
				}},
				{"AT", "LMM_2", map[string]string{"comment": esc(hostile[2]), "score": "100"}},
				{"AT", "LMM_3", map[string]string{"value": "4", "option": "", "score": "50"}},
				{"AT", "LMM_4", map[string]string{"comment": esc(hostile[4])}},
				{"AT", "FR_2", map[string]string{"carried": "true", "score": "0"}},
				{"AT", "FR_5", map[string]string{"option": "weak", "score": "", "missing_reason": "not_scored"}},
				{"AT", "FR_6", map[string]string{"value": "72.5", "changed": "true", "justification": "new statistics"}},
				{"AT", "FR_7", map[string]string{"text": esc("=1+1"), "missing_reason": "not_scored"}},
				{"AT", "H_3", map[string]string{"score": "50", "override_score": "50", "override_reason": "on paper only"}},
				{"AT", "H_4", map[string]string{"value": "-5"}},
				{"BE", "H_1", map[string]string{"not_applicable": "true", "na_reason": "no such system", "score": "", "missing_reason": "not_applicable", "revision": "1"}},
				{"BE", "LMM_2", map[string]string{"option": "", "score": "", "missing_reason": "not_answered", "sources": "", "verdicts": ""}},
			}
			for _, w := range want {
				idx := find(rows, "country", w.country, "indicator", w.indicator)
				if len(idx) != 1 {
					t.Errorf("%s %s: %d rows", w.country, w.indicator, len(idx))
					continue
				}
				got := map[string]string{}
				for k := range w.cells {
					got[k] = rows[idx[0]][k]
				}
				if diff := cmp.Diff(w.cells, got); diff != "" {
					t.Errorf("%s %s (-want +got):\n%s", w.country, w.indicator, diff)
				}
				if f == XLSX {
					for _, col := range []string{"value", "score", "revision"} {
						if rows[idx[0]][col] != "" && types[idx[0]][col] != "n" {
							t.Errorf("%s %s %s: cell of type %q, want a number", w.country, w.indicator, col, types[idx[0]][col])
						}
					}
				}
			}
			// The hostile \r survives CSV; check it separately because
			// encoding/csv keeps a lone carriage return as it is.
			if idx := find(rows, "country", "AT", "indicator", "LMM_5"); len(idx) != 1 || rows[idx[0]]["comment"] != esc(hostile[5]) {
				t.Errorf("AT LMM_5 comment %q, want %q", rows[idx[0]]["comment"], esc(hostile[5]))
			}
			if f == XLSX {
				if idx := find(rows, "country", "AT", "indicator", "H_4"); types[idx[0]]["not_applicable"] != "b" {
					t.Errorf("not_applicable is of type %q, want a boolean cell", types[idx[0]]["not_applicable"])
				}
			}
		})
	}
}

// TestWideReadBack checks the wide format in every format: one row per
// country, the answer and score of every indicator, the score of every
// group and variant, n/a for not applicable.
func TestWideReadBack(t *testing.T) {
	d, c := mini(t)
	ss := sheets(t, c, "r2025")
	for _, f := range Formats {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Wide(&buf, f, Round{Definition: d, Sheets: seq(ss)}); err != nil {
				t.Fatal(err)
			}
			header, rows, types := readBack(t, f, buf.Bytes())
			wantHeader := []string{"round", "country", "revision", "questionnaire", "version", "locked_at", "snapshot_hash",
				"LMM_score", "LMM_A_score", "LMM_1", "LMM_1_score", "LMM_2", "LMM_2_score", "LMM_3", "LMM_3_score",
				"LMM_B_score", "LMM_4", "LMM_4_score", "LMM_5", "LMM_5_score",
				"FR_score", "FR_A_score", "FR_1", "FR_1_score", "FR_2", "FR_2_score", "FR_3", "FR_3_score",
				"FR_B_score", "FR_4", "FR_4_score", "FR_5", "FR_5_score", "FR_C_score", "FR_6", "FR_6_score", "FR_7", "FR_7_score",
				"HEALTH_score", "H_1", "H_1_score", "H_2", "H_2_score", "H_3", "H_3_score", "H_4", "H_4_score",
				"variant_with_health", "variant_without_health"}
			if diff := cmp.Diff(wantHeader, header); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if len(rows) != 2 {
				t.Fatalf("%d rows, want 2", len(rows))
			}
			at, be := rows[0], rows[1]
			esc := ""
			if flat(f) {
				esc = "'"
			}
			// LMM_A = mean(50, 100, 50); XLSX keeps Excel's 15 significant
			// digits (excelize cuts the rest), the other formats all 17.
			lmmA := "66.66666666666667"
			if f == XLSX {
				lmmA = "66.6666666666666"
			}
			wantAT := map[string]string{
				"country": "AT", "snapshot_hash": ss[0].Hash,
				"LMM_1": "partial", "LMM_1_score": "50", "LMM_3": "4", "LMM_3_score": "50", "LMM_A_score": lmmA,
				// LMM = mean(LMM_A, LMM_B = 0.25*75 + 0.75*67 = 69) = 67.83, one decimal.
				"LMM_score": "67.8", "FR_7": esc + "=1+1", "FR_7_score": "", "H_3_score": "50", "H_4": "-5",
				// HEALTH = mean(100, 0, 50 overridden); H_4 is not scored.
				"HEALTH_score": "50", "variant_with_health": scoreText(ss[0], "with_health"),
			}
			wantBE := map[string]string{"country": "BE", "H_1": "n/a", "H_1_score": "", "LMM_1": "full", "LMM_1_score": "100", "LMM_2": "", "variant_with_health": ""}
			for _, w := range []struct {
				row  map[string]string
				want map[string]string
			}{{at, wantAT}, {be, wantBE}} {
				got := map[string]string{}
				for k := range w.want {
					got[k] = w.row[k]
				}
				if diff := cmp.Diff(w.want, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", w.want["country"], diff)
				}
			}
			if f == XLSX {
				for _, col := range []string{"LMM_score", "H_4", "variant_with_health"} {
					if types[0][col] != "n" {
						t.Errorf("AT %s: cell of type %q, want a number", col, types[0][col])
					}
				}
			}
		})
	}
}

func scoreText(s *snapshot.Snapshot, variant string) string {
	for _, v := range s.Variants {
		if v.Name == variant && v.Score != nil {
			return formatNumber(*v.Score)
		}
	}
	return ""
}

// TestCodebookReadBack checks the codebook: a row per group, indicator,
// option (yes/no ones included) and variant, rules with their defaults
// spelled out, every language's texts, structured rules in JSON.
func TestCodebookReadBack(t *testing.T) {
	d, _ := mini(t)
	for _, f := range Formats {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Codebook(&buf, f, Instrument{Version: "2025.1", Definition: d}); err != nil {
				t.Fatal(err)
			}
			header, rows, _ := readBack(t, f, buf.Bytes())
			wantHeader := append(append([]string{}, codebookColumns...),
				"text_en", "question_en", "guidance_en", "unit_en", "text_fr", "question_fr", "guidance_fr", "unit_fr")
			if diff := cmp.Diff(wantHeader, header); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			count := map[string]int{}
			for _, r := range rows {
				count[r["kind"]]++
			}
			// 8 groups, 16 indicators, options: 3+2+0+5+4 (LMM) + 3+2+2+2+2 (FR) + 3+2+2 (H) = 32,
			// 2 variants.
			if diff := cmp.Diff(map[string]int{"group": 8, "indicator": 16, "option": 32, "variant": 2}, count); diff != "" {
				t.Errorf("rows by kind (-want +got):\n%s", diff)
			}
			weights, lookup, bands, condition, areas := "LMM_4=0.25; LMM_5=0.75", `by option; (yes, strong) -> 100; (yes, weak) -> 50; (no, *) -> 0`,
				"<=3 -> 100; >3 <=5 -> 50; >5 -> 0", "FR_1 in [none]", "LMM, FR, HEALTH"
			if !flat(f) {
				weights = `[{"child":"LMM_4","weight":0.25},{"child":"LMM_5","weight":0.75}]`
				lookup = `{"rows":[{"score":100,"when":["yes","strong"]},{"score":50,"when":["yes","weak"]},{"score":0,"when":["no","*"]}]}`
				bands = `[{"max":3,"score":100},{"max":5,"over":3,"score":50},{"over":5,"score":0}]`
				condition = `{"in":["none"],"indicator":"FR_1"}`
				areas = `["LMM","FR","HEALTH"]`
			}
			want := []struct {
				kv    []string
				cells map[string]string
			}{
				{[]string{"kind", "group", "code", "LMM"}, map[string]string{"depth": "0", "level": "area", "aggregation": "mean", "missing": "skip", "rounding": roundingCell(f, "1 decimals half_up", `{"decimals":1}`), "text_en": "Labour market mobility", "text_fr": "Mobilité sur le marché du travail"}},
				{[]string{"kind", "group", "code", "LMM_B"}, map[string]string{"parent": "LMM", "depth": "1", "aggregation": "weighted", "weights": weights, "text_fr": ""}},
				{[]string{"kind", "group", "code", "FR_B"}, map[string]string{"aggregation": "lookup", "lookup": lookup, "level": "composite"}},
				{[]string{"kind", "group", "code", "FR_A"}, map[string]string{"min_present": "2"}},
				{[]string{"kind", "indicator", "code", "LMM_3"}, map[string]string{"type": "number", "number_min": "0", "number_max": "50", "number_scoring": "bands", "bands": bands, "unit_en": "years", "unit_fr": "ans", "guidance_en": "Count from the date the first permit was issued.", "scored": "true", "depth": "2"}},
				{[]string{"kind", "indicator", "code", "FR_3"}, map[string]string{"condition": condition}},
				{[]string{"kind", "indicator", "code", "FR_4"}, map[string]string{"scored": "false", "type": "yes_no"}},
				{[]string{"kind", "indicator", "code", "LMM_1"}, map[string]string{"source_required": "true", "question_en": "Do long-term residents have equal access to employment?"}},
				{[]string{"kind", "option", "code", "LMM_1", "option", "partial"}, map[string]string{"option_score": "50", "text_en": "Some restrictions", "parent": "LMM_A"}},
				{[]string{"kind", "option", "code", "LMM_2", "option", "yes"}, map[string]string{"option_score": "100"}},
				{[]string{"kind", "option", "code", "FR_5", "option", "weak"}, map[string]string{"option_score": ""}},
				{[]string{"kind", "variant", "code", "with_health"}, map[string]string{"areas": areas, "missing": "require", "aggregation": "mean", "text_en": "Overall with health", "depth": ""}},
			}
			for _, w := range want {
				idx := find(rows, w.kv...)
				if len(idx) != 1 {
					t.Errorf("%v: %d rows", w.kv, len(idx))
					continue
				}
				got := map[string]string{}
				for k := range w.cells {
					got[k] = rows[idx[0]][k]
				}
				if diff := cmp.Diff(w.cells, got); diff != "" {
					t.Errorf("%v (-want +got):\n%s", w.kv, diff)
				}
			}
		})
	}
}

func roundingCell(f Format, flatText, structured string) string {
	if flat(f) {
		return flatText
	}
	return structured
}

// TestSeries exports two rounds over two questionnaire versions, the later
// with an indicator more: long rows come from both, wide columns are the
// union matched by code, and the earlier round's cells for the new
// indicator are empty.
func TestSeries(t *testing.T) {
	d1, c1 := mini(t)
	d2, _ := mini(t)
	area := d2.Tree[2].Group
	ind := *area.Children[1].Indicator
	ind.Code, ind.Title = "H_5", map[string]string{"en": "Mediators"}
	area.Children = append(area.Children, area.Children[1])
	area.Children[len(area.Children)-1].Indicator = &ind
	c2, err := d2.Compile()
	if err != nil {
		t.Fatal(err)
	}
	r1 := sheets(t, c1, "r2020")
	in := *sheets(t, c2, "r2025")[0]
	in.Answers = append(in.Answers, snapshot.Answer{Indicator: "H_5", Option: "yes"})
	s2, err := snapshot.Build(c2, &in)
	if err != nil {
		t.Fatal(err)
	}
	rounds := []Round{{Definition: d1, Sheets: seq(r1)}, {Definition: d2, Sheets: seq([]*snapshot.Snapshot{s2})}}

	var long bytes.Buffer
	if err := Long(&long, CSV, rounds...); err != nil {
		t.Fatal(err)
	}
	_, rows, _ := readBack(t, CSV, long.Bytes())
	if got, want := len(rows), 2*16+17; got != want {
		t.Errorf("%d long rows, want %d", got, want)
	}
	if idx := find(rows, "round", "r2025", "indicator", "H_5"); len(idx) != 1 || rows[idx[0]]["score"] != "100" {
		t.Errorf("r2025 H_5 rows %v", idx)
	}

	var wide bytes.Buffer
	if err := Wide(&wide, CSV, rounds...); err != nil {
		t.Fatal(err)
	}
	header, rows, _ := readBack(t, CSV, wide.Bytes())
	if i := strings.Index(strings.Join(header, ","), "H_4_score,H_5,H_5_score,variant_with_health"); i < 0 {
		t.Errorf("wide header %v lacks the new indicator after the old ones", header)
	}
	if got := []string{rows[0]["round"], rows[0]["H_5"], rows[2]["round"], rows[2]["H_5"], rows[2]["H_5_score"]}; !cmp.Equal(got, []string{"r2020", "", "r2025", "yes", "100"}) {
		t.Errorf("wide H_5 cells %v", got)
	}
}

// TestEscapeFormula pins the rule: a text cell beginning with =, +, -, @,
// tab or carriage return gets a leading apostrophe; nothing else changes.
func TestEscapeFormula(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=1+1", "'=1+1"},
		{"+33 1 23", "'+33 1 23"},
		{"-5", "'-5"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"", ""},
		{"law", "law"},
		{" =1", " =1"},
		{"'quoted", "'quoted"},
		{"x=1", "x=1"},
	}
	for _, tt := range tests {
		if got := escapeFormula(tt.in); got != tt.want {
			t.Errorf("escapeFormula(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestErrors: an iterator's error stops the export and is returned; an
// unknown format and a wide export whose option codes collide with the
// not-applicable mark are refused before anything is written.
func TestErrors(t *testing.T) {
	d, c := mini(t)
	ss := sheets(t, c, "r")
	boom := errors.New("store went away")
	failing := func(yield func(*snapshot.Snapshot, error) bool) {
		if yield(ss[0], nil) {
			yield(nil, boom)
		}
	}
	for _, f := range Formats {
		var buf bytes.Buffer
		if err := Long(&buf, f, Round{Definition: d, Sheets: failing}); !errors.Is(err, boom) {
			t.Errorf("%s: error %v, want the iterator's", f, err)
		}
	}
	var buf bytes.Buffer
	if err := Long(&buf, "pdf", Round{Definition: d, Sheets: seq(ss)}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown format: error %v, want ErrInvalid", err)
	}
	if err := Wide(&buf, CSV, Round{Sheets: seq(ss)}); !errors.Is(err, ErrInvalid) || buf.Len() != 0 {
		t.Errorf("round without a definition: error %v and %d bytes written, want ErrInvalid and nothing", err, buf.Len())
	}
	// A code that reads as a formula is escaped in a header too.
	d.Tree[0].Group.Children[0].Group.Children[0].Indicator.Code = "=LMM_1"
	for _, f := range []Format{CSV, XLSX} {
		buf.Reset()
		if err := Wide(&buf, f, Round{Definition: d, Sheets: seq(nil)}); err != nil {
			t.Fatal(err)
		}
		if header, _, _ := readBack(t, f, buf.Bytes()); header[9] != "'=LMM_1" {
			t.Errorf("%s: header cell %q, want it escaped", f, header[9])
		}
	}
	d.Tree[0].Group.Children[0].Group.Children[0].Indicator.Options[0].Code = NotApplicableMark
	buf.Reset()
	if err := Wide(&buf, CSV, Round{Definition: d, Sheets: seq(nil)}); !errors.Is(err, ErrInvalid) || buf.Len() != 0 {
		t.Errorf("option coded %q: error %v and %d bytes written, want ErrInvalid and nothing", NotApplicableMark, err, buf.Len())
	}
}

// TestLongTextsInXLSX: a text longer than an XLSX cell holds is cut
// visibly there, and kept whole in CSV and JSON.
func TestLongTextsInXLSX(t *testing.T) {
	d, c := mini(t)
	in := *sheets(t, c, "r")[1]
	long := strings.Repeat("é", 40000)
	in.Answers = append([]snapshot.Answer{}, in.Answers...)
	in.Answers[1].Comment = long
	s, err := snapshot.Build(c, &in)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Formats {
		var buf bytes.Buffer
		if err := Long(&buf, f, Round{Definition: d, Sheets: seq([]*snapshot.Snapshot{s})}); err != nil {
			t.Fatal(err)
		}
		_, rows, _ := readBack(t, f, buf.Bytes())
		got := rows[find(rows, "indicator", "LMM_1")[0]]["comment"]
		switch {
		case f == XLSX && (len([]rune(got)) != maxCellChars || !strings.HasSuffix(got, truncatedMark)):
			t.Errorf("XLSX: comment of %d characters ending %q, want %d ending with the mark", len([]rune(got)), got[len(got)-20:], maxCellChars)
		case f != XLSX && got != long:
			t.Errorf("%s: comment of %d characters, want all %d", f, len([]rune(got)), len([]rune(long)))
		}
	}
}

// TestJSONIsOneDocument: the JSON format is a single array, NDJSON one
// object per line, both valid even for an empty round.
func TestJSONIsOneDocument(t *testing.T) {
	d, _ := mini(t)
	empty := iter.Seq2[*snapshot.Snapshot, error](seq(nil))
	for _, tt := range []struct {
		f    Format
		want string
	}{{JSON, "[]\n"}, {NDJSON, ""}} {
		var buf bytes.Buffer
		if err := Long(&buf, tt.f, Round{Definition: d, Sheets: empty}); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tt.want {
			t.Errorf("%s of an empty round: %q, want %q", tt.f, buf.String(), tt.want)
		}
		if tt.f == JSON && !json.Valid(buf.Bytes()) {
			t.Errorf("JSON of an empty round is not valid JSON")
		}
	}
}

// TestComparisonReadBack compares two rounds of the small round in every
// format: both scores and the delta per node and variant, and both answers
// where the response changed.
func TestComparisonReadBack(t *testing.T) {
	_, c := mini(t)
	a := sheets(t, c, "r2020")
	in := *sheets(t, c, "r2025")[0]
	in.Answers = append([]snapshot.Answer{}, in.Answers...)
	for i := range in.Answers {
		if in.Answers[i].Indicator == "LMM_1" {
			in.Answers[i].Option = "full"
		}
	}
	b, err := snapshot.Build(c, &in)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Formats {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Comparison(&buf, f, snapshot.CompareRounds(seq(a), seq([]*snapshot.Snapshot{b}))); err != nil {
				t.Fatal(err)
			}
			header, rows, _ := readBack(t, f, buf.Bytes())
			if diff := cmp.Diff(comparisonColumns, header); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			// AT in both rounds, BE in r2020 only: 24 nodes and 2 variants each.
			if len(rows) != 2*26 {
				t.Errorf("%d rows, want %d", len(rows), 2*26)
			}
			check := func(kv []string, want map[string]string) {
				t.Helper()
				idx := find(rows, kv...)
				if len(idx) != 1 {
					t.Errorf("%v: %d rows", kv, len(idx))
					return
				}
				got := map[string]string{}
				for k := range want {
					got[k] = rows[idx[0]][k]
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%v (-want +got):\n%s", kv, diff)
				}
			}
			check([]string{"country", "AT", "code", "LMM_1"}, map[string]string{
				"kind": "node", "round_a": "r2020", "round_b": "r2025", "revision_a": "2", "revision_b": "2",
				"score_a": "50", "score_b": "100", "delta": "50",
				"answer_changed": "true", "answer_a": "partial", "answer_b": "full", "changed_fields": "option",
			})
			check([]string{"country", "AT", "code", "LMM_2"}, map[string]string{"score_a": "100", "score_b": "100", "delta": "0", "answer_changed": "", "answer_a": ""})
			check([]string{"country", "AT", "code", "with_health"}, map[string]string{"kind": "variant"})
			check([]string{"country", "BE", "code", "LMM_1"}, map[string]string{"round_b": "", "revision_b": "", "score_a": "100", "score_b": "", "delta": "", "answer_changed": "true", "answer_a": "full", "answer_b": ""})
		})
	}
}

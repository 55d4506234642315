package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"iter"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
	"github.com/expertsurvey/expertsurvey/snapshot"
	"github.com/xuri/excelize/v2"
)

func ptr[T any](v T) *T { return &v }

func mini(t testing.TB) (*questionnaire.Definition, *questionnaire.Compiled) {
	t.Helper()
	f, err := os.Open("testdata/mini.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := questionnaire.DecodeDefinition(f, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return d, c
}

var lockedAt = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// hostile are texts a spreadsheet would run as formulas if written as
// they are.
var hostile = []string{`=HYPERLINK("http://evil.example","x")`, "+1 for the reform", "-2 years", "@SUM(A1)", "\tindented", "\rreturn"}

// sheets builds the snapshots of a small round: AT answers everything
// (with hostile texts, a negative number, a review record and an
// override), BE leaves most unanswered and marks H_1 not applicable.
func sheets(t testing.TB, c *questionnaire.Compiled, roundName string) []*snapshot.Snapshot {
	t.Helper()
	at := &snapshot.Snapshot{
		Round: roundName, Country: "AT", Questionnaire: "mini-index", Version: "2025.1", Revision: 2,
		LockedBy: "coordinator@example.org", LockedAt: lockedAt,
		Answers: []snapshot.Answer{
			{Indicator: "LMM_1", Option: "partial", Comment: hostile[1],
				Sources: []round.Source{
					{Kind: "law", Title: hostile[0], Reference: "§ 4", URL: "https://example.org/a", Accessed: "2026-01-10"},
					{Kind: "report", Title: "Annual\nreport"},
				},
				Verdicts:     []snapshot.Verdict{{Reviewer: "r@example.org", AnswerVersion: 1, Verdict: "disagree", SuggestedOption: "none", Reason: "see case law", At: lockedAt}},
				Adjudication: &snapshot.Adjudication{By: "c@example.org", AnswerVersion: 1, Option: "partial", Rationale: hostile[3], At: lockedAt},
			},
			{Indicator: "LMM_2", Option: "yes", Comment: hostile[2]},
			{Indicator: "LMM_3", Value: ptr(4.0)},
			{Indicator: "LMM_4", Option: "75", Comment: hostile[4]},
			{Indicator: "LMM_5", Option: "renewable", Comment: hostile[5]},
			{Indicator: "FR_1", Option: "full"},
			{Indicator: "FR_2", Option: "no", Carried: true},
			{Indicator: "FR_4", Option: "yes"},
			{Indicator: "FR_5", Option: "weak"},
			{Indicator: "FR_6", Value: ptr(72.5), Changed: true, Justification: "new statistics"},
			{Indicator: "FR_7", Text: "=1+1"},
			{Indicator: "H_1", Option: "full"},
			{Indicator: "H_2", Option: "no"},
			{Indicator: "H_3", Option: "yes"},
			{Indicator: "H_4", Value: ptr(-5.0)},
		},
		Overrides: []snapshot.Override{{Node: "H_3", Score: 50, Reason: "on paper only", By: "c@example.org", At: lockedAt}},
	}
	be := &snapshot.Snapshot{
		Round: roundName, Country: "BE", Questionnaire: "mini-index", Version: "2025.1", Revision: 1,
		LockedBy: "coordinator@example.org", LockedAt: lockedAt,
		Answers: []snapshot.Answer{
			{Indicator: "H_1", NotApplicable: true, NAReason: "no such system"},
			{Indicator: "LMM_1", Option: "full"},
		},
	}
	var out []*snapshot.Snapshot
	for _, in := range []*snapshot.Snapshot{at, be} {
		s, err := snapshot.Build(c, in)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func seq(ss []*snapshot.Snapshot) iter.Seq2[*snapshot.Snapshot, error] {
	return func(yield func(*snapshot.Snapshot, error) bool) {
		for _, s := range ss {
			if !yield(s, nil) {
				return
			}
		}
	}
}

// readBack parses an export of any format into its header and rows of
// text, as a researcher's tool would read them: JSON numbers and booleans
// in their JSON spelling, null as "", arrays and objects as compact JSON.
// For XLSX it also returns each cell's type ("n" number, "b" boolean, "s"
// text), so that tests can tell a number from a text that looks like one.
func readBack(t *testing.T, f Format, data []byte) (header []string, rows []map[string]string, types []map[string]string) {
	t.Helper()
	switch f {
	case CSV:
		recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		header = recs[0]
		for _, r := range recs[1:] {
			rows = append(rows, zip(header, r))
		}
	case XLSX:
		x, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		sheet := x.GetSheetName(0)
		all, err := x.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		header = all[0]
		for i, r := range all[1:] {
			for len(r) < len(header) {
				r = append(r, "")
			}
			rows = append(rows, zip(header, r))
			ty := map[string]string{}
			for j, h := range header {
				name, _ := excelize.CoordinatesToCellName(j+1, i+2)
				ct, err := x.GetCellType(sheet, name)
				if err != nil {
					t.Fatal(err)
				}
				switch ct {
				case excelize.CellTypeUnset, excelize.CellTypeNumber:
					if r[j] != "" {
						ty[h] = "n"
					}
				case excelize.CellTypeBool:
					ty[h] = "b"
					rows[i][h] = map[bool]string{true: "true", false: "false"}[r[j] == "1" || strings.EqualFold(r[j], "true")]
				default:
					ty[h] = "s"
				}
			}
			types = append(types, ty)
		}
	case JSON, NDJSON:
		var objs []json.RawMessage
		if f == JSON {
			if err := json.Unmarshal(data, &objs); err != nil {
				t.Fatalf("not one JSON array: %v", err)
			}
		} else {
			for line := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
				objs = append(objs, json.RawMessage(line))
			}
		}
		for _, o := range objs {
			dec := json.NewDecoder(bytes.NewReader(o))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("row %s: %v", o, err)
			}
			if header == nil {
				header = keysInOrder(t, o)
			}
			row := map[string]string{}
			for k, v := range m {
				switch v := v.(type) {
				case nil:
					row[k] = ""
				case string:
					row[k] = v
				case json.Number:
					row[k] = v.String()
				case bool:
					row[k] = map[bool]string{true: "true", false: "false"}[v]
				default:
					b, _ := json.Marshal(v)
					row[k] = string(b)
				}
			}
			rows = append(rows, row)
		}
	}
	return header, rows, types
}

func zip(header, values []string) map[string]string {
	m := make(map[string]string, len(header))
	for i, h := range header {
		if i < len(values) {
			m[h] = values[i]
		}
	}
	return m
}

// keysInOrder lists an object's keys in document order, which a map loses.
func keysInOrder(t *testing.T, obj []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// find returns the rows whose columns have the given values.
func find(rows []map[string]string, kv ...string) []int {
	var out []int
	for i, r := range rows {
		ok := true
		for k := 0; k+1 < len(kv); k += 2 {
			if r[kv[k]] != kv[k+1] {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, i)
		}
	}
	return out
}

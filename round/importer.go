package round

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/xuri/excelize/v2"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/questionnaire"
)

// ImportColumns are the columns of the long format for past answers: one row per answer, or
// several rows per answer to cite several sources (the answer's own cells then repeat or stay
// empty on the extra rows).
var ImportColumns = []string{
	"country", "indicator", "option", "value", "text", "not_applicable", "na_reason", "comment",
	"source_kind", "source_title", "source_reference", "source_url", "source_date", "source_accessed",
	"source_language", "source_excerpt",
}

// ImportRow is one parsed row; Line is its line (CSV) or row (XLSX) number for messages.
type ImportRow struct {
	Line   int
	Values map[string]string
}

// maxImportRows bounds one import; a 200-country, 500-indicator round with two sources per
// answer fits.
const maxImportRows = 250000

// ParseImport reads answers in the long format from CSV or XLSX (the first sheet). The header
// row names the columns, in any order; unknown columns are refused so that a typo cannot drop
// data silently.
func ParseImport(r io.Reader, format string) ([]ImportRow, error) {
	var records [][]string
	switch format {
	case "csv":
		cr := csv.NewReader(r)
		cr.FieldsPerRecord = -1
		cr.ReuseRecord = false
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, &ValidationError{Problems: []FieldError{{"file", "not valid CSV: " + err.Error()}}}
			}
			records = append(records, rec)
			if len(records) > maxImportRows+1 {
				return nil, &ValidationError{Problems: []FieldError{{"file", fmt.Sprintf("at most %d rows per import", maxImportRows)}}}
			}
		}
	case "xlsx":
		f, err := excelize.OpenReader(r)
		if err != nil {
			return nil, &ValidationError{Problems: []FieldError{{"file", "not a valid XLSX workbook: " + err.Error()}}}
		}
		defer f.Close()
		sheets := f.GetSheetList()
		if len(sheets) == 0 {
			return nil, &ValidationError{Problems: []FieldError{{"file", "the workbook has no sheet"}}}
		}
		if records, err = f.GetRows(sheets[0]); err != nil {
			return nil, &ValidationError{Problems: []FieldError{{"file", "cannot read the first sheet: " + err.Error()}}}
		}
		if len(records) > maxImportRows+1 {
			return nil, &ValidationError{Problems: []FieldError{{"file", fmt.Sprintf("at most %d rows per import", maxImportRows)}}}
		}
	default:
		return nil, &ValidationError{Problems: []FieldError{{"format", "must be csv or xlsx"}}}
	}
	if len(records) == 0 {
		return nil, &ValidationError{Problems: []FieldError{{"file", "is empty; the first row must name the columns"}}}
	}
	header := records[0]
	var problems []FieldError
	index := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch {
		case name == "":
			continue
		case !slices.Contains(ImportColumns, name):
			problems = append(problems, FieldError{"header", fmt.Sprintf("unknown column %q (known: %s)", h, strings.Join(ImportColumns, ", "))})
		case index[name] != 0:
			problems = append(problems, FieldError{"header", fmt.Sprintf("column %q appears twice", name)})
		}
		index[name] = i + 1 // 0 means absent
	}
	for _, required := range []string{"country", "indicator"} {
		if index[required] == 0 {
			problems = append(problems, FieldError{"header", fmt.Sprintf("column %q is required", required)})
		}
	}
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	var rows []ImportRow
	for n, rec := range records[1:] {
		row := ImportRow{Line: n + 2, Values: map[string]string{}}
		empty := true
		for name, col := range index {
			if col > 0 && col-1 < len(rec) {
				v := strings.TrimSpace(rec[col-1])
				row.Values[name] = v
				empty = empty && v == ""
			}
		}
		if !empty {
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// importedNAReason stands in for the reason of an imported not-applicable answer that has none.
const importedNAReason = "Not applicable (imported without a reason)"

// ImportResult says what an import did.
type ImportResult struct {
	Rows      int
	Answers   int
	Written   int // answers that changed
	Unchanged int // answers already as imported (a repeated import writes nothing)
	Sheets    int // sheets written
}

type importedAnswer struct {
	line  int
	input AnswerInput
}

// ImportAnswers writes past answers into a round, for back-filling earlier years. Every row is
// validated first, against the instrument, the round's countries and skip logic, and nothing is
// written when any row is invalid. Then each sheet gets one log entry holding all its changed
// answers; answers already as imported are skipped, so importing the same file twice writes
// nothing the second time.
//
// progress, when not nil, is told how many sheets are written out of how many, as they are.
func (s *Service) ImportAnswers(ctx context.Context, p auth.Principal, roundID string, rows []ImportRow, progress func(done, total int)) (*ImportResult, error) {
	if err := p.Can(auth.ManageRound, auth.Scope{Round: roundID}); err != nil {
		return nil, err
	}
	r, err := s.rounds.Round(ctx, roundID)
	if err != nil {
		return nil, err
	}
	if r.Status == StatusPublished {
		return nil, fmt.Errorf("round %s is published: %w", r.ID, ErrNotEditable)
	}
	_, inst, err := s.instrument(ctx, r)
	if err != nil {
		return nil, err
	}
	byCountry, problems := s.parseRows(r, inst, rows)
	countries := make([]string, 0, len(byCountry))
	for c := range byCountry {
		countries = append(countries, c)
	}
	slices.Sort(countries)
	// Second pass, per sheet: skip logic over the imported answers together with those already
	// there, and no locked sheet.
	current := make([]*Sheet, len(countries))
	err = forEachCountry(ctx, countries, func(i int, country string) error {
		sh, err := s.sheetOf(ctx, r, country)
		current[i] = sh
		return err
	})
	if err != nil {
		return nil, err
	}
	for i, country := range countries {
		problems = append(problems, importSheetProblems(inst, current[i], byCountry[country])...)
	}
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	res := &ImportResult{Rows: len(rows)}
	written := make([]int, len(countries))
	var doneMu sync.Mutex
	done := 0
	err = forEachCountry(ctx, countries, func(i int, country string) error {
		defer func() {
			if progress != nil {
				doneMu.Lock()
				done++
				progress(done, len(countries))
				doneMu.Unlock()
			}
		}()
		_, err := s.sheets.UpdateSheet(ctx, r.ID, country, func(sh *Sheet) (*Change, error) {
			if sh.Status == SheetLocked {
				return nil, fmt.Errorf("sheet %s was locked during the import: %w", sh.ID(), ErrLocked)
			}
			change := &Change{Action: "answers.import"}
			for _, code := range sortedCodes(byCountry[country]) {
				in := byCountry[country][code].input
				next := Answer{Indicator: code, Option: in.Option, Value: in.Value, Text: in.Text,
					NotApplicable: in.NotApplicable, NAReason: in.NAReason, Comment: in.Comment, Sources: in.Sources}
				if cur := sh.Answer(code); cur != nil {
					if !cur.Carried && cur.Content().Equal(next.Content()) && cur.NAReason == next.NAReason &&
						cur.Comment == next.Comment && sameSources(cur.Sources, next.Sources) {
						continue
					}
					next.Previous = cur.Previous
					next.Changed = next.Previous != nil && !next.Content().Equal(next.Previous.Content())
				}
				change.Answers = append(change.Answers, next)
			}
			written[i] = len(change.Answers)
			if len(change.Answers) == 0 {
				return nil, nil
			}
			// Validation refused every answer that does not apply, but for those marked not
			// applicable; those are kept, flagged, like answers a later change excludes.
			change.Answers, _ = flagApplicability(inst, sh, change.Answers)
			if sh.Status == SheetNotStarted {
				change.Status = SheetInProgress
			}
			return change, nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	for i, country := range countries {
		res.Answers += len(byCountry[country])
		res.Written += written[i]
		if written[i] > 0 {
			res.Sheets++
		}
	}
	res.Unchanged = res.Answers - res.Written
	return res, nil
}

func sortedCodes(m map[string]*importedAnswer) []string {
	codes := make([]string, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return codes
}

// parseRows turns rows into answers per country and indicator, checking each on its own.
func (s *Service) parseRows(r *Round, inst *questionnaire.Compiled, rows []ImportRow) (map[string]map[string]*importedAnswer, []FieldError) {
	out := map[string]map[string]*importedAnswer{}
	var problems []FieldError
	today := s.now()
	for _, row := range rows {
		v := row.Values
		at := fmt.Sprintf("row %d: ", row.Line)
		add := func(field, reason string) { problems = append(problems, FieldError{at + field, reason}) }
		country, code := v["country"], v["indicator"]
		if !r.HasCountry(country) {
			add("country", fmt.Sprintf("%q is not a country of round %s", country, r.ID))
			continue
		}
		if _, ok := inst.Indicator(code); !ok {
			add("indicator", fmt.Sprintf("%q is not an indicator of the round's questionnaire", code))
			continue
		}
		in := AnswerInput{Option: v["option"], Text: v["text"], NAReason: v["na_reason"], Comment: v["comment"]}
		if raw := v["value"]; raw != "" {
			f, err := strconv.ParseFloat(raw, 64)
			if err != nil {
				add("value", fmt.Sprintf("%q is not a number", raw))
				continue
			}
			in.Value = &f
		}
		if raw := v["not_applicable"]; raw != "" {
			na, err := strconv.ParseBool(strings.ToLower(raw))
			if err != nil {
				add("not_applicable", fmt.Sprintf("%q is not true or false", raw))
				continue
			}
			in.NotApplicable = na
			// Past data rarely says why; an expert saving an answer must.
			if na && in.NAReason == "" {
				in.NAReason = importedNAReason
			}
		}
		src := Source{Kind: SourceKind(v["source_kind"]), Title: v["source_title"], Reference: v["source_reference"],
			URL: v["source_url"], TextDate: v["source_date"], Accessed: v["source_accessed"],
			Language: v["source_language"], Excerpt: v["source_excerpt"]}
		hasSource := src != Source{}
		if out[country] == nil {
			out[country] = map[string]*importedAnswer{}
		}
		prev := out[country][code]
		if prev == nil {
			if hasSource {
				in.Sources = []Source{src}
			}
			problems = append(problems, checkInput(inst, code, in, at, today)...)
			out[country][code] = &importedAnswer{line: row.Line, input: in}
			continue
		}
		// A further row of the same answer adds a source; its answer cells must agree.
		first := prev.input
		if (in.Option != "" && in.Option != first.Option) || (in.Value != nil && !(Content{Value: in.Value}).Equal(Content{Value: first.Value})) ||
			(in.Text != "" && in.Text != first.Text) || (in.Comment != "" && in.Comment != first.Comment) || (v["not_applicable"] != "" && in.NotApplicable != first.NotApplicable) {
			add("indicator", fmt.Sprintf("%s/%s is answered differently on row %d", country, code, prev.line))
			continue
		}
		if !hasSource {
			add("source_kind", fmt.Sprintf("repeats %s/%s of row %d without a source", country, code, prev.line))
			continue
		}
		prev.input.Sources = append(prev.input.Sources, src)
		problems = append(problems, checkInput(inst, code, AnswerInput{Option: first.Option, Value: first.Value, Text: first.Text,
			NotApplicable: first.NotApplicable, NAReason: first.NAReason, Sources: []Source{src}}, at, today)...)
	}
	return out, problems
}

// importSheetProblems checks one sheet's imported answers together: each must apply given the
// sheet's answers after the import, and the sheet must not be locked.
func importSheetProblems(inst *questionnaire.Compiled, sh *Sheet, imported map[string]*importedAnswer) []FieldError {
	var problems []FieldError
	if sh.Status == SheetLocked {
		for _, code := range sortedCodes(imported) {
			problems = append(problems, FieldError{fmt.Sprintf("row %d: country", imported[code].line), "sheet " + sh.ID() + " is locked"})
		}
		return problems
	}
	after := sh.Answers()
	for _, code := range sortedCodes(imported) {
		in := imported[code].input
		a := Answer{Indicator: code, Option: in.Option, Value: in.Value, Text: in.Text, NotApplicable: in.NotApplicable}
		if i := slices.IndexFunc(after, func(x Answer) bool { return x.Indicator == code }); i >= 0 {
			after[i] = a
		} else {
			after = append(after, a)
		}
	}
	applies := inst.Applicability(scoringAnswers(sliceAnswers(after)))
	for _, code := range sortedCodes(imported) {
		// Historical data often marks excluded indicators not applicable: that agrees with the
		// skip logic and is kept. Any other answer to an excluded indicator contradicts it.
		if !applies.Applies(code) && !imported[code].input.NotApplicable {
			problems = append(problems, FieldError{fmt.Sprintf("row %d: indicator", imported[code].line),
				fmt.Sprintf("%s does not apply to %s given its other answers (skip logic)", code, sh.Country)})
		}
	}
	return problems
}

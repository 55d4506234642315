package round

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

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

// Caps on one import, checked while the file is read so that a hostile or broken file is
// refused before it costs memory: rows (a 200-country, 500-indicator round with two sources per
// answer fits), cells per row (the known columns with room for stray empty ones), bytes per cell
// (the longest text field, 20,000 characters of up to 4 bytes, with room), bytes per physical
// CSV line, and an XLSX workbook's total unzipped size (worksheets above
// maxImportXMLInMemory are unzipped to temporary files, not memory).
const (
	maxImportRows        = 250000
	maxImportFields      = 64
	maxImportCellBytes   = 128 << 10
	maxImportLineBytes   = maxImportFields * 32 << 10 // 2 MiB
	maxImportUnzipped    = 128 << 20
	maxImportXMLInMemory = 8 << 20
	// maxImportSharedStrings bounds a workbook's shared-string table, which excelize indexes
	// whole before the first cell is read (a million entries cost seconds of CPU and about 200
	// MB): two distinct strings per row allowed is far above real answer files.
	maxImportSharedStrings = 2 * maxImportRows
)

// ErrTooLarge refuses a file whose expanded size passes a cap (an XLSX that unzips beyond the
// limit); the API answers 413.
var ErrTooLarge = errors.New("too large")

// LimitError refuses a file that passes one of the import's caps, naming where: the API
// answers 413 when TooLarge (the file expands beyond what the service reads) and 422 otherwise.
type LimitError struct {
	Field    string
	Reason   string
	TooLarge bool
}

func (e *LimitError) Error() string { return e.Field + ": " + e.Reason }

// Is makes a LimitError match ErrTooLarge when it is about size.
func (e *LimitError) Is(target error) bool { return e.TooLarge && target == ErrTooLarge }

// lineLimit fails a read once a physical line passes max bytes, so that a CSV "row" of millions
// of commas is refused after max bytes instead of being split into millions of fields.
//
// It also fails once a line holds more than maxCommas commas: the CSV reader splits a whole line
// before it returns, so 2 MiB of commas would still become 2 million fields (129 MB and seconds
// of CPU, measured); no real row comes near 65,536 commas, even in quoted text.
type lineLimit struct {
	r         io.Reader
	max       int
	maxCommas int
	line      int // bytes since the last newline
	commas    int // commas since the last newline
	no        int // physical line number, for the message
}

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i, b := range p[:n] {
		switch b {
		case '\n':
			l.line, l.commas, l.no = 0, 0, l.no+1
			continue
		case ',':
			l.commas++
		}
		l.line++
		if l.line > l.max {
			return i, &LimitError{Field: fmt.Sprintf("line %d", l.no+1), Reason: fmt.Sprintf("a line of the file is longer than %d bytes", l.max)}
		}
		if l.commas > l.maxCommas {
			return i, &LimitError{Field: fmt.Sprintf("line %d", l.no+1), Reason: fmt.Sprintf("a line of the file holds more than %d commas", l.maxCommas)}
		}
	}
	return n, err
}

// checkRecord applies the per-row caps to one record (line is its row number).
func checkRecord(rec []string, line int) error {
	if len(rec) > maxImportFields {
		return &LimitError{Field: fmt.Sprintf("row %d", line), Reason: fmt.Sprintf("has %d cells; at most %d per row", len(rec), maxImportFields)}
	}
	for i, v := range rec {
		if len(v) > maxImportCellBytes {
			return &LimitError{Field: fmt.Sprintf("row %d: column %d", line, i+1), Reason: fmt.Sprintf("a cell holds at most %d bytes", maxImportCellBytes)}
		}
		if r, ok := controlRune(v); ok {
			return &ValidationError{Problems: []FieldError{{fmt.Sprintf("row %d: column %d", line, i+1), fmt.Sprintf("holds the control character %U; remove it", r)}}}
		}
	}
	return nil
}

// controlRune returns the first control character of s other than tab and line breaks: C0
// (NUL, ESC, ...), DEL, C1 and Unicode's line and paragraph separators have no place in survey
// text and break exports, logs and terminals.
func controlRune(s string) (rune, bool) {
	for _, r := range s {
		if r == '\t' || r == '\n' || r == '\r' {
			continue
		}
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x2028 || r == 0x2029 {
			return r, true
		}
	}
	return 0, false
}

var errTooManyRows = &LimitError{Field: "file", Reason: fmt.Sprintf("at most %d rows per import", maxImportRows)}

// ParseImport reads answers in the long format from CSV or XLSX (the first sheet). The header
// row names the columns, in any order; unknown columns are refused so that a typo cannot drop
// data silently. The file is read as a stream, row by row, and refused at the first cap it
// passes (see LimitError); a read error of r itself (a body over the request limit, a client
// gone) is returned as it is, not as a format problem.
func ParseImport(r io.Reader, format string) ([]ImportRow, error) {
	var records [][]string
	switch format {
	case "csv":
		ll := &lineLimit{r: r, max: maxImportLineBytes, maxCommas: 1 << 16}
		cr := csv.NewReader(ll)
		cr.FieldsPerRecord = -1
		cr.ReuseRecord = false
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			var pe *csv.ParseError
			if err != nil && !errors.As(err, &pe) {
				return nil, err // the reader's own failure: a cap, the body limit, a broken connection
			}
			if err != nil {
				return nil, &ValidationError{Problems: []FieldError{{"file", "not valid CSV: " + pe.Err.Error() + fmt.Sprintf(" (line %d)", pe.Line)}}}
			}
			if len(records) >= maxImportRows+1 {
				return nil, errTooManyRows
			}
			if err := checkRecord(rec, len(records)+1); err != nil {
				return nil, err
			}
			records = append(records, compact(rec))
		}
	case "xlsx":
		var err error
		if records, err = readWorkbook(r); err != nil {
			return nil, err
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
				if v := strings.TrimSpace(rec[col-1]); v != "" {
					row.Values[name] = v // absent means empty: less memory on sparse rows
					empty = false
				}
			}
		}
		if !empty {
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// compact drops a record's trailing empty cells (spreadsheets pad rows to the widest one).
func compact(rec []string) []string {
	for len(rec) > 0 && rec[len(rec)-1] == "" {
		rec = rec[:len(rec)-1]
	}
	return rec
}

// checkWorkbookParts refuses a workbook before excelize opens it when its parts unzip beyond
// the limit (by their declared sizes, which the zip reader holds them to) or its shared-string
// table has more entries than maxImportSharedStrings (counted by scanning the table's bytes,
// which is fast, rather than parsing it).
func checkWorkbookParts(body []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return &ValidationError{Problems: []FieldError{{"file", "not a valid XLSX workbook"}}}
	}
	var total uint64
	var sst *zip.File
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if strings.EqualFold(f.Name, "xl/sharedStrings.xml") {
			sst = f
		}
	}
	if total > maxImportUnzipped {
		return &LimitError{Field: "file", Reason: fmt.Sprintf("the workbook unzips to more than %d bytes", maxImportUnzipped), TooLarge: true}
	}
	if sst == nil {
		return nil
	}
	rc, err := sst.Open()
	if err != nil {
		return &ValidationError{Problems: []FieldError{{"file", "not a valid XLSX workbook"}}}
	}
	defer rc.Close()
	n, err := countSharedStrings(rc)
	if err != nil {
		return &ValidationError{Problems: []FieldError{{"file", "not a valid XLSX workbook"}}}
	}
	if n > maxImportSharedStrings {
		return &LimitError{Field: "file", Reason: fmt.Sprintf("the workbook's shared-string table has more than %d entries", maxImportSharedStrings), TooLarge: true}
	}
	return nil
}

// countSharedStrings counts the entries of a shared-string table by their closing tags ("</si>",
// "</x:si>") and empty ones ("<si/>"); a prefixed opening tag counts too, which only errs on the
// side of refusing.
func countSharedStrings(r io.Reader) (int, error) {
	buf := make([]byte, 64<<10)
	n, carry := 0, 0
	for {
		m, err := io.ReadFull(r, buf[carry:])
		m += carry
		chunk := buf[:m]
		n += bytes.Count(chunk, []byte("/si>")) + bytes.Count(chunk, []byte(":si>")) + bytes.Count(chunk, []byte("<si/>"))
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		// Keep the last 4 bytes so that a tag across two reads is counted once: they cannot
		// hold a whole match, so nothing is counted twice.
		carry = copy(buf, chunk[m-4:])
	}
}

// readWorkbook streams the first sheet of an XLSX workbook, with the unzip caps set so that a
// zip bomb is refused before it is expanded and large parts go to temporary files.
func readWorkbook(r io.Reader) ([][]string, error) {
	// excelize reads the whole file first anyway; reading it here keeps a failure of r itself
	// (the body limit, a client gone) apart from a broken workbook.
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if err := checkWorkbookParts(body); err != nil {
		return nil, err
	}
	f, err := excelize.OpenReader(bytes.NewReader(body), excelize.Options{UnzipSizeLimit: maxImportUnzipped, UnzipXMLSizeLimit: maxImportXMLInMemory})
	if err != nil {
		if strings.Contains(err.Error(), "unzip size") {
			return nil, &LimitError{Field: "file", Reason: fmt.Sprintf("the workbook unzips to more than %d bytes", maxImportUnzipped), TooLarge: true}
		}
		return nil, &ValidationError{Problems: []FieldError{{"file", "not a valid XLSX workbook"}}}
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, &ValidationError{Problems: []FieldError{{"file", "the workbook has no sheet"}}}
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return nil, &ValidationError{Problems: []FieldError{{"file", "cannot read the first sheet"}}}
	}
	defer rows.Close()
	var records [][]string
	for rows.Next() {
		if len(records) >= maxImportRows+1 {
			return nil, errTooManyRows
		}
		rec, err := rows.Columns()
		if err != nil {
			return nil, &ValidationError{Problems: []FieldError{{"file", fmt.Sprintf("cannot read row %d of the first sheet", len(records)+1)}}}
		}
		if err := checkRecord(rec, len(records)+1); err != nil {
			return nil, err
		}
		records = append(records, compact(rec))
	}
	if err := rows.Error(); err != nil {
		return nil, &ValidationError{Problems: []FieldError{{"file", "cannot read the first sheet"}}}
	}
	return records, nil
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

// AuthorizeImport tells whether p may import answers into the round now, without reading any
// file: callers check it before they parse an upload, so that nobody without the right can make
// the service read one.
func (s *Service) AuthorizeImport(ctx context.Context, p auth.Principal, roundID string) error {
	_, err := s.importTarget(ctx, p, roundID)
	return err
}

func (s *Service) importTarget(ctx context.Context, p auth.Principal, roundID string) (*Round, error) {
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
	return r, nil
}

// ImportAnswers writes past answers into a round, for back-filling earlier years. Every row is
// validated first, against the instrument, the round's countries and skip logic, and nothing is
// written when any row is invalid. Then each sheet, in country order, gets one log entry holding
// all its changed answers; answers already as imported are skipped, so importing the same file
// twice writes nothing the second time, and an import that failed part-way completes when run
// again.
//
// progress, when not nil, is told how many sheets are written out of how many, as they are.
func (s *Service) ImportAnswers(ctx context.Context, p auth.Principal, roundID string, rows []ImportRow, progress func(done, total int)) (*ImportResult, error) {
	r, err := s.importTarget(ctx, p, roundID)
	if err != nil {
		return nil, err
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
	// Sheets are written one after the other, in country order, so that a failure part-way
	// (the store gone, the process killed) leaves the first sheets imported and the rest as
	// they were; running the same import again skips what is there and completes it.
	for i, country := range countries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		_, err := s.sheets.UpdateSheet(ctx, r.ID, country, func(sh *Sheet) (*Change, error) {
			change := &Change{Action: "answers.import"}
			for _, code := range sortedCodes(byCountry[country]) {
				in := byCountry[country][code].input
				next := Answer{Indicator: code, Option: in.Option, Value: in.Value, Text: in.Text,
					NotApplicable: in.NotApplicable, NAReason: in.NAReason, Comment: in.Comment, Sources: in.Sources}
				if cur := sh.Answer(code); cur != nil {
					if importUnchanged(cur, &next) {
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
			if !importable(sh.Status) {
				return nil, fmt.Errorf("sheet %s became %s during the import; in review, answers change only by revision, with a reason: %w", sh.ID(), sh.Status, ErrNotEditable)
			}
			// Validation refused every answer that does not apply, but for those marked not
			// applicable; those are kept, flagged, like answers a later change excludes.
			change.Answers, _ = flagApplicability(inst, sh, change.Answers)
			if sh.Status == SheetNotStarted {
				change.Status = SheetInProgress
			}
			return change, nil
		})
		if err != nil {
			return nil, err
		}
		if progress != nil {
			progress(i+1, len(countries))
		}
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

// importable tells whether an import may write to a sheet in this status: before its first
// submission only. Afterwards its answers belong to the review workflow.
func importable(st SheetStatus) bool { return st == SheetNotStarted || st == SheetInProgress }

// importUnchanged tells whether an imported answer is what the sheet holds already.
func importUnchanged(cur, next *Answer) bool {
	return !cur.Carried && cur.Content().Equal(next.Content()) && cur.NAReason == next.NAReason &&
		cur.Comment == next.Comment && sameSources(cur.Sources, next.Sources)
}

// importSheetProblems checks one sheet's imported answers together: each must apply given the
// sheet's answers after the import, and the sheet must not be locked.
func importSheetProblems(inst *questionnaire.Compiled, sh *Sheet, imported map[string]*importedAnswer) []FieldError {
	var problems []FieldError
	if !importable(sh.Status) {
		// Re-importing what a sheet in review already holds is fine (it writes nothing); a change
		// would bypass the review, whose revisions need a reason for each answer.
		for _, code := range sortedCodes(imported) {
			in := imported[code].input
			next := Answer{Indicator: code, Option: in.Option, Value: in.Value, Text: in.Text,
				NotApplicable: in.NotApplicable, NAReason: in.NAReason, Comment: in.Comment, Sources: in.Sources}
			if cur := sh.Answer(code); cur == nil || !importUnchanged(cur, &next) {
				problems = append(problems, FieldError{fmt.Sprintf("row %d: country", imported[code].line),
					fmt.Sprintf("sheet %s is %s: in review, answers change only by revision through the API, with a reason", sh.ID(), sh.Status)})
			}
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

package export

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"
)

// cell is one value of a row. Flat formats write text or number; JSON
// formats write structured when set (sources as an array of objects,
// say), else the text, number or boolean as such.
type cell struct {
	kind       cellKind
	text       string
	number     float64
	structured any
}

type cellKind uint8

const (
	empty cellKind = iota
	textCell
	numberCell
	boolCell
)

func text(s string) cell {
	if s == "" {
		return cell{}
	}
	return cell{kind: textCell, text: s}
}

func number(f float64) cell { return cell{kind: numberCell, number: f} }

func optNumber(f *float64) cell {
	if f == nil {
		return cell{}
	}
	return number(*f)
}

func boolean(b bool) cell {
	c := cell{kind: boolCell}
	if b {
		c.number = 1
	}
	return c
}

// table writes rows of cells under a header in one format.
type table interface {
	header(columns []string) error
	row(cells []cell) error
	// close completes the file when ok, and releases what the table holds
	// in every case.
	close(ok bool) error
}

func newTable(w io.Writer, f Format, sheet string) (table, error) {
	switch f {
	case CSV:
		return &csvTable{w: csv.NewWriter(w)}, nil
	case XLSX:
		return newXLSXTable(w, sheet)
	case JSON, NDJSON:
		return &jsonTable{w: bufio.NewWriterSize(w, 64<<10), array: f == JSON}, nil
	}
	return nil, fmt.Errorf("%w: unknown format %q (want csv, xlsx, json or ndjson)", ErrInvalid, f)
}

// escapeFormula defuses a text cell that a spreadsheet would read as a
// formula (OWASP's CSV injection rule): a text beginning with =, +, -, @,
// a tab or a carriage return gets a leading apostrophe. Numbers are
// written as numbers and never pass here, so -5 stays a number.
func escapeFormula(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// formatNumber writes the shortest decimal that reads back as f, never in
// exponent notation, so every spreadsheet and statistics package reads it.
func formatNumber(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

type csvTable struct {
	w      *csv.Writer
	record []string
	rows   int
}

// header escapes like any text: column names come from questionnaire
// codes, which are not checked against formulas.
func (t *csvTable) header(columns []string) error {
	escaped := make([]string, len(columns))
	for i, c := range columns {
		escaped[i] = escapeFormula(c)
	}
	return t.w.Write(escaped)
}

func (t *csvTable) row(cells []cell) error {
	t.record = t.record[:0]
	for _, c := range cells {
		switch c.kind {
		case empty:
			t.record = append(t.record, "")
		case textCell:
			t.record = append(t.record, escapeFormula(c.text))
		case numberCell:
			t.record = append(t.record, formatNumber(c.number))
		case boolCell:
			t.record = append(t.record, strconv.FormatBool(c.number != 0))
		}
	}
	if err := t.w.Write(t.record); err != nil {
		return err
	}
	// csv.Writer buffers 4 kB; flushing now and then surfaces a broken
	// connection early instead of at the end of a long export.
	if t.rows++; t.rows%1024 == 0 {
		t.w.Flush()
		return t.w.Error()
	}
	return nil
}

func (t *csvTable) close(bool) error {
	t.w.Flush()
	return t.w.Error()
}

// maxCellChars is XLSX's limit on a cell's text, in UTF-16 code units.
const maxCellChars = 32767

const truncatedMark = " [truncated: the JSON export has the full text]"

type xlsxTable struct {
	out    io.Writer
	f      *excelize.File
	sw     *excelize.StreamWriter
	bold   int
	values []any
	row1   int
}

func newXLSXTable(w io.Writer, sheet string) (*xlsxTable, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName(f.GetSheetName(0), sheet); err != nil {
		f.Close()
		return nil, err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		f.Close()
		return nil, err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &xlsxTable{out: w, f: f, sw: sw, bold: bold}, nil
}

func (t *xlsxTable) header(columns []string) error {
	if err := t.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	values := make([]any, len(columns))
	for i, c := range columns {
		values[i] = excelize.Cell{StyleID: t.bold, Value: escapeFormula(c)}
	}
	t.row1 = 1
	return t.sw.SetRow("A1", values)
}

func (t *xlsxTable) row(cells []cell) error {
	t.values = t.values[:0]
	for _, c := range cells {
		switch c.kind {
		case empty:
			t.values = append(t.values, nil)
		case textCell:
			t.values = append(t.values, clip(escapeFormula(c.text)))
		case numberCell:
			t.values = append(t.values, c.number)
		case boolCell:
			t.values = append(t.values, c.number != 0)
		}
	}
	t.row1++
	if t.row1 > excelize.TotalRows {
		return fmt.Errorf("%w: more than %d rows, the most an XLSX sheet holds: export CSV or JSON", ErrInvalid, excelize.TotalRows)
	}
	cellName, err := excelize.CoordinatesToCellName(1, t.row1)
	if err != nil {
		return err
	}
	return t.sw.SetRow(cellName, t.values)
}

// clip cuts a text to what an XLSX cell holds, visibly: excelize would cut
// it silently.
func clip(s string) string {
	if len(s) <= maxCellChars/3 {
		return s // at most 3 bytes per UTF-16 unit: cannot be too long
	}
	units := 0
	limit := maxCellChars - len(truncatedMark)
	for i, r := range s {
		units += utf16.RuneLen(r)
		if units > limit {
			return s[:i] + truncatedMark
		}
	}
	return s
}

func (t *xlsxTable) close(ok bool) error {
	var err error
	if ok {
		if err = t.sw.Flush(); err == nil {
			_, err = t.f.WriteTo(t.out)
		}
	}
	// Close removes the stream writer's temporary file.
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	return err
}

type jsonTable struct {
	w       *bufio.Writer
	array   bool
	keys    [][]byte // the encoded column names, with their colon
	rows    int
	scratch []byte
}

func (t *jsonTable) header(columns []string) error {
	t.keys = make([][]byte, len(columns))
	for i, c := range columns {
		k, err := json.Marshal(c)
		if err != nil {
			return err
		}
		t.keys[i] = append(k, ':')
	}
	if t.array {
		_, err := t.w.WriteString("[")
		return err
	}
	return nil
}

func (t *jsonTable) row(cells []cell) error {
	b := t.scratch[:0]
	if t.array && t.rows > 0 {
		b = append(b, ",\n"...)
	} else if t.array {
		b = append(b, '\n')
	}
	b = append(b, '{')
	for i, c := range cells {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, t.keys[i]...)
		var err error
		if b, err = appendJSON(b, c); err != nil {
			return err
		}
	}
	b = append(b, '}')
	if !t.array {
		b = append(b, '\n')
	}
	t.rows++
	t.scratch = b
	_, err := t.w.Write(b)
	return err
}

func appendJSON(b []byte, c cell) ([]byte, error) {
	if c.structured != nil {
		v, err := json.Marshal(c.structured)
		return append(b, v...), err
	}
	switch c.kind {
	case textCell:
		v, err := json.Marshal(c.text)
		return append(b, v...), err
	case numberCell:
		if math.IsNaN(c.number) || math.IsInf(c.number, 0) {
			return append(b, "null"...), nil
		}
		return strconv.AppendFloat(b, c.number, 'f', -1, 64), nil
	case boolCell:
		return strconv.AppendBool(b, c.number != 0), nil
	}
	return append(b, "null"...), nil
}

func (t *jsonTable) close(ok bool) error {
	if ok && t.array {
		if t.rows > 0 {
			t.w.WriteString("\n")
		}
		t.w.WriteString("]\n")
	}
	return t.w.Flush()
}

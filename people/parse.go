// Package people sets up users and their assignments at scale: a roster file (CSV or XLSX) that
// is validated as a whole and imported idempotently, and the copy of one round's assignments
// into the next. It orchestrates auth.Service; every write goes through it, with its checks and
// its audit events.
package people

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Columns are the columns of a roster file, named in its header row in any order.
var Columns = []string{"email", "name", "role", "round", "countries"}

// MaxRows bounds one roster; a V-Dem-sized index has a few thousand experts.
const MaxRows = 20000

// Row is one row of a roster: a person, and optionally one role in one round for some of its
// countries. A person with several roles or rounds takes several rows.
type Row struct {
	Line      int // the row number in the file, the header being 1
	Email     string
	Name      string
	Role      string
	Round     string
	Countries string
}

// ErrInvalid: the roster was refused; an *Error lists every problem.
var ErrInvalid = errors.New("people: invalid roster")

// Problem is one problem of a roster, at a row and column. Row 0 is the file as a whole.
type Problem struct {
	Row     int
	Column  string
	Message string
}

// Error lists every problem found in a roster, so that one round of corrections fixes them all.
// Nothing is written when a roster has problems.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	parts := make([]string, 0, min(len(e.Problems), 5))
	for _, p := range e.Problems[:min(len(e.Problems), 5)] {
		parts = append(parts, fmt.Sprintf("row %d, %s: %s", p.Row, p.Column, p.Message))
	}
	more := ""
	if len(e.Problems) > 5 {
		more = fmt.Sprintf(" (and %d more)", len(e.Problems)-5)
	}
	return fmt.Sprintf("people: %d problem(s) in the roster: %s%s", len(e.Problems), strings.Join(parts, "; "), more)
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

func fileProblem(msg string) *Error {
	return &Error{Problems: []Problem{{Column: "file", Message: msg}}}
}

// Parse reads a roster from CSV (UTF-8, comma-separated, an optional byte order mark) or XLSX
// (the first sheet). CSV is read as a stream; an XLSX workbook is a zip archive, which must be
// read whole. Empty rows are skipped. Header problems (a missing or unknown column) are
// reported together.
func Parse(r io.Reader, format string) ([]Row, error) {
	var next func() ([]string, error)
	switch format {
	case "csv":
		cr := csv.NewReader(r)
		cr.FieldsPerRecord = -1
		next = cr.Read
	case "xlsx":
		f, err := excelize.OpenReader(r)
		if err != nil {
			return nil, fileProblem("not a valid XLSX workbook: " + err.Error())
		}
		defer f.Close()
		sheets := f.GetSheetList()
		if len(sheets) == 0 {
			return nil, fileProblem("the workbook has no sheet")
		}
		rows, err := f.Rows(sheets[0])
		if err != nil {
			return nil, fileProblem("cannot read the first sheet: " + err.Error())
		}
		defer rows.Close()
		next = func() ([]string, error) {
			if !rows.Next() {
				if err := rows.Error(); err != nil {
					return nil, formatError{err}
				}
				return nil, io.EOF
			}
			cols, err := rows.Columns()
			if err != nil {
				return nil, formatError{err}
			}
			return cols, nil
		}
	default:
		return nil, &Error{Problems: []Problem{{Column: "format", Message: "must be csv or xlsx"}}}
	}
	header, err := next()
	if errors.Is(err, io.EOF) {
		return nil, fileProblem("the file is empty; the first row names the columns " + strings.Join(Columns, ", "))
	}
	if badFormat(err) {
		return nil, fileProblem("unreadable: " + err.Error())
	}
	if err != nil {
		return nil, fmt.Errorf("people: read the roster: %w", err)
	}
	index, err := columnIndex(header)
	if err != nil {
		return nil, err
	}
	var out []Row
	for line := 2; ; line++ {
		rec, err := next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if badFormat(err) {
			return nil, &Error{Problems: []Problem{{Row: line, Column: "file", Message: "unreadable: " + err.Error()}}}
		}
		if err != nil {
			// The reader failed (the upload was cut off or is over its limit): not the file's fault.
			return nil, fmt.Errorf("people: read the roster: %w", err)
		}
		cell := func(col string) string {
			if i := index[col]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		row := Row{Line: line, Email: cell("email"), Name: cell("name"), Role: cell("role"), Round: cell("round"), Countries: cell("countries")}
		if row == (Row{Line: line}) {
			continue
		}
		if len(out) == MaxRows {
			return nil, fileProblem(fmt.Sprintf("at most %d rows per roster; split the file", MaxRows))
		}
		out = append(out, row)
	}
}

func columnIndex(header []string) (map[string]int, error) {
	index := map[string]int{}
	var problems []Problem
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch {
		case name == "":
			continue
		case !slices.Contains(Columns, name):
			problems = append(problems, Problem{Row: 1, Column: h, Message: "unknown column; the columns are " + strings.Join(Columns, ", ")})
		case has(index, name):
			problems = append(problems, Problem{Row: 1, Column: name, Message: "named twice"})
		default:
			index[name] = i
		}
	}
	for _, c := range []string{"email", "name"} {
		if _, ok := index[c]; !ok {
			problems = append(problems, Problem{Row: 1, Column: c, Message: "missing: the header row must name it"})
		}
	}
	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	for _, c := range Columns {
		if _, ok := index[c]; !ok {
			index[c] = len(header) // absent optional column: every cell empty
		}
	}
	return index, nil
}

func has(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

// formatError is a workbook that cannot be read as one.
type formatError struct{ error }

func (e formatError) Unwrap() error { return e.error }

// badFormat tells a file that is not what it claims from a reader that failed.
func badFormat(err error) bool {
	var perr *csv.ParseError
	var ferr formatError
	return errors.As(err, &perr) || errors.As(err, &ferr)
}

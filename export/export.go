// Package export writes researchers' exports of frozen rounds: the long
// format (one row per country and indicator), the wide format (one row per
// country, a column per indicator, node and variant), the codebook of a
// questionnaire version and the comparison of two rounds, as CSV, XLSX,
// JSON or NDJSON. docs/exports.md documents every column.
//
// Exports are streamed: a round's snapshots come from an iterator, one
// country at a time, and each row is written as soon as it is built, so
// memory stays flat however many countries a round or a series of rounds
// holds. The package is pure: it reads snapshots and definitions and writes
// to an io.Writer; fetching snapshots from the store and sending the bytes
// over HTTP are the caller's.
package export

import (
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/snapshot"
)

// ErrInvalid marks an export that cannot be written as asked: an unknown
// format, or a questionnaire whose codes would make two columns alike.
var ErrInvalid = errors.New("export: invalid")

// Format is a file format.
type Format string

// Formats.
const (
	// CSV is RFC 4180 with a header row, UTF-8 without a byte order mark.
	CSV Format = "csv"
	// XLSX is one worksheet written with excelize's stream writer.
	XLSX Format = "xlsx"
	// JSON is one array of row objects, written row by row.
	JSON Format = "json"
	// NDJSON is one row object per line.
	NDJSON Format = "ndjson"
)

// Formats lists every format, for flags and query parameters.
var Formats = []Format{CSV, XLSX, JSON, NDJSON}

// ContentType is the media type of a format, for HTTP responses.
func (f Format) ContentType() string {
	switch f {
	case CSV:
		return "text/csv; charset=utf-8"
	case XLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case JSON:
		return "application/json"
	case NDJSON:
		return "application/x-ndjson"
	}
	return "application/octet-stream"
}

// Round is one round to export: the questionnaire version its snapshots
// were scored with, and its snapshots.
type Round struct {
	Definition *questionnaire.Definition
	// Sheets yields the round's snapshots one at a time, in the order the
	// rows should appear (usually by country code); an error stops the
	// export and is returned. The export keeps no snapshot after the next
	// one is asked for, so an iterator reading each from the store keeps
	// one country in memory. A snapshot need not be hashed: live,
	// provisional scores export the same way from snapshot.Build's output.
	Sheets iter.Seq2[*snapshot.Snapshot, error]
}

// Instrument is one questionnaire version for the codebook.
type Instrument struct {
	Version    string
	Definition *questionnaire.Definition
}

// Long writes the long format of rounds (a round series when several):
// one row per country and indicator, in the order of each round's
// snapshots and of the questionnaire's tree.
func Long(w io.Writer, f Format, rounds ...Round) error {
	if err := checkRounds(rounds); err != nil {
		return err
	}
	t, err := newTable(w, f, "long")
	if err != nil {
		return err
	}
	return finish(t, writeLong(t, rounds))
}

// Wide writes the wide format of rounds: one row per round and country, a
// column per indicator answer, per node score and per variant score. A
// series of rounds over several questionnaire versions gets the union of
// their columns, matched by code; a round lacking a node leaves its cells
// empty.
func Wide(w io.Writer, f Format, rounds ...Round) error {
	if err := checkRounds(rounds); err != nil {
		return err
	}
	t, err := newTable(w, f, "wide")
	if err != nil {
		return err
	}
	return finish(t, writeWide(t, rounds))
}

// Codebook writes the codebook of one or several questionnaire versions:
// a row per group, indicator, option and variant, with every text in every
// language and every scoring and aggregation rule.
func Codebook(w io.Writer, f Format, instruments ...Instrument) error {
	t, err := newTable(w, f, "codebook")
	if err != nil {
		return err
	}
	return finish(t, writeCodebook(t, instruments))
}

// checkRounds refuses a round without its questionnaire, whose rows
// would silently be missing.
func checkRounds(rounds []Round) error {
	for i, r := range rounds {
		if r.Definition == nil || r.Sheets == nil {
			return fmt.Errorf("%w: round %d has no questionnaire definition or no snapshots", ErrInvalid, i)
		}
	}
	return nil
}

// finish closes t whatever happened, so that temporary files go away, and
// reports the first error.
func finish(t table, err error) error {
	if cerr := t.close(err == nil); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/export"
	"github.com/expertsurvey/expertsurvey/round"
	"github.com/expertsurvey/expertsurvey/snapshot"
)

// Shape is the layout of an export (docs/exports.md).
type Shape string

// Shapes.
const (
	ShapeLong     Shape = "long"
	ShapeWide     Shape = "wide"
	ShapeCodebook Shape = "codebook"
)

// ErrInvalidExport refuses an unknown format or shape.
var ErrInvalidExport = errors.New("invalid export")

// ExportRequest names what to export.
type ExportRequest struct {
	Round  string
	Format export.Format
	Shape  Shape
	// Series exports Round with the published rounds of its questionnaire code that precede it
	// (by reference date, then id): a time series in one file, Round last.
	Series bool
}

func (in ExportRequest) check() error {
	if !slices.Contains(export.Formats, in.Format) {
		return fmt.Errorf("%w: format %q: one of csv, xlsx, json, ndjson", ErrInvalidExport, in.Format)
	}
	if in.Shape != ShapeLong && in.Shape != ShapeWide && in.Shape != ShapeCodebook {
		return fmt.Errorf("%w: shape %q: one of long, wide, codebook", ErrInvalidExport, in.Shape)
	}
	return nil
}

// Export is an export ready to stream: Provisional says whether it holds live (unfrozen)
// figures, which a coordinator's export of an unpublished round does.
type Export struct {
	Round       *round.Round
	Provisional bool
	write       func(io.Writer) error
}

// Write streams the export into w. An error after the first bytes leaves w incomplete.
func (e *Export) Write(w io.Writer) error { return e.write(w) }

// PrepareExport checks the request and the caller: the round's coordinators export any round
// (an unpublished one from its sheets as they stand, provisional: locked sheets from their
// snapshots, the others scored live), everyone else (p nil) published rounds only, from
// snapshots.
func (s *Service) PrepareExport(ctx context.Context, p *auth.Principal, in ExportRequest) (*Export, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	var r *round.Round
	var err error
	if p == nil {
		r, err = s.PublicRound(ctx, in.Round)
	} else {
		if err = p.Can(auth.ManageRound, auth.Scope{Round: in.Round}); err != nil {
			return nil, err
		}
		r, err = s.roundStore.Round(ctx, in.Round)
	}
	if err != nil {
		return nil, err
	}
	series := []*round.Round{r}
	if in.Series {
		if series, err = s.seriesUpTo(ctx, r); err != nil {
			return nil, err
		}
	}
	e := &Export{Round: r, Provisional: r.Status != round.StatusPublished && in.Shape != ShapeCodebook}
	var rounds []export.Round
	var instruments []export.Instrument
	for _, sr := range series {
		def, _, err := s.instruments.Published(ctx, sr.Questionnaire, sr.QuestionnaireVer)
		if err != nil {
			return nil, err
		}
		rounds = append(rounds, export.Round{Definition: def, Sheets: s.exportSheets(ctx, sr)})
		if !slices.ContainsFunc(instruments, func(i export.Instrument) bool { return i.Version == sr.QuestionnaireVer }) {
			instruments = append(instruments, export.Instrument{Version: sr.QuestionnaireVer, Definition: def})
		}
	}
	if p != nil {
		if err := s.recordExport(ctx, series, in, e.Provisional); err != nil {
			return nil, err
		}
	}
	switch in.Shape {
	case ShapeLong:
		e.write = func(w io.Writer) error { return export.Long(w, in.Format, rounds...) }
	case ShapeWide:
		e.write = func(w io.Writer) error { return export.Wide(w, in.Format, rounds...) }
	case ShapeCodebook:
		e.write = func(w io.Writer) error { return export.Codebook(w, in.Format, instruments...) }
	}
	return e, nil
}

// seriesUpTo is r preceded by the published rounds of its questionnaire code that come before
// it, by reference date and then id. They are published, so whoever may export r may export
// them: the public reads them anyway.
func (s *Service) seriesUpTo(ctx context.Context, r *round.Round) ([]*round.Round, error) {
	published, err := s.PublicRounds(ctx)
	if err != nil {
		return nil, err
	}
	before := func(a, b *round.Round) bool {
		return a.ReferenceDate < b.ReferenceDate || a.ReferenceDate == b.ReferenceDate && a.ID < b.ID
	}
	var out []*round.Round
	for i := range published {
		if pr := &published[i]; pr.Questionnaire == r.Questionnaire && pr.ID != r.ID && before(pr, r) {
			out = append(out, pr)
		}
	}
	slices.SortFunc(out, func(a, b *round.Round) int {
		if before(a, b) {
			return -1
		}
		return 1
	})
	return append(out, r), nil
}

// exportSheets yields the row source of every country of r that has one, by country code:
// excluded countries of a published round are left out.
func (s *Service) exportSheets(ctx context.Context, r *round.Round) iter.Seq2[*snapshot.Snapshot, error] {
	published := r.Status == round.StatusPublished
	countries := slices.Sorted(slices.Values(r.Countries))
	return func(yield func(*snapshot.Snapshot, error) bool) {
		for _, c := range countries {
			if published && r.IsExcluded(c) {
				continue
			}
			snap, err := s.exportSnapshot(ctx, r, c, published)
			if snap == nil && err == nil {
				continue
			}
			if !yield(snap, err) || err != nil {
				return
			}
		}
	}
}

// exportSnapshot is one country's row source: its latest snapshot when the sheet is locked
// (always, in a published round), otherwise its answers as they stand, scored live and not
// hashed; nil for a sheet nobody wrote to.
func (s *Service) exportSnapshot(ctx context.Context, r *round.Round, country string, published bool) (*snapshot.Snapshot, error) {
	_, inst, sh, err := s.sheetAndRound(ctx, r.ID, country)
	if err != nil || sh == nil {
		return nil, err
	}
	if sh.Status == round.SheetLocked || (published && round.Revision(sh) > 0) {
		return s.revisionOf(ctx, r.ID, country, sh, 0) // the sheet as just read: no second read
	}
	return Live(r, inst, sh)
}

// exportAudit is what the audit trail records of an export: which round (and, for a series,
// which rounds), in what form, and whether its figures were provisional (live) or published.
type exportAudit struct {
	Round       string   `json:"round"`
	Status      string   `json:"status"`
	Format      string   `json:"format"`
	Shape       string   `json:"shape"`
	Provisional bool     `json:"provisional"`
	Series      []string `json:"series,omitempty"`
}

// recordExport audits an export by someone signed in (the API's coordinators, the CLI as the
// system actor) before its first byte is written: no data leaves without its record, and an
// export whose record cannot be written is refused. Public downloads of published rounds are
// not recorded: they are anonymous, hold only what is published, and a write per anonymous
// request would let anyone fill the audit trail. series is the rounds exported, the requested
// one last.
func (s *Service) recordExport(ctx context.Context, series []*round.Round, in ExportRequest, provisional bool) error {
	r := series[len(series)-1]
	rec := exportAudit{Round: r.ID, Status: string(r.Status), Format: string(in.Format), Shape: string(in.Shape), Provisional: provisional}
	if in.Series {
		for _, sr := range series {
			rec.Series = append(rec.Series, sr.ID)
		}
	}
	ev, err := audit.New(ctx, "round.export", "export/"+r.ID, nil, rec, s.now())
	if err != nil {
		return err
	}
	return s.store.RecordExport(ctx, r.ID, ev)
}

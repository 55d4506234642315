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
	def, _, err := s.instruments.Published(ctx, r.Questionnaire, r.QuestionnaireVer)
	if err != nil {
		return nil, err
	}
	published := r.Status == round.StatusPublished
	e := &Export{Round: r, Provisional: !published && in.Shape != ShapeCodebook}
	if p != nil {
		if err := s.recordExport(ctx, r, in, e.Provisional); err != nil {
			return nil, err
		}
	}
	countries := slices.Sorted(slices.Values(r.Countries))
	sheets := func(yield func(*snapshot.Snapshot, error) bool) {
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
	rounds := export.Round{Definition: def, Sheets: iter.Seq2[*snapshot.Snapshot, error](sheets)}
	switch in.Shape {
	case ShapeLong:
		e.write = func(w io.Writer) error { return export.Long(w, in.Format, rounds) }
	case ShapeWide:
		e.write = func(w io.Writer) error { return export.Wide(w, in.Format, rounds) }
	case ShapeCodebook:
		e.write = func(w io.Writer) error {
			return export.Codebook(w, in.Format, export.Instrument{Version: r.QuestionnaireVer, Definition: def})
		}
	}
	return e, nil
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

// exportAudit is what the audit trail records of an export: which round, in what form, and
// whether its figures were provisional (live) or published.
type exportAudit struct {
	Round       string `json:"round"`
	Status      string `json:"status"`
	Format      string `json:"format"`
	Shape       string `json:"shape"`
	Provisional bool   `json:"provisional"`
}

// recordExport audits an export by someone signed in (the API's coordinators, the CLI as the
// system actor) before its first byte is written: no data leaves without its record, and an
// export whose record cannot be written is refused. Public downloads of published rounds are
// not recorded: they are anonymous, hold only what is published, and a write per anonymous
// request would let anyone fill the audit trail.
func (s *Service) recordExport(ctx context.Context, r *round.Round, in ExportRequest, provisional bool) error {
	ev, err := audit.New(ctx, "round.export", "export/"+r.ID, nil,
		exportAudit{Round: r.ID, Status: string(r.Status), Format: string(in.Format), Shape: string(in.Shape), Provisional: provisional}, s.now())
	if err != nil {
		return err
	}
	return s.store.RecordExport(ctx, r.ID, ev)
}

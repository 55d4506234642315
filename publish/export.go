package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"

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
	e := &Export{Round: r, Provisional: !published}
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
		e.Provisional = false
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
		snap, _, err := s.snapshotOf(ctx, r.ID, country, 0)
		return snap, err
	}
	return Live(r, inst, sh)
}

package round_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/round"
)

// failingSheets is the real store with one fault: writing the named country's sheet fails, as
// a store that goes away mid-import would, until heal is called.
type failingSheets struct {
	round.SheetStore
	country string
	healed  bool
}

var errInjected = errors.New("injected store failure")

func (f *failingSheets) UpdateSheet(ctx context.Context, r, country string, decide func(*round.Sheet) (*round.Change, error)) (*round.Sheet, error) {
	if country == f.country && !f.healed {
		return nil, errInjected
	}
	return f.SheetStore.UpdateSheet(ctx, r, country, decide)
}

// TestImportFailingPartWayIsResumable fails the write of the first sheet (in country order) of
// an import: nothing after it may be written (sheets are written one at a time, in order), and
// running the same import again completes it.
func TestImportFailingPartWayIsResumable(t *testing.T) {
	store := mongodbtest.New(t)
	now := func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	sheets := &failingSheets{SheetStore: store, country: "AT"}
	svc := round.NewService(store, sheets, miniIndex(t), now)
	ctx := audit.WithOrigin(context.Background(), "u_test", "rid")
	r, err := svc.CreateRound(ctx, coordinator, round.RoundInput{ID: "r1", Name: "Round r1", Questionnaire: "mini-index",
		QuestionnaireVer: "1", Countries: []string{"AT", "BE"}, ReferenceDate: "2025"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetStatus(ctx, coordinator, "r1", round.StatusOpen, r.Version); err != nil {
		t.Fatal(err)
	}
	rows, err := round.ParseImport(strings.NewReader("country,indicator,option\nAT,LMM_1,full\nBE,LMM_1,partial\n"), "csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ImportAnswers(ctx, coordinator, "r1", rows, nil); !errors.Is(err, errInjected) {
		t.Fatalf("import with a failing store: %v", err)
	}
	for _, country := range []string{"AT", "BE"} {
		view, err := svc.Sheet(ctx, coordinator, "r1", country)
		if err != nil {
			t.Fatal(err)
		}
		if n := view.Sheet.AnswerCount(); n != 0 {
			t.Errorf("sheet %s has %d answers after the import failed on AT, the first sheet; want 0", country, n)
		}
	}
	sheets.healed = true
	res, err := svc.ImportAnswers(ctx, coordinator, "r1", rows, nil)
	if err != nil || res.Written != 2 || res.Sheets != 2 {
		t.Fatalf("the same import again: %+v %v; want both answers written", res, err)
	}
	res, err = svc.ImportAnswers(ctx, coordinator, "r1", rows, nil)
	if err != nil || res.Written != 0 || res.Unchanged != 2 {
		t.Fatalf("a third time: %+v %v; want nothing written", res, err)
	}
}

func TestAuthorizeImportNeedsTheRoundsCoordinator(t *testing.T) {
	f := newFixture(t)
	f.openRound(t, "r1", "")
	if err := f.svc.AuthorizeImport(f.ctx, coordinator, "r1"); err != nil {
		t.Fatalf("coordinator: %v", err)
	}
	for _, p := range []struct {
		name string
		err  error
	}{{"expert", f.svc.AuthorizeImport(f.ctx, expertAT, "r1")}, {"reviewer", f.svc.AuthorizeImport(f.ctx, reviewer, "r1")}} {
		if !errors.Is(p.err, auth.ErrForbidden) {
			t.Errorf("%s: %v, want forbidden", p.name, p.err)
		}
	}
}

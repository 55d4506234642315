package round_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/review"
	"github.com/expertsurvey/expertsurvey/round"
)

func TestMain(m *testing.M) { mongodbtest.Main(m) }

// published serves the mini index as published version "1"; the questionnaire store has its
// own tests.
type published struct {
	def *questionnaire.Definition
	c   *questionnaire.Compiled
}

func (p published) Published(_ context.Context, code, version string) (*questionnaire.Definition, *questionnaire.Compiled, error) {
	// other-index is the same instrument under another code, for the checks that compare codes.
	if (code != "mini-index" && code != "other-index") || version != "1" {
		return nil, nil, fmt.Errorf("no published version %s %s", code, version)
	}
	return p.def, p.c, nil
}

func miniIndex(t *testing.T) published {
	t.Helper()
	f, err := os.Open("../questionnaire/testdata/mini_index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	def, err := questionnaire.DecodeDefinition(f, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := def.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return published{def, c}
}

var (
	coordinator = auth.Principal{UserID: "u_coord", Assignments: []auth.Assignment{{Role: auth.RoleCoordinator, Round: auth.AllRounds}}}
	expertAT    = auth.Principal{UserID: "u_at", Assignments: []auth.Assignment{
		{Role: auth.RoleExpert, Round: "r1", Country: "AT"}, {Role: auth.RoleExpert, Round: "r2", Country: "AT"}}}
	expertBE = auth.Principal{UserID: "u_be", Assignments: []auth.Assignment{{Role: auth.RoleExpert, Round: "r1", Country: "BE"}}}
	reviewer = auth.Principal{UserID: "u_rev", Assignments: []auth.Assignment{{Role: auth.RoleReviewer, Round: "r1", Country: "AT"}}}
)

type fixture struct {
	svc *round.Service
	ctx context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store := mongodbtest.New(t)
	now := func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	return &fixture{svc: round.NewService(store, store, miniIndex(t), now), ctx: audit.WithOrigin(context.Background(), "u_test", "rid")}
}

func (f *fixture) openRound(t *testing.T, id, previous string) *round.Round {
	t.Helper()
	r, err := f.svc.CreateRound(f.ctx, coordinator, round.RoundInput{ID: id, Name: "Round " + id, Questionnaire: "mini-index",
		QuestionnaireVer: "1", Countries: []string{"AT", "BE"}, Previous: previous, ReferenceDate: "2025"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = f.svc.SetStatus(f.ctx, coordinator, id, round.StatusOpen, r.Version); err != nil {
		t.Fatal(err)
	}
	return r
}

// closeRound closes an open round, so that the next can carry its answers forward.
func (f *fixture) closeRound(t *testing.T, id string) {
	t.Helper()
	r, err := f.svc.Round(f.ctx, coordinator, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetStatus(f.ctx, coordinator, id, round.StatusClosed, r.Version); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

var lawSource = round.Source{Kind: "law", Title: "Aliens Employment Act", Reference: "§ 4", URL: "https://example.org/law", Accessed: "2026-02-01"}

func (f *fixture) save(t *testing.T, p auth.Principal, roundID, country, code string, in round.AnswerInput) *round.Answer {
	t.Helper()
	cur, err := f.svc.Answer(f.ctx, p, roundID, country, code)
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.svc.SaveAnswer(f.ctx, p, roundID, country, code, in, &cur.Version)
	if err != nil {
		t.Fatalf("save %s: %v", code, err)
	}
	return &a.Answer
}

func fields(err error) []string {
	var ve *round.ValidationError
	if errors.As(err, &ve) {
		var out []string
		for _, p := range ve.Problems {
			out = append(out, p.Field)
		}
		return out
	}
	var ie *round.IncompleteError
	if errors.As(err, &ie) {
		var out []string
		for _, p := range ie.Missing {
			out = append(out, p.Field)
		}
		return out
	}
	return nil
}

func TestCreateRoundValidatesEveryField(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.CreateRound(f.ctx, coordinator, round.RoundInput{ID: "Bad Id", Questionnaire: "mini-index", QuestionnaireVer: "9",
		Countries: []string{"AT", "at", "AT"}, AnswersDue: "2026-02-30", ReviewsDue: "x", Previous: "nope", ReviewersPerAnswer: 9, ReferenceDate: "soon"})
	want := []string{"answers_due", "countries[1]", "countries[2]", "id", "name", "reference_date", "reviewers_per_answer", "reviews_due", "questionnaire_version", "previous"}
	got := fields(err)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing problem for %s in %v", w, got)
		}
	}
	if _, err := f.svc.CreateRound(f.ctx, expertAT, round.RoundInput{}); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("expert creating a round: %v", err)
	}
}

func TestSaveAnswerRules(t *testing.T) {
	f := newFixture(t)
	f.openRound(t, "r1", "")
	a := f.save(t, expertAT, "r1", "AT", "LMM_1", round.AnswerInput{Option: "full", Comment: "Equal access since 2011.", Sources: []round.Source{lawSource}})
	if a.Version != 1 || a.UpdatedBy != "u_test" {
		t.Fatalf("first save: %+v", a)
	}
	stale := 0
	_, err := f.svc.SaveAnswer(f.ctx, expertAT, "r1", "AT", "LMM_1", round.AnswerInput{Option: "none"}, &stale)
	var se *round.StaleError
	if !errors.As(err, &se) || se.Current.Version != 1 || se.Current.Option != "full" {
		t.Fatalf("stale write: %v", err)
	}
	if _, err := f.svc.SaveAnswer(f.ctx, expertAT, "r1", "AT", "LMM_1", round.AnswerInput{Option: "none"}, nil); !errors.Is(err, round.ErrPreconditionRequired) {
		t.Fatalf("no If-Match: %v", err)
	}
	zero := 0
	if _, err := f.svc.SaveAnswer(f.ctx, expertBE, "r1", "AT", "LMM_2", round.AnswerInput{Option: "yes"}, &zero); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("expert of another country: %v", err)
	}
	if _, err := f.svc.SaveAnswer(f.ctx, reviewer, "r1", "AT", "LMM_2", round.AnswerInput{Option: "yes"}, &zero); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("reviewer editing: %v", err)
	}
	if _, err := f.svc.SaveAnswer(f.ctx, expertAT, "r1", "AT", "NOPE", round.AnswerInput{Option: "yes"}, &zero); !errors.Is(err, round.ErrNotFound) {
		t.Fatalf("unknown indicator: %v", err)
	}
	tests := []struct {
		name   string
		code   string
		in     round.AnswerInput
		fields []string
	}{
		{"unknown option", "LMM_1", round.AnswerInput{Option: "maybe"}, []string{"option"}},
		{"out of range", "LMM_3", round.AnswerInput{Value: ptr(99.0)}, []string{"value"}},
		{"two values", "LMM_3", round.AnswerInput{Value: ptr(2.0), Option: "x"}, []string{"option"}},
		{"nothing", "LMM_2", round.AnswerInput{Comment: "?"}, []string{"option"}},
		{"na without reason", "LMM_2", round.AnswerInput{NotApplicable: true}, []string{"na_reason"}},
		{"bad source", "LMM_2", round.AnswerInput{Option: "yes", Sources: []round.Source{{Kind: "blog", URL: "ftp://x", TextDate: "2025-13-01", Accessed: "2099-01-01", Language: "English"}}},
			[]string{"sources[0].kind", "sources[0].title", "sources[0].url", "sources[0].text_date", "sources[0].accessed", "sources[0].language"}},
		{"too long", "LMM_2", round.AnswerInput{Option: "yes", Comment: strings.Repeat("x", 20001)}, []string{"comment"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.SaveAnswer(f.ctx, expertAT, "r1", "AT", tt.code, tt.in, &zero)
			got := fields(err)
			for _, w := range tt.fields {
				if !slices.Contains(got, w) {
					t.Fatalf("fields %v lack %s (err %v)", got, w, err)
				}
			}
		})
	}
}

func TestSkipLogicRefusesAndFlags(t *testing.T) {
	f := newFixture(t)
	f.openRound(t, "r1", "")
	f.save(t, expertAT, "r1", "AT", "FR_1", round.AnswerInput{Option: "full"})
	zero := 0
	_, err := f.svc.SaveAnswer(f.ctx, expertAT, "r1", "AT", "FR_3", round.AnswerInput{Option: "yes"}, &zero)
	if !slices.Contains(fields(err), "indicator") {
		t.Fatalf("answer to an indicator that does not apply: %v", err)
	}
	f.save(t, expertAT, "r1", "AT", "FR_1", round.AnswerInput{Option: "none"})
	f.save(t, expertAT, "r1", "AT", "FR_3", round.AnswerInput{Option: "yes"})
	f.save(t, expertAT, "r1", "AT", "FR_1", round.AnswerInput{Option: "partial"})
	fr3, err := f.svc.Answer(f.ctx, expertAT, "r1", "AT", "FR_3")
	if err != nil || !fr3.Inapplicable || fr3.Option != "yes" {
		t.Fatalf("FR_3 after FR_1 changed: %+v %v; want kept and flagged inapplicable", fr3, err)
	}
}

func TestSubmitNeedsEveryApplicableAnswerAndSource(t *testing.T) {
	f := newFixture(t)
	f.openRound(t, "r1", "")
	_, err := f.svc.Submit(f.ctx, expertAT, "r1", "AT")
	got := fields(err)
	if !errors.Is(err, round.ErrIncomplete) || !slices.Contains(got, "answers.LMM_1") || slices.Contains(got, "answers.FR_3") {
		t.Fatalf("empty sheet: %v %v", err, got)
	}
	answers := map[string]round.AnswerInput{
		"LMM_1": {Option: "full"}, "LMM_2": {Option: "yes"}, "LMM_3": {Value: ptr(2.0)}, "LMM_4": {Option: "75"}, "LMM_5": {Option: "keeps"},
		"FR_1": {Option: "full"}, "FR_2": {Option: "no"}, "FR_4": {Option: "no"}, "FR_6": {Value: ptr(1.0)}, "FR_7": {Text: "Notes"},
		"H_1": {Option: "full"}, "H_2": {Option: "yes"}, "H_3": {NotApplicable: true, NAReason: "No such scheme"},
	}
	for code, in := range answers {
		f.save(t, expertAT, "r1", "AT", code, in)
	}
	_, err = f.svc.Submit(f.ctx, expertAT, "r1", "AT")
	if got := fields(err); len(got) != 1 || got[0] != "answers.LMM_1.sources" {
		t.Fatalf("missing source: %v", got)
	}
	f.save(t, expertAT, "r1", "AT", "LMM_1", round.AnswerInput{Option: "full", Sources: []round.Source{lawSource}})
	view, err := f.svc.Submit(f.ctx, expertAT, "r1", "AT")
	if err != nil || view.Sheet.Status != round.SheetSubmitted {
		t.Fatalf("submit: %v", err)
	}
	if view.Progress.Answered != view.Progress.Applicable || view.Progress.WithSources != 1 {
		t.Fatalf("progress %+v", view.Progress)
	}
	v := 2
	if _, err := f.svc.SaveAnswer(f.ctx, expertAT, "r1", "AT", "LMM_1", round.AnswerInput{Option: "none"}, &v); !errors.Is(err, review.ErrInvalidTransition) {
		t.Fatalf("edit after submission: %v", err)
	}
	if _, err := f.svc.Return(f.ctx, coordinator, "r1", "AT", "LMM_1 needs the 2024 amendment"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SaveAnswer(f.ctx, expertAT, "r1", "AT", "LMM_1", round.AnswerInput{Option: "partial", Sources: []round.Source{lawSource}, Reason: "the 2024 amendment"}, &v); err != nil {
		t.Fatalf("edit after return: %v", err)
	}
	_, dash, err := f.svc.Dashboard(f.ctx, coordinator, "r1")
	if err != nil || len(dash) != 2 || dash[0].Country != "AT" || dash[0].Status != round.SheetReturned || dash[1].Status != round.SheetNotStarted {
		t.Fatalf("dashboard %+v %v", dash, err)
	}
	if _, _, err := f.svc.Dashboard(f.ctx, expertAT, "r1"); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("expert reading the dashboard: %v", err)
	}
}

func TestCarryForwardConfirmAndChange(t *testing.T) {
	f := newFixture(t)
	f.openRound(t, "r1", "")
	f.save(t, expertAT, "r1", "AT", "LMM_1", round.AnswerInput{Option: "full", Sources: []round.Source{lawSource}})
	f.save(t, expertAT, "r1", "AT", "LMM_2", round.AnswerInput{Option: "yes"})
	f.save(t, expertAT, "r1", "AT", "LMM_4", round.AnswerInput{Option: "50"})
	f.save(t, expertAT, "r1", "AT", "FR_1", round.AnswerInput{Option: "none"})
	f.closeRound(t, "r1")
	f.openRound(t, "r2", "r1")

	a, err := f.svc.Answer(f.ctx, expertAT, "r2", "AT", "LMM_1")
	if err != nil || !a.Carried || a.Option != "full" || a.Previous == nil || a.Previous.Round != "r1" {
		t.Fatalf("carried answer: %+v %v", a, err)
	}
	// Confirming one answer needs its version.
	if _, _, err := f.svc.Confirm(f.ctx, expertAT, "r2", "AT", "LMM_1", nil); !errors.Is(err, round.ErrPreconditionRequired) {
		t.Fatalf("confirm without If-Match: %v", err)
	}
	if _, done, err := f.svc.Confirm(f.ctx, expertAT, "r2", "AT", "LMM_1", &a.Version); err != nil || len(done) != 1 {
		t.Fatalf("confirm: %v %v", done, err)
	}
	// A change needs a justification and a new source.
	b, _ := f.svc.Answer(f.ctx, expertAT, "r2", "AT", "LMM_2")
	_, err = f.svc.SaveAnswer(f.ctx, expertAT, "r2", "AT", "LMM_2", round.AnswerInput{Option: "no"}, &b.Version)
	if got := fields(err); !slices.Contains(got, "justification") || !slices.Contains(got, "sources") {
		t.Fatalf("change without justification: %v", got)
	}
	newLaw := round.Source{Kind: "law", Title: "Public Service Act 2025", URL: "https://example.org/psa"}
	changed, err := f.svc.SaveAnswer(f.ctx, expertAT, "r2", "AT", "LMM_2", round.AnswerInput{Option: "no", Justification: "Reform of 2025", Sources: []round.Source{newLaw}}, &b.Version)
	if err != nil || !changed.Changed || changed.Carried {
		t.Fatalf("justified change: %+v %v", changed, err)
	}
	// Confirm the rest of an area at once.
	_, done, err := f.svc.Confirm(f.ctx, expertAT, "r2", "AT", "LMM", nil)
	if err != nil || !slices.Equal(done, []string{"LMM_4"}) {
		t.Fatalf("confirm area: %v %v", done, err)
	}
	changes, err := f.svc.ChangesSincePrevious(f.ctx, expertAT, "r2", "AT")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, c := range changes {
		kinds[c.Indicator] = c.Kind
	}
	want := map[string]string{"LMM_1": "unchanged", "LMM_2": "changed", "LMM_4": "unchanged", "FR_1": "carried", "LMM_3": "unanswered"}
	for code, k := range want {
		if kinds[code] != k {
			t.Errorf("%s: %s, want %s", code, kinds[code], k)
		}
	}
	// Opening again carries nothing twice.
	if err := reopenCarry(f); err != nil {
		t.Fatal(err)
	}
	again, _ := f.svc.Answer(f.ctx, expertAT, "r2", "AT", "LMM_2")
	if again.Option != "no" || again.Version != changed.Version {
		t.Fatalf("a second carry overwrote a changed answer: %+v", again)
	}
}

// reopenCarry closes and reopens r2, which runs the carry again.
func reopenCarry(f *fixture) error {
	r, err := f.svc.Round(f.ctx, coordinator, "r2")
	if err != nil {
		return err
	}
	if r, err = f.svc.SetStatus(f.ctx, coordinator, "r2", round.StatusClosed, r.Version); err != nil {
		return err
	}
	_, err = f.svc.SetStatus(f.ctx, coordinator, "r2", round.StatusOpen, r.Version)
	return err
}

func TestHistoryAndDiff(t *testing.T) {
	f := newFixture(t)
	f.openRound(t, "r1", "")
	f.save(t, expertAT, "r1", "AT", "LMM_1", round.AnswerInput{Option: "full"})
	f.save(t, expertAT, "r1", "AT", "LMM_2", round.AnswerInput{Option: "yes"})
	f.save(t, expertAT, "r1", "AT", "LMM_1", round.AnswerInput{Option: "partial", Comment: "Amended", Sources: []round.Source{lawSource}})
	h, next, err := f.svc.History(f.ctx, reviewer, "r1", "AT", "LMM_1", round.VersionCursor{}, 50)
	if err != nil || next != nil || len(h) != 2 || h[1].Answer.Option != "full" || h[0].Answer.Option != "partial" || h[0].Actor != "u_test" {
		t.Fatalf("history %+v %v %v", h, next, err)
	}
	d, err := f.svc.DiffVersions(f.ctx, reviewer, "r1", "AT", "LMM_1", 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, c := range d {
		changed = append(changed, c.Field)
	}
	if !slices.Equal(changed, []string{"option", "comment", "sources[0]"}) {
		t.Fatalf("diff fields %v", changed)
	}
	if _, err := f.svc.DiffVersions(f.ctx, reviewer, "r1", "AT", "LMM_1", 0, 3); !slices.Equal(fields(err), []string{"from", "to"}) {
		t.Fatalf("bad versions: %v", err)
	}
	if _, _, err := f.svc.History(f.ctx, expertBE, "r1", "AT", "LMM_1", round.VersionCursor{}, 50); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("other country's history: %v", err)
	}
}

// TestHistoryPages pages through a long history newest first, one cursor after another, and
// refuses cursors that name no version of the answer (a later version, a position that holds
// another answer) instead of reading whatever the log holds there.
func TestHistoryPages(t *testing.T) {
	f := newFixture(t)
	f.openRound(t, "r1", "")
	for i := 1; i <= 7; i++ {
		f.save(t, expertAT, "r1", "AT", "LMM_1", round.AnswerInput{Option: "full", Comment: fmt.Sprintf("save %d", i)})
		if i == 3 {
			f.save(t, expertAT, "r1", "AT", "LMM_2", round.AnswerInput{Option: "yes"})
		}
	}
	var got []int
	var pages []int
	after := round.VersionCursor{}
	for range 10 {
		h, next, err := f.svc.History(f.ctx, reviewer, "r1", "AT", "LMM_1", after, 3)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(h))
		for _, v := range h {
			if want := fmt.Sprintf("save %d", v.Version); v.Answer.Comment != want {
				t.Fatalf("version %d holds %q, want %q", v.Version, v.Answer.Comment, want)
			}
			got = append(got, v.Version)
		}
		if next == nil {
			break
		}
		back, err := round.ParseVersionCursor(next.String())
		if err != nil || back != *next {
			t.Fatalf("cursor %q reads back as %+v %v", next, back, err)
		}
		after = back
	}
	if !slices.Equal(got, []int{7, 6, 5, 4, 3, 2, 1}) || !slices.Equal(pages, []int{3, 3, 1}) {
		t.Fatalf("versions %v in pages %v, want 7..1 in pages of 3, 3, 1", got, pages)
	}

	head, _, err := f.svc.History(f.ctx, reviewer, "r1", "AT", "LMM_1", round.VersionCursor{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := f.svc.History(f.ctx, reviewer, "r1", "AT", "LMM_2", round.VersionCursor{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	at := head[0].Answer.At
	for name, c := range map[string]round.VersionCursor{
		"a later version":              {Version: 8, At: at},
		"a later position":             {Version: 6, At: at + 5},
		"the newest version elsewhere": {Version: 7, At: at - 1},
		"another answer's entry":       {Version: 3, At: other[0].Answer.At},
	} {
		if _, _, err := f.svc.History(f.ctx, reviewer, "r1", "AT", "LMM_1", c, 3); !slices.Equal(fields(err), []string{"after"}) {
			t.Errorf("%s (%v): %v, want a problem with after", name, c, err)
		}
	}
	for _, text := range []string{"x", "1", "1.", ".5", "0.5", "3.0", "-1.4", "1.2.3"} {
		if _, err := round.ParseVersionCursor(text); !slices.Equal(fields(err), []string{"after"}) {
			t.Errorf("cursor %q: %v, want a problem with after", text, err)
		}
	}
	d, err := f.svc.DiffVersions(f.ctx, reviewer, "r1", "AT", "LMM_1", 2, 5)
	if err != nil || len(d) != 1 || d[0].Before != "save 2" || d[0].After != "save 5" {
		t.Fatalf("diff 2..5: %+v %v", d, err)
	}
}

func TestImportIsAllOrNothingAndIdempotent(t *testing.T) {
	f := newFixture(t)
	f.openRound(t, "r1", "")
	good := "country,indicator,option,value,comment,source_kind,source_title,source_url\n" +
		"AT,LMM_1,full,,Equal,law,Act A,https://example.org/a\n" +
		"AT,LMM_1,,,,regulation,Decree B,https://example.org/b\n" +
		"AT,LMM_3,,4,,,,\n" +
		"BE,LMM_1,partial,,,,,\n"
	bad := good + "BE,LMM_9,x,,,,,\nXX,LMM_1,full,,,,,\nBE,LMM_3,,abc,,,,\nBE,FR_3,yes,,,,,\n"
	rows, err := round.ParseImport(strings.NewReader(bad), "csv")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.ImportAnswers(f.ctx, coordinator, "r1", rows, nil)
	got := fields(err)
	for _, w := range []string{"row 6: indicator", "row 7: country", "row 8: value", "row 9: indicator"} {
		if !slices.Contains(got, w) {
			t.Errorf("problems %v lack %q", got, w)
		}
	}
	if view, _ := f.svc.Sheet(f.ctx, coordinator, "r1", "AT"); view.Sheet.AnswerCount() != 0 {
		t.Fatalf("a refused import wrote %d answers", view.Sheet.AnswerCount())
	}
	rows, _ = round.ParseImport(strings.NewReader(good), "csv")
	res, err := f.svc.ImportAnswers(f.ctx, coordinator, "r1", rows, nil)
	if err != nil || res.Written != 3 || res.Sheets != 2 {
		t.Fatalf("import: %+v %v", res, err)
	}
	a, _ := f.svc.Answer(f.ctx, coordinator, "r1", "AT", "LMM_1")
	if len(a.Sources) != 2 || a.Comment != "Equal" {
		t.Fatalf("imported answer %+v", a)
	}
	res, err = f.svc.ImportAnswers(f.ctx, coordinator, "r1", rows, nil)
	if err != nil || res.Written != 0 || res.Unchanged != 3 {
		t.Fatalf("second import: %+v %v", res, err)
	}
	if _, err := round.ParseImport(strings.NewReader("country,indicatr\nAT,LMM_1\n"), "csv"); len(fields(err)) == 0 {
		t.Fatalf("misspelt header accepted: %v", err)
	}
	if _, err := f.svc.ImportAnswers(f.ctx, expertAT, "r1", rows, nil); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("expert importing: %v", err)
	}
}

func TestBlindReviewHidesTheAuthor(t *testing.T) {
	f := newFixture(t)
	r, err := f.svc.CreateRound(f.ctx, coordinator, round.RoundInput{ID: "r1", Name: "Blind", Questionnaire: "mini-index",
		QuestionnaireVer: "1", Countries: []string{"AT"}, BlindReview: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetStatus(f.ctx, coordinator, "r1", round.StatusOpen, r.Version); err != nil {
		t.Fatal(err)
	}
	f.save(t, expertAT, "r1", "AT", "LMM_1", round.AnswerInput{Option: "full"})
	view, err := f.svc.Sheet(f.ctx, reviewer, "r1", "AT")
	if author := view.Sheet.Answer("LMM_1").UpdatedBy; err != nil || view.Labels.Of(author) == author || !view.Labels.Hidden() {
		t.Fatalf("the reviewer of a blind round sees the author: %+v %v", view.Sheet.Answer("LMM_1"), err)
	}
	h, _, err := f.svc.History(f.ctx, reviewer, "r1", "AT", "LMM_1", round.VersionCursor{}, 50)
	if author := view.Sheet.Answer("LMM_1").UpdatedBy; err != nil || len(h) != 1 || h[0].Actor == author || h[0].Answer.UpdatedBy == author {
		t.Fatalf("history shows the author to a blind reviewer: %+v %v", h, err)
	}
	if own, _ := f.svc.Sheet(f.ctx, expertAT, "r1", "AT"); own.Sheet.Answer("LMM_1").UpdatedBy == "" {
		t.Fatal("the expert's own view lost the author")
	}
}

// Past data marks excluded indicators not applicable, often without a reason: the import keeps
// them, flagged, and flags answers its changes exclude.
func TestImportFlagsSkipLogicInsteadOfLosingData(t *testing.T) {
	f := newFixture(t)
	f.openRound(t, "r1", "")
	f.save(t, expertAT, "r1", "AT", "FR_1", round.AnswerInput{Option: "none"})
	f.save(t, expertAT, "r1", "AT", "FR_3", round.AnswerInput{Option: "yes"})
	rows, err := round.ParseImport(strings.NewReader("country,indicator,option,not_applicable\nAT,FR_1,full,\nBE,FR_1,full,\nBE,FR_3,,true\n"), "csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ImportAnswers(f.ctx, coordinator, "r1", rows, nil); err != nil {
		t.Fatal(err)
	}
	at, _ := f.svc.Answer(f.ctx, coordinator, "r1", "AT", "FR_3")
	if !at.Inapplicable || at.Option != "yes" {
		t.Fatalf("AT FR_3 after the import changed FR_1: %+v; want kept and flagged", at)
	}
	be, _ := f.svc.Answer(f.ctx, coordinator, "r1", "BE", "FR_3")
	if !be.NotApplicable || !be.Inapplicable || be.NAReason == "" {
		t.Fatalf("BE FR_3 imported as not applicable: %+v", be)
	}
}

package mongodb

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/round"
)

// colSheets holds one projection document per sheet, keyed "round/country", with all its
// current answers: a sheet is read whole, by _id, in one point read.
const colSheets = "sheets"

// maxAppendAttempts bounds how often one write is re-decided after losing the race for the
// next log position. Every lost race means another write landed, so this is reached only under
// a storm of writes to one sheet; the caller then gets ErrConflict and may retry.
const maxAppendAttempts = 200

// sheetDoc is the stored projection. The answers are kept as JSON text: they are read and
// written whole, never queried, and text keeps the embedded store's BSON limits (no dotted keys,
// no nested arrays) out of the domain's way.
type sheetDoc struct {
	ID        string    `bson:"_id"`
	Round     string    `bson:"round"`
	Country   string    `bson:"country"`
	Status    string    `bson:"status"`
	Seq       int64     `bson:"seq"`
	Answers   string    `bson:"answers"`
	UpdatedAt time.Time `bson:"updated_at"`
	UpdatedBy string    `bson:"updated_by"`
}

type sourceJSON struct {
	Kind      string `json:"kind"`
	Title     string `json:"title,omitempty"`
	Reference string `json:"reference,omitempty"`
	URL       string `json:"url,omitempty"`
	TextDate  string `json:"text_date,omitempty"`
	Accessed  string `json:"accessed,omitempty"`
	Language  string `json:"language,omitempty"`
	Excerpt   string `json:"excerpt,omitempty"`
}

type answerJSON struct {
	Indicator     string        `json:"indicator"`
	Option        string        `json:"option,omitempty"`
	Value         *float64      `json:"value,omitempty"`
	Text          string        `json:"text,omitempty"`
	NotApplicable bool          `json:"not_applicable,omitempty"`
	NAReason      string        `json:"na_reason,omitempty"`
	Comment       string        `json:"comment,omitempty"`
	Sources       []sourceJSON  `json:"sources,omitempty"`
	Carried       bool          `json:"carried,omitempty"`
	Previous      *previousJSON `json:"previous,omitempty"`
	Changed       bool          `json:"changed,omitempty"`
	Justification string        `json:"justification,omitempty"`
	Inapplicable  bool          `json:"inapplicable,omitempty"`
	Version       int           `json:"version,omitempty"`
	UpdatedBy     string        `json:"updated_by,omitempty"`
	UpdatedAt     time.Time     `json:"updated_at,omitzero"`
	History       []int64       `json:"history,omitempty"`
}

type previousJSON struct {
	Round         string       `json:"round"`
	Option        string       `json:"option,omitempty"`
	Value         *float64     `json:"value,omitempty"`
	Text          string       `json:"text,omitempty"`
	NotApplicable bool         `json:"not_applicable,omitempty"`
	Sources       []sourceJSON `json:"sources,omitempty"`
}

func toPreviousJSON(p *round.Previous) *previousJSON {
	if p == nil {
		return nil
	}
	out := &previousJSON{Round: p.Round, Option: p.Option, Value: p.Value, Text: p.Text, NotApplicable: p.NotApplicable}
	for _, s := range p.Sources {
		out.Sources = append(out.Sources, toSourceJSON(s))
	}
	return out
}

func fromPreviousJSON(p *previousJSON) *round.Previous {
	if p == nil {
		return nil
	}
	out := &round.Previous{Round: p.Round, Option: p.Option, Value: p.Value, Text: p.Text, NotApplicable: p.NotApplicable}
	for _, s := range p.Sources {
		out.Sources = append(out.Sources, fromSourceJSON(s))
	}
	return out
}

// changeJSON is a sheet log entry's after-state: enough to replay the change.
type changeJSON struct {
	Action  string       `json:"action"`
	Answers []answerJSON `json:"answers,omitempty"`
	Status  string       `json:"status,omitempty"`
	Reason  string       `json:"reason,omitempty"`
}

// beforeJSON is the state a change replaced, for the audit trail.
type beforeJSON struct {
	Answers []answerJSON `json:"answers,omitempty"`
	Status  string       `json:"status"`
}

func toSourceJSON(s round.Source) sourceJSON {
	return sourceJSON{Kind: string(s.Kind), Title: s.Title, Reference: s.Reference, URL: s.URL,
		TextDate: s.TextDate, Accessed: s.Accessed, Language: s.Language, Excerpt: s.Excerpt}
}

func fromSourceJSON(s sourceJSON) round.Source {
	return round.Source{Kind: round.SourceKind(s.Kind), Title: s.Title, Reference: s.Reference, URL: s.URL,
		TextDate: s.TextDate, Accessed: s.Accessed, Language: s.Language, Excerpt: s.Excerpt}
}

func toAnswerJSON(a round.Answer) answerJSON {
	out := answerJSON{
		Indicator: a.Indicator, Option: a.Option, Value: a.Value, Text: a.Text,
		NotApplicable: a.NotApplicable, NAReason: a.NAReason, Comment: a.Comment,
		Carried: a.Carried, Previous: toPreviousJSON(a.Previous), Changed: a.Changed, Justification: a.Justification,
		Inapplicable: a.Inapplicable, Version: a.Version, UpdatedBy: a.UpdatedBy, UpdatedAt: a.UpdatedAt, History: a.History,
	}
	for _, s := range a.Sources {
		out.Sources = append(out.Sources, toSourceJSON(s))
	}
	return out
}

func fromAnswerJSON(a answerJSON) round.Answer {
	out := round.Answer{
		Indicator: a.Indicator, Option: a.Option, Value: a.Value, Text: a.Text,
		NotApplicable: a.NotApplicable, NAReason: a.NAReason, Comment: a.Comment,
		Carried: a.Carried, Previous: fromPreviousJSON(a.Previous), Changed: a.Changed, Justification: a.Justification,
		Inapplicable: a.Inapplicable, Version: a.Version, UpdatedBy: a.UpdatedBy, UpdatedAt: a.UpdatedAt.UTC(), History: a.History,
	}
	for _, s := range a.Sources {
		out.Sources = append(out.Sources, fromSourceJSON(s))
	}
	return out
}

func toSheetDoc(s *round.Sheet) (sheetDoc, error) {
	answers := make([]answerJSON, len(s.Answers))
	for i, a := range s.Answers {
		answers[i] = toAnswerJSON(a)
	}
	b, err := json.Marshal(answers)
	if err != nil {
		return sheetDoc{}, fmt.Errorf("encode sheet %s: %w", s.ID(), err)
	}
	return sheetDoc{ID: s.ID(), Round: s.Round, Country: s.Country, Status: string(s.Status), Seq: s.Seq,
		Answers: string(b), UpdatedAt: s.UpdatedAt.UTC(), UpdatedBy: s.UpdatedBy}, nil
}

func fromSheetDoc(d sheetDoc) (*round.Sheet, error) {
	var answers []answerJSON
	if err := json.Unmarshal([]byte(d.Answers), &answers); err != nil {
		return nil, fmt.Errorf("decode sheet %s: %w", d.ID, err)
	}
	s := &round.Sheet{Round: d.Round, Country: d.Country, Status: round.SheetStatus(d.Status), Seq: d.Seq,
		UpdatedAt: d.UpdatedAt.UTC(), UpdatedBy: d.UpdatedBy, Answers: make([]round.Answer, len(answers))}
	for i, a := range answers {
		s.Answers[i] = fromAnswerJSON(a)
	}
	return s, nil
}

func toChangeJSON(c round.Change) changeJSON {
	out := changeJSON{Action: c.Action, Status: string(c.Status), Reason: c.Reason}
	for _, a := range c.Answers {
		j := toAnswerJSON(a)
		// Version, author and history are the log's to assign when the change is applied.
		j.Version, j.UpdatedBy, j.UpdatedAt, j.History = 0, "", time.Time{}, nil
		out.Answers = append(out.Answers, j)
	}
	return out
}

func fromChangeJSON(c changeJSON) round.Change {
	out := round.Change{Action: c.Action, Status: round.SheetStatus(c.Status), Reason: c.Reason}
	for _, a := range c.Answers {
		out.Answers = append(out.Answers, fromAnswerJSON(a))
	}
	return out
}

func sheetStream(roundID, country string) string { return "sheet/" + roundID + "/" + country }

// Sheet implements round.SheetStore.
func (s *Store) Sheet(ctx context.Context, roundID, country string) (*round.Sheet, error) {
	sh, behind, err := s.loadSheet(ctx, roundID, country)
	if err != nil {
		return nil, err
	}
	if sh.Seq == 0 {
		return nil, fmt.Errorf("sheet %s: %w", round.SheetID(roundID, country), round.ErrNotFound)
	}
	if behind {
		// The stored projection is a checkpoint or more behind (its writer stopped, or this
		// instance only reads): store the caught-up state so that others replay less.
		s.writeSheetProjection(ctx, sh)
	}
	return sh, nil
}

// loadSheet returns the sheet with every log entry applied: from this process's cache when it
// has the sheet, otherwise from the stored projection, then replaying the entries written after
// it (one probe when there are none). behind reports that the stored projection is a checkpoint
// or more behind the log. A sheet nobody wrote to yet comes back empty at position 0.
func (s *Store) loadSheet(ctx context.Context, roundID, country string) (*round.Sheet, bool, error) {
	id := round.SheetID(roundID, country)
	sh, stored := s.sheets.get(id)
	if sh == nil {
		var d sheetDoc
		err := s.db.Collection(colSheets).FindOne(ctx, byID(id)).Decode(&d)
		switch {
		case isNotFound(err):
			// The projection of a new sheet may not be written yet: its log decides.
			sh = &round.Sheet{Round: roundID, Country: country, Status: round.SheetNotStarted}
		case err != nil:
			return nil, false, fmt.Errorf("read sheet: %w", err)
		default:
			if sh, err = fromSheetDoc(d); err != nil {
				return nil, false, err
			}
			stored = d.Seq
		}
	}
	if _, err := s.catchUp(ctx, sh); err != nil {
		return nil, false, err
	}
	s.sheets.put(sh, stored)
	return sh, sh.Seq-stored >= sheetCheckpoint, nil
}

// catchUp applies the log entries after sh.Seq and tells how many there were.
func (s *Store) catchUp(ctx context.Context, sh *round.Sheet) (int, error) {
	n := 0
	for {
		ev, ok, err := s.readEvent(ctx, sheetStream(sh.Round, sh.Country), sh.Seq+1)
		if err != nil || !ok {
			return n, err
		}
		var c changeJSON
		if err := json.Unmarshal(ev.After, &c); err != nil {
			return n, fmt.Errorf("decode log entry %s: %w", ev.ID, err)
		}
		sh.Apply(fromChangeJSON(c), sh.Seq+1, ev.Actor, ev.Time)
		n++
	}
}

// UpdateSheet implements round.SheetStore. A sheet nobody wrote to yet starts empty: its first
// change is the insert of entry 1, which races like any other append.
func (s *Store) UpdateSheet(ctx context.Context, roundID, country string, decide func(*round.Sheet) (*round.Change, error)) (*round.Sheet, error) {
	sh, _, err := s.loadSheet(ctx, roundID, country)
	if err != nil {
		return nil, err
	}
	for range maxAppendAttempts {
		change, err := decide(sh)
		if err != nil {
			return nil, err
		}
		if change == nil {
			return sh, nil
		}
		ev, err := sheetEvent(ctx, sh, *change)
		if err != nil {
			return nil, err
		}
		seq := sh.Seq + 1
		won, err := s.appendEvent(ctx, sheetStream(roundID, country), seq, ev)
		if err != nil {
			return nil, err
		}
		if !won {
			// Another write took this position: bring the sheet up to date and decide again
			// on what is there now.
			if _, err := s.catchUp(ctx, sh); err != nil {
				return nil, err
			}
			continue
		}
		sh.Apply(*change, seq, ev.Actor, ev.Time)
		// The write is durable once its entry is in the log. The stored projection is only a
		// checkpoint that spares other instances and restarts a long replay, so it is rewritten
		// every sheetCheckpoint entries rather than on every save: a sheet of 170 answers with
		// sources is a large document.
		if seq%sheetCheckpoint == 0 {
			s.writeSheetProjection(ctx, sh)
		} else {
			s.sheets.put(sh, -1)
		}
		return sh, nil
	}
	return nil, fmt.Errorf("sheet %s: too many concurrent writes: %w", sh.ID(), round.ErrConflict)
}

func sheetEvent(ctx context.Context, sh *round.Sheet, c round.Change) (audit.Event, error) {
	before := beforeJSON{Status: string(sh.Status)}
	for _, a := range c.Answers {
		if cur := sh.Answer(a.Indicator); cur != nil {
			before.Answers = append(before.Answers, toAnswerJSON(*cur))
		}
	}
	return audit.New(ctx, c.Action, "sheet/"+sh.ID(), before, toChangeJSON(c), time.Now())
}

// writeSheetProjection stores the sheet as the checkpoint readers start from. Best effort: the
// log stays the truth, and a failed or overtaken write only means a longer replay.
func (s *Store) writeSheetProjection(ctx context.Context, sh *round.Sheet) {
	d, err := toSheetDoc(sh)
	if err != nil {
		return
	}
	stored := int64(-1)
	if _, err := s.db.Collection(colSheets).ReplaceOne(ctx, byID(d.ID), d, options.Replace().SetUpsert(true)); err == nil {
		stored = sh.Seq
	}
	s.sheets.put(sh, stored)
}

// sheetCheckpoint is how many log entries may pile up after the stored projection before it is
// rewritten.
const sheetCheckpoint = 16

// sheetCache keeps, per sheet, the newest state this process has seen and the position of the
// stored projection. It is a projection like the stored one, only nearer: every read still
// probes the log position after it, so writes by other instances are seen at once.
type sheetCache struct {
	mu      sync.Mutex
	entries map[string]cachedSheet
}

type cachedSheet struct {
	sheet  *round.Sheet
	stored int64
}

// maxCachedSheets bounds the cache: 200 countries of 3 rounds fit several times over.
const maxCachedSheets = 4096

// get returns a copy of the cached sheet (nil when absent) and its stored position.
func (c *sheetCache) get(id string) (*round.Sheet, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok {
		return nil, 0
	}
	return copySheet(e.sheet), e.stored
}

// put keeps a copy of sh unless a newer state is cached; stored < 0 keeps the known position.
func (c *sheetCache) put(sh *round.Sheet, stored int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cachedSheet{}
	}
	id := sh.ID()
	old, ok := c.entries[id]
	if stored < 0 {
		stored = old.stored
	}
	if ok && old.sheet.Seq > sh.Seq {
		if stored > old.stored {
			old.stored = stored
			c.entries[id] = old
		}
		return
	}
	if !ok && len(c.entries) >= maxCachedSheets {
		for k := range c.entries { // map order is random enough for an eviction
			delete(c.entries, k)
			if len(c.entries) < maxCachedSheets*3/4 {
				break
			}
		}
	}
	c.entries[id] = cachedSheet{sheet: copySheet(sh), stored: max(stored, old.stored)}
}

// copySheet copies what Apply and callers change in place: the sheet and its answer list.
// Answers' own slices are never changed in place (Apply replaces whole answers and grows
// History only through a clipped append), so they may be shared.
func copySheet(sh *round.Sheet) *round.Sheet {
	out := *sh
	out.Answers = slices.Clone(sh.Answers)
	return &out
}

// SheetEntries implements round.SheetStore.
func (s *Store) SheetEntries(ctx context.Context, roundID, country string, seqs []int64) ([]round.Entry, error) {
	out := make([]round.Entry, 0, len(seqs))
	for _, seq := range seqs {
		ev, ok, err := s.readEvent(ctx, sheetStream(roundID, country), seq)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("log entry %d of sheet %s: %w", seq, round.SheetID(roundID, country), round.ErrNotFound)
		}
		var c changeJSON
		if err := json.Unmarshal(ev.After, &c); err != nil {
			return nil, fmt.Errorf("decode log entry %s: %w", ev.ID, err)
		}
		out = append(out, round.Entry{Seq: seq, Change: fromChangeJSON(c), Actor: ev.Actor, Time: ev.Time, RequestID: ev.RequestID})
	}
	return out, nil
}

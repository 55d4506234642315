package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/round"
)

// colSheets holds one projection document per sheet, keyed "round/country", with all its
// current answers as an array of documents: a sheet is read whole, by _id, in one point read.
const colSheets = "sheets"

// maxAppendAttempts bounds how often one write is re-decided after losing the race for the
// next log position. Every lost race means another write landed, so this is reached only under
// a storm of writes to one sheet; the caller then gets ErrConflict and may retry.
const maxAppendAttempts = 200

// The stored forms of a sheet's answers. Each field has the same name in BSON and in JSON: the
// JSON names are those schema 1 stored as text, which decodeState still reads.
type sourceDoc struct {
	Kind      string `json:"kind" bson:"kind"`
	Title     string `json:"title,omitempty" bson:"title,omitempty"`
	Reference string `json:"reference,omitempty" bson:"reference,omitempty"`
	URL       string `json:"url,omitempty" bson:"url,omitempty"`
	TextDate  string `json:"text_date,omitempty" bson:"text_date,omitempty"`
	Accessed  string `json:"accessed,omitempty" bson:"accessed,omitempty"`
	Language  string `json:"language,omitempty" bson:"language,omitempty"`
	Excerpt   string `json:"excerpt,omitempty" bson:"excerpt,omitempty"`
}

type answerDoc struct {
	Indicator     string       `json:"indicator" bson:"indicator"`
	Option        string       `json:"option,omitempty" bson:"option,omitempty"`
	Value         *float64     `json:"value,omitempty" bson:"value,omitempty"`
	Text          string       `json:"text,omitempty" bson:"text,omitempty"`
	NotApplicable bool         `json:"not_applicable,omitempty" bson:"not_applicable,omitempty"`
	NAReason      string       `json:"na_reason,omitempty" bson:"na_reason,omitempty"`
	Comment       string       `json:"comment,omitempty" bson:"comment,omitempty"`
	Sources       []sourceDoc  `json:"sources,omitempty" bson:"sources,omitempty"`
	Carried       bool         `json:"carried,omitempty" bson:"carried,omitempty"`
	Previous      *previousDoc `json:"previous,omitempty" bson:"previous,omitempty"`
	Changed       bool         `json:"changed,omitempty" bson:"changed,omitempty"`
	Justification string       `json:"justification,omitempty" bson:"justification,omitempty"`
	Inapplicable  bool         `json:"inapplicable,omitempty" bson:"inapplicable,omitempty"`
	Version       int          `json:"version,omitempty" bson:"version,omitempty"`
	UpdatedBy     string       `json:"updated_by,omitempty" bson:"updated_by,omitempty"`
	UpdatedAt     *time.Time   `json:"updated_at,omitempty" bson:"updated_at,omitempty"`
	// At and Prev are the sheet log positions of this version and of the one before it.
	At   int64 `json:"at,omitempty" bson:"at,omitempty"`
	Prev int64 `json:"prev,omitempty" bson:"prev,omitempty"`
	// History is read only: schema 2 before the chain listed the positions of every version
	// here, so the projection and each log entry's before-state grew with every save.
	History []int64 `json:"history,omitempty" bson:"history,omitempty"`
}

type previousDoc struct {
	Round         string      `json:"round" bson:"round"`
	Option        string      `json:"option,omitempty" bson:"option,omitempty"`
	Value         *float64    `json:"value,omitempty" bson:"value,omitempty"`
	Text          string      `json:"text,omitempty" bson:"text,omitempty"`
	NotApplicable bool        `json:"not_applicable,omitempty" bson:"not_applicable,omitempty"`
	Sources       []sourceDoc `json:"sources,omitempty" bson:"sources,omitempty"`
}

// changeDoc is a sheet log entry's after-state: enough to replay the change.
type changeDoc struct {
	Action  string      `json:"action" bson:"action"`
	Answers []answerDoc `json:"answers,omitempty" bson:"answers,omitempty"`
	Status  string      `json:"status,omitempty" bson:"status,omitempty"`
	Reason  string      `json:"reason,omitempty" bson:"reason,omitempty"`
	// Review are the entry's review moves (schema 2 only: schema 1 had none).
	Review []reviewChangeDoc `json:"-" bson:"review,omitempty"`
}

// beforeDoc is the state a change replaced, for the audit trail.
type beforeDoc struct {
	Answers []answerDoc `json:"answers,omitempty" bson:"answers,omitempty"`
	Status  string      `json:"status" bson:"status"`
}

// sheetDoc is the stored projection, a checkpoint of the log.
type sheetDoc struct {
	ID        string      `bson:"_id"`
	Round     string      `bson:"round"`
	Country   string      `bson:"country"`
	Status    string      `bson:"status"`
	Seq       int64       `bson:"seq"`
	Answers   []answerDoc `bson:"answers"`
	UpdatedAt time.Time   `bson:"updated_at"`
	UpdatedBy string      `bson:"updated_by"`
	// Review is the review projection; absent until someone acts in review terms.
	Review *reviewSheetDoc `bson:"review,omitempty"`
}

// storedSheet is sheetDoc as read: schema 1 stored the answers as JSON text.
type storedSheet struct {
	ID        string          `bson:"_id"`
	Round     string          `bson:"round"`
	Country   string          `bson:"country"`
	Status    string          `bson:"status"`
	Seq       int64           `bson:"seq"`
	Answers   bson.RawValue   `bson:"answers"`
	UpdatedAt time.Time       `bson:"updated_at"`
	UpdatedBy string          `bson:"updated_by"`
	Review    *reviewSheetDoc `bson:"review"`
}

func toSourceDocs(in []round.Source) []sourceDoc {
	if len(in) == 0 {
		return nil
	}
	out := make([]sourceDoc, len(in))
	for i, s := range in {
		out[i] = sourceDoc{Kind: string(s.Kind), Title: s.Title, Reference: s.Reference, URL: s.URL,
			TextDate: s.TextDate, Accessed: s.Accessed, Language: s.Language, Excerpt: s.Excerpt}
	}
	return out
}

func fromSourceDocs(in []sourceDoc) []round.Source {
	if len(in) == 0 {
		return nil
	}
	out := make([]round.Source, len(in))
	for i, s := range in {
		out[i] = round.Source{Kind: round.SourceKind(s.Kind), Title: s.Title, Reference: s.Reference, URL: s.URL,
			TextDate: s.TextDate, Accessed: s.Accessed, Language: s.Language, Excerpt: s.Excerpt}
	}
	return out
}

func toAnswerDoc(a *round.Answer) answerDoc {
	out := answerDoc{
		Indicator: a.Indicator, Option: a.Option, Value: a.Value, Text: a.Text,
		NotApplicable: a.NotApplicable, NAReason: a.NAReason, Comment: a.Comment, Sources: toSourceDocs(a.Sources),
		Carried: a.Carried, Changed: a.Changed, Justification: a.Justification,
		Inapplicable: a.Inapplicable, Version: a.Version, UpdatedBy: a.UpdatedBy, At: a.At, Prev: a.Prev,
	}
	if !a.UpdatedAt.IsZero() {
		t := a.UpdatedAt.UTC()
		out.UpdatedAt = &t
	}
	if p := a.Previous; p != nil {
		out.Previous = &previousDoc{Round: p.Round, Option: p.Option, Value: p.Value, Text: p.Text,
			NotApplicable: p.NotApplicable, Sources: toSourceDocs(p.Sources)}
	}
	return out
}

func fromAnswerDoc(a answerDoc) round.Answer {
	out := round.Answer{
		Indicator: a.Indicator, Option: a.Option, Value: a.Value, Text: a.Text,
		NotApplicable: a.NotApplicable, NAReason: a.NAReason, Comment: a.Comment, Sources: fromSourceDocs(a.Sources),
		Carried: a.Carried, Changed: a.Changed, Justification: a.Justification,
		Inapplicable: a.Inapplicable, Version: a.Version, UpdatedBy: a.UpdatedBy, At: a.At, Prev: a.Prev,
	}
	if n := len(a.History); n > 0 && out.At == 0 {
		out.At = a.History[n-1]
		if n > 1 {
			out.Prev = a.History[n-2]
		}
	}
	if a.UpdatedAt != nil {
		out.UpdatedAt = a.UpdatedAt.UTC()
	}
	if p := a.Previous; p != nil {
		out.Previous = &round.Previous{Round: p.Round, Option: p.Option, Value: p.Value, Text: p.Text,
			NotApplicable: p.NotApplicable, Sources: fromSourceDocs(p.Sources)}
	}
	return out
}

func toSheetDoc(s *round.Sheet) sheetDoc {
	answers := make([]answerDoc, 0, s.AnswerCount())
	for a := range s.EachAnswer() {
		answers = append(answers, toAnswerDoc(a))
	}
	return sheetDoc{ID: s.ID(), Round: s.Round, Country: s.Country, Status: string(s.Status), Seq: s.Seq,
		Answers: answers, UpdatedAt: s.UpdatedAt.UTC(), UpdatedBy: s.UpdatedBy, Review: toReviewSheetDoc(&s.Review)}
}

func fromStoredSheet(d storedSheet) (*round.Sheet, error) {
	var answers []answerDoc
	switch d.Answers.Type {
	case bson.TypeArray:
		if err := d.Answers.Unmarshal(&answers); err != nil {
			return nil, fmt.Errorf("decode sheet %s: %w", d.ID, err)
		}
	case 0, bson.TypeNull:
	default:
		if err := decodeState(d.Answers, &answers); err != nil {
			return nil, fmt.Errorf("decode sheet %s: %w", d.ID, err)
		}
	}
	s := &round.Sheet{Round: d.Round, Country: d.Country, Status: round.SheetStatus(d.Status), Seq: d.Seq,
		UpdatedAt: d.UpdatedAt.UTC(), UpdatedBy: d.UpdatedBy, Review: fromReviewSheetDoc(d.Review, d.Status)}
	list := make([]round.Answer, len(answers))
	for i, a := range answers {
		list[i] = fromAnswerDoc(a)
	}
	s.SetAnswers(list)
	return s, nil
}

func toChangeDoc(c *round.Change) changeDoc {
	out := changeDoc{Action: c.Action, Status: string(c.Status), Reason: c.Reason, Review: convert(c.Review, toReviewChangeDoc)}
	for i := range c.Answers {
		d := toAnswerDoc(&c.Answers[i])
		// Version, author and positions are the log's to assign when the change is applied.
		d.Version, d.UpdatedBy, d.UpdatedAt, d.At, d.Prev = 0, "", nil, 0, 0
		out.Answers = append(out.Answers, d)
	}
	return out
}

func fromChangeDoc(c changeDoc) round.Change {
	out := round.Change{Action: c.Action, Status: round.SheetStatus(c.Status), Reason: c.Reason, Review: convert(c.Review, fromReviewChangeDoc)}
	for _, a := range c.Answers {
		out.Answers = append(out.Answers, fromAnswerDoc(a))
	}
	return out
}

func sheetStream(roundID, country string) string { return "sheet/" + roundID + "/" + country }

// Sheet implements round.SheetStore. It probes the log for entries this instance has not seen,
// so a read sees every write acknowledged before it, by any instance.
func (s *Store) Sheet(ctx context.Context, roundID, country string) (*round.Sheet, error) {
	// Concurrent reads of one sheet share their probe of its log (freshReads), each still
	// seeing every write acknowledged before it asked; each gets its own copy.
	sh, err := s.sheetReads.do(ctx, round.SheetID(roundID, country), func(ctx context.Context) (*round.Sheet, error) {
		return s.loadSheet(ctx, roundID, country, true)
	})
	if err != nil {
		return nil, err
	}
	sh = sh.Clone()
	if sh.Seq == 0 {
		return nil, fmt.Errorf("sheet %s: %w", round.SheetID(roundID, country), round.ErrNotFound)
	}
	return sh, nil
}

// loadSheet returns a copy of the sheet that the caller may change: from this process's cache
// when it has the sheet, otherwise from the stored projection and the log entries written after
// it. probe asks to look for entries after the cached state too (one point read when there are
// none). A sheet nobody wrote to yet comes back empty at position 0.
func (s *Store) loadSheet(ctx context.Context, roundID, country string, probe bool) (*round.Sheet, error) {
	id := round.SheetID(roundID, country)
	cached, stored := s.sheets.get(id)
	var sh *round.Sheet
	if cached != nil {
		sh = cached.Clone()
		if !probe {
			return sh, nil
		}
	} else {
		var d storedSheet
		err := s.db.Collection(colSheets).FindOne(ctx, byID(id)).Decode(&d)
		switch {
		case isNotFound(err):
			// The projection of a new sheet may not be written yet: its log decides.
			sh = &round.Sheet{Round: roundID, Country: country, Status: round.SheetNotStarted}
		case err != nil:
			return nil, fmt.Errorf("read sheet: %w", err)
		default:
			if sh, err = fromStoredSheet(d); err != nil {
				return nil, err
			}
			stored = d.Seq
		}
	}
	n, err := s.catchUp(ctx, sh)
	if err != nil {
		return nil, err
	}
	if cached == nil || n > 0 {
		s.sheets.put(sh.Clone(), stored)
		s.maybeCheckpoint(sh, stored)
	}
	return sh, nil
}

// maxCatchUpWindow is how many log entries a cold read asks for at once at most: a projection
// can be a checkpoint interval behind, and point reads in parallel hide the store's latency.
const maxCatchUpWindow = 32

// catchUp applies the log entries after sh.Seq and tells how many there were. The first probe
// is one point read; each time a window is full, the next one is twice as wide, so that one
// missed entry costs two reads more, and a hundred missed entries a dozen windows.
func (s *Store) catchUp(ctx context.Context, sh *round.Sheet) (int, error) {
	stream := sheetStream(sh.Round, sh.Country)
	n, window := 0, 1
	for {
		entries, err := s.readEntries(ctx, stream, sh.Seq+1, window)
		if err != nil {
			return n, err
		}
		for _, e := range entries {
			sh.Apply(e.Change, e.Seq, e.Actor, e.Time)
			n++
		}
		if len(entries) < window {
			return n, nil
		}
		window = min(2*window, maxCatchUpWindow)
	}
}

// readEntries reads up to count consecutive entries of a sheet's log from position from, in
// parallel, stopping at the first position not written yet.
func (s *Store) readEntries(ctx context.Context, stream string, from int64, count int) ([]round.Entry, error) {
	type got struct {
		entry round.Entry
		ok    bool
		err   error
	}
	results := make([]got, count)
	if count == 1 {
		results[0].entry, results[0].ok, results[0].err = s.readSheetEntry(ctx, stream, from, false)
	} else {
		done := make(chan struct{}, count)
		for i := range count {
			go func() {
				results[i].entry, results[i].ok, results[i].err = s.readSheetEntry(ctx, stream, from+int64(i), false)
				done <- struct{}{}
			}()
		}
		for range count {
			<-done
		}
	}
	var out []round.Entry
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		if !r.ok {
			break
		}
		out = append(out, r.entry)
	}
	return out, nil
}

// readSheetEntry reads one entry of a sheet's log. withPrev also gives each answer it wrote the
// position of the version it replaced, from the before-state: what reading versions back needs,
// and a replay does not (applying the entry assigns it), so catching up skips that decoding.
func (s *Store) readSheetEntry(ctx context.Context, stream string, seq int64, withPrev bool) (round.Entry, bool, error) {
	ev, ok, err := s.readStoredEvent(ctx, stream, seq)
	if err != nil || !ok {
		return round.Entry{}, ok, err
	}
	var c changeDoc
	if err := decodeState(ev.After, &c); err != nil {
		return round.Entry{}, false, fmt.Errorf("decode log entry %s: %w", ev.ID, err)
	}
	change := fromChangeDoc(c)
	if withPrev && len(change.Answers) > 0 && (ev.Before.Type == bson.TypeEmbeddedDocument || ev.Before.Type == bson.TypeString) {
		// The before-state holds the versions this entry replaced: their positions are the
		// predecessors of the versions it wrote.
		var before beforeDoc
		if err := decodeState(ev.Before, &before); err != nil {
			return round.Entry{}, false, fmt.Errorf("decode log entry %s: %w", ev.ID, err)
		}
		for i := range change.Answers {
			for _, b := range before.Answers {
				if b.Indicator == change.Answers[i].Indicator {
					change.Answers[i].Prev = fromAnswerDoc(b).At
				}
			}
		}
	}
	return round.Entry{Seq: seq, Change: change, Actor: ev.Actor, Time: ev.Time.UTC(), RequestID: ev.RequestID}, true, nil
}

// UpdateSheet implements round.SheetStore. The change is decided on this instance's newest
// state of the sheet and written at the next position without reading the store first: the
// unique position is the guard, so a state that another instance has moved past fails the
// insert, and the write is decided again on the caught-up state. A refusal decided on a cached
// state is checked against the log before it is returned. A sheet nobody wrote to yet starts
// empty: its first change is the insert of entry 1, which races like any other append.
func (s *Store) UpdateSheet(ctx context.Context, roundID, country string, decide func(*round.Sheet) (*round.Change, error)) (*round.Sheet, error) {
	defer s.writers.lock(round.SheetID(roundID, country))()
	sh, err := s.loadSheet(ctx, roundID, country, false)
	if err != nil {
		return nil, err
	}
	probed := false
	for range maxAppendAttempts {
		change, err := decide(sh.Clone())
		if err != nil || change == nil {
			if !probed {
				// The state decided on may be behind the log: look once, and decide again
				// if it was.
				probed = true
				if n, perr := s.catchUp(ctx, sh); perr != nil {
					return nil, perr
				} else if n > 0 {
					s.sheets.put(sh.Clone(), -1)
					continue
				}
			}
			if err != nil {
				return nil, err
			}
			return sh, nil
		}
		seq := sh.Seq + 1
		now := s.now().UTC()
		doc := sheetEventDoc(ctx, sh, change, seq, now)
		err = s.commit.insert(ctx, doc)
		if errors.Is(err, errDuplicate) {
			// Another write took this position. This instance may know it already (a
			// concurrent write of its own); otherwise read the log forward.
			probed = true
			if known := s.sheets.peek(sh.ID()); known != nil && known.Seq > sh.Seq {
				sh = known.Clone()
			} else if _, err := s.catchUp(ctx, sh); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("append %s: %w", doc.ID, err)
		}
		sh.Apply(*change, seq, doc.Actor, now)
		stored := s.sheets.storedAt(sh.ID())
		s.sheets.put(sh.Clone(), -1)
		s.maybeCheckpoint(sh, stored)
		return sh, nil
	}
	return nil, fmt.Errorf("sheet %s: too many concurrent writes: %w", sh.ID(), round.ErrConflict)
}

// sheetEventDoc is the log entry of a change: its after-state replays it, its before-state is
// the audit trail's record of what it replaced.
func sheetEventDoc(ctx context.Context, sh *round.Sheet, c *round.Change, seq int64, now time.Time) eventDoc {
	before := beforeDoc{Status: string(sh.Status)}
	for _, a := range c.Answers {
		if cur := sh.Answer(a.Indicator); cur != nil {
			before.Answers = append(before.Answers, toAnswerDoc(cur))
		}
	}
	actor, rid := audit.Origin(ctx)
	stream := sheetStream(sh.Round, sh.Country)
	return eventDoc{ID: eventID(stream, seq), Stream: stream, Seq: seq, Actor: actor, Action: c.Action,
		Entity: "sheet/" + sh.ID(), Before: before, After: toChangeDoc(c), Time: now, RequestID: rid}
}

// CheckpointInterval is how many log entries may follow the stored projection of a sheet of
// answers answers before it is rewritten: a quarter of its answers (at least 8). Rewriting a
// projection costs in proportion to the sheet (on the embedded store, some 60-80 kB of
// allocation per answer, as it decodes the old document before writing the new one); spread
// over an interval in proportion to the sheet, that is about four answers' worth per save at
// any size. The price is the replay of a cold read, at most that many entries, read a window
// at a time (BenchmarkColdSheetRead).
func CheckpointInterval(answers int) int64 {
	return max(8, int64(answers/4))
}

// maybeCheckpoint has the projection of sh rewritten in the background when the log has run a
// checkpoint interval past the stored one. The request does not wait for it: the log entry is
// already the durable write.
func (s *Store) maybeCheckpoint(sh *round.Sheet, stored int64) {
	interval := CheckpointInterval(sh.AnswerCount())
	if sh.Seq-stored < interval {
		return
	}
	s.checkpoints.schedule(sh.ID(), sh.Seq, interval)
}

// writeCheckpoint stores the newest cached state of sheet id as its projection. A failed or
// overtaken write only means a longer replay for the next cold reader, so errors are counted
// and logged, not returned to any request.
func (s *Store) writeCheckpoint(ctx context.Context, id string) error {
	sh := s.sheets.peek(id)
	if sh == nil || sh.Seq <= s.sheets.storedAt(id) {
		return nil
	}
	raw, err := bson.Marshal(toSheetDoc(sh))
	if err != nil {
		return fmt.Errorf("checkpoint sheet %s: %w", id, err)
	}
	if _, err := s.db.Collection(colSheets).ReplaceOne(ctx, byID(id), bson.Raw(raw), options.Replace().SetUpsert(true)); err != nil {
		return fmt.Errorf("checkpoint sheet %s: %w", id, err)
	}
	s.checkpoints.bytes.Add(int64(len(raw)))
	s.sheets.put(sh, sh.Seq)
	return nil
}

// SheetEntries implements round.SheetStore.
func (s *Store) SheetEntries(ctx context.Context, roundID, country string, seqs []int64) ([]round.Entry, error) {
	stream := sheetStream(roundID, country)
	out := make([]round.Entry, 0, len(seqs))
	for _, seq := range seqs {
		e, ok, err := s.readSheetEntry(ctx, stream, seq, true)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("log entry %d of sheet %s: %w", seq, round.SheetID(roundID, country), round.ErrNotFound)
		}
		out = append(out, e)
	}
	return out, nil
}

package round

import (
	"iter"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/expertsurvey/expertsurvey/review"
)

// SheetStatus is where a country's sheet stands in the workflow.
type SheetStatus string

const (
	SheetNotStarted  SheetStatus = "not_started"
	SheetInProgress  SheetStatus = "in_progress"
	SheetSubmitted   SheetStatus = "submitted"
	SheetInReview    SheetStatus = "in_review"
	SheetReturned    SheetStatus = "returned"
	SheetReadyToLock SheetStatus = "ready_to_lock"
	SheetLocked      SheetStatus = "locked"
)

// ExpertEditable tells whether the expert may change answers in this status: before
// submission, and again when review returns the sheet.
func (s SheetStatus) ExpertEditable() bool {
	return s == SheetNotStarted || s == SheetInProgress || s == SheetReturned
}

// SourceKind classifies a cited source.
type SourceKind string

// SourceKinds are the kinds a source may have.
var SourceKinds = []SourceKind{"law", "regulation", "case_law", "policy", "report", "statistics", "other"}

// Source is one citation backing an answer.
type Source struct {
	Kind      SourceKind
	Title     string
	Reference string // article, section, paragraph
	URL       string
	TextDate  string // date of the text, YYYY-MM-DD
	Accessed  string // date accessed, YYYY-MM-DD
	Language  string
	Excerpt   string
}

// Answer is the current state of one indicator of one sheet.
type Answer struct {
	Indicator     string
	Option        string
	Value         *float64
	Text          string
	NotApplicable bool
	NAReason      string
	Comment       string
	Sources       []Source

	// Carried marks an answer pre-filled from the previous round and not yet confirmed or
	// changed by the expert; Previous keeps what the previous round answered, so that a change
	// is recognised, justified and shown without reading the previous round again.
	Carried  bool
	Previous *Previous
	// Changed marks an answer that differs from the previous round's; Justification says why.
	Changed       bool
	Justification string
	// Inapplicable flags an answer whose indicator no longer applies after a later change to
	// another answer (skip logic); it is kept, not deleted, and is not scored.
	Inapplicable bool

	Version   int
	UpdatedBy string
	UpdatedAt time.Time
	// At is the sheet log position where this version was written, Prev that of the version
	// before it (0 for the first). The versions form a chain through the log, read back by
	// Versions, so that an answer's size, and what a checkpoint rewrites, stays the same
	// however often it is saved.
	At, Prev int64
}

// Previous is the previous round's frozen answer to an indicator.
type Previous struct {
	Round         string
	Option        string
	Value         *float64
	Text          string
	NotApplicable bool
	Sources       []Source
}

// Content is the response part of an answer: what scoring and change detection compare.
type Content struct {
	Option        string
	Value         *float64
	Text          string
	NotApplicable bool
}

// Content returns the answer's response.
func (a *Answer) Content() Content {
	return Content{Option: a.Option, Value: a.Value, Text: a.Text, NotApplicable: a.NotApplicable}
}

// Content returns the previous round's response.
func (p *Previous) Content() Content {
	return Content{Option: p.Option, Value: p.Value, Text: p.Text, NotApplicable: p.NotApplicable}
}

// Equal compares two responses; numbers by value.
func (c Content) Equal(o Content) bool {
	if c.Option != o.Option || c.Text != o.Text || c.NotApplicable != o.NotApplicable {
		return false
	}
	if (c.Value == nil) != (o.Value == nil) {
		return false
	}
	return c.Value == nil || *c.Value == *o.Value
}

// Answered tells whether the answer holds a response (an option, a value, a text, or not
// applicable).
func (a *Answer) Answered() bool {
	return a.Option != "" || a.Value != nil || a.Text != "" || a.NotApplicable
}

// Sheet is one country in one round: its status and current answers, a projection of its log.
//
// The answers live in sorted chunks that are never changed once a sheet holds them: Apply
// replaces the chunk it changes and Clone copies only the list of chunks, so that a change to one
// answer costs the same on a sheet of 50 indicators as on one of 2,000, and a cached sheet can be
// handed to many readers without copying it.
type Sheet struct {
	Round   string
	Country string
	Status  SheetStatus
	// Seq is the position of the last log entry applied; the next change is written at Seq+1.
	Seq       int64
	UpdatedAt time.Time
	UpdatedBy string
	// Review is the review side of the sheet: each answer's review state and records, the
	// sheet's status history and participants. Its State is Status, kept in step by Apply.
	Review review.Sheet

	chunks []*answerChunk // in indicator order; none empty
	count  int
}

// answerChunk is a run of answers in indicator order. It is never changed in place once a sheet
// refers to it.
type answerChunk struct {
	answers []Answer
	bytes   int64
}

// chunkSize is how many answers a chunk holds at most: a change copies one chunk (some 8 kB)
// and the chunk list (8 bytes a chunk).
const chunkSize = 32

// ID is the sheet's key, "round/country".
func (s *Sheet) ID() string { return SheetID(s.Round, s.Country) }

// SheetID is the key of the sheet of country in round.
func SheetID(round, country string) string { return round + "/" + country }

// Answer returns the current answer to indicator, or nil. The answer is shared with other
// copies of the sheet: read it, never change it.
func (s *Sheet) Answer(indicator string) *Answer {
	ci, ok := s.chunkFor(indicator)
	if !ok {
		return nil
	}
	ch := s.chunks[ci]
	i, ok := slices.BinarySearchFunc(ch.answers, indicator, byIndicator)
	if !ok {
		return nil
	}
	return &ch.answers[i]
}

// chunkFor returns the chunk that holds indicator or, when no answer to it exists, the chunk it
// would be inserted into; false when the sheet has no answers.
func (s *Sheet) chunkFor(indicator string) (int, bool) {
	if len(s.chunks) == 0 {
		return 0, false
	}
	// The first chunk whose last answer is not before indicator; past the end, the last one.
	ci, _ := slices.BinarySearchFunc(s.chunks, indicator, func(c *answerChunk, code string) int {
		return strings.Compare(c.answers[len(c.answers)-1].Indicator, code)
	})
	return min(ci, len(s.chunks)-1), true
}

// AnswerCount is how many answers the sheet holds.
func (s *Sheet) AnswerCount() int { return s.count }

// EachAnswer yields every answer in indicator order. The answers are shared: read them, never
// change them.
func (s *Sheet) EachAnswer() iter.Seq[*Answer] {
	return func(yield func(*Answer) bool) {
		for _, ch := range s.chunks {
			for i := range ch.answers {
				if !yield(&ch.answers[i]) {
					return
				}
			}
		}
	}
}

// Answers returns a copy of every answer, in indicator order.
func (s *Sheet) Answers() []Answer {
	out := make([]Answer, 0, s.count)
	for _, ch := range s.chunks {
		out = append(out, ch.answers...)
	}
	return out
}

// SetAnswers replaces the sheet's answers (sorted by indicator, as Answers returns them); the
// stores use it to rebuild a sheet from its stored form.
func (s *Sheet) SetAnswers(answers []Answer) {
	s.chunks, s.count = nil, len(answers)
	for len(answers) > 0 {
		n := min(chunkSize, len(answers))
		s.chunks = append(s.chunks, newChunk(slices.Clone(answers[:n])))
		answers = answers[n:]
	}
}

// Clone returns a copy that Apply may change without changing s. It shares the answers.
func (s *Sheet) Clone() *Sheet {
	out := *s
	return &out
}

// MapAnswers returns a copy of the sheet whose answers are f applied to copies of s's.
func (s *Sheet) MapAnswers(f func(*Answer)) *Sheet {
	answers := s.Answers()
	for i := range answers {
		f(&answers[i])
	}
	out := s.Clone()
	out.SetAnswers(answers)
	return out
}

// SizeBytes estimates the memory the sheet's answers and review hold, for caches bounded by bytes.
func (s *Sheet) SizeBytes() int64 {
	n := int64(200+8*len(s.chunks)) + s.Review.SizeBytes()
	for _, ch := range s.chunks {
		n += ch.bytes
	}
	return n
}

func newChunk(answers []Answer) *answerChunk {
	ch := &answerChunk{answers: answers}
	for i := range answers {
		ch.bytes += answers[i].sizeBytes()
	}
	return ch
}

// sizeBytes estimates the memory of one answer: the struct and what its fields point to.
func (a *Answer) sizeBytes() int64 {
	n := int64(unsafe.Sizeof(*a)) + int64(len(a.Indicator)+len(a.Option)+len(a.Text)+len(a.NAReason)+
		len(a.Comment)+len(a.Justification)+len(a.UpdatedBy))
	for _, src := range a.Sources {
		n += src.sizeBytes()
	}
	if p := a.Previous; p != nil {
		n += int64(unsafe.Sizeof(*p)) + int64(len(p.Round)+len(p.Option)+len(p.Text))
		for _, src := range p.Sources {
			n += src.sizeBytes()
		}
	}
	return n
}

func (s *Source) sizeBytes() int64 {
	return int64(unsafe.Sizeof(*s)) + int64(len(s.Kind)+len(s.Title)+len(s.Reference)+len(s.URL)+
		len(s.TextDate)+len(s.Accessed)+len(s.Language)+len(s.Excerpt))
}

func byIndicator(a Answer, code string) int { return strings.Compare(a.Indicator, code) }

// Change is one entry of a sheet's log: what a write did. Applying the log's changes in order
// rebuilds the sheet.
type Change struct {
	Action string
	// Answers are the new contents of the answers this change writes (version and history are
	// set by Apply).
	Answers []Answer
	// Status is the sheet's new status, or empty when unchanged.
	Status SheetStatus
	// Reason explains a status change (returning, reopening).
	Reason string
	// Review are the review moves of the entry, in order: one for most moves, one per answer
	// for a bulk approval or confirmation, so that they land together or not at all.
	Review []review.Change
}

// Apply writes change into the sheet as log entry seq made by actor at t. It is the one way a
// sheet changes, used both after a write and when replaying the log. It never changes answers
// that copies of the sheet share: a change of a few answers copies their chunks, a change of
// many rebuilds the list once.
func (s *Sheet) Apply(c Change, seq int64, actor string, t time.Time) {
	if len(c.Answers) > chunkSize {
		s.applyMany(c.Answers, seq, actor, t)
	} else {
		for _, in := range c.Answers {
			s.put(s.next(in, seq, actor, t))
		}
	}
	s.applyReview(c, actor, t)
	s.Seq = seq
	s.UpdatedAt, s.UpdatedBy = t, actor
}

// applyReview folds the entry's review moves into the review side. Content written outside a
// review move (carrying forward, imports, applicability flags beside a saved answer) is
// recorded as written, so that the review's answer versions stay the round's. The status is
// the review's state after its moves; an entry without review moves (carrying forward, and
// entries logged before the review workflow existed) sets the status it names.
func (s *Sheet) applyReview(c Change, actor string, t time.Time) {
	byMove := make(map[string]bool, len(c.Review))
	for _, rc := range c.Review {
		if rc.WritesContent() {
			byMove[rc.Indicator] = true
		}
	}
	writes := make([]review.Write, 0, len(c.Answers))
	for i := range c.Answers {
		code := c.Answers[i].Indicator
		if !byMove[code] {
			writes = append(writes, review.Write{Indicator: code, Version: s.Answer(code).Version, Author: actor})
		}
	}
	s.Review.WroteAll(writes)
	for _, rc := range c.Review {
		s.Review.Apply(rc, t)
	}
	switch {
	case c.Status != "":
		s.Status = c.Status
		s.Review.State = review.SheetState(c.Status)
	case s.Review.State != "":
		s.Status = SheetStatus(s.Review.State)
	}
}

// next is the answer in written as entry seq: its version and history follow the current one.
func (s *Sheet) next(in Answer, seq int64, actor string, t time.Time) Answer {
	a := in
	a.UpdatedBy, a.UpdatedAt = actor, t
	if cur := s.Answer(a.Indicator); cur != nil {
		a.Version, a.Prev = cur.Version+1, cur.At
	} else {
		a.Version, a.Prev = 1, 0
	}
	a.At = seq
	return a
}

// put replaces or inserts one answer, copying the chunk it lands in and the chunk list.
func (s *Sheet) put(a Answer) {
	ci, ok := s.chunkFor(a.Indicator)
	if !ok {
		s.chunks, s.count = []*answerChunk{newChunk([]Answer{a})}, 1
		return
	}
	answers := slices.Clone(s.chunks[ci].answers)
	if i, found := slices.BinarySearchFunc(answers, a.Indicator, byIndicator); found {
		answers[i] = a
	} else {
		answers = slices.Insert(answers, i, a)
		s.count++
	}
	chunks := slices.Clone(s.chunks)
	if len(answers) > 2*chunkSize {
		half := len(answers) / 2
		chunks = slices.Replace(chunks, ci, ci+1, newChunk(answers[:half:half]), newChunk(answers[half:]))
	} else {
		chunks[ci] = newChunk(answers)
	}
	s.chunks = chunks
}

// applyMany merges many written answers into the sheet in one pass.
func (s *Sheet) applyMany(in []Answer, seq int64, actor string, t time.Time) {
	written := make([]Answer, len(in))
	for i, a := range in {
		written[i] = s.next(a, seq, actor, t)
	}
	slices.SortStableFunc(written, func(a, b Answer) int { return strings.Compare(a.Indicator, b.Indicator) })
	merged := make([]Answer, 0, s.count+len(written))
	cur := s.Answers()
	i := 0
	for k, w := range written {
		if k+1 < len(written) && written[k+1].Indicator == w.Indicator {
			continue // a change names each answer once; the last one wins if not
		}
		for i < len(cur) && cur[i].Indicator < w.Indicator {
			merged = append(merged, cur[i])
			i++
		}
		if i < len(cur) && cur[i].Indicator == w.Indicator {
			i++
		}
		merged = append(merged, w)
	}
	merged = append(merged, cur[i:]...)
	s.SetAnswers(merged)
}

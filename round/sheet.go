package round

import (
	"slices"
	"strings"
	"time"
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
	// History lists the log positions of the sheet where each version of this answer was
	// written, oldest first: version v was written at History[v-1].
	History []int64
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
type Sheet struct {
	Round   string
	Country string
	Status  SheetStatus
	// Seq is the position of the last log entry applied; the next change is written at Seq+1.
	Seq       int64
	Answers   []Answer // sorted by indicator code
	UpdatedAt time.Time
	UpdatedBy string
}

// ID is the sheet's key, "round/country".
func (s *Sheet) ID() string { return SheetID(s.Round, s.Country) }

// SheetID is the key of the sheet of country in round.
func SheetID(round, country string) string { return round + "/" + country }

// Answer returns the current answer to indicator, or nil.
func (s *Sheet) Answer(indicator string) *Answer {
	i, ok := slices.BinarySearchFunc(s.Answers, indicator, byIndicator)
	if !ok {
		return nil
	}
	return &s.Answers[i]
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
}

// Apply writes change into the sheet as log entry seq made by actor at t. It is the one way a
// sheet changes, used both after a write and when replaying the log.
func (s *Sheet) Apply(c Change, seq int64, actor string, t time.Time) {
	for _, in := range c.Answers {
		a := in
		a.UpdatedBy, a.UpdatedAt = actor, t
		if cur := s.Answer(a.Indicator); cur != nil {
			a.Version = cur.Version + 1
			a.History = append(slices.Clip(cur.History), seq)
			*cur = a
			continue
		}
		a.Version = 1
		a.History = []int64{seq}
		i, _ := slices.BinarySearchFunc(s.Answers, a.Indicator, byIndicator)
		s.Answers = slices.Insert(s.Answers, i, a)
	}
	if c.Status != "" {
		s.Status = c.Status
	}
	s.Seq = seq
	s.UpdatedAt, s.UpdatedBy = t, actor
}

package notify

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/review"
)

// Kind names what arrived on a queue.
type Kind string

// The kinds of notification. Each names whose queue the work arrived on (Audience).
const (
	// KindSheetSubmitted: a sheet was submitted; its answers wait for the country's reviewers.
	KindSheetSubmitted Kind = "sheet.submitted"
	// KindSheetResubmitted: a returned sheet came back; its revised answers wait for the
	// country's reviewers again.
	KindSheetResubmitted Kind = "sheet.resubmitted"
	// KindChangesRequested: reviewers asked for changes on answers; the expert acts on them
	// once the sheet is returned (KindSheetReturned), but learns of them now.
	KindChangesRequested Kind = "answer.changes_requested"
	// KindSentBack: a coordinator sent an approved or resolved answer back to the expert.
	KindSentBack Kind = "answer.sent_back"
	// KindSheetReturned: the sheet went back to its expert (by itself, when the reviewers had
	// finished, or returned whole by a coordinator).
	KindSheetReturned Kind = "sheet.returned"
	// KindDisputed: the expert disputed a request; a coordinator adjudicates it once the
	// sheet is resubmitted. (The resubmission entry does not list the answers still
	// disputed, so the coordinator is told at the dispute itself.)
	KindDisputed Kind = "answer.disputed"
	// KindReadyToLock: every applicable answer is approved or resolved; the sheet waits for a
	// coordinator to lock it.
	KindReadyToLock Kind = "sheet.ready_to_lock"
)

// Kinds lists every kind, in the order From emits them for one entry.
var Kinds = []Kind{KindSheetSubmitted, KindSheetResubmitted, KindChangesRequested, KindSentBack, KindDisputed, KindSheetReturned, KindReadyToLock}

// ValidKind reports whether k is one of Kinds.
func ValidKind(k Kind) bool { return slices.Contains(Kinds, k) }

// Audience names the queue the work arrived on: everyone holding Role for the country of the
// round (coordinators: of the round, or of every round). A webhook's consumer resolves the
// people; the notification names no person, so a blind review stays blind.
type Audience struct {
	Role    auth.Role `json:"role"`
	Round   string    `json:"round"`
	Country string    `json:"country"`
}

// Entry is what From reads of one sheet log entry.
type Entry struct {
	// ID is the entry's log key, "sheet/<round>/<country>/<seq>".
	ID    string
	Round string
	// Country is the sheet's country.
	Country string
	Seq     int64
	Time    time.Time
	Moves   []review.Change
}

// Notification is one piece of work arriving on a queue: the body of a webhook delivery.
type Notification struct {
	// ID is the log entry's key and the kind: unique per notification, the same on every
	// attempt and on every instance, so receivers use it as the idempotency key.
	ID       string   `json:"id"`
	Kind     Kind     `json:"kind"`
	Audience Audience `json:"audience"`
	Round    string   `json:"round"`
	Country  string   `json:"country"`
	// Indicators are the answers concerned, for answer kinds; sorted.
	Indicators []string `json:"indicators,omitempty"`
	// SheetStatus is the state the entry left the sheet in.
	SheetStatus string `json:"sheet_status,omitempty"`
	// ActorRole is the role of whoever made the move ("system" for automatic steps is not
	// used: the move's maker is named by role even when the step was automatic). No user ID:
	// the payload must not undo a blind review.
	ActorRole auth.Role `json:"actor_role"`
	// Entry is the log entry the notification comes from; Time its time.
	Entry string    `json:"entry"`
	Time  time.Time `json:"time"`
}

// EventID is the notification ID of kind for the log entry entryID.
func EventID(entryID string, kind Kind) string { return entryID + "/" + string(kind) }

// EntryID is the key of position seq of the log of the sheet of country in round: the sheet
// log's _id scheme (docs/data-model.md), the position zero-padded to 12 digits.
func EntryID(roundID, country string, seq int64) string {
	return fmt.Sprintf("sheet/%s/%s/%012d", roundID, country, seq)
}

// ParseEntryID splits a sheet log key "sheet/<round>/<country>/<seq>".
func ParseEntryID(id string) (roundID, country string, seq int64, ok bool) {
	parts := strings.Split(id, "/")
	if len(parts) != 4 || parts[0] != "sheet" || parts[1] == "" || parts[2] == "" {
		return "", "", 0, false
	}
	seq, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || seq < 1 {
		return "", "", 0, false
	}
	return parts[1], parts[2], seq, true
}

// From returns the notifications entry e sends, at most one per kind, in the order of Kinds.
// Entries that put no work on anyone's queue (saves, comments, approvals that leave the sheet
// in review, overrides, locks) send none.
func From(e Entry) []Notification {
	found := map[Kind]*Notification{}
	var status string
	var actor auth.Role
	add := func(k Kind, role auth.Role, indicators ...string) {
		n, ok := found[k]
		if !ok {
			n = &Notification{ID: EventID(e.ID, k), Kind: k, Audience: Audience{Role: role, Round: e.Round, Country: e.Country},
				Round: e.Round, Country: e.Country, Entry: e.ID, Time: e.Time.UTC()}
			found[k] = n
		}
		for _, code := range indicators {
			if code != "" && !slices.Contains(n.Indicators, code) {
				n.Indicators = append(n.Indicators, code)
			}
		}
	}
	for _, m := range e.Moves {
		if actor == "" {
			actor = m.Actor.Role
		}
		switch m.Move {
		case review.MoveSendBack:
			add(KindSentBack, auth.RoleExpert, m.Indicator)
		case review.MoveDispute:
			add(KindDisputed, auth.RoleCoordinator, m.Indicator)
		}
		for _, a := range m.Answers {
			// A verdict that completes a version's review with any request in it (the last
			// verdict may be an approval) asks for changes; a send-back is its own kind.
			if a.To == review.AnswerChangesRequested && m.Move != review.MoveSendBack {
				add(KindChangesRequested, auth.RoleExpert, a.Indicator)
			}
		}
		for _, s := range m.Sheet {
			status = string(s.To)
			switch {
			case s.Move == review.MoveSubmit && s.To == review.SheetSubmitted:
				add(KindSheetSubmitted, auth.RoleReviewer)
			case s.Move == review.MoveResubmit:
				add(KindSheetResubmitted, auth.RoleReviewer, submittedBy(m)...)
			}
			switch s.To {
			case review.SheetReturned:
				add(KindSheetReturned, auth.RoleExpert)
			case review.SheetReadyToLock:
				add(KindReadyToLock, auth.RoleCoordinator)
			}
		}
	}
	var out []Notification
	for _, k := range Kinds {
		if n, ok := found[k]; ok {
			slices.Sort(n.Indicators)
			n.SheetStatus, n.ActorRole = status, actor
			out = append(out, *n)
		}
	}
	return out
}

// submittedBy lists the answers a (re)submission sent to review.
func submittedBy(m review.Change) []string {
	var out []string
	for _, a := range m.Answers {
		if a.To == review.AnswerSubmitted {
			out = append(out, a.Indicator)
		}
	}
	return out
}

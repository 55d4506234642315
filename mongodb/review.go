package mongodb

import (
	"time"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/review"
)

// The stored forms of the review side of a sheet: the review moves of a log entry
// (changeDoc.Review) and the review projection checkpointed with the sheet (sheetDoc.Review).
// Names are snake_case and dates are dates, as in the rest of the sheet's documents, so that
// MongoDB tools can ask, say, for every answer with an open dispute (docs/data-model.md).

type reviewActorDoc struct {
	ID   string `bson:"id"`
	Role string `bson:"role"`
}

type answerStepDoc struct {
	Indicator    string `bson:"indicator"`
	From         string `bson:"from"`
	To           string `bson:"to"`
	Inapplicable bool   `bson:"inapplicable,omitempty"`
}

type sheetStepDoc struct {
	Move      string `bson:"move"`
	From      string `bson:"from"`
	To        string `bson:"to"`
	Automatic bool   `bson:"automatic,omitempty"`
}

type verdictDoc struct {
	Reviewer        string    `bson:"reviewer"`
	Decision        string    `bson:"decision"`
	Version         int       `bson:"version"`
	Reason          string    `bson:"reason,omitempty"`
	SuggestedOption string    `bson:"suggested_option,omitempty"`
	SuggestedValue  *float64  `bson:"suggested_value,omitempty"`
	At              time.Time `bson:"at"`
}

type revisionDoc struct {
	Version int       `bson:"version"`
	By      string    `bson:"by"`
	Reason  string    `bson:"reason"`
	At      time.Time `bson:"at"`
}

type rebuttalDoc struct {
	Expert  string    `bson:"expert"`
	Version int       `bson:"version"`
	Text    string    `bson:"text"`
	At      time.Time `bson:"at"`
}

type sendBackDoc struct {
	Coordinator string    `bson:"coordinator"`
	Version     int       `bson:"version"`
	Reason      string    `bson:"reason"`
	At          time.Time `bson:"at"`
}

type adjudicationDoc struct {
	Coordinator   string    `bson:"coordinator"`
	Version       int       `bson:"version"`
	Option        string    `bson:"option,omitempty"`
	Value         *float64  `bson:"value,omitempty"`
	Text          string    `bson:"text,omitempty"`
	NotApplicable bool      `bson:"not_applicable,omitempty"`
	Rationale     string    `bson:"rationale"`
	At            time.Time `bson:"at"`
}

type overrideDoc struct {
	Coordinator string    `bson:"coordinator"`
	Version     int       `bson:"version"`
	Score       *float64  `bson:"score"` // null withdraws the override in force
	Reason      string    `bson:"reason"`
	At          time.Time `bson:"at"`
}

type commentTextDoc struct {
	Text string    `bson:"text"`
	At   time.Time `bson:"at"`
}

type commentDoc struct {
	ID         int              `bson:"id"`
	Author     string           `bson:"author,omitempty"`
	Role       string           `bson:"role,omitempty"`
	Text       string           `bson:"text,omitempty"`
	ReplyTo    int              `bson:"reply_to,omitempty"`
	Version    int              `bson:"version,omitempty"`
	Resolved   bool             `bson:"resolved,omitempty"`
	ResolvedBy string           `bson:"resolved_by,omitempty"`
	Earlier    []commentTextDoc `bson:"earlier,omitempty"`
	At         time.Time        `bson:"at,omitzero"`
	EditedAt   time.Time        `bson:"edited_at,omitzero"`
}

// reviewChangeDoc is one review move of a log entry.
type reviewChangeDoc struct {
	Move         string           `bson:"move"`
	Actor        reviewActorDoc   `bson:"actor"`
	Indicator    string           `bson:"indicator,omitempty"`
	Version      int              `bson:"version,omitempty"`
	Reason       string           `bson:"reason,omitempty"`
	Answers      []answerStepDoc  `bson:"answers,omitempty"`
	Sheet        []sheetStepDoc   `bson:"sheet,omitempty"`
	Verdict      *verdictDoc      `bson:"verdict,omitempty"`
	Rebuttal     *rebuttalDoc     `bson:"rebuttal,omitempty"`
	Adjudication *adjudicationDoc `bson:"adjudication,omitempty"`
	Override     *overrideDoc     `bson:"override,omitempty"`
	SendBack     *sendBackDoc     `bson:"send_back,omitempty"`
	Comment      *commentDoc      `bson:"comment,omitempty"`
}

// reviewAnswerDoc is one answer of the review projection.
type reviewAnswerDoc struct {
	Indicator     string            `bson:"indicator"`
	State         string            `bson:"state"`
	Version       int               `bson:"version"`
	Author        string            `bson:"author,omitempty"`
	Authors       []string          `bson:"authors,omitempty"`
	Inapplicable  bool              `bson:"inapplicable,omitempty"`
	Verdicts      []verdictDoc      `bson:"verdicts,omitempty"`
	Revisions     []revisionDoc     `bson:"revisions,omitempty"`
	Rebuttals     []rebuttalDoc     `bson:"rebuttals,omitempty"`
	SendBacks     []sendBackDoc     `bson:"send_backs,omitempty"`
	Adjudications []adjudicationDoc `bson:"adjudications,omitempty"`
	Overrides     []overrideDoc     `bson:"overrides,omitempty"`
	Comments      []commentDoc      `bson:"comments,omitempty"`
}

type statusChangeDoc struct {
	Move      string    `bson:"move"`
	From      string    `bson:"from"`
	To        string    `bson:"to"`
	By        string    `bson:"by,omitempty"`
	Reason    string    `bson:"reason,omitempty"`
	Automatic bool      `bson:"automatic,omitempty"`
	At        time.Time `bson:"at"`
}

// reviewSheetDoc is the review projection of a sheet; its state is the sheet's status.
type reviewSheetDoc struct {
	Answers      []reviewAnswerDoc `bson:"answers,omitempty"`
	History      []statusChangeDoc `bson:"history,omitempty"`
	Participants []reviewActorDoc  `bson:"participants,omitempty"`
}

// convert maps a slice through f; nil stays nil, so that empty lists are left out.
func convert[T, U any](in []T, f func(T) U) []U {
	if len(in) == 0 {
		return nil
	}
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// ptr maps a pointer through f; nil stays nil.
func ptr[T, U any](in *T, f func(T) U) *U {
	if in == nil {
		return nil
	}
	out := f(*in)
	return &out
}

func utc(t time.Time) time.Time { return t.UTC() }

func toVerdictDoc(v review.Verdict) verdictDoc {
	return verdictDoc{v.Reviewer, string(v.Decision), v.Version, v.Reason, v.SuggestedOption, v.SuggestedValue, utc(v.At)}
}
func fromVerdictDoc(v verdictDoc) review.Verdict {
	return review.Verdict{Reviewer: v.Reviewer, Decision: review.Decision(v.Decision), Version: v.Version, Reason: v.Reason,
		SuggestedOption: v.SuggestedOption, SuggestedValue: v.SuggestedValue, At: utc(v.At)}
}
func toRevisionDoc(r review.Revision) revisionDoc {
	return revisionDoc{r.Version, r.By, r.Reason, utc(r.At)}
}
func fromRevisionDoc(r revisionDoc) review.Revision {
	return review.Revision{Version: r.Version, By: r.By, Reason: r.Reason, At: utc(r.At)}
}
func toRebuttalDoc(r review.Rebuttal) rebuttalDoc {
	return rebuttalDoc{r.Expert, r.Version, r.Text, utc(r.At)}
}
func fromRebuttalDoc(r rebuttalDoc) review.Rebuttal {
	return review.Rebuttal{Expert: r.Expert, Version: r.Version, Text: r.Text, At: utc(r.At)}
}
func toSendBackDoc(r review.SendBack) sendBackDoc {
	return sendBackDoc{r.Coordinator, r.Version, r.Reason, utc(r.At)}
}
func fromSendBackDoc(r sendBackDoc) review.SendBack {
	return review.SendBack{Coordinator: r.Coordinator, Version: r.Version, Reason: r.Reason, At: utc(r.At)}
}
func toAdjudicationDoc(a review.Adjudication) adjudicationDoc {
	return adjudicationDoc{a.Coordinator, a.Version, a.Option, a.Value, a.Text, a.NotApplicable, a.Rationale, utc(a.At)}
}
func fromAdjudicationDoc(a adjudicationDoc) review.Adjudication {
	return review.Adjudication{Coordinator: a.Coordinator, Version: a.Version, Option: a.Option, Value: a.Value, Text: a.Text,
		NotApplicable: a.NotApplicable, Rationale: a.Rationale, At: utc(a.At)}
}
func toOverrideDoc(o review.Override) overrideDoc {
	return overrideDoc{o.Coordinator, o.Version, o.Score, o.Reason, utc(o.At)}
}
func fromOverrideDoc(o overrideDoc) review.Override {
	return review.Override{Coordinator: o.Coordinator, Version: o.Version, Score: o.Score, Reason: o.Reason, At: utc(o.At)}
}
func toCommentDoc(c review.Comment) commentDoc {
	return commentDoc{ID: c.ID, Author: c.Author, Role: string(c.Role), Text: c.Text, ReplyTo: c.ReplyTo, Version: c.Version,
		Resolved: c.Resolved, ResolvedBy: c.ResolvedBy, At: utc(c.At), EditedAt: utc(c.EditedAt),
		Earlier: convert(c.Earlier, func(t review.CommentText) commentTextDoc { return commentTextDoc{t.Text, utc(t.At)} })}
}
func fromCommentDoc(c commentDoc) review.Comment {
	return review.Comment{ID: c.ID, Author: c.Author, Role: auth.Role(c.Role), Text: c.Text, ReplyTo: c.ReplyTo, Version: c.Version,
		Resolved: c.Resolved, ResolvedBy: c.ResolvedBy, At: utc(c.At), EditedAt: utc(c.EditedAt),
		Earlier: convert(c.Earlier, func(t commentTextDoc) review.CommentText { return review.CommentText{Text: t.Text, At: utc(t.At)} })}
}

func toReviewChangeDoc(c review.Change) reviewChangeDoc {
	return reviewChangeDoc{
		Move: string(c.Move), Actor: reviewActorDoc{c.Actor.ID, string(c.Actor.Role)}, Indicator: c.Indicator, Version: c.Version, Reason: c.Reason,
		Answers: convert(c.Answers, func(s review.AnswerStep) answerStepDoc {
			return answerStepDoc{s.Indicator, string(s.From), string(s.To), s.Inapplicable}
		}),
		Sheet: convert(c.Sheet, func(s review.SheetStep) sheetStepDoc {
			return sheetStepDoc{string(s.Move), string(s.From), string(s.To), s.Automatic}
		}),
		Verdict: ptr(c.Verdict, toVerdictDoc), Rebuttal: ptr(c.Rebuttal, toRebuttalDoc), Adjudication: ptr(c.Adjudication, toAdjudicationDoc),
		Override: ptr(c.Override, toOverrideDoc), SendBack: ptr(c.SendBack, toSendBackDoc), Comment: ptr(c.Comment, toCommentDoc),
	}
}

func fromReviewChangeDoc(c reviewChangeDoc) review.Change {
	return review.Change{
		Move: review.Move(c.Move), Actor: review.Actor{ID: c.Actor.ID, Role: auth.Role(c.Actor.Role)}, Indicator: c.Indicator, Version: c.Version, Reason: c.Reason,
		Answers: convert(c.Answers, func(s answerStepDoc) review.AnswerStep {
			return review.AnswerStep{Indicator: s.Indicator, From: review.AnswerState(s.From), To: review.AnswerState(s.To), Inapplicable: s.Inapplicable}
		}),
		Sheet: convert(c.Sheet, func(s sheetStepDoc) review.SheetStep {
			return review.SheetStep{Move: review.Move(s.Move), From: review.SheetState(s.From), To: review.SheetState(s.To), Automatic: s.Automatic}
		}),
		Verdict: ptr(c.Verdict, fromVerdictDoc), Rebuttal: ptr(c.Rebuttal, fromRebuttalDoc), Adjudication: ptr(c.Adjudication, fromAdjudicationDoc),
		Override: ptr(c.Override, fromOverrideDoc), SendBack: ptr(c.SendBack, fromSendBackDoc), Comment: ptr(c.Comment, fromCommentDoc),
	}
}

func toReviewSheetDoc(s *review.Sheet) *reviewSheetDoc {
	if s.AnswerCount() == 0 && len(s.History) == 0 && len(s.Participants) == 0 {
		return nil
	}
	d := &reviewSheetDoc{
		History: convert(s.History, func(h review.StatusChange) statusChangeDoc {
			return statusChangeDoc{string(h.Move), string(h.From), string(h.To), h.By, h.Reason, h.Automatic, utc(h.At)}
		}),
		Participants: convert(s.Participants, func(p review.Participant) reviewActorDoc { return reviewActorDoc{p.ID, string(p.Role)} }),
	}
	for a := range s.EachAnswer() {
		d.Answers = append(d.Answers, reviewAnswerDoc{
			Indicator: a.Indicator, State: string(a.State), Version: a.Version, Author: a.Author, Authors: a.Authors, Inapplicable: a.Inapplicable,
			Verdicts: convert(a.Verdicts, toVerdictDoc), Revisions: convert(a.Revisions, toRevisionDoc), Rebuttals: convert(a.Rebuttals, toRebuttalDoc),
			SendBacks: convert(a.SendBacks, toSendBackDoc), Adjudications: convert(a.Adjudications, toAdjudicationDoc),
			Overrides: convert(a.Overrides, toOverrideDoc), Comments: convert(a.Comments, toCommentDoc),
		})
	}
	return d
}

// fromReviewSheetDoc rebuilds the review projection of a sheet whose status is status.
func fromReviewSheetDoc(d *reviewSheetDoc, status string) review.Sheet {
	s := review.Sheet{State: review.SheetState(status)}
	if d == nil {
		return s
	}
	s.History = convert(d.History, func(h statusChangeDoc) review.StatusChange {
		return review.StatusChange{Move: review.Move(h.Move), From: review.SheetState(h.From), To: review.SheetState(h.To), By: h.By,
			Reason: h.Reason, Automatic: h.Automatic, At: utc(h.At)}
	})
	s.Participants = convert(d.Participants, func(p reviewActorDoc) review.Participant {
		return review.Participant{ID: p.ID, Role: auth.Role(p.Role)}
	})
	s.SetAnswers(convert(d.Answers, func(a reviewAnswerDoc) review.Answer {
		return review.Answer{
			Indicator: a.Indicator, State: review.AnswerState(a.State), Version: a.Version, Author: a.Author, Authors: a.Authors, Inapplicable: a.Inapplicable,
			Verdicts: convert(a.Verdicts, fromVerdictDoc), Revisions: convert(a.Revisions, fromRevisionDoc), Rebuttals: convert(a.Rebuttals, fromRebuttalDoc),
			SendBacks: convert(a.SendBacks, fromSendBackDoc), Adjudications: convert(a.Adjudications, fromAdjudicationDoc),
			Overrides: convert(a.Overrides, fromOverrideDoc), Comments: convert(a.Comments, fromCommentDoc),
		}
	}))
	return s
}

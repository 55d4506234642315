package review

import (
	"slices"

	"github.com/expertsurvey/expertsurvey/auth"
)

// AnswerState is where one answer stands in review.
type AnswerState string

// Answer states; the package doc draws how they connect.
const (
	// AnswerDraft: written by the expert, not yet handed to review (also every answer that
	// nobody has written: the zero Answer).
	AnswerDraft AnswerState = "draft"
	// AnswerSubmitted: waiting for verdicts on its current version.
	AnswerSubmitted AnswerState = "submitted"
	// AnswerApproved: as many reviewers as the round asks for approved the current version.
	AnswerApproved AnswerState = "approved"
	// AnswerChangesRequested: a reviewer (or a coordinator sending it back) wants it changed;
	// it waits for the expert.
	AnswerChangesRequested AnswerState = "changes_requested"
	// AnswerRevised: the expert changed it after a request, with a reason; it goes back to
	// review when the sheet is resubmitted.
	AnswerRevised AnswerState = "revised"
	// AnswerDisputed: the expert rebutted the request; a coordinator adjudicates it once the
	// sheet is resubmitted.
	AnswerDisputed AnswerState = "disputed"
	// AnswerResolved: a coordinator adjudicated it; the answer took the final option.
	AnswerResolved AnswerState = "resolved"
)

// AnswerStates lists every answer state, in workflow order.
var AnswerStates = []AnswerState{AnswerDraft, AnswerSubmitted, AnswerApproved, AnswerChangesRequested, AnswerRevised, AnswerDisputed, AnswerResolved}

// SheetState is where a country's sheet stands. The values are those of round.SheetStatus, so
// that the round package converts with a plain type conversion.
type SheetState string

// Sheet states.
const (
	SheetNotStarted  SheetState = "not_started"
	SheetInProgress  SheetState = "in_progress"
	SheetSubmitted   SheetState = "submitted"
	SheetInReview    SheetState = "in_review"
	SheetReturned    SheetState = "returned"
	SheetReadyToLock SheetState = "ready_to_lock"
	SheetLocked      SheetState = "locked"
)

// SheetStates lists every sheet state, in workflow order.
var SheetStates = []SheetState{SheetNotStarted, SheetInProgress, SheetSubmitted, SheetInReview, SheetReturned, SheetReadyToLock, SheetLocked}

// Move is one step of the workflow: something a person does, or (for the automatic sheet moves)
// something that follows from what they did. Its value is the log action, e.g. "review.approve".
type Move string

// Moves of an answer.
const (
	MoveSave           Move = "review.save"
	MoveConfirm        Move = "review.confirm"
	MoveSubmit         Move = "review.submit"
	MoveApprove        Move = "review.approve"
	MoveRequestChanges Move = "review.request_changes"
	MoveRevise         Move = "review.revise"
	MoveDispute        Move = "review.dispute"
	MoveAdjudicate     Move = "review.adjudicate"
	MoveSendBack       Move = "review.send_back"
	MoveOverride       Move = "review.override"
	MoveComment        Move = "review.comment"
	// MoveEditComment and MoveResolveComment change a comment, not a state; they are not in
	// the table (the rules of comments are in comments.go).
	MoveEditComment    Move = "review.comment_edit"
	MoveResolveComment Move = "review.comment_resolve"
)

// Moves of a sheet. MoveSave, MoveConfirm and MoveSubmit are moves of both: a save or a
// confirmation starts a sheet, and a submission hands the sheet and its answers to review.
const (
	MoveStartReview Move = "review.start_review"
	MoveReturn      Move = "review.return"
	MoveResubmit    Move = "review.resubmit"
	MoveReadyToLock Move = "review.ready_to_lock"
	MoveLock        Move = "review.lock"
	MoveReopen      Move = "review.reopen"
)

// The roles a move can be made in. An admin acts as a coordinator (Actor.Role may say
// auth.RoleAdmin; the checks read it as auth.RoleCoordinator).
var (
	expertOrCoordinator   = []auth.Role{auth.RoleExpert, auth.RoleCoordinator}
	reviewerOrCoordinator = []auth.Role{auth.RoleReviewer, auth.RoleCoordinator}
	coordinatorOnly       = []auth.Role{auth.RoleCoordinator}
	everyone              = []auth.Role{auth.RoleExpert, auth.RoleReviewer, auth.RoleCoordinator}
)

// Groups of sheet states in which answer moves are allowed.
var (
	// editing: the expert holds the sheet (before the first submission, and when returned).
	editing = []SheetState{SheetNotStarted, SheetInProgress, SheetReturned}
	// reviewing: reviewers hold the sheet.
	reviewing = []SheetState{SheetSubmitted, SheetInReview}
	// afterSubmission: every state from the first submission until the lock.
	afterSubmission = []SheetState{SheetSubmitted, SheetInReview, SheetReturned, SheetReadyToLock}
	// unlocked: every state but locked.
	unlocked = []SheetState{SheetNotStarted, SheetInProgress, SheetSubmitted, SheetInReview, SheetReturned, SheetReadyToLock}
)

// AnswerTransition is one row of the answer table: in state From, while the sheet is in one
// of Sheet, a person acting in one of Roles may make Move, and the answer goes to To.
type AnswerTransition struct {
	From  AnswerState
	Move  Move
	Sheet []SheetState
	Roles []auth.Role
	To    AnswerState
}

// AnswerTable is every legal move of an answer. Verdicts (approve, request changes) reach To
// with the last of the round's reviewers_per_answer verdicts on the answer's version; until
// then the answer stays submitted. Submit rows are made by the sheet's Submit and Resubmit,
// for every answer at once; override and comment leave the state as it is.
var AnswerTable = func() []AnswerTransition {
	t := []AnswerTransition{
		{AnswerDraft, MoveSave, editing, expertOrCoordinator, AnswerDraft},
		// Confirming an answer carried from the previous round makes it the expert's; carried
		// answers are all confirmed before the first submission.
		{AnswerDraft, MoveConfirm, []SheetState{SheetNotStarted, SheetInProgress}, expertOrCoordinator, AnswerDraft},
		{AnswerDraft, MoveSubmit, editing, expertOrCoordinator, AnswerSubmitted},
		{AnswerRevised, MoveSubmit, []SheetState{SheetReturned}, expertOrCoordinator, AnswerSubmitted},

		{AnswerSubmitted, MoveApprove, reviewing, reviewerOrCoordinator, AnswerApproved},
		{AnswerSubmitted, MoveRequestChanges, reviewing, reviewerOrCoordinator, AnswerChangesRequested},

		// A returned sheet is the expert's again: every answer not yet settled may be revised,
		// including one still waiting for verdicts when a coordinator returned the whole sheet.
		{AnswerSubmitted, MoveRevise, []SheetState{SheetReturned}, expertOrCoordinator, AnswerRevised},
		{AnswerChangesRequested, MoveRevise, []SheetState{SheetReturned}, expertOrCoordinator, AnswerRevised},
		{AnswerRevised, MoveRevise, []SheetState{SheetReturned}, expertOrCoordinator, AnswerRevised},
		{AnswerDisputed, MoveRevise, []SheetState{SheetReturned}, expertOrCoordinator, AnswerRevised},

		{AnswerChangesRequested, MoveDispute, []SheetState{SheetReturned}, []auth.Role{auth.RoleExpert}, AnswerDisputed},

		// Disputes reach the coordinator with the resubmission; a coordinator may also settle a
		// request at once, without waiting for the expert.
		{AnswerDisputed, MoveAdjudicate, []SheetState{SheetInReview}, coordinatorOnly, AnswerResolved},
		{AnswerChangesRequested, MoveAdjudicate, []SheetState{SheetInReview, SheetReturned}, coordinatorOnly, AnswerResolved},

		{AnswerApproved, MoveSendBack, []SheetState{SheetInReview, SheetReturned, SheetReadyToLock}, coordinatorOnly, AnswerChangesRequested},
		{AnswerResolved, MoveSendBack, []SheetState{SheetInReview, SheetReturned, SheetReadyToLock}, coordinatorOnly, AnswerChangesRequested},
	}
	for _, s := range AnswerStates {
		if s != AnswerDraft {
			t = append(t, AnswerTransition{s, MoveOverride, afterSubmission, coordinatorOnly, s})
		}
		t = append(t, AnswerTransition{s, MoveComment, unlocked, everyone, s})
	}
	return t
}()

// SheetTransition is one row of the sheet table. Automatic rows have no roles: they follow
// from an answer move (the first verdict starts the review; when nothing waits for a reviewer
// or a coordinator, the sheet goes back to the expert or becomes ready to lock) and are
// written in the same log entry as that move.
type SheetTransition struct {
	From      SheetState
	Move      Move
	Roles     []auth.Role
	To        SheetState
	Automatic bool
}

// SheetTable is every legal move of a sheet.
var SheetTable = []SheetTransition{
	{From: SheetNotStarted, Move: MoveSave, Roles: expertOrCoordinator, To: SheetInProgress},
	{From: SheetInProgress, Move: MoveSave, Roles: expertOrCoordinator, To: SheetInProgress},
	{From: SheetReturned, Move: MoveSave, Roles: expertOrCoordinator, To: SheetReturned},
	{From: SheetNotStarted, Move: MoveConfirm, Roles: expertOrCoordinator, To: SheetInProgress},
	{From: SheetInProgress, Move: MoveConfirm, Roles: expertOrCoordinator, To: SheetInProgress},
	// Carried answers can make a sheet complete before anyone saved; hence not_started.
	{From: SheetNotStarted, Move: MoveSubmit, Roles: expertOrCoordinator, To: SheetSubmitted},
	{From: SheetInProgress, Move: MoveSubmit, Roles: expertOrCoordinator, To: SheetSubmitted},
	{From: SheetSubmitted, Move: MoveStartReview, To: SheetInReview, Automatic: true},
	{From: SheetSubmitted, Move: MoveReturn, Roles: coordinatorOnly, To: SheetReturned},
	{From: SheetInReview, Move: MoveReturn, Roles: coordinatorOnly, To: SheetReturned},
	{From: SheetReadyToLock, Move: MoveReturn, Roles: coordinatorOnly, To: SheetReturned},
	{From: SheetInReview, Move: MoveReturn, To: SheetReturned, Automatic: true},
	{From: SheetReadyToLock, Move: MoveReturn, To: SheetReturned, Automatic: true},
	{From: SheetReturned, Move: MoveResubmit, Roles: expertOrCoordinator, To: SheetInReview},
	{From: SheetInReview, Move: MoveReadyToLock, To: SheetReadyToLock, Automatic: true},
	{From: SheetReadyToLock, Move: MoveLock, Roles: coordinatorOnly, To: SheetLocked},
	// A reopened sheet is ready to lock again: to correct an answer, a coordinator sends it
	// back (which returns the sheet to its expert) or overrides its score.
	{From: SheetLocked, Move: MoveReopen, Roles: coordinatorOnly, To: SheetReadyToLock},
}

// acting is the role the checks read: an admin acts as a coordinator.
func acting(r auth.Role) auth.Role {
	if r == auth.RoleAdmin {
		return auth.RoleCoordinator
	}
	return r
}

// MoveRoles lists the roles that may make move in some state, in the table's order (the role
// the move is meant for first).
func MoveRoles(move Move) []auth.Role {
	var out []auth.Role
	add := func(rs []auth.Role) {
		for _, r := range rs {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	switch move {
	case MoveEditComment, MoveResolveComment:
		add(everyone)
	}
	for _, t := range AnswerTable {
		if t.Move == move {
			add(t.Roles)
		}
	}
	for _, t := range SheetTable {
		if t.Move == move {
			add(t.Roles)
		}
	}
	return out
}

// answerRow finds the row of the answer table for move from state while the sheet is in sheet.
func answerRow(from AnswerState, move Move, sheet SheetState) (AnswerTransition, bool) {
	for _, t := range AnswerTable {
		if t.From == from && t.Move == move && slices.Contains(t.Sheet, sheet) {
			return t, true
		}
	}
	return AnswerTransition{}, false
}

// sheetRow finds the row of the sheet table for an explicit move from state.
func sheetRow(from SheetState, move Move) (SheetTransition, bool) {
	for _, t := range SheetTable {
		if t.From == from && t.Move == move && !t.Automatic {
			return t, true
		}
	}
	return SheetTransition{}, false
}

// automatic returns the automatic row for move from state; the table must have it.
func automatic(from SheetState, move Move) SheetStep {
	for _, t := range SheetTable {
		if t.From == from && t.Move == move && t.Automatic {
			return SheetStep{Move: move, From: from, To: t.To, Automatic: true}
		}
	}
	panic("review: no automatic sheet move " + string(move) + " from " + string(from))
}

// Package review is the peer-review workflow of a country's sheet: the states of the sheet and
// of each answer, every legal move between them as one table (AnswerTable and SheetTable, data
// that the tests walk), a method per move that checks role, states and input and returns the
// Change to append to the sheet's log, and the projection (Sheet.Apply) that folds the log back
// into the current state. It also holds what is computed from that state: comments, blind
// labels, progress counts and inter-reviewer agreement. It imports neither Echo nor the
// database driver, and not the round package (round imports it).
//
// # The workflow
//
// The expert writes answers (draft) and submits the sheet; every applicable answer becomes
// submitted. Reviewers give verdicts on a version of an answer: approve, or request changes
// with a reason and optionally a suggested option or value. When the round's
// reviewers_per_answer distinct reviewers have ruled on the version, the answer is approved
// if all approved, and changes_requested otherwise (a disagreement between reviewers goes to
// the expert like a plain request). A coordinator's verdict counts as a reviewer's.
//
//	answer             move              by                     sheet               next
//	draft              save              expert, coordinator    expert holds it     draft
//	draft              confirm (carried) expert, coordinator    before submission   draft
//	draft              submit            expert, coordinator    expert holds it     submitted
//	submitted          approve           reviewer, coordinator  submitted/in_review approved (Nth verdict)
//	submitted          request_changes   reviewer, coordinator  submitted/in_review changes_requested (Nth)
//	submitted, changes_requested,
//	revised, disputed  revise            expert, coordinator    returned            revised
//	changes_requested  dispute           expert                 returned            disputed
//	revised            submit            expert, coordinator    returned            submitted (resubmission)
//	disputed           adjudicate        coordinator            in_review           resolved
//	changes_requested  adjudicate        coordinator            in_review/returned  resolved
//	approved, resolved send_back         coordinator            in_review/returned/ready_to_lock  changes_requested
//	any but draft      override          coordinator            submitted, not locked  (unchanged)
//	any                comment           all three              not locked          (unchanged)
//
// The sheet follows its answers. The first verdict starts the review (submitted -> in_review).
// After every verdict, adjudication or send-back, when no answer waits for a reviewer
// (submitted) or a coordinator (disputed), the sheet goes back to the expert by itself if some
// answer needs them (returned), and is ready_to_lock if every applicable answer is approved or
// resolved. A coordinator may also return the sheet whole, with a reason. While it is
// returned the expert revises answers (a reason for the change is required, and the new
// version makes earlier verdicts history: they stay, tagged with the version they were given
// on) or disputes requests with a comment; then resubmits, which is refused while a request is
// unanswered. Resubmission sends the revised answers back to review and the disputed ones to a
// coordinator, who adjudicates (final option or value and a rationale; the answer takes the
// final content as a new version and is resolved). Approved and resolved answers stay so; a
// coordinator can send one back with a reason. A coordinator locks a ready sheet; nothing
// changes a locked sheet but reopening it (with a reason), which makes it ready to lock again.
// Overrides replace an answer's score with a reason, in any state after submission, without
// moving it. Comments form a thread per answer; see Comment for who edits what.
//
// Every move names the answer version it was based on: a move on another version is refused
// with a *StaleError carrying the current answer. Nobody gives a verdict on an answer they
// wrote any version of (ErrSelfReview). The checks run in this order, so the error says the
// most useful thing: actor and role (ErrForbidden), lock (ErrLocked), states
// (ErrInvalidTransition), role for those states (ErrForbidden), self-review, version
// (ErrStale), repeated verdict (ErrAlreadyReviewed), input (*ValidationError naming the fields).
//
// # Wiring into the round
//
// round.Sheet keeps a review.Sheet beside its answers, and round.Change carries the review
// changes of its log entry ([]review.Change: one per move, several for a bulk approval, which
// must be one entry to be all or nothing). Every move is one log entry, so two people acting
// at once collide on the log's unique sequence number and the loser re-reads and retries (or
// gets the 412):
//
//	actor, err := review.ActorFor(principal, round, country, review.MoveApprove)
//	sheet, err := sheets.UpdateSheet(ctx, round, country, func(sh *round.Sheet) (*round.Change, error) {
//		sh.Review.ReviewersPerAnswer = r.ReviewersPerAnswer
//		rc, err := sh.Review.Approve(actor, indicator, ifVersion)
//		if err != nil {
//			return nil, err // a *review.StaleError becomes a round.StaleError with the content
//		}
//		return &round.Change{Action: string(rc.Move), Review: []review.Change{rc}, Status: round.SheetStatus(rc.SheetState())}, nil
//	})
//
// and round.Sheet.Apply calls Sheet.Apply(rc, t) for each of them after writing the content.
// The review.Sheet is stored with the projection (ReviewersPerAnswer aside, which the caller
// sets from the round before each move). Per move:
//
//   - answer save (PUT answer): Edit (Save before the first submission, Revise after; the
//     reason is the request's reason for change). The change writes a new content version:
//     round writes the content in the same entry (WritesContent).
//   - submit / resubmit: Submit or Resubmit with the applicable indicator codes, after the
//     round's completeness check.
//   - approve, request changes, dispute, send back, override, comments: the method of that
//     name; bulk approval: ApproveMany (with Awaiting for "all remaining"), one change per
//     answer appended together.
//   - adjudicate: Adjudicate after checking the final content against the indicator; the
//     round writes Adjudication's option/value/text as the answer's new version in the same
//     entry.
//   - return, lock, reopen: Return, Lock, Reopen.
//   - confirming carried answers (one, a group, the sheet): Confirm, one change per answer.
//   - writes outside the workflow (carrying forward, imports,
//     applicability flags written beside another answer): Sheet.Wrote with the round's new
//     version and author, so that Answer.Version stays round.Answer.Version.
//
// Views label people through NewLabels(viewer, round.BlindReview, sheet.Participants, names);
// the dashboard reads Sheet.Progress; the work queue reads Answer.AwaitsVerdictFrom,
// Answer.OpenRequests and the states; the calibration view reads AgreementOf and
// AgreementByIndicator over the answers of a round's sheets.
package review

package auth

import (
	"fmt"
	"slices"
)

// Action is something a principal asks to do. Later features add constants here and a case in
// Can; an action Can does not know is refused.
type Action string

// Actions.
const (
	ReadQuestionnaire  Action = "questionnaire.read"
	WriteQuestionnaire Action = "questionnaire.write"
	ReadRound          Action = "round.read"
	ManageRound        Action = "round.manage"
	ReadSheet          Action = "sheet.read"
	WriteAnswer        Action = "answer.write"
	ReviewAnswer       Action = "answer.review"
	CommentAnswer      Action = "answer.comment"
	Adjudicate         Action = "answer.adjudicate"
	OverrideScore      Action = "score.override"
	LockSheet          Action = "sheet.lock"
	ReopenSheet        Action = "sheet.reopen"
	ManageUsers        Action = "users.manage"
	ManageAssignments  Action = "assignments.manage"
	ReadAudit          Action = "audit.read"
)

// Scope is what an action applies to. Round and Country are empty when the action is not about
// one (creating a round, listing users). Author is the user who wrote the answer under review:
// ReviewAnswer is refused without it, because nobody may review their own answer.
type Scope struct {
	Round   string
	Country string
	Author  string
}

// Principal is an authenticated user as the policy sees it.
type Principal struct {
	UserID      string
	Admin       bool
	Disabled    bool
	Assignments []Assignment
}

// Can returns nil when p may do action on scope, and an error wrapping ErrForbidden otherwise.
// It is the one place where the access rules live:
//
//   - nobody unauthenticated or disabled may do anything;
//   - nobody reviews their own answer, admins included;
//   - admins may do everything else;
//   - coordinators may do everything within their rounds (all rounds when global) except
//     manage users and assignments; only global coordinators edit questionnaires and create
//     rounds, because those span rounds;
//   - experts read and write the answers of their countries and comment; they never review,
//     adjudicate or lock;
//   - reviewers read, review and comment in their countries; they never edit answer content.
func (p Principal) Can(action Action, scope Scope) error {
	if p.UserID == "" {
		return forbidden(action, "not authenticated")
	}
	if p.Disabled {
		return forbidden(action, "user is disabled")
	}
	if action == ReviewAnswer {
		if scope.Author == "" {
			return forbidden(action, "the answer's author is required")
		}
		if scope.Author == p.UserID {
			return forbidden(action, "nobody reviews their own answer")
		}
	}
	if p.Admin {
		return nil
	}
	coordinates := p.coordinates(scope.Round)
	var ok bool
	switch action {
	case ReadQuestionnaire:
		ok = true // the instrument is what every assigned user works from
	case WriteQuestionnaire:
		ok = p.coordinatesAll()
	case ReadRound:
		ok = coordinates || p.hasRound(scope.Round)
	case ManageRound:
		ok = coordinates || (scope.Round == "" && p.coordinatesAll())
	case ReadSheet, CommentAnswer:
		ok = coordinates || p.has(RoleExpert, scope) || p.has(RoleReviewer, scope)
	case WriteAnswer:
		ok = coordinates || p.has(RoleExpert, scope)
	case ReviewAnswer:
		ok = coordinates || p.has(RoleReviewer, scope)
	case Adjudicate, OverrideScore, LockSheet, ReopenSheet:
		ok = coordinates
	case ReadAudit:
		ok = coordinates || (scope.Round == "" && p.coordinatesAll())
	case ManageUsers, ManageAssignments:
		ok = false
	default:
		return forbidden(action, "unknown action")
	}
	if !ok {
		return forbidden(action, "not assigned")
	}
	return nil
}

// CanReview is Can(ReviewAnswer, ...) spelled so that a caller cannot forget the author.
func (p Principal) CanReview(round, country, author string) error {
	return p.Can(ReviewAnswer, Scope{Round: round, Country: country, Author: author})
}

// SeesAllCountries tells whether p sees every country of round (admins and its coordinators);
// list endpoints then skip the filter of Countries.
func (p Principal) SeesAllCountries(round string) bool {
	if p.UserID == "" || p.Disabled {
		return false
	}
	return p.Admin || p.coordinates(round)
}

// Countries lists, sorted, the countries of round in which p holds role (RoleExpert or
// RoleReviewer), for list endpoints that show a user only their sheets. With RoleNone it lists
// the countries of any role.
func (p Principal) Countries(round string, role Role) []string {
	if p.UserID == "" || p.Disabled {
		return nil
	}
	var out []string
	for _, a := range p.Assignments {
		if a.Country == "" || a.Round != round || (role != RoleNone && a.Role != role) {
			continue
		}
		if !slices.Contains(out, a.Country) {
			out = append(out, a.Country)
		}
	}
	slices.Sort(out)
	return out
}

// Rounds lists, sorted, the rounds p is assigned to in any role; all is true for admins and
// global coordinators, who see every round.
func (p Principal) Rounds() (rounds []string, all bool) {
	if p.UserID == "" || p.Disabled {
		return nil, false
	}
	if p.Admin || p.coordinatesAll() {
		return nil, true
	}
	for _, a := range p.Assignments {
		if !slices.Contains(rounds, a.Round) {
			rounds = append(rounds, a.Round)
		}
	}
	slices.Sort(rounds)
	return rounds, false
}

func (p Principal) coordinatesAll() bool {
	return slices.Contains(p.Assignments, Assignment{Role: RoleCoordinator, Round: AllRounds})
}

func (p Principal) coordinates(round string) bool {
	return p.coordinatesAll() ||
		(round != "" && slices.Contains(p.Assignments, Assignment{Role: RoleCoordinator, Round: round}))
}

func (p Principal) hasRound(round string) bool {
	return round != "" && slices.ContainsFunc(p.Assignments, func(a Assignment) bool { return a.Round == round })
}

func (p Principal) has(role Role, s Scope) bool {
	return s.Round != "" && s.Country != "" &&
		slices.Contains(p.Assignments, Assignment{Role: role, Round: s.Round, Country: s.Country})
}

func forbidden(action Action, reason string) error {
	return fmt.Errorf("%w: %s: %s", ErrForbidden, action, reason)
}

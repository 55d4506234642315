package review

import (
	"fmt"
	"slices"

	"github.com/expertsurvey/expertsurvey/auth"
)

// ActorFor returns the role in which p makes move on the sheet of country in round: the first
// role the move allows (in the order of MoveRoles: the role the move is meant for first) that
// p holds there. Experts and reviewers hold their role through an assignment to the country;
// coordinators of the round (or of every round) and admins act as coordinators. A user who
// holds none of the move's roles gets an error wrapping ErrForbidden.
func ActorFor(p auth.Principal, round, country string, move Move) (Actor, error) {
	if p.UserID == "" || p.Disabled {
		return Actor{}, fmt.Errorf("%w: %s: not an active user", ErrForbidden, move)
	}
	for _, role := range MoveRoles(move) {
		var holds bool
		switch role {
		case auth.RoleCoordinator:
			holds = p.SeesAllCountries(round)
		default:
			holds = slices.Contains(p.Countries(round, role), country)
		}
		if holds {
			return Actor{ID: p.UserID, Role: role}, nil
		}
	}
	return Actor{}, fmt.Errorf("%w: %s: not assigned to %s/%s in a role that may", ErrForbidden, move, round, country)
}
